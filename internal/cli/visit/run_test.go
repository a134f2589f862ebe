package visit_test

// Behaviour, through cli.Run as the binary runs it, against a store in a
// temporary LATCHKEY_HOME.

import (
	"bytes"
	"encoding/csv"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/cli"
	"github.com/latchkey/latchkey/internal/testutil/clitest"
)

// newMachine returns a machine of its own for one test.
func newMachine(t *testing.T) *clitest.Machine {
	t.Helper()
	return clitest.New(t, "visit")
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

// logAll logs visits on m and returns their ids, in order.
func logAll(t *testing.T, m *clitest.Machine) []string {
	t.Helper()
	var ids []string
	for _, args := range visits {
		r := m.MustRun(args...)
		id := strings.TrimSpace(r.Stdout)
		if strings.Count(r.Stdout, "\n") != 1 || len(id) != 36 {
			t.Fatalf("visit log printed %q on stdout, want one id line", r.Stdout)
		}
		if !strings.Contains(r.Stderr, "logged visit "+id[:8]) {
			t.Errorf("visit log stderr = %q, want it to say which visit was logged", r.Stderr)
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
	ids := logAll(t, m)

	var before []map[string]any
	m.JSON(&before, "visit", "list")
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
	r := m.MustRun("visit", "export", "--format", "csv", "-o", file)
	if r.Stdout != "" || !strings.Contains(r.Stderr, "exported 3 visit(s) to "+file) {
		t.Errorf("export: stdout %q, stderr %q", r.Stdout, r.Stderr)
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
	if r := m.MustRun("visit", "export"); r.Stdout != string(exported) {
		t.Errorf("export to stdout differs from export to a file:\n%s\nvs\n%s", r.Stdout, exported)
	}

	removeStore(t, m.Home)
	var empty []map[string]any
	m.JSON(&empty, "visit", "list")
	if len(empty) != 0 {
		t.Fatalf("after removing the store, list has %d visits", len(empty))
	}

	r = m.MustRun("visit", "import", file)
	if !strings.Contains(r.Stderr, "3 new, 0 updated, 0 already here") {
		t.Errorf("import stderr = %q, want 3 new", r.Stderr)
	}
	var after []map[string]any
	m.JSON(&after, "visit", "list")
	if !reflect.DeepEqual(before, after) {
		t.Errorf("list after export, wipe and import differs:\nbefore %v\nafter  %v", before, after)
	}

	// Importing the same file again changes nothing.
	var res map[string]any
	m.JSON(&res, "visit", "import", file)
	want := map[string]any{"added": 0.0, "updated": 0.0, "unchanged": 3.0, "older": 0.0}
	if !reflect.DeepEqual(res, want) {
		t.Errorf("second import = %v, want %v", res, want)
	}
	var again []map[string]any
	m.JSON(&again, "visit", "list")
	if !reflect.DeepEqual(before, again) {
		t.Errorf("list after a second import differs:\nbefore %v\nafter  %v", before, again)
	}
	for _, id := range ids {
		var hist []map[string]any
		m.JSON(&hist, "visit", "show", id, "--history")
		if len(hist) != 1 {
			t.Errorf("visit %s has %d revisions after two imports, want 1", id[:8], len(hist))
		}
	}

	// JSON export round-trips as well, through stdin.
	jsonFile := filepath.Join(t.TempDir(), "visits.json")
	m.MustRun("visit", "export", "--format", "json", "-o", jsonFile)
	removeStore(t, m.Home)
	m.MustRun("visit", "import", jsonFile)
	var fromJSON []map[string]any
	m.JSON(&fromJSON, "visit", "list")
	if !reflect.DeepEqual(before, fromJSON) {
		t.Errorf("list after a JSON round trip differs:\nbefore %v\nafter  %v", before, fromJSON)
	}
}

func TestImportRefusesABadFileWhole(t *testing.T) {
	t.Parallel()
	src := newMachine(t)
	logAll(t, src)
	good := src.MustRun("visit", "export").Stdout

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
				r := m.Run(args...)
				if r.Code != cli.ExitFailure {
					t.Errorf("%s: exit %d, want 1", strings.Join(args, " "), r.Code)
				}
				for _, want := range tt.wantStderr {
					if !strings.Contains(r.Stderr, want) {
						t.Errorf("%s: stderr = %q, want it to contain %q", strings.Join(args, " "), r.Stderr, want)
					}
				}
				if strings.Count(r.Stderr, "\n") != 1 {
					t.Errorf("stderr = %q, want one line", r.Stderr)
				}
			}
			var list []map[string]any
			m.JSON(&list, "visit", "list")
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
	ids := logAll(t, m)
	pine := ids[2]

	r := m.MustRun("visit", "edit", pine[:8], "--outcome", "signed", "--follow-up", "", "--notes", "signed on the spot")
	if !strings.Contains(r.Stderr, "now at revision 2") {
		t.Errorf("edit stderr = %q", r.Stderr)
	}
	// The same change again writes nothing.
	r = m.MustRun("visit", "edit", pine[:8], "--outcome", "signed")
	if !strings.Contains(r.Stderr, "no revision written") {
		t.Errorf("repeated edit stderr = %q, want it to say nothing was written", r.Stderr)
	}

	var hist []map[string]any
	m.JSON(&hist, "visit", "show", pine, "--history")
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

	r = m.MustRun("visit", "delete", pine[:8], "--yes")
	if !strings.Contains(r.Stderr, "tombstone at revision 3") {
		t.Errorf("delete stderr = %q", r.Stderr)
	}
	var list []map[string]any
	m.JSON(&list, "visit", "list")
	if len(list) != 2 {
		t.Errorf("list has %d visits after a delete, want 2", len(list))
	}
	for _, v := range list {
		if v["id"] == pine {
			t.Error("list still shows the deleted visit")
		}
	}
	hist = nil
	m.JSON(&hist, "visit", "show", pine, "--history")
	if len(hist) != 3 || hist[2]["deleted"] != true || hist[2]["outcome"] != "signed" || hist[1]["deleted"] != nil {
		t.Errorf("history after delete = %v, want 3 revisions, the last a tombstone of revision 2", hist)
	}
	var shown map[string]any
	m.JSON(&shown, "visit", "show", pine)
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
		r := m.Run(tt.args...)
		if r.Code != cli.ExitFailure || !strings.Contains(r.Stderr, tt.want) {
			t.Errorf("%s: exit %d, stderr %q; want 1 and %q", strings.Join(tt.args, " "), r.Code, r.Stderr, tt.want)
		}
	}

	// Export leaves deleted visits out; the others are untouched.
	exported := m.MustRun("visit", "export").Stdout
	if strings.Contains(exported, pine) || strings.Count(exported, "\n") != 3 {
		t.Errorf("export after delete =\n%s\nwant a header and the 2 live visits", exported)
	}
}

func TestDeleteNeedsYesWithoutATerminal(t *testing.T) {
	t.Parallel()
	m := newMachine(t)
	ids := logAll(t, m)
	r := m.Run("visit", "delete", ids[0])
	if r.Code != cli.ExitUsage || !strings.Contains(r.Stderr, "--yes") {
		t.Errorf("delete without --yes: exit %d, stderr %q; want 2 naming --yes", r.Code, r.Stderr)
	}
	var list []map[string]any
	m.JSON(&list, "visit", "list")
	if len(list) != 3 {
		t.Errorf("list has %d visits after a refused delete, want 3", len(list))
	}
}

func TestListOutput(t *testing.T) {
	t.Parallel()
	m := newMachine(t)
	ids := logAll(t, m)
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
			m.JSON(&got, append([]string{"visit", "list"}, tt.args...)...)
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
		r := m.MustRun("visit", "list")
		lines := strings.Split(strings.TrimSuffix(r.Stdout, "\n"), "\n")
		if len(lines) != 4 || lines[0] != "ID\tDATE\tBUILDING\tCITY\tCONTACT\tOUTCOME\tFOLLOW-UP\tREP" {
			t.Fatalf("piped list =\n%s\nwant a tab-separated header and 3 rows", r.Stdout)
		}
		want := ids[0][:8] + "\t2026-11-20\tElm Court\tSpringfield\tAna Ruiz (manager)\tinterested\t\tDana Reyes"
		if lines[3] != want {
			t.Errorf("last row = %q, want %q", lines[3], want)
		}
	})
	t.Run("limit note", func(t *testing.T) {
		r := m.MustRun("visit", "list", "--limit", "1")
		if strings.Count(r.Stdout, "\n") != 2 || !strings.Contains(r.Stderr, "showing the first 1") {
			t.Errorf("list --limit 1: stdout %q, stderr %q", r.Stdout, r.Stderr)
		}
	})
}

