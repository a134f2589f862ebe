package hubclient

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"

	"github.com/latchkey/latchkey/internal/fsutil"
	"github.com/latchkey/latchkey/internal/hubapi"
	"github.com/latchkey/latchkey/internal/identity"
)

// Session is what `latchkey login` keeps: which hub, the bearer token, the
// hub's job-packet signing key and the user the hub enrolled. The token is
// a secret: every fmt verb prints it as "[token]", json.Marshal refuses a
// Session, and only a SessionStore writes it. Keep a Session in exported
// fields or behind a pointer, since fmt prints an unexported field's
// contents without asking the type how.
type Session struct {
	URL      string
	Token    string
	HubKey   []byte // the hub's Ed25519 public key
	User     hubapi.User
	Insecure bool
}

const redactedToken = "[token]"

// Format prints the Session with the token as "[token]", whatever the verb.
func (s Session) Format(f fmt.State, verb rune) {
	switch {
	case verb == 'v' && f.Flag('#'):
		fmt.Fprintf(f, "hubclient.Session{URL:%q, Token:%s, HubKey:%#v, User:%#v, Insecure:%t}", s.URL, redactedToken, s.HubKey, s.User, s.Insecure)
	case verb == 'v' && f.Flag('+'):
		fmt.Fprintf(f, "{URL:%s Token:%s HubKey:%x User:%+v Insecure:%t}", s.URL, redactedToken, s.HubKey, s.User, s.Insecure)
	default:
		fmt.Fprintf(f, "{%s %s %x %v %t}", s.URL, redactedToken, s.HubKey, s.User, s.Insecure)
	}
}

// String is the Session's %v form, without the token.
func (s Session) String() string { return fmt.Sprint(s) }

// GoString is the Session's %#v form, without the token.
func (s Session) GoString() string { return fmt.Sprintf("%#v", s) }

// ErrMarshal is returned when something tries to encode a Session as JSON.
var ErrMarshal = errors.New("hubclient: a session holds a token and is not marshalled; marshal its User instead")

// MarshalJSON refuses, so the token never ends up in a JSON document.
func (s Session) MarshalJSON() ([]byte, error) { return nil, ErrMarshal }

// Client returns a Client of the session's hub with its token; o.Token and
// o.Insecure are taken from the session.
func (s Session) Client(o Options) (*Client, error) {
	o.Token, o.Insecure = s.Token, s.Insecure
	return New(s.URL, o)
}

// Session store errors.
var (
	// ErrNoSession means nobody has logged in (or they logged out).
	ErrNoSession = errors.New("not logged in to a hub")
	// ErrCorruptSession is a stored session that cannot be read back.
	ErrCorruptSession = errors.New("stored hub session is not readable")
)

// File names in the data directory.
const (
	SessionFileName = "hub.json"
	TokenFileName   = "hub-token"
)

// SessionStore keeps a Session: everything but the token in Path (a JSON
// file, mode 0600, written atomically) and the token in Keyring where that
// works, else in TokenFile (mode 0600). The session file records the
// SHA-256 of the token: Load takes the token from whichever of the two
// holds that one (the keyring may hold an older token after a login on a
// day it was unavailable), and refuses a token from another login (a crash
// between the two writes) rather than send it to the wrong hub.
type SessionStore struct {
	// Path is the session file, <data dir>/hub.json.
	Path string
	// Keyring keeps the token when it works; nil means never use it.
	Keyring identity.Store
	// TokenFile keeps the token when Keyring is nil or unavailable.
	TokenFile string
}

// DefaultSessionStore is where latchkey keeps the session of the user whose
// data directory is dataDir: the token in the OS keyring under an account of
// its own (dataDir + "#hub-token"), else in dataDir/hub-token.
func DefaultSessionStore(dataDir string) *SessionStore {
	return &SessionStore{
		Path:      filepath.Join(dataDir, SessionFileName),
		Keyring:   identity.NewKeyring(dataDir + "#hub-token"),
		TokenFile: filepath.Join(dataDir, TokenFileName),
	}
}

