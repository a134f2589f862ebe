package visit_test

// Behaviour, through cli.Run as the binary runs it, against a store in a
// temporary LATCHKEY_HOME.

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"io/fs"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/cli"
	"github.com/latchkey/latchkey/internal/cli/cmdutil"
)

var runNow = time.Date(2026, 11, 25, 15, 0, 0, 0, time.Local)

// machine is one user's computer: its own LATCHKEY_HOME, a clock that stands
// still and one random stream for every command run on it, so ids are
// deterministic and never repeat.
type machine struct {
	t    *testing.T
	home string
	env  map[string]string
	rand *rand.ChaCha8
	now  time.Time
}

func newMachine(t *testing.T) *machine {
	t.Helper()
	home := t.TempDir()
	return &machine{t: t, home: home, env: map[string]string{"LATCHKEY_HOME": home}, rand: rand.NewChaCha8([32]byte{'v', 'i', 's', 'i', 't'}), now: runNow}
}

type result struct {
	code           int
	stdout, stderr string
}

func (m *machine) run(args ...string) result {
	m.t.Helper()
	return m.runOn(nil, args...)
}

// runTTY runs args as if at a terminal 100 columns wide, answering with stdin.
func (m *machine) runTTY(stdin string, args ...string) result {
	m.t.Helper()
	return m.runOn(func(ios *cmdutil.IO) {
		ios.In = strings.NewReader(stdin)
		ios.InTTY, ios.OutTTY, ios.ErrTTY, ios.Width = true, true, true, 100
	}, args...)
}

func (m *machine) runOn(setup func(*cmdutil.IO), args ...string) result {
	m.t.Helper()
	ios, _, out, errOut := cmdutil.Test()
	if setup != nil {
		setup(ios)
	}
	f := &cmdutil.Factory{
		IO:     ios,
		Build:  cmdutil.BuildInfo{Version: "test"},
		Now:    func() time.Time { return m.now },
		Rand:   m.rand,
		Getenv: func(k string) string { return m.env[k] },
		GOOS:   runtime.GOOS,
		Log:    slog.New(slog.DiscardHandler),
	}
	code := cli.Run(context.Background(), f, args)
	return result{code: code, stdout: out.String(), stderr: errOut.String()}
}

