// Package journal owns the laptop's audit log: an append-only, hash-chained
// list of every action on a unit or a record (who, what, which unit, job or
// record, when, and how it ended), each entry signed with the user's Ed25519
// key. Domain code appends an entry in the same store transaction as the
// change it describes (Append), or on its own when there is nothing else to
// save (Record). Every record the outbox queues carries the journal head, so
// the back office's newest acknowledged head lets Verify catch the deletion
// of the newest entries too, not only an edit, a reordering or a gap.
//
// Entry format (docs/records.md, journal):
//
//	hash = hex(SHA-256(JCS({"action","actor","at","detail","job","outcome","prev","record","seq","unit"})))
//	sig  = Ed25519(actor's key, "latchkey journal v1" || 0x00 || the 32 hash bytes)
//
// where every member is present (empty strings when unset), seq is a JSON
// number, at the exact RFC 3339 text stored, and prev the hash of the entry
// before (Genesis for the first).
package journal

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/latchkey/latchkey/internal/record"
	"github.com/latchkey/latchkey/internal/store"
)

// Errors callers branch on.
var (
	// ErrTampered means Verify found the journal altered: an entry edited,
	// reordered, removed or re-signed, or one the hub acknowledged missing.
	// The Report says which entries and how.
	ErrTampered = errors.New("journal was tampered with")
	// ErrEntry is an entry Append refuses: an unknown outcome, a malformed
	// action, unit, job, record id or detail.
	ErrEntry = errors.New("bad journal entry")
	// ErrSign means the entry could not be signed (no key could be loaded);
	// nothing was appended and the caller's transaction must not commit.
	ErrSign = errors.New("cannot sign journal entry")
)

// Genesis is the prev of the first entry, and the hash of an empty journal's
// head.
const Genesis = "0000000000000000000000000000000000000000000000000000000000000000"

// sigDomain separates journal signatures from every other signature made
// with the same key (DSSE records sign a PAE that starts "DSSEv1 ").
const sigDomain = "latchkey journal v1\x00"

// MaxDetail bounds an entry's detail text, in bytes.
const MaxDetail = 500

// Outcome is how an action ended.
type Outcome string

// Outcomes.
const (
	OK      Outcome = "ok"
	Refused Outcome = "refused" // the tool or the unit declined, by rule
	Failed  Outcome = "failed"  // it was tried and went wrong
)

// Valid reports whether o is one of the outcomes.
func (o Outcome) Valid() bool { return o == OK || o == Refused || o == Failed }

// Actions the product records. Any dotted lower-case verb is taken; these
// are the ones other packages share.
const (
	ActionRecordQueued          = "record.queued"
	ActionUnitPaired            = "unit.paired"
	ActionUnitAttestationFailed = "unit.attestation_failed"
	ActionSlotBurned            = "slot.burned"
	ActionUnitQuarantined       = "unit.quarantined"
	ActionUnitDecommissioned    = "unit.decommissioned"
)

// Entry is one journal entry. Callers of Append set Action, Outcome (empty
// means OK) and whichever of Unit, Job, Record and Detail apply; Append
// sets the rest and ignores what was there. Its JSON form is stable for
// scripts (`latchkey journal list --json`).
type Entry struct {
	Seq     int64     `json:"seq"`
	At      time.Time `json:"at"`
	Actor   string    `json:"actor"` // record.KeyID of the signer's key
	Action  string    `json:"action"`
	Unit    string    `json:"unit,omitempty"`
	Job     string    `json:"job,omitempty"`
	Record  string    `json:"record,omitempty"` // a record id
	Outcome Outcome   `json:"outcome"`
	Detail  string    `json:"detail,omitempty"`
	Prev    string    `json:"prev"`
	Hash    string    `json:"hash"`
	Sig     []byte    `json:"sig"` // standard base64 in JSON
}

// Head names the newest entry: its seq and hash. An empty journal's head is
// seq 0 with hash Genesis.
type Head struct {
	Seq  int64  `json:"seq"`
	Hash string `json:"hash"`
}

// Ref returns h as a record header's journal reference.
func (h Head) Ref() record.JournalRef { return record.JournalRef{Seq: h.Seq, Hash: h.Hash} }

// Signer returns the private key entries are signed with. It is called only
// when an entry is appended.
type Signer func() (ed25519.PrivateKey, error)

// Journal is the journal in one store. Its methods are safe for concurrent
// use; appends are ordered by the store's write lock.
type Journal struct {
	st     *store.Store
	signer Signer
	now    func() time.Time
}

// New returns the journal in st. Entries are signed by signer's key and
// timed by now (time.Now in production).
func New(st *store.Store, signer func() (ed25519.PrivateKey, error), now func() time.Time) *Journal {
	return &Journal{st: st, signer: signer, now: now}
}

