package sales

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/latchkey/latchkey/internal/incentive"
	"github.com/latchkey/latchkey/internal/outbox"
	"github.com/latchkey/latchkey/internal/record"
)

// Recorder queues a signed record inside the caller's transaction;
// *outbox.Outbox is one. An error means nothing may be saved: the caller
// rolls its transaction back.
type Recorder interface {
	Add(ctx context.Context, tx *sql.Tx, kind record.Kind, payload any) (outbox.Entry, error)
}

// RecordLifetime is how long a visit record may wait in the outbox before
// the back office refuses it as expired (its header's expires_at). Half a
// year covers a rep who works offline for weeks; older pipeline data is
// stale for the back office anyway.
const RecordLifetime = 180 * 24 * time.Hour

// ErrNoRecorder means the Service was built without an outbox, so it cannot
// write: every change must be queued for upload with it.
var ErrNoRecorder = errors.New("no outbox to queue visit records in")

// visitRecord is the payload of a record.KindVisit record: one revision,
// all of it, under the common record header. The header's id is
// "<visit id>.r<revision>", so each revision is a record of its own and a
// revision sent twice is recognised by the hub.
type visitRecord struct {
	record.Header
	VisitID        string          `json:"visit_id"`
	Revision       int             `json:"revision"`
	Deleted        bool            `json:"deleted"`
	RecordedAt     time.Time       `json:"recorded_at"`
	VisitedAt      time.Time       `json:"visited_at"`
	Rep            string          `json:"rep"`
	Building       Building        `json:"building"`
	Contact        Contact         `json:"contact"`
	Outcome        Outcome         `json:"outcome"`
	Objections     []Objection     `json:"objections"`
	ObjectionNotes string          `json:"objection_notes"`
	Incentive      incentive.Offer `json:"incentive"`
	FollowUp       string          `json:"follow_up"`
	Notes          string          `json:"notes"`
}

// RecordID is the record id of revision rev of visit id.
func RecordID(id string, rev int) string { return fmt.Sprintf("%s.r%d", id, rev) }

// newVisitRecord is the record of revision v.
func newVisitRecord(v Visit) visitRecord {
	created := v.RecordedAt.UTC()
	objections := v.Objections
	if objections == nil {
		objections = []Objection{}
	}
	return visitRecord{
		Header:   record.Header{ID: RecordID(v.ID, v.Revision), CreatedAt: created, ExpiresAt: created.Add(RecordLifetime)},
		VisitID:  v.ID,
		Revision: v.Revision, Deleted: v.Deleted,
		RecordedAt: created, VisitedAt: v.VisitedAt.UTC(),
		Rep: v.Rep, Building: v.Building, Contact: v.Contact, Outcome: v.Outcome,
		Objections: objections, ObjectionNotes: v.ObjectionNotes, Incentive: v.Incentive,
		FollowUp: v.FollowUp, Notes: v.Notes,
	}
}

// queue adds the record of revision v to the outbox in tx, the transaction
// that writes v.
func (s *Service) queue(ctx context.Context, tx *sql.Tx, v Visit) error {
	if s.rec == nil {
		return fmt.Errorf("nothing was saved: %w", ErrNoRecorder)
	}
	if _, err := s.rec.Add(ctx, tx, record.KindVisit, newVisitRecord(v)); err != nil {
		return fmt.Errorf("nothing was saved: %w", err)
	}
	return nil
}