func (m *machine) mustRun(args ...string) result {
	m.t.Helper()
	r := m.run(args...)
	if r.code != 0 {
		m.t.Fatalf("latchkey %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r
}

// jsonOf runs args (with --json) and decodes stdout into v.
func (m *machine) jsonOf(v any, args ...string) {
	m.t.Helper()
	r := m.mustRun(append(args, "--json")...)
	if err := json.Unmarshal([]byte(r.stdout), v); err != nil {
		m.t.Fatalf("latchkey %s --json: %v\n%s", strings.Join(args, " "), err, r.stdout)
	}
}

// visits are three visits of different outcomes, logged by flags.
var visits = [][]string{
	{"visit", "log", "--rep", "Dana Reyes", "--building", "Elm Court", "--address", "12 Elm St", "--city", "Springfield",
		"--units", "24", "--contact", "Ana Ruiz", "--role", "manager", "--email", "ana@elmcourt.example",
		"--outcome", "interested", "--objection", "privacy,tenant-notice", "--objection-notes", "asks who reads the logs",
		"--incentive", "gift-card:100:USD", "--when", "2026-11-20 10:00", "--notes", "board meets on the 3rd"},
	{"visit", "log", "--rep", "Dana Reyes", "--building", "Oak House", "--address", "3 Oak Rd", "--city", "Springfield",
		"--units", "8", "--outcome", "no-answer", "--when", "2026-11-21 09:15"},
	{"visit", "log", "--rep", "Sam Lee", "--building", "Pine Towers", "--address", "1 Pine Ave", "--city", "Shelbyville",
		"--units", "120", "--contact", "Bo Chen", "--role", "owner", "--phone", "+1 555 0100",
		"--outcome", "follow-up", "--objection", "cost", "--follow-up", "2026-11-24", "--when", "2026-11-22 16:30"},
}

// logAll logs visits and returns their ids, in order.
func logAll(m *machine) []string {
	m.t.Helper()
	var ids []string
	for _, args := range visits {
		r := m.mustRun(args...)
		id := strings.TrimSpace(r.stdout)
		if strings.Count(r.stdout, "\n") != 1 || len(id) != 36 {
			m.t.Fatalf("visit log printed %q on stdout, want one id line", r.stdout)
		}
		if !strings.Contains(r.stderr, "logged visit "+id[:8]) {
			m.t.Errorf("visit log stderr = %q, want it to say which visit was logged", r.stderr)
		}
		ids = append(ids, id)
	}
	return ids
}

func removeStore(t *testing.T, home string) {
	t.Helper()
	db := filepath.Join(home, "data", "latchkey.db")
	if _, err := os.Stat(db); err != nil {
		t.Fatalf("the store is not where 'config path' says: %v", err)
	}
	for _, suffix := range []string{"", "-wal", "-shm", "-journal"} {
		if err := os.Remove(db + suffix); err != nil && !errors.Is(err, fs.ErrNotExist) {
			t.Fatal(err)
		}
	}
}

func TestExportImportRoundTrip(t *testing.T) {
	t.Parallel()
	m := newMachine(t)
	ids := logAll(m)

	var before []map[string]any
	m.jsonOf(&before, "visit", "list")
	if len(before) != 3 {
		t.Fatalf("visit list --json has %d visits, want 3", len(before))
	}
	// Newest visit first.
	for i, want := range []string{ids[2], ids[1], ids[0]} {
		if before[i]["id"] != want {
			t.Errorf("list[%d].id = %v, want %s", i, before[i]["id"], want)
		}
	}
	if got := before[2]["incentive"]; got != "gift-card:100:USD" {
		t.Errorf("incentive = %v, want gift-card:100:USD", got)
	}
	if got := before[2]["objections"]; !reflect.DeepEqual(got, []any{"privacy", "tenant-notice"}) {
		t.Errorf("objections = %v, want [privacy tenant-notice]", got)
	}
	if got := before[2]["contact"].(map[string]any)["role"]; got != "manager" {
		t.Errorf("contact.role = %v", got)
	}

	file := filepath.Join(t.TempDir(), "visits.csv")
	r := m.mustRun("visit", "export", "--format", "csv", "-o", file)
	if r.stdout != "" || !strings.Contains(r.stderr, "exported 3 visit(s) to "+file) {
		t.Errorf("export: stdout %q, stderr %q", r.stdout, r.stderr)
	}
	if fi, err := os.Stat(file); err != nil {
		t.Fatal(err)
	} else if runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600 {
		t.Errorf("export file mode = %v, want 0600 (it holds contacts' details)", fi.Mode().Perm())
	}
	// The same export on stdout is byte for byte the file.
	exported, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if r := m.mustRun("visit", "export"); r.stdout != string(exported) {
		t.Errorf("export to stdout differs from export to a file:\n%s\nvs\n%s", r.stdout, exported)
	}

	removeStore(t, m.home)
	var empty []map[string]any
	m.jsonOf(&empty, "visit", "list")
	if len(empty) != 0 {
		t.Fatalf("after removing the store, list has %d visits", len(empty))
	}

	r = m.mustRun("visit", "import", file)
	if !strings.Contains(r.stderr, "3 new, 0 updated, 0 already here") {
		t.Errorf("import stderr = %q, want 3 new", r.stderr)
	}
	var after []map[string]any
	m.jsonOf(&after, "visit", "list")
	if !reflect.DeepEqual(before, after) {
		t.Errorf("list after export, wipe and import differs:\nbefore %v\nafter  %v", before, after)
	}

	// Importing the same file again changes nothing.
	var res map[string]any
	m.jsonOf(&res, "visit", "import", file)
	want := map[string]any{"added": 0.0, "updated": 0.0, "unchanged": 3.0, "older": 0.0}
	if !reflect.DeepEqual(res, want) {
		t.Errorf("second import = %v, want %v", res, want)
	}
	var again []map[string]any
	m.jsonOf(&again, "visit", "list")
	if !reflect.DeepEqual(before, again) {
		t.Errorf("list after a second import differs:\nbefore %v\nafter  %v", before, again)
	}
	for _, id := range ids {
		var hist []map[string]any
		m.jsonOf(&hist, "visit", "show", id, "--history")
		if len(hist) != 1 {
			t.Errorf("visit %s has %d revisions after two imports, want 1", id[:8], len(hist))
		}
	}

	// JSON export round-trips as well, through stdin.
	jsonFile := filepath.Join(t.TempDir(), "visits.json")
	m.mustRun("visit", "export", "--format", "json", "-o", jsonFile)
	removeStore(t, m.home)
	m.mustRun("visit", "import", jsonFile)
	var fromJSON []map[string]any
	m.jsonOf(&fromJSON, "visit", "list")
	if !reflect.DeepEqual(before, fromJSON) {
		t.Errorf("list after a JSON round trip differs:\nbefore %v\nafter  %v", before, fromJSON)
	}
}

func TestImportRefusesABadFileWhole(t *testing.T) {
	t.Parallel()
	src := newMachine(t)
	logAll(src)
	good := src.mustRun("visit", "export").stdout

	tests := []struct {
		name       string
		edit       func(rows [][]string) // rows[0] is the header, rows[i] is on line i+1
		wantStderr []string
	}{
		{
			name:       "units not a number on line 3",
			edit:       func(rows [][]string) { rows[2][col(rows, "building_units")] = "lots" },
			wantStderr: []string{"line 3", "building_units", `"lots"`, "nothing was imported", "fix those lines"},
		},
		{
			name:       "unknown outcome on line 2",
			edit:       func(rows [][]string) { rows[1][col(rows, "outcome")] = "maybe" },
			wantStderr: []string{"line 2", `"maybe" is not an outcome`},
		},
		{
			name: "two bad lines are both named",
			edit: func(rows [][]string) {
				rows[1][col(rows, "contact_email")] = "not-an-email"
				rows[3][col(rows, "incentive")] = "gift-card:lots:USD"
			},
			wantStderr: []string{"2 bad row(s)", "line 2", "line 4"},
		},
		{
			name:       "unknown column",
			edit:       func(rows [][]string) { rows[0][col(rows, "notes")] = "remarks" },
			wantStderr: []string{"line 1", `unknown column "remarks"`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rows, err := csv.NewReader(strings.NewReader(good)).ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			if len(rows) != 4 {
				t.Fatalf("export has %d lines, want a header and 3 rows", len(rows))
			}
			tt.edit(rows)
			var b bytes.Buffer
			w := csv.NewWriter(&b)
			if err := w.WriteAll(rows); err != nil {
				t.Fatal(err)
			}
			file := filepath.Join(t.TempDir(), "bad.csv")
			if err := os.WriteFile(file, b.Bytes(), 0o600); err != nil {
				t.Fatal(err)
			}

			m := newMachine(t)
			for _, args := range [][]string{{"visit", "import", "--dry-run", file}, {"visit", "import", file}} {
				r := m.run(args...)
				if r.code != cli.ExitFailure {
					t.Errorf("%s: exit %d, want 1", strings.Join(args, " "), r.code)
				}
				for _, want := range tt.wantStderr {
					if !strings.Contains(r.stderr, want) {
						t.Errorf("%s: stderr = %q, want it to contain %q", strings.Join(args, " "), r.stderr, want)
					}
				}
				if strings.Count(r.stderr, "\n") != 1 {
					t.Errorf("stderr = %q, want one line", r.stderr)
				}
			}
			var list []map[string]any
			m.jsonOf(&list, "visit", "list")
			if len(list) != 0 {
				t.Errorf("a refused import left %d visits in the store, want none", len(list))
			}
		})
	}
}

func col(rows [][]string, name string) int {
	for i, h := range rows[0] {
		if h == name {
			return i
		}
	}
	panic("no column " + name)
}

func TestEditAndDeleteKeepHistory(t *testing.T) {
	t.Parallel()
	m := newMachine(t)
	ids := logAll(m)
	pine := ids[2]

	r := m.mustRun("visit", "edit", pine[:8], "--outcome", "signed", "--follow-up", "", "--notes", "signed on the spot")
	if !strings.Contains(r.stderr, "now at revision 2") {
		t.Errorf("edit stderr = %q", r.stderr)
	}
	// The same change again writes nothing.
	r = m.mustRun("visit", "edit", pine[:8], "--outcome", "signed")
	if !strings.Contains(r.stderr, "no revision written") {
		t.Errorf("repeated edit stderr = %q, want it to say nothing was written", r.stderr)
	}

	var hist []map[string]any
	m.jsonOf(&hist, "visit", "show", pine, "--history")
	if len(hist) != 2 {
		t.Fatalf("history has %d revisions, want 2", len(hist))
	}
	if hist[0]["outcome"] != "follow-up" || hist[0]["follow_up"] != "2026-11-24" || hist[1]["outcome"] != "signed" ||
		hist[1]["follow_up"] != nil || hist[1]["notes"] != "signed on the spot" {
		t.Errorf("history = %v", hist)
	}
	if hist[0]["revision"] != 1.0 || hist[1]["revision"] != 2.0 {
		t.Errorf("revisions = %v, %v; want 1, 2", hist[0]["revision"], hist[1]["revision"])
	}
	// Fields not given on the command line are kept.
	for _, k := range []string{"id", "visited_at", "rep", "building", "contact", "objections"} {
		if !reflect.DeepEqual(hist[0][k], hist[1][k]) {
			t.Errorf("edit changed %s: %v -> %v", k, hist[0][k], hist[1][k])
		}
	}

	r = m.mustRun("visit", "delete", pine[:8], "--yes")
	if !strings.Contains(r.stderr, "tombstone at revision 3") {
		t.Errorf("delete stderr = %q", r.stderr)
	}
	var list []map[string]any
	m.jsonOf(&list, "visit", "list")
	if len(list) != 2 {
		t.Errorf("list has %d visits after a delete, want 2", len(list))
	}
	for _, v := range list {
		if v["id"] == pine {
			t.Error("list still shows the deleted visit")
		}
	}
	hist = nil
	m.jsonOf(&hist, "visit", "show", pine, "--history")
	if len(hist) != 3 || hist[2]["deleted"] != true || hist[2]["outcome"] != "signed" || hist[1]["deleted"] != nil {
		t.Errorf("history after delete = %v, want 3 revisions, the last a tombstone of revision 2", hist)
	}
	var shown map[string]any
	m.jsonOf(&shown, "visit", "show", pine)
	if shown["deleted"] != true || shown["revision"] != 3.0 {
		t.Errorf("show of a deleted visit = %v, want its tombstone", shown)
	}

	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"visit", "delete", pine, "--yes"}, "visit is deleted"},
		{[]string{"visit", "edit", pine, "--notes", "again"}, "visit is deleted"},
	} {
		r := m.run(tt.args...)
		if r.code != cli.ExitFailure || !strings.Contains(r.stderr, tt.want) {
			t.Errorf("%s: exit %d, stderr %q; want 1 and %q", strings.Join(tt.args, " "), r.code, r.stderr, tt.want)
		}
	}

	// Export leaves deleted visits out; the others are untouched.
	exported := m.mustRun("visit", "export").stdout
	if strings.Contains(exported, pine) || strings.Count(exported, "\n") != 3 {
		t.Errorf("export after delete =\n%s\nwant a header and the 2 live visits", exported)
	}
}

