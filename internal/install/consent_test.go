package install_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/consent"
	"github.com/latchkey/latchkey/internal/device"
	"github.com/latchkey/latchkey/internal/install"
	"github.com/latchkey/latchkey/internal/journal"
	"github.com/latchkey/latchkey/internal/outbox"
	"github.com/latchkey/latchkey/internal/packet"
	"github.com/latchkey/latchkey/internal/provision"
	"github.com/latchkey/latchkey/internal/record"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/survey"
)

var (
	consentNow   = time.Date(2026, 11, 25, 15, 0, 0, 0, time.UTC)
	installerKey = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{1}, ed25519.SeedSize))
	unitKey      = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{2}, ed25519.SeedSize))
	otherUnitKey = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{3}, ed25519.SeedSize))
)

// Fakes of what consent's facts come from.
type (
	fakeJobs     struct{ job install.Job }
	fakePairings struct{ p *provision.Pairing }
	fakeReceipts struct {
		res  provision.BurnResult
		done bool
	}
	fakeSurveys struct {
		s   *install.Saved
		err error
	}
)

func (f fakeJobs) Get(_ context.Context, ref string) (install.Job, error) {
	if ref != f.job.ID {
		return install.Job{}, install.ErrJobNotFound
	}
	return f.job, nil
}

func (f fakePairings) Paired(_ context.Context, job string) (provision.Pairing, error) {
	if f.p == nil {
		return provision.Pairing{}, fmt.Errorf("job %s: %w; run 'latchkey pair --job %s' first", job, provision.ErrNotPaired, job)
	}
	return *f.p, nil
}

func (f fakeReceipts) Finished(context.Context, string) (provision.BurnResult, bool, error) {
	return f.res, f.done, nil
}

func (f fakeSurveys) Get(context.Context, string) (install.Saved, error) {
	if f.s == nil {
		return install.Saved{}, fmt.Errorf("%w; write one with 'latchkey survey new'", install.ErrNoSurvey)
	}
	return *f.s, f.err
}

// fakeUnit countersigns with key and says it is serial.
type fakeUnit struct {
	serial string
	key    ed25519.PrivateKey
}

func (u fakeUnit) Identity(context.Context) (device.Identity, error) {
	return device.Identity{Serial: u.serial, SignKey: u.key.Public().(ed25519.PublicKey)}, nil
}

func (u fakeUnit) Countersign(_ context.Context, msg []byte) ([]byte, error) {
	return ed25519.Sign(u.key, msg), nil
}

// goSurvey is a survey the rules say go to: the template made for the job,
// with the signal measured.
func goSurvey(t *testing.T, job string, doors []string) install.Saved {
	t.Helper()
	tmpl, err := survey.TemplateFor(job, doors)
	if err != nil {
		t.Fatal(err)
	}
	s, err := survey.Parse(tmpl, survey.FormatYAML)
	if err != nil {
		t.Fatal(err)
	}
	rssi := -60
	s = survey.WithSignal(s, survey.Signal{Unit: "LK-00042", RSSIDBm: &rssi, MeasuredAt: consentNow})
	if err := survey.Evaluate(s).Err(); err != nil {
		t.Fatalf("the test survey does not say go: %v", err)
	}
	return install.Saved{Job: job, Survey: s, Hash: strings.Repeat("cd", 32)}
}

func sources(t *testing.T) (install.ConsentSources, *fakePairings, *fakeReceipts, *fakeSurveys) {
	job := install.Job{Job: packet.Job{ID: "job-7", Building: "Maple Court", Address: "12 Maple St", Doors: []string{"lobby", "garage"},
		Incentive: "gift-card:100:USD", Terms: "v1", Installer: "sam"}}
	p := &fakePairings{p: &provision.Pairing{Job: "job-7", Serial: "LK-00042", UnitCert: strings.Repeat("ab", 32),
		Nonce: bytes.Repeat([]byte{7}, 32), SignKey: unitKey.Public().(ed25519.PublicKey)}}
	r := &fakeReceipts{done: true, res: provision.BurnResult{Job: "job-7", Serial: "LK-00042", Slots: []provision.SlotResult{
		{Slot: 0, Door: "lobby", KCV: "a1b2c3"}, {Slot: 1, Door: "garage", KCV: "d4e5f6"}}}}
	sv := goSurvey(t, "job-7", job.Doors)
	s := &fakeSurveys{s: &sv}
	return install.ConsentSources{Jobs: fakeJobs{job}, Pairings: p, Receipts: r, Surveys: s}, p, r, s
}

