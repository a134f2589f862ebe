package sales

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/incentive"
)

func TestLogReviseDeleteHistory(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newService(t)
	v, err := s.Log(ctx, validVisit())
	if err != nil {
		t.Fatal(err)
	}
	if v.Revision != 1 || v.ID == "" || !v.RecordedAt.Equal(testNow) {
		t.Fatalf("logged %+v", v)
	}
	got, err := s.Get(ctx, v.ID[:6])
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, v) {
		t.Fatalf("Get = %+v\nwant %+v", got, v)
	}

	edit := got
	edit.Outcome, edit.Notes = Signed, "Signed on the spot"
	v2, err := s.Revise(ctx, edit)
	if err != nil {
		t.Fatal(err)
	}
	if v2.Revision != 2 || v2.ID != v.ID {
		t.Fatalf("revision = %+v", v2)
	}
	// The edit was based on revision 1; a second edit from that base conflicts.
	stale := got
	stale.Notes = "someone else"
	if _, err := s.Revise(ctx, stale); !errors.Is(err, ErrConflict) {
		t.Fatalf("stale edit: %v, want ErrConflict", err)
	}
	// Saving the same content again writes nothing.
	if _, err := s.Revise(ctx, v2); !errors.Is(err, ErrNoChange) {
		t.Fatalf("no-op edit: %v, want ErrNoChange", err)
	}
	// An invalid edit is refused and writes nothing.
	bad := v2
	bad.Building.Units = -1
	if _, err := s.Revise(ctx, bad); !errors.Is(err, ErrInvalid) {
		t.Fatalf("invalid edit: %v", err)
	}

	tomb, err := s.Delete(ctx, v.ID)
	if err != nil {
		t.Fatal(err)
	}
	if tomb.Revision != 3 || !tomb.Deleted {
		t.Fatalf("tombstone %+v", tomb)
	}
	if _, err := s.Delete(ctx, v.ID); !errors.Is(err, ErrDeleted) {
		t.Fatalf("second delete: %v", err)
	}
	if _, err := s.Revise(ctx, tomb); !errors.Is(err, ErrDeleted) {
		t.Fatalf("edit after delete: %v", err)
	}
	hist, err := s.History(ctx, v.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != 3 || hist[0].Outcome != Interested || hist[1].Outcome != Signed || !hist[2].Deleted {
		t.Fatalf("history %+v", hist)
	}
	list, _, err := s.List(ctx, Filter{})
	if err != nil || len(list) != 0 {
		t.Fatalf("list after delete = %d visits, %v", len(list), err)
	}
	// The revisions are immutable in the database itself, not only here.
	if _, err := s.st.DB().ExecContext(ctx, `UPDATE visit_revisions SET notes = 'x'`); err == nil {
		t.Fatal("revision rows could be updated")
	}
}

func TestResolve(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newService(t)
	var ids []string
	for range 40 {
		v, err := s.Log(ctx, validVisit())
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, v.ID)
	}
	if _, err := s.Resolve(ctx, ids[0][:3]); !errors.Is(err, ErrNotFound) {
		t.Fatalf("3-char prefix: %v", err)
	}
	if got, err := s.Resolve(ctx, strings.ToUpper(ids[0])); err != nil || got != ids[0] {
		t.Fatalf("full id upper-case: %q %v", got, err)
	}
	if _, err := s.Resolve(ctx, "ffffffff-0000"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown: %v", err)
	}
	// With 40 random ids, some pair shares its first hex digit: that prefix
	// padded to four characters with the shared next ones is ambiguous only
	// if they share four; find a real shared prefix instead.
	seen := map[string]bool{}
	for _, id := range ids {
		if seen[id[:1]] {
			if _, err := s.Resolve(ctx, id[:1]+"   "); !errors.Is(err, ErrNotFound) {
				t.Fatalf("padded prefix accepted: %v", err)
			}
		}
		seen[id[:1]] = true
	}
}

