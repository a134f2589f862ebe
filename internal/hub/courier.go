package hub

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/latchkey/latchkey/internal/consent"
	"github.com/latchkey/latchkey/internal/consent/notice"
	"github.com/latchkey/latchkey/internal/record"
)

// Courier states of a unit, as `hub units list` shows them.
const (
	// CourierAwaiting: the courier gate does not hold yet (no notice
	// recorded for the consent, or the notice period still runs).
	CourierAwaiting = "awaiting tenant notice"
	// CourierOn: the gate holds and an administrator enabled access.
	CourierOn = "courier on"
	// CourierOff: the gate holds but access was not enabled (or was
	// disabled); or no consent naming the unit verifies, or the consent
	// was revoked or has expired (the gate does not hold: Allowed false).
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
	// Consent is the consent record the gate reads: the newest one naming
	// the unit that verifies, or, when none does, the newest one naming it.
	Consent string `json:"consent"`
	// Verified says Consent verified (consent.Verify with the signer's
	// enrolled key and the unit's key from its pairing record).
	Verified bool   `json:"verified"`
	State    string `json:"state"` // CourierAwaiting, CourierOn or CourierOff
	// Allowed is the gate's answer now; Reason says why, in plain words.
	Allowed   bool      `json:"allowed"`
	Reason    string    `json:"reason"`
	NoticeBy  time.Time `json:"notice_by,omitzero"`
	GivenAt   time.Time `json:"given_at,omitzero"`
	ExpiresAt time.Time `json:"expires_at,omitzero"`
	Revoked   bool      `json:"revoked,omitempty"`
	Expired   bool      `json:"expired,omitempty"`
	// Ignored says why newer consent records naming the unit were passed
	// over (they do not verify), one line each, newest first.
	Ignored []string `json:"ignored,omitempty"`
	// Enabled and DecidedAt are the newest decision under this consent.
	Enabled   bool      `json:"enabled"`
	DecidedAt time.Time `json:"decided_at,omitzero"`
}

// revocationOf is the part of a revocation payload the gate reads.
type revocationOf struct {
	Consent string `json:"consent"`
}

// pairingKey is the part of a pairing record's payload the gate reads
// (internal/provision.PairingRecord): the unit's Ed25519 key, standard
// base64.
type pairingKey struct {
	Serial  string `json:"serial"`
	SignKey string `json:"sign_key"`
}

func body(r Record) ([]byte, error) {
	env, err := record.Decode(r.Envelope)
	if err != nil {
		return nil, fmt.Errorf("record %s: %w", r.ID, err)
	}
	return env.Body()
}

// newestFirst sorts records by created_at, newest first; of two created at
// the same time the one stored later comes first (rs is oldest first).
func newestFirst(rs []Record) []Record {
	out := slices.Clone(rs)
	slices.Reverse(out)
	slices.SortStableFunc(out, func(x, y Record) int { return y.CreatedAt.Compare(x.CreatedAt) })
	return out
}

// unverifiedError is why a consent record does not verify, as against a
// failure to read storage.
type unverifiedError struct{ err error }

func (e *unverifiedError) Error() string { return e.err.Error() }
func (e *unverifiedError) Unwrap() error { return e.err }

func unverified(format string, args ...any) error {
	return &unverifiedError{fmt.Errorf(format, args...)}
}

// gateReader reads, for one CourierStatus call, what the gate trusts:
// signers' enrolled keys and units' pairing keys, each looked up once.
type gateReader struct {
	a        *Admin
	users    map[string]*User    // by key id; nil: no such user
	pairings map[string][]Record // by job, newest first
}

// signerKey returns the enrolled, unrevoked key of the user whose key id
// is keyID; an *unverifiedError says why there is none.
func (g *gateReader) signerKey(ctx context.Context, keyID string) (ed25519.PublicKey, error) {
	u, seen := g.users[keyID]
	if !seen {
		found, err := g.a.store.UserByKeyID(ctx, keyID)
		switch {
		case errors.Is(err, ErrNotFound):
		case err != nil:
			return nil, err
		default:
			u = &found
		}
		g.users[keyID] = u
	}
	switch {
	case u == nil:
		return nil, unverified("its signer's key %s is no enrolled user's", keyID)
	case u.Revoked():
		return nil, unverified("its signer %s (key %s) was revoked, or enrolled again, at %s", u.Name, keyID, u.RevokedAt.UTC().Format(time.RFC3339))
	case len(u.SignKey) != ed25519.PublicKeySize:
		return nil, unverified("its signer %s has no Ed25519 key", u.Name)
	}
	return ed25519.PublicKey(u.SignKey), nil
}

