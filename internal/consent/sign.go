package consent

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/latchkey/latchkey/internal/record"
)

// PayloadType is the DSSE payload type of a consent.
var PayloadType = record.PayloadType(record.KindConsent)

// Errors Verify (and Sign) wrap.
var (
	// ErrPayloadType is an envelope whose payload type is not exactly
	// PayloadType.
	ErrPayloadType = errors.New("not a consent record")
	// ErrSignatures is an envelope not signed by exactly the installer's
	// and the unit's keys, two distinct keys, each signature verifying.
	ErrSignatures = errors.New("consent is not signed by both the installer and the unit")
	// ErrMalformed is an envelope or payload that does not parse strictly
	// as a consent: bad DSSE JSON, non-canonical or unknown fields, or a
	// consent that fails Check.
	ErrMalformed = errors.New("malformed consent record")
)

// Countersigner is the attached unit: it signs msg, a DSSE PAE, with its
// Ed25519 key (device.Unit.Countersign). It MUST sign exactly msg, and
// refuses a msg whose payload type is not a latchkey one.
type Countersigner interface {
	Countersign(ctx context.Context, msg []byte) ([]byte, error)
}

// Sign checks c, signs it with the installer's key and has the unit
// countersign the same PAE. The unit's signature is checked with unitKey,
// the key the unit proved at pairing, before the envelope is returned: a
// unit that signs with another key, or signs something else, is refused.
// The envelope's signatures are installer first, unit second.
func Sign(ctx context.Context, c Consent, installerKey ed25519.PrivateKey, unit Countersigner, unitKey ed25519.PublicKey) (record.Envelope, error) {
	if err := c.Check(); err != nil {
		return record.Envelope{}, fmt.Errorf("sign consent: %w", err)
	}
	if len(installerKey) != ed25519.PrivateKeySize || len(unitKey) != ed25519.PublicKeySize {
		return record.Envelope{}, fmt.Errorf("sign consent: %w: want an Ed25519 installer key and unit key", ErrSignatures)
	}
	installerPub := installerKey.Public().(ed25519.PublicKey)
	if installerPub.Equal(unitKey) {
		return record.Envelope{}, fmt.Errorf("sign consent: %w: the installer's key is the unit's key", ErrSignatures)
	}
	env, err := record.Sign(record.KindConsent, c, installerKey, record.KeyID(installerPub))
	if err != nil {
		return record.Envelope{}, fmt.Errorf("sign consent: %w", err)
	}
	pae, err := env.PAE()
	if err != nil {
		return record.Envelope{}, fmt.Errorf("sign consent: %w", err)
	}
	sig, err := unit.Countersign(ctx, pae)
	if err != nil {
		return record.Envelope{}, fmt.Errorf("sign consent: unit countersign: %w", err)
	}
	if len(sig) != ed25519.SignatureSize || !ed25519.Verify(unitKey, pae, sig) {
		return record.Envelope{}, fmt.Errorf("sign consent: %w: the unit's countersignature does not verify with the key it showed at pairing (key %s)", ErrSignatures, record.KeyID(unitKey))
	}
	if err := env.AddSignature(record.KeyID(unitKey), sig); err != nil {
		return record.Envelope{}, fmt.Errorf("sign consent: %w", err)
	}
	return env, nil
}

