package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/hub"
	"github.com/latchkey/latchkey/internal/hubapi"
)

// The rules below are the ones hub.Storage's doc comments say about
// revocation times, re-enrollment, duplicate codes, denying again and
// malformed intake items.

// enrollAs creates a code for name and redeems it, at the suite's hour,
// with u as the new user's keys and token.
func enrollAs(t *testing.T, s hub.Storage, name, role string, u hub.User) (hub.User, error) {
	t.Helper()
	e, hash := enrollment(name, role, role+"-"+u.KeyID+"-"+u.TokenHash)
	if err := s.CreateEnrollment(context.Background(), e); err != nil {
		t.Fatalf("CreateEnrollment %s: %v", name, err)
	}
	return s.Enroll(context.Background(), hash, at(time.Hour), u)
}

func testRevokeKeepsEarliest(t *testing.T, s hub.Storage) {
	ctx := context.Background()
	if _, err := enrollAs(t, s, "alice", hubapi.RoleInstaller, newUser("alice", at(time.Hour))); err != nil {
		t.Fatal(err)
	}
	first := at(2 * time.Hour)
	for _, when := range []time.Time{first, first.Add(time.Hour), first.Add(time.Nanosecond)} {
		u, err := s.RevokeUser(ctx, "alice", when)
		if err != nil || !u.RevokedAt.Equal(first) {
			t.Errorf("RevokeUser at %v = %v, %v; want revoked at %v", when, u.RevokedAt, err, first)
		}
	}
	for _, when := range []time.Time{first.Add(-time.Nanosecond), at(time.Hour)} {
		u, err := s.RevokeUser(ctx, "alice", when)
		if err != nil || !u.RevokedAt.Equal(when) {
			t.Errorf("RevokeUser earlier = %v, %v; want %v", u.RevokedAt, err, when)
		}
	}
}

func testReenrollKeepsRevocation(t *testing.T, s hub.Storage) {
	ctx := context.Background()
	old, err := enrollAs(t, s, "alice", hubapi.RoleInstaller, newUser("alice1", at(time.Hour)))
	if err != nil {
		t.Fatal(err)
	}
	revoked := at(time.Hour - time.Minute) // before the re-enrollment
	if _, err := s.RevokeUser(ctx, "alice", revoked); err != nil {
		t.Fatal(err)
	}
	u, err := enrollAs(t, s, "alice", hubapi.RoleInstaller, newUser("alice2", at(time.Hour)))
	if err != nil {
		t.Fatalf("re-enroll: %v", err)
	}
	if !u.RevokedAt.Equal(revoked) {
		t.Errorf("re-enrolled revoked user: RevokedAt = %v, want still %v", u.RevokedAt, revoked)
	}
	// The old key was revoked with the user, before its replacement.
	k, err := s.UserByKeyID(ctx, old.KeyID)
	if err != nil || !k.RevokedAt.Equal(revoked) || k.TokenHash != "" {
		t.Errorf("UserByKeyID(old key) = %+v, %v; want revoked at %v, no token", k, err, revoked)
	}
}

func testEnrollKeyRules(t *testing.T, s hub.Storage) {
	ctx := context.Background()
	user := func(seed string) hub.User { return newUser(seed, at(time.Hour)) }
	alice1 := user("alice1")
	if _, err := enrollAs(t, s, "alice", hubapi.RoleInstaller, alice1); err != nil {
		t.Fatal(err)
	}
	if _, err := enrollAs(t, s, "alice", hubapi.RoleInstaller, user("alice2")); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, who string
		u         hub.User
	}{
		{"another user's key", "bob", user("alice2")},
		{"own replaced key", "alice", alice1},
		{"id taken", "carol", func() hub.User { u := user("carol"); u.ID = alice1.ID; return u }()},
		{"token taken", "dave", func() hub.User { u := user("dave"); u.TokenHash = user("alice2").TokenHash; return u }()},
	}
	for _, tc := range tests {
		if _, err := enrollAs(t, s, tc.who, hubapi.RoleSales, tc.u); !errors.Is(err, hub.ErrExists) {
			t.Errorf("%s: Enroll error = %v, want ErrExists", tc.name, err)
		}
	}
	// The current key again only replaces the token (and the role).
	again := user("alice2")
	again.TokenHash = hexSum("new token")
	u, err := enrollAs(t, s, "alice", hubapi.RoleSupport, again)
	if err != nil || u.KeyID != again.KeyID || u.Role != hubapi.RoleSupport || u.Revoked() {
		t.Fatalf("re-enroll with the current key = %+v, %v", u, err)
	}
	if _, err := s.UserByToken(ctx, user("alice2").TokenHash); !errors.Is(err, hub.ErrNotFound) {
		t.Errorf("old token after re-enrolling the same key: error = %v, want ErrNotFound", err)
	}
	if users, err := s.Users(ctx); err != nil || len(users) != 1 {
		t.Errorf("Users = %+v, %v; want only alice", users, err)
	}
}

func testDuplicateEnrollmentCode(t *testing.T, s hub.Storage) {
	ctx := context.Background()
	e, _ := enrollment("alice", hubapi.RoleInstaller, "twice")
	if err := s.CreateEnrollment(ctx, e); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateEnrollment(ctx, e); !errors.Is(err, hub.ErrExists) {
		t.Errorf("second CreateEnrollment of a code: error = %v, want ErrExists", err)
	}
}

func testDenyAgainKeepsFirstTime(t *testing.T, s hub.Storage) {
	ctx := context.Background()
	for i, reason := range []string{"stolen", "stolen from van 4"} {
		if err := s.DenyUnit(ctx, hub.DeniedUnit{Serial: "LK-1", Reason: reason, DeniedAt: at(time.Duration(i) * time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	d, err := s.Denylist(ctx)
	if err != nil || len(d) != 1 || d[0].Reason != "stolen from van 4" || !d[0].DeniedAt.Equal(at(0)) {
		t.Errorf("Denylist = %+v, %v; want the new reason and the first time", d, err)
	}
}

func testIntakeRejectsBadItems(t *testing.T, s hub.Storage) {
	ctx := context.Background()
	r := record("rec-1", "survey", "alice", "job-1", "", at(time.Hour), "a")
	req := request("alice", "k1", stored(r), hub.IntakeItem{}, hub.IntakeItem{Record: &r, Refused: &hub.Refusal{}})
	if _, err := s.Intake(ctx, req); err == nil {
		t.Fatal("Intake with an empty item and one both stored and refused: no error")
	}
	if n, err := s.CountRecords(ctx, hub.RecordFilter{}); err != nil || n != 0 {
		t.Errorf("CountRecords = %d, %v; want nothing stored", n, err)
	}
	// The key was not used up by the refused request.
	if res, err := s.Intake(ctx, request("alice", "k1", stored(r))); err != nil || res.Replayed {
		t.Errorf("Intake after the refused request = %+v, %v; want a first use", res, err)
	}
}
