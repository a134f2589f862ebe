package sim

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/device"
	"github.com/latchkey/latchkey/internal/provision"
)

func TestDirFactory(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "factory") // made if missing
	f := DirFactory{Dir: dir}
	rootDER, err := f.RootDER()
	if err != nil {
		t.Fatal(err)
	}
	root := parseCert(t, rootDER)
	if !strings.Contains(root.Subject.CommonName, "TEST") || !strings.Contains(root.Subject.CommonName, "not for production") || !root.IsCA {
		t.Errorf("root subject %q, CA %v", root.Subject, root.IsCA)
	}
	for _, n := range []string{FactoryRootKey, FactoryBatchKey} {
		fi, err := os.Stat(filepath.Join(dir, n))
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v, mode %v; want 0600", n, err, fi.Mode().Perm())
		}
		b, _ := os.ReadFile(filepath.Join(dir, n))
		blk, _ := pem.Decode(b)
		if blk == nil || blk.Type != "PRIVATE KEY" {
			t.Fatalf("%s is not a PKCS#8 PEM key", n)
		}
		if k, err := x509.ParsePKCS8PrivateKey(blk.Bytes); err != nil {
			t.Errorf("%s: %v", n, err)
		} else if _, ok := k.(ed25519.PrivateKey); !ok {
			t.Errorf("%s holds a %T", n, k)
		}
	}

	// A later use loads the same root, and issues units that chain to it.
	again := DirFactory{Dir: dir}
	if der, err := again.RootDER(); err != nil || !bytes.Equal(der, rootDER) {
		t.Fatalf("second use: root changed (%v)", err)
	}
	sign, kex, _ := newUnitKeys(9, "LK0000000009")
	k, _ := loadUnitKeys(sign, kex)
	chain, err := again.Issue("LK0000000009", k.signPub(), k.kex.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	leaf, inter := parseCert(t, chain[0]), parseCert(t, chain[1])
	roots, inters := x509.NewCertPool(), x509.NewCertPool()
	roots.AddCert(root)
	inters.AddCert(inter)
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inters, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
		t.Errorf("unit certificate does not chain to the directory's root: %v", err)
	}
	if leaf.Subject.CommonName != "LK0000000009" || leaf.Subject.SerialNumber != "LK0000000009" {
		t.Errorf("unit subject %v", leaf.Subject)
	}
	if got, err := KexKeyFromCert(leaf); err != nil || !bytes.Equal(got, k.kex.PublicKey().Bytes()) {
		t.Errorf("kex key %x, %v", got, err)
	}
	if pub, _ := leaf.PublicKey.(ed25519.PublicKey); !pub.Equal(k.signPub()) {
		t.Error("unit certificate is not for the unit's signing key")
	}
	for i, c := range chain {
		if len(c) > device.MaxCertSize {
			t.Errorf("certificate %d is %d bytes", i, len(c))
		}
	}
}

// TestDirFactoryRefuses: a half-made or damaged directory is refused, and
// the root in it is never replaced.
func TestDirFactoryRefuses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		spoil func(t *testing.T, dir string)
	}{
		{"batch key missing", func(t *testing.T, dir string) { rm(t, filepath.Join(dir, FactoryBatchKey)) }},
		{"only the root", func(t *testing.T, dir string) {
			rm(t, filepath.Join(dir, FactoryBatchKey))
			rm(t, filepath.Join(dir, FactoryBatchCert))
			rm(t, filepath.Join(dir, FactoryRootKey))
		}},
		{"garbage root", func(t *testing.T, dir string) { write(t, filepath.Join(dir, FactoryRootCert), []byte("not pem")) }},
		{"keys swapped", func(t *testing.T, dir string) {
			rk, _ := os.ReadFile(filepath.Join(dir, FactoryRootKey))
			bk, _ := os.ReadFile(filepath.Join(dir, FactoryBatchKey))
			write(t, filepath.Join(dir, FactoryRootKey), bk)
			write(t, filepath.Join(dir, FactoryBatchKey), rk)
		}},
		{"batch from another root", func(t *testing.T, dir string) {
			other := t.TempDir()
			if _, err := (DirFactory{Dir: other}).RootDER(); err != nil {
				t.Fatal(err)
			}
			for _, n := range []string{FactoryBatchCert, FactoryBatchKey} {
				b, _ := os.ReadFile(filepath.Join(other, n))
				write(t, filepath.Join(dir, n), b)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			if _, err := (DirFactory{Dir: dir}).RootDER(); err != nil {
				t.Fatal(err)
			}
			tt.spoil(t, dir)
			before, _ := os.ReadFile(filepath.Join(dir, FactoryRootCert))
			_, err := DirFactory{Dir: dir}.Issue("LK1", ed25519.PublicKey(make([]byte, 32)), nil)
			if !errors.Is(err, ErrFactoryDir) || !strings.Contains(err.Error(), dir) {
				t.Fatalf("error %v, want ErrFactoryDir naming the directory", err)
			}
			after, _ := os.ReadFile(filepath.Join(dir, FactoryRootCert))
			if !bytes.Equal(before, after) {
				t.Error("the root was replaced")
			}
		})
	}
}

