package cmdutil

import (
	"errors"

	"github.com/latchkey/latchkey/internal/hubclient"
)

// SessionStore is where `latchkey login` keeps the hub session of this
// LATCHKEY_HOME: the token in the OS keyring where one works, else in a
// 0600 file in the data directory.
func (f *Factory) SessionStore() (*hubclient.SessionStore, error) {
	d, err := f.Dirs()
	if err != nil {
		return nil, err
	}
	ss := hubclient.DefaultSessionStore(d.Data)
	if f.FileKeys {
		ss.Keyring = nil
	}
	return ss, nil
}

// HubSession loads the hub session; when nobody has logged in, the error
// says how to.
func (f *Factory) HubSession() (hubclient.Session, error) {
	ss, err := f.SessionStore()
	if err != nil {
		return hubclient.Session{}, err
	}
	s, err := ss.Load()
	if errors.Is(err, hubclient.ErrNoSession) {
		return hubclient.Session{}, WithHint(err, "ask your administrator for an enrollment code, then run 'latchkey login --hub URL --code CODE'")
	}
	if errors.Is(err, hubclient.ErrCorruptSession) {
		return hubclient.Session{}, WithHint(err, "log in again with 'latchkey login --hub URL --code CODE' (ask for a new code)")
	}
	return s, err
}

// HubClient returns a client of the logged-in hub.
func (f *Factory) HubClient() (*hubclient.Client, hubclient.Session, error) {
	s, err := f.HubSession()
	if err != nil {
		return nil, hubclient.Session{}, err
	}
	c, err := s.Client(hubclient.Options{UserAgent: "latchkey/" + f.Build.Version})
	if err != nil {
		return nil, hubclient.Session{}, err
	}
	return c, s, nil
}
