package journal_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"database/sql"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/journal"
	"github.com/latchkey/latchkey/internal/record"
	"github.com/latchkey/latchkey/internal/store"
)

var (
	testKey  = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize))
	otherKey = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{9}, ed25519.SeedSize))
	testNow  = time.Date(2026, 11, 25, 15, 0, 0, 0, time.UTC)
)

func keysOf(ks ...ed25519.PrivateKey) map[string]ed25519.PublicKey {
	m := map[string]ed25519.PublicKey{}
	for _, k := range ks {
		pub := k.Public().(ed25519.PublicKey)
		m[record.KeyID(pub)] = pub
	}
	return m
}

// newJournal returns a journal in a new store, signed by key, whose clock
// moves on a millisecond at every reading.
func newJournal(t *testing.T, key ed25519.PrivateKey) (*journal.Journal, *store.Store) {
	t.Helper()
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "latchkey.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	now := testNow
	clock := func() time.Time { now = now.Add(time.Millisecond); return now }
	return journal.New(st, func() (ed25519.PrivateKey, error) { return key, nil }, clock), st
}

// sample is what fill appends, in order.
var sample = []journal.Entry{
	{Action: journal.ActionUnitPaired, Unit: "LK-00042", Job: "job-1", Detail: "label 7F3K"},
	{Action: journal.ActionUnitAttestationFailed, Unit: "LK-00099", Outcome: journal.Refused, Detail: "chain does not reach the root"},
	{Action: journal.ActionSlotBurned, Unit: "LK-00042", Job: "job-1", Detail: "slot 1 (lobby)"},
	{Action: journal.ActionRecordQueued, Record: "consent-1", Job: "job-1", Unit: "LK-00042", Detail: "consent"},
	{Action: journal.ActionUnitQuarantined, Unit: "LK-00099", Outcome: journal.Failed},
}

func fill(t *testing.T, j *journal.Journal) []journal.Head {
	t.Helper()
	var heads []journal.Head
	for _, e := range sample {
		h, err := j.Record(context.Background(), e)
		if err != nil {
			t.Fatalf("Record %s: %v", e.Action, err)
		}
		heads = append(heads, h)
	}
	return heads
}