func rm(t *testing.T, path string) {
	t.Helper()
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
}

func write(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestInspect reads a served unit's state directory: identity, label,
// chain and a burned slot, the key only when asked for.
func TestInspect(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	u, err := Open(Config{Dir: dir, Seed: 4})
	if err != nil {
		t.Fatal(err)
	}
	// Before group 64 ever ran: the core identity only.
	in, err := Inspect(dir, InspectOptions{})
	if err != nil || in.Serial != u.Identity().Serial || in.Label != "" || u.Label() != "" {
		t.Fatalf("Inspect before group 64 = %+v, %v; Label %q", in, err, u.Label())
	}

	h := startLatchkey(t, LatchkeyConfig{Seed: 4, Unseal: testUnseal}, Options{Unit: u})
	ctx := context.Background()
	id, err := h.dev.Identity(ctx)
	if err != nil {
		t.Fatal(err)
	}
	key := bytes.Repeat([]byte{0xa7}, 16)
	job, n := "job-1", nonce(t)
	if _, err := h.dev.Burn(ctx, device.BurnRequest{Slot: 3, Job: job, Nonce: n, Sealed: testSeal(t, id.KexKey, id.Serial, 3, job, n, key)}); err != nil {
		t.Fatal(err)
	}
	kcv, _ := provision.KCV(key)

	for _, reveal := range []bool{false, true} {
		in, err := Inspect(dir, InspectOptions{RevealSecrets: reveal})
		if err != nil {
			t.Fatal(err)
		}
		if in.Serial != id.Serial || in.Label != id.Label || in.Label != u.Label() || in.SignKey != hex.EncodeToString(id.SignKey) ||
			in.KexKey != hex.EncodeToString(id.KexKey) || in.State != device.StateProvisioned || in.Counter != 1 {
			t.Errorf("inspection %+v; identity %+v", in, id)
		}
		if len(in.Chain) != 2 || !strings.Contains(in.Chain[0].Subject, id.Serial) || in.Chain[1].Subject == "" {
			t.Errorf("chain %+v", in.Chain)
		}
		if len(in.Slots) != unitSlots {
			t.Fatalf("%d slots", len(in.Slots))
		}
		s := in.Slots[3]
		if s.State != device.SlotWritten || s.Job != job || s.Counter != 1 || s.KCV != hex.EncodeToString(kcv) || s.KCVAlg != device.KCVCMAC {
			t.Errorf("slot 3 %+v", s)
		}
		wantKey := ""
		if reveal {
			wantKey = hex.EncodeToString(key)
		}
		if s.Key != wantKey || in.SecretsRevealed != reveal {
			t.Errorf("reveal=%v: key %q, want %q", reveal, s.Key, wantKey)
		}
		if in.Slots[0].State != device.SlotEmpty || in.Slots[0].Key != "" {
			t.Errorf("slot 0 %+v", in.Slots[0])
		}
	}

	// Inspect writes nothing.
	before, _ := os.ReadFile(filepath.Join(dir, stateFile))
	if _, err := Inspect(dir, InspectOptions{}); err != nil {
		t.Fatal(err)
	}
	if after, _ := os.ReadFile(filepath.Join(dir, stateFile)); !bytes.Equal(before, after) {
		t.Error("Inspect changed the state")
	}
}

func TestInspectRefuses(t *testing.T) {
	t.Parallel()
	empty := t.TempDir()
	corrupt := t.TempDir()
	write(t, filepath.Join(corrupt, stateFile), []byte("{"))
	tests := []struct {
		dir  string
		want error
	}{
		{filepath.Join(empty, "missing"), ErrNoState},
		{empty, ErrNoState},
		{corrupt, ErrCorrupt},
	}
	for _, tt := range tests {
		if _, err := Inspect(tt.dir, InspectOptions{}); !errors.Is(err, tt.want) {
			t.Errorf("Inspect(%s): %v, want %v", tt.dir, err, tt.want)
		}
	}
}
