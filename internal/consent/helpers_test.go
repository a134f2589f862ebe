package consent_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/consent"
	"github.com/latchkey/latchkey/internal/record"
)

// now is the fixed clock of the tests.
var now = time.Date(2026, 11, 25, 15, 4, 5, 0, time.UTC)

// Test keys: a test peer plays the unit with a real Ed25519 key.
var (
	installerKey = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{1}, ed25519.SeedSize))
	unitKey      = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{2}, ed25519.SeedSize))
	installerPub = installerKey.Public().(ed25519.PublicKey)
	unitPub      = unitKey.Public().(ed25519.PublicKey)
)

// rnd is a fixed source for record ids.
func rnd() *bytes.Reader { return bytes.NewReader(bytes.Repeat([]byte{0x5a}, 64)) }

func facts() consent.Facts {
	return consent.Facts{
		Job:       "job-7",
		Operator:  "Parcelway Inc.",
		Installer: "ana",
		Building:  consent.Building{Name: "Maple Court", Address: "12 Maple St, Brooklyn, NY 11201"},
		Doors: []consent.Door{
			{Name: "lobby", Hours: "Mon-Sat 08:00-20:00"},
			{Name: "side gate", Hours: "Mon-Fri 09:00-17:00"},
		},
		Logging:   consent.Logging{Events: []string{consent.EventDoorOpen, consent.EventTamper}, RetentionDays: 30},
		Notice:    consent.Notice{By: consent.NoticeByManager, How: []string{consent.NoticePosted, consent.NoticeEmailed}, Due: "2026-12-02"},
		Incentive: "gift-card:100:USD",
		Revoke:    "call 212-555-0100 or write to revoke@parcelway.example",
		Unit: consent.Unit{
			Serial:      "LK-00042",
			Attestation: strings.Repeat("ab", 32),
			Nonce:       base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32)),
		},
		Receipts: []consent.Receipt{
			{Door: "lobby", Slot: 0, KCV: "a1b2c3"},
			{Door: "side gate", Slot: 1, KCV: "d4e5f6"},
		},
		Survey:   strings.Repeat("cd", 32),
		Captured: consent.Wizard,
	}
}

func signer(t testing.TB, terms consent.Text) consent.Signer {
	t.Helper()
	return consent.Signer{Name: "María Ortiz", Title: "Property manager", Authority: consent.ManagingAgent,
		Intent: terms.Intent, SignedAt: now.Add(-2 * time.Minute)}
}

// built returns a valid consent and the terms it was built from.
func built(t testing.TB, lang string) (consent.Consent, consent.Text) {
	t.Helper()
	f := facts()
	terms, err := consent.TermsFor(consent.CurrentVersion, lang, f)
	if err != nil {
		t.Fatal(err)
	}
	c, err := consent.Build(f, signer(t, terms), terms, now, rnd())
	if err != nil {
		t.Fatal(err)
	}
	return c, terms
}

// fakeUnit countersigns as a unit does: Ed25519 over exactly the message,
// after checking it is a latchkey PAE.
type fakeUnit struct {
	key   ed25519.PrivateKey
	wrong bool // sign something else
	got   []byte
}

func (u *fakeUnit) Countersign(_ context.Context, msg []byte) ([]byte, error) {
	u.got = bytes.Clone(msg)
	if !bytes.HasPrefix(msg, []byte("DSSEv1 ")) || !bytes.Contains(msg, []byte(" application/vnd.latchkey.")) {
		return nil, errNotDSSE
	}
	if u.wrong {
		return ed25519.Sign(u.key, append(bytes.Clone(msg), 'x')), nil
	}
	return ed25519.Sign(u.key, msg), nil
}

type errString string

func (e errString) Error() string { return string(e) }

const errNotDSSE = errString("not a DSSE PAE")

// signed returns a valid consent envelope in its JSON form.
func signed(t testing.TB) ([]byte, record.Envelope, consent.Consent, consent.Text) {
	t.Helper()
	c, terms := built(t, "en")
	env, err := consent.Sign(context.Background(), c, installerKey, &fakeUnit{key: unitKey}, unitPub)
	if err != nil {
		t.Fatal(err)
	}
	wire, err := json.Marshal(env)
	if err != nil {
		t.Fatal(err)
	}
	return wire, env, c, terms
}