// unitKey returns the Ed25519 key of the unit with serial from the newest
// stored pairing record of that serial and job; an *unverifiedError says
// why there is none.
func (g *gateReader) unitKey(ctx context.Context, job, serial string) (ed25519.PublicKey, error) {
	ps, seen := g.pairings[job]
	if !seen {
		rs, err := g.a.store.Records(ctx, RecordFilter{Kind: string(record.KindPairing), Job: job})
		if err != nil {
			return nil, err
		}
		ps = newestFirst(rs)
		g.pairings[job] = ps
	}
	i := slices.IndexFunc(ps, func(p Record) bool { return p.Unit == serial })
	if i < 0 {
		return nil, unverified("no pairing record of unit %s in job %s is stored", serial, job)
	}
	p := ps[i]
	var pk pairingKey
	b, err := body(p)
	if err == nil {
		err = json.Unmarshal(b, &pk)
	}
	if err != nil {
		return nil, unverified("the pairing record %s of unit %s does not read: %v", p.ID, serial, err)
	}
	key, err := base64.StdEncoding.DecodeString(pk.SignKey)
	switch {
	case pk.Serial != serial:
		return nil, unverified("the pairing record %s of unit %s names serial %q", p.ID, serial, pk.Serial)
	case err != nil || len(key) != ed25519.PublicKeySize:
		return nil, unverified("the pairing record %s of unit %s has no Ed25519 sign_key", p.ID, serial)
	}
	return ed25519.PublicKey(key), nil
}

// verify checks a stored consent record as the gate trusts it: signed by
// its signer's enrolled, unrevoked key and countersigned by the unit's key
// from the unit's pairing record (consent.Verify), for the unit and job the
// record is filed under. An *unverifiedError says why it does not verify;
// any other error is a failure to read storage.
func (g *gateReader) verify(ctx context.Context, r Record) (consent.Consent, error) {
	if len(r.KeyIDs) == 0 {
		return consent.Consent{}, unverified("no signer's key verified at intake")
	}
	if r.Job == "" {
		return consent.Consent{}, unverified("it names no job")
	}
	installer, err := g.signerKey(ctx, r.KeyIDs[0])
	if err != nil {
		return consent.Consent{}, err
	}
	unit, err := g.unitKey(ctx, r.Job, r.Unit)
	if err != nil {
		return consent.Consent{}, err
	}
	c, err := consent.Verify(r.Envelope, installer, unit)
	switch {
	case err != nil:
		return consent.Consent{}, &unverifiedError{err}
	case c.ID != r.ID || c.Job != r.Job || c.Unit != r.Unit || !c.CreatedAt.Equal(r.CreatedAt):
		return consent.Consent{}, unverified("its payload (%s, job %s, unit %s) is not the record stored (%s, job %s, unit %s)",
			c.ID, c.Job, c.Unit, r.ID, r.Job, r.Unit)
	case c.UnitInfo.Serial != r.Unit:
		return consent.Consent{}, unverified("unit_info.serial %q is not the unit %s", c.UnitInfo.Serial, r.Unit)
	}
	return c, nil
}