func TestList(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newService(t)
	mk := func(name, rep string, o Outcome, ago time.Duration, follow string) Visit {
		v := validVisit()
		v.Building.Name, v.Rep, v.Outcome, v.VisitedAt, v.FollowUp = name, rep, o, testNow.Add(-ago), follow
		if o == NoAnswer {
			v.Contact = Contact{}
		}
		got, err := s.Log(ctx, v)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	mk("Ash", "dana", NoAnswer, 1*time.Hour, "")
	mk("Birch", "dana", FollowUp, 48*time.Hour, "2026-11-24")
	mk("Cedar 100%_off", "lee", Interested, 72*time.Hour, "2026-11-30")
	mk("Dogwood", "lee", Signed, 96*time.Hour, "2026-11-22")
	mk("Elm", "lee", FollowUp, 120*time.Hour, "2026-11-25")

	tests := []struct {
		name string
		f    Filter
		want []string
		more bool
	}{
		{"all newest first", Filter{}, []string{"Ash", "Birch", "Cedar 100%_off", "Dogwood", "Elm"}, false},
		{"outcome", Filter{Outcomes: []Outcome{FollowUp, Signed}}, []string{"Birch", "Dogwood", "Elm"}, false},
		{"rep", Filter{Rep: "dana"}, []string{"Ash", "Birch"}, false},
		{"since", Filter{Since: testNow.Add(-73 * time.Hour)}, []string{"Ash", "Birch", "Cedar 100%_off"}, false},
		{"until", Filter{Until: testNow.Add(-72 * time.Hour)}, []string{"Dogwood", "Elm"}, false},
		{"due soonest first, signed excluded", Filter{DueBy: "2026-11-25"}, []string{"Birch", "Elm"}, false},
		{"search case-insensitive", Filter{Search: "CEDAR"}, []string{"Cedar 100%_off"}, false},
		{"search wildcards are literal", Filter{Search: "%_"}, []string{"Cedar 100%_off"}, false},
		{"search no match", Filter{Search: "zzz"}, nil, false},
		{"search short term", Filter{Search: "e"}, []string{"Ash", "Birch", "Cedar 100%_off", "Dogwood", "Elm"}, false},
		{"search two chars", Filter{Search: "sh"}, []string{"Ash"}, false},
		{"search with quote", Filter{Search: `ar "1`}, nil, false},
		{"limit", Filter{Limit: 2}, []string{"Ash", "Birch"}, true},
		{"limit exact", Filter{Limit: 5}, []string{"Ash", "Birch", "Cedar 100%_off", "Dogwood", "Elm"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, more, err := s.List(ctx, tt.f)
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, v := range got {
				names = append(names, v.Building.Name)
			}
			if !reflect.DeepEqual(names, tt.want) || more != tt.more {
				t.Fatalf("got %v more=%v, want %v more=%v", names, more, tt.want, tt.more)
			}
		})
	}
}

func TestCSVRoundTripAndImport(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	src := newService(t)
	for i, o := range []Outcome{Interested, FollowUp, NoAnswer} {
		v := validVisit()
		v.Building.Name = fmt.Sprintf("Building %d, \"quoted\"", i)
		v.Outcome = o
		v.Notes = "multi\nline, with comma"
		v.Contact.Phone = "+1 555 010 2000"
		v.ObjectionNotes = "=HYPERLINK(\"http://x.example\")"
		if o == FollowUp {
			v.FollowUp = "2026-12-01"
		}
		if o == NoAnswer {
			v.Contact, v.Objections, v.Incentive = Contact{}, nil, incentive.None
		}
		if _, err := src.Log(ctx, v); err != nil {
			t.Fatal(err)
		}
	}
	want, _, err := src.List(ctx, Filter{})
	if err != nil {
		t.Fatal(err)
	}
	var csvBuf bytes.Buffer
	if err := WriteCSV(&csvBuf, want); err != nil {
		t.Fatal(err)
	}
	// A cell a spreadsheet would run as a formula is written as text.
	if !strings.Contains(csvBuf.String(), `"'=HYPERLINK(`) || !strings.Contains(csvBuf.String(), ",'+1 555 010 2000,") {
		t.Fatalf("formula cells not guarded:\n%s", csvBuf.String())
	}
	rows, err := ReadCSV(bytes.NewReader(csvBuf.Bytes()), "visits.csv")
	if err != nil {
		t.Fatal(err)
	}
	dst := newService(t)
	res, err := dst.Import(ctx, "visits.csv", rows, false)
	if err != nil {
		t.Fatal(err)
	}
	if res != (ImportResult{Added: 3}) {
		t.Fatalf("first import %+v", res)
	}
	got, _, err := dst.List(ctx, Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("after import:\n%+v\nwant\n%+v", got, want)
	}
	rows, _ = ReadCSV(bytes.NewReader(csvBuf.Bytes()), "visits.csv")
	res, err = dst.Import(ctx, "visits.csv", rows, false)
	if err != nil || res != (ImportResult{Unchanged: 3}) {
		t.Fatalf("second import %+v %v", res, err)
	}

	// JSON round trip too.
	var jsonBuf bytes.Buffer
	if err := WriteJSON(&jsonBuf, want); err != nil {
		t.Fatal(err)
	}
	jrows, err := ReadJSON(&jsonBuf, "visits.json")
	if err != nil {
		t.Fatal(err)
	}
	res, err = dst.Import(ctx, "visits.json", jrows, false)
	if err != nil || res != (ImportResult{Unchanged: 3}) {
		t.Fatalf("json import %+v %v", res, err)
	}
}

func TestImportRejectsAllOrNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	header := strings.Join(CSVHeader(), ",")
	good := ",,,2026-11-20T10:00:00Z,dana,Ash,1 Ash St,Springfield,10,,,,,no-answer,,,none,,"
	tests := []struct {
		name  string
		csv   string
		lines []int
		want  string
	}{
		{"bad units", header + "\n" + good + "\n" + strings.Replace(good, ",10,", ",lots,", 1), []int{3}, "building_units"},
		{"bad outcome and bad incentive", header + "\n" + strings.Replace(good, "no-answer", "meh", 1) + "\n" + strings.Replace(good, "none", "cash:abc:USD", 1), []int{2, 3}, "outcome"},
		{"missing column", "rep,building_name\ndana,Ash", []int{1}, "missing column"},
		{"unknown column", header + ",extra\n" + good + ",x", []int{1}, "unknown column"},
		{"wrong field count", header + "\n" + good + ",x", []int{2}, "fields"},
		{"bad id", header + "\nnot-a-uuid" + good, []int{2}, "not a visit id"},
		{"empty file", "", []int{1}, "empty"},
		{"duplicate rows", header + "\n" + good + "\n" + good, []int{3}, "same visit"},
		{"future visit", header + "\n" + strings.Replace(good, "2026-11-20", "2027-11-20", 1), []int{2}, "future"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newService(t)
			rows, err := ReadCSV(strings.NewReader(tt.csv), "in.csv")
			if err == nil {
				_, err = s.Import(ctx, "in.csv", rows, false)
			}
			var ie *ImportError
			if !errors.As(err, &ie) || !errors.Is(err, ErrImportRejected) {
				t.Fatalf("error %v, want ImportError", err)
			}
			var lines []int
			for _, r := range ie.Rows {
				lines = append(lines, r.Line)
			}
			if !reflect.DeepEqual(lines, tt.lines) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("rows %+v, want lines %v mentioning %q", ie.Rows, tt.lines, tt.want)
			}
			if vs, _, _ := s.List(ctx, Filter{}); len(vs) != 0 {
				t.Fatalf("%d visits imported despite errors", len(vs))
			}
		})
	}
}

