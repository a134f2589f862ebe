package identity

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/zalando/go-keyring"

	"github.com/latchkey/latchkey/internal/fsutil"
)

// Store keeps an Identity's stored form (see the package comment). Its
// implementations are the OS keyring, a file, and Fallback from one to the
// other.
type Store interface {
	// Load returns the stored key material. It returns an error wrapping
	// ErrNotFound when nothing was saved yet, and one wrapping ErrUnavailable
	// when the store cannot be used at all; any other error (an unreadable
	// file, say) must not be taken as "nothing saved".
	Load() ([]byte, error)
	// Save stores key, replacing what was there. A non-empty warning says
	// the key went somewhere less protected than the store prefers.
	Save(key []byte) (warning string, err error)
	// String says where the keys are kept, for people.
	String() string
}

var (
	// ErrNotFound means a store holds no identity yet.
	ErrNotFound = errors.New("no identity stored")
	// ErrUnavailable means a store cannot be used on this machine.
	ErrUnavailable = errors.New("unavailable")
)

// FileName is the key file's name in the data directory.
const FileName = "identity.key"

// DefaultStore is where latchkey keeps the identity of the user whose data
// directory is dataDir: the OS keyring, else dataDir/identity.key.
func DefaultStore(dataDir string) *Fallback {
	return &Fallback{
		Primary:   NewKeyring(dataDir),
		Secondary: &File{Path: filepath.Join(dataDir, FileName)},
	}
}

// File keeps the keys in a file only its owner may read (mode 0600).
type File struct {
	Path string
}

func (s *File) String() string { return "file " + s.Path }

// Load reads the file, refusing it when its mode lets anyone but its owner
// read or write it: keys others could read must be treated as leaked, and
// their owner must decide that, not this program.
func (s *File) Load() ([]byte, error) {
	f, err := os.Open(s.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s does not exist", ErrNotFound, s.Path)
	}
	if err != nil {
		return nil, fmt.Errorf("read identity file: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("read identity file: %w", err)
	}
	// Windows has no Unix modes: os reports 0666 or 0444 for every file.
	if perm := fi.Mode().Perm(); perm&0o077 != 0 && runtime.GOOS != "windows" {
		return nil, fmt.Errorf("identity file %s has mode %04o, so others may read your private keys: run 'chmod 600 %s' (and if someone else could have copied it, treat the keys as leaked)", s.Path, perm, s.Path)
	}
	// A stored identity is a few hundred bytes; a huge file is not one.
	b, err := io.ReadAll(io.LimitReader(f, 64<<10))
	if err != nil {
		return nil, fmt.Errorf("read identity file %s: %w", s.Path, err)
	}
	return b, nil
}

// Save writes the file atomically with mode 0600.
func (s *File) Save(key []byte) (string, error) {
	err := fsutil.WriteFile(s.Path, 0o600, func(w io.Writer) error {
		_, err := w.Write(key)
		return err
	})
	if err != nil {
		return "", fmt.Errorf("save identity: %w", err)
	}
	return "", nil
}

// KeyringService is the service name latchkey's keyring items are under.
const KeyringService = "latchkey"

// keyringTimeout bounds a keyring call: a secret service that waits on an
// unlock prompt nobody can answer would otherwise hang the command.
const keyringTimeout = 10 * time.Second

// Keyring keeps the keys in the OS keyring (Keychain on macOS, Credential
// Manager on Windows, the Secret Service over D-Bus elsewhere). Every error
// from the keyring other than "not found" counts as ErrUnavailable: on
// headless Linux it fails in several different ways (no D-Bus, no secret
// service, a locked collection), none of which latchkey can fix.
type Keyring struct {
	Service, Account string
	backend          keyringBackend
}

// keyringBackend is the part of github.com/zalando/go-keyring in use, so
// tests never touch the real keyring.
type keyringBackend interface {
	Get(service, user string) (string, error)
	Set(service, user, secret string) error
}

// NewKeyring returns the OS keyring store for account under KeyringService.
func NewKeyring(account string) *Keyring {
	return &Keyring{Service: KeyringService, Account: account, backend: osKeyring{}}
}

func (s *Keyring) String() string {
	return fmt.Sprintf("the OS keyring (service %q, account %q)", s.Service, s.Account)
}

// Load reads the keyring item.
func (s *Keyring) Load() ([]byte, error) {
	v, err := s.backend.Get(s.Service, s.Account)
	if errors.Is(err, keyring.ErrNotFound) {
		return nil, fmt.Errorf("%w in %s", ErrNotFound, s)
	}
	if err != nil {
		return nil, fmt.Errorf("OS keyring %w: %v", ErrUnavailable, err)
	}
	return []byte(v), nil
}

// Save writes the keyring item.
func (s *Keyring) Save(key []byte) (string, error) {
	if err := s.backend.Set(s.Service, s.Account, string(key)); err != nil {
		return "", fmt.Errorf("OS keyring %w: %v", ErrUnavailable, err)
	}
	return "", nil
}

// osKeyring is the real keyring, with a timeout and without starting a
// D-Bus daemon on a machine that has none.
type osKeyring struct{}

func (osKeyring) Get(service, user string) (string, error) {
	var v string
	err := withTimeout(func() (err error) {
		v, err = keyring.Get(service, user)
		return err
	})
	return v, err
}

func (osKeyring) Set(service, user, secret string) error {
	return withTimeout(func() error { return keyring.Set(service, user, secret) })
}

func withTimeout(call func() error) error {
	if err := sessionBus(); err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- call() }()
	select {
	case err := <-done:
		return err
	case <-time.After(keyringTimeout):
		return fmt.Errorf("no answer in %s", keyringTimeout)
	}
}

