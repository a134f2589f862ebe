// Package identity owns each latchkey user's own keys: an Ed25519 signing key
// (records are signed with it, even before the user enrolls with a hub) and
// an X25519 key-agreement key (job packets are sealed to it with HPKE). It
// creates them on first use, keeps them in the OS keyring where one works and
// otherwise in a file, and never lets the private halves reach output: an
// Identity formats as "[private key]" with every fmt verb and refuses to be
// marshalled to JSON.
//
// # Stored form
//
// Both private keys are kept together as a small versioned JSON document,
// the same bytes whether they sit in the keyring or in a file:
//
//	{"version": 1, "sign": "<base64>", "kex": "<base64>"}
//
// where sign and kex are standard base64 (with padding) of the PKCS#8 DER
// encoding (RFC 5208, RFC 8410) of the Ed25519 and the X25519 private key, as
// written by x509.MarshalPKCS8PrivateKey. A reader refuses another version,
// unknown fields, and keys of another algorithm, so a damaged or foreign
// document is an error, never a reason to make new keys.
//
// # Where the keys are kept
//
// DefaultStore puts them in the OS keyring (service "latchkey", account the
// data directory, so each LATCHKEY_HOME has its own identity) and, when the
// keyring cannot be used (headless Linux has no D-Bus or no secret service),
// in <data dir>/identity.key with mode 0600, written atomically, with a
// warning. A key file readable by anyone but its owner is refused.
//
// # Fingerprint
//
// A Public's fingerprint is the first 16 bytes of SHA-256 over the 32-byte
// Ed25519 public key followed by the 32-byte X25519 public key, written as
// eight dash-separated groups of four lower-case hex digits
// ("3f2a-9c01-…"). It names both keys at once, so a person can compare it
// on two screens or read it over the phone.
package identity

import (
	"bytes"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Identity is a user's private keys. Its fmt forms and JSON hide the key
// bytes; keep it in exported fields or behind a pointer, since fmt prints an
// unexported field's contents without asking the type how.
type Identity struct {
	Sign ed25519.PrivateKey
	Kex  *ecdh.PrivateKey
}

// Public is the public half of an Identity: what a hub enrolls.
type Public struct {
	Sign ed25519.PublicKey
	Kex  []byte // X25519 public key, 32 bytes
}

// redacted stands for a private key wherever one would be printed.
const redacted = "[private key]"

// Public returns the public keys.
func (id Identity) Public() Public {
	return Public{
		Sign: id.Sign.Public().(ed25519.PublicKey),
		Kex:  id.Kex.PublicKey().Bytes(),
	}
}

// Format prints the Identity with its keys replaced by "[private key]",
// whatever the verb, so no %v, %+v, %#v, %s, %x or %q shows key bytes.
func (id Identity) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		io.WriteString(f, "identity.Identity{Sign:"+redacted+", Kex:"+redacted+"}")
		return
	}
	if verb == 'v' && f.Flag('+') {
		io.WriteString(f, "{Sign:"+redacted+" Kex:"+redacted+"}")
		return
	}
	io.WriteString(f, "{"+redacted+" "+redacted+"}")
}

// String is the Identity's %v form, without key bytes.
func (id Identity) String() string { return fmt.Sprint(id) }

// GoString is the Identity's %#v form, without key bytes.
func (id Identity) GoString() string { return fmt.Sprintf("%#v", id) }

// ErrMarshal is returned when something tries to encode an Identity as JSON:
// private keys leave this package only through a Store.
var ErrMarshal = errors.New("identity: private keys are not marshalled; marshal Public() instead")

// MarshalJSON refuses, so a private key never ends up in a JSON document by
// accident (ed25519.PrivateKey is a byte slice and would otherwise marshal).
func (id Identity) MarshalJSON() ([]byte, error) { return nil, ErrMarshal }

// Fingerprint names both public keys at once: the first 16 bytes of SHA-256
// over the Ed25519 key then the X25519 key, as dash-separated groups of four
// hex digits.
func (p Public) Fingerprint() string {
	h := sha256.New()
	h.Write(p.Sign)
	h.Write(p.Kex)
	s := hex.EncodeToString(h.Sum(nil)[:16])
	var b strings.Builder
	for i := 0; i < len(s); i += 4 {
		if i > 0 {
			b.WriteByte('-')
		}
		b.WriteString(s[i : i+4])
	}
	return b.String()
}

