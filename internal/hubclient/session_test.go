package hubclient

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/hubapi"
	"github.com/latchkey/latchkey/internal/identity"
)

// fakeKeyring is an in-memory identity.Store standing in for the OS keyring,
// which this headless machine does not have.
type fakeKeyring struct {
	item        []byte
	set         bool
	unavailable bool
}

func (k *fakeKeyring) String() string { return "the fake keyring" }

func (k *fakeKeyring) Load() ([]byte, error) {
	switch {
	case k.unavailable:
		return nil, fmt.Errorf("fake keyring %w", identity.ErrUnavailable)
	case !k.set:
		return nil, fmt.Errorf("%w in the fake keyring", identity.ErrNotFound)
	}
	return bytes.Clone(k.item), nil
}

func (k *fakeKeyring) Save(b []byte) (string, error) {
	if k.unavailable {
		return "", fmt.Errorf("fake keyring %w", identity.ErrUnavailable)
	}
	k.item, k.set = bytes.Clone(b), true
	return "", nil
}

func testSession() Session {
	return Session{
		URL:      "https://hub.example.com",
		Token:    testToken,
		HubKey:   bytes.Repeat([]byte{0x42}, 32),
		User:     hubapi.User{ID: "u1", Name: "ana", Role: hubapi.RoleInstaller, EnrolledAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)},
		Insecure: false,
	}
}

// fileStore is a store without the OS keyring.
func fileStore(t *testing.T) *SessionStore {
	dir := t.TempDir()
	return &SessionStore{Path: filepath.Join(dir, SessionFileName), TokenFile: filepath.Join(dir, TokenFileName)}
}

func checkSession(t *testing.T, got, want Session) {
	t.Helper()
	if got.URL != want.URL || got.Token != want.Token || !bytes.Equal(got.HubKey, want.HubKey) ||
		got.User.ID != want.User.ID || !got.User.EnrolledAt.Equal(want.User.EnrolledAt) || got.Insecure != want.Insecure {
		t.Errorf("loaded %+v, want %+v", got, want)
	}
}

func TestSessionRoundTripFile(t *testing.T) {
	t.Parallel()
	s := fileStore(t)
	if _, err := s.Load(); !errors.Is(err, ErrNoSession) {
		t.Fatalf("Load before Save = %v, want ErrNoSession", err)
	}
	want := testSession()
	if _, err := s.Save(want); err != nil {
		t.Fatal(err)
	}
	got, err := s.Load()
	if err != nil {
		t.Fatal(err)
	}
	checkSession(t, got, want)
	for _, p := range []string{s.Path, s.TokenFile} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %04o, want 0600", p, fi.Mode().Perm())
		}
	}
	b, _ := os.ReadFile(s.Path)
	if bytes.Contains(b, []byte(testToken)) {
		t.Errorf("%s holds the token", s.Path)
	}
	if err := s.Delete(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Load(); !errors.Is(err, ErrNoSession) {
		t.Errorf("Load after Delete = %v, want ErrNoSession", err)
	}
	if _, err := os.Stat(s.TokenFile); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("token file left after Delete: %v", err)
	}
	if err := s.Delete(); err != nil {
		t.Errorf("second Delete = %v", err)
	}
}

func TestSessionKeyring(t *testing.T) {
	t.Parallel()
	t.Run("token in the keyring", func(t *testing.T) {
		t.Parallel()
		s := fileStore(t)
		kr := &fakeKeyring{}
		s.Keyring = kr
		warning, err := s.Save(testSession())
		if err != nil || warning != "" {
			t.Fatalf("Save = %q, %v", warning, err)
		}
		if string(kr.item) != testToken {
			t.Errorf("keyring holds %q", kr.item)
		}
		if _, err := os.Stat(s.TokenFile); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("token file written although the keyring works: %v", err)
		}
		got, err := s.Load()
		if err != nil {
			t.Fatal(err)
		}
		checkSession(t, got, testSession())
		if err := s.Delete(); err != nil {
			t.Fatal(err)
		}
		if len(kr.item) != 0 {
			t.Errorf("keyring still holds %q after Delete", kr.item)
		}
		if _, err := s.Load(); !errors.Is(err, ErrNoSession) {
			t.Errorf("Load after Delete = %v", err)
		}
	})
	t.Run("keyring unavailable", func(t *testing.T) {
		t.Parallel()
		s := fileStore(t)
		s.Keyring = &fakeKeyring{unavailable: true}
		warning, err := s.Save(testSession())
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(warning, s.TokenFile) || !strings.Contains(warning, "hub token") || !strings.Contains(warning, "unavailable") {
			t.Errorf("warning %q does not say why and where the token went", warning)
		}
		got, err := s.Load()
		if err != nil {
			t.Fatal(err)
		}
		checkSession(t, got, testSession())
	})
	t.Run("cleared keyring token", func(t *testing.T) {
		t.Parallel()
		s := fileStore(t)
		kr := &fakeKeyring{}
		s.Keyring = kr
		if _, err := s.Save(testSession()); err != nil {
			t.Fatal(err)
		}
		kr.item = nil
		if _, err := s.Load(); !errors.Is(err, ErrCorruptSession) || !strings.Contains(err.Error(), "fake keyring") {
			t.Errorf("Load = %v, want ErrCorruptSession naming the keyring", err)
		}
	})
	t.Run("keyring back after a headless login", func(t *testing.T) {
		t.Parallel()
		s := fileStore(t)
		kr := &fakeKeyring{}
		s.Keyring = kr
		old := testSession()
		old.Token = "old-token"
		if _, err := s.Save(old); err != nil {
			t.Fatal(err)
		}
		kr.unavailable = true
		if _, err := s.Save(testSession()); err != nil {
			t.Fatal(err)
		}
		kr.unavailable = false // holds the old token again
		got, err := s.Load()
		if err != nil {
			t.Fatal(err)
		}
		checkSession(t, got, testSession())
		// Saving with the keyring working again moves the token off disk.
		if _, err := s.Save(testSession()); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(s.TokenFile); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("token file left once the keyring holds the token: %v", err)
		}
	})
}

