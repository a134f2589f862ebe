package hub_test

// The hub's courier gate over records taken in through the API: it trusts
// only a consent countersigned by the unit the installer paired, counts
// only the notices of that consent, and closes on revocation and expiry.

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/consent"
	"github.com/latchkey/latchkey/internal/consent/notice"
	"github.com/latchkey/latchkey/internal/hub"
	"github.com/latchkey/latchkey/internal/hubapi"
	"github.com/latchkey/latchkey/internal/record"
)

const (
	gateJob    = "job-7"
	gateSerial = "LK-00042"
)

// A unit's key, and another unit's.
var (
	gateUnitKey  = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{2}, ed25519.SeedSize))
	otherUnitKey = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{3}, ed25519.SeedSize))
)

// keyUnit countersigns as a unit does.
type keyUnit struct{ key ed25519.PrivateKey }

func (u keyUnit) Countersign(_ context.Context, msg []byte) ([]byte, error) {
	return ed25519.Sign(u.key, msg), nil
}

// courierGate is a hub with an installer, sam, whose records it takes in.
type courierGate struct {
	*testHub
	sam user
	seq int
}

func newCourierGate(t *testing.T) *courierGate {
	t.Helper()
	h := newHub(t)
	return &courierGate{testHub: h, sam: h.enroll("sam", hubapi.RoleInstaller)}
}

// put sends wire, one record, as sam, and requires it stored.
func (g *courierGate) put(wire []byte) {
	g.t.Helper()
	g.seq++
	status, body := g.do(http.MethodPost, hubapi.PathRecordsBatch, g.sam.token, fmt.Sprintf("gate-%d", g.seq), batch(g.t, wire))
	if status != http.StatusOK {
		g.t.Fatalf("batch: %d %s", status, body)
	}
	var resp hubapi.BatchResponse
	if err := json.Unmarshal(body, &resp); err != nil || len(resp.Results) != 1 || resp.Results[0].Status != hubapi.StatusStored {
		g.t.Fatalf("record not stored: %s (%v)", body, err)
	}
}

// pair stores a pairing record of serial in gateJob naming unitKey.
func (g *courierGate) pair(id, serial string, unitKey ed25519.PrivateKey) {
	g.t.Helper()
	g.put(sign(g.t, record.KindPairing, newRec(id, "job", gateJob, "unit", serial, "serial", serial,
		"sign_key", base64.StdEncoding.EncodeToString(unitKey.Public().(ed25519.PublicKey))), g.sam.id.Sign))
}

// facts are the consent's facts; due is six days after t0.
func gateFacts() consent.Facts {
	return consent.Facts{
		Job: gateJob, Operator: "Parcelway Inc.", Installer: "sam",
		Building:  consent.Building{Name: "Maple Court", Address: "12 Maple St, Brooklyn, NY 11201"},
		Doors:     []consent.Door{{Name: "lobby", Hours: "Mon-Sat 08:00-20:00"}},
		Logging:   consent.Logging{Events: []string{consent.EventDoorOpen}, RetentionDays: 30},
		Notice:    consent.Notice{By: consent.NoticeByManager, How: []string{consent.NoticePosted}, Due: "2026-12-01"},
		Incentive: "none",
		Revoke:    "call 212-555-0100",
		Unit: consent.Unit{Serial: gateSerial, Attestation: strings.Repeat("ab", 32),
			Nonce: base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32))},
		Receipts: []consent.Receipt{{Door: "lobby", Slot: 0, KCV: "a1b2c3"}},
		Survey:   strings.Repeat("cd", 32),
		Captured: consent.Flags,
	}
}