func TestDeleteNeedsYesWithoutATerminal(t *testing.T) {
	t.Parallel()
	m := newMachine(t)
	ids := logAll(m)
	r := m.run("visit", "delete", ids[0])
	if r.code != cli.ExitUsage || !strings.Contains(r.stderr, "--yes") {
		t.Errorf("delete without --yes: exit %d, stderr %q; want 2 naming --yes", r.code, r.stderr)
	}
	var list []map[string]any
	m.jsonOf(&list, "visit", "list")
	if len(list) != 3 {
		t.Errorf("list has %d visits after a refused delete, want 3", len(list))
	}
}

func TestListOutput(t *testing.T) {
	t.Parallel()
	m := newMachine(t)
	ids := logAll(m)
	tests := []struct {
		name    string
		args    []string
		wantIDs []string
	}{
		{name: "all, newest first", args: nil, wantIDs: []string{ids[2], ids[1], ids[0]}},
		{name: "by outcome", args: []string{"--outcome", "interested,no-answer"}, wantIDs: []string{ids[1], ids[0]}},
		{name: "by rep", args: []string{"--rep", "Sam Lee"}, wantIDs: []string{ids[2]}},
		{name: "until a date includes that day", args: []string{"--until", "2026-11-21"}, wantIDs: []string{ids[1], ids[0]}},
		{name: "since", args: []string{"--since", "2026-11-21 09:15"}, wantIDs: []string{ids[2], ids[1]}},
		{name: "due follow-ups", args: []string{"--due"}, wantIDs: []string{ids[2]}},
		{name: "search is case-insensitive", args: []string{"--search", "ELM"}, wantIDs: []string{ids[0]}},
		{name: "limit", args: []string{"--limit", "2"}, wantIDs: []string{ids[2], ids[1]}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Not parallel: the subtests share m's random stream.
			var got []map[string]any
			m.jsonOf(&got, append([]string{"visit", "list"}, tt.args...)...)
			var gotIDs []string
			for _, v := range got {
				gotIDs = append(gotIDs, v["id"].(string))
			}
			if strings.Join(gotIDs, " ") != strings.Join(tt.wantIDs, " ") {
				t.Errorf("ids = %v, want %v", gotIDs, tt.wantIDs)
			}
		})
	}

	t.Run("piped table", func(t *testing.T) {
		r := m.mustRun("visit", "list")
		lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
		if len(lines) != 4 || lines[0] != "ID\tDATE\tBUILDING\tCITY\tCONTACT\tOUTCOME\tFOLLOW-UP\tREP" {
			t.Fatalf("piped list =\n%s\nwant a tab-separated header and 3 rows", r.stdout)
		}
		want := ids[0][:8] + "\t2026-11-20\tElm Court\tSpringfield\tAna Ruiz (manager)\tinterested\t\tDana Reyes"
		if lines[3] != want {
			t.Errorf("last row = %q, want %q", lines[3], want)
		}
	})
	t.Run("limit note", func(t *testing.T) {
		r := m.mustRun("visit", "list", "--limit", "1")
		if strings.Count(r.stdout, "\n") != 2 || !strings.Contains(r.stderr, "showing the first 1") {
			t.Errorf("list --limit 1: stdout %q, stderr %q", r.stdout, r.stderr)
		}
	})
}

