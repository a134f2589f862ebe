package sales

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/latchkey/latchkey/internal/ids"
	"github.com/latchkey/latchkey/internal/incentive"
	"github.com/latchkey/latchkey/internal/store"
)

// Errors callers branch on.
var (
	ErrNotFound  = errors.New("visit not found")
	ErrAmbiguous = errors.New("visit id prefix matches more than one visit")
	ErrConflict  = errors.New("visit was changed by someone else since it was read")
	ErrDeleted   = errors.New("visit is deleted")
	ErrNoChange  = errors.New("nothing to change")
)

// MinPrefix is the shortest id prefix accepted in place of a full id.
const MinPrefix = 4

const timeLayout = "2006-01-02T15:04:05Z"

// Service reads and writes visits in the local store. Every revision it
// writes is queued for the back office as a signed record in the same
// transaction, so a visit is never saved without its record.
type Service struct {
	st   *store.Store
	rec  Recorder
	now  func() time.Time
	rand io.Reader
}

// NewService returns a Service over st that queues its records in rec
// (normally an *outbox.Outbox over the same store). A nil rec makes a
// read-only Service whose writes fail with ErrNoRecorder. now and rand are
// injected so tests are deterministic; pass time.Now and crypto/rand.Reader
// in production.
func NewService(st *store.Store, rec Recorder, now func() time.Time, rand io.Reader) *Service {
	return &Service{st: st, rec: rec, now: now, rand: rand}
}

// Log validates v and stores it as revision 1 of a new visit.
func (s *Service) Log(ctx context.Context, v Visit) (Visit, error) {
	v.Normalize()
	if err := v.Validate(s.now()); err != nil {
		return Visit{}, err
	}
	id, err := ids.New(s.rand)
	if err != nil {
		return Visit{}, err
	}
	v.ID, v.Revision, v.Deleted = id, 1, false
	v.RecordedAt = s.now().UTC().Truncate(time.Second)
	err = s.st.Tx(ctx, func(tx *sql.Tx) error {
		if err := writeRevision(ctx, tx, v); err != nil {
			return err
		}
		return s.queue(ctx, tx, v)
	})
	if err != nil {
		return Visit{}, fmt.Errorf("log visit: %w", err)
	}
	return v, nil
}

// Revise stores v as the next revision of visit v.ID. v.Revision must be the
// revision the change was based on; if another revision was written since,
// Revise fails with ErrConflict rather than overwrite it.
func (s *Service) Revise(ctx context.Context, v Visit) (Visit, error) {
	v.Normalize()
	if err := v.Validate(s.now()); err != nil {
		return Visit{}, err
	}
	err := s.st.Tx(ctx, func(tx *sql.Tx) error {
		head, err := latest(ctx, tx, v.ID)
		if err != nil {
			return err
		}
		switch {
		case head.Deleted:
			return ErrDeleted
		case head.Revision != v.Revision:
			return fmt.Errorf("%w (read revision %d, now at %d)", ErrConflict, v.Revision, head.Revision)
		case SameContent(head, v):
			return ErrNoChange
		}
		v.Revision = head.Revision + 1
		v.RecordedAt = s.now().UTC().Truncate(time.Second)
		if err := writeRevision(ctx, tx, v); err != nil {
			return err
		}
		return s.queue(ctx, tx, v)
	})
	if err != nil {
		return Visit{}, fmt.Errorf("edit visit %s: %w", short(v.ID), err)
	}
	return v, nil
}

// Delete writes a tombstone revision for visit id. History stays readable.
func (s *Service) Delete(ctx context.Context, id string) (Visit, error) {
	var t Visit
	err := s.st.Tx(ctx, func(tx *sql.Tx) error {
		head, err := latest(ctx, tx, id)
		if err != nil {
			return err
		}
		if head.Deleted {
			return ErrDeleted
		}
		t = head
		t.Revision++
		t.Deleted = true
		t.RecordedAt = s.now().UTC().Truncate(time.Second)
		if err := writeRevision(ctx, tx, t); err != nil {
			return err
		}
		return s.queue(ctx, tx, t)
	})
	if err != nil {
		return Visit{}, fmt.Errorf("delete visit %s: %w", short(id), err)
	}
	return t, nil
}

// Resolve turns a full id or a unique prefix of at least MinPrefix characters
// into a full visit id.
func (s *Service) Resolve(ctx context.Context, ref string) (string, error) {
	ref = strings.ToLower(strings.TrimSpace(ref))
	if len(ref) < MinPrefix {
		return "", fmt.Errorf("%w: %q (give at least %d characters of the id)", ErrNotFound, ref, MinPrefix)
	}
	rows, err := s.st.DB().QueryContext(ctx,
		`SELECT id FROM visits WHERE id >= ? AND id < ? ORDER BY id LIMIT 2`, ref, ref+"\uffff")
	if err != nil {
		return "", s.st.Check(err)
	}
	defer rows.Close()
	var found []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return "", s.st.Check(err)
		}
		found = append(found, id)
	}
	if err := rows.Err(); err != nil {
		return "", s.st.Check(err)
	}
	switch len(found) {
	case 0:
		return "", fmt.Errorf("%w: %q", ErrNotFound, ref)
	case 1:
		return found[0], nil
	}
	return "", fmt.Errorf("%w: %q (type more of it)", ErrAmbiguous, ref)
}

