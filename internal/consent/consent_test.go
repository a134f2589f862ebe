package consent_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/consent"
	"github.com/latchkey/latchkey/internal/record"
)

func TestBuild(t *testing.T) {
	t.Parallel()
	c, terms := built(t, "en")
	if c.ID != "5a5a5a5a-5a5a-4a5a-9a5a-5a5a5a5a5a5a" {
		t.Errorf("ID = %q, want the UUID drawn from the injected rand", c.ID)
	}
	if !c.CreatedAt.Equal(now) || !c.ExpiresAt.Equal(now.AddDate(0, 0, consent.DefaultTermDays)) {
		t.Errorf("times = %s, %s", c.CreatedAt, c.ExpiresAt)
	}
	if c.Job != "job-7" || c.Unit != "LK-00042" || c.UnitInfo.Serial != "LK-00042" || c.Who != consent.WhoCouriers {
		t.Errorf("header/unit = %+v", c.Header)
	}
	if c.Terms != (consent.TermsRef{Version: "v1", Lang: "en", SHA256: terms.SHA256}) || terms.SHA256 != consent.SHA256([]byte(terms.Body)) {
		t.Errorf("Terms = %+v, text hash %s", c.Terms, terms.SHA256)
	}
	if c.Incentive != "gift-card:100:USD" || c.Captured != consent.Wizard {
		t.Errorf("incentive %q captured %q", c.Incentive, c.Captured)
	}
}

func TestBuildValidation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		facts  func(*consent.Facts)
		signer func(*consent.Signer)
		want   string // in the error
	}{
		{"no doors", func(f *consent.Facts) { f.Doors = nil; f.Receipts = nil }, nil, "doors"},
		{"door twice", func(f *consent.Facts) { f.Doors[1].Name = "lobby" }, nil, "given twice"},
		{"door without receipt", func(f *consent.Facts) { f.Receipts = f.Receipts[:1] }, nil, `no burn receipt for door "side gate"`},
		{"receipt for unknown door", func(f *consent.Facts) { f.Receipts[1].Door = "roof" }, nil, "not among the doors"},
		{"receipt without kcv", func(f *consent.Facts) { f.Receipts[0].KCV = "" }, nil, "kcv"},
		{"kcv upper case", func(f *consent.Facts) { f.Receipts[0].KCV = "A1B2C3" }, nil, "kcv"},
		{"same slot twice", func(f *consent.Facts) { f.Receipts[1].Slot = 0 }, nil, "slot"},
		{"door without hours", func(f *consent.Facts) { f.Doors[0].Hours = "" }, nil, "doors[0].hours"},
		{"bad incentive", func(f *consent.Facts) { f.Incentive = "lots" }, nil, "incentive"},
		{"empty incentive", func(f *consent.Facts) { f.Incentive = "" }, nil, "incentive"},
		{"incentive in another currency form", func(f *consent.Facts) { f.Incentive = "gift-card:100:XXQ" }, nil, "incentive"},
		{"notice today", func(f *consent.Facts) { f.Notice.Due = "2026-11-25" }, nil, "notice.due"},
		{"notice in the past", func(f *consent.Facts) { f.Notice.Due = "2026-11-01" }, nil, "notice.due"},
		{"notice too late", func(f *consent.Facts) { f.Notice.Due = "2026-12-26" }, nil, "more than 30 days"},
		{"notice not a date", func(f *consent.Facts) { f.Notice.Due = "next week" }, nil, "notice.due"},
		{"notice by nobody", func(f *consent.Facts) { f.Notice.By = "" }, nil, "notice.by"},
		{"notice how missing", func(f *consent.Facts) { f.Notice.How = nil }, nil, "notice.how"},
		{"notice how unknown", func(f *consent.Facts) { f.Notice.How = []string{"carrier pigeon"} }, nil, "notice.how"},
		{"notice how repeated", func(f *consent.Facts) { f.Notice.How = []string{"posted", "posted"} }, nil, "notice.how"},
		{"door.open not logged", func(f *consent.Facts) { f.Logging.Events = []string{consent.EventTamper} }, nil, "logging.events"},
		{"retention zero", func(f *consent.Facts) { f.Logging.RetentionDays = 0 }, nil, "retention"},
		{"retention too long", func(f *consent.Facts) { f.Logging.RetentionDays = 91 }, nil, "retention"},
		{"no revoke", func(f *consent.Facts) { f.Revoke = "" }, nil, "revoke"},
		{"no operator", func(f *consent.Facts) { f.Operator = "" }, nil, "operator"},
		{"building with a line break", func(f *consent.Facts) { f.Building.Name = "Maple\n# Court" }, nil, "building.name"},
		{"building with invalid UTF-8", func(f *consent.Facts) { f.Building.Name = "Maple \xff" }, nil, "UTF-8"},
		{"building with an escape", func(f *consent.Facts) { f.Building.Name = "Maple \x1b[2J" }, nil, "control"},
		{"building with a placeholder", func(f *consent.Facts) { f.Building.Name = "{{operator}}" }, nil, "placeholder"},
		{"bad attestation", func(f *consent.Facts) { f.Unit.Attestation = "abc" }, nil, "attestation"},
		{"bad nonce", func(f *consent.Facts) { f.Unit.Nonce = "AAAA" }, nil, "pairing_nonce"},
		{"bad survey hash", func(f *consent.Facts) { f.Survey = "" }, nil, "survey"},
		{"bad serial", func(f *consent.Facts) { f.Unit.Serial = "LK 42" }, nil, "serial"},
		{"no job", func(f *consent.Facts) { f.Job = "" }, nil, "job"},
		{"captured unknown", func(f *consent.Facts) { f.Captured = "phone" }, nil, "captured"},
		{"term too short", func(f *consent.Facts) { f.TermDays = 7 }, nil, "term"},
		{"authority unknown", nil, func(s *consent.Signer) { s.Authority = "tenant" }, "authority"},
		{"authority empty", nil, func(s *consent.Signer) { s.Authority = "" }, "authority"},
		{"no name", nil, func(s *consent.Signer) { s.Name = "" }, "signer.name"},
		{"no title", nil, func(s *consent.Signer) { s.Title = "" }, "signer.title"},
		{"intent paraphrased", nil, func(s *consent.Signer) { s.Intent = "I agree." }, "signer.intent"},
		{"signed in the future", nil, func(s *consent.Signer) { s.SignedAt = now.Add(time.Minute) }, "signed_at"},
		{"signed yesterday", nil, func(s *consent.Signer) { s.SignedAt = now.Add(-24 * time.Hour) }, "signed_at"},
		{"not signed", nil, func(s *consent.Signer) { s.SignedAt = time.Time{} }, "signed_at"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := facts()
			if tt.facts != nil {
				tt.facts(&f)
			}
			terms, err := consent.TermsFor("v1", "en", f)
			if err != nil {
				if !errors.Is(err, consent.ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("TermsFor: %v; want ErrInvalid mentioning %q", err, tt.want)
				}
				return
			}
			s := signer(t, terms)
			if tt.signer != nil {
				tt.signer(&s)
			}
			c, err := consent.Build(f, s, terms, now, rnd())
			if !errors.Is(err, consent.ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Build = %+v, %v; want ErrInvalid mentioning %q", c.Header, err, tt.want)
			}
		})
	}
}