func TestStats(t *testing.T) {
	t.Parallel()
	m := newMachine(t)
	logAll(m)
	// A second offer in the same kind and currency adds up; cents are kept.
	m.mustRun("visit", "log", "--rep", "Sam Lee", "--building", "Ash Yard", "--address", "9 Ash Ln", "--city", "Shelbyville",
		"--units", "12", "--contact", "Cy Diaz", "--role", "superintendent", "--outcome", "not-interested",
		"--objection", "cost,privacy", "--incentive", "gift-card:49.50:USD", "--follow-up", "2026-11-23", "--when", "2026-11-22 11:00")

	type count struct {
		Outcome string  `json:"outcome"`
		Count   int     `json:"count"`
		Percent float64 `json:"percent"`
	}
	type objection struct {
		Objection string `json:"objection"`
		Count     int    `json:"count"`
	}
	type incentive struct {
		Kind, Currency, Total string
		Offers                int
	}
	type repStats struct {
		Rep          string      `json:"rep"`
		Visits       int         `json:"visits"`
		Buildings    int         `json:"buildings"`
		Funnel       []count     `json:"funnel"`
		Objections   []objection `json:"objections"`
		Incentives   []incentive `json:"incentives"`
		FollowUpsDue int         `json:"follow_ups_due"`
	}
	var got struct {
		AsOf    string     `json:"as_of"`
		Overall repStats   `json:"overall"`
		Reps    []repStats `json:"reps"`
	}
	m.jsonOf(&got, "visit", "stats")

	want := repStats{
		Visits: 4, Buildings: 4,
		Funnel:     []count{{"no-answer", 1, 25}, {"not-interested", 1, 25}, {"follow-up", 1, 25}, {"interested", 1, 25}, {"signed", 0, 0}},
		Objections: []objection{{"cost", 2}, {"privacy", 2}, {"tenant-notice", 1}},
		Incentives: []incentive{{Kind: "gift-card", Currency: "USD", Total: "149.50", Offers: 2}},
		// Pine Towers' follow-up (2026-11-24) is due; Ash Yard's is not, as it ended not-interested.
		FollowUpsDue: 1,
	}
	if got.AsOf != "2026-11-25" {
		t.Errorf("as_of = %q, want the clock's date", got.AsOf)
	}
	if !reflect.DeepEqual(got.Overall, want) {
		t.Errorf("overall =\n%+v\nwant\n%+v", got.Overall, want)
	}
	if len(got.Reps) != 2 || got.Reps[0].Rep != "Dana Reyes" || got.Reps[1].Rep != "Sam Lee" {
		t.Fatalf("reps = %+v, want Dana Reyes then Sam Lee", got.Reps)
	}
	dana, sam := got.Reps[0], got.Reps[1]
	if dana.Visits != 2 || dana.FollowUpsDue != 0 || len(dana.Incentives) != 1 || dana.Incentives[0].Total != "100.00" {
		t.Errorf("Dana Reyes = %+v", dana)
	}
	if sam.Visits != 2 || sam.FollowUpsDue != 1 || sam.Incentives[0].Total != "49.50" {
		t.Errorf("Sam Lee = %+v", sam)
	}

	// Filters narrow the figures.
	var signed struct {
		Overall repStats `json:"overall"`
	}
	m.jsonOf(&signed, "visit", "stats", "--rep", "Dana Reyes", "--outcome", "interested")
	if signed.Overall.Visits != 1 || signed.Overall.Incentives[0].Total != "100.00" || signed.Overall.Funnel[3].Percent != 100 {
		t.Errorf("stats for Dana's interested visits = %+v", signed.Overall)
	}

	// The table form says the same.
	r := m.mustRun("visit", "stats")
	for _, want := range []string{"4 visit(s) to 4 building(s); 1 follow-up(s) due by 2026-11-25", "gift-card\tUSD\t2\t149.50", "cost\t2"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("stats table =\n%s\nwant it to contain %q", r.stdout, want)
		}
	}
}