func TestAppendListHead(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	j, _ := newJournal(t, testKey)
	h, err := j.Head(ctx)
	if err != nil || h != (journal.Head{Seq: 0, Hash: journal.Genesis}) {
		t.Fatalf("empty Head = %+v, %v; want seq 0 and Genesis", h, err)
	}
	heads := fill(t, j)
	for i, h := range heads {
		if h.Seq != int64(i+1) || len(h.Hash) != 64 {
			t.Errorf("head %d = %+v", i, h)
		}
	}
	h, err = j.Head(ctx)
	if err != nil || h != heads[len(heads)-1] {
		t.Errorf("Head = %+v, %v; want %+v", h, err, heads[len(heads)-1])
	}
	all, err := j.List(ctx, journal.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != len(sample) {
		t.Fatalf("List = %d entries, want %d", len(all), len(sample))
	}
	actor := record.KeyID(testKey.Public().(ed25519.PublicKey))
	prev := journal.Genesis
	for i, e := range all {
		want := sample[i]
		if want.Outcome == "" {
			want.Outcome = journal.OK
		}
		if e.Seq != int64(i+1) || e.Action != want.Action || e.Unit != want.Unit || e.Job != want.Job ||
			e.Record != want.Record || e.Outcome != want.Outcome || e.Detail != want.Detail {
			t.Errorf("entry %d = %+v, want %+v", i+1, e, want)
		}
		if e.Actor != actor || e.Prev != prev || e.Hash != heads[i].Hash || len(e.Sig) != ed25519.SignatureSize {
			t.Errorf("entry %d: actor %s prev %s hash %s sig %d bytes", i+1, e.Actor, e.Prev, e.Hash, len(e.Sig))
		}
		if !e.At.After(testNow) || e.At.Location() != time.UTC {
			t.Errorf("entry %d at %v", i+1, e.At)
		}
		prev = e.Hash
	}

	tests := []struct {
		name string
		f    journal.Filter
		want []int64
	}{
		{"unit", journal.Filter{Unit: "LK-00042"}, []int64{1, 3, 4}},
		{"job", journal.Filter{Job: "job-1"}, []int64{1, 3, 4}},
		{"action", journal.Filter{Action: journal.ActionSlotBurned}, []int64{3}},
		{"limit keeps the newest", journal.Filter{Limit: 2}, []int64{4, 5}},
		{"unit and limit", journal.Filter{Unit: "LK-00099", Limit: 1}, []int64{5}},
		{"nothing", journal.Filter{Unit: "LK-1"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			es, err := j.List(ctx, tt.f)
			if err != nil {
				t.Fatal(err)
			}
			var got []int64
			for _, e := range es {
				got = append(got, e.Seq)
			}
			if !equal(got, tt.want) {
				t.Errorf("List(%+v) = seqs %v, want %v", tt.f, got, tt.want)
			}
		})
	}

	rep, err := j.Verify(ctx, keysOf(testKey), &heads[4])
	if err != nil || !rep.OK() || rep.Entries != 5 || rep.Head != heads[4] {
		t.Errorf("Verify of an intact journal = %+v, %v", rep, err)
	}
}

func equal(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestAppendRefuses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		e      journal.Entry
		signer func() (ed25519.PrivateKey, error)
		want   error
	}{
		{"no action", journal.Entry{}, nil, journal.ErrEntry},
		{"undotted action", journal.Entry{Action: "paired"}, nil, journal.ErrEntry},
		{"capital action", journal.Entry{Action: "Unit.Paired"}, nil, journal.ErrEntry},
		{"unknown outcome", journal.Entry{Action: "unit.paired", Outcome: "maybe"}, nil, journal.ErrEntry},
		{"bad unit", journal.Entry{Action: "unit.paired", Unit: "LK 1"}, nil, journal.ErrEntry},
		{"bad job", journal.Entry{Action: "unit.paired", Job: "/etc"}, nil, journal.ErrEntry},
		{"bad record id", journal.Entry{Action: "record.queued", Record: "a b"}, nil, journal.ErrEntry},
		{"detail with escape", journal.Entry{Action: "unit.paired", Detail: "ok\x1b[2J"}, nil, journal.ErrEntry},
		{"detail with newline", journal.Entry{Action: "unit.paired", Detail: "a\nb"}, nil, journal.ErrEntry},
		{"long detail", journal.Entry{Action: "unit.paired", Detail: strings.Repeat("x", journal.MaxDetail+1)}, nil, journal.ErrEntry},
		{"no key", journal.Entry{Action: "unit.paired"}, func() (ed25519.PrivateKey, error) { return nil, errors.New("no keyring") }, journal.ErrSign},
		{"short key", journal.Entry{Action: "unit.paired"}, func() (ed25519.PrivateKey, error) { return testKey[:10], nil }, journal.ErrSign},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			j, st := newJournal(t, testKey)
			if tt.signer != nil {
				j = journal.New(st, tt.signer, time.Now)
			}
			if _, err := j.Record(ctx, tt.e); !errors.Is(err, tt.want) {
				t.Fatalf("Record(%+v) = %v, want %v", tt.e, err, tt.want)
			}
			if h, _ := j.Head(ctx); h.Seq != 0 {
				t.Errorf("head after a refused entry = %+v", h)
			}
		})
	}
}

// TestAppendRollsBack: an entry appended in a transaction that rolls back
// is gone, and the next one takes its seq.
func TestAppendRollsBack(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	j, st := newJournal(t, testKey)
	boom := errors.New("boom")
	err := st.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := j.Append(ctx, tx, journal.Entry{Action: "unit.paired"}); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatal(err)
	}
	h, err := j.Record(ctx, journal.Entry{Action: "unit.paired"})
	if err != nil || h.Seq != 1 {
		t.Fatalf("Record after rollback = %+v, %v; want seq 1", h, err)
	}
}

// TestTriggers: the store itself refuses to change or remove an entry, or to
// add one anywhere but at the end.
func TestTriggers(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	j, st := newJournal(t, testKey)
	fill(t, j)
	for _, q := range []string{
		`UPDATE journal SET detail = 'x' WHERE seq = 2`,
		`DELETE FROM journal WHERE seq = 5`,
		`INSERT OR REPLACE INTO journal SELECT * FROM journal WHERE seq = 3`,
		`INSERT INTO journal (seq, at, actor, action, outcome, prev, hash, sig)
		 SELECT 7, at, actor, action, outcome, hash, hex(randomblob(32)), sig FROM journal WHERE seq = 5`,
		`INSERT INTO journal (seq, at, actor, action, outcome, prev, hash, sig)
		 SELECT 6, at, actor, action, outcome, prev, hex(randomblob(32)), sig FROM journal WHERE seq = 5`,
	} {
		if _, err := st.DB().ExecContext(ctx, q); err == nil {
			t.Errorf("%s: no error", q)
		}
	}
	if rep, err := j.Verify(ctx, keysOf(testKey), nil); err != nil {
		t.Errorf("Verify after refused changes: %v %+v", err, rep.Problems)
	}
}

