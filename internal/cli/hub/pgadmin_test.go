package hub_test

import (
	"context"
	"encoding/base64"
	"errors"
	"io/fs"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	hubsvc "github.com/latchkey/latchkey/internal/hub"
	"github.com/latchkey/latchkey/internal/hub/pgstore"
	"github.com/latchkey/latchkey/internal/testutil/clitest"
	"github.com/latchkey/latchkey/internal/testutil/pgtest"
)

// pgOffice is a hub on PostgreSQL: an instance on loopback, and an
// administrator running the admin verbs with --data and --database.
type pgOffice struct {
	t     *testing.T
	dsn   string
	data  string
	url   string
	admin *clitest.Machine
}

// startPGOffice makes the hub's key with a first admin verb (which pins it
// in the new database), then starts an instance on it with that key.
func startPGOffice(t *testing.T) *pgOffice {
	t.Helper()
	o := &pgOffice{t: t, dsn: pgtest.DSN(t), data: filepath.Join(t.TempDir(), "hub"), admin: clitest.New(t, "pg-admin")}
	o.must("users", "list")
	st, err := pgstore.Open(context.Background(), o.dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	key, err := hubsvc.ReadKeys(o.data)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.PinKey(context.Background(), key.Public().Sign); err != nil {
		t.Fatalf("the instance's key is not the one the admin verb pinned: %v", err)
	}
	srv, err := hubsvc.NewServer(hubsvc.ServerConfig{Store: st, Signer: key.Sign})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	o.url = ts.URL
	return o
}

// hub runs `latchkey hub ARGS --database DSN`, with --data DIR unless ARGS
// give one.
func (o *pgOffice) hub(args ...string) clitest.Result {
	args = append([]string{"hub"}, args...)
	if !strings.Contains(strings.Join(args, " "), "--data") {
		args = append(args, "--data", o.data)
	}
	return o.admin.Run(append(args, "--database", o.dsn)...)
}

func (o *pgOffice) must(args ...string) string {
	o.t.Helper()
	r := o.hub(args...)
	if r.Code != 0 {
		o.t.Fatalf("latchkey hub %s: exit %d\n%s", strings.Join(args, " "), r.Code, r.Stderr)
	}
	return strings.TrimSpace(r.Stdout)
}

func (o *pgOffice) json(v any, args ...string) {
	o.t.Helper()
	args = append(append([]string{"hub"}, args...), "--data", o.data, "--database", o.dsn)
	o.admin.JSON(v, args...)
}

// join enrolls name on PostgreSQL and logs a laptop in at the instance.
func (o *pgOffice) join(name, role string) *clitest.Machine {
	o.t.Helper()
	code := o.must("enroll", "--name", name, "--role", role)
	m := clitest.New(o.t, "pg-laptop-"+name)
	m.Now = time.Now()
	if r := m.Run("login", "--hub", o.url, "--code", code); r.Code != 0 {
		o.t.Fatalf("login %s: exit %d\n%s", name, r.Code, r.Stderr)
	}
	return m
}

// TestAdminVerbsPostgres runs hub enroll, job create, users revoke and
// units deny with --database postgres://, and checks their effect with the
// list verbs and on an installer's laptop: the packet the admin verb
// signed is one the installer accepts.
func TestAdminVerbsPostgres(t *testing.T) {
	o := startPGOffice(t)
	sam := o.join("sam", "installer")
	dana := o.join("dana", "sales")
	var pending struct{ Name, Role, Code string }
	o.json(&pending, "enroll", "--name", "erin", "--role", "support")
	if pending.Name != "erin" || pending.Code == "" {
		t.Errorf("enroll --json = %+v", pending)
	}

	jobID := o.must("job", "create", "--building", "Elm Court", "--address", "12 Elm St", "--doors", "lobby,garage", "--installer", "sam")
	var jobs []struct{ ID, Building, Installer string }
	o.json(&jobs, "jobs", "list")
	if len(jobs) != 1 || jobs[0].ID != jobID || jobs[0].Installer != "sam" {
		t.Errorf("jobs list on PostgreSQL = %+v, want job %s for sam", jobs, jobID)
	}

	o.must("units", "deny", "LK-00042", "--reason", "reported stolen")
	var units []struct {
		Serial, Reason string
		Denied         bool
	}
	o.json(&units, "units", "list")
	if len(units) != 1 || units[0].Serial != "LK-00042" || !units[0].Denied || units[0].Reason != "reported stolen" {
		t.Errorf("units list on PostgreSQL = %+v, want LK-00042 denied", units)
	}
	if r := sam.MustRun("jobs", "pull"); !strings.Contains(r.Stdout, "1 new, 0 updated, 0 unchanged; 1 unit on the denylist") {
		t.Errorf("sam's jobs pull = %q, want the job and the denylist accepted", r.Stdout)
	}

	o.must("users", "revoke", "dana", "--yes")
	var users []struct {
		Name      string
		RevokedAt *time.Time `json:"revoked_at"`
	}
	o.json(&users, "users", "list")
	revoked := map[string]bool{}
	for _, u := range users {
		revoked[u.Name] = u.RevokedAt != nil
	}
	if len(users) != 2 || !revoked["dana"] || revoked["sam"] {
		t.Errorf("users list on PostgreSQL = %+v, want dana revoked and sam not", users)
	}
	dana.MustRun(visitArgs("Elm Court")...)
	if r := dana.Run("sync"); r.Code == 0 {
		t.Errorf("sync by revoked dana = exit 0\n%s", r.Stdout)
	}
}

// TestKeyPinPostgres: the database remembers the hub's signing key. An
// admin verb with a --data that has no hub.key makes none and fails; one
// with another hub.key fails naming both keys; `hub key --database` checks
// the same; a copy of the instances' hub.key works.
func TestKeyPinPostgres(t *testing.T) {
	o := startPGOffice(t)
	key, err := hubsvc.ReadKeys(o.data)
	if err != nil {
		t.Fatal(err)
	}
	fp := hubsvc.KeyFingerprint(key.Public().Sign)

	empty := filepath.Join(t.TempDir(), "new-machine")
	r := o.hub("enroll", "--name", "sam", "--role", "installer", "--data", empty)
	if r.Code != 1 || !strings.Contains(r.Stderr, "no hub.key in "+empty) || !strings.Contains(r.Stderr, fp) ||
		!strings.Contains(r.Stderr, "copy hub.key from a running instance") {
		t.Errorf("enroll with no hub.key = exit %d\n%s\nwant exit 1 naming the database's key %s", r.Code, r.Stderr, fp)
	}
	if _, err := os.Stat(filepath.Join(empty, hubsvc.KeyFile)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a hub.key was made in %s: %v", empty, err)
	}
	if r := o.hub("key", "--data", empty); r.Code != 1 || !strings.Contains(r.Stderr, fp) {
		t.Errorf("hub key with no hub.key = exit %d\n%s\n%s\nwant exit 1", r.Code, r.Stdout, r.Stderr)
	}
	if _, err := os.Stat(filepath.Join(empty, hubsvc.KeyFile)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("hub key made a hub.key in %s: %v", empty, err)
	}

	other := filepath.Join(t.TempDir(), "other")
	otherKey, err := hubsvc.LoadKeys(other)
	if err != nil {
		t.Fatal(err)
	}
	otherFP := hubsvc.KeyFingerprint(otherKey.Public().Sign)
	for _, verb := range [][]string{
		{"enroll", "--name", "sam", "--role", "installer"},
		{"units", "deny", "LK-1", "--reason", "x"},
		{"key"},
	} {
		r := o.hub(append(verb, "--data", other)...)
		want := "this hub.key (fingerprint " + otherFP + ") is not the key this database's hub signs with (" + fp + "): copy hub.key from a running instance into --data"
		if r.Code != 1 || !strings.Contains(r.Stderr, want) {
			t.Errorf("hub %s with another hub.key = exit %d\n%s\nwant exit 1 saying %q", verb[0], r.Code, r.Stderr, want)
		}
	}
	var units []struct{ Serial string }
	o.json(&units, "units", "list")
	if len(units) != 0 {
		t.Errorf("units after the refusals = %+v, want none", units)
	}

	// `hub key` prints the pinned key; a copy of hub.key works anywhere.
	var printed struct {
		PublicKey   string `json:"public_key"`
		Fingerprint string
	}
	o.json(&printed, "key")
	if printed.PublicKey != base64.StdEncoding.EncodeToString(key.Public().Sign) || printed.Fingerprint != fp {
		t.Errorf("hub key --database = %+v, want the instances' key %s", printed, fp)
	}
	b, err := os.ReadFile(filepath.Join(o.data, hubsvc.KeyFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(empty, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(empty, hubsvc.KeyFile), b, 0o600); err != nil {
		t.Fatal(err)
	}
	if r := o.hub("users", "list", "--data", empty); r.Code != 0 {
		t.Errorf("users list with a copy of hub.key = exit %d\n%s", r.Code, r.Stderr)
	}
}

// TestKeyPinSQLite: on SQLite too, a hub.key replaced under a database
// that has signed with another is refused rather than used.
func TestKeyPinSQLite(t *testing.T) {
	m := clitest.New(t, "sqlite-pin")
	data := filepath.Join(t.TempDir(), "hub")
	m.MustRun("hub", "units", "deny", "LK-1", "--reason", "x", "--data", data)
	keyFile := filepath.Join(data, hubsvc.KeyFile)
	if err := os.Rename(keyFile, keyFile+".old"); err != nil {
		t.Fatal(err)
	}
	if r := m.Run("hub", "units", "list", "--data", data); r.Code != 1 || !strings.Contains(r.Stderr, "no hub.key in") {
		t.Errorf("units list after hub.key went = exit %d\n%s", r.Code, r.Stderr)
	}
	if _, err := os.Stat(keyFile); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a new hub.key was made: %v", err)
	}
	if _, err := hubsvc.LoadKeys(data); err != nil { // a new key, as a careless restore would
		t.Fatal(err)
	}
	if r := m.Run("hub", "key", "--data", data); r.Code != 1 || !strings.Contains(r.Stderr, "is not the key this database's hub signs with") {
		t.Errorf("hub key with a new hub.key = exit %d\n%s", r.Code, r.Stderr)
	}
	if err := os.Rename(keyFile+".old", keyFile); err != nil {
		t.Fatal(err)
	}
	if r := m.Run("hub", "units", "list", "--data", data); r.Code != 0 || !strings.Contains(r.Stdout, "LK-1") {
		t.Errorf("units list with the hub.key back = exit %d\n%s\n%s", r.Code, r.Stdout, r.Stderr)
	}
}
