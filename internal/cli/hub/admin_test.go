package hub_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/testutil/clitest"
)

// TestAdminRefusals checks the admin verbs' answers to bad command lines:
// exit 2 and a message that says what to do, nothing created.
func TestAdminRefusals(t *testing.T) {
	m := clitest.New(t, "hub-refusals")
	data := filepath.Join(t.TempDir(), "hub")
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"enroll without role", []string{"hub", "enroll", "--name", "dana", "--data", data}, 2, "--name and --role are required"},
		{"enroll bad role", []string{"hub", "enroll", "--name", "dana", "--role", "boss", "--data", data}, 2, "want one of installer, sales, support"},
		{"enroll bad name", []string{"hub", "enroll", "--name", "Dana Reyes", "--role", "sales", "--data", data}, 2, "user name"},
		{"job without doors", []string{"hub", "job", "create", "--building", "B", "--address", "A", "--installer", "sam", "--data", data}, 2, "missing --doors"},
		{"job for nobody", []string{"hub", "job", "create", "--building", "B", "--address", "A", "--doors", "lobby", "--installer", "sam", "--data", data}, 2, "installer sam has not logged in yet"},
		{"job bad incentive", []string{"hub", "job", "create", "--building", "B", "--address", "A", "--doors", "lobby", "--installer", "sam", "--incentive", "cash", "--data", data}, 2, "KIND:AMOUNT:CURRENCY"},
		{"deny without reason", []string{"hub", "units", "deny", "LK-1", "--data", data}, 2, "--reason is required"},
		{"revoke without terminal", []string{"hub", "users", "revoke", "dana", "--data", data}, 2, "without --yes"},
		{"revoke nobody", []string{"hub", "users", "revoke", "dana", "--yes", "--data", data}, 1, "hub users list"},
		{"postgres not answering", []string{"hub", "users", "list", "--database", "postgres://nobody@127.0.0.1:1/hub?connect_timeout=5", "--data", data}, 1, "check the URL"},
		{"postgres without host", []string{"hub", "users", "list", "--database", "postgres:hub", "--data", data}, 2, "postgres://USER@HOST"},
		{"postgres as key=value", []string{"hub", "users", "list", "--database", "host=db dbname=hub", "--data", data}, 2, "as a URL"},
		{"migrate without target", []string{"hub", "migrate", "--data", data}, 2, "--to is required"},
		{"migrate into sqlite", []string{"hub", "migrate", "--to", "sqlite:/tmp/x.db", "--data", data}, 2, "want a PostgreSQL URL"},
		{"migrate from nothing", []string{"hub", "migrate", "--to", "postgres://db/hub", "--data", data + "-none"}, 1, "no SQLite hub at"},
		{"bench on a remote server", []string{"hub", "bench", "--database", "postgres://bench@db.example.com/hub"}, 2, "on this machine"},
		{"bench on sqlite", []string{"hub", "bench", "--database", "sqlite:/tmp/b.db"}, 2, "only for PostgreSQL"},
		{"bench instances", []string{"hub", "bench", "--instances", "0"}, 2, "--instances must be 1 to 8"},
		{"unknown scheme", []string{"hub", "users", "list", "--database", "mysql://db/hub", "--data", data}, 2, "unknown scheme"},
		{"tls half", []string{"hub", "serve", "--tls-cert", "x.pem", "--data", data}, 2, "go together"},
		{"bad addr", []string{"hub", "serve", "--addr", "8470", "--data", data}, 2, "HOST:PORT"},
		{"sync before login", []string{"sync"}, 1, "latchkey login --hub URL --code CODE"},
		{"jobs pull before login", []string{"jobs", "pull"}, 1, "latchkey login --hub URL --code CODE"},
		{"login over plain http to a remote host", []string{"login", "--hub", "http://10.0.0.5:8470", "--code", "X"}, 2, "--insecure"},
		{"login without code", []string{"login", "--hub", "https://hub.example.com"}, 2, "--hub and --code are both required"},
		{"outbox retry nothing", []string{"outbox", "retry"}, 2, "--all"},
		{"outbox bad state", []string{"outbox", "list", "--state", "lost"}, 2, "queued, sent or rejected"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := m.Run(tt.args...)
			if r.Code != tt.code || !strings.Contains(r.Stderr, tt.want) {
				t.Errorf("%v = exit %d\n%s\nwant exit %d mentioning %q", tt.args, r.Code, r.Stderr, tt.code, tt.want)
			}
		})
	}
}
