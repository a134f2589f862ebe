// Package packet owns job packets: what the back office sends an installer
// for one installation job, namely the job's details and the building's door
// keys (one 32-byte AES key per door) sealed to the installer and signed by
// the hub. On the laptop a packet stays sealed at rest; Verify reads the job
// without touching the keys, and Open unseals them in memory only, at burn
// time. Keys never print: every fmt verb shows "[key]" and JSON refuses them.
//
// # Format, version 1
//
// A packet is a DSSE envelope (the same JSON form as a record, see
// internal/record) with payload type
//
//	application/vnd.latchkey.job-packet+json
//
// and a signature by the hub's Ed25519 key over the DSSE PAE, under the key
// id record.KeyID(hub public key); a reader checks that one and ignores any
// other. The payload is the RFC 8785 canonical JSON of
//
//	{
//	  "version": 1,
//	  "job": {"id", "building", "address", "doors": [...], "access_hours",
//	          "incentive", "terms", "installer", "installer_key_id",
//	          "issued_at", "expires_at"},   // times RFC 3339, UTC
//	  "sealed": {"kem": 32, "kdf": 1, "aead": 2,  // RFC 9180 ids
//	             "enc": "<base64>", "ciphertext": "<base64>"}
//	}
//
// The keys are sealed with HPKE base mode (RFC 9180): DHKEM(X25519,
// HKDF-SHA256), HKDF-SHA256, AES-256-GCM, to the installer's X25519 key,
// with
//
//	info = "latchkey job-packet v1" || 0x00 || u16(len id) || id
//	       || u16(len key id) || installer key id
//	aad  = canonical JSON of "job"
//
// (u16 is big-endian), so a sealed blob moved to another job or person, or
// under altered job details, does not open. The plaintext is binary, so the
// keys never become immutable Go strings that cannot be wiped:
//
//	u16(n) || n × ( u16(len door) || door || key[32] )
//
// with the doors in the order of job.doors, and equal to them.
//
// A reader is strict: at most MaxPacket bytes, no unknown or repeated
// fields, a payload that must be exactly its own canonical form, only
// version 1 and only the cipher suite above.
package packet

import (
	"bytes"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/hpke"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/latchkey/latchkey/internal/identity"
	"github.com/latchkey/latchkey/internal/record"
)

// PayloadType is the DSSE payload type of a job packet.
const PayloadType = "application/vnd.latchkey.job-packet+json"

// Version is the packet format version this package writes and reads.
const Version = 1

// Limits of a packet. A packet carries text and a few keys; anything larger
// is not one of ours.
const (
	// MaxPacket bounds the encoded packet.
	MaxPacket = 256 << 10
	// MaxDoors bounds the doors of one job.
	MaxDoors = 64
	// MaxDoorName bounds a door's name, in bytes.
	MaxDoorName = 128
	// KeySize is the size of a door key: an AES-256 key.
	KeySize = 32
)

// The HPKE cipher suite (RFC 9180 section 7 identifiers).
const (
	kemID  = 0x0020 // DHKEM(X25519, HKDF-SHA256)
	kdfID  = 0x0001 // HKDF-SHA256
	aeadID = 0x0002 // AES-256-GCM
)

// infoLabel starts the HPKE info string.
const infoLabel = "latchkey job-packet v1"

// Errors a packet is refused with. Each is wrapped with detail.
var (
	// ErrMalformed is a packet that is not well-formed: bad JSON, unknown
	// fields, not canonical, a bad job, an unknown version or cipher suite.
	ErrMalformed = errors.New("malformed job packet")
	// ErrBadSignature is a packet without a valid signature by the hub key
	// it was checked against: altered, or from another hub.
	ErrBadSignature = errors.New("job packet not signed by this hub")
	// ErrExpired is a packet past its expiry.
	ErrExpired = errors.New("job packet expired")
	// ErrNotForYou is a packet issued to another installer.
	ErrNotForYou = errors.New("job packet issued to someone else")
	// ErrSealed is a packet whose keys do not open with this identity: the
	// sealed keys were moved from another packet or damaged.
	ErrSealed = errors.New("job packet keys do not open")
	// ErrMarshal is returned when something tries to encode Keys as JSON.
	ErrMarshal = errors.New("packet: door keys are not marshalled")
)