// Generate makes a new Identity from 64 bytes of rand: the Ed25519 seed,
// then the X25519 scalar. It reads rand itself because since Go 1.26 the
// standard library's key generators ignore their rand argument, and tests
// need repeatable keys.
func Generate(rand io.Reader) (Identity, error) {
	var buf [ed25519.SeedSize + 32]byte
	defer clear(buf[:])
	if _, err := io.ReadFull(rand, buf[:]); err != nil {
		return Identity{}, fmt.Errorf("generate keys: %w", err)
	}
	kex, err := ecdh.X25519().NewPrivateKey(buf[ed25519.SeedSize:])
	if err != nil {
		return Identity{}, fmt.Errorf("generate keys: %w", err)
	}
	return Identity{Sign: ed25519.NewKeyFromSeed(buf[:ed25519.SeedSize]), Kex: kex}, nil
}

// formatVersion is the version of the stored form this package writes.
const formatVersion = 1

// stored is the stored form described in the package comment.
type stored struct {
	Version int    `json:"version"`
	Sign    []byte `json:"sign"`
	Kex     []byte `json:"kex"`
}

// ErrCorrupt is returned when stored key material cannot be read back.
var ErrCorrupt = errors.New("not a readable latchkey identity")

// encode returns the stored form of id; the caller clears it after use.
func (id Identity) encode() ([]byte, error) {
	sign, err := x509.MarshalPKCS8PrivateKey(id.Sign)
	if err != nil {
		return nil, fmt.Errorf("encode signing key: %w", err)
	}
	defer clear(sign)
	kex, err := x509.MarshalPKCS8PrivateKey(id.Kex)
	if err != nil {
		return nil, fmt.Errorf("encode key-agreement key: %w", err)
	}
	defer clear(kex)
	return json.Marshal(stored{Version: formatVersion, Sign: sign, Kex: kex})
}

// decode reads the stored form; every failure wraps ErrCorrupt.
func decode(b []byte) (Identity, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var s stored
	if err := dec.Decode(&s); err != nil {
		return Identity{}, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	defer clear(s.Sign)
	defer clear(s.Kex)
	if dec.More() {
		return Identity{}, fmt.Errorf("%w: data after the JSON document", ErrCorrupt)
	}
	if s.Version != formatVersion {
		return Identity{}, fmt.Errorf("%w: format version %d, this latchkey reads version %d (was it written by a newer latchkey?)", ErrCorrupt, s.Version, formatVersion)
	}
	sign, err := x509.ParsePKCS8PrivateKey(s.Sign)
	if err != nil {
		return Identity{}, fmt.Errorf("%w: signing key: %v", ErrCorrupt, err)
	}
	signKey, ok := sign.(ed25519.PrivateKey)
	if !ok {
		return Identity{}, fmt.Errorf("%w: signing key is %T, not Ed25519", ErrCorrupt, sign)
	}
	kex, err := x509.ParsePKCS8PrivateKey(s.Kex)
	if err != nil {
		return Identity{}, fmt.Errorf("%w: key-agreement key: %v", ErrCorrupt, err)
	}
	kexKey, ok := kex.(*ecdh.PrivateKey)
	if !ok || kexKey.Curve() != ecdh.X25519() {
		return Identity{}, fmt.Errorf("%w: key-agreement key is not X25519", ErrCorrupt)
	}
	return Identity{Sign: signKey, Kex: kexKey}, nil
}

// LoadOrCreate returns the identity kept in store, or creates one from rand
// and saves it there when the store holds none yet (created is then true).
// warning is non-empty when the store had to put new keys somewhere less
// protected than it prefers; show it to the user. Stored keys that cannot be
// read are an error naming the store, never a reason to make new ones: the
// old keys may be the ones a hub knows.
func LoadOrCreate(store Store, rand io.Reader) (id Identity, created bool, warning string, err error) {
	b, err := store.Load()
	switch {
	case err == nil:
		defer clear(b)
		id, err := decode(b)
		if err != nil {
			return Identity{}, false, "", fmt.Errorf("read identity from %s: %w", store, err)
		}
		return id, false, "", nil
	case !errors.Is(err, ErrNotFound):
		return Identity{}, false, "", fmt.Errorf("load identity: %w", err)
	}
	id, err = Generate(rand)
	if err != nil {
		return Identity{}, false, "", err
	}
	b, err = id.encode()
	if err != nil {
		return Identity{}, false, "", err
	}
	defer clear(b)
	warning, err = store.Save(b)
	if err != nil {
		return Identity{}, false, "", fmt.Errorf("save new identity: %w", err)
	}
	return id, true, warning, nil
}
