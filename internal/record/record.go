// Package record owns the signed form of every record that leaves the
// laptop: the record kinds and their DSSE payload types, RFC 8785 canonical
// JSON payloads, DSSE envelopes signed (and countersigned) with Ed25519, the
// pre-authentication encoding a unit countersigns, and the strict decoding
// and verification the back office runs before it stores a record.
//
// What a record says (a visit, a consent, …) belongs to the domain package
// that makes it; this package only seals and checks it, so one verifier
// serves every kind.
package record

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/gowebpki/jcs"
	"github.com/secure-systems-lab/go-securesystemslib/dsse"
)

// Kind names what a record is; it is part of the signed payload type, so a
// signature over a visit can never be passed off as a consent.
type Kind string

// The record kinds of the product (issue 5, intake).
const (
	KindVisit         Kind = "visit"
	KindSurvey        Kind = "survey"
	KindPairing       Kind = "pairing"
	KindReceipt       Kind = "receipt"
	KindConsent       Kind = "consent"
	KindNotice        Kind = "notice"
	KindRevocation    Kind = "revocation"
	KindDecommission  Kind = "decommission"
	KindInstallReport Kind = "install-report"
)

var kinds = []Kind{
	KindVisit, KindSurvey, KindPairing, KindReceipt, KindConsent,
	KindNotice, KindRevocation, KindDecommission, KindInstallReport,
}

// Kinds returns every record kind, in a fixed order.
func Kinds() []Kind { return slices.Clone(kinds) }

// Valid reports whether k is one of Kinds.
func (k Kind) Valid() bool { return slices.Contains(kinds, k) }

const (
	typePrefix = "application/vnd.latchkey."
	typeSuffix = "+json"
)

// PayloadType returns the DSSE payload type of a kind:
// application/vnd.latchkey.<kind>+json (DESIGN.md, security model). It is
// the prefix the unit insists on before it countersigns.
func PayloadType(k Kind) string { return typePrefix + string(k) + typeSuffix }

// KindOf returns the kind a payload type names. The error wraps
// ErrPayloadType for any type that is not PayloadType of a known kind.
func KindOf(payloadType string) (Kind, error) {
	rest, ok := strings.CutPrefix(payloadType, typePrefix)
	if ok {
		rest, ok = strings.CutSuffix(rest, typeSuffix)
	}
	if !ok || !Kind(rest).Valid() {
		return "", fmt.Errorf("%w: %q", ErrPayloadType, payloadType)
	}
	return Kind(rest), nil
}

// Errors a record is refused with. Each is wrapped with detail.
var (
	// ErrMalformed is an envelope that is not well-formed DSSE JSON as
	// Decode accepts it: unknown or duplicate fields, bad base64, too large.
	ErrMalformed = errors.New("malformed record envelope")
	// ErrPayloadType is a payload type that names no latchkey record kind.
	ErrPayloadType = errors.New("not a latchkey record type")
	// ErrNotCanonical is a payload that is not RFC 8785 canonical JSON of
	// an object: the signed bytes must be the only encoding of the record.
	ErrNotCanonical = errors.New("record payload is not canonical JSON")
	// ErrUnsigned is an envelope without signatures.
	ErrUnsigned = errors.New("record is not signed")
	// ErrBadSignature is a signature that does not verify with the key its
	// key id names: the record or the signature was altered.
	ErrBadSignature = errors.New("bad record signature")
	// ErrUnknownKey is an envelope none of whose signatures is by a key the
	// verifier knows.
	ErrUnknownKey = errors.New("record signed by no known key")
)

const (
	// MaxEnvelope bounds the encoded envelope Decode accepts. Records carry
	// text and hashes, not photos; 1 MiB leaves room for long surveys.
	MaxEnvelope = 1 << 20
	// MaxSignatures bounds the signatures of one envelope, so a hostile one
	// cannot make the verifier spend on thousands of Ed25519 checks. A
	// record has a signer and perhaps a unit's countersignature.
	MaxSignatures = 8
)