func TestImportConflictAndHistory(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newService(t)
	v, err := s.Log(ctx, validVisit())
	if err != nil {
		t.Fatal(err)
	}
	// Same id and revision, different content: refused, nothing written.
	changed := v
	changed.Notes = "tampered"
	other := validVisit()
	other.Building.Name = "Other"
	_, err = s.Import(ctx, "x", []ImportRow{{Line: 2, Visit: other}, {Line: 3, Visit: changed}}, false)
	var ie *ImportError
	if !errors.As(err, &ie) || len(ie.Rows) != 1 || ie.Rows[0].Line != 3 {
		t.Fatalf("conflict: %v", err)
	}
	if vs, _, _ := s.List(ctx, Filter{}); len(vs) != 1 {
		t.Fatalf("%d visits after refused import, want 1", len(vs))
	}
	// A newer revision moves the head; an older one stays history.
	newer := v
	newer.Revision, newer.Outcome = 3, Signed
	res, err := s.Import(ctx, "x", []ImportRow{{Line: 2, Visit: newer}}, false)
	if err != nil || res.Updated != 1 {
		t.Fatalf("newer: %+v %v", res, err)
	}
	older := v
	older.Revision, older.Notes = 2, "in between"
	res, err = s.Import(ctx, "x", []ImportRow{{Line: 2, Visit: older}}, false)
	if err != nil || res.Older != 1 {
		t.Fatalf("older: %+v %v", res, err)
	}
	head, _ := s.Get(ctx, v.ID)
	if head.Revision != 3 || head.Outcome != Signed {
		t.Fatalf("head %+v", head)
	}
	// Dry run checks and writes nothing.
	fresh := validVisit()
	fresh.Building.Name = "Dry"
	res, err = s.Import(ctx, "x", []ImportRow{{Line: 2, Visit: fresh}}, true)
	if err != nil || res.Added != 1 {
		t.Fatalf("dry run %+v %v", res, err)
	}
	if vs, _, _ := s.List(ctx, Filter{Search: "dry"}); len(vs) != 0 {
		t.Fatal("dry run wrote a visit")
	}
}

