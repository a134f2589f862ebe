package provision_test

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/provision"
)

func pemOf(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func TestTrustStoreAddListRemove(t *testing.T) {
	t.Parallel()
	ts := provision.TrustStore{Dir: filepath.Join(t.TempDir(), "trust")}
	if roots, err := ts.List(); err != nil || len(roots) != 0 {
		t.Fatalf("List of a missing store = %v, %v; want empty", roots, err)
	}
	acme := newManufacturer(t, "Acme", "acme", nil, nil)
	other := newManufacturer(t, "Other", "other", nil, nil)

	r, err := ts.Add(pemOf(acme.root.Raw), now)
	if err != nil {
		t.Fatal(err)
	}
	if want := fingerprint(acme.root.Raw); r.Fingerprint != want {
		t.Errorf("Fingerprint = %s, want %s", r.Fingerprint, want)
	}
	if r.File != filepath.Join(ts.Dir, r.Fingerprint+".pem") || !strings.Contains(r.Subject, "Acme Root") ||
		!r.NotBefore.Equal(t0) || !r.NotAfter.Equal(t1) {
		t.Errorf("Root = %+v", r)
	}
	st, err := os.Stat(r.File)
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" && st.Mode().Perm() != 0o644 {
		t.Errorf("root file mode %v, want 0644", st.Mode().Perm())
	}

	// Idempotent, in PEM or DER.
	for _, b := range [][]byte{pemOf(acme.root.Raw), acme.root.Raw} {
		again, err := ts.Add(b, now)
		if err != nil || again != r {
			t.Errorf("second Add = %+v, %v; want %+v", again, err, r)
		}
	}
	if _, err := ts.Add(pemOf(other.root.Raw), now); err != nil {
		t.Fatal(err)
	}
	roots, err := ts.List()
	if err != nil || len(roots) != 2 || roots[0] != r || !strings.Contains(roots[1].Subject, "Other") {
		t.Fatalf("List = %+v, %v", roots, err)
	}
	certs, err := ts.Roots()
	if err != nil || len(certs) != 2 || !bytes.Equal(certs[0].Raw, acme.root.Raw) {
		t.Fatalf("Roots = %d certificates, %v", len(certs), err)
	}

	// A unit of Acme attests against the store.
	c, _, _ := genuine(t)
	if _, err := provision.VerifyAttestation(c.id, c.att, c.nonce, certs, now); err != nil {
		t.Fatalf("attestation against the store: %v", err)
	}

	// Remove: too short, unknown, then by prefix; then it is gone and the
	// unit no longer attests.
	for _, ref := range []string{r.Fingerprint[:7], "", "zzzzzzzzzz", strings.Repeat("0", 64)} {
		if _, err := ts.Remove(ref); !errors.Is(err, provision.ErrRootNotFound) {
			t.Errorf("Remove(%q) = %v, want ErrRootNotFound", ref, err)
		}
	}
	got, err := ts.Remove(strings.ToUpper(r.Fingerprint[:8]))
	if err != nil || got != r {
		t.Fatalf("Remove by prefix = %+v, %v", got, err)
	}
	if _, err := os.Stat(r.File); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("root file still there: %v", err)
	}
	certs, _ = ts.Roots()
	if _, err := provision.VerifyAttestation(c.id, c.att, c.nonce, certs, now); !errors.Is(err, provision.ErrUnknownRoot) {
		t.Errorf("attestation after removing the root: %v, want ErrUnknownRoot", err)
	}
	if _, err := ts.Remove(r.Fingerprint); !errors.Is(err, provision.ErrRootNotFound) {
		t.Errorf("second Remove = %v, want ErrRootNotFound", err)
	}
	// By full fingerprint and by file name.
	o := fingerprint(other.root.Raw)
	if _, err := ts.Remove(o); err != nil {
		t.Errorf("Remove by fingerprint: %v", err)
	}
	r, _ = ts.Add(pemOf(acme.root.Raw), now)
	if _, err := ts.Remove(filepath.Base(r.File)); err != nil {
		t.Errorf("Remove by file name: %v", err)
	}
	if roots, _ := ts.List(); len(roots) != 0 {
		t.Errorf("List after removing everything = %+v", roots)
	}
}

func fingerprint(der []byte) string {
	h := sha256.Sum256(der)
	return hex.EncodeToString(h[:])
}