// dropTriggers does what an attacker holding the file can.
func dropTriggers(t *testing.T, st *store.Store) {
	t.Helper()
	for _, n := range []string{"journal_append_only", "journal_immutable_update", "journal_immutable_delete"} {
		if _, err := st.DB().Exec(`DROP TRIGGER ` + n); err != nil {
			t.Fatal(err)
		}
	}
}

func TestVerifyDetectsTampering(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// tamper changes the database; heads are the ones fill returned.
		tamper func(t *testing.T, db *sql.DB, heads []journal.Head)
		keys   map[string]ed25519.PublicKey
		// acked is the acknowledged head, by index into heads (-1: none).
		acked int
		// want are substrings of the problems, each with its seq.
		want []journal.Problem
	}{
		{
			name:   "edited detail",
			tamper: exec(`UPDATE journal SET detail = 'nothing happened' WHERE seq = 3`),
			acked:  -1,
			want:   []journal.Problem{{Seq: 3, What: "contents do not match its hash"}},
		},
		{
			name:   "edited outcome and hash recomputed elsewhere",
			tamper: exec(`UPDATE journal SET outcome = 'ok', hash = '` + strings.Repeat("ab", 32) + `' WHERE seq = 2`),
			acked:  -1,
			want: []journal.Problem{
				{Seq: 2, What: "contents do not match its hash"},
				{Seq: 2, What: "signature does not verify"},
				{Seq: 3, What: "prev does not match the hash of entry 2"},
			},
		},
		{
			name: "reordered entries",
			tamper: exec(`UPDATE journal SET seq = seq + 100 WHERE seq IN (2, 3)`,
				`UPDATE journal SET seq = 3 WHERE seq = 102`, `UPDATE journal SET seq = 2 WHERE seq = 103`),
			acked: -1,
			want: []journal.Problem{
				{Seq: 2, What: "prev does not match the hash of entry 1"},
				{Seq: 2, What: "contents do not match its hash"},
				{Seq: 3, What: "prev does not match the hash of entry 2"},
				{Seq: 3, What: "contents do not match its hash"},
				{Seq: 4, What: "prev does not match the hash of entry 3"},
			},
		},
		{
			name:   "deleted middle entry",
			tamper: exec(`DELETE FROM journal WHERE seq = 3`),
			acked:  -1,
			want: []journal.Problem{
				{Seq: 4, What: "follows entry 2: 1 entry is before it missing"},
				{Seq: 4, What: "prev does not match the hash of entry 2"},
			},
		},
		{
			name:   "deleted first entry",
			tamper: exec(`DELETE FROM journal WHERE seq = 1`),
			acked:  -1,
			want: []journal.Problem{
				{Seq: 2, What: "follows entry 0"},
				{Seq: 2, What: "entries before it were removed"},
			},
		},
		{
			name:   "deleted newest entries, caught by the acked head",
			tamper: exec(`DELETE FROM journal WHERE seq >= 4`),
			acked:  4,
			want:   []journal.Problem{{Seq: 5, What: "missing, though the back office acknowledged it (the journal ends at entry 3)"}},
		},
		{
			name:   "acknowledged entry's hash rewritten",
			tamper: exec(`UPDATE journal SET hash = '` + strings.Repeat("cd", 32) + `' WHERE seq = 5`),
			acked:  4,
			want: []journal.Problem{
				{Seq: 5, What: "contents do not match its hash"},
				{Seq: 5, What: "signature does not verify"},
				{Seq: 5, What: "differs from"},
			},
		},
		{
			name: "wrong signature",
			tamper: func(t *testing.T, db *sql.DB, heads []journal.Head) {
				sig := ed25519.Sign(otherKey, []byte("latchkey journal v1\x00"+heads[1].Hash))
				if _, err := db.Exec(`UPDATE journal SET sig = ? WHERE seq = 2`, sig); err != nil {
					t.Fatal(err)
				}
			},
			acked: -1,
			want:  []journal.Problem{{Seq: 2, What: "signature does not verify"}},
		},
		{
			name:   "signer not among the keys",
			tamper: func(*testing.T, *sql.DB, []journal.Head) {},
			keys:   keysOf(otherKey),
			acked:  -1,
			want: []journal.Problem{
				{Seq: 1, What: "which is not yours"}, {Seq: 2, What: "which is not yours"}, {Seq: 3, What: "which is not yours"},
				{Seq: 4, What: "which is not yours"}, {Seq: 5, What: "which is not yours"},
			},
		},
		{
			name:   "time text changed to the same instant",
			tamper: exec(`UPDATE journal SET at = replace(at, 'Z', '+00:00') WHERE seq = 1`),
			acked:  -1,
			want:   []journal.Problem{{Seq: 1, What: "contents do not match its hash"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			j, st := newJournal(t, testKey)
			heads := fill(t, j)
			// Before: intact, with the same acked head.
			var acked *journal.Head
			if tt.acked >= 0 {
				acked = &heads[tt.acked]
			}
			if _, err := j.Verify(ctx, keysOf(testKey), acked); err != nil {
				t.Fatalf("Verify before tampering: %v", err)
			}
			dropTriggers(t, st)
			tt.tamper(t, st.DB(), heads)
			keys := tt.keys
			if keys == nil {
				keys = keysOf(testKey)
			}
			rep, err := j.Verify(ctx, keys, acked)
			if !errors.Is(err, journal.ErrTampered) {
				t.Fatalf("Verify = %v, want ErrTampered; report %+v", err, rep)
			}
			if rep.OK() {
				t.Error("report says OK")
			}
			if len(rep.Problems) != len(tt.want) {
				t.Errorf("%d problems, want %d:\n%s", len(rep.Problems), len(tt.want), problems(rep))
			}
			for _, w := range tt.want {
				found := false
				for _, p := range rep.Problems {
					if p.Seq == w.Seq && strings.Contains(p.What, w.What) {
						found = true
					}
				}
				if !found {
					t.Errorf("no problem at %d with %q in:\n%s", w.Seq, w.What, problems(rep))
				}
			}
		})
	}
}