// sessionVersion is the version of hub.json this package writes.
const sessionVersion = 1

// storedSession is the form of hub.json.
type storedSession struct {
	Version     int         `json:"version"`
	URL         string      `json:"url"`
	HubKey      []byte      `json:"hub_key"`
	User        hubapi.User `json:"user"`
	Insecure    bool        `json:"insecure"`
	TokenSHA256 string      `json:"token_sha256"`
}

func tokenDigest(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// validToken reports whether t can be a bearer token: 1 to 4096 visible
// ASCII characters (RFC 6750's b64token is a subset).
func validToken(t string) bool {
	if len(t) == 0 || len(t) > 4096 {
		return false
	}
	for i := range len(t) {
		if t[i] <= 0x20 || t[i] > 0x7e {
			return false
		}
	}
	return true
}

// Save stores sess, replacing any session. The token is written first and
// the session file last, so the file only ever names a token that is kept.
// A non-empty warning says the token went to a file because the OS keyring
// could not be used; show it to the user.
func (s *SessionStore) Save(sess Session) (warning string, err error) {
	if !validToken(sess.Token) {
		return "", errors.New("save hub session: the token is empty or not printable ASCII")
	}
	if _, err := ParseURL(sess.URL, sess.Insecure); err != nil {
		return "", fmt.Errorf("save hub session: %w", err)
	}
	if len(sess.HubKey) != 32 {
		return "", fmt.Errorf("save hub session: hub key of %d bytes, want 32", len(sess.HubKey))
	}
	warning, err = s.saveToken(sess.Token)
	if err != nil {
		return "", fmt.Errorf("save hub token: %w", err)
	}
	b, err := json.MarshalIndent(storedSession{
		Version:     sessionVersion,
		URL:         sess.URL,
		HubKey:      sess.HubKey,
		User:        sess.User,
		Insecure:    sess.Insecure,
		TokenSHA256: tokenDigest(sess.Token),
	}, "", "  ")
	if err != nil {
		return "", fmt.Errorf("save hub session: %w", err)
	}
	err = fsutil.WriteFile(s.Path, 0o600, func(w io.Writer) error {
		_, err := w.Write(append(b, '\n'))
		return err
	})
	if err != nil {
		return "", fmt.Errorf("save hub session: %w", err)
	}
	return warning, nil
}

// Load reads the stored session. It returns an error wrapping ErrNoSession
// when there is none; a session file or token that cannot be read is an
// error naming where it is kept (wrapping ErrCorruptSession when the content
// is bad), never "no session".
func (s *SessionStore) Load() (Session, error) {
	b, err := readPrivate(s.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return Session{}, fmt.Errorf("%w (no %s): run 'latchkey login'", ErrNoSession, s.Path)
	}
	if err != nil {
		return Session{}, fmt.Errorf("load hub session: %w", err)
	}
	st, err := decodeSession(b)
	if err != nil {
		return Session{}, fmt.Errorf("load hub session: %w: %s: %v (run 'latchkey login' again)", ErrCorruptSession, s.Path, err)
	}
	token, err := s.loadToken(st.TokenSHA256)
	if err != nil {
		return Session{}, fmt.Errorf("load hub session (%s): %w", s.Path, err)
	}
	return Session{URL: st.URL, Token: token, HubKey: st.HubKey, User: st.User, Insecure: st.Insecure}, nil
}

// saveToken puts the token in the keyring, else in the token file with a
// warning. A token file left from an earlier login is removed once the
// keyring holds the token, so no stale secret stays on disk.
func (s *SessionStore) saveToken(token string) (warning string, err error) {
	file := &identity.File{Path: s.TokenFile}
	if s.Keyring != nil {
		kerr := func() error { _, err := s.Keyring.Save([]byte(token)); return err }()
		if kerr == nil {
			if err := os.Remove(s.TokenFile); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return "", fmt.Errorf("remove the old token file: %w", err)
			}
			return "", nil
		}
		warning = fmt.Sprintf("%v, so your hub token is kept in %s (readable only by you): keep it out of backups and shared folders", kerr, s.TokenFile)
	}
	if _, err := file.Save([]byte(token)); err != nil {
		return "", err
	}
	return warning, nil
}

