package hub

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/latchkey/latchkey/internal/identity"
)

// ErrKeyMismatch: the database is pinned to another hub signing key than
// the one offered (KeyPin). Errors carrying it are *KeyMismatchError.
var ErrKeyMismatch = errors.New("hub key is not the one this database's hub signs with")

// ErrNoKey: there is no hub.key in the data directory (ReadKeys).
var ErrNoKey = errors.New("no hub key")

// KeyPin is an optional part of a Storage: the database remembers the public
// half of the key its hub signs job packets and denylists with, so that an
// instance or an admin command started with another hub.key (a copy missed,
// or a fresh key made on a new machine) is refused instead of issuing
// packets installers refuse. sqlstore and pgstore implement it.
type KeyPin interface {
	// PinKey records pub as the hub's signing key when the database has
	// none yet, and otherwise checks it is the recorded one: another key
	// is a *KeyMismatchError (errors.Is ErrKeyMismatch). Pinning the
	// recorded key again changes nothing. Two callers pinning different
	// keys at the same moment: one wins, the other gets the mismatch.
	PinKey(ctx context.Context, pub ed25519.PublicKey) error
	// PinnedKey returns the recorded key (ErrNotFound when none is).
	PinnedKey(ctx context.Context) (ed25519.PublicKey, error)
}

// KeyMismatchError is PinKey's refusal: Offered is not Pinned.
type KeyMismatchError struct {
	Offered, Pinned ed25519.PublicKey
}

func (e *KeyMismatchError) Error() string {
	return fmt.Sprintf("hub key %s is not the key this database's hub signs with (%s)",
		KeyFingerprint(e.Offered), KeyFingerprint(e.Pinned))
}

// Is makes errors.Is(err, ErrKeyMismatch) true.
func (e *KeyMismatchError) Is(target error) bool { return target == ErrKeyMismatch }

// CheckPin compares offered with the pinned key stored: nil when equal, a
// *KeyMismatchError otherwise. For KeyPin implementations.
func CheckPin(offered, pinned []byte) error {
	if len(offered) != ed25519.PublicKeySize {
		return fmt.Errorf("pin hub key: %w: %d bytes, want %d", ErrInvalid, len(offered), ed25519.PublicKeySize)
	}
	if string(offered) != string(pinned) {
		return &KeyMismatchError{Offered: ed25519.PublicKey(offered), Pinned: ed25519.PublicKey(pinned)}
	}
	return nil
}

// KeyFingerprint names a hub key as `latchkey login` shows it to installers
// ("hub key …"): the first 16 bytes of its SHA-256 in groups of four hex
// digits.
func KeyFingerprint(pub []byte) string {
	sum := sha256.Sum256(pub)
	h := hex.EncodeToString(sum[:16])
	groups := make([]string, 0, len(h)/4)
	for i := 0; i < len(h); i += 4 {
		groups = append(groups, h[i:i+4])
	}
	return strings.Join(groups, "-")
}

// ReadKeys is LoadKeys without making anything: the hub's keys from
// <dataDir>/hub.key, or an error wrapping ErrNoKey when the file is not
// there. A database whose hub already signs with a key (KeyPin) needs that
// key, not a new one.
func ReadKeys(dataDir string) (identity.Identity, error) {
	if dataDir == "" {
		return identity.Identity{}, fmt.Errorf("read hub keys: %w: no data directory", ErrInvalid)
	}
	f := loadOnly{&identity.File{Path: filepath.Join(dataDir, KeyFile)}}
	id, _, _, err := identity.LoadOrCreate(f, rand.Reader)
	if errors.Is(err, ErrNoKey) {
		return identity.Identity{}, fmt.Errorf("read hub keys: %w: %s does not exist", ErrNoKey, f.Path)
	}
	if err != nil {
		return identity.Identity{}, fmt.Errorf("read hub keys: %w", err)
	}
	return id, nil
}

// loadOnly is a key file LoadOrCreate may read and never write.
type loadOnly struct{ *identity.File }

func (loadOnly) Save([]byte) (string, error) { return "", ErrNoKey }