// Job is what an installer is sent to do. It holds no secret and may be
// listed and shown.
type Job struct {
	ID          string   `json:"id"`
	Building    string   `json:"building"`
	Address     string   `json:"address"`
	Doors       []string `json:"doors"`
	AccessHours string   `json:"access_hours"`
	Incentive   string   `json:"incentive"`
	Terms       string   `json:"terms"`
	// Installer is the user name of the installer the packet is for.
	Installer string `json:"installer"`
	// InstallerKeyID is record.KeyID of the installer's signing key.
	InstallerKeyID string    `json:"installer_key_id"`
	IssuedAt       time.Time `json:"issued_at"`
	ExpiresAt      time.Time `json:"expires_at"`
}

// DoorKey is the key of one door. It formats with the key as "[key]" and
// refuses to be marshalled to JSON.
type DoorKey struct {
	Door string
	Key  []byte // KeySize bytes
}

// Keys are a building's door keys, in the order of the job's doors. Every
// fmt verb prints them as door names with "[key]" for the bytes, and
// json.Marshal refuses them. Keep them in exported fields or behind a
// pointer: fmt prints an unexported field's contents without asking the type
// how. Call Wipe when done.
type Keys []DoorKey

const redacted = "[key]"

// Format prints the door with its key as "[key]", whatever the verb.
func (k DoorKey) Format(f fmt.State, verb rune) {
	switch {
	case verb == 'v' && f.Flag('#'):
		fmt.Fprintf(f, "packet.DoorKey{Door:%q, Key:%s}", k.Door, redacted)
	case verb == 'v' && f.Flag('+'):
		fmt.Fprintf(f, "{Door:%s Key:%s}", k.Door, redacted)
	default:
		fmt.Fprintf(f, "{%s %s}", k.Door, redacted)
	}
}

// String is the %v form, without key bytes.
func (k DoorKey) String() string { return fmt.Sprint(k) }

// GoString is the %#v form, without key bytes.
func (k DoorKey) GoString() string { return fmt.Sprintf("%#v", k) }

// MarshalJSON refuses, so a key never ends up in a JSON document.
func (k DoorKey) MarshalJSON() ([]byte, error) { return nil, ErrMarshal }

// Format prints the doors with their keys as "[key]", whatever the verb.
func (ks Keys) Format(f fmt.State, verb rune) {
	goSyntax := verb == 'v' && f.Flag('#')
	if goSyntax {
		io.WriteString(f, "packet.Keys{")
	} else {
		io.WriteString(f, "[")
	}
	for i, k := range ks {
		if i > 0 {
			if goSyntax {
				io.WriteString(f, ", ")
			} else {
				io.WriteString(f, " ")
			}
		}
		k.Format(f, verb)
	}
	if goSyntax {
		io.WriteString(f, "}")
	} else {
		io.WriteString(f, "]")
	}
}

// String is the %v form, without key bytes.
func (ks Keys) String() string { return fmt.Sprint(ks) }

// GoString is the %#v form, without key bytes.
func (ks Keys) GoString() string { return fmt.Sprintf("%#v", ks) }

// MarshalJSON refuses, so keys never end up in a JSON document.
func (ks Keys) MarshalJSON() ([]byte, error) { return nil, ErrMarshal }

// Wipe zeroes every key.
func (ks Keys) Wipe() {
	for _, k := range ks {
		clear(k.Key)
	}
}

// Doors returns the door names, in order.
func (ks Keys) Doors() []string {
	doors := make([]string, len(ks))
	for i, k := range ks {
		doors[i] = k.Door
	}
	return doors
}

// GenerateKeys makes a fresh key for each door from rand (crypto/rand.Reader
// outside tests).
func GenerateKeys(doors []string, rand io.Reader) (Keys, error) {
	if err := checkDoors(doors); err != nil {
		return nil, fmt.Errorf("generate door keys: %w", err)
	}
	buf := make([]byte, len(doors)*KeySize)
	if _, err := io.ReadFull(rand, buf); err != nil {
		clear(buf)
		return nil, fmt.Errorf("generate door keys: %w", err)
	}
	keys := make(Keys, len(doors))
	for i, d := range doors {
		keys[i] = DoorKey{Door: d, Key: buf[i*KeySize : (i+1)*KeySize : (i+1)*KeySize]}
	}
	return keys, nil
}

// payload is the signed body.
type payload struct {
	Version int    `json:"version"`
	Job     Job    `json:"job"`
	Sealed  sealed `json:"sealed"`
}

// sealed is the HPKE-sealed door keys.
type sealed struct {
	KEM        uint16 `json:"kem"`
	KDF        uint16 `json:"kdf"`
	AEAD       uint16 `json:"aead"`
	Enc        []byte `json:"enc"`
	Ciphertext []byte `json:"ciphertext"`
}