// TestVerifyWithoutAckMissesTruncation pins why the acked head exists: a
// journal cut short is a valid chain on its own.
func TestVerifyWithoutAckMissesTruncation(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	j, st := newJournal(t, testKey)
	fill(t, j)
	dropTriggers(t, st)
	exec(`DELETE FROM journal WHERE seq >= 4`)(t, st.DB(), nil)
	rep, err := j.Verify(ctx, keysOf(testKey), nil)
	if err != nil || rep.Entries != 3 || rep.Head.Seq != 3 {
		t.Errorf("Verify = %+v, %v; want 3 entries and no problem", rep, err)
	}
}

func exec(qs ...string) func(t *testing.T, db *sql.DB, heads []journal.Head) {
	return func(t *testing.T, db *sql.DB, _ []journal.Head) {
		t.Helper()
		for _, q := range qs {
			if _, err := db.Exec(q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
	}
}

func problems(r journal.Report) string {
	var b strings.Builder
	for _, p := range r.Problems {
		b.WriteString("  " + p.String() + "\n")
	}
	return b.String()
}

// TestVerifyRewrittenHistory: someone with the user's key can rebuild a
// valid chain with different entries; only the head the back office
// acknowledged tells.
func TestVerifyRewrittenHistory(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	orig, _ := newJournal(t, testKey)
	heads := fill(t, orig)
	forged, _ := newJournal(t, testKey)
	for i, e := range sample {
		if i == 2 {
			e.Detail = "nothing burned"
		}
		if _, err := forged.Record(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	if rep, err := forged.Verify(ctx, keysOf(testKey), nil); err != nil {
		t.Fatalf("forged chain without an acked head: %v %+v", err, rep.Problems)
	}
	rep, err := forged.Verify(ctx, keysOf(testKey), &heads[3])
	if !errors.Is(err, journal.ErrTampered) || len(rep.Problems) != 1 || rep.Problems[0].Seq != 4 ||
		!strings.Contains(rep.Problems[0].What, "differs from") {
		t.Errorf("Verify against the acked head = %v, %s", err, problems(rep))
	}
}
