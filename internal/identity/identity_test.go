package identity

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"github.com/zalando/go-keyring"
)

// seeded is a repeatable source of "random" bytes.
func seeded(b byte) io.Reader { return bytes.NewReader(bytes.Repeat([]byte{b}, 64)) }

// fakeKeyring is an in-memory keyring; err, when set, is returned by every call.
type fakeKeyring struct {
	items map[string]string
	err   error
}

func (k *fakeKeyring) Get(service, user string) (string, error) {
	if k.err != nil {
		return "", k.err
	}
	v, ok := k.items[service+"/"+user]
	if !ok {
		return "", keyring.ErrNotFound
	}
	return v, nil
}

func (k *fakeKeyring) Set(service, user, secret string) error {
	if k.err != nil {
		return k.err
	}
	if k.items == nil {
		k.items = map[string]string{}
	}
	k.items[service+"/"+user] = secret
	return nil
}

func testStore(t *testing.T, kr *fakeKeyring) (*Fallback, string) {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "data", FileName)
	return &Fallback{
		Primary:   &Keyring{Service: KeyringService, Account: dir, backend: kr},
		Secondary: &File{Path: path},
	}, path
}

func sameKeys(t *testing.T, a, b Identity) {
	t.Helper()
	if !a.Sign.Equal(b.Sign) || !a.Kex.Equal(b.Kex) {
		t.Fatal("reloaded keys differ from the created ones")
	}
}

func TestLoadOrCreate(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name        string
		keyringErr  error
		wantWarning string // substring; empty means no warning
		wantActive  string // "keyring" or "file"
	}{
		{name: "keyring available", wantActive: "keyring"},
		{name: "keyring unavailable", keyringErr: errors.New("The name org.freedesktop.secrets was not provided by any .service files"),
			wantWarning: "org.freedesktop.secrets", wantActive: "file"},
		{name: "no dbus", keyringErr: errors.New("exec: \"dbus-launch\": executable file not found in $PATH"),
			wantWarning: "dbus-launch", wantActive: "file"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			kr := &fakeKeyring{err: tt.keyringErr}
			store, path := testStore(t, kr)
			id, created, warning, err := LoadOrCreate(store, seeded(7))
			if err != nil {
				t.Fatal(err)
			}
			if !created {
				t.Fatal("created = false on first use")
			}
			if tt.wantWarning == "" && warning != "" {
				t.Fatalf("unexpected warning %q", warning)
			}
			if tt.wantWarning != "" && (!strings.Contains(warning, tt.wantWarning) || !strings.Contains(warning, path)) {
				t.Fatalf("warning %q should give the reason %q and name %s", warning, tt.wantWarning, path)
			}
			_, inFile := store.Active().(*File)
			if got := map[bool]string{true: "file", false: "keyring"}[inFile]; got != tt.wantActive {
				t.Fatalf("keys kept in %s, want %s", got, tt.wantActive)
			}
			if _, err := os.Stat(path); (err == nil) != inFile {
				t.Fatalf("key file exists = %v, want %v", err == nil, inFile)
			}

			// A fresh store over the same places finds the same keys.
			again := &Fallback{Primary: store.Primary, Secondary: &File{Path: path}}
			id2, created, warning, err := LoadOrCreate(again, seeded(9))
			if err != nil {
				t.Fatal(err)
			}
			if created || warning != "" {
				t.Fatalf("second load: created=%v warning=%q, want false and none", created, warning)
			}
			sameKeys(t, id, id2)
			if id.Public().Fingerprint() != id2.Public().Fingerprint() {
				t.Fatal("fingerprint changed on reload")
			}
		})
	}
}

// TestFileKeptWhenKeyringReturns: keys made while the keyring was down stay
// the user's keys once it works again.
func TestFileKeptWhenKeyringReturns(t *testing.T) {
	t.Parallel()
	kr := &fakeKeyring{err: errors.New("no secret service")}
	store, path := testStore(t, kr)
	id, _, _, err := LoadOrCreate(store, seeded(1))
	if err != nil {
		t.Fatal(err)
	}
	kr.err = nil
	again := &Fallback{Primary: store.Primary, Secondary: &File{Path: path}}
	id2, created, _, err := LoadOrCreate(again, seeded(2))
	if err != nil {
		t.Fatal(err)
	}
	if created {
		t.Fatal("made a new identity although one was in the file")
	}
	sameKeys(t, id, id2)
}