// Seal makes the packet of job with keys, sealed to the installer's X25519
// public key recipientKex and signed by the hub's key. It returns the
// packet's JSON bytes.
func Seal(job Job, keys Keys, recipientKex []byte, hub ed25519.PrivateKey) ([]byte, error) {
	job.IssuedAt = job.IssuedAt.UTC()
	job.ExpiresAt = job.ExpiresAt.UTC()
	if err := checkJob(job); err != nil {
		return nil, fmt.Errorf("seal job packet: %w", err)
	}
	if !slices.Equal(keys.Doors(), job.Doors) {
		return nil, fmt.Errorf("seal job packet %s: keys are for doors %q, the job has %q", job.ID, keys.Doors(), job.Doors)
	}
	if len(hub) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("seal job packet %s: hub key of %d bytes, want %d", job.ID, len(hub), ed25519.PrivateKeySize)
	}
	pub, err := ecdh.X25519().NewPublicKey(recipientKex)
	if err != nil {
		return nil, fmt.Errorf("seal job packet %s: installer key: %w", job.ID, err)
	}
	hpub, err := hpke.NewDHKEMPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("seal job packet %s: installer key: %w", job.ID, err)
	}
	plain, err := encodeKeys(keys)
	if err != nil {
		return nil, fmt.Errorf("seal job packet %s: %w", job.ID, err)
	}
	defer clear(plain)
	aad, err := record.Canonical(job)
	if err != nil {
		return nil, fmt.Errorf("seal job packet %s: %w", job.ID, err)
	}
	enc, sender, err := hpke.NewSender(hpub, hpke.HKDFSHA256(), hpke.AES256GCM(), info(job))
	if err != nil {
		return nil, fmt.Errorf("seal job packet %s: %w", job.ID, err)
	}
	ct, err := sender.Seal(aad, plain)
	if err != nil {
		return nil, fmt.Errorf("seal job packet %s: %w", job.ID, err)
	}
	body, err := record.Canonical(payload{
		Version: Version,
		Job:     job,
		Sealed:  sealed{KEM: kemID, KDF: kdfID, AEAD: aeadID, Enc: enc, Ciphertext: ct},
	})
	if err != nil {
		return nil, fmt.Errorf("seal job packet %s: %w", job.ID, err)
	}
	env := record.Envelope{PayloadType: PayloadType, Payload: base64.StdEncoding.EncodeToString(body), Signatures: []record.Signature{}}
	sig := ed25519.Sign(hub, record.PAE(PayloadType, body))
	if err := env.AddSignature(record.KeyID(hub.Public().(ed25519.PublicKey)), sig); err != nil {
		return nil, fmt.Errorf("seal job packet %s: %w", job.ID, err)
	}
	b, err := json.Marshal(env)
	if err != nil {
		return nil, fmt.Errorf("seal job packet %s: %w", job.ID, err)
	}
	if len(b) > MaxPacket {
		return nil, fmt.Errorf("seal job packet %s: %d bytes, at most %d", job.ID, len(b), MaxPacket)
	}
	return b, nil
}

// Verify checks packet b: its form, the hub's signature with hubKey, the
// job's schema, and that it has not expired at now. It does not open the
// keys. Errors wrap ErrMalformed, ErrBadSignature or ErrExpired.
func Verify(b []byte, hubKey ed25519.PublicKey, now time.Time) (Job, error) {
	p, err := verify(b, hubKey, now)
	if err != nil {
		return Job{}, err
	}
	return p.Job, nil
}