func TestStats(t *testing.T) {
	t.Parallel()
	m := newMachine(t)
	logAll(t, m)
	// A second offer in the same kind and currency adds up; cents are kept.
	m.MustRun("visit", "log", "--rep", "Sam Lee", "--building", "Ash Yard", "--address", "9 Ash Ln", "--city", "Shelbyville",
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
	m.JSON(&got, "visit", "stats")

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
	m.JSON(&signed, "visit", "stats", "--rep", "Dana Reyes", "--outcome", "interested")
	if signed.Overall.Visits != 1 || signed.Overall.Incentives[0].Total != "100.00" || signed.Overall.Funnel[3].Percent != 100 {
		t.Errorf("stats for Dana's interested visits = %+v", signed.Overall)
	}

	// The table form says the same.
	r := m.MustRun("visit", "stats")
	for _, want := range []string{"4 visit(s) to 4 building(s); 1 follow-up(s) due by 2026-11-25", "gift-card\tUSD\t2\t149.50", "cost\t2"} {
		if !strings.Contains(r.Stdout, want) {
			t.Errorf("stats table =\n%s\nwant it to contain %q", r.Stdout, want)
		}
	}
}

func TestStatsOfNothing(t *testing.T) {
	t.Parallel()
	m := newMachine(t)
	var got map[string]any
	m.JSON(&got, "visit", "stats")
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
	ids := logAll(t, a)
	dir := t.TempDir()
	first, second := filepath.Join(dir, "first.csv"), filepath.Join(dir, "second.csv")
	a.MustRun("visit", "export", "-o", first)
	if r := b.MustRun("visit", "import", first); !strings.Contains(r.Stderr, "3 new") {
		t.Errorf("first import on b: %q", r.Stderr)
	}

	a.MustRun("visit", "edit", ids[0], "--outcome", "signed")
	a.MustRun("visit", "export", "-o", second)
	var res map[string]float64
	b.JSON(&res, "visit", "import", second)
	if res["added"] != 0 || res["updated"] != 1 || res["unchanged"] != 2 || res["older"] != 0 {
		t.Errorf("second import on b = %v, want 1 updated and 2 unchanged", res)
	}
	var onA, onB []map[string]any
	a.JSON(&onA, "visit", "list")
	b.JSON(&onB, "visit", "list")
	if !reflect.DeepEqual(onA, onB) {
		t.Errorf("after the imports b differs from a:\na %v\nb %v", onA, onB)
	}

	// c gets the newer file first: the older revision then arrives as history.
	c.MustRun("visit", "import", second)
	res = nil
	c.JSON(&res, "visit", "import", first)
	if res["added"] != 0 || res["older"] != 1 || res["unchanged"] != 2 {
		t.Errorf("import of the older file on c = %v, want 1 older and 2 unchanged", res)
	}
	var hist []map[string]any
	c.JSON(&hist, "visit", "show", ids[0], "--history")
	if len(hist) != 2 || hist[0]["outcome"] != "interested" || hist[1]["outcome"] != "signed" {
		t.Errorf("history on c = %v, want revision 1 interested then 2 signed", hist)
	}
	var onC []map[string]any
	c.JSON(&onC, "visit", "list")
	if !reflect.DeepEqual(onA, onC) {
		t.Errorf("c differs from a:\na %v\nc %v", onA, onC)
	}

	// A file that says something else under a stored id and revision is
	// refused, not merged.
	rows, err := csv.NewReader(strings.NewReader(a.MustRun("visit", "export").Stdout)).ReadAll()
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
	r := b.Run("visit", "import", forged)
	if r.Code != cli.ExitFailure || !strings.Contains(r.Stderr, "line 2") || !strings.Contains(r.Stderr, "different content") {
		t.Errorf("import of a changed revision: exit %d, stderr %q; want 1 naming line 2", r.Code, r.Stderr)
	}
	var still []map[string]any
	b.JSON(&still, "visit", "list")
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
	m.JSON(&res, "visit", "import", file)
	if res["added"] != 2 {
		t.Fatalf("first import = %v, want 2 added", res)
	}
	var first []map[string]any
	m.JSON(&first, "visit", "list")
	res = nil
	m.JSON(&res, "visit", "import", file)
	if res["added"] != 0 || res["unchanged"] != 2 {
		t.Errorf("second import = %v, want 2 unchanged", res)
	}
	var second []map[string]any
	m.JSON(&second, "visit", "list")
	if !reflect.DeepEqual(first, second) {
		t.Errorf("list changed after importing the same file again:\n%v\n%v", first, second)
	}
	// The same file on another machine names the same visits.
	other := newMachine(t)
	other.MustRun("visit", "import", file)
	var there []map[string]any
	other.JSON(&there, "visit", "list")
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
	logAll(t, src)
	exported := src.MustRun("visit", "export", "--format", "json").Stdout

	m := newMachine(t)
	r := m.RunIn(exported, "visit", "import", "--format", "json", "-")
	if r.Code != 0 {
		t.Fatalf("import from stdin: exit %d, %s", r.Code, r.Stderr)
	}
	if !strings.Contains(r.Stderr, "imported stdin: 3 new") {
		t.Errorf("stderr = %q", r.Stderr)
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
			m.Now = tt.now
			r := m.Run("visit", "log", "--rep", "Dana Reyes", "--building", "Elm Court", "--address", "12 Elm St", "--city", "Springfield",
				"--units", "24", "--contact", "Ana Ruiz", "--role", "manager", "--outcome", "follow-up", "--follow-up", tt.follow)
			var problems []string
			switch {
			case tt.wantOK && r.Code != 0:
				problems = append(problems, "visit log at "+tt.now.String()+" with --follow-up "+tt.follow+": "+r.Stderr)
			case !tt.wantOK && (r.Code != cli.ExitUsage || !strings.Contains(r.Stderr, "is before the visit")):
				problems = append(problems, "visit log at "+tt.now.String()+" with --follow-up "+tt.follow+
					" was accepted (exit "+strconv.Itoa(r.Code)+"); the follow-up is before the visit's local date")
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
			ids := logAll(t, m)
			r := m.RunTTY(tt.answer, "visit", "delete", ids[0][:8])
			if r.Code != tt.wantCode || !strings.Contains(r.Stderr, tt.wantStderr) {
				t.Errorf("exit %d, stderr %q; want %d and %q", r.Code, r.Stderr, tt.wantCode, tt.wantStderr)
			}
			if !strings.HasPrefix(r.Stderr, "Delete visit "+ids[0][:8]+" (Elm Court, 2026-11-20)? [y/N] ") {
				t.Errorf("stderr = %q, want the question first", r.Stderr)
			}
			var list []map[string]any
			m.JSON(&list, "visit", "list")
			if deleted := len(list) == 2; deleted != tt.wantDeleted {
				t.Errorf("deleted = %v, want %v", deleted, tt.wantDeleted)
			}
		})
	}
}

