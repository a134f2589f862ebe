package hub

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/latchkey/latchkey/internal/consent/notice"
	"github.com/latchkey/latchkey/internal/record"
)

// Courier states of a unit, as `hub units list` shows them.
const (
	// CourierAwaiting: the courier gate does not hold yet (no notice
	// recorded, or the notice period still runs).
	CourierAwaiting = "awaiting tenant notice"
	// CourierOn: the gate holds and an administrator enabled access.
	CourierOn = "courier on"
	// CourierOff: the gate holds but access was not enabled (or was
	// disabled), or the consent was revoked.
	CourierOff = "courier off"
)

// ErrCourierGate means courier access was not enabled because the courier
// gate does not hold; the error carries the gate's reason.
var ErrCourierGate = errors.New("courier access stays off")

// ErrNoCourierLog means the hub's storage keeps no courier decisions.
var ErrNoCourierLog = errors.New("this hub's storage keeps no courier decisions")

// CourierDecision is an administrator's decision on a unit's courier
// access, under the consent it was made for.
type CourierDecision struct {
	Serial  string
	Enabled bool
	Job     string
	Consent string // record id of the consent the gate read
	Reason  string // the gate's reason at the time
	At      time.Time
}

// CourierLog keeps courier decisions. It is an optional part of a Storage
// (sqlstore.Store has it), so Storage and its conformance suite stay as
// they are; an Admin over a storage without it can report the gate but
// not enable access.
type CourierLog interface {
	// SetCourier adds a decision; the newest per serial is the unit's.
	SetCourier(ctx context.Context, d CourierDecision) error
	// CourierDecisions returns the newest decision of each unit, by serial.
	CourierDecisions(ctx context.Context) ([]CourierDecision, error)
}

// UnitCourier is a unit's courier state, computed from the stored records.
type UnitCourier struct {
	Serial string `json:"serial"`
	Job    string `json:"job"`
	// Consent is the newest consent record naming the unit.
	Consent string `json:"consent"`
	State   string `json:"state"` // CourierAwaiting, CourierOn or CourierOff
	// Allowed is the gate's answer now; Reason says why, in plain words.
	Allowed  bool      `json:"allowed"`
	Reason   string    `json:"reason"`
	NoticeBy time.Time `json:"notice_by,omitzero"`
	GivenAt  time.Time `json:"given_at,omitzero"`
	Revoked  bool      `json:"revoked,omitempty"`
	// Enabled and DecidedAt are the newest decision under this consent.
	Enabled   bool      `json:"enabled"`
	DecidedAt time.Time `json:"decided_at,omitzero"`
}

// consentNotice is the part of a consent payload the gate reads
// (internal/consent.Consent: notice.due, YYYY-MM-DD).
type consentNotice struct {
	Notice struct {
		Due string `json:"due"`
	} `json:"notice"`
}

// revocationOf is the part of a revocation payload the gate reads.
type revocationOf struct {
	Consent string `json:"consent"`
}

func body(r Record) ([]byte, error) {
	env, err := record.Decode(r.Envelope)
	if err != nil {
		return nil, fmt.Errorf("record %s: %w", r.ID, err)
	}
	return env.Body()
}