func verify(b []byte, hubKey ed25519.PublicKey, now time.Time) (payload, error) {
	if len(b) > MaxPacket {
		return payload{}, fmt.Errorf("verify job packet: %w: %d bytes, at most %d", ErrMalformed, len(b), MaxPacket)
	}
	env, err := record.Decode(b)
	if err != nil {
		return payload{}, fmt.Errorf("verify job packet: %w: %v", ErrMalformed, err)
	}
	if env.PayloadType != PayloadType {
		return payload{}, fmt.Errorf("verify job packet: %w: payload type %q, want %q", ErrMalformed, env.PayloadType, PayloadType)
	}
	body, err := env.Body()
	if err != nil {
		return payload{}, fmt.Errorf("verify job packet: %w: %v", ErrMalformed, err)
	}
	if len(hubKey) != ed25519.PublicKeySize {
		return payload{}, fmt.Errorf("verify job packet: hub key of %d bytes, want %d", len(hubKey), ed25519.PublicKeySize)
	}
	// The signature is checked before the payload is parsed, so nothing
	// but the hub's own bytes reaches the JSON decoder.
	keyID := record.KeyID(hubKey)
	i := slices.IndexFunc(env.Signatures, func(s record.Signature) bool { return s.KeyID == keyID })
	if i < 0 {
		return payload{}, fmt.Errorf("verify job packet: %w: no signature by hub key %s", ErrBadSignature, keyID)
	}
	sig, err := base64.StdEncoding.DecodeString(env.Signatures[i].Sig)
	if err != nil || !ed25519.Verify(hubKey, record.PAE(PayloadType, body), sig) {
		return payload{}, fmt.Errorf("verify job packet: %w: signature by hub key %s does not verify", ErrBadSignature, keyID)
	}
	p, err := decodePayload(body)
	if err != nil {
		return payload{}, fmt.Errorf("verify job packet: %w: %v", ErrMalformed, err)
	}
	if !now.Before(p.Job.ExpiresAt) {
		return payload{}, fmt.Errorf("verify job packet %s: %w at %s", p.Job.ID, ErrExpired, p.Job.ExpiresAt.Format(time.RFC3339))
	}
	return p, nil
}

// Open verifies packet b like Verify, checks it was issued to id, and
// unseals its door keys. Call Keys.Wipe when done with them. Errors wrap
// those of Verify, ErrNotForYou or ErrSealed.
func Open(b []byte, hubKey ed25519.PublicKey, id identity.Identity, now time.Time) (Job, Keys, error) {
	p, err := verify(b, hubKey, now)
	if err != nil {
		return Job{}, nil, err
	}
	job := p.Job
	if id.Sign == nil || id.Kex == nil {
		return Job{}, nil, fmt.Errorf("open job packet %s: no identity", job.ID)
	}
	if mine := record.KeyID(id.Sign.Public().(ed25519.PublicKey)); job.InstallerKeyID != mine {
		return Job{}, nil, fmt.Errorf("open job packet %s: %w: issued to %s (key %s), your key is %s", job.ID, ErrNotForYou, job.Installer, job.InstallerKeyID, mine)
	}
	priv, err := hpke.NewDHKEMPrivateKey(id.Kex)
	if err != nil {
		return Job{}, nil, fmt.Errorf("open job packet %s: %w", job.ID, err)
	}
	aad, err := record.Canonical(job)
	if err != nil {
		return Job{}, nil, fmt.Errorf("open job packet %s: %w", job.ID, err)
	}
	r, err := hpke.NewRecipient(p.Sealed.Enc, priv, hpke.HKDFSHA256(), hpke.AES256GCM(), info(job))
	if err != nil {
		return Job{}, nil, fmt.Errorf("open job packet %s: %w: %v", job.ID, ErrSealed, err)
	}
	plain, err := r.Open(aad, p.Sealed.Ciphertext)
	if err != nil {
		return Job{}, nil, fmt.Errorf("open job packet %s: %w: %v", job.ID, ErrSealed, err)
	}
	defer clear(plain)
	keys, err := decodeKeys(plain)
	if err != nil {
		return Job{}, nil, fmt.Errorf("open job packet %s: %w: %v", job.ID, ErrSealed, err)
	}
	if !slices.Equal(keys.Doors(), job.Doors) {
		keys.Wipe()
		return Job{}, nil, fmt.Errorf("open job packet %s: %w: keys are for doors %q, the job has %q", job.ID, ErrSealed, keys.Doors(), job.Doors)
	}
	return job, keys, nil
}

// info is the HPKE info: it binds the sealed keys to the job and installer.
func info(job Job) []byte {
	b := append([]byte(infoLabel), 0)
	b = appendU16String(b, job.ID)
	return appendU16String(b, job.InstallerKeyID)
}

func appendU16String(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint16(b, uint16(len(s)))
	return append(b, s...)
}

// encodeKeys writes the plaintext form from the package comment; the caller
// clears it.
func encodeKeys(keys Keys) ([]byte, error) {
	n := 2
	for _, k := range keys {
		if len(k.Key) != KeySize {
			return nil, fmt.Errorf("key of door %q has %d bytes, want %d", k.Door, len(k.Key), KeySize)
		}
		n += 2 + len(k.Door) + KeySize
	}
	b := make([]byte, 0, n)
	b = binary.BigEndian.AppendUint16(b, uint16(len(keys)))
	for _, k := range keys {
		b = appendU16String(b, k.Door)
		b = append(b, k.Key...)
	}
	return b, nil
}

