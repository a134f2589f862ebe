package outbox_test

import (
	"context"
	"crypto/ed25519"
	"database/sql"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/hubapi"
	"github.com/latchkey/latchkey/internal/journal"
	"github.com/latchkey/latchkey/internal/outbox"
	"github.com/latchkey/latchkey/internal/record"
	"github.com/latchkey/latchkey/internal/store"
)

func TestAdd(t *testing.T) {
	t.Parallel()
	noKey := errors.New("no key in the keyring")
	tests := []struct {
		name    string
		signer  outbox.Signer
		kind    record.Kind
		payload any
		// pre queues these record ids first.
		pre     []string
		wantErr error // nil: Add must succeed
	}{
		{name: "valid", signer: goodSigner, kind: record.KindVisit, payload: payload("v-1.r1")},
		{name: "with job and unit", signer: goodSigner, kind: record.KindConsent,
			payload: func() any { p := payload("c-1"); p["job"], p["unit"] = "job-7", "LK-000123"; return p }()},
		{name: "no id", signer: goodSigner, kind: record.KindVisit,
			payload: func() any { p := payload("x"); delete(p, "id"); return p }(), wantErr: record.ErrHeader},
		{name: "expires before created", signer: goodSigner, kind: record.KindVisit,
			payload: func() any {
				p := payload("x")
				p["expires_at"] = testNow.Add(-48 * time.Hour).Format(time.RFC3339)
				return p
			}(), wantErr: record.ErrHeader},
		{name: "not an object", signer: goodSigner, kind: record.KindVisit, payload: []string{"a"}, wantErr: record.ErrHeader},
		{name: "unknown kind", signer: goodSigner, kind: "parcel", payload: payload("x"), wantErr: record.ErrPayloadType},
		{name: "signer fails", signer: func() (ed25519.PrivateKey, error) { return nil, noKey }, kind: record.KindVisit, payload: payload("x"), wantErr: noKey},
		{name: "no signer", kind: record.KindVisit, payload: payload("x"), wantErr: outbox.ErrSign},
		{name: "duplicate id", signer: goodSigner, kind: record.KindVisit, payload: payload("dup"), pre: []string{"dup"}, wantErr: outbox.ErrDuplicate},
		{name: "numbers kept exactly", signer: goodSigner, kind: record.KindVisit,
			payload: func() any {
				p := payload("n-1")
				p["units"], p["amount"], p["big"], p["nested"] = 24, 49.5, int64(1)<<53, map[string]any{"x": 1e21}
				return p
			}()},
		{name: "payload sets journal", signer: goodSigner, kind: record.KindVisit,
			payload: func() any {
				p := payload("j-1")
				p["journal"] = map[string]any{"seq": 9, "hash": strings.Repeat("a", 64)}
				return p
			}(), wantErr: record.ErrHeader},
		{name: "payload sets a malformed journal", signer: goodSigner, kind: record.KindVisit,
			payload: func() any { p := payload("j-2"); p["journal"] = "latest"; return p }(), wantErr: record.ErrHeader},
		{name: "too large", signer: goodSigner, kind: record.KindVisit,
			payload: func() any { p := payload("big"); p["note"] = strings.Repeat("x", record.MaxEnvelope); return p }(), wantErr: outbox.ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			st := openStore(t)
			ob := outbox.New(st, tt.signer, func() time.Time { return testNow }, newSeeded(t.Name()), newJournal(st))
			pre := outbox.New(st, goodSigner, func() time.Time { return testNow }, newSeeded("pre"+t.Name()), newJournal(st))
			for _, id := range tt.pre {
				if err := st.Tx(ctx, func(tx *sql.Tx) error { _, err := pre.Add(ctx, tx, record.KindVisit, payload(id)); return err }); err != nil {
					t.Fatal(err)
				}
			}
			var got outbox.Entry
			err := st.Tx(ctx, func(tx *sql.Tx) error {
				var err error
				got, err = ob.Add(ctx, tx, tt.kind, tt.payload)
				return err
			})
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Add = %v, want %v", err, tt.wantErr)
				}
				if errors.Is(tt.wantErr, noKey) && !errors.Is(err, outbox.ErrSign) {
					t.Errorf("signer failure %v does not wrap ErrSign", err)
				}
				if c := counts(t, ob); c.Queued != len(tt.pre) {
					t.Errorf("queued after a failed Add = %d, want %d", c.Queued, len(tt.pre))
				}
				if h, err := newJournal(st).Head(ctx); err != nil || h.Seq != int64(len(tt.pre)) {
					t.Errorf("journal head after a failed Add = %+v, %v; want seq %d (the entry rolled back)", h, err, len(tt.pre))
				}
				return
			}
			if err != nil {
				t.Fatalf("Add: %v", err)
			}
			checkEntry(t, st, got, tt.kind, tt.payload)
			stored, err := ob.Get(ctx, got.ID)
			if err != nil {
				t.Fatal(err)
			}
			checkEntry(t, st, stored, tt.kind, tt.payload)
			if stored.Seq != got.Seq || stored.IdempotencyKey != got.IdempotencyKey || string(stored.EnvelopeJSON()) != string(got.EnvelopeJSON()) {
				t.Errorf("stored entry %+v differs from returned %+v", stored, got)
			}
		})
	}
}