func TestFileMode(t *testing.T) {
	t.Parallel()
	if runtime.GOOS == "windows" {
		t.Skip("no Unix file modes")
	}
	path := filepath.Join(t.TempDir(), FileName)
	s := &File{Path: path}
	if _, _, _, err := LoadOrCreate(s, seeded(3)); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %04o, want 0600", fi.Mode().Perm())
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	_, created, _, err := LoadOrCreate(s, seeded(4))
	if err == nil || created {
		t.Fatalf("loaded a 0644 key file: created=%v err=%v", created, err)
	}
	for _, want := range []string{path, "0644", "chmod 600 " + path} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
}

func TestCorruptStore(t *testing.T) {
	t.Parallel()
	good, err := Generate(seeded(5))
	if err != nil {
		t.Fatal(err)
	}
	enc, err := good.encode()
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(enc, &doc); err != nil {
		t.Fatal(err)
	}
	edit := func(k string, v any) []byte {
		d := map[string]any{}
		for kk, vv := range doc {
			d[kk] = vv
		}
		d[k] = v
		b, _ := json.Marshal(d)
		return b
	}
	for _, tt := range []struct {
		name, want string
		content    []byte
	}{
		{"empty", "EOF", nil},
		{"truncated", "unexpected EOF", enc[:len(enc)/2]},
		{"not json", "invalid character", []byte("-----BEGIN PRIVATE KEY-----\n")},
		{"newer version", "format version 2", edit("version", 2)},
		{"unknown field", "unknown field", edit("token", "x")},
		{"swapped keys", "signing key is *ecdh.PrivateKey", edit("sign", doc["kex"])},
		{"bad der", "signing key", edit("sign", "AAAA")},
		{"trailing data", "data after", append(append([]byte{}, enc...), []byte(`{}`)...)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), FileName)
			if err := os.WriteFile(path, tt.content, 0o600); err != nil {
				t.Fatal(err)
			}
			_, created, _, err := LoadOrCreate(&File{Path: path}, seeded(6))
			if err == nil || created {
				t.Fatalf("created=%v err=%v, want an error and no new identity", created, err)
			}
			if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %q should wrap ErrCorrupt, name %s and say %q", err, path, tt.want)
			}
			b, _ := os.ReadFile(path)
			if !bytes.Equal(b, tt.content) {
				t.Fatal("the corrupt file was changed")
			}
		})
	}
}

// TestKeyringCorrupt: a keyring item that does not parse is an error, not a
// reason to fall back to a file or to make new keys.
func TestKeyringCorrupt(t *testing.T) {
	t.Parallel()
	kr := &fakeKeyring{}
	store, path := testStore(t, kr)
	kr.items = map[string]string{KeyringService + "/" + store.Primary.(*Keyring).Account: "garbage"}
	_, created, _, err := LoadOrCreate(store, seeded(8))
	if err == nil || created || !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "OS keyring") {
		t.Fatalf("created=%v err=%v, want ErrCorrupt naming the keyring", created, err)
	}
	if _, err := os.Stat(path); err == nil {
		t.Fatal("fell back to a key file")
	}
}

func TestUnreadableFileIsNotMissing(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), FileName)
	if err := os.Mkdir(path, 0o700); err != nil {
		t.Fatal(err)
	}
	_, created, _, err := LoadOrCreate(&File{Path: path}, seeded(6))
	if err == nil || created {
		t.Fatalf("created=%v err=%v, want an error", created, err)
	}
}