// Get returns the newest revision of a visit, a tombstone if it was deleted.
func (s *Service) Get(ctx context.Context, ref string) (Visit, error) {
	id, err := s.Resolve(ctx, ref)
	if err != nil {
		return Visit{}, err
	}
	v, err := latest(ctx, s.st.DB(), id)
	return v, s.st.Check(err)
}

// History returns every revision of a visit, oldest first.
func (s *Service) History(ctx context.Context, ref string) ([]Visit, error) {
	id, err := s.Resolve(ctx, ref)
	if err != nil {
		return nil, err
	}
	vs, err := queryVisits(ctx, s.st.DB(), `SELECT `+revisionColumns+` FROM visit_revisions r WHERE r.visit_id = ? ORDER BY r.revision`, id)
	return vs, s.st.Check(err)
}

// Filter narrows a list of visits. Zero fields do not filter.
type Filter struct {
	Outcomes []Outcome
	Rep      string
	Since    time.Time // visited at or after
	Until    time.Time // visited before
	DueBy    string    // YYYY-MM-DD: open follow-ups due on or before this date
	Search   string    // case-insensitive text in building, contact and notes
	Limit    int       // 0 means no limit
}

// List returns the newest revision of each visit that matches f and is not
// deleted, newest visit first (or soonest follow-up first when f.DueBy is
// set). more reports whether Limit cut the list.
func (s *Service) List(ctx context.Context, f Filter) (visits []Visit, more bool, err error) {
	var where []string
	var args []any
	where = append(where, "v.deleted = 0")
	if len(f.Outcomes) > 0 {
		where = append(where, "v.outcome IN ("+placeholders(len(f.Outcomes))+")")
		for _, o := range f.Outcomes {
			args = append(args, string(o))
		}
	}
	if f.Rep != "" {
		where = append(where, "v.rep = ?")
		args = append(args, f.Rep)
	}
	if !f.Since.IsZero() {
		where = append(where, "v.visited_at >= ?")
		args = append(args, f.Since.UTC().Format(timeLayout))
	}
	if !f.Until.IsZero() {
		where = append(where, "v.visited_at < ?")
		args = append(args, f.Until.UTC().Format(timeLayout))
	}
	order := "v.visited_at DESC, v.id"
	if f.DueBy != "" {
		where = append(where, "v.follow_up <> '' AND v.follow_up <= ? AND v.outcome NOT IN (?, ?)")
		args = append(args, f.DueBy, string(Signed), string(NotInterested))
		order = "v.follow_up, v.visited_at DESC, v.id"
	}
	if term := strings.ToLower(f.Search); term != "" {
		// A quoted FTS5 phrase over trigrams finds any substring of three or
		// more characters through the index; shorter terms scan with LIKE.
		if utf8.RuneCountInString(term) >= 3 {
			where = append(where, `v.seq IN (SELECT rowid FROM visit_search WHERE visit_search MATCH ?)`)
			args = append(args, `"`+strings.ReplaceAll(term, `"`, `""`)+`"`)
		} else {
			where = append(where, `v.seq IN (SELECT rowid FROM visit_search WHERE body LIKE ? ESCAPE '\')`)
			args = append(args, "%"+escapeLike(term)+"%")
		}
	}
	q := `SELECT ` + revisionColumns + ` FROM visits v JOIN visit_revisions r ON r.visit_id = v.id AND r.revision = v.head
WHERE ` + strings.Join(where, " AND ") + ` ORDER BY ` + order
	if f.Limit > 0 {
		q += " LIMIT ?"
		args = append(args, f.Limit+1)
	}
	visits, err = queryVisits(ctx, s.st.DB(), q, args...)
	if err != nil {
		return nil, false, fmt.Errorf("list visits: %w", s.st.Check(err))
	}
	if f.Limit > 0 && len(visits) > f.Limit {
		return visits[:f.Limit], true, nil
	}
	return visits, false, nil
}

// SameContent reports whether two revisions say the same thing, ignoring
// their id, revision number and when they were recorded.
func SameContent(a, b Visit) bool {
	a.ID, a.Revision, a.RecordedAt = "", 0, time.Time{}
	b.ID, b.Revision, b.RecordedAt = "", 0, time.Time{}
	a.VisitedAt, b.VisitedAt = a.VisitedAt.UTC(), b.VisitedAt.UTC()
	if len(a.Objections) == 0 && len(b.Objections) == 0 {
		a.Objections, b.Objections = nil, nil
	}
	return reflect.DeepEqual(a, b)
}

func short(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}

func placeholders(n int) string { return strings.TrimSuffix(strings.Repeat("?, ", n), ", ") }

func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

