// Package outbox owns the durable queue of signed records waiting for the
// back office, and the uploader that empties it. A domain package adds a
// record inside the same store transaction as the local change it describes
// (Add), so a change is never saved without its record, nor a record queued
// for a change that was rolled back. The record is signed (DSSE, Ed25519)
// when it is queued, so it can wait offline, even before the user enrolled.
//
// Rows are kept for good: a sent row remembers when it went, a rejected one
// the hub's code and reason, until someone looks (List, Get) and perhaps
// sends it again (Retry). Uploader sends queued rows in order, in batches,
// each with an Idempotency-Key stored before the request and reused on every
// retry, and marks a row only from the hub's answer.
package outbox

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/latchkey/latchkey/internal/journal"
	"github.com/latchkey/latchkey/internal/record"
	"github.com/latchkey/latchkey/internal/store"
)

// Errors callers branch on.
var (
	// ErrSign means the record could not be signed (no key could be
	// loaded or made); nothing was queued, and the caller's transaction
	// must not commit.
	ErrSign = errors.New("cannot sign record")
	// ErrDuplicate means a record with the same id is queued already.
	ErrDuplicate = errors.New("record id already in the outbox")
	// ErrTooLarge means the signed record is larger than the hub accepts.
	ErrTooLarge = errors.New("record too large to send")
	// ErrNotFound means no outbox entry matches a reference.
	ErrNotFound = errors.New("no such outbox entry")
	// ErrAmbiguous means a reference prefix matches more than one entry.
	ErrAmbiguous = errors.New("outbox reference matches more than one entry")
	// ErrNotRejected means Retry was asked to resend an entry that was not
	// rejected: it is still queued or was sent.
	ErrNotRejected = errors.New("outbox entry was not rejected")
	// ErrGaveUp means the uploader stopped after too many failed attempts
	// in a row (or the hub asked it to wait too long). Nothing was lost:
	// the rows are still queued for the next run.
	ErrGaveUp = errors.New("gave up sending for now")
)

// MinPrefix is the shortest record id prefix Get and Retry accept.
const MinPrefix = 4

// State is where an entry is in its life.
type State string

// Entry states.
const (
	Queued   State = "queued"   // waiting to be sent, or sent with no answer yet
	Sent     State = "sent"     // the hub stored it
	Rejected State = "rejected" // the hub refused it; kept, see RejectCode
)

// Valid reports whether s is one of the states.
func (s State) Valid() bool { return s == Queued || s == Sent || s == Rejected }

// Signer returns the private key records are signed with. It is called only
// when a record is added, so a command that writes none never loads a key.
type Signer func() (ed25519.PrivateKey, error)

// Journal is what the outbox needs of the journal (*journal.Journal): to
// append an entry inside the caller's transaction and learn the new head.
type Journal interface {
	Append(ctx context.Context, tx *sql.Tx, e journal.Entry) (journal.Head, error)
}

// Outbox is the queue in one store. Its methods are safe for concurrent use.
type Outbox struct {
	st      *store.Store
	signer  Signer
	journal Journal
	now     func() time.Time

	mu   sync.Mutex // guards rand, which need not be safe for concurrent use
	rand io.Reader
}

// New returns the outbox in st. Every record it queues is journaled in j
// (normally journal.New over the same store and signer). now and rand are
// injected so tests are deterministic; pass time.Now and
// crypto/rand.Reader in production.
func New(st *store.Store, signer Signer, now func() time.Time, rand io.Reader, j Journal) *Outbox {
	return &Outbox{st: st, signer: signer, journal: j, now: now, rand: rand}
}

