package identity

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/cli/cmdutil"
	"github.com/latchkey/latchkey/internal/identity"
)

// brokenKeyring is an OS keyring that fails the way headless Linux does.
type brokenKeyring struct{}

func (brokenKeyring) Load() ([]byte, error) {
	return nil, fmt.Errorf("OS keyring %w: no D-Bus session bus", identity.ErrUnavailable)
}

func (brokenKeyring) Save([]byte) (string, error) {
	return "", fmt.Errorf("OS keyring %w: no D-Bus session bus", identity.ErrUnavailable)
}

func (brokenKeyring) String() string { return "the OS keyring" }

func TestNewCmdShow(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"no args", nil, ""},
		{"an argument", []string{"me"}, "takes no arguments"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			io, _, _, _ := cmdutil.Test()
			f := &cmdutil.Factory{IO: io, Getenv: func(string) string { return "" }}
			ran := false
			cmd := NewCmdShow(f, func(_ context.Context, o *ShowOptions) error { ran = true; return nil })
			cmd.SetArgs(tt.args)
			cmd.SetOut(&bytes.Buffer{})
			cmd.SetErr(&bytes.Buffer{})
			err := cmd.Execute()
			if tt.wantErr == "" {
				if err != nil || !ran {
					t.Fatalf("err=%v ran=%v", err, ran)
				}
				return
			}
			var ue *cmdutil.UsageError
			if !errors.As(err, &ue) || !strings.Contains(err.Error(), tt.wantErr) || ran {
				t.Fatalf("err=%v ran=%v, want a usage error saying %q", err, ran, tt.wantErr)
			}
		})
	}
}

func newOpts(t *testing.T, json bool, seed byte) (*ShowOptions, string, *bytes.Buffer, *bytes.Buffer) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "data", identity.FileName)
	io, _, out, errOut := cmdutil.Test()
	return &ShowOptions{
		IO:   io,
		JSON: func() bool { return json },
		Rand: bytes.NewReader(bytes.Repeat([]byte{seed}, 64)),
		Store: func() (identity.Store, error) {
			return &identity.Fallback{Primary: brokenKeyring{}, Secondary: &identity.File{Path: path}}, nil
		},
	}, path, out, errOut
}

func TestShowRunJSON(t *testing.T) {
	t.Parallel()
	opts, path, out, errOut := newOpts(t, true, 0x11)
	if err := showRun(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, out)
	}
	want, err := identity.Generate(bytes.NewReader(bytes.Repeat([]byte{0x11}, 64)))
	if err != nil {
		t.Fatal(err)
	}
	pub := want.Public()
	wantJSON := map[string]any{
		"fingerprint":       pub.Fingerprint(),
		"signing_key":       map[string]any{"algorithm": "Ed25519", "public_key": base64.StdEncoding.EncodeToString(pub.Sign)},
		"key_agreement_key": map[string]any{"algorithm": "X25519", "public_key": base64.StdEncoding.EncodeToString(pub.Kex)},
		"kept_in":           map[string]any{"kind": "file", "path": path},
		"created":           true,
	}
	if a, b := fmt.Sprint(got), fmt.Sprint(wantJSON); a != b {
		t.Fatalf("JSON\n got %s\nwant %s", a, b)
	}
	if !regexp.MustCompile(`^[0-9a-f]{4}(-[0-9a-f]{4}){7}$`).MatchString(got["fingerprint"].(string)) {
		t.Errorf("fingerprint %q is not eight groups of four hex digits", got["fingerprint"])
	}
	for _, s := range []string{"created your keys in file " + path, "warning: OS keyring unavailable", path} {
		if !strings.Contains(errOut.String(), s) {
			t.Errorf("stderr %q does not say %q", errOut, s)
		}
	}
	if seed := base64.StdEncoding.EncodeToString(want.Sign.Seed()); strings.Contains(out.String()+errOut.String(), seed[:16]) {
		t.Fatal("output holds the private signing key")
	}
	if pk, _ := base64.StdEncoding.DecodeString(got["signing_key"].(map[string]any)["public_key"].(string)); !ed25519.PublicKey(pk).Equal(pub.Sign) {
		t.Fatal("signing key does not decode to the public key")
	}

	// Second run: same keys, nothing created, no warning.
	opts2, _, out2, errOut2 := newOpts(t, true, 0x22)
	opts2.Store = opts.Store
	if err := showRun(context.Background(), opts2); err != nil {
		t.Fatal(err)
	}
	var again Result
	if err := json.Unmarshal(out2.Bytes(), &again); err != nil {
		t.Fatal(err)
	}
	if again.Created || again.Fingerprint != pub.Fingerprint() || errOut2.Len() != 0 {
		t.Fatalf("second run: created=%v fingerprint=%s stderr=%q; want the same keys, quietly", again.Created, again.Fingerprint, errOut2)
	}
}

func TestShowRunText(t *testing.T) {
	t.Parallel()
	opts, path, out, _ := newOpts(t, false, 0x33)
	if err := showRun(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 4 {
		t.Fatalf("want 4 lines, got %q", out)
	}
	for i, prefix := range []string{"fingerprint ", "signing key        Ed25519 ", "key-agreement key  X25519 ", "private keys in    file " + path} {
		if !strings.HasPrefix(lines[i], prefix) {
			t.Errorf("line %d %q does not start with %q", i+1, lines[i], prefix)
		}
	}
}

func TestShowRunCorrupt(t *testing.T) {
	t.Parallel()
	opts, path, out, _ := newOpts(t, false, 0x44)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("{\"version\":1,"), 0o600); err != nil {
		t.Fatal(err)
	}
	err := showRun(context.Background(), opts)
	if err == nil || !strings.Contains(err.Error(), path) || !errors.Is(err, identity.ErrCorrupt) {
		t.Fatalf("err = %v, want ErrCorrupt naming %s", err, path)
	}
	if out.Len() != 0 {
		t.Fatalf("printed %q for a corrupt identity", out)
	}
}