// TestBuildTermsMustMatch refuses a terms text rendered for other facts:
// the hash in the record must be of what the signer read.
func TestBuildTermsMustMatch(t *testing.T) {
	t.Parallel()
	f := facts()
	other := facts()
	other.Incentive = "none"
	terms, err := consent.TermsFor("v1", "en", other)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := consent.Build(f, signer(t, terms), terms, now, rnd()); !errors.Is(err, consent.ErrInvalid) {
		t.Fatalf("Build with terms for other facts: %v, want ErrInvalid", err)
	}
	good, _ := consent.TermsFor("v1", "en", f)
	edited := good
	edited.Body += "\nAnd the operator may also enter at night."
	if _, err := consent.Build(f, signer(t, good), edited, now, rnd()); !errors.Is(err, consent.ErrInvalid) {
		t.Fatalf("Build with edited terms: %v, want ErrInvalid", err)
	}
}

// TestTermsHashFollowsFacts changes each fact the signer agrees to and
// expects a different text and hash.
func TestTermsHashFollowsFacts(t *testing.T) {
	t.Parallel()
	base, err := consent.TermsFor("v1", "en", facts())
	if err != nil {
		t.Fatal(err)
	}
	changes := map[string]func(*consent.Facts){
		"building":   func(f *consent.Facts) { f.Building.Name = "Oak Court" },
		"address":    func(f *consent.Facts) { f.Building.Address = "14 Maple St" },
		"door":       func(f *consent.Facts) { f.Doors[1].Name = "back door" },
		"hours":      func(f *consent.Facts) { f.Doors[0].Hours = "every day 00:00-24:00" },
		"incentive":  func(f *consent.Facts) { f.Incentive = "none" },
		"amount":     func(f *consent.Facts) { f.Incentive = "gift-card:500:USD" },
		"retention":  func(f *consent.Facts) { f.Logging.RetentionDays = 90 },
		"logged":     func(f *consent.Facts) { f.Logging.Events = append(f.Logging.Events, consent.EventHealth) },
		"notice by":  func(f *consent.Facts) { f.Notice.By = consent.NoticeByOperator },
		"notice how": func(f *consent.Facts) { f.Notice.How = []string{consent.NoticeMailed} },
		"notice due": func(f *consent.Facts) { f.Notice.Due = "2026-12-20" },
		"revoke":     func(f *consent.Facts) { f.Revoke = "email the operator" },
		"operator":   func(f *consent.Facts) { f.Operator = "Other Co" },
		"term":       func(f *consent.Facts) { f.TermDays = 90 },
	}
	for name, change := range changes {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f := facts()
			change(&f)
			got, err := consent.TermsFor("v1", "en", f)
			if err != nil {
				t.Fatal(err)
			}
			if got.SHA256 == base.SHA256 || got.Body == base.Body || got.Intent == base.Intent {
				t.Errorf("changing %s left the terms hash %s", name, got.SHA256)
			}
			if got.SHA256 != consent.SHA256([]byte(got.Body)) {
				t.Errorf("hash %s is not of the body", got.SHA256)
			}
		})
	}
	again, _ := consent.TermsFor("v1", "en", facts())
	if again != base {
		t.Error("TermsFor is not deterministic")
	}
}