// CourierStatus computes each consented unit's courier state from the
// stored records. Units without a consent are not listed.
//
// The consent the gate reads is the newest consent record naming the unit
// that verifies: signed by its signer's enrolled key (a revoked or replaced
// key does not count) and countersigned by the unit's key from the newest
// pairing record of that unit and job, its unit_info naming the unit
// (consent.Verify). Consent records that do not verify are ignored; when
// none verifies the unit's courier access is off, with the reason
// "consent does not verify: …". The consent gives the job, the tenant
// notice date (notice.due, midnight UTC of that day) and the expiry.
//
// A notice counts only when it is a notice record of that job naming that
// consent (its "consent" field), its payload passes notice.Record.Check,
// and it was given at or after the consent was created. A revocation of
// the consent, or its expiry (now at or after expires_at), turns access
// off. Otherwise the gate is notice.CourierAllowed at the hub's clock, the
// function the laptop applies too.
func (a *Admin) CourierStatus(ctx context.Context) ([]UnitCourier, error) {
	now := a.now()
	consents, err := a.store.Records(ctx, RecordFilter{Kind: string(record.KindConsent)})
	if err != nil {
		return nil, fmt.Errorf("courier status: %w", err)
	}
	byUnit := map[string][]Record{}
	for _, r := range consents {
		if r.Unit == "" {
			continue
		}
		byUnit[r.Unit] = append(byUnit[r.Unit], r)
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
	g := &gateReader{a: a, users: map[string]*User{}, pairings: map[string][]Record{}}
	var out []UnitCourier
	for serial, rs := range byUnit {
		u, err := a.unitCourier(ctx, g, serial, newestFirst(rs), revoked, now)
		if err != nil {
			return nil, fmt.Errorf("courier status of %s: %w", serial, err)
		}
		if d, ok := decisions[serial]; ok && d.Consent == u.Consent && u.Verified {
			u.Enabled, u.DecidedAt = d.Enabled, d.At
		}
		switch {
		case !u.Verified || u.Revoked || u.Expired:
			u.State, u.Allowed = CourierOff, false
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

// unitCourier is the gate of one unit whose consent records are cs, newest
// first; State, Enabled and DecidedAt are the caller's.
func (a *Admin) unitCourier(ctx context.Context, g *gateReader, serial string, cs []Record, revoked map[string]bool, now time.Time) (UnitCourier, error) {
	u := UnitCourier{Serial: serial, Job: cs[0].Job, Consent: cs[0].ID}
	var cur Record
	var c consent.Consent
	var whyNot error // why the newest consent does not verify
	for i, r := range cs {
		v, err := g.verify(ctx, r)
		var bad *unverifiedError
		switch {
		case errors.As(err, &bad):
			if i == 0 {
				whyNot = bad
			}
			u.Ignored = append(u.Ignored, fmt.Sprintf("consent %s does not verify: %v", r.ID, bad))
			continue
		case err != nil:
			return UnitCourier{}, err
		}
		cur, c, u.Verified = r, v, true
		break
	}
	if !u.Verified {
		u.Reason = fmt.Sprintf("consent does not verify: %v", whyNot)
		return u, nil
	}
	u.Job, u.Consent, u.ExpiresAt = cur.Job, cur.ID, c.ExpiresAt
	u.Revoked = revoked[cur.ID]
	u.Expired = !now.Before(c.ExpiresAt)
	// A notice date that does not read leaves the gate closed
	// (CourierAllowed fails closed on a zero date).
	if t, err := time.Parse(time.DateOnly, c.Notice.Due); err == nil {
		u.NoticeBy = t
	}
	ns, err := a.store.Records(ctx, RecordFilter{Kind: string(record.KindNotice), Job: cur.Job})
	if err != nil {
		return UnitCourier{}, err
	}
	recorded, skipped := false, 0
	for _, n := range ns {
		nr, ok := noticeFor(n, cur.ID, c.CreatedAt)
		if !ok {
			skipped++
			continue
		}
		recorded = true
		if u.GivenAt.IsZero() || nr.GivenAt.Before(u.GivenAt) {
			u.GivenAt = nr.GivenAt
		}
	}
	u.Allowed, u.Reason = notice.CourierAllowed(recorded, u.GivenAt, u.NoticeBy, now)
	switch {
	case u.Revoked:
		u.Reason = "the consent was revoked"
	case u.Expired:
		u.Reason = "the consent expired on " + stamp(c.ExpiresAt)
	case !recorded && skipped > 0:
		u.Reason += fmt.Sprintf(" for consent %s (%d notice record(s) of job %s name another consent, do not check, or were given before the consent was signed)",
			cur.ID, skipped, cur.Job)
	}
	if len(u.Ignored) > 0 {
		u.Reason += fmt.Sprintf("; the newer %s", u.Ignored[0])
		if n := len(u.Ignored) - 1; n > 0 {
			u.Reason += fmt.Sprintf(" (and %d more)", n)
		}
	}
	return u, nil
}

// noticeFor reads n as a notice record of the consent with id consentID,
// created at signed: it must name that consent, pass notice.Record.Check,
// and have been given at or after signed.
func noticeFor(n Record, consentID string, signed time.Time) (notice.Record, bool) {
	b, err := body(n)
	if err != nil {
		return notice.Record{}, false
	}
	var nr notice.Record
	if json.Unmarshal(b, &nr) != nil || nr.Consent != consentID || nr.Check() != nil || nr.GivenAt.Before(signed) {
		return notice.Record{}, false
	}
	return nr, true
}

// stamp prints t in UTC to the minute.
func stamp(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") }

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