func TestStatsOfNothing(t *testing.T) {
	t.Parallel()
	m := newMachine(t)
	var got map[string]any
	m.jsonOf(&got, "visit", "stats")
	overall := got["overall"].(map[string]any)
	if overall["visits"] != 0.0 || got["reps"] == nil || len(got["reps"].([]any)) != 0 {
		t.Errorf("stats of an empty store = %v, want zero visits and an empty (not null) reps list", got)
	}
	for _, k := range []string{"funnel", "objections", "incentives"} {
		if overall[k] == nil {
			t.Errorf("overall.%s is null, want a list", k)
		}
	}
}

// TestImportBetweenMachines moves visits between two stores by export and
// import, as two reps' laptops would: newer revisions update, older ones
// become history, and nothing is duplicated.
func TestImportBetweenMachines(t *testing.T) {
	t.Parallel()
	a, b, c := newMachine(t), newMachine(t), newMachine(t)
	ids := logAll(a)
	dir := t.TempDir()
	first, second := filepath.Join(dir, "first.csv"), filepath.Join(dir, "second.csv")
	a.mustRun("visit", "export", "-o", first)
	if r := b.mustRun("visit", "import", first); !strings.Contains(r.stderr, "3 new") {
		t.Errorf("first import on b: %q", r.stderr)
	}

	a.mustRun("visit", "edit", ids[0], "--outcome", "signed")
	a.mustRun("visit", "export", "-o", second)
	var res map[string]float64
	b.jsonOf(&res, "visit", "import", second)
	if res["added"] != 0 || res["updated"] != 1 || res["unchanged"] != 2 || res["older"] != 0 {
		t.Errorf("second import on b = %v, want 1 updated and 2 unchanged", res)
	}
	var onA, onB []map[string]any
	a.jsonOf(&onA, "visit", "list")
	b.jsonOf(&onB, "visit", "list")
	if !reflect.DeepEqual(onA, onB) {
		t.Errorf("after the imports b differs from a:\na %v\nb %v", onA, onB)
	}

	// c gets the newer file first: the older revision then arrives as history.
	c.mustRun("visit", "import", second)
	res = nil
	c.jsonOf(&res, "visit", "import", first)
	if res["added"] != 0 || res["older"] != 1 || res["unchanged"] != 2 {
		t.Errorf("import of the older file on c = %v, want 1 older and 2 unchanged", res)
	}
	var hist []map[string]any
	c.jsonOf(&hist, "visit", "show", ids[0], "--history")
	if len(hist) != 2 || hist[0]["outcome"] != "interested" || hist[1]["outcome"] != "signed" {
		t.Errorf("history on c = %v, want revision 1 interested then 2 signed", hist)
	}
	var onC []map[string]any
	c.jsonOf(&onC, "visit", "list")
	if !reflect.DeepEqual(onA, onC) {
		t.Errorf("c differs from a:\na %v\nc %v", onA, onC)
	}

	// A file that says something else under a stored id and revision is
	// refused, not merged.
	rows, err := csv.NewReader(strings.NewReader(a.mustRun("visit", "export").stdout)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	rows[1][col(rows, "notes")] = "changed behind latchkey's back"
	var buf bytes.Buffer
	if err := csv.NewWriter(&buf).WriteAll(rows); err != nil {
		t.Fatal(err)
	}
	forged := filepath.Join(dir, "forged.csv")
	if err := os.WriteFile(forged, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	r := b.run("visit", "import", forged)
	if r.code != cli.ExitFailure || !strings.Contains(r.stderr, "line 2") || !strings.Contains(r.stderr, "different content") {
		t.Errorf("import of a changed revision: exit %d, stderr %q; want 1 naming line 2", r.code, r.stderr)
	}
	var still []map[string]any
	b.jsonOf(&still, "visit", "list")
	if !reflect.DeepEqual(onA, still) {
		t.Errorf("a refused import changed b")
	}
}

// TestImportWithoutIDs: rows with a blank id get one derived from their
// content, so importing the same hand-made file twice adds nothing.
func TestImportWithoutIDs(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "handmade.csv")
	body := "building_name,building_address,building_city,building_units,rep,visited_at,contact_name,contact_role,contact_phone,contact_email,outcome,objections,objection_notes,incentive,follow_up,notes\n" +
		"Elm Court,12 Elm St,Springfield,24,Dana Reyes,2026-11-20T10:00:00Z,Ana Ruiz,manager,,,interested,privacy;cost,,cash:50:EUR,,\n" +
		"Oak House,3 Oak Rd,Springfield,8,Dana Reyes,2026-11-21T09:15:00Z,,,,,no-answer,,,none,,\n"
	if err := os.WriteFile(file, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	m := newMachine(t)
	var res map[string]float64
	m.jsonOf(&res, "visit", "import", file)
	if res["added"] != 2 {
		t.Fatalf("first import = %v, want 2 added", res)
	}
	var first []map[string]any
	m.jsonOf(&first, "visit", "list")
	res = nil
	m.jsonOf(&res, "visit", "import", file)
	if res["added"] != 0 || res["unchanged"] != 2 {
		t.Errorf("second import = %v, want 2 unchanged", res)
	}
	var second []map[string]any
	m.jsonOf(&second, "visit", "list")
	if !reflect.DeepEqual(first, second) {
		t.Errorf("list changed after importing the same file again:\n%v\n%v", first, second)
	}
	// The same file on another machine names the same visits.
	other := newMachine(t)
	other.mustRun("visit", "import", file)
	var there []map[string]any
	other.jsonOf(&there, "visit", "list")
	if len(there) != 2 || there[0]["id"] != first[0]["id"] || there[1]["id"] != first[1]["id"] {
		t.Errorf("derived ids differ between machines: %v vs %v", there, first)
	}
	if first[1]["incentive"] != "cash:50:EUR" || !reflect.DeepEqual(first[1]["objections"], []any{"privacy", "cost"}) {
		t.Errorf("Elm Court imported as %v", first[1])
	}
}

// TestImportFromStdin reads the JSON export piped in.
func TestImportFromStdin(t *testing.T) {
	t.Parallel()
	src := newMachine(t)
	logAll(src)
	exported := src.mustRun("visit", "export", "--format", "json").stdout

	m := newMachine(t)
	ios, in, _, errOut := cmdutil.Test()
	in.WriteString(exported)
	f := &cmdutil.Factory{IO: ios, Now: func() time.Time { return runNow }, Rand: m.rand,
		Getenv: func(k string) string { return m.env[k] }, GOOS: runtime.GOOS, Log: slog.New(slog.DiscardHandler)}
	if code := cli.Run(context.Background(), f, []string{"visit", "import", "--format", "json", "-"}); code != 0 {
		t.Fatalf("import from stdin: exit %d, %s", code, errOut)
	}
	if !strings.Contains(errOut.String(), "imported stdin: 3 new") {
		t.Errorf("stderr = %q", errOut)
	}
}

// TestFollowUpDatesAreLocal: a rep types dates in their own time zone; a
// follow-up "today" after an evening visit is not "before the visit" just
// because the visit's UTC date is already tomorrow, and east of UTC a date
// before the visit's local date is refused.
func TestFollowUpDatesAreLocal(t *testing.T) {
	t.Parallel()
	est, nzdt := time.FixedZone("EST", -5*3600), time.FixedZone("NZDT", 13*3600)
	for _, tt := range []struct {
		name   string
		now    time.Time
		follow string
		wantOK bool
	}{
		{"evening west of UTC, today", time.Date(2026, 11, 20, 20, 0, 0, 0, est), "today", true},
		{"evening west of UTC, same date", time.Date(2026, 11, 20, 20, 0, 0, 0, est), "2026-11-20", true},
		{"evening west of UTC, day before", time.Date(2026, 11, 20, 20, 0, 0, 0, est), "2026-11-19", false},
		{"morning east of UTC, today", time.Date(2026, 11, 21, 9, 0, 0, 0, nzdt), "today", true},
		{"morning east of UTC, day before", time.Date(2026, 11, 21, 9, 0, 0, 0, nzdt), "2026-11-20", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m := newMachine(t)
			m.now = tt.now
			r := m.run("visit", "log", "--rep", "Dana Reyes", "--building", "Elm Court", "--address", "12 Elm St", "--city", "Springfield",
				"--units", "24", "--contact", "Ana Ruiz", "--role", "manager", "--outcome", "follow-up", "--follow-up", tt.follow)
			var problems []string
			switch {
			case tt.wantOK && r.code != 0:
				problems = append(problems, "visit log at "+tt.now.String()+" with --follow-up "+tt.follow+": "+r.stderr)
			case !tt.wantOK && (r.code != cli.ExitUsage || !strings.Contains(r.stderr, "is before the visit")):
				problems = append(problems, "visit log at "+tt.now.String()+" with --follow-up "+tt.follow+
					" was accepted (exit "+strconv.Itoa(r.code)+"); the follow-up is before the visit's local date")
			}
			for _, p := range problems {
				t.Error(p)
			}
		})
	}
}

func TestDeleteAsksAtATerminal(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		answer      string
		wantCode    int
		wantDeleted bool
		wantStderr  string
	}{
		{answer: "y\n", wantCode: 0, wantDeleted: true, wantStderr: "deleted visit"},
		{answer: "YES\n", wantCode: 0, wantDeleted: true, wantStderr: "deleted visit"},
		{answer: "n\n", wantCode: cli.ExitFailure, wantStderr: "cancelled, nothing was changed"},
		{answer: "\n", wantCode: cli.ExitFailure, wantStderr: "cancelled, nothing was changed"},
		{answer: "", wantCode: cli.ExitFailure, wantStderr: "read answer"},
	} {
		t.Run(strconv.Quote(tt.answer), func(t *testing.T) {
			t.Parallel()
			m := newMachine(t)
			ids := logAll(m)
			r := m.runTTY(tt.answer, "visit", "delete", ids[0][:8])
			if r.code != tt.wantCode || !strings.Contains(r.stderr, tt.wantStderr) {
				t.Errorf("exit %d, stderr %q; want %d and %q", r.code, r.stderr, tt.wantCode, tt.wantStderr)
			}
			if !strings.HasPrefix(r.stderr, "Delete visit "+ids[0][:8]+" (Elm Court, 2026-11-20)? [y/N] ") {
				t.Errorf("stderr = %q, want the question first", r.stderr)
			}
			var list []map[string]any
			m.jsonOf(&list, "visit", "list")
			if deleted := len(list) == 2; deleted != tt.wantDeleted {
				t.Errorf("deleted = %v, want %v", deleted, tt.wantDeleted)
			}
		})
	}
}