// Envelope is a DSSE envelope in its JSON form
// (https://github.com/secure-systems-lab/dsse/blob/master/envelope.md).
// Encode it with json.Marshal; read one with Decode.
type Envelope struct {
	PayloadType string `json:"payloadType"`
	// Payload is the standard (padded) base64 of the canonical JSON record.
	Payload    string      `json:"payload"`
	Signatures []Signature `json:"signatures"`
}

// Signature is one DSSE signature: Sig is the standard base64 of an Ed25519
// signature over the envelope's PAE, by the key KeyID names.
type Signature struct {
	KeyID string `json:"keyid"`
	Sig   string `json:"sig"`
}

// KeyID names an Ed25519 public key in envelopes: the lower-case hex
// SHA-256 of its 32 raw bytes. Users, units and the hub all use it.
func KeyID(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return hex.EncodeToString(sum[:])
}

// Canonical encodes v as RFC 8785 canonical JSON: json.Marshal, then the
// JSON Canonicalization Scheme (sorted keys, ECMAScript number form, minimal
// string escapes), so equal records always have equal bytes.
func Canonical(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("canonical json: %w", err)
	}
	c, err := jcs.Transform(b)
	if err != nil {
		return nil, fmt.Errorf("canonical json: %w", err)
	}
	return c, nil
}

// PAE returns the DSSE pre-authentication encoding, the bytes every
// signature covers (DSSE protocol, "Signature definition"):
//
//	"DSSEv1" SP LEN(type) SP type SP LEN(body) SP body
func PAE(payloadType string, body []byte) []byte { return dsse.PAE(payloadType, body) }

// Body returns the decoded payload: the record's canonical JSON.
func (e Envelope) Body() ([]byte, error) {
	b, err := decode64(e.Payload)
	if err != nil {
		return nil, fmt.Errorf("%w: payload: %v", ErrMalformed, err)
	}
	return b, nil
}

// Kind returns the kind the envelope's payload type names.
func (e Envelope) Kind() (Kind, error) { return KindOf(e.PayloadType) }

// PAE returns the bytes the envelope's signatures cover, which is also
// what a unit is asked to countersign.
func (e Envelope) PAE() ([]byte, error) {
	body, err := e.Body()
	if err != nil {
		return nil, err
	}
	return PAE(e.PayloadType, body), nil
}

// Sign makes the envelope of record v of kind k, signed by key under keyID
// (normally KeyID of its public half).
func Sign(k Kind, v any, key ed25519.PrivateKey, keyID string) (Envelope, error) {
	if !k.Valid() {
		return Envelope{}, fmt.Errorf("sign record: %w: kind %q", ErrPayloadType, k)
	}
	body, err := Canonical(v)
	if err != nil {
		return Envelope{}, fmt.Errorf("sign %s record: %w", k, err)
	}
	if body[0] != '{' {
		return Envelope{}, fmt.Errorf("sign %s record: %w: a record is a JSON object", k, ErrNotCanonical)
	}
	env := Envelope{PayloadType: PayloadType(k), Payload: b64.EncodeToString(body), Signatures: []Signature{}}
	if err := env.Countersign(key, keyID); err != nil {
		return Envelope{}, fmt.Errorf("sign %s record: %w", k, err)
	}
	return env, nil
}

// Countersign adds key's signature over the envelope's PAE under keyID.
func (e *Envelope) Countersign(key ed25519.PrivateKey, keyID string) error {
	if len(key) != ed25519.PrivateKeySize {
		return fmt.Errorf("countersign: private key of %d bytes, want %d", len(key), ed25519.PrivateKeySize)
	}
	msg, err := e.PAE()
	if err != nil {
		return fmt.Errorf("countersign: %w", err)
	}
	return e.AddSignature(keyID, ed25519.Sign(key, msg))
}

