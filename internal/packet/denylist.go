package packet

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/latchkey/latchkey/internal/record"
)

// DenylistPayloadType is the DSSE payload type of a signed denylist.
const DenylistPayloadType = "application/vnd.latchkey.denylist+json"

// MaxDenylist bounds an encoded denylist.
const MaxDenylist = 4 << 20

// ErrStale is a denylist older than one already held: a replayed answer,
// which would bring back units denied since.
var ErrStale = errors.New("denylist is older than the one already held")

// DeniedUnit is one unit on the denylist.
type DeniedUnit struct {
	Serial   string    `json:"serial"`
	Reason   string    `json:"reason"`
	DeniedAt time.Time `json:"denied_at"`
}

// Denylist is the back office's list of units nobody may pair or give keys,
// as of IssuedAt. It comes signed by the hub's key like a job packet, so a
// party that answers for the hub (a proxy, a captured session) cannot empty
// it, and its issue time lets a reader refuse an older list.
//
// Format: a DSSE envelope with payload type DenylistPayloadType, signed by
// the hub key like a packet, whose payload is the canonical JSON of
//
//	{"version": 1, "issued_at": "<RFC 3339>", "units": [{"serial", "reason", "denied_at"}, ...]}
//
// with the units in order of serial.
type Denylist struct {
	IssuedAt time.Time    `json:"issued_at"`
	Units    []DeniedUnit `json:"units"`
}

type denylistPayload struct {
	Version  int          `json:"version"`
	IssuedAt time.Time    `json:"issued_at"`
	Units    []DeniedUnit `json:"units"`
}

// SignDenylist makes the signed form of d with the hub's key.
func SignDenylist(d Denylist, hub ed25519.PrivateKey) ([]byte, error) {
	if len(hub) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("sign denylist: hub key of %d bytes, want %d", len(hub), ed25519.PrivateKeySize)
	}
	p := denylistPayload{Version: Version, IssuedAt: d.IssuedAt.UTC(), Units: make([]DeniedUnit, len(d.Units))}
	for i, u := range d.Units {
		u.DeniedAt = u.DeniedAt.UTC()
		p.Units[i] = u
	}
	slices.SortFunc(p.Units, func(a, b DeniedUnit) int { return cmpString(a.Serial, b.Serial) })
	body, err := record.Canonical(p)
	if err != nil {
		return nil, fmt.Errorf("sign denylist: %w", err)
	}
	env := record.Envelope{PayloadType: DenylistPayloadType, Payload: base64.StdEncoding.EncodeToString(body), Signatures: []record.Signature{}}
	if err := env.AddSignature(record.KeyID(hub.Public().(ed25519.PublicKey)), ed25519.Sign(hub, record.PAE(DenylistPayloadType, body))); err != nil {
		return nil, fmt.Errorf("sign denylist: %w", err)
	}
	b, err := json.Marshal(env)
	if err != nil {
		return nil, fmt.Errorf("sign denylist: %w", err)
	}
	if len(b) > MaxDenylist {
		return nil, fmt.Errorf("sign denylist: %d bytes, at most %d", len(b), MaxDenylist)
	}
	return b, nil
}

// VerifyDenylist checks a signed denylist against the hub's key and returns
// it. Errors wrap ErrMalformed or ErrBadSignature.
func VerifyDenylist(b []byte, hubKey ed25519.PublicKey) (Denylist, error) {
	if len(b) > MaxDenylist {
		return Denylist{}, fmt.Errorf("verify denylist: %w: %d bytes, at most %d", ErrMalformed, len(b), MaxDenylist)
	}
	env, err := record.Decode(b)
	if err != nil {
		return Denylist{}, fmt.Errorf("verify denylist: %w: %v", ErrMalformed, err)
	}
	if env.PayloadType != DenylistPayloadType {
		return Denylist{}, fmt.Errorf("verify denylist: %w: payload type %q, want %q", ErrMalformed, env.PayloadType, DenylistPayloadType)
	}
	body, err := env.Body()
	if err != nil {
		return Denylist{}, fmt.Errorf("verify denylist: %w: %v", ErrMalformed, err)
	}
	if len(hubKey) != ed25519.PublicKeySize {
		return Denylist{}, fmt.Errorf("verify denylist: hub key of %d bytes, want %d", len(hubKey), ed25519.PublicKeySize)
	}
	keyID := record.KeyID(hubKey)
	i := slices.IndexFunc(env.Signatures, func(s record.Signature) bool { return s.KeyID == keyID })
	if i < 0 {
		return Denylist{}, fmt.Errorf("verify denylist: %w: no signature by hub key %s", ErrBadSignature, keyID)
	}
	sig, err := base64.StdEncoding.DecodeString(env.Signatures[i].Sig)
	if err != nil || !ed25519.Verify(hubKey, record.PAE(DenylistPayloadType, body), sig) {
		return Denylist{}, fmt.Errorf("verify denylist: %w: signature by hub key %s does not verify", ErrBadSignature, keyID)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	var p denylistPayload
	if err := dec.Decode(&p); err != nil {
		return Denylist{}, fmt.Errorf("verify denylist: %w: %v", ErrMalformed, err)
	}
	if canon, err := record.Canonical(p); err != nil || !bytes.Equal(canon, body) {
		return Denylist{}, fmt.Errorf("verify denylist: %w: payload is not the canonical form of a denylist", ErrMalformed)
	}
	if p.Version != Version || p.IssuedAt.IsZero() {
		return Denylist{}, fmt.Errorf("verify denylist: %w: version %d, issued %v", ErrMalformed, p.Version, p.IssuedAt)
	}
	for _, u := range p.Units {
		if u.Serial == "" {
			return Denylist{}, fmt.Errorf("verify denylist: %w: a unit without a serial", ErrMalformed)
		}
	}
	return Denylist{IssuedAt: p.IssuedAt, Units: p.Units}, nil
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