// consentOf builds a consent of f created at at, with its id drawn from
// seed.
func consentOf(t *testing.T, f consent.Facts, at time.Time, seed byte) consent.Consent {
	t.Helper()
	terms, err := consent.TermsFor(consent.CurrentVersion, "en", f)
	if err != nil {
		t.Fatal(err)
	}
	s := consent.Signer{Name: "María Ortiz", Title: "Property manager", Authority: consent.ManagingAgent,
		Intent: terms.Intent, SignedAt: at.Add(-time.Minute)}
	c, err := consent.Build(f, s, terms, at, bytes.NewReader(bytes.Repeat([]byte{seed}, 64)))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// countersigned is c signed by sam and countersigned by unitKey.
func (g *courierGate) countersigned(c consent.Consent, unitKey ed25519.PrivateKey) []byte {
	g.t.Helper()
	env, err := consent.Sign(context.Background(), c, g.sam.id.Sign, keyUnit{unitKey}, unitKey.Public().(ed25519.PublicKey))
	if err != nil {
		g.t.Fatal(err)
	}
	return mustJSON(g.t, env)
}

// installerOnly is c signed by sam alone.
func (g *courierGate) installerOnly(c consent.Consent) []byte {
	g.t.Helper()
	env, err := record.Sign(record.KindConsent, c, g.sam.id.Sign, g.sam.keyID())
	if err != nil {
		g.t.Fatal(err)
	}
	return mustJSON(g.t, env)
}

// notice stores a posted notice of consentID given at given; edit changes
// the record before it is signed.
func (g *courierGate) notice(id, consentID string, given time.Time, edit ...func(*notice.Record)) {
	g.t.Helper()
	r := notice.Record{
		Header:  record.Header{ID: id, CreatedAt: t0.Add(-time.Minute), ExpiresAt: t0.Add(notice.RecordLifetime), Job: gateJob, Unit: gateSerial},
		Consent: consentID, How: notice.Posted, GivenAt: given, Where: "lobby notice board",
		PhotoSHA256: strings.Repeat("1", 64), Lang: "en", TextSHA256: strings.Repeat("2", 64),
	}
	for _, e := range edit {
		e(&r)
	}
	env, err := record.Sign(record.KindNotice, r, g.sam.id.Sign, g.sam.keyID())
	if err != nil {
		g.t.Fatal(err)
	}
	g.put(mustJSON(g.t, env))
}

// status is the unit's courier state.
func (g *courierGate) status(serial string) hub.UnitCourier {
	g.t.Helper()
	us, err := g.admin.CourierStatus(context.Background())
	if err != nil {
		g.t.Fatal(err)
	}
	for _, u := range us {
		if u.Serial == serial {
			return u
		}
	}
	g.t.Fatalf("no courier state for %s in %+v", serial, us)
	return hub.UnitCourier{}
}

// afterDue sets the clock past the notice date.
func (g *courierGate) afterDue() { g.clock.Advance(7 * 24 * time.Hour) }

func TestCourierGateOpensForAVerifiedConsent(t *testing.T) {
	g := newCourierGate(t)
	g.pair("p1", gateSerial, gateUnitKey)
	c := consentOf(t, gateFacts(), t0.Add(-time.Hour), 1)
	g.put(g.countersigned(c, gateUnitKey))
	if u := g.status(gateSerial); !u.Verified || u.Consent != c.ID || u.State != hub.CourierAwaiting || !strings.Contains(u.Reason, "no notice recorded") {
		t.Errorf("consent without a notice: %+v", u)
	}
	g.notice("n1", c.ID, t0.Add(-30*time.Minute))
	if u := g.status(gateSerial); u.Allowed || !strings.Contains(u.Reason, "runs until 2026-12-01") {
		t.Errorf("in the notice period: %+v", u)
	}
	g.afterDue()
	u := g.status(gateSerial)
	if !u.Allowed || u.State != hub.CourierOff || !u.GivenAt.Equal(t0.Add(-30*time.Minute)) {
		t.Fatalf("after the notice date: %+v", u)
	}
	if u, err := g.admin.EnableCourier(context.Background(), gateSerial); err != nil || u.State != hub.CourierOn {
		t.Fatalf("enable = %+v, %v", u, err)
	}
	if u := g.status(gateSerial); u.State != hub.CourierOn {
		t.Errorf("after enable: %+v", u)
	}
}

// A consent the hub cannot verify never opens the gate, however complete
// the notice for it.
func TestCourierGateRefusesUnverifiedConsent(t *testing.T) {
	c := consentOf(t, gateFacts(), t0.Add(-time.Hour), 1)
	tests := []struct {
		name  string
		setup func(g *courierGate) []byte // stores what comes first; returns the consent to store
		say   string
	}{
		{"installer's signature only", func(g *courierGate) []byte {
			g.pair("p1", gateSerial, gateUnitKey)
			return g.installerOnly(c)
		}, "not signed by both"},
		{"countersigned by another key than the paired unit's", func(g *courierGate) []byte {
			g.pair("p1", gateSerial, gateUnitKey)
			return g.countersigned(c, otherUnitKey)
		}, "signature 2 is by key"},
		{"no pairing of the unit in the job", func(g *courierGate) []byte {
			g.pair("p1", "LK-00043", gateUnitKey)
			return g.countersigned(c, gateUnitKey)
		}, "no pairing record of unit " + gateSerial},
		{"the newest pairing names another key", func(g *courierGate) []byte {
			g.pair("p1", gateSerial, gateUnitKey)
			g.put(sign(g.t, record.KindPairing, rec{"id": "p2", "created_at": t0.Format(time.RFC3339), "expires_at": t0.Add(24 * time.Hour).Format(time.RFC3339),
				"job": gateJob, "unit": gateSerial, "serial": gateSerial,
				"sign_key": base64.StdEncoding.EncodeToString(otherUnitKey.Public().(ed25519.PublicKey))}, g.sam.id.Sign))
			return g.countersigned(c, gateUnitKey)
		}, "signature 2 is by key"},
		{"signer revoked", func(g *courierGate) []byte {
			g.pair("p1", gateSerial, gateUnitKey)
			g.put(g.countersigned(c, gateUnitKey))
			g.notice("n1", c.ID, t0.Add(-30*time.Minute))
			if _, err := g.store.RevokeUser(context.Background(), "sam", t0); err != nil {
				g.t.Fatal(err)
			}
			return nil
		}, "revoked"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := newCourierGate(t)
			if wire := tt.setup(g); wire != nil {
				g.put(wire)
				g.notice("n1", c.ID, t0.Add(-30*time.Minute))
			}
			g.afterDue()
			u := g.status(gateSerial)
			if u.Verified || u.Allowed || u.State != hub.CourierOff || u.Consent != c.ID ||
				!strings.HasPrefix(u.Reason, "consent does not verify: ") || !strings.Contains(u.Reason, tt.say) {
				t.Errorf("courier state = %+v, want off: consent does not verify: …%s…", u, tt.say)
			}
			_, err := g.admin.EnableCourier(context.Background(), gateSerial)
			if !errors.Is(err, hub.ErrCourierGate) || !strings.Contains(err.Error(), "consent does not verify") {
				t.Errorf("enable = %v, want refused by the gate", err)
			}
		})
	}
}