// checkEntry checks e is a queued, verifiable record of payload p, stamped
// with the head of the journal in st after its "record.queued" entry.
func checkEntry(t *testing.T, st *store.Store, e outbox.Entry, kind record.Kind, p any) {
	t.Helper()
	ctx := context.Background()
	es, err := newJournal(st).List(ctx, journal.Filter{Action: journal.ActionRecordQueued})
	if err != nil {
		t.Fatal(err)
	}
	var je *journal.Entry
	for i := range es {
		if es[i].Record == e.ID {
			je = &es[i]
		}
	}
	if je == nil {
		t.Fatalf("no record.queued journal entry for %s in %+v", e.ID, es)
	}
	if je.Detail != string(kind) || je.Outcome != journal.OK || je.Actor != record.KeyID(testKey.Public().(ed25519.PublicKey)) {
		t.Errorf("journal entry %+v", *je)
	}
	// The body is p with the journal reference added, canonical.
	var m map[string]any
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	m["journal"] = map[string]any{"seq": je.Seq, "hash": je.Hash}
	body, err := record.Canonical(m)
	if err != nil {
		t.Fatal(err)
	}
	h, err := record.ParseHeader(body)
	if err != nil {
		t.Fatal(err)
	}
	if h.Journal == nil || h.Journal.Seq != je.Seq || h.Journal.Hash != je.Hash {
		t.Errorf("header journal %+v, want entry %d %s", h.Journal, je.Seq, je.Hash)
	}
	if je.Job != h.Job || je.Unit != h.Unit {
		t.Errorf("journal entry job %q unit %q, header %q %q", je.Job, je.Unit, h.Job, h.Unit)
	}
	if e.ID != h.ID || e.Kind != kind || !e.CreatedAt.Equal(h.CreatedAt) || !e.ExpiresAt.Equal(h.ExpiresAt) ||
		e.Job != h.Job || e.Unit != h.Unit || e.State != outbox.Queued || !e.QueuedAt.Equal(testNow) || e.Seq == 0 {
		t.Errorf("entry %+v does not match header %+v", e, h)
	}
	if len(e.IdempotencyKey) != 32 || e.BatchKey != "" {
		t.Errorf("idempotency key %q, batch key %q", e.IdempotencyKey, e.BatchKey)
	}
	env, err := e.Envelope()
	if err != nil {
		t.Fatal(err)
	}
	pub := testKey.Public().(ed25519.PublicKey)
	if _, err := record.Verify(env, map[string]ed25519.PublicKey{record.KeyID(pub): pub}); err != nil {
		t.Errorf("queued envelope does not verify: %v", err)
	}
	if got, _ := env.Body(); string(got) != string(body) {
		t.Errorf("envelope body %s, want %s", got, body)
	}
	if e.Digest != digestOf(e.EnvelopeJSON()) {
		t.Errorf("digest %s, want SHA-256 of the body %s", e.Digest, digestOf(e.EnvelopeJSON()))
	}
	// The JSON form shows the header, never the envelope.
	ej, _ := json.Marshal(e)
	if strings.Contains(string(ej), env.Payload) {
		t.Errorf("entry JSON carries the envelope: %s", ej)
	}
}

