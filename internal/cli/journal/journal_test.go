package journal_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	journalcmd "github.com/latchkey/latchkey/internal/cli/journal"
	hubsvc "github.com/latchkey/latchkey/internal/hub"
	"github.com/latchkey/latchkey/internal/hub/sqlstore"
	"github.com/latchkey/latchkey/internal/journal"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/testutil/clitest"
)

// runJournal runs `latchkey journal ARGS` on m in-process, under a root
// that has the global --json flag, as the real root does.
func runJournal(t *testing.T, m *clitest.Machine, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	f, out, errOut := m.Factory("")
	root := &cobra.Command{Use: "latchkey", SilenceErrors: true, SilenceUsage: true}
	root.PersistentFlags().BoolVar(&f.Global.JSON, "json", false, "print data as JSON, for scripts")
	root.AddCommand(journalcmd.NewCmdJournal(f))
	root.SetArgs(append([]string{"journal"}, args...))
	root.SetOut(out)
	root.SetErr(errOut)
	err = root.ExecuteContext(context.Background())
	if cerr := f.Close(); cerr != nil {
		t.Fatal(cerr)
	}
	return out.String(), errOut.String(), err
}

// newHub starts a hub on loopback and returns its URL and the machine its
// administrator runs `latchkey hub` on, with the hub's data directory.
func newHub(t *testing.T) (url string, admin *clitest.Machine, data string) {
	t.Helper()
	data = filepath.Join(t.TempDir(), "hub")
	admin = clitest.New(t, "journal-admin")
	admin.MustRun("hub", "users", "list", "--data", data)
	st, err := sqlstore.Open(context.Background(), filepath.Join(data, "hub.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	key, err := hubsvc.LoadKeys(data)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := hubsvc.NewServer(hubsvc.ServerConfig{Store: st, Signer: key.Sign})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	return ts.URL, admin, data
}

func logVisit(m *clitest.Machine, building string) {
	m.MustRun("visit", "log", "--rep", "Dana Reyes", "--building", building, "--address", "12 Elm St",
		"--city", "Springfield", "--units", "24", "--outcome", "no-answer", "--when", "2026-11-24 10:00")
}

// laptopDB opens the machine's store with the journal's triggers dropped,
// as someone holding the file could.
func laptopDB(t *testing.T, m *clitest.Machine) *store.Store {
	t.Helper()
	f, _, _ := m.Factory("")
	d, err := f.Dirs()
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(context.Background(), d.StoreFile())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	for _, n := range []string{"journal_append_only", "journal_immutable_update", "journal_immutable_delete"} {
		if _, err := st.DB().Exec(`DROP TRIGGER IF EXISTS ` + n); err != nil {
			t.Fatal(err)
		}
	}
	return st
}

func TestVerifyAgainstHub(t *testing.T) {
	url, admin, data := newHub(t)
	r := admin.MustRun("hub", "enroll", "--name", "dana", "--role", "sales", "--data", data)
	dana := clitest.New(t, "journal-dana")
	dana.MustRun("login", "--hub", url, "--code", strings.TrimSpace(r.Stdout))

	// Nothing yet: an empty journal is intact; the hub has no head.
	out, _, err := runJournal(t, dana, "verify")
	if err != nil || !strings.Contains(out, "journal ok: 0 entries") || !strings.Contains(out, "acknowledged no head yet") {
		t.Fatalf("verify of an empty journal = %q, %v", out, err)
	}

	for _, b := range []string{"Elm Court", "Oak Court", "Ash Court"} {
		logVisit(dana, b)
	}
	dana.MustRun("sync")
	logVisit(dana, "Birch Court") // entry 4, not sent

	out, _, err = runJournal(t, dana, "list")
	if err != nil || strings.Count(out, "record.queued") != 4 {
		t.Errorf("journal list = %q, %v; want 4 record.queued entries", out, err)
	}
	var es []journal.Entry
	out, _, err = runJournal(t, dana, "list", "--json", "--limit", "2")
	if err != nil || json.Unmarshal([]byte(out), &es) != nil || len(es) != 2 || es[0].Seq != 3 || es[1].Seq != 4 {
		t.Errorf("journal list --json --limit 2 = %q, %v", out, err)
	}

	out, _, err = runJournal(t, dana, "verify")
	if err != nil || !strings.Contains(out, "journal ok: 4 entries, head 4 ") ||
		!strings.Contains(out, "matches the head the hub acknowledged (seq 3)") {
		t.Errorf("verify = %q, %v", out, err)
	}
	out, _, err = runJournal(t, dana, "verify", "--offline")
	if err != nil || !strings.Contains(out, "matches the head in the records sent from here (seq 3); offline") {
		t.Errorf("verify --offline = %q, %v", out, err)
	}

	// Someone with the file deletes the newest entries and the outbox rows
	// that name them: the chain left is intact, but the hub remembers.
	st := laptopDB(t, dana)
	for _, q := range []string{
		`DROP TRIGGER outbox_keep_rows`,
		`DELETE FROM journal WHERE seq >= 3`,
		`DELETE FROM outbox WHERE seq >= 3`,
	} {
		if _, err := st.DB().Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	st.Close()

	out, _, err = runJournal(t, dana, "verify", "--offline")
	if err != nil {
		t.Errorf("verify --offline after deleting the evidence = %q, %v; offline cannot tell", out, err)
	}
	out, _, err = runJournal(t, dana, "verify")
	if !errors.Is(err, journal.ErrTampered) || !strings.Contains(out, "journal TAMPERED") ||
		!strings.Contains(out, "entry 3: missing, though the back office acknowledged it (the journal ends at entry 2)") {
		t.Errorf("verify after deleting the newest entries = %q, %v; want ErrTampered naming entry 3", out, err)
	}
	var res journalcmd.VerifyResult
	out, _, err = runJournal(t, dana, "verify", "--json")
	if !errors.Is(err, journal.ErrTampered) || json.Unmarshal([]byte(out), &res) != nil || res.OK ||
		res.AckedFrom != "hub" || res.Acked == nil || res.Acked.Seq != 3 || len(res.Problems) != 1 || res.Problems[0].Seq != 3 {
		t.Errorf("verify --json = %q, %v", out, err)
	}
}

func TestVerifyOfflineCatchesEdits(t *testing.T) {
	dana := clitest.New(t, "journal-offline")
	logVisit(dana, "Elm Court")
	logVisit(dana, "Oak Court")
	out, _, err := runJournal(t, dana, "verify", "--offline")
	if err != nil || !strings.Contains(out, "journal ok: 2 entries") || !strings.Contains(out, "(offline)") {
		t.Fatalf("verify --offline = %q, %v", out, err)
	}
	// Not logged in: online verify says how to log in or go offline.
	if _, _, err := runJournal(t, dana, "verify"); err == nil {
		t.Error("verify without a login succeeded")
	}
	st := laptopDB(t, dana)
	if _, err := st.DB().Exec(`UPDATE journal SET detail = 'survey' WHERE seq = 1`); err != nil {
		t.Fatal(err)
	}
	st.Close()
	out, _, err = runJournal(t, dana, "verify", "--offline")
	if !errors.Is(err, journal.ErrTampered) || !strings.Contains(out, "entry 1: contents do not match its hash") {
		t.Errorf("verify --offline of an edited entry = %q, %v", out, err)
	}
}