func TestTablesAtATerminal(t *testing.T) {
	t.Parallel()
	m := newMachine(t)
	ids := logAll(m)

	r := m.runTTY("", "visit", "list")
	if r.code != 0 {
		t.Fatalf("visit list at a terminal: exit %d, %s", r.code, r.stderr)
	}
	lines := strings.Split(strings.TrimRight(r.stdout, "\n"), "\n")
	if len(lines) != 5 || strings.Contains(r.stdout, "\t") {
		t.Fatalf("table =\n%s\nwant a header, a rule and 3 rows, aligned with spaces", r.stdout)
	}
	// Headers are shown as written (tablewriter would otherwise re-space FOLLOW-UP).
	for _, h := range []string{"ID", "DATE", "BUILDING", "FOLLOW-UP", "REP"} {
		if !strings.Contains(lines[0], h) {
			t.Errorf("header %q lacks %q", lines[0], h)
		}
	}
	if !strings.Contains(lines[2], ids[2][:8]) {
		t.Errorf("first row %q lacks the newest visit's short id", lines[2])
	}
	t.Run("fixed-width cells are not cut", func(t *testing.T) {
		for _, want := range []string{"2026-11-22", "2026-11-24", "interested"} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("visit list at 100 columns cuts %q:\n%s", want, r.stdout)
			}
		}
	})
	t.Run("rows fit the terminal", func(t *testing.T) {
		var problems []string
		for _, l := range lines {
			if w := len([]rune(l)); w > 100 {
				problems = append(problems, "line "+strconv.Quote(l)+" is "+strconv.Itoa(w)+" columns wide, the terminal has 100")
			}
		}
		for _, p := range problems {
			t.Error(p)
		}
	})
	t.Run("a table that fits is not cut", func(t *testing.T) {
		r := m.runTTY("", "visit", "stats")
		if r.code != 0 || !strings.Contains(r.stdout, "OUTCOME") {
			t.Fatalf("visit stats at a terminal: exit %d\n%s%s", r.code, r.stdout, r.stderr)
		}
		for _, l := range strings.Split(r.stdout, "\n") {
			if len([]rune(l)) < 100 && strings.Contains(l, "…") {
				t.Errorf("line %q is cut although it fits in 100 columns", l)
			}
		}
	})
}

func TestShowText(t *testing.T) {
	t.Parallel()
	m := newMachine(t)
	ids := logAll(m)
	r := m.mustRun("visit", "show", ids[0][:6])
	for _, want := range []string{
		"visit       " + ids[0] + "\n",
		"revision 1, recorded ",
		"when        2026-11-20 10:00 ",
		"address     12 Elm St, Springfield\n",
		"contact     Ana Ruiz (manager)\n",
		"objections  privacy, tenant-notice\n",
		"incentive   gift-card:100:USD\n",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("visit show =\n%s\nwant it to contain %q", r.stdout, want)
		}
	}
	// Empty fields are left out.
	if strings.Contains(r.stdout, "follow-up") || strings.Contains(r.stdout, "phone") {
		t.Errorf("visit show prints empty fields:\n%s", r.stdout)
	}
}
