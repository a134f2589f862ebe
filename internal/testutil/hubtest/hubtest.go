// Package hubtest runs the back office in-process on loopback for tests:
// the real server over a SQLite file that the admin commands (run through
// the command line in-process) open too, as `hub serve` and `hub enroll`
// share it in production. It is used only by tests.
package hubtest

import (
	"context"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/hub"
	"github.com/latchkey/latchkey/internal/hub/sqlstore"
	"github.com/latchkey/latchkey/internal/testutil/clitest"
)

// Office is a hub on loopback and the machine its administrator works on.
type Office struct {
	t     testing.TB
	Data  string
	URL   string
	Admin *clitest.Machine
}

// Start starts a hub with its data in a temporary directory until the test
// ends.
func Start(t testing.TB) *Office {
	t.Helper()
	data := filepath.Join(t.TempDir(), "hub")
	admin := clitest.New(t, "hub-admin")
	// The first admin command makes the database and the hub key.
	admin.MustRun("hub", "users", "list", "--data", data)
	st, err := sqlstore.Open(context.Background(), filepath.Join(data, "hub.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	key, err := hub.LoadKeys(data)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := hub.NewServer(hub.ServerConfig{Store: st, Signer: key.Sign})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	return &Office{t: t, Data: data, URL: ts.URL, Admin: admin}
}

// Hub runs `latchkey hub ARGS --data DIR` on the administrator's machine.
func (o *Office) Hub(args ...string) clitest.Result {
	return o.Admin.Run(append(append([]string{"hub"}, args...), "--data", o.Data)...)
}

// MustHub is Hub, failing the test unless the command succeeds, and
// returns its trimmed stdout.
func (o *Office) MustHub(args ...string) string {
	o.t.Helper()
	r := o.Hub(args...)
	if r.Code != 0 {
		o.t.Fatalf("latchkey hub %s: exit %d\n%s", strings.Join(args, " "), r.Code, r.Stderr)
	}
	return strings.TrimSpace(r.Stdout)
}

// Join enrolls name with role and logs a new machine in with the code.
func (o *Office) Join(name, role string) *clitest.Machine {
	o.t.Helper()
	code := o.MustHub("enroll", "--name", name, "--role", role)
	m := clitest.New(o.t, "laptop-"+name)
	// A laptop that talks to a live hub (and to units whose certificates
	// are issued now) keeps real time, not the machine's fixed test clock.
	m.Now = time.Now()
	r := m.Run("login", "--hub", o.URL, "--code", code)
	if r.Code != 0 || !strings.Contains(r.Stdout, "logged in to "+o.URL+" as "+name+" ("+role+")") {
		o.t.Fatalf("login %s: %d\n%s\n%s", name, r.Code, r.Stdout, r.Stderr)
	}
	return m
}