// sessionBus fails where the Secret Service cannot be reached: with no
// session bus address, godbus would run dbus-launch and leave a daemon
// behind only to find no secret service on it.
func sessionBus() error {
	switch runtime.GOOS {
	case "darwin", "windows", "ios", "android", "plan9", "js", "wasip1":
		return nil
	}
	if os.Getenv("DBUS_SESSION_BUS_ADDRESS") != "" {
		return nil
	}
	if rt := os.Getenv("XDG_RUNTIME_DIR"); rt != "" {
		if _, err := os.Stat(filepath.Join(rt, "bus")); err == nil {
			return nil
		}
	}
	return errors.New("no D-Bus session bus (DBUS_SESSION_BUS_ADDRESS is not set)")
}

// Fallback keeps the keys in Primary (the OS keyring) while it is available
// and otherwise in Secondary (a file). Keys found in Secondary stay there
// even once Primary works, so an identity made on a headless day is not
// replaced by a new one.
type Fallback struct {
	Primary, Secondary Store
	active             Store
}

// Active is the store the keys were last loaded from or saved to, or nil
// before either happened.
func (s *Fallback) Active() Store { return s.active }

func (s *Fallback) String() string {
	if s.active != nil {
		return s.active.String()
	}
	return fmt.Sprintf("%s, else %s", s.Primary, s.Secondary)
}

// Load reads Primary, then Secondary when Primary holds nothing or is
// unavailable. Other errors from Primary are returned as they are.
func (s *Fallback) Load() ([]byte, error) {
	b, err := s.Primary.Load()
	switch {
	case err == nil:
		s.active = s.Primary
		return b, nil
	case !errors.Is(err, ErrNotFound) && !errors.Is(err, ErrUnavailable):
		return nil, err
	}
	b, err = s.Secondary.Load()
	if err != nil {
		return nil, err
	}
	s.active = s.Secondary
	return b, nil
}

// Save writes to Primary, or to Secondary with a warning when Primary fails.
func (s *Fallback) Save(key []byte) (string, error) {
	warning, err := s.Primary.Save(key)
	if err == nil {
		s.active = s.Primary
		return warning, nil
	}
	if _, err2 := s.Secondary.Save(key); err2 != nil {
		return "", errors.Join(err, err2)
	}
	s.active = s.Secondary
	return fmt.Sprintf("%v, so your private keys are kept in %s (readable only by you): keep it out of backups and shared folders", err, s.Secondary), nil
}