// TestAddInCallersTransaction shows the outbox row commits and rolls back
// with the change it describes.
func TestAddInCallersTransaction(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := openStore(t)
	ob := newOutbox(t, st)
	if _, err := st.DB().Exec(`CREATE TABLE change (id TEXT PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("later step failed")
	for _, fail := range []bool{true, false} {
		err := st.Tx(ctx, func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, `INSERT INTO change VALUES ('a')`); err != nil {
				return err
			}
			if _, err := ob.Add(ctx, tx, record.KindVisit, payload("a")); err != nil {
				return err
			}
			if fail {
				return boom
			}
			return nil
		})
		var changes int
		if err := st.DB().QueryRow(`SELECT count(*) FROM change`).Scan(&changes); err != nil {
			t.Fatal(err)
		}
		c := counts(t, ob)
		want := 1
		if fail {
			want = 0
			if !errors.Is(err, boom) {
				t.Fatalf("Tx = %v", err)
			}
		} else if err != nil {
			t.Fatal(err)
		}
		if changes != want || c.Queued != want {
			t.Errorf("fail=%v: %d changes and %d queued, want %d of each", fail, changes, c.Queued, want)
		}
	}
}

func TestOutboxRowsImmutable(t *testing.T) {
	t.Parallel()
	st := openStore(t)
	ob := newOutbox(t, st)
	addN(t, st, ob, 0, 1)
	for _, q := range []string{
		`UPDATE outbox SET envelope = x'00'`,
		`UPDATE outbox SET idempotency_key = 'other'`,
		`DELETE FROM outbox`,
	} {
		if _, err := st.DB().Exec(q); err == nil {
			t.Errorf("%s succeeded", q)
		}
	}
}

func TestGet(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := openStore(t)
	ob := newOutbox(t, st)
	err := st.Tx(ctx, func(tx *sql.Tx) error {
		for _, id := range []string{"0b6d1f20.r1", "0b6d1f20.r2", "77aa00ff.r1", "42"} {
			if _, err := ob.Add(ctx, tx, record.KindVisit, payload(id)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		ref     string
		want    string
		wantErr error
	}{
		{ref: "1", want: "0b6d1f20.r1"},
		{ref: "3", want: "77aa00ff.r1"},
		{ref: " 2 ", want: "0b6d1f20.r2"},
		{ref: "0b6d1f20.r2", want: "0b6d1f20.r2"},
		{ref: "77aa", want: "77aa00ff.r1"},
		{ref: "42", want: "42"}, // no seq 42: the record id
		{ref: "0b6d", wantErr: outbox.ErrAmbiguous},
		{ref: "77a", wantErr: outbox.ErrNotFound},
		{ref: "ffff", wantErr: outbox.ErrNotFound},
		{ref: "99", wantErr: outbox.ErrNotFound},
	}
	for _, tt := range tests {
		e, err := ob.Get(ctx, tt.ref)
		if tt.wantErr != nil {
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("Get(%q) = %+v, %v; want %v", tt.ref, e.ID, err, tt.wantErr)
			}
			continue
		}
		if err != nil || e.ID != tt.want {
			t.Errorf("Get(%q) = %q, %v; want %q", tt.ref, e.ID, err, tt.want)
		}
	}
}

func TestListAndCounts(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := openStore(t)
	ob := newOutbox(t, st)
	addN(t, st, ob, 0, 5)
	err := st.Tx(ctx, func(tx *sql.Tx) error {
		_, err := ob.Add(ctx, tx, record.KindSurvey, payload("survey-1"))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	// Reject the second record, send the rest.
	sender := &testSender{answer: rejectIDs(map[string]string{recID(1): "expired"})}
	if _, err := uploader(t, ob, sender, &sleeper{}).Run(ctx, nil); err != nil {
		t.Fatal(err)
	}
	addN(t, st, ob, 5, 2)
	tests := []struct {
		f    outbox.Filter
		want []string
	}{
		{outbox.Filter{}, []string{recID(0), recID(1), recID(2), recID(3), recID(4), "survey-1", recID(5), recID(6)}},
		{outbox.Filter{State: outbox.Queued}, []string{recID(5), recID(6)}},
		{outbox.Filter{State: outbox.Rejected}, []string{recID(1)}},
		{outbox.Filter{Kind: record.KindSurvey}, []string{"survey-1"}},
		{outbox.Filter{State: outbox.Sent, Kind: record.KindVisit, Limit: 2}, []string{recID(0), recID(2)}},
	}
	for _, tt := range tests {
		es, err := ob.List(ctx, tt.f)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, e := range es {
			got = append(got, e.ID)
		}
		if strings.Join(got, " ") != strings.Join(tt.want, " ") {
			t.Errorf("List(%+v) = %v, want %v", tt.f, got, tt.want)
		}
	}
	if _, err := ob.List(ctx, outbox.Filter{State: "lost"}); err == nil {
		t.Error("List with an unknown state succeeded")
	}
	if c := counts(t, ob); c != (outbox.Counts{Queued: 2, Sent: 5, Rejected: 1}) {
		t.Errorf("Counts = %+v", c)
	}
}

func TestRetry(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tests := []struct {
		name      string
		refs      []string
		wantN     int
		wantErr   error
		requeued  []string
		stillRejd []string
	}{
		{name: "one by id", refs: []string{recID(1)}, wantN: 1, requeued: []string{recID(1)}, stillRejd: []string{recID(3)}},
		{name: "one by seq, twice", refs: []string{"4", "4"}, wantN: 1, requeued: []string{recID(3)}, stillRejd: []string{recID(1)}},
		{name: "all", wantN: 2, requeued: []string{recID(1), recID(3)}},
		{name: "a sent one", refs: []string{recID(1), recID(0)}, wantErr: outbox.ErrNotRejected, stillRejd: []string{recID(1), recID(3)}},
		{name: "unknown", refs: []string{"nope-nope"}, wantErr: outbox.ErrNotFound, stillRejd: []string{recID(1), recID(3)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			st := openStore(t)
			ob := newOutbox(t, st)
			addN(t, st, ob, 0, 4)
			sender := &testSender{answer: rejectIDs(map[string]string{recID(1): "unknown-signer", recID(3): "expired"})}
			if _, err := uploader(t, ob, sender, &sleeper{}).Run(ctx, nil); err != nil {
				t.Fatal(err)
			}
			before := map[string]outbox.Entry{}
			all, _ := ob.List(ctx, outbox.Filter{})
			for _, e := range all {
				before[e.ID] = e
			}
			n, err := ob.Retry(ctx, tt.refs...)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Retry = %d, %v; want %v", n, err, tt.wantErr)
				}
			} else if err != nil || n != tt.wantN {
				t.Fatalf("Retry = %d, %v; want %d", n, err, tt.wantN)
			}
			for _, id := range tt.requeued {
				e, err := ob.Get(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				if e.State != outbox.Queued || e.RejectCode != "" || e.BatchKey != "" || e.IdempotencyKey != before[id].IdempotencyKey {
					t.Errorf("%s after Retry: %+v (key before %s)", id, e, before[id].IdempotencyKey)
				}
			}
			for _, id := range tt.stillRejd {
				if e, _ := ob.Get(ctx, id); e.State != outbox.Rejected {
					t.Errorf("%s is %s, want still rejected", id, e.State)
				}
			}
			// A second run sends exactly the requeued ones, in a new batch.
			sender2 := &testSender{}
			sum, err := uploader(t, ob, sender2, &sleeper{}).Run(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			calls := sender2.Calls()
			var sent []string
			for _, c := range calls {
				sent = append(sent, c.ids...)
				if c.key == before[c.ids[0]].BatchKey {
					t.Errorf("requeued records sent under their old batch key %s", c.key)
				}
			}
			if strings.Join(sent, " ") != strings.Join(tt.requeued, " ") || sum.Sent != len(tt.requeued) {
				t.Errorf("second run sent %v (summary %+v), want %v", sent, sum, tt.requeued)
			}
		})
	}
}

// rejectIDs answers like storeAll but rejects the records named, with the
// given codes.
func rejectIDs(codes map[string]string) answerFunc {
	return func(_ int, c call) ([]hubapi.RecordResult, error) {
		res := storeAll(c)
		for i, id := range c.ids {
			if code, ok := codes[id]; ok {
				res[i] = hubapi.RecordResult{ID: id, Status: hubapi.StatusRejected, Code: code, Reason: "because " + code}
			}
		}
		return res, nil
	}
}

func TestCorruptRowIsReported(t *testing.T) {
	t.Parallel()
	st := openStore(t)
	ob := newOutbox(t, st)
	addN(t, st, ob, 0, 1)
	if _, err := st.DB().Exec(`UPDATE outbox SET created_at = 'yesterday'`); err != nil {
		t.Fatal(err)
	}
	_, err := ob.Get(context.Background(), recID(0))
	if !errors.Is(err, store.ErrCorrupt) || !strings.Contains(err.Error(), "created_at") {
		t.Errorf("Get of a damaged row = %v, want ErrCorrupt naming created_at", err)
	}
}
