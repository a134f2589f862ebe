package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/hub"
	"github.com/latchkey/latchkey/internal/hubapi"
)

// TestDumpCoversSchema checks Tables against the migrated database: every
// table and column, in the order the database has them, with the primary
// key. A migration that changes the schema fails here until Tables (and the
// PostgreSQL copy) follow.
func TestDumpCoversSchema(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openTest(t)
	db := s.st.DB()
	rows, err := db.QueryContext(ctx, `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`)
	if err != nil {
		t.Fatal(err)
	}
	var have []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		have = append(have, name)
	}
	rows.Close()
	var listed []string
	for _, tb := range Tables() {
		listed = append(listed, tb.Name)
	}
	if slices.Sort(listed); !slices.Equal(have, listed) {
		t.Fatalf("database tables %v, Tables lists %v", have, listed)
	}
	for _, tb := range Tables() {
		rows, err := db.QueryContext(ctx, `SELECT name, "notnull", pk FROM pragma_table_info(?) ORDER BY cid`, tb.Name)
		if err != nil {
			t.Fatal(err)
		}
		var cols, key []string
		pks := map[int]string{}
		nullable := map[string]bool{}
		for rows.Next() {
			var name string
			var notNull bool
			var pk int
			if err := rows.Scan(&name, &notNull, &pk); err != nil {
				t.Fatal(err)
			}
			cols = append(cols, name)
			nullable[name] = !notNull && pk == 0
			if pk > 0 {
				pks[pk] = name
			}
		}
		rows.Close()
		for i := 1; i <= len(pks); i++ {
			key = append(key, pks[i])
		}
		var listed []string
		for _, c := range tb.Columns {
			listed = append(listed, c.Name)
			if c.Nullable != nullable[c.Name] {
				t.Errorf("%s.%s: Nullable %v, database says %v", tb.Name, c.Name, c.Nullable, nullable[c.Name])
			}
		}
		if !slices.Equal(cols, listed) {
			t.Errorf("%s: database columns %v, Tables lists %v", tb.Name, cols, listed)
		}
		if !slices.Equal(key, tb.Key) {
			t.Errorf("%s: primary key %v, Tables says %v", tb.Name, key, tb.Key)
		}
	}
}

// dumped is a whole dump: rows by table, in Dump's order.
type dumped struct {
	order  []string
	counts map[string]int
	rows   map[string][][]any
}

func dump(t *testing.T, s *Store) dumped {
	t.Helper()
	d := dumped{counts: map[string]int{}, rows: map[string][][]any{}}
	var cur string
	err := s.Dump(context.Background(), func(tb Table, n int) error {
		cur = tb.Name
		d.order = append(d.order, cur)
		d.counts[cur] = n
		return nil
	}, func(values []any) error {
		d.rows[cur] = append(d.rows[cur], values)
		return nil
	})
	if err != nil {
		t.Fatalf("Dump: %v", err)
	}
	return d
}

func TestDump(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openTest(t)
	if _, err := enrollWith(t, s, "bob", hubapi.RoleSales, user("bob")); err != nil {
		t.Fatal(err)
	}
	if _, err := enrollWith(t, s, "alice", hubapi.RoleInstaller, user("alice")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RevokeUser(ctx, "bob", now.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	for i, doors := range [][]string{nil, {}, {"front"}} {
		if err := s.CreateJob(ctx, hub.Job{ID: fmt.Sprint("job-", i), Doors: doors, CreatedAt: now, ExpiresAt: now}); err != nil {
			t.Fatal(err)
		}
	}
	r := record("rec-2", "LK-1", now.In(time.FixedZone("CET", 3600)))
	r.JournalSeq = 7
	if _, err := s.Intake(ctx, intakeReq("k1", r, record("rec-1", "", now))); err != nil {
		t.Fatal(err)
	}
	if err := s.SetCourier(ctx, hub.CourierDecision{Serial: "LK-1", Enabled: true, At: now}); err != nil {
		t.Fatal(err)
	}

	d := dump(t, s)
	var want []string
	for _, tb := range Tables() {
		want = append(want, tb.Name)
	}
	if !slices.Equal(d.order, want) {
		t.Errorf("tables in order %v, want %v", d.order, want)
	}
	for _, name := range d.order {
		if d.counts[name] != len(d.rows[name]) {
			t.Errorf("%s: count %d, %d rows", name, d.counts[name], len(d.rows[name]))
		}
	}
	// users by id: bob revoked (a time), alice not (the zero time).
	users := d.rows["users"]
	if len(users) != 2 || users[0][0] != "id-alice" || users[1][0] != "id-bob" {
		t.Fatalf("users = %v, want alice then bob (by id)", users)
	}
	if rv := users[0][4].(time.Time); !rv.IsZero() {
		t.Errorf("alice's revoked_at = %v, want the zero time", rv)
	}
	if rv := users[1][4].(time.Time); !rv.Equal(now.Add(time.Minute)) || rv.Location() != time.UTC {
		t.Errorf("bob's revoked_at = %v, want %v in UTC", rv, now.Add(time.Minute))
	}
	jobs := d.rows["jobs"]
	if doors := jobs[0][3].([]string); doors != nil {
		t.Errorf("job-0 doors = %#v, want nil", doors)
	}
	if doors := jobs[1][3].([]string); doors == nil || len(doors) != 0 {
		t.Errorf("job-1 doors = %#v, want empty", doors)
	}
	if p := jobs[0][10].([]byte); p == nil || len(p) != 0 {
		t.Errorf("job-0 packet = %#v, want empty, not nil", p)
	}
	recs := d.rows["records"]
	if len(recs) != 2 || recs[0][0] != "rec-1" || recs[1][10] != int64(7) || !recs[1][7].(time.Time).Equal(r.CreatedAt) {
		t.Errorf("records = %v, want rec-1 then rec-2 (journal 7, created %v)", recs, r.CreatedAt)
	}
	if idem := d.rows["idempotency"]; len(idem) != 1 || idem[0][3].(string)[0] != '[' {
		t.Errorf("idempotency = %v, want k1 with its JSON results", idem)
	}
	if c := d.rows["courier_decisions"]; len(c) != 1 || c[0][0] != int64(1) || c[0][2] != true {
		t.Errorf("courier_decisions = %v, want id 1, enabled", c)
	}
}

func TestDumpStops(t *testing.T) {
	t.Parallel()
	s := openTest(t)
	if _, err := enrollWith(t, s, "alice", hubapi.RoleInstaller, user("alice")); err != nil {
		t.Fatal(err)
	}
	stop := errors.New("stop")
	err := s.Dump(context.Background(), func(Table, int) error { return nil }, func([]any) error { return stop })
	if !errors.Is(err, stop) {
		t.Errorf("Dump with a failing callback: %v, want its error", err)
	}
	// The store works on: Dump's transaction ended.
	if _, err := enrollWith(t, s, "bob", hubapi.RoleInstaller, user("bob")); err != nil {
		t.Errorf("Enroll after Dump: %v", err)
	}
}

func TestColumnTypeString(t *testing.T) {
	for c, want := range map[ColumnType]string{Text: "text", Time: "time", JSON: "json", ColumnType(99): "ColumnType(99)"} {
		if got := c.String(); got != want {
			t.Errorf("%d.String() = %q, want %q", int(c), got, want)
		}
	}
}