func TestTermsContent(t *testing.T) {
	t.Parallel()
	tests := []struct {
		lang string
		want []string
	}{
		{"en", []string{
			"# Door access consent for Maple Court", "- lobby: Mon-Sat 08:00-20:00", "- side gate: Mon-Fri 09:00-17:00",
			"gift card worth 100 USD", "no later than 2026-12-02", "kept for 30 days", "call 212-555-0100",
			"## Data collected", "## Third parties", "## Safeguards", "## Retention schedule", "## Breach notification",
			"## Destruction", "## How access is added and removed", "## How to revoke", "paper copy",
			"a notice posted in the lobby, or email to each tenant", "serial LK-00042",
		}},
		{"es", []string{
			"# Consentimiento de acceso por la puerta de Maple Court", "- lobby: Mon-Sat 08:00-20:00",
			"tarjeta regalo por valor de 100 USD", "a más tardar el 2026-12-02", "se guardan 30 días",
			"## Datos recopilados", "## Terceros", "## Medidas de seguridad", "## Plazos de conservación",
			"## Aviso de brechas de seguridad", "## Destrucción", "## Cómo se añade y se quita el acceso",
			"## Cómo revocar", "copia en papel", "La administración del edificio", "un aviso colocado en el vestíbulo, o un correo electrónico a cada inquilino",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.lang, func(t *testing.T) {
			t.Parallel()
			got, err := consent.TermsFor("v1", tt.lang, facts())
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tt.want {
				if !strings.Contains(got.Body, w) {
					t.Errorf("%s terms lack %q", tt.lang, w)
				}
			}
			if strings.Contains(got.Body, "{{") || strings.Contains(got.Intent, "%!") || !strings.Contains(got.Intent, got.SHA256) {
				t.Errorf("unfilled placeholder or bad intent: %q", got.Intent)
			}
		})
	}
	es, _ := consent.TermsFor("v1", "es", facts())
	if c, err := consent.Build(facts(), signer(t, es), es, now, rnd()); err != nil || c.Terms.Lang != "es" {
		t.Errorf("Build with Spanish terms: %+v, %v", c.Terms, err)
	}
	for _, bad := range [][2]string{{"v2", "en"}, {"v1", "fr"}, {"", ""}} {
		if _, err := consent.TermsFor(bad[0], bad[1], facts()); !errors.Is(err, consent.ErrNoTerms) {
			t.Errorf("TermsFor(%q, %q) = %v, want ErrNoTerms", bad[0], bad[1], err)
		}
	}
	if err := consent.CheckWords(); err != nil {
		t.Error(err)
	}
}

func TestBuildRevocation(t *testing.T) {
	t.Parallel()
	c, _ := built(t, "en")
	later := now.Add(48 * time.Hour)
	tests := []struct {
		name   string
		reason string
		by     consent.Revoker
		at     time.Time
		ok     bool
	}{
		{"by the manager", "tenants objected", consent.Revoker{Name: "María Ortiz", Role: "managing-agent"}, later, true},
		{"by the operator", "unit removed", consent.Revoker{Name: "Parcelway support", Role: "operator"}, later, true},
		{"no reason", "", consent.Revoker{Name: "María Ortiz", Role: "owner"}, later, false},
		{"unknown role", "x", consent.Revoker{Name: "A Tenant", Role: "tenant"}, later, false},
		{"no name", "x", consent.Revoker{Role: "owner"}, later, false},
		{"before the consent", "x", consent.Revoker{Name: "María Ortiz", Role: "owner"}, now.Add(-time.Hour), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r, err := consent.BuildRevocation(c, tt.reason, tt.by, tt.at, rnd())
			if !tt.ok {
				if !errors.Is(err, consent.ErrInvalid) {
					t.Fatalf("BuildRevocation = %+v, %v; want ErrInvalid", r, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if r.Consent != c.ID || r.Job != c.Job || r.Unit != c.Unit || !r.RevokedAt.Equal(tt.at) || r.By != tt.by {
				t.Errorf("revocation = %+v", r)
			}
			env, err := record.Sign(record.KindRevocation, r, installerKey, record.KeyID(installerPub))
			if err != nil {
				t.Fatal(err)
			}
			body, _ := env.Body()
			for _, k := range []string{`"consent":"` + c.ID + `"`, `"revoked_at":"2026-11-27T15:04:05Z"`, `"reason":`, `"by":{"name":`} {
				if !strings.Contains(string(body), k) {
					t.Errorf("revocation payload %s lacks %s", body, k)
				}
			}
			if h, err := env.Header(); err != nil || h.ID != r.ID {
				t.Errorf("header %+v, %v", h, err)
			}
		})
	}
	if !slices.Contains(consent.RevokerRoles(), "operator") {
		t.Error("operator cannot revoke")
	}
}