// AddSignature adds a signature made elsewhere over the envelope's PAE,
// such as a unit's countersignature (device.Unit.Countersign of PAE()).
// It does not check sig: Verify does, with the signer's key.
func (e *Envelope) AddSignature(keyID string, sig []byte) error {
	switch {
	case keyID == "":
		return errors.New("add signature: empty key id")
	case len(sig) != ed25519.SignatureSize:
		return fmt.Errorf("add signature: %d bytes, an Ed25519 signature has %d", len(sig), ed25519.SignatureSize)
	case len(e.Signatures) >= MaxSignatures:
		return fmt.Errorf("add signature: already %d signatures", len(e.Signatures))
	}
	for _, s := range e.Signatures {
		if s.KeyID == keyID {
			return fmt.Errorf("add signature: key %s has signed already", keyID)
		}
	}
	e.Signatures = append(e.Signatures, Signature{KeyID: keyID, Sig: b64.EncodeToString(sig)})
	return nil
}

// Verify checks env and returns the ids of the keys whose signatures
// verified, in envelope order. The payload type must name a record kind
// (ErrPayloadType) and the payload must be canonical JSON of an object
// (ErrNotCanonical). Signatures by keys not in keys are skipped, which lets
// a verifier that cannot check a countersignature still accept the record;
// one by a known key that does not verify fails the whole envelope
// (ErrBadSignature). No signature at all is ErrUnsigned, none by a known key
// ErrUnknownKey. Which signers a record needs is the caller's rule.
func Verify(env Envelope, keys map[string]ed25519.PublicKey) ([]string, error) {
	if _, err := env.Kind(); err != nil {
		return nil, fmt.Errorf("verify record: %w", err)
	}
	body, err := env.Body()
	if err != nil {
		return nil, fmt.Errorf("verify record: %w", err)
	}
	if err := checkCanonical(body); err != nil {
		return nil, fmt.Errorf("verify record: %w", err)
	}
	if len(env.Signatures) == 0 {
		return nil, fmt.Errorf("verify record: %w", ErrUnsigned)
	}
	if len(env.Signatures) > MaxSignatures {
		return nil, fmt.Errorf("verify record: %w: %d signatures, at most %d", ErrMalformed, len(env.Signatures), MaxSignatures)
	}
	msg := PAE(env.PayloadType, body)
	var verified []string
	for i, s := range env.Signatures {
		if slices.ContainsFunc(env.Signatures[:i], func(o Signature) bool { return o.KeyID == s.KeyID }) {
			return nil, fmt.Errorf("verify record: %w: key %s signed twice", ErrMalformed, s.KeyID)
		}
		pub, ok := keys[s.KeyID]
		if !ok {
			continue
		}
		if len(pub) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("verify record: key %s: public key of %d bytes, want %d", s.KeyID, len(pub), ed25519.PublicKeySize)
		}
		sig, err := decode64(s.Sig)
		if err != nil || len(sig) != ed25519.SignatureSize || !ed25519.Verify(pub, msg, sig) {
			return nil, fmt.Errorf("verify record: %w by key %s", ErrBadSignature, s.KeyID)
		}
		verified = append(verified, s.KeyID)
	}
	if len(verified) == 0 {
		return nil, fmt.Errorf("verify record: %w", ErrUnknownKey)
	}
	return verified, nil
}

// checkCanonical refuses a body that another encoding of the same JSON
// would not reproduce byte for byte, or that is not an object.
func checkCanonical(body []byte) error {
	c, err := jcs.Transform(body)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrNotCanonical, err)
	}
	if !bytes.Equal(c, body) {
		return ErrNotCanonical
	}
	if body[0] != '{' {
		return fmt.Errorf("%w: not a JSON object", ErrNotCanonical)
	}
	return nil
}

// b64 is DSSE's base64: standard alphabet with padding. Strict refuses
// stray trailing bits.
var b64 = base64.StdEncoding.Strict()

// decode64 decodes s, refusing every form but the one b64 writes: the
// decoder alone skips line breaks, and DSSE's URL-safe alphabet is not used
// here, so each payload and signature has exactly one encoding.
func decode64(s string) ([]byte, error) {
	b, err := b64.DecodeString(s)
	if err != nil {
		return nil, err
	}
	if b64.EncodeToString(b) != s {
		return nil, errors.New("base64 is not in standard padded form")
	}
	return b, nil
}