// A newer consent that does not verify is passed over: the gate reads the
// newest one that does, and says it passed one over.
func TestCourierGateIgnoresNewerUnverifiedConsent(t *testing.T) {
	g := newCourierGate(t)
	g.pair("p1", gateSerial, gateUnitKey)
	good := consentOf(t, gateFacts(), t0.Add(-2*time.Hour), 1)
	g.put(g.countersigned(good, gateUnitKey))
	g.notice("n1", good.ID, t0.Add(-90*time.Minute))
	f := gateFacts()
	f.Notice.Due = "2026-11-26"
	forged := consentOf(t, f, t0.Add(-time.Hour), 2)
	g.put(g.installerOnly(forged))
	g.notice("n2", forged.ID, t0.Add(-30*time.Minute))

	g.clock.Advance(2 * 24 * time.Hour) // past the forged date, before the real one
	u := g.status(gateSerial)
	if u.Consent != good.ID || !u.Verified || u.Allowed || !strings.Contains(u.Reason, "runs until 2026-12-01") ||
		!strings.Contains(u.Reason, "consent "+forged.ID+" does not verify") || len(u.Ignored) != 1 {
		t.Errorf("courier state = %+v, want the verified consent, awaiting its date, the forged one ignored", u)
	}
}

// Only notices of the verified consent, complete, and given after it was
// signed count.
func TestCourierGateCountsOnlyTheConsentsNotices(t *testing.T) {
	signed := t0.Add(-time.Hour)
	tests := []struct {
		name   string
		notice func(g *courierGate, c consent.Consent)
	}{
		{"notice of another consent", func(g *courierGate, c consent.Consent) {
			g.notice("n1", "c0a5e47e-0000-4000-8000-000000000001", signed.Add(time.Minute))
		}},
		{"notice given before the consent", func(g *courierGate, c consent.Consent) {
			g.notice("n1", c.ID, signed.Add(-time.Second))
		}},
		{"posted notice without a photo", func(g *courierGate, c consent.Consent) {
			g.notice("n1", c.ID, signed.Add(time.Minute), func(r *notice.Record) { r.PhotoSHA256 = "" })
		}},
		{"notice of an unknown way", func(g *courierGate, c consent.Consent) {
			g.notice("n1", c.ID, signed.Add(time.Minute), func(r *notice.Record) { r.How = "told" })
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := newCourierGate(t)
			g.pair("p1", gateSerial, gateUnitKey)
			c := consentOf(t, gateFacts(), signed, 1)
			g.put(g.countersigned(c, gateUnitKey))
			tt.notice(g, c)
			g.afterDue()
			u := g.status(gateSerial)
			if !u.Verified || u.Allowed || u.State != hub.CourierAwaiting || !strings.Contains(u.Reason, "no notice recorded") {
				t.Errorf("courier state = %+v, want awaiting tenant notice: no notice recorded", u)
			}
			if _, err := g.admin.EnableCourier(context.Background(), gateSerial); !errors.Is(err, hub.ErrCourierGate) {
				t.Errorf("enable = %v, want refused by the gate", err)
			}
			// The notice of this consent opens it.
			g.notice("n2", c.ID, signed)
			if u := g.status(gateSerial); !u.Allowed || !u.GivenAt.Equal(signed) {
				t.Errorf("with a notice given as the consent was signed: %+v", u)
			}
		})
	}
}