func TestTablesAtATerminal(t *testing.T) {
	t.Parallel()
	m := newMachine(t)
	ids := logAll(t, m)

	r := m.RunTTY("", "visit", "list")
	if r.Code != 0 {
		t.Fatalf("visit list at a terminal: exit %d, %s", r.Code, r.Stderr)
	}
	lines := strings.Split(strings.TrimRight(r.Stdout, "\n"), "\n")
	if len(lines) != 5 || strings.Contains(r.Stdout, "\t") {
		t.Fatalf("table =\n%s\nwant a header, a rule and 3 rows, aligned with spaces", r.Stdout)
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
			if !strings.Contains(r.Stdout, want) {
				t.Errorf("visit list at 100 columns cuts %q:\n%s", want, r.Stdout)
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
		r := m.RunTTY("", "visit", "stats")
		if r.Code != 0 || !strings.Contains(r.Stdout, "OUTCOME") {
			t.Fatalf("visit stats at a terminal: exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
		}
		for _, l := range strings.Split(r.Stdout, "\n") {
			if len([]rune(l)) < 100 && strings.Contains(l, "…") {
				t.Errorf("line %q is cut although it fits in 100 columns", l)
			}
		}
	})
}

func TestShowText(t *testing.T) {
	t.Parallel()
	m := newMachine(t)
	ids := logAll(t, m)
	r := m.MustRun("visit", "show", ids[0][:6])
	for _, want := range []string{
		"visit       " + ids[0] + "\n",
		"revision 1, recorded ",
		"when        2026-11-20 10:00 ",
		"address     12 Elm St, Springfield\n",
		"contact     Ana Ruiz (manager)\n",
		"objections  privacy, tenant-notice\n",
		"incentive   gift-card:100:USD\n",
	} {
		if !strings.Contains(r.Stdout, want) {
			t.Errorf("visit show =\n%s\nwant it to contain %q", r.Stdout, want)
		}
	}
	// Empty fields are left out.
	if strings.Contains(r.Stdout, "follow-up") || strings.Contains(r.Stdout, "phone") {
		t.Errorf("visit show prints empty fields:\n%s", r.Stdout)
	}
}