// TestNoKeyBytesInOutput prints an Identity every way a program might and
// looks for any encoding of its private key material.
func TestNoKeyBytesInOutput(t *testing.T) {
	t.Parallel()
	id, err := Generate(seeded(0xab))
	if err != nil {
		t.Fatal(err)
	}
	seed, kex := id.Sign.Seed(), id.Kex.Bytes()
	var logBuf bytes.Buffer
	slog.New(slog.NewTextHandler(&logBuf, nil)).Info("x", "id", id, "ptr", &id)
	slog.New(slog.NewJSONHandler(&logBuf, nil)).Info("x", "id", id)
	outs := []string{logBuf.String()}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x", "%X", "%q", "%d"} {
		outs = append(outs,
			fmt.Sprintf(verb, id), fmt.Sprintf(verb, &id),
			fmt.Sprintf(verb, []Identity{id}), fmt.Sprintf(verb, map[string]Identity{"k": id}),
			fmt.Sprintf(verb, struct{ ID Identity }{id}))
	}
	outs = append(outs, fmt.Sprint(id), fmt.Sprintln(id), id.String(), id.GoString())
	if b, err := json.Marshal(id); err == nil {
		t.Errorf("json.Marshal(Identity) = %s, want an error", b)
	}
	if _, err := json.Marshal(struct{ ID Identity }{id}); !errors.Is(err, ErrMarshal) {
		t.Errorf("json.Marshal of a struct holding an Identity: err %v, want ErrMarshal", err)
	}
	hexes := regexp.MustCompile(`(?i)[0-9a-f]{16,}`)
	for _, out := range outs {
		if !strings.Contains(out, "[private key]") && !strings.Contains(out, "{") {
			t.Errorf("output %q does not look redacted", out)
		}
		for _, secret := range [][]byte{seed, kex} {
			for _, enc := range []string{hex.EncodeToString(secret), strings.ToUpper(hex.EncodeToString(secret)),
				base64.StdEncoding.EncodeToString(secret)[:16], fmt.Sprint(secret[:8]), string(secret[:8])} {
				if strings.Contains(out, strings.Trim(enc, "[]")) {
					t.Fatalf("output %q contains key bytes", out)
				}
			}
		}
		if hexes.MatchString(out) {
			t.Errorf("output %q contains a long hex run", out)
		}
	}
	if got := fmt.Sprintf("%#v", id); got != "identity.Identity{Sign:[private key], Kex:[private key]}" {
		t.Errorf("%%#v = %q", got)
	}
}

func TestFingerprint(t *testing.T) {
	t.Parallel()
	id, err := Generate(seeded(0x42))
	if err != nil {
		t.Fatal(err)
	}
	p := id.Public()
	if len(p.Sign) != ed25519.PublicKeySize || len(p.Kex) != 32 {
		t.Fatalf("public key sizes %d and %d, want 32 and 32", len(p.Sign), len(p.Kex))
	}
	sum := sha256.Sum256(append(append([]byte{}, p.Sign...), p.Kex...))
	want := hex.EncodeToString(sum[:16])
	fp := p.Fingerprint()
	if !regexp.MustCompile(`^[0-9a-f]{4}(-[0-9a-f]{4}){7}$`).MatchString(fp) || strings.ReplaceAll(fp, "-", "") != want {
		t.Fatalf("fingerprint %q, want groups of %s", fp, want)
	}
	other, _ := Generate(seeded(0x43))
	if other.Public().Fingerprint() == fp {
		t.Fatal("two identities share a fingerprint")
	}
	// The keys work: a signature verifies and the X25519 halves agree.
	sig := ed25519.Sign(id.Sign, []byte("m"))
	if !ed25519.Verify(p.Sign, []byte("m"), sig) {
		t.Fatal("signature does not verify with the public key")
	}
	a, err := id.Kex.ECDH(other.Kex.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	b, err := other.Kex.ECDH(id.Kex.PublicKey())
	if err != nil || !bytes.Equal(a, b) {
		t.Fatalf("key agreement does not agree: %v", err)
	}
}

func TestGenerateShortRand(t *testing.T) {
	t.Parallel()
	if _, _, _, err := LoadOrCreate(&File{Path: filepath.Join(t.TempDir(), FileName)}, bytes.NewReader(make([]byte, 10))); err == nil {
		t.Fatal("created keys from 10 bytes of randomness")
	}
}