const revisionColumns = `r.visit_id, r.revision, r.deleted, r.recorded_at, r.visited_at, r.rep,
r.building_name, r.building_address, r.building_city, r.building_units,
r.contact_name, r.contact_role, r.contact_phone, r.contact_email,
r.outcome, r.objections, r.objection_notes, r.incentive, r.follow_up, r.notes`

type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func latest(ctx context.Context, q querier, id string) (Visit, error) {
	vs, err := queryVisits(ctx, q, `SELECT `+revisionColumns+` FROM visits v JOIN visit_revisions r ON r.visit_id = v.id AND r.revision = v.head WHERE v.id = ?`, id)
	if err != nil {
		return Visit{}, err
	}
	if len(vs) == 0 {
		return Visit{}, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	return vs[0], nil
}

func queryVisits(ctx context.Context, q querier, query string, args ...any) ([]Visit, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, store.Classify(err)
	}
	defer rows.Close()
	var out []Visit
	for rows.Next() {
		v, err := scanVisit(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, store.Classify(err)
	}
	return out, nil
}

func scanVisit(rows *sql.Rows) (Visit, error) {
	var v Visit
	var recorded, visited, objections, offer, role, outcome string
	err := rows.Scan(&v.ID, &v.Revision, &v.Deleted, &recorded, &visited, &v.Rep,
		&v.Building.Name, &v.Building.Address, &v.Building.City, &v.Building.Units,
		&v.Contact.Name, &role, &v.Contact.Phone, &v.Contact.Email,
		&outcome, &objections, &v.ObjectionNotes, &offer, &v.FollowUp, &v.Notes)
	if err != nil {
		return Visit{}, store.Classify(err)
	}
	v.Contact.Role, v.Outcome = Role(role), Outcome(outcome)
	// A row that does not parse was damaged outside latchkey: say which.
	bad := func(what string, err error) error {
		return fmt.Errorf("visit %s revision %d: stored %s does not parse: %v: %w", v.ID, v.Revision, what, err, store.ErrCorrupt)
	}
	if v.RecordedAt, err = time.Parse(timeLayout, recorded); err != nil {
		return Visit{}, bad("recorded_at", err)
	}
	if v.VisitedAt, err = time.Parse(timeLayout, visited); err != nil {
		return Visit{}, bad("visited_at", err)
	}
	if v.Incentive, err = incentive.Parse(offer); err != nil {
		return Visit{}, bad("incentive", err)
	}
	v.Objections = []Objection{}
	if objections != "" {
		for _, o := range strings.Split(objections, ",") {
			v.Objections = append(v.Objections, Objection(o))
		}
	}
	return v, nil
}

// writeRevision appends revision v and points the visit's head at it.
func writeRevision(ctx context.Context, tx execer, v Visit) error {
	if err := insertRevision(ctx, tx, v); err != nil {
		return err
	}
	return moveHead(ctx, tx, v)
}

func insertRevision(ctx context.Context, tx execer, v Visit) error {
	objections := make([]string, len(v.Objections))
	for i, o := range v.Objections {
		objections[i] = string(o)
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO visit_revisions (visit_id, revision, deleted, recorded_at, visited_at, rep,
building_name, building_address, building_city, building_units,
contact_name, contact_role, contact_phone, contact_email,
outcome, objections, objection_notes, incentive, follow_up, notes)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		v.ID, v.Revision, v.Deleted, v.RecordedAt.UTC().Format(timeLayout), v.VisitedAt.UTC().Format(timeLayout), v.Rep,
		v.Building.Name, v.Building.Address, v.Building.City, v.Building.Units,
		v.Contact.Name, string(v.Contact.Role), v.Contact.Phone, v.Contact.Email,
		string(v.Outcome), strings.Join(objections, ","), v.ObjectionNotes, v.Incentive.String(), v.FollowUp, v.Notes)
	if err != nil {
		return fmt.Errorf("store revision %d: %w", v.Revision, store.Classify(err))
	}
	return nil
}

func moveHead(ctx context.Context, tx execer, v Visit) error {
	search := strings.ToLower(strings.Join([]string{v.Building.Name, v.Building.Address, v.Building.City,
		v.Contact.Name, v.Contact.Email, v.Rep, v.ObjectionNotes, v.Notes}, "\n"))
	var seq int64
	err := tx.QueryRowContext(ctx, `INSERT INTO visits (id, head, deleted, visited_at, rep, outcome, follow_up)
VALUES (?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (id) DO UPDATE SET head = excluded.head, deleted = excluded.deleted, visited_at = excluded.visited_at,
rep = excluded.rep, outcome = excluded.outcome, follow_up = excluded.follow_up
RETURNING seq`,
		v.ID, v.Revision, v.Deleted, v.VisitedAt.UTC().Format(timeLayout), v.Rep, string(v.Outcome), v.FollowUp).Scan(&seq)
	if err != nil {
		return fmt.Errorf("update visit head: %w", store.Classify(err))
	}
	if _, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO visit_search (rowid, body) VALUES (?, ?)`, seq, search); err != nil {
		return fmt.Errorf("update visit search: %w", store.Classify(err))
	}
	return nil
}