func TestImportDerivedIDsAreStable(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newService(t)
	csv := "rep,building_name,building_address,building_city,building_units,contact_name,contact_role,contact_phone,contact_email,outcome,objections,objection_notes,incentive,follow_up,notes,visited_at\n" +
		"dana,Ash,1 Ash St,Springfield,10,Ana,owner,,,interested,privacy;cost,,gift-card:50:USD,,,2026-11-20T10:00:00Z\n"
	for i, want := range []ImportResult{{Added: 1}, {Unchanged: 1}} {
		rows, err := ReadCSV(strings.NewReader(csv), "in.csv")
		if err != nil {
			t.Fatal(err)
		}
		res, err := s.Import(ctx, "in.csv", rows, false)
		if err != nil || res != want {
			t.Fatalf("import %d: %+v %v, want %+v", i+1, res, err, want)
		}
	}
	vs, _, _ := s.List(ctx, Filter{})
	if len(vs) != 1 || !reflect.DeepEqual(vs[0].Objections, []Objection{Privacy, Cost}) {
		t.Fatalf("visits %+v", vs)
	}
}

func TestStats(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newService(t)
	add := func(rep string, o Outcome, obj []Objection, offer string, follow string) {
		v := validVisit()
		v.Rep, v.Outcome, v.Objections, v.FollowUp = rep, o, obj, follow
		v.Incentive, _ = incentive.Parse(offer)
		if _, err := s.Log(ctx, v); err != nil {
			t.Fatal(err)
		}
	}
	add("dana", Interested, []Objection{Privacy}, "gift-card:100:USD", "2026-11-25")
	add("dana", Signed, []Objection{Privacy, Cost}, "gift-card:50.50:USD", "2026-11-25")
	add("lee", FollowUp, []Objection{Cost, Privacy}, "cash:20:EUR", "2026-11-26")
	add("lee", NotInterested, nil, "none", "2026-11-25")
	st, err := s.Stats(ctx, Filter{}, testNow)
	if err != nil {
		t.Fatal(err)
	}
	o := st.Overall
	if o.Visits != 4 || o.Buildings != 1 || o.FollowUpsDue != 1 {
		t.Fatalf("overall %+v", o)
	}
	counts := map[Outcome]int{}
	for _, c := range o.Funnel {
		counts[c.Outcome] = c.Count
	}
	if counts[Interested] != 1 || counts[Signed] != 1 || counts[FollowUp] != 1 || counts[NotInterested] != 1 || o.Funnel[4].Percent != 25 {
		t.Fatalf("funnel %+v", o.Funnel)
	}
	if o.Objections[0] != (ObjectionCount{Privacy, 3}) || o.Objections[1] != (ObjectionCount{Cost, 2}) {
		t.Fatalf("objections %+v", o.Objections)
	}
	if len(o.Incentives) != 2 || o.Incentives[1].Total != "150.50" || o.Incentives[1].Offers != 2 || o.Incentives[0].Total != "20.00" {
		t.Fatalf("incentives %+v", o.Incentives)
	}
	if len(st.Reps) != 2 || st.Reps[0].Rep != "dana" || st.Reps[0].Visits != 2 || st.Reps[1].FollowUpsDue != 0 {
		t.Fatalf("reps %+v", st.Reps)
	}
}