var (
	// actionPattern is a dotted verb: "record.queued", "unit.attestation_failed".
	actionPattern = regexp.MustCompile(`^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$`)
	// refPattern is what record.Header takes for ids, jobs and serials.
	refPattern  = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$`)
	hashPattern = regexp.MustCompile(`^[0-9a-f]{64}$`)
)

// check refuses an entry Append must not write.
func check(e Entry) error {
	switch {
	case len(e.Action) > 64 || !actionPattern.MatchString(e.Action):
		return fmt.Errorf("%w: action %q (want a dotted lower-case verb such as unit.paired)", ErrEntry, e.Action)
	case !e.Outcome.Valid():
		return fmt.Errorf("%w: outcome %q (want ok, refused or failed)", ErrEntry, e.Outcome)
	case e.Unit != "" && !refPattern.MatchString(e.Unit):
		return fmt.Errorf("%w: unit %q", ErrEntry, e.Unit)
	case e.Job != "" && !refPattern.MatchString(e.Job):
		return fmt.Errorf("%w: job %q", ErrEntry, e.Job)
	case e.Record != "" && !refPattern.MatchString(e.Record):
		return fmt.Errorf("%w: record id %q", ErrEntry, e.Record)
	case len(e.Detail) > MaxDetail:
		return fmt.Errorf("%w: detail of %d bytes, at most %d", ErrEntry, len(e.Detail), MaxDetail)
	case !utf8.ValidString(e.Detail):
		return fmt.Errorf("%w: detail is not UTF-8", ErrEntry)
	case strings.ContainsFunc(e.Detail, unicode.IsControl):
		// One line, so a detail can never repaint the terminal that lists it.
		return fmt.Errorf("%w: detail holds a control character", ErrEntry)
	}
	return nil
}

// row is an entry as stored: at is the exact text that was hashed.
type row struct {
	seq                                                     int64
	at, actor, action, unit, job, recordID, outcome, detail string
	prev, hash                                              string
	sig                                                     []byte
}

// hashed is what an entry's hash covers: every column but hash and sig.
type hashed struct {
	Action  string `json:"action"`
	Actor   string `json:"actor"`
	At      string `json:"at"`
	Detail  string `json:"detail"`
	Job     string `json:"job"`
	Outcome string `json:"outcome"`
	Prev    string `json:"prev"`
	Record  string `json:"record"`
	Seq     int64  `json:"seq"`
	Unit    string `json:"unit"`
}

// digest returns the hex SHA-256 of r's canonical JSON (without hash and sig).
func (r row) digest() (string, error) {
	b, err := record.Canonical(hashed{
		Action: r.action, Actor: r.actor, At: r.at, Detail: r.detail, Job: r.job, Outcome: r.outcome,
		Prev: r.prev, Record: r.recordID, Seq: r.seq, Unit: r.unit,
	})
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}

// message is what an entry's signature covers.
func message(hash string) ([]byte, error) {
	raw, err := hex.DecodeString(hash)
	if err != nil || len(raw) != sha256.Size || !hashPattern.MatchString(hash) {
		return nil, fmt.Errorf("hash %q is not 64 lower-case hex digits", hash)
	}
	return append([]byte(sigDomain), raw...), nil
}

// entry converts a stored row; a time that does not parse is left zero
// (Verify reports the row, List callers still see it).
func (r row) entry() Entry {
	at, _ := time.Parse(time.RFC3339Nano, r.at)
	return Entry{
		Seq: r.seq, At: at, Actor: r.actor, Action: r.action, Unit: r.unit, Job: r.job, Record: r.recordID,
		Outcome: Outcome(r.outcome), Detail: r.detail, Prev: r.prev, Hash: r.hash, Sig: r.sig,
	}
}

type queryRower interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// head reads the newest entry's seq and hash.
func head(ctx context.Context, q queryRower) (Head, error) {
	var h Head
	err := q.QueryRowContext(ctx, `SELECT seq, hash FROM journal ORDER BY seq DESC LIMIT 1`).Scan(&h.Seq, &h.Hash)
	if errors.Is(err, sql.ErrNoRows) {
		return Head{Hash: Genesis}, nil
	}
	if err != nil {
		return Head{}, store.Classify(err)
	}
	return h, nil
}

// Append signs e and adds it to the end of the journal inside tx, the
// caller's transaction holding the change e describes: if tx rolls back, so
// does the entry. It returns the new head (e's seq and hash). Errors wrap
// ErrEntry or ErrSign; on any error the caller must roll back.
func (j *Journal) Append(ctx context.Context, tx *sql.Tx, e Entry) (Head, error) {
	if e.Outcome == "" {
		e.Outcome = OK
	}
	if err := check(e); err != nil {
		return Head{}, fmt.Errorf("journal %s: %w", e.Action, err)
	}
	fail := func(err error) (Head, error) { return Head{}, fmt.Errorf("journal %s: %w", e.Action, err) }
	if j.signer == nil {
		return fail(fmt.Errorf("%w: no signing key configured", ErrSign))
	}
	key, err := j.signer()
	if err != nil {
		return fail(fmt.Errorf("%w: %w", ErrSign, err))
	}
	if len(key) != ed25519.PrivateKeySize {
		return fail(fmt.Errorf("%w: private key of %d bytes", ErrSign, len(key)))
	}
	prev, err := head(ctx, tx)
	if err != nil {
		return fail(err)
	}
	r := row{
		seq: prev.Seq + 1, at: j.now().UTC().Format(time.RFC3339Nano), actor: record.KeyID(key.Public().(ed25519.PublicKey)),
		action: e.Action, unit: e.Unit, job: e.Job, recordID: e.Record, outcome: string(e.Outcome), detail: e.Detail,
		prev: prev.Hash,
	}
	if r.hash, err = r.digest(); err != nil {
		return fail(err)
	}
	msg, err := message(r.hash)
	if err != nil {
		return fail(err)
	}
	r.sig = ed25519.Sign(key, msg)
	_, err = tx.ExecContext(ctx, `INSERT INTO journal (seq, at, actor, action, unit, job, record_id, outcome, detail, prev, hash, sig)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.seq, r.at, r.actor, r.action, r.unit, r.job, r.recordID, r.outcome, r.detail, r.prev, r.hash, r.sig)
	if err != nil {
		return fail(store.Classify(err))
	}
	return Head{Seq: r.seq, Hash: r.hash}, nil
}