func TestSessionLoadRefuses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		damage func(t *testing.T, s *SessionStore)
		want   error
		names  func(s *SessionStore) string
	}{
		{
			name:   "corrupt hub.json",
			damage: func(t *testing.T, s *SessionStore) { write(t, s.Path, `{"version":1,"url":`) },
			want:   ErrCorruptSession, names: func(s *SessionStore) string { return s.Path },
		},
		{
			name:   "empty hub.json",
			damage: func(t *testing.T, s *SessionStore) { write(t, s.Path, ``) },
			want:   ErrCorruptSession, names: func(s *SessionStore) string { return s.Path },
		},
		{
			name: "unknown field",
			damage: func(t *testing.T, s *SessionStore) {
				b, _ := os.ReadFile(s.Path)
				write(t, s.Path, strings.Replace(string(b), `"version"`, `"token":"x","version"`, 1))
			},
			want: ErrCorruptSession, names: func(s *SessionStore) string { return s.Path },
		},
		{
			name: "newer version",
			damage: func(t *testing.T, s *SessionStore) {
				b, _ := os.ReadFile(s.Path)
				write(t, s.Path, strings.Replace(string(b), `"version": 1`, `"version": 2`, 1))
			},
			want: ErrCorruptSession, names: func(s *SessionStore) string { return s.Path },
		},
		{
			name:   "token from another login",
			damage: func(t *testing.T, s *SessionStore) { write(t, s.TokenFile, "another-token") },
			want:   ErrCorruptSession, names: func(s *SessionStore) string { return s.TokenFile },
		},
		{
			name:   "token missing",
			damage: func(t *testing.T, s *SessionStore) { os.Remove(s.TokenFile) },
			want:   ErrCorruptSession, names: func(s *SessionStore) string { return s.TokenFile },
		},
		{
			name:   "hub.json readable by others",
			damage: func(t *testing.T, s *SessionStore) { os.Chmod(s.Path, 0o644) },
			names:  func(s *SessionStore) string { return "chmod 600 " + s.Path },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := fileStore(t)
			if _, err := s.Save(testSession()); err != nil {
				t.Fatal(err)
			}
			tt.damage(t, s)
			_, err := s.Load()
			if err == nil || errors.Is(err, ErrNoSession) {
				t.Fatalf("Load = %v, want an error other than ErrNoSession", err)
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("Load = %v, want %v", err, tt.want)
			}
			if !strings.Contains(err.Error(), tt.names(s)) {
				t.Errorf("error %q does not name %s", err, tt.names(s))
			}
			if strings.Contains(err.Error(), testToken) {
				t.Errorf("error shows the token: %v", err)
			}
		})
	}
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestSessionSaveRefuses(t *testing.T) {
	t.Parallel()
	for name, change := range map[string]func(*Session){
		"no token":           func(s *Session) { s.Token = "" },
		"token with a space": func(s *Session) { s.Token = "a b" },
		"plain http":         func(s *Session) { s.URL = "http://10.0.0.5" },
		"short hub key":      func(s *Session) { s.HubKey = s.HubKey[:31] },
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			sess := testSession()
			change(&sess)
			if _, err := fileStore(t).Save(sess); err == nil {
				t.Error("Save succeeded")
			}
		})
	}
}

func TestSessionNeverShowsToken(t *testing.T) {
	t.Parallel()
	s := testSession()
	type holder struct{ S Session }
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x"} {
		for _, v := range []any{s, &s, holder{s}, &holder{s}} {
			out := fmt.Sprintf(verb, v)
			if strings.Contains(out, testToken) || strings.Contains(out, fmt.Sprintf("%x", testToken)) {
				t.Errorf("%s of %T shows the token: %s", verb, v, out)
			}
			if !strings.Contains(out, "[token]") {
				t.Errorf("%s of %T = %q has no [token]", verb, v, out)
			}
		}
	}
	for _, v := range []any{s, &s, holder{s}} {
		if b, err := json.Marshal(v); !errors.Is(err, ErrMarshal) {
			t.Errorf("json.Marshal(%T) = %s, %v; want ErrMarshal", v, b, err)
		}
	}
}

func TestSessionClient(t *testing.T) {
	t.Parallel()
	s := testSession()
	s.URL, s.Insecure = "http://10.0.0.5:8470", true
	c, err := s.Client(Options{})
	if err != nil {
		t.Fatal(err)
	}
	if c.token != testToken || c.URL() != s.URL {
		t.Errorf("client of %v has url %s", s, c.URL())
	}
	s.Insecure = false
	if _, err := s.Client(Options{Insecure: true}); !errors.Is(err, ErrInsecure) {
		t.Errorf("Client = %v, want the session's Insecure to win", err)
	}
}

func TestDefaultSessionStore(t *testing.T) {
	t.Parallel()
	s := DefaultSessionStore("/data")
	if s.Path != filepath.Join("/data", "hub.json") || s.TokenFile != filepath.Join("/data", "hub-token") {
		t.Errorf("paths %s %s", s.Path, s.TokenFile)
	}
	kr, ok := s.Keyring.(*identity.Keyring)
	if !ok || kr.Account != "/data#hub-token" || kr.Service != identity.KeyringService {
		t.Errorf("keyring %v", s.Keyring)
	}
}