// loadToken returns the token whose SHA-256 is digest from the keyring or
// the token file. A token that cannot be read for another reason than its
// absence (a file others may read, say) is an error, never skipped.
func (s *SessionStore) loadToken(digest string) (string, error) {
	stores := []identity.Store{&identity.File{Path: s.TokenFile}}
	if s.Keyring != nil {
		stores = []identity.Store{s.Keyring, stores[0]}
	}
	var stale identity.Store
	for _, st := range stores {
		b, err := st.Load()
		if errors.Is(err, identity.ErrNotFound) || errors.Is(err, identity.ErrUnavailable) {
			continue
		}
		if err != nil {
			return "", fmt.Errorf("token in %s: %w", st, err)
		}
		token := string(b)
		clear(b)
		if len(token) == 0 {
			continue // cleared by Delete
		}
		if subtle.ConstantTimeCompare([]byte(tokenDigest(token)), []byte(digest)) == 1 && validToken(token) {
			return token, nil
		}
		stale = st
	}
	if stale != nil {
		return "", fmt.Errorf("%w: the token in %s is not the one the session was saved with (run 'latchkey login' again)", ErrCorruptSession, stale)
	}
	where := "not in " + stores[0].String()
	if len(stores) > 1 {
		where = fmt.Sprintf("neither in %s nor in %s", stores[0], stores[1])
	}
	return "", fmt.Errorf("%w: its token is %s (run 'latchkey login' again)", ErrCorruptSession, where)
}

// decodeSession reads hub.json strictly.
func decodeSession(b []byte) (storedSession, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var st storedSession
	if err := dec.Decode(&st); err != nil {
		return storedSession{}, err
	}
	if dec.More() {
		return storedSession{}, errors.New("data after the JSON document")
	}
	switch {
	case st.Version != sessionVersion:
		return storedSession{}, fmt.Errorf("format version %d, this latchkey reads version %d", st.Version, sessionVersion)
	case st.URL == "":
		return storedSession{}, errors.New("no hub URL")
	case len(st.HubKey) != 32:
		return storedSession{}, fmt.Errorf("hub key of %d bytes, want 32", len(st.HubKey))
	case len(st.TokenSHA256) != 64:
		return storedSession{}, errors.New("no token digest")
	}
	return st, nil
}

// readPrivate reads a small file that only its owner may read or write.
func readPrivate(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 && runtime.GOOS != "windows" {
		return nil, fmt.Errorf("%s has mode %04o, so others may read it: run 'chmod 600 %s'", path, perm, path)
	}
	b, err := io.ReadAll(io.LimitReader(f, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return b, nil
}

// Delete forgets the session (logout): it removes the session file and the
// token file, and overwrites a token in the keyring with nothing (the
// keyring store offers no delete). Deleting when there is no session is not
// an error.
func (s *SessionStore) Delete() error {
	var errs []error
	if err := os.Remove(s.Path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		errs = append(errs, err)
	}
	if err := os.Remove(s.TokenFile); err != nil && !errors.Is(err, fs.ErrNotExist) {
		errs = append(errs, err)
	}
	if s.Keyring != nil {
		if tok, err := s.Keyring.Load(); err == nil && len(tok) > 0 {
			clear(tok)
			if _, err := s.Keyring.Save(nil); err != nil {
				errs = append(errs, fmt.Errorf("clear the token in %s: %w", s.Keyring, err))
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("log out: %w", err)
	}
	return nil
}