// Entry is one queued record and what became of it. Its JSON form is stable
// for scripts; it carries the record's header, not the record: the signed
// envelope is read with Envelope.
type Entry struct {
	Seq            int64       `json:"seq"`
	ID             string      `json:"id"`
	Kind           record.Kind `json:"kind"`
	CreatedAt      time.Time   `json:"created_at"`
	ExpiresAt      time.Time   `json:"expires_at"`
	Job            string      `json:"job,omitempty"`
	Unit           string      `json:"unit,omitempty"`
	Digest         string      `json:"digest"` // hex SHA-256 of the payload (canonical JSON)
	IdempotencyKey string      `json:"idempotency_key"`
	QueuedAt       time.Time   `json:"queued_at"`
	State          State       `json:"state"`
	Attempts       int         `json:"attempts"`
	LastError      string      `json:"last_error,omitempty"`
	NextAttemptAt  *time.Time  `json:"next_attempt_at,omitempty"`
	SentAt         *time.Time  `json:"sent_at,omitempty"`
	RejectCode     string      `json:"reject_code,omitempty"`
	RejectReason   string      `json:"reject_reason,omitempty"`
	// BatchKey is the Idempotency-Key of the batch the entry was last put
	// in; empty until then.
	BatchKey string `json:"batch_key,omitempty"`

	envelope []byte
}

// Envelope returns the signed record as queued.
func (e Entry) Envelope() (record.Envelope, error) {
	env, err := record.Decode(e.envelope)
	if err != nil {
		return record.Envelope{}, fmt.Errorf("outbox entry %d: %w", e.Seq, err)
	}
	return env, nil
}

// EnvelopeJSON returns the signed record in its wire form, the exact bytes
// the uploader sends.
func (e Entry) EnvelopeJSON() []byte { return append([]byte(nil), e.envelope...) }

// timeLayout keeps sub-second precision so queued_at orders and round-trips.
const timeLayout = time.RFC3339Nano

func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(timeLayout)
}

// Add signs payload as a record of kind and queues it, inside tx, which is
// the caller's transaction holding the change the record describes: if tx
// rolls back, so does the queueing. payload must be a JSON object carrying
// record.Header's fields at its top level, without "journal": Add appends a
// "record.queued" entry to the journal in tx and stamps the journal head it
// makes into the header before signing, so every record the hub takes
// tells it how far the journal went. Errors wrap record.ErrHeader,
// record.ErrPayloadType, ErrSign, ErrDuplicate, ErrTooLarge or the
// journal's errors; on any error the caller must roll back, since the
// change would otherwise be saved without its record.
func (o *Outbox) Add(ctx context.Context, tx *sql.Tx, kind record.Kind, payload any) (Entry, error) {
	if !kind.Valid() {
		return Entry{}, fmt.Errorf("queue record: %w: kind %q", record.ErrPayloadType, kind)
	}
	body, err := record.Canonical(payload)
	if err != nil {
		return Entry{}, fmt.Errorf("queue %s record: %w", kind, err)
	}
	hdr, err := record.ParseHeader(body)
	if err != nil {
		return Entry{}, fmt.Errorf("queue %s record: %w", kind, err)
	}
	fail := func(err error) (Entry, error) {
		return Entry{}, fmt.Errorf("queue %s record %s: %w", kind, hdr.ID, err)
	}
	if hdr.Journal != nil {
		return fail(fmt.Errorf("%w: the payload sets journal, which the outbox stamps", record.ErrHeader))
	}
	if o.signer == nil {
		return fail(fmt.Errorf("%w: no signing key configured", ErrSign))
	}
	key, err := o.signer()
	if err != nil {
		return fail(fmt.Errorf("%w: %w", ErrSign, err))
	}
	if len(key) != ed25519.PrivateKeySize {
		return fail(fmt.Errorf("%w: private key of %d bytes", ErrSign, len(key)))
	}
	if err := checkUnique(ctx, tx, hdr.ID); err != nil {
		return fail(err)
	}
	if o.journal == nil {
		return fail(errors.New("no journal configured"))
	}
	head, err := o.journal.Append(ctx, tx, journal.Entry{
		Action: journal.ActionRecordQueued, Record: hdr.ID, Job: hdr.Job, Unit: hdr.Unit,
		Outcome: journal.OK, Detail: string(kind),
	})
	if err != nil {
		return fail(err)
	}
	if body, err = stampJournal(body, head.Ref()); err != nil {
		return fail(err)
	}
	if hdr, err = record.ParseHeader(body); err != nil {
		return fail(err)
	}
	pub := key.Public().(ed25519.PublicKey)
	// body is canonical already; RawMessage keeps Sign from encoding the
	// payload a second time through reflection.
	env, err := record.Sign(kind, json.RawMessage(body), key, record.KeyID(pub))
	if err != nil {
		return fail(fmt.Errorf("%w: %w", ErrSign, err))
	}
	e, err := o.insert(ctx, tx, kind, hdr, body, env)
	if err != nil {
		return fail(err)
	}
	return e, nil
}