// decodeKeys reads the plaintext form. The keys share one fresh buffer, so
// b can be cleared afterwards.
func decodeKeys(b []byte) (Keys, error) {
	if len(b) < 2 {
		return nil, errors.New("short plaintext")
	}
	n := int(binary.BigEndian.Uint16(b))
	b = b[2:]
	if n == 0 || n > MaxDoors {
		return nil, fmt.Errorf("%d doors", n)
	}
	buf := make([]byte, n*KeySize)
	keys := make(Keys, 0, n)
	for i := range n {
		if len(b) < 2 {
			keys.Wipe()
			return nil, errors.New("short plaintext")
		}
		l := int(binary.BigEndian.Uint16(b))
		if len(b) < 2+l+KeySize {
			keys.Wipe()
			return nil, errors.New("short plaintext")
		}
		key := buf[i*KeySize : (i+1)*KeySize : (i+1)*KeySize]
		copy(key, b[2+l:])
		keys = append(keys, DoorKey{Door: string(b[2 : 2+l]), Key: key})
		b = b[2+l+KeySize:]
	}
	if len(b) != 0 {
		keys.Wipe()
		return nil, errors.New("data after the keys")
	}
	return keys, nil
}

// decodePayload reads the signed body strictly: known fields only, and the
// bytes must be exactly the canonical JSON of what was read, which also
// refuses repeated fields, names in another case and other spellings of the
// same values.
func decodePayload(body []byte) (payload, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	var p payload
	if err := dec.Decode(&p); err != nil {
		return payload{}, err
	}
	if dec.More() {
		return payload{}, errors.New("data after the JSON object")
	}
	if p.Version != Version {
		return payload{}, fmt.Errorf("format version %d, this latchkey reads version %d (was it issued for a newer latchkey?)", p.Version, Version)
	}
	if p.Sealed.KEM != kemID || p.Sealed.KDF != kdfID || p.Sealed.AEAD != aeadID {
		return payload{}, fmt.Errorf("cipher suite kem %#04x kdf %#04x aead %#04x, want %#04x %#04x %#04x", p.Sealed.KEM, p.Sealed.KDF, p.Sealed.AEAD, kemID, kdfID, aeadID)
	}
	if err := checkJob(p.Job); err != nil {
		return payload{}, err
	}
	c, err := record.Canonical(p)
	if err != nil {
		return payload{}, err
	}
	if !bytes.Equal(c, body) {
		return payload{}, errors.New("payload is not the canonical JSON of a packet")
	}
	return p, nil
}

// checkJob checks the fields every job must have.
func checkJob(j Job) error {
	switch {
	case j.ID == "":
		return errors.New("job has no id")
	case !utf8.ValidString(j.ID) || len(j.ID) > 256:
		return fmt.Errorf("job id %q is not valid", j.ID)
	case j.Installer == "":
		return fmt.Errorf("job %s has no installer", j.ID)
	case !isKeyID(j.InstallerKeyID):
		return fmt.Errorf("job %s: installer key id %q is not a key id", j.ID, j.InstallerKeyID)
	case j.IssuedAt.IsZero() || j.ExpiresAt.IsZero():
		return fmt.Errorf("job %s: issue and expiry times are required", j.ID)
	case !j.ExpiresAt.After(j.IssuedAt):
		return fmt.Errorf("job %s: expires at %s, not after it was issued at %s", j.ID, j.ExpiresAt.Format(time.RFC3339), j.IssuedAt.Format(time.RFC3339))
	case j.IssuedAt.Location() != time.UTC || j.ExpiresAt.Location() != time.UTC:
		return fmt.Errorf("job %s: times must be UTC", j.ID)
	}
	if err := checkDoors(j.Doors); err != nil {
		return fmt.Errorf("job %s: %w", j.ID, err)
	}
	return nil
}

func checkDoors(doors []string) error {
	if len(doors) == 0 || len(doors) > MaxDoors {
		return fmt.Errorf("%d doors, want 1 to %d", len(doors), MaxDoors)
	}
	for i, d := range doors {
		switch {
		case d == "" || len(d) > MaxDoorName || !utf8.ValidString(d):
			return fmt.Errorf("door name %q: want 1 to %d bytes of UTF-8", d, MaxDoorName)
		case slices.Contains(doors[:i], d):
			return fmt.Errorf("door %q listed twice", d)
		}
	}
	return nil
}

// isKeyID reports whether s has the form of record.KeyID.
func isKeyID(s string) bool {
	if len(s) != 64 {
		return false
	}
	b, err := hex.DecodeString(s)
	return err == nil && hex.EncodeToString(b) == s
}