var consentTerms = install.ConsentTerms{Operator: "Parcelway Inc.", Revoke: "call 212-555-0100", NoticeDue: "2026-12-02"}

func TestFactsFor(t *testing.T) {
	ctx := context.Background()
	src, _, _, _ := sources(t)
	b, err := install.FactsFor(ctx, src, "job-7", consentTerms)
	if err != nil {
		t.Fatal(err)
	}
	f := b.Facts
	if f.Doors[0] != (consent.Door{Name: "lobby", Hours: install.AnyHours}) || len(f.Receipts) != 2 || f.Receipts[1].KCV != "d4e5f6" ||
		f.Unit.Serial != "LK-00042" || f.Unit.Nonce != "BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=" || f.Notice.By != consent.NoticeByManager ||
		f.Logging.RetentionDays != install.ConsentRetentionDays || f.Captured != consent.Flags || b.TermsVersion != "v1" {
		t.Errorf("facts = %+v", f)
	}
	// What the facts make must be a consent the domain accepts.
	if _, err := consent.TermsFor(b.TermsVersion, "en", f); err != nil {
		t.Error(err)
	}

	tests := []struct {
		name   string
		break_ func(p *fakePairings, r *fakeReceipts, s *fakeSurveys)
		want   string
	}{
		{"no survey", func(_ *fakePairings, _ *fakeReceipts, s *fakeSurveys) { s.s = nil }, "survey new"},
		{"survey not go", func(_ *fakePairings, _ *fakeReceipts, s *fakeSurveys) {
			sv := *s.s
			sv.Survey.Signal = nil
			s.s = &sv
		}, "survey show"},
		{"not paired", func(p *fakePairings, _ *fakeReceipts, _ *fakeSurveys) { p.p = nil }, "latchkey pair"},
		{"not burned", func(_ *fakePairings, r *fakeReceipts, _ *fakeSurveys) { r.done = false }, "latchkey burn"},
		{"burned into another unit", func(_ *fakePairings, r *fakeReceipts, _ *fakeSurveys) { r.res.Serial = "LK-99999" }, "LK-99999"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src, p, r, s := sources(t)
			tt.break_(p, r, s)
			_, err := install.FactsFor(ctx, src, "job-7", consentTerms)
			if !errors.Is(err, install.ErrConsentNotReady) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("FactsFor = %v, want ErrConsentNotReady naming %q", err, tt.want)
			}
		})
	}
}

func newConsents(t *testing.T) (*install.Consents, *outbox.Outbox, *journal.Journal) {
	t.Helper()
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "latchkey.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	signer := func() (ed25519.PrivateKey, error) { return installerKey, nil }
	now := func() time.Time { return consentNow }
	j := journal.New(st, signer, now)
	ob := outbox.New(st, signer, now, rand.Reader, j)
	return install.NewConsents(st, ob, j, now), ob, j
}

func signRequest(t *testing.T, u install.ConsentUnit) install.SignRequest {
	t.Helper()
	src, _, _, _ := sources(t)
	b, err := install.FactsFor(context.Background(), src, "job-7", consentTerms)
	if err != nil {
		t.Fatal(err)
	}
	terms, err := consent.TermsFor(b.TermsVersion, "es", b.Facts)
	if err != nil {
		t.Fatal(err)
	}
	return install.SignRequest{Basis: b, Terms: terms, InstallerKey: installerKey, Unit: u,
		Signer: consent.Signer{Name: "María Ortiz", Title: "Administradora", Authority: consent.ManagingAgent, Intent: terms.Intent, SignedAt: consentNow},
		Rand:   bytes.NewReader(bytes.Repeat([]byte{5}, 64))}
}

