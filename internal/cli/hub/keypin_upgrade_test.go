package hub_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	hubsvc "github.com/latchkey/latchkey/internal/hub"
	"github.com/latchkey/latchkey/internal/hub/sqlstore"
	"github.com/latchkey/latchkey/internal/hubapi"
	"github.com/latchkey/latchkey/internal/identity"
	"github.com/latchkey/latchkey/internal/record"
	"github.com/latchkey/latchkey/internal/testutil/clitest"
)

// TestKeyPinUpgrade: a database made before keys were recorded, with a
// user and a job, gets its key recorded only from the hub.key that signed
// its jobs: a command run with an empty --data makes no key, one with
// another hub's key is refused, and the hub's own key is recorded.
func TestKeyPinUpgrade(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := filepath.Join(dir, "hub.db")
	own := filepath.Join(dir, "own")
	key, err := hubsvc.LoadKeys(own)
	if err != nil {
		t.Fatal(err)
	}
	// The old hub: a user and a job, and no key recorded.
	st, err := sqlstore.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	admin, err := hubsvc.NewAdmin(hubsvc.AdminConfig{Store: st, Key: key})
	if err != nil {
		t.Fatal(err)
	}
	code, _, err := admin.Enroll(ctx, "sam", hubapi.RoleInstaller, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	sam, _, _, err := identity.LoadOrCreate(&identity.File{Path: filepath.Join(dir, "sam.key")}, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	// The store keeps the SHA-256 of the code without its dashes.
	codeSum := sha256.Sum256([]byte(strings.ReplaceAll(code, "-", "")))
	pub := sam.Public()
	if _, err := st.Enroll(ctx, hex.EncodeToString(codeSum[:]), time.Now(), hubsvc.User{ID: "u-sam", SignKey: pub.Sign, KexKey: pub.Kex,
		KeyID: record.KeyID(pub.Sign), Fingerprint: "fp", TokenHash: strings.Repeat("a", 64), EnrolledAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.CreateJob(ctx, hubsvc.JobSpec{Building: "Elm Court", Address: "12 Elm St", Doors: []string{"lobby"}, Installer: "sam"}); err != nil {
		t.Fatal(err)
	}
	st.Close()

	m := clitest.New(t, "pin-upgrade")
	empty := filepath.Join(dir, "empty")
	if r := m.Run("hub", "users", "list", "--data", empty, "--database", db); r.Code != 1 || !strings.Contains(r.Stderr, "already has users or jobs") {
		t.Errorf("an empty --data on a used database = exit %d\n%s", r.Code, r.Stderr)
	}
	if _, err := os.Stat(filepath.Join(empty, hubsvc.KeyFile)); err == nil {
		t.Error("a new hub.key was made for a database that has a hub")
	}
	other := filepath.Join(dir, "other")
	if _, err := hubsvc.LoadKeys(other); err != nil {
		t.Fatal(err)
	}
	if r := m.Run("hub", "users", "list", "--data", other, "--database", db); r.Code != 1 || !strings.Contains(r.Stderr, "did not sign this database's jobs") {
		t.Errorf("another hub's key = exit %d\n%s", r.Code, r.Stderr)
	}
	if r := m.Run("hub", "users", "list", "--data", own, "--database", db); r.Code != 0 || !strings.Contains(r.Stdout, "sam") {
		t.Fatalf("the hub's own key = exit %d\n%s\n%s", r.Code, r.Stdout, r.Stderr)
	}
	// Recorded now: the other key stays refused.
	if r := m.Run("hub", "users", "list", "--data", other, "--database", db); r.Code != 1 || !strings.Contains(r.Stderr, "is not the key this database's hub signs with") {
		t.Errorf("another hub's key after the record = exit %d\n%s", r.Code, r.Stderr)
	}
}