// AddSigned queues env, a record signed already, inside tx, the caller's
// transaction holding the change the record describes. It is for records
// signed by more than one key, such as a consent the unit countersigned,
// which the outbox cannot sign (or stamp) itself: the caller appends a
// journal entry first and puts that head in the header's journal field
// before anyone signs, so AddSigned refuses a header without one. The
// envelope must name a record kind, carry canonical JSON with a good
// header, and hold a signature by this outbox's signer that verifies (the
// hub files a record under the user who sent it); other signatures are the
// caller's to check. A "record.queued" entry is journalled in tx, as Add
// does. Errors wrap record.ErrHeader, record.ErrPayloadType, the record
// package's verification errors, ErrSign, ErrDuplicate or ErrTooLarge; on
// any error the caller must roll back.
func (o *Outbox) AddSigned(ctx context.Context, tx *sql.Tx, env record.Envelope) (Entry, error) {
	kind, err := env.Kind()
	if err != nil {
		return Entry{}, fmt.Errorf("queue signed record: %w", err)
	}
	body, err := env.Body()
	if err != nil {
		return Entry{}, fmt.Errorf("queue signed %s record: %w", kind, err)
	}
	hdr, err := record.ParseHeader(body)
	if err != nil {
		return Entry{}, fmt.Errorf("queue signed %s record: %w", kind, err)
	}
	fail := func(err error) (Entry, error) {
		return Entry{}, fmt.Errorf("queue signed %s record %s: %w", kind, hdr.ID, err)
	}
	if hdr.Journal == nil {
		return fail(fmt.Errorf("%w: no journal reference: append a journal entry and put its head in the header before signing", record.ErrHeader))
	}
	if o.signer == nil {
		return fail(fmt.Errorf("%w: no signing key configured", ErrSign))
	}
	key, err := o.signer()
	if err != nil {
		return fail(fmt.Errorf("%w: %w", ErrSign, err))
	}
	if len(key) != ed25519.PrivateKeySize {
		return fail(fmt.Errorf("%w: private key of %d bytes", ErrSign, len(key)))
	}
	pub := key.Public().(ed25519.PublicKey)
	id := record.KeyID(pub)
	// record.Verify checks the payload is canonical and that every
	// signature by a known key verifies; the rest it skips.
	if _, err := record.Verify(env, map[string]ed25519.PublicKey{id: pub}); err != nil {
		return fail(fmt.Errorf("not signed by your key %s: %w", id, err))
	}
	if err := checkUnique(ctx, tx, hdr.ID); err != nil {
		return fail(err)
	}
	if o.journal == nil {
		return fail(errors.New("no journal configured"))
	}
	if _, err := o.journal.Append(ctx, tx, journal.Entry{
		Action: journal.ActionRecordQueued, Record: hdr.ID, Job: hdr.Job, Unit: hdr.Unit,
		Outcome: journal.OK, Detail: string(kind),
	}); err != nil {
		return fail(err)
	}
	e, err := o.insert(ctx, tx, kind, hdr, body, env)
	if err != nil {
		return fail(err)
	}
	return e, nil
}

