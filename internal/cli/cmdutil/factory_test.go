package cmdutil

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"io/fs"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/identity"
	"github.com/latchkey/latchkey/internal/outbox"
	"github.com/latchkey/latchkey/internal/record"
	"github.com/latchkey/latchkey/internal/sales"
)

var factoryNow = time.Date(2026, 11, 25, 15, 0, 0, 0, time.UTC)

// noKeyring makes the OS keyring unavailable, as on a headless machine, so
// tests keep their keys in the temporary home and never touch the keyring of
// the machine they run on. It sets process environment: no t.Parallel.
func noKeyring(t *testing.T) {
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", "")
	t.Setenv("XDG_RUNTIME_DIR", "")
	if runtime.GOOS == "darwin" || runtime.GOOS == "windows" {
		t.Skip("the OS keyring cannot be switched off here")
	}
}

func testFactory(t *testing.T, home string) (*Factory, *bytes.Buffer) {
	t.Helper()
	ios, _, _, errOut := Test()
	f := &Factory{
		IO:     ios,
		Now:    func() time.Time { return factoryNow },
		Rand:   rand.NewChaCha8([32]byte{5}),
		Getenv: func(k string) string { return map[string]string{"LATCHKEY_HOME": home}[k] },
		GOOS:   runtime.GOOS,
		Log:    slog.New(slog.DiscardHandler),
	}
	t.Cleanup(func() { f.Close() })
	return f, errOut
}

func TestFactoryIdentity(t *testing.T) {
	noKeyring(t)
	home := t.TempDir()
	f, errOut := testFactory(t, home)
	id, err := f.Identity()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Identity(); err != nil {
		t.Fatal(err)
	}
	d, _ := f.Dirs()
	file := filepath.Join(d.Data, identity.FileName)
	if strings.Count(errOut.String(), "warning:") != 1 || !strings.Contains(errOut.String(), file) {
		t.Errorf("stderr = %q, want one warning naming %s", errOut, file)
	}
	// Another run on the same machine loads the same keys, quietly.
	g, errOut2 := testFactory(t, home)
	id2, err := g.Identity()
	if err != nil {
		t.Fatal(err)
	}
	if !id2.Sign.Equal(id.Sign) || errOut2.Len() != 0 {
		t.Errorf("second run: same key %v, stderr %q", id2.Sign.Equal(id.Sign), errOut2)
	}
}

func TestFactoryIdentityUnreadable(t *testing.T) {
	noKeyring(t)
	home := t.TempDir()
	f, _ := testFactory(t, home)
	d, _ := f.Dirs()
	if err := os.MkdirAll(d.Data, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(d.Data, identity.FileName), []byte("not keys"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := f.Identity()
	var hinted *HintError
	if err == nil || !errors.As(err, &hinted) {
		t.Errorf("Identity over a damaged key file = %v, want an error with a hint", err)
	}
}

// TestFactorySalesQueuesSignedRecords logs a visit through the factory's
// services: it is queued in the outbox, signed with the user's key, which
// was made only when the first record was written.
func TestFactorySalesQueuesSignedRecords(t *testing.T) {
	noKeyring(t)
	ctx := context.Background()
	f, _ := testFactory(t, t.TempDir())
	svc, err := f.Sales(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ob, err := f.Outbox(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ob.List(ctx, outbox.Filter{}); err != nil {
		t.Fatal(err)
	}
	d, _ := f.Dirs()
	keyFile := filepath.Join(d.Data, identity.FileName)
	if _, err := os.Stat(keyFile); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("keys made before any record was written: %v", err)
	}
	v, err := svc.Log(ctx, sales.Visit{
		VisitedAt: factoryNow.Add(-time.Hour), Rep: "Dana Reyes", Outcome: sales.NoAnswer,
		Building: sales.Building{Name: "Elm Court", Address: "12 Elm St", City: "Springfield", Units: 24},
	})
	if err != nil {
		t.Fatal(err)
	}
	id, err := f.Identity()
	if err != nil {
		t.Fatal(err)
	}
	e, err := ob.Get(ctx, sales.RecordID(v.ID, 1))
	if err != nil {
		t.Fatal(err)
	}
	env, err := e.Envelope()
	if err != nil {
		t.Fatal(err)
	}
	pub := id.Public().Sign
	if _, err := record.Verify(env, map[string]ed25519.PublicKey{record.KeyID(pub): pub}); err != nil {
		t.Errorf("queued visit not signed by the user's key: %v", err)
	}
}

// TestFactoryFileKeys: a throwaway home keeps its keys and hub token in its
// own files, never in the OS keyring, even where a keyring works.
func TestFactoryFileKeys(t *testing.T) {
	home := t.TempDir()
	f, _ := testFactory(t, home)
	f.FileKeys = true
	st, err := f.IdentityStore()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := st.(*identity.File); !ok {
		t.Errorf("identity store = %T (%v), want a file", st, st)
	}
	ss, err := f.SessionStore()
	if err != nil {
		t.Fatal(err)
	}
	if ss.Keyring != nil || !strings.HasPrefix(ss.TokenFile, home) {
		t.Errorf("session store keyring %v, token file %s", ss.Keyring, ss.TokenFile)
	}
}