func TestCourierGateClosesOnExpiryAndRevocation(t *testing.T) {
	f := gateFacts()
	f.TermDays = consent.MinTermDays
	setup := func(t *testing.T) (*courierGate, consent.Consent) {
		g := newCourierGate(t)
		g.pair("p1", gateSerial, gateUnitKey)
		c := consentOf(t, f, t0.Add(-time.Hour), 1)
		g.put(g.countersigned(c, gateUnitKey))
		g.notice("n1", c.ID, t0.Add(-30*time.Minute))
		g.afterDue()
		if _, err := g.admin.EnableCourier(context.Background(), gateSerial); err != nil {
			t.Fatal(err)
		}
		return g, c
	}
	t.Run("expired", func(t *testing.T) {
		g, c := setup(t)
		g.clock.Advance(c.ExpiresAt.Sub(g.clock.Now()) - time.Second)
		if u := g.status(gateSerial); u.State != hub.CourierOn || !u.Allowed {
			t.Errorf("a second before expiry: %+v", u)
		}
		g.clock.Advance(time.Second) // now == expires_at
		u := g.status(gateSerial)
		if u.State != hub.CourierOff || u.Allowed || !u.Expired || !strings.Contains(u.Reason, "the consent expired on "+c.ExpiresAt.Format("2006-01-02")) {
			t.Errorf("at expiry: %+v", u)
		}
		if _, err := g.admin.EnableCourier(context.Background(), gateSerial); !errors.Is(err, hub.ErrCourierGate) || !strings.Contains(err.Error(), "expired") {
			t.Errorf("enable after expiry = %v", err)
		}
	})
	t.Run("revoked", func(t *testing.T) {
		g, c := setup(t)
		now := g.clock.Now()
		g.put(sign(t, record.KindRevocation, rec{"id": "r1", "created_at": now.Add(-time.Minute).Format(time.RFC3339),
			"expires_at": now.Add(24 * time.Hour).Format(time.RFC3339), "job": gateJob, "unit": gateSerial, "consent": c.ID}, g.sam.id.Sign))
		u := g.status(gateSerial)
		if u.State != hub.CourierOff || u.Allowed || !u.Revoked || u.Reason != "the consent was revoked" {
			t.Errorf("after revocation: %+v", u)
		}
		if _, err := g.admin.EnableCourier(context.Background(), gateSerial); !errors.Is(err, hub.ErrCourierGate) {
			t.Errorf("enable after revocation = %v", err)
		}
	})
}