// checkUnique refuses a record id already in the outbox.
func checkUnique(ctx context.Context, tx *sql.Tx, id string) error {
	var dup int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM outbox WHERE record_id = ?`, id).Scan(&dup); err != nil {
		return store.Classify(err)
	}
	if dup > 0 {
		return ErrDuplicate
	}
	return nil
}

// insert writes the row of env, whose payload is body with header hdr.
func (o *Outbox) insert(ctx context.Context, tx *sql.Tx, kind record.Kind, hdr record.Header, body []byte, env record.Envelope) (Entry, error) {
	wire, err := json.Marshal(env)
	if err != nil {
		return Entry{}, err
	}
	if len(wire) > record.MaxEnvelope {
		return Entry{}, fmt.Errorf("%w: %d bytes signed, the hub takes at most %d", ErrTooLarge, len(wire), record.MaxEnvelope)
	}
	sum := sha256.Sum256(body)
	idem, err := o.newKey()
	if err != nil {
		return Entry{}, err
	}
	e := Entry{
		ID: hdr.ID, Kind: kind, CreatedAt: hdr.CreatedAt, ExpiresAt: hdr.ExpiresAt, Job: hdr.Job, Unit: hdr.Unit,
		Digest: hex.EncodeToString(sum[:]), IdempotencyKey: idem, QueuedAt: o.now().UTC(), State: Queued,
		envelope: wire,
	}
	err = tx.QueryRowContext(ctx, `INSERT INTO outbox (record_id, kind, created_at, expires_at, job, unit,
envelope, digest, idempotency_key, queued_at, state)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING seq`,
		e.ID, string(e.Kind), formatTime(e.CreatedAt), formatTime(e.ExpiresAt), e.Job, e.Unit,
		e.envelope, e.Digest, e.IdempotencyKey, formatTime(e.QueuedAt), string(Queued)).Scan(&e.Seq)
	if err != nil {
		return Entry{}, store.Classify(err)
	}
	return e, nil
}

// stampJournal returns the canonical body with "journal" set to ref. The
// payload is any JSON object, so it goes through a map; json.Number keeps
// its numbers exactly as they were.
func stampJournal(body []byte, ref record.JournalRef) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("%w: %v", record.ErrHeader, err)
	}
	if _, ok := m["journal"]; ok {
		return nil, fmt.Errorf("%w: the payload sets journal, which the outbox stamps", record.ErrHeader)
	}
	m["journal"] = ref
	return record.Canonical(m)
}

// JournalHead returns the newest journal reference among the records the
// hub took (state sent), as this outbox remembers them: the last journal
// head the hub acknowledged that the laptop knows of without asking. ok is
// false when no sent record carries one.
func (o *Outbox) JournalHead(ctx context.Context) (ref record.JournalRef, ok bool, err error) {
	es, err := o.List(ctx, Filter{State: Sent})
	if err != nil {
		return record.JournalRef{}, false, fmt.Errorf("read acknowledged journal head: %w", err)
	}
	for _, e := range es {
		env, err := e.Envelope()
		if err != nil {
			return record.JournalRef{}, false, fmt.Errorf("read acknowledged journal head: %w", err)
		}
		h, err := env.Header()
		if err != nil {
			return record.JournalRef{}, false, fmt.Errorf("read acknowledged journal head: outbox entry %d: %w", e.Seq, err)
		}
		if h.Journal != nil && (!ok || h.Journal.Seq > ref.Seq) {
			ref, ok = *h.Journal, true
		}
	}
	return ref, ok, nil
}

// newKey returns a fresh idempotency key: 128 random bits in hex, well
// inside the 1–255 printable characters the hub takes.
func (o *Outbox) newKey() (string, error) {
	var b [16]byte
	o.mu.Lock()
	_, err := io.ReadFull(o.rand, b[:])
	o.mu.Unlock()
	if err != nil {
		return "", fmt.Errorf("make idempotency key: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

// Filter narrows List. Zero fields do not filter.
type Filter struct {
	State State
	// Unsent keeps only entries not yet sent (queued or rejected); it
	// cannot be combined with State.
	Unsent bool
	Kind   record.Kind
	Limit  int // 0 means no limit
}

const entryColumns = `seq, record_id, kind, created_at, expires_at, job, unit, envelope, digest, idempotency_key,
queued_at, state, attempts, last_error, next_attempt_at, sent_at, reject_code, reject_reason, batch_key`

// List returns the entries that match f, oldest first.
func (o *Outbox) List(ctx context.Context, f Filter) ([]Entry, error) {
	var where []string
	var args []any
	if f.State != "" {
		if !f.State.Valid() {
			return nil, fmt.Errorf("list outbox: unknown state %q (want queued, sent or rejected)", f.State)
		}
		where = append(where, "state = ?")
		args = append(args, string(f.State))
	}
	if f.Unsent {
		if f.State != "" {
			return nil, fmt.Errorf("list outbox: a state and unsent together")
		}
		where = append(where, "state <> 'sent'")
	}
	if f.Kind != "" {
		where = append(where, "kind = ?")
		args = append(args, string(f.Kind))
	}
	q := `SELECT ` + entryColumns + ` FROM outbox`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	q += ` ORDER BY seq`
	if f.Limit > 0 {
		q += ` LIMIT ?`
		args = append(args, f.Limit)
	}
	es, err := queryEntries(ctx, o.st.DB(), q, args...)
	if err != nil {
		return nil, fmt.Errorf("list outbox: %w", o.st.Check(err))
	}
	return es, nil
}

// Get returns one entry by reference: its seq number, its record id, or a
// prefix of at least MinPrefix characters of exactly one record id.
func (o *Outbox) Get(ctx context.Context, ref string) (Entry, error) {
	e, err := resolve(ctx, o.st.DB(), ref)
	if err != nil {
		return Entry{}, o.st.Check(err)
	}
	return e, nil
}

func resolve(ctx context.Context, q querier, ref string) (Entry, error) {
	ref = strings.TrimSpace(ref)
	if seq, err := strconv.ParseInt(ref, 10, 64); err == nil {
		es, err := queryEntries(ctx, q, `SELECT `+entryColumns+` FROM outbox WHERE seq = ?`, seq)
		if err != nil {
			return Entry{}, err
		}
		if len(es) == 1 {
			return es[0], nil
		}
	}
	es, err := queryEntries(ctx, q, `SELECT `+entryColumns+` FROM outbox WHERE record_id = ?`, ref)
	if err != nil {
		return Entry{}, err
	}
	if len(es) == 1 {
		return es[0], nil
	}
	if len(ref) < MinPrefix {
		return Entry{}, fmt.Errorf("%w: %q (give a seq number, or at least %d characters of the record id)", ErrNotFound, ref, MinPrefix)
	}
	es, err = queryEntries(ctx, q, `SELECT `+entryColumns+` FROM outbox WHERE record_id >= ? AND record_id < ? ORDER BY record_id LIMIT 2`,
		ref, ref+"\uffff")
	if err != nil {
		return Entry{}, err
	}
	switch len(es) {
	case 0:
		return Entry{}, fmt.Errorf("%w: %q", ErrNotFound, ref)
	case 1:
		return es[0], nil
	}
	return Entry{}, fmt.Errorf("%w: %q (type more of it)", ErrAmbiguous, ref)
}

// Retry queues rejected entries again, keeping their idempotency keys, so
// the next upload sends them (in a new batch). With no refs it retries every
// rejected entry. A ref that names an entry that was not rejected is
// ErrNotRejected, and then nothing is changed. It returns how many entries
// were queued again.
func (o *Outbox) Retry(ctx context.Context, refs ...string) (int, error) {
	n := 0
	err := o.st.Tx(ctx, func(tx *sql.Tx) error {
		const requeue = `UPDATE outbox SET state = 'queued', batch_key = '', next_attempt_at = '',
reject_code = '', reject_reason = '', last_error = '' WHERE `
		if len(refs) == 0 {
			res, err := tx.ExecContext(ctx, requeue+`state = 'rejected'`)
			if err != nil {
				return store.Classify(err)
			}
			m, err := res.RowsAffected()
			n = int(m)
			return err
		}
		seen := map[int64]bool{}
		for _, ref := range refs {
			e, err := resolve(ctx, tx, ref)
			if err != nil {
				return err
			}
			if seen[e.Seq] {
				continue // a ref given twice counts once
			}
			seen[e.Seq] = true
			if e.State != Rejected {
				return fmt.Errorf("%w: %s (%d) is %s", ErrNotRejected, e.ID, e.Seq, e.State)
			}
			res, err := tx.ExecContext(ctx, requeue+`seq = ? AND state = 'rejected'`, e.Seq)
			if err != nil {
				return store.Classify(err)
			}
			m, err := res.RowsAffected()
			if err != nil {
				return err
			}
			n += int(m)
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("retry outbox entries: %w", err)
	}
	return n, nil
}

// Counts is how many entries are in each state.
type Counts struct {
	Queued   int `json:"queued"`
	Sent     int `json:"sent"`
	Rejected int `json:"rejected"`
}

// Counts counts the entries by state.
func (o *Outbox) Counts(ctx context.Context) (Counts, error) {
	rows, err := o.st.DB().QueryContext(ctx, `SELECT state, count(*) FROM outbox GROUP BY state`)
	if err != nil {
		return Counts{}, fmt.Errorf("count outbox: %w", o.st.Check(err))
	}
	defer rows.Close()
	var c Counts
	for rows.Next() {
		var s string
		var n int
		if err := rows.Scan(&s, &n); err != nil {
			return Counts{}, fmt.Errorf("count outbox: %w", o.st.Check(err))
		}
		switch State(s) {
		case Queued:
			c.Queued = n
		case Sent:
			c.Sent = n
		case Rejected:
			c.Rejected = n
		}
	}
	if err := rows.Err(); err != nil {
		return Counts{}, fmt.Errorf("count outbox: %w", o.st.Check(err))
	}
	return c, nil
}

type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func queryEntries(ctx context.Context, q querier, query string, args ...any) ([]Entry, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, store.Classify(err)
	}
	defer rows.Close()
	var out []Entry
	for rows.Next() {
		e, err := scanEntry(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, store.Classify(err)
	}
	return out, nil
}

func scanEntry(rows *sql.Rows) (Entry, error) {
	var e Entry
	var kind, created, expires, queued, state, next, sent string
	err := rows.Scan(&e.Seq, &e.ID, &kind, &created, &expires, &e.Job, &e.Unit, &e.envelope, &e.Digest,
		&e.IdempotencyKey, &queued, &state, &e.Attempts, &e.LastError, &next, &sent,
		&e.RejectCode, &e.RejectReason, &e.BatchKey)
	if err != nil {
		return Entry{}, store.Classify(err)
	}
	e.Kind, e.State = record.Kind(kind), State(state)
	// A row that does not parse was changed outside latchkey: say which.
	bad := func(what string, err error) error {
		return fmt.Errorf("outbox entry %d: stored %s does not parse: %v: %w", e.Seq, what, err, store.ErrCorrupt)
	}
	if !e.State.Valid() {
		return Entry{}, bad("state", fmt.Errorf("%q", state))
	}
	for _, f := range []struct {
		name string
		s    string
		t    *time.Time
	}{{"created_at", created, &e.CreatedAt}, {"expires_at", expires, &e.ExpiresAt}, {"queued_at", queued, &e.QueuedAt}} {
		if *f.t, err = time.Parse(timeLayout, f.s); err != nil {
			return Entry{}, bad(f.name, err)
		}
	}
	for _, f := range []struct {
		name string
		s    string
		t    **time.Time
	}{{"next_attempt_at", next, &e.NextAttemptAt}, {"sent_at", sent, &e.SentAt}} {
		if f.s == "" {
			continue
		}
		t, err := time.Parse(timeLayout, f.s)
		if err != nil {
			return Entry{}, bad(f.name, err)
		}
		*f.t = &t
	}
	return e, nil
}
