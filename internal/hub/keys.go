package hub

import (
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"

	"github.com/latchkey/latchkey/internal/identity"
)

// KeyFile is the hub key's file name in the hub's data directory.
const KeyFile = "hub.key"

// LoadKeys returns the hub's keys from <dataDir>/hub.key, making them (and
// the directory) on first use. The Ed25519 half signs job packets; the file
// is mode 0600 and in identity's stored form, and a file others may read is
// refused rather than used.
func LoadKeys(dataDir string) (identity.Identity, error) {
	if dataDir == "" {
		return identity.Identity{}, fmt.Errorf("load hub keys: %w: no data directory", ErrInvalid)
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return identity.Identity{}, fmt.Errorf("load hub keys: %w", err)
	}
	id, _, _, err := identity.LoadOrCreate(&identity.File{Path: filepath.Join(dataDir, KeyFile)}, rand.Reader)
	if err != nil {
		return identity.Identity{}, fmt.Errorf("load hub keys: %w", err)
	}
	return id, nil
}