// Verify reads a consent envelope in its JSON form and returns the consent.
// In order: the envelope is decoded strictly (ErrMalformed); its payload
// type must be exactly PayloadType (ErrPayloadType); it must carry exactly
// two signatures, by installerKey then by unitKey, two distinct keys, each
// verifying over the PAE (ErrSignatures) — all before the
// payload is parsed at all; then the payload must be canonical JSON that
// parses into a Consent with no unknown field and encodes back to the same
// bytes, and pass Check (ErrMalformed).
func Verify(envJSON []byte, installerKey, unitKey ed25519.PublicKey) (Consent, error) {
	env, err := record.Decode(envJSON)
	if err != nil {
		return Consent{}, fmt.Errorf("verify consent: %w: %w", ErrMalformed, err)
	}
	if env.PayloadType != PayloadType {
		return Consent{}, fmt.Errorf("verify consent: %w: payload type %q (want %q)", ErrPayloadType, env.PayloadType, PayloadType)
	}
	if err := checkSignatures(env, installerKey, unitKey); err != nil {
		return Consent{}, fmt.Errorf("verify consent: %w", err)
	}
	// Only now, with both signatures good, is the payload read.
	keys := map[string]ed25519.PublicKey{record.KeyID(installerKey): installerKey, record.KeyID(unitKey): unitKey}
	if _, err := record.Verify(env, keys); err != nil {
		return Consent{}, fmt.Errorf("verify consent: %w: %w", ErrMalformed, err)
	}
	body, _ := env.Body() // record.Decode checked the base64
	c, err := Parse(body)
	if err != nil {
		return Consent{}, fmt.Errorf("verify consent: %w", err)
	}
	// The terms must be the very text its facts render to, and the signer's
	// statement the one that text asks for: a hash of any other text, or
	// another statement, is not what the manager read and confirmed.
	t, err := TermsFor(c.Terms.Version, c.Terms.Lang, FactsOf(c))
	if err != nil {
		return Consent{}, fmt.Errorf("verify consent: %w: %w", ErrMalformed, err)
	}
	if t.SHA256 != c.Terms.SHA256 {
		return Consent{}, fmt.Errorf("verify consent: %w: the terms its facts render to (SHA-256 %s) are not the ones it names (%s)", ErrMalformed, t.SHA256, c.Terms.SHA256)
	}
	if c.Signer.Intent != t.Intent {
		return Consent{}, fmt.Errorf("verify consent: %w: the signer's statement is not the one the terms ask for", ErrMalformed)
	}
	return c, nil
}

// FactsOf gives back the facts a consent was built from, so its terms can
// be rendered again and compared.
func FactsOf(c Consent) Facts {
	return Facts{
		Job: c.Job, Operator: c.Operator, Installer: c.Installer, Building: c.Building, Doors: c.Doors,
		Logging: c.Logging, Notice: c.Notice, Incentive: c.Incentive, Revoke: c.Revoke, Unit: c.UnitInfo,
		Receipts: c.Receipts, Survey: c.Survey, TermDays: int(c.ExpiresAt.Sub(c.CreatedAt).Hours() / 24),
		Captured: c.Captured,
	}
}

// checkSignatures requires exactly two signatures, the installer's first
// and the unit's second (the order Sign writes, which the manager's copy
// labels by), each verifying over env's PAE.
func checkSignatures(env record.Envelope, installerKey, unitKey ed25519.PublicKey) error {
	if len(installerKey) != ed25519.PublicKeySize || len(unitKey) != ed25519.PublicKeySize {
		return fmt.Errorf("%w: want two Ed25519 public keys", ErrSignatures)
	}
	if installerKey.Equal(unitKey) {
		return fmt.Errorf("%w: the installer's and the unit's key must differ", ErrSignatures)
	}
	if len(env.Signatures) != 2 {
		return fmt.Errorf("%w: %d signatures, want 2", ErrSignatures, len(env.Signatures))
	}
	body, err := env.Body()
	if err != nil {
		return fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	pae := record.PAE(env.PayloadType, body)
	for i, k := range []struct {
		who string
		pub ed25519.PublicKey
	}{{"installer", installerKey}, {"unit", unitKey}} {
		id, s := record.KeyID(k.pub), env.Signatures[i]
		if s.KeyID != id {
			return fmt.Errorf("%w: signature %d is by key %s, want the %s's key %s", ErrSignatures, i+1, s.KeyID, k.who, id)
		}
		sig, err := base64.StdEncoding.DecodeString(s.Sig)
		if err != nil || len(sig) != ed25519.SignatureSize || !ed25519.Verify(k.pub, pae, sig) {
			return fmt.Errorf("%w: the %s's signature (key %s) does not verify", ErrSignatures, k.who, id)
		}
	}
	return nil
}

// Parse reads a consent payload strictly: unknown fields are refused, and
// the payload must be exactly the canonical encoding of what was read
// (which also refuses field names in another case, repeated fields and
// other spellings of the same values), and the consent must pass Check.
// It does not verify anything: use Verify for an envelope. Errors wrap
// ErrMalformed.
func Parse(body []byte) (Consent, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	var c Consent
	if err := dec.Decode(&c); err != nil {
		return Consent{}, fmt.Errorf("%w: payload: %v", ErrMalformed, err)
	}
	again, err := c.Canonical()
	if err != nil {
		return Consent{}, fmt.Errorf("%w: payload: %v", ErrMalformed, err)
	}
	if !bytes.Equal(again, body) {
		return Consent{}, fmt.Errorf("%w: payload is not the canonical encoding of a consent (a field missing, spelt differently or given twice?)", ErrMalformed)
	}
	if err := c.Check(); err != nil {
		return Consent{}, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	return c, nil
}