// Record appends e in a transaction of its own, for an action with nothing
// else to save (a unit that failed attestation, say).
func (j *Journal) Record(ctx context.Context, e Entry) (Head, error) {
	var h Head
	err := j.st.Tx(ctx, func(tx *sql.Tx) error {
		var err error
		h, err = j.Append(ctx, tx, e)
		return err
	})
	if err != nil {
		return Head{}, err
	}
	return h, nil
}

// Head returns the newest entry's seq and hash (seq 0 and Genesis when the
// journal is empty).
func (j *Journal) Head(ctx context.Context) (Head, error) {
	h, err := head(ctx, j.st.DB())
	if err != nil {
		return Head{}, fmt.Errorf("read journal head: %w", j.st.Check(err))
	}
	return h, nil
}

// Filter narrows List. Zero fields do not filter.
type Filter struct {
	Unit   string
	Job    string
	Action string
	// Limit keeps the newest Limit entries that match; 0 means all.
	Limit int
}

const rowColumns = `seq, at, actor, action, unit, job, record_id, outcome, detail, prev, hash, sig`

// List returns the entries that match f, oldest first.
func (j *Journal) List(ctx context.Context, f Filter) ([]Entry, error) {
	if f.Limit < 0 {
		return nil, fmt.Errorf("list journal: limit %d (want 0 or more)", f.Limit)
	}
	var where []string
	var args []any
	for _, c := range []struct{ col, val string }{{"unit", f.Unit}, {"job", f.Job}, {"action", f.Action}} {
		if c.val != "" {
			where = append(where, c.col+" = ?")
			args = append(args, c.val)
		}
	}
	q := `SELECT ` + rowColumns + ` FROM journal`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	q += ` ORDER BY seq DESC`
	if f.Limit > 0 {
		q += ` LIMIT ?`
		args = append(args, f.Limit)
	}
	rows, err := j.rows(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list journal: %w", err)
	}
	out := make([]Entry, len(rows))
	for i, r := range rows {
		out[len(rows)-1-i] = r.entry()
	}
	return out, nil
}

func (j *Journal) rows(ctx context.Context, q string, args ...any) ([]row, error) {
	rs, err := j.st.DB().QueryContext(ctx, q, args...)
	if err != nil {
		return nil, j.st.Check(err)
	}
	defer rs.Close()
	var out []row
	for rs.Next() {
		var r row
		if err := rs.Scan(&r.seq, &r.at, &r.actor, &r.action, &r.unit, &r.job, &r.recordID, &r.outcome,
			&r.detail, &r.prev, &r.hash, &r.sig); err != nil {
			return nil, fmt.Errorf("read journal entry: %w", j.st.Check(err))
		}
		out = append(out, r)
	}
	if err := rs.Err(); err != nil {
		return nil, j.st.Check(err)
	}
	return out, nil
}
