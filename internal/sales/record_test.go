package sales

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/outbox"
	"github.com/latchkey/latchkey/internal/record"
)

// TestChangesAreQueued checks every write queues the revision's record in
// the same transaction: one outbox entry per revision, in order, carrying
// the whole revision under its header.
func TestChangesAreQueued(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, ob := newServiceWith(t, func() (ed25519.PrivateKey, error) { return testKey, nil })
	v, err := s.Log(ctx, validVisit())
	if err != nil {
		t.Fatal(err)
	}
	edit := v
	edit.Outcome = Signed
	v2, err := s.Revise(ctx, edit)
	if err != nil {
		t.Fatal(err)
	}
	tomb, err := s.Delete(ctx, v.ID)
	if err != nil {
		t.Fatal(err)
	}
	// Refused writes queue nothing.
	if _, err := s.Revise(ctx, v2); !errors.Is(err, ErrDeleted) {
		t.Fatalf("edit after delete: %v", err)
	}

	es, err := ob.List(ctx, outbox.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	revs := []Visit{v, v2, tomb}
	if len(es) != len(revs) {
		t.Fatalf("%d outbox entries, want %d", len(es), len(revs))
	}
	pub := testKey.Public().(ed25519.PublicKey)
	for i, want := range revs {
		e := es[i]
		if e.ID != RecordID(want.ID, want.Revision) || e.Kind != record.KindVisit || e.State != outbox.Queued ||
			!e.CreatedAt.Equal(want.RecordedAt) || !e.ExpiresAt.Equal(want.RecordedAt.Add(RecordLifetime)) {
			t.Errorf("entry %d: %+v, want the record of revision %d", i, e, want.Revision)
		}
		env, err := e.Envelope()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := record.Verify(env, map[string]ed25519.PublicKey{record.KeyID(pub): pub}); err != nil {
			t.Errorf("entry %d does not verify: %v", i, err)
		}
		body, _ := env.Body()
		var got map[string]any
		if err := json.Unmarshal(body, &got); err != nil {
			t.Fatal(err)
		}
		for field, w := range map[string]any{
			"id": fmt.Sprintf("%s.r%d", want.ID, want.Revision), "visit_id": want.ID, "revision": float64(want.Revision),
			"deleted": want.Deleted, "outcome": string(want.Outcome), "rep": want.Rep, "notes": want.Notes,
			"recorded_at": want.RecordedAt.Format(time.RFC3339), "visited_at": want.VisitedAt.UTC().Format(time.RFC3339),
			"incentive": want.Incentive.String(),
		} {
			if got[field] != w {
				t.Errorf("entry %d: %s = %v, want %v", i, field, got[field], w)
			}
		}
		if b, ok := got["building"].(map[string]any); !ok || b["name"] != want.Building.Name {
			t.Errorf("entry %d: building %v", i, got["building"])
		}
		if objs, ok := got["objections"].([]any); !ok || len(objs) != len(want.Objections) {
			t.Errorf("entry %d: objections %v", i, got["objections"])
		}
	}
}

// TestNoKeyNoChange shows that a change whose record cannot be signed is not
// saved, and says so.
func TestNoKeyNoChange(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	noKey := errors.New("keyring locked")
	var fail bool
	s, ob := newServiceWith(t, func() (ed25519.PrivateKey, error) {
		if fail {
			return nil, noKey
		}
		return testKey, nil
	})
	v, err := s.Log(ctx, validVisit())
	if err != nil {
		t.Fatal(err)
	}
	fail = true
	edit := v
	edit.Notes = "changed"
	other := validVisit()
	other.Building.Name = "Birch Hall"
	tests := []struct {
		name string
		do   func() error
	}{
		{"log", func() error { _, err := s.Log(ctx, other); return err }},
		{"edit", func() error { _, err := s.Revise(ctx, edit); return err }},
		{"delete", func() error { _, err := s.Delete(ctx, v.ID); return err }},
		{"import", func() error {
			_, err := s.Import(ctx, "in.csv", []ImportRow{{Line: 2, Visit: other}}, false)
			return err
		}},
	}
	for _, tt := range tests {
		err := tt.do()
		if !errors.Is(err, noKey) || !errors.Is(err, outbox.ErrSign) || !strings.Contains(err.Error(), "nothing was saved") {
			t.Errorf("%s without a key: %v, want an error saying nothing was saved", tt.name, err)
		}
	}
	vs, _, err := s.List(ctx, Filter{})
	if err != nil {
		t.Fatal(err)
	}
	hist, err := s.History(ctx, v.ID)
	if err != nil {
		t.Fatal(err)
	}
	c, err := ob.Counts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) != 1 || len(hist) != 1 || vs[0].Notes != v.Notes || c.Queued != 1 {
		t.Errorf("after failed writes: %d visits, %d revisions, %d queued; want the first visit and its record only", len(vs), len(hist), c.Queued)
	}
}

func TestImportQueuesRecords(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, ob := newServiceWith(t, func() (ed25519.PrivateKey, error) { return testKey, nil })
	a, b := validVisit(), validVisit()
	a.ID, b.ID = "0b6d1f20-0000-4000-8000-000000000001", "0b6d1f20-0000-4000-8000-000000000002"
	b.Building.Name = "Birch Hall"
	rows := []ImportRow{{Line: 2, Visit: a}, {Line: 3, Visit: b}}
	if _, err := s.Import(ctx, "in.csv", rows, true); err != nil {
		t.Fatal(err)
	}
	if c, _ := ob.Counts(ctx); c.Queued != 0 {
		t.Errorf("dry run queued %d records", c.Queued)
	}
	if _, err := s.Import(ctx, "in.csv", rows, false); err != nil {
		t.Fatal(err)
	}
	// The same file again changes nothing and queues nothing.
	if _, err := s.Import(ctx, "in.csv", rows, false); err != nil {
		t.Fatal(err)
	}
	es, err := ob.List(ctx, outbox.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != 2 || es[0].ID != RecordID(a.ID, 1) || es[1].ID != RecordID(b.ID, 1) {
		t.Errorf("outbox after import: %+v", es)
	}
}

func TestWriteWithoutRecorder(t *testing.T) {
	t.Parallel()
	s := newService(t)
	ro := NewService(s.st, nil, s.now, s.rand)
	if _, err := ro.Log(context.Background(), validVisit()); !errors.Is(err, ErrNoRecorder) {
		t.Errorf("Log without an outbox: %v, want ErrNoRecorder", err)
	}
}