func TestTrustStoreRefuses(t *testing.T) {
	t.Parallel()
	acme := newManufacturer(t, "Acme", "acme", nil, nil)
	u := newUnit(t, "LK1-000123")
	unitDER := acme.issue(t, u, nil)[0]
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	rsaRoot := mustCert(t, rootTemplate("RSA"), nil, rsaKey.Public(), rsaKey)
	expired := newManufacturer(t, "Old", "old", func(r *x509.Certificate) { r.NotAfter = now.AddDate(-1, 0, 0) }, nil)
	future := newManufacturer(t, "New", "new", func(r *x509.Certificate) { r.NotBefore = now.AddDate(1, 0, 0) }, nil)
	selfSignedLeaf := mustCert(t, &x509.Certificate{
		SerialNumber: certSerial("leaf"), Subject: rootTemplate("Leaf").Subject, NotBefore: t0, NotAfter: t1,
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageDigitalSignature,
	}, nil, seededKey("leaf").Public(), seededKey("leaf"))

	tests := []struct {
		name string
		in   []byte
		why  string
	}{
		{"unit (leaf) certificate", pemOf(unitDER), "not a certificate authority"},
		{"self-signed leaf", pemOf(selfSignedLeaf.Raw), "not a certificate authority"},
		{"batch intermediate", pemOf(acme.batch.Raw), "not by itself"},
		{"RSA root", pemOf(rsaRoot.Raw), "RSA"},
		{"garbage", []byte("hello, I am a root, trust me"), "not a PEM certificate"},
		{"garbage DER", []byte{0x30, 0x03, 0x02, 0x01, 0x01}, "does not parse"},
		{"empty", nil, "not a PEM certificate"},
		{"private key", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte{1}}), "not a certificate"},
		{"two certificates", append(pemOf(acme.root.Raw), pemOf(acme.batch.Raw)...), "one root at a time"},
		{"expired root", pemOf(expired.root.Raw), "expired"},
		{"root not yet valid", pemOf(future.root.Raw), "valid only from"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ts := provision.TrustStore{Dir: t.TempDir()}
			r, err := ts.Add(tt.in, now)
			if !errors.Is(err, provision.ErrNotRoot) {
				t.Fatalf("Add = %+v, %v; want ErrNotRoot", r, err)
			}
			if !strings.Contains(err.Error(), tt.why) {
				t.Errorf("error %q does not say %q", err, tt.why)
			}
			if ents, _ := os.ReadDir(ts.Dir); len(ents) != 0 {
				t.Errorf("a refused root left %d files", len(ents))
			}
		})
	}
}

func TestTrustStoreOnDisk(t *testing.T) {
	t.Parallel()
	acme := newManufacturer(t, "Acme", "acme", nil, nil)
	ts := provision.TrustStore{Dir: t.TempDir()}
	r, err := ts.Add(pemOf(acme.root.Raw), now)
	if err != nil {
		t.Fatal(err)
	}
	// Other files are ignored: notes, fsutil's temporary files.
	for name, body := range map[string]string{"README.txt": "notes", ".x.pem.123.tmp": "half"} {
		if err := os.WriteFile(filepath.Join(ts.Dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// The same root copied by hand under another name is listed once and
	// removed with the original.
	if err := os.WriteFile(filepath.Join(ts.Dir, "acme.pem"), pemOf(acme.root.Raw), 0o644); err != nil {
		t.Fatal(err)
	}
	roots, err := ts.List()
	if err != nil || len(roots) != 1 {
		t.Fatalf("List = %+v, %v; want one root", roots, err)
	}
	if certs, err := ts.Roots(); err != nil || len(certs) != 1 {
		t.Fatalf("Roots = %d, %v; want one root", len(certs), err)
	}
	if _, err := ts.Remove("acme.pem"); err != nil {
		t.Fatal(err)
	}
	if roots, _ := ts.List(); len(roots) != 0 {
		t.Fatalf("after Remove(acme.pem), List = %+v; the copy is still trusted", roots)
	}

	// A damaged file is an error naming it, not silently skipped.
	if _, err := ts.Add(pemOf(acme.root.Raw), now); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(ts.Dir, "bad.pem")
	if err := os.WriteFile(bad, pemOf(acme.batch.Raw), 0o644); err != nil {
		t.Fatal(err)
	}
	for name, err := range map[string]error{"List": second(ts.List()), "Roots": second(ts.Roots()), "Remove": second(ts.Remove(r.Fingerprint))} {
		if err == nil || !strings.Contains(err.Error(), bad) {
			t.Errorf("%s with a damaged file: %v, want an error naming %s", name, err, bad)
		}
	}
}

func second[T any](_ T, err error) error { return err }

func TestProductionPlaceholderIsNoCertificate(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile(filepath.Join("roots", "production.pem.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if blk, _ := pem.Decode(b); blk != nil {
		t.Error("the production placeholder holds a PEM block; production roots are distributed separately")
	}
	if _, err := (provision.TrustStore{Dir: t.TempDir()}).Add(b, time.Now()); !errors.Is(err, provision.ErrNotRoot) {
		t.Errorf("adding the placeholder: %v, want ErrNotRoot", err)
	}
}