func TestConsentsSignAndRevoke(t *testing.T) {
	ctx := context.Background()
	cs, ob, j := newConsents(t)
	if _, err := cs.Get(ctx, "job-7"); !errors.Is(err, install.ErrNoConsent) {
		t.Fatalf("Get before signing = %v", err)
	}
	s, env, err := cs.Sign(ctx, signRequest(t, fakeUnit{"LK-00042", unitKey}))
	if err != nil {
		t.Fatal(err)
	}
	if s.Lang != "es" || s.NoticeBy != "2026-12-02" || s.Unit != "LK-00042" || s.Revoked() {
		t.Errorf("stored = %+v", s)
	}
	// The record verifies with both keys and carries the journal head of
	// the consent.signing entry.
	wire, _ := json.Marshal(env)
	c, err := consent.Verify(wire, installerKey.Public().(ed25519.PublicKey), unitKey.Public().(ed25519.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	es, err := j.List(ctx, journal.Filter{Job: "job-7"})
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range es {
		actions = append(actions, e.Action)
		if e.Action == install.ActionConsentSigning && (c.Journal == nil || c.Journal.Seq != e.Seq || c.Journal.Hash != e.Hash) {
			t.Errorf("record journal = %+v, want the consent.signing entry %d %s", c.Journal, e.Seq, e.Hash)
		}
	}
	if got := strings.Join(actions, " "); got != "consent.signing record.queued consent.signed" {
		t.Errorf("journal = %s", got)
	}
	queued, err := ob.Get(ctx, c.ID)
	if err != nil || !bytes.Equal(queued.EnvelopeJSON(), s.Envelope) {
		t.Errorf("queued = %s, %v; want the stored envelope", queued.EnvelopeJSON(), err)
	}
	// The terms render again from the record alone.
	if terms, err := install.TermsOf(c); err != nil || terms.SHA256 != s.TermsSHA256 {
		t.Errorf("TermsOf = %v, %v", terms.SHA256, err)
	}

	// A second consent for the job is refused while this one holds.
	if _, _, err := cs.Sign(ctx, signRequest(t, fakeUnit{"LK-00042", unitKey})); !errors.Is(err, install.ErrConsented) {
		t.Errorf("second Sign = %v, want ErrConsented", err)
	}

	r1, r, err := cs.Revoke(ctx, "job-7", "the board withdrew consent", consent.Revoker{Name: "Ana Ruiz", Role: "board"}, bytes.NewReader(bytes.Repeat([]byte{6}, 64)))
	if err != nil {
		t.Fatal(err)
	}
	if !r1.Revoked() || r.Consent != c.ID || r1.Revocation != r.ID {
		t.Errorf("revoked = %+v, %+v", r1, r)
	}
	got, err := cs.Get(ctx, "job-7")
	if err != nil || !got.Revoked() || got.Revocation != r.ID {
		t.Errorf("Get after revoke = %+v, %v", got, err)
	}
	rq, err := ob.Get(ctx, r.ID)
	if err != nil || rq.Kind != record.KindRevocation {
		t.Errorf("revocation queued = %+v, %v", rq, err)
	}
	if _, _, err := cs.Revoke(ctx, "job-7", "again", consent.Revoker{Name: "x", Role: "operator"}, bytes.NewReader(bytes.Repeat([]byte{8}, 64))); !errors.Is(err, install.ErrConsentRevoked) {
		t.Errorf("second Revoke = %v, want ErrConsentRevoked", err)
	}
	// After a revocation a new consent may be signed.
	again := signRequest(t, fakeUnit{"LK-00042", unitKey})
	again.Rand = rand.Reader
	if _, _, err := cs.Sign(ctx, again); err != nil {
		t.Errorf("Sign after revocation = %v", err)
	}
}

func TestConsentsSignRefusesAnotherUnit(t *testing.T) {
	ctx := context.Background()
	for name, u := range map[string]fakeUnit{
		"other serial": {"LK-00043", unitKey},
		"other key":    {"LK-00042", otherUnitKey},
	} {
		t.Run(name, func(t *testing.T) {
			cs, ob, _ := newConsents(t)
			_, _, err := cs.Sign(ctx, signRequest(t, u))
			if !errors.Is(err, provision.ErrOtherUnit) {
				t.Errorf("Sign = %v, want ErrOtherUnit", err)
			}
			if c, _ := ob.Counts(ctx); c.Queued != 0 {
				t.Errorf("queued %d records for another unit", c.Queued)
			}
		})
	}
	// A unit that answers with its serial and key but countersigns with
	// another key is caught by the signature check.
	cs, ob, _ := newConsents(t)
	_, _, err := cs.Sign(ctx, signRequest(t, liar{fakeUnit{"LK-00042", unitKey}}))
	if !errors.Is(err, consent.ErrSignatures) {
		t.Errorf("Sign with a lying unit = %v, want ErrSignatures", err)
	}
	if c, _ := ob.Counts(ctx); c.Queued != 0 {
		t.Errorf("queued %d records from a lying unit", c.Queued)
	}
}

// liar reports the paired unit's identity but countersigns with another key.
type liar struct{ fakeUnit }

func (l liar) Countersign(_ context.Context, msg []byte) ([]byte, error) {
	return ed25519.Sign(otherUnitKey, msg), nil
}