// CourierStatus computes each consented unit's courier state from the
// stored records: the newest consent naming the unit gives the job and the
// tenant notice date (notice.due, midnight UTC of that day); the notice
// records of that job give whether a notice was recorded and when it was
// first given; a revocation of that consent turns access off; and the
// gate is notice.CourierAllowed at the hub's clock, the function the laptop
// applies too. Units without a consent are not listed.
func (a *Admin) CourierStatus(ctx context.Context) ([]UnitCourier, error) {
	now := a.now()
	consents, err := a.store.Records(ctx, RecordFilter{Kind: string(record.KindConsent)})
	if err != nil {
		return nil, fmt.Errorf("courier status: %w", err)
	}
	newest := map[string]Record{}
	for _, r := range consents { // oldest first: a later one wins
		if r.Unit == "" {
			continue
		}
		if old, ok := newest[r.Unit]; !ok || !r.CreatedAt.Before(old.CreatedAt) {
			newest[r.Unit] = r
		}
	}
	revs, err := a.store.Records(ctx, RecordFilter{Kind: string(record.KindRevocation)})
	if err != nil {
		return nil, fmt.Errorf("courier status: %w", err)
	}
	revoked := map[string]bool{}
	for _, r := range revs {
		b, err := body(r)
		if err != nil {
			continue
		}
		var rv revocationOf
		if json.Unmarshal(b, &rv) == nil && rv.Consent != "" {
			revoked[rv.Consent] = true
		}
	}
	decisions := map[string]CourierDecision{}
	if log, ok := a.store.(CourierLog); ok {
		ds, err := log.CourierDecisions(ctx)
		if err != nil {
			return nil, fmt.Errorf("courier status: %w", err)
		}
		for _, d := range ds {
			decisions[d.Serial] = d
		}
	}
	var out []UnitCourier
	for serial, c := range newest {
		u := UnitCourier{Serial: serial, Job: c.Job, Consent: c.ID, Revoked: revoked[c.ID]}
		// A consent that does not read has no notice date: the gate
		// stays closed.
		if b, err := body(c); err == nil {
			var cn consentNotice
			if json.Unmarshal(b, &cn) == nil {
				if t, err := time.Parse(time.DateOnly, cn.Notice.Due); err == nil {
					u.NoticeBy = t
				}
			}
		}
		recorded := false
		if c.Job != "" {
			ns, err := a.store.Records(ctx, RecordFilter{Kind: string(record.KindNotice), Job: c.Job})
			if err != nil {
				return nil, fmt.Errorf("courier status of %s: %w", serial, err)
			}
			for _, n := range ns {
				recorded = true
				b, err := body(n)
				if err != nil {
					continue
				}
				var nr notice.Record
				if json.Unmarshal(b, &nr) != nil || nr.GivenAt.IsZero() {
					continue
				}
				if u.GivenAt.IsZero() || nr.GivenAt.Before(u.GivenAt) {
					u.GivenAt = nr.GivenAt
				}
			}
		}
		u.Allowed, u.Reason = notice.CourierAllowed(recorded, u.GivenAt, u.NoticeBy, now)
		if d, ok := decisions[serial]; ok && d.Consent == c.ID {
			u.Enabled, u.DecidedAt = d.Enabled, d.At
		}
		switch {
		case u.Revoked:
			u.State, u.Allowed, u.Reason = CourierOff, false, "the consent was revoked"
		case !u.Allowed:
			u.State = CourierAwaiting
		case u.Enabled:
			u.State = CourierOn
		default:
			u.State = CourierOff
		}
		out = append(out, u)
	}
	slices.SortFunc(out, func(x, y UnitCourier) int { return strings.Compare(x.Serial, y.Serial) })
	return out, nil
}

// courierOf returns serial's courier state (ErrNotFound when no consent
// names it).
func (a *Admin) courierOf(ctx context.Context, serial string) (UnitCourier, error) {
	if !serialPattern.MatchString(serial) {
		return UnitCourier{}, fmt.Errorf("%w: serial %q (want 1-128 of A-Z a-z 0-9 . _ : -)", ErrInvalid, serial)
	}
	us, err := a.CourierStatus(ctx)
	if err != nil {
		return UnitCourier{}, err
	}
	i := slices.IndexFunc(us, func(u UnitCourier) bool { return u.Serial == serial })
	if i < 0 {
		return UnitCourier{}, fmt.Errorf("%w: no consent names unit %s", ErrNotFound, serial)
	}
	return us[i], nil
}

// EnableCourier enables courier access on the unit with serial, and keeps
// the decision, only when the courier gate holds for its newest consent
// now; otherwise it refuses with ErrCourierGate and the gate's reason.
func (a *Admin) EnableCourier(ctx context.Context, serial string) (UnitCourier, error) {
	return a.setCourier(ctx, serial, true)
}

// DisableCourier turns courier access off on the unit with serial and
// keeps the decision. It is always allowed.
func (a *Admin) DisableCourier(ctx context.Context, serial string) (UnitCourier, error) {
	return a.setCourier(ctx, serial, false)
}

func (a *Admin) setCourier(ctx context.Context, serial string, on bool) (UnitCourier, error) {
	verb := "disable"
	if on {
		verb = "enable"
	}
	u, err := a.courierOf(ctx, serial)
	if err != nil {
		return UnitCourier{}, fmt.Errorf("%s courier access: %w", verb, err)
	}
	if on && !u.Allowed {
		return u, fmt.Errorf("%s courier access on %s: %w: %s", verb, serial, ErrCourierGate, u.Reason)
	}
	log, ok := a.store.(CourierLog)
	if !ok {
		return u, fmt.Errorf("%s courier access on %s: %w", verb, serial, ErrNoCourierLog)
	}
	d := CourierDecision{Serial: serial, Enabled: on, Job: u.Job, Consent: u.Consent, Reason: u.Reason, At: a.now().UTC()}
	if err := log.SetCourier(ctx, d); err != nil {
		return u, fmt.Errorf("%s courier access on %s: %w", verb, serial, err)
	}
	u.Enabled, u.DecidedAt = on, d.At
	switch {
	case on:
		u.State = CourierOn
	case u.Allowed:
		u.State = CourierOff
	}
	return u, nil
}
