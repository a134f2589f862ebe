// Package storetest owns the conformance suite for hub.Storage: the rules of
// the interface's doc comments as tests, which every implementation (SQLite
// in internal/hub/sqlstore, PostgreSQL in internal/hub/pgstore) runs from
// its own tests with Run. It checks only what the contract says; rules an
// implementation adds on top are that implementation's own tests.
package storetest

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/hub"
	"github.com/latchkey/latchkey/internal/hubapi"
)

// Run runs the suite as subtests of t. open must return a fresh, empty
// storage and close it when its test ends (t.Cleanup); it is called from
// parallel subtests.
func Run(t *testing.T, open func(t *testing.T) hub.Storage) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s hub.Storage)
	}{
		{"Ping", testPing},
		{"EnrollCreatesUser", testEnrollCreatesUser},
		{"EnrollRefusesCodes", testEnrollRefusesCodes},
		{"EnrollConcurrent", testEnrollConcurrent},
		{"Reenroll", testReenroll},
		{"UsersByName", testUsersByName},
		{"UserNotFound", testUserNotFound},
		{"RevokeUser", testRevokeUser},
		{"Jobs", testJobs},
		{"IntakeStores", testIntakeStores},
		{"IntakeDuplicateConflict", testIntakeDuplicateConflict},
		{"IntakeReplay", testIntakeReplay},
		{"IntakeMismatch", testIntakeMismatch},
		{"IntakeKeysPerUser", testIntakeKeysPerUser},
		{"IntakeEmpty", testIntakeEmpty},
		{"IntakeConcurrentSameKey", testIntakeConcurrentSameKey},
		{"IntakeConcurrentSameRecords", testIntakeConcurrentSameRecords},
		{"SweepIdempotency", testSweepIdempotency},
		{"RecordFilters", testRecordFilters},
		{"Denylist", testDenylist},
		{"Units", testUnits},
		{"JournalHead", testJournalHead},
		{"LookupsRefuseBadText", testLookupsRefuseBadText},
		{"PinKey", testPinKey},
		{"PinKeyConcurrent", testPinKeyConcurrent},
		{"RevokeKeepsEarliest", testRevokeKeepsEarliest},
		{"ReenrollKeepsRevocation", testReenrollKeepsRevocation},
		{"EnrollKeyRules", testEnrollKeyRules},
		{"DuplicateEnrollmentCode", testDuplicateEnrollmentCode},
		{"DenyAgainKeepsFirstTime", testDenyAgainKeepsFirstTime},
		{"IntakeRejectsBadItems", testIntakeRejectsBadItems},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, open(t))
		})
	}
}

// at is the suite's clock, d after its start: a zone other than UTC and a
// full nanosecond part, so that every stored time must round-trip exactly.
func at(d time.Duration) time.Time {
	return time.Date(2026, 3, 2, 9, 30, 15, 123456789, time.FixedZone("CET", 3600)).Add(d)
}

func hexSum(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// enrollment makes a pending enrollment for name whose code is
// "code-"+name+"-"+tag, valid for a day from the suite clock's start.
func enrollment(name, role, tag string) (hub.Enrollment, string) {
	hash := hexSum("code-" + name + "-" + tag)
	return hub.Enrollment{CodeHash: hash, Name: name, Role: role, CreatedAt: at(0), ExpiresAt: at(24 * time.Hour)}, hash
}

// newUser makes the part of a user that enrolling brings, derived from seed.
// Name and Role are set to values the enrollment must override.
func newUser(seed string, enrolled time.Time) hub.User {
	sign := sha256.Sum256([]byte("sign-" + seed))
	kex := sha256.Sum256([]byte("kex-" + seed))
	return hub.User{
		ID:          "id-" + seed,
		Name:        "not-from-enrollment",
		Role:        "not-from-enrollment",
		SignKey:     sign[:],
		KexKey:      kex[:],
		KeyID:       "key-" + seed,
		Fingerprint: "fp-" + seed,
		TokenHash:   hexSum("token-" + seed),
		EnrolledAt:  enrolled,
	}
}

// enroll creates an enrollment for name and redeems it with the user made
// from seed.
func enroll(t *testing.T, s hub.Storage, name, role, seed string) hub.User {
	t.Helper()
	ctx := context.Background()
	e, hash := enrollment(name, role, seed)
	if err := s.CreateEnrollment(ctx, e); err != nil {
		t.Fatalf("CreateEnrollment %s: %v", name, err)
	}
	u, err := s.Enroll(ctx, hash, at(time.Hour), newUser(seed, at(time.Hour)))
	if err != nil {
		t.Fatalf("Enroll %s: %v", name, err)
	}
	return u
}

// diffUser describes how got differs from want ("" when equal).
func diffUser(got, want hub.User) string {
	var d []string
	check := func(field string, ok bool, g, w any) {
		if !ok {
			d = append(d, fmt.Sprintf("%s = %v, want %v", field, g, w))
		}
	}
	check("ID", got.ID == want.ID, got.ID, want.ID)
	check("Name", got.Name == want.Name, got.Name, want.Name)
	check("Role", got.Role == want.Role, got.Role, want.Role)
	check("SignKey", bytes.Equal(got.SignKey, want.SignKey), got.SignKey, want.SignKey)
	check("KexKey", bytes.Equal(got.KexKey, want.KexKey), got.KexKey, want.KexKey)
	check("KeyID", got.KeyID == want.KeyID, got.KeyID, want.KeyID)
	check("Fingerprint", got.Fingerprint == want.Fingerprint, got.Fingerprint, want.Fingerprint)
	check("TokenHash", got.TokenHash == want.TokenHash, got.TokenHash, want.TokenHash)
	check("EnrolledAt", got.EnrolledAt.Equal(want.EnrolledAt), got.EnrolledAt, want.EnrolledAt)
	check("RevokedAt", got.RevokedAt.Equal(want.RevokedAt), got.RevokedAt, want.RevokedAt)
	return joinDiff(d)
}

func joinDiff(d []string) string { return strings.Join(d, "; ") }

func testPing(t *testing.T, s hub.Storage) {
	if err := s.Ping(context.Background()); err != nil {
		t.Fatalf("Ping: %v", err)
	}
}

func testEnrollCreatesUser(t *testing.T, s hub.Storage) {
	ctx := context.Background()
	e, hash := enrollment("alice", hubapi.RoleInstaller, "1")
	if err := s.CreateEnrollment(ctx, e); err != nil {
		t.Fatalf("CreateEnrollment: %v", err)
	}
	in := newUser("alice1", at(time.Hour))
	got, err := s.Enroll(ctx, hash, at(time.Hour), in)
	if err != nil {
		t.Fatalf("Enroll: %v", err)
	}
	want := in
	want.Name, want.Role = "alice", hubapi.RoleInstaller
	if d := diffUser(got, want); d != "" {
		t.Errorf("Enroll returned %s", d)
	}
	if got.Revoked() {
		t.Errorf("a new user is revoked")
	}
	lookups := []struct {
		name string
		fn   func() (hub.User, error)
	}{
		{"User", func() (hub.User, error) { return s.User(ctx, "alice") }},
		{"UserByToken", func() (hub.User, error) { return s.UserByToken(ctx, want.TokenHash) }},
		{"UserByKeyID", func() (hub.User, error) { return s.UserByKeyID(ctx, want.KeyID) }},
	}
	for _, l := range lookups {
		u, err := l.fn()
		if err != nil {
			t.Errorf("%s: %v", l.name, err)
			continue
		}
		if d := diffUser(u, want); d != "" {
			t.Errorf("%s: %s", l.name, d)
		}
	}
	users, err := s.Users(ctx)
	if err != nil {
		t.Fatalf("Users: %v", err)
	}
	if len(users) != 1 || diffUser(users[0], want) != "" {
		t.Errorf("Users = %+v, want only %+v", users, want)
	}
}

func testEnrollRefusesCodes(t *testing.T, s hub.Storage) {
	ctx := context.Background()
	e, hash := enrollment("bob", hubapi.RoleSales, "1")
	if err := s.CreateEnrollment(ctx, e); err != nil {
		t.Fatalf("CreateEnrollment: %v", err)
	}
	used, usedHash := enrollment("carol", hubapi.RoleSupport, "1")
	if err := s.CreateEnrollment(ctx, used); err != nil {
		t.Fatalf("CreateEnrollment: %v", err)
	}
	if _, err := s.Enroll(ctx, usedHash, at(time.Hour), newUser("carol1", at(time.Hour))); err != nil {
		t.Fatalf("Enroll carol: %v", err)
	}
	// Refusals first; the last case redeems bob's code a moment before it
	// expires, which proves the expired tries left it unused.
	tests := []struct {
		name   string
		hash   string
		now    time.Time
		wantOK bool
	}{
		{"unknown code", hexSum("no such code"), at(time.Hour), false},
		{"expired: at expiry", hash, e.ExpiresAt, false},
		{"expired: after expiry", hash, e.ExpiresAt.Add(time.Hour), false},
		{"used", usedHash, at(2 * time.Hour), false},
		{"valid until expiry", hash, e.ExpiresAt.Add(-time.Nanosecond), true},
		{"used by the case before", hash, at(time.Hour), false},
	}
	for i, tc := range tests {
		seed := fmt.Sprintf("try%d", i)
		u, err := s.Enroll(ctx, tc.hash, tc.now, newUser(seed, tc.now))
		switch {
		case tc.wantOK && err != nil:
			t.Errorf("%s: Enroll: %v", tc.name, err)
		case tc.wantOK && u.Name != "bob":
			t.Errorf("%s: enrolled %q, want bob", tc.name, u.Name)
		case !tc.wantOK && !errors.Is(err, hub.ErrEnrollInvalid):
			t.Errorf("%s: Enroll error = %v, want ErrEnrollInvalid", tc.name, err)
		}
		if _, err := s.UserByKeyID(ctx, "key-"+seed); tc.wantOK != (err == nil) {
			t.Errorf("%s: user with the refused key: UserByKeyID error = %v", tc.name, err)
		}
	}
}

func testEnrollConcurrent(t *testing.T, s hub.Storage) {
	ctx := context.Background()
	e, hash := enrollment("dave", hubapi.RoleInstaller, "1")
	if err := s.CreateEnrollment(ctx, e); err != nil {
		t.Fatalf("CreateEnrollment: %v", err)
	}
	const n = 8
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			_, errs[i] = s.Enroll(ctx, hash, at(time.Hour), newUser(fmt.Sprintf("dave%d", i), at(time.Hour)))
		})
	}
	close(start)
	wg.Wait()
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil && winner >= 0:
			t.Errorf("code redeemed twice: by try %d and try %d", winner, i)
		case err == nil:
			winner = i
		case !errors.Is(err, hub.ErrEnrollInvalid):
			t.Errorf("try %d: error = %v, want ErrEnrollInvalid", i, err)
		}
	}
	if winner < 0 {
		t.Fatalf("no try redeemed the code: %v", errs)
	}
	users, err := s.Users(ctx)
	if err != nil {
		t.Fatalf("Users: %v", err)
	}
	if len(users) != 1 || users[0].KeyID != fmt.Sprintf("key-dave%d", winner) {
		t.Errorf("Users = %+v, want dave with the winner's key key-dave%d", users, winner)
	}
}

func testReenroll(t *testing.T, s hub.Storage) {
	ctx := context.Background()
	old := enroll(t, s, "erin", hubapi.RoleInstaller, "laptop1")
	other := enroll(t, s, "frank", hubapi.RoleInstaller, "frank1")

	e, hash := enrollment("erin", hubapi.RoleSupport, "laptop2")
	if err := s.CreateEnrollment(ctx, e); err != nil {
		t.Fatalf("CreateEnrollment: %v", err)
	}
	when := at(3 * time.Hour)
	in := newUser("laptop2", when)
	got, err := s.Enroll(ctx, hash, when, in)
	if err != nil {
		t.Fatalf("re-enroll: %v", err)
	}
	want := in
	want.ID, want.Name, want.Role = old.ID, "erin", hubapi.RoleSupport
	if d := diffUser(got, want); d != "" {
		t.Errorf("re-enroll returned %s", d)
	}
	if u, err := s.User(ctx, "erin"); err != nil || diffUser(u, want) != "" {
		t.Errorf("User(erin) = %+v, %v; want %+v", u, err, want)
	}
	if u, err := s.UserByToken(ctx, want.TokenHash); err != nil || diffUser(u, want) != "" {
		t.Errorf("UserByToken(new token) = %+v, %v; want %+v", u, err, want)
	}
	if _, err := s.UserByToken(ctx, old.TokenHash); !errors.Is(err, hub.ErrNotFound) {
		t.Errorf("UserByToken(old token) error = %v, want ErrNotFound", err)
	}
	if u, err := s.UserByKeyID(ctx, want.KeyID); err != nil || diffUser(u, want) != "" {
		t.Errorf("UserByKeyID(new key) = %+v, %v; want %+v", u, err, want)
	}
	// The old key still finds erin, so her old records verify, but as
	// revoked from the re-enrollment on.
	u, err := s.UserByKeyID(ctx, old.KeyID)
	switch {
	case err != nil:
		t.Errorf("UserByKeyID(old key): %v", err)
	case u.ID != old.ID || u.Name != "erin" || u.KeyID != old.KeyID || !bytes.Equal(u.SignKey, old.SignKey):
		t.Errorf("UserByKeyID(old key) = %+v, want erin with the old key %+v", u, old)
	case !u.RevokedAt.Equal(when):
		t.Errorf("UserByKeyID(old key).RevokedAt = %v, want the re-enrollment time %v", u.RevokedAt, when)
	}
	users, err := s.Users(ctx)
	if err != nil {
		t.Fatalf("Users: %v", err)
	}
	if len(users) != 2 || diffUser(users[0], want) != "" || diffUser(users[1], other) != "" {
		t.Errorf("Users = %+v, want erin (new keys) and frank unchanged", users)
	}
}

func testUsersByName(t *testing.T, s hub.Storage) {
	ctx := context.Background()
	for _, n := range []string{"mallory", "alice", "zoe", "bob"} {
		enroll(t, s, n, hubapi.RoleSales, n)
	}
	users, err := s.Users(ctx)
	if err != nil {
		t.Fatalf("Users: %v", err)
	}
	var names []string
	for _, u := range users {
		names = append(names, u.Name)
	}
	if want := []string{"alice", "bob", "mallory", "zoe"}; !slices.Equal(names, want) {
		t.Errorf("Users names = %v, want %v", names, want)
	}
}

func testUserNotFound(t *testing.T, s hub.Storage) {
	ctx := context.Background()
	if users, err := s.Users(ctx); err != nil || len(users) != 0 {
		t.Errorf("Users on an empty storage = %v, %v; want none", users, err)
	}
	enroll(t, s, "grace", hubapi.RoleInstaller, "grace")
	tests := []struct {
		name string
		fn   func() error
	}{
		{"User", func() error { _, err := s.User(ctx, "nobody"); return err }},
		{"UserByToken", func() error { _, err := s.UserByToken(ctx, hexSum("no token")); return err }},
		{"UserByKeyID", func() error { _, err := s.UserByKeyID(ctx, "no-key"); return err }},
		{"RevokeUser", func() error { _, err := s.RevokeUser(ctx, "nobody", at(0)); return err }},
	}
	for _, tc := range tests {
		if err := tc.fn(); !errors.Is(err, hub.ErrNotFound) {
			t.Errorf("%s of an unknown user: error = %v, want ErrNotFound", tc.name, err)
		}
	}
}

func testRevokeUser(t *testing.T, s hub.Storage) {
	ctx := context.Background()
	heidi := enroll(t, s, "heidi", hubapi.RoleInstaller, "heidi")
	ivan := enroll(t, s, "ivan", hubapi.RoleInstaller, "ivan")
	when := at(5 * time.Hour)
	got, err := s.RevokeUser(ctx, "heidi", when)
	if err != nil {
		t.Fatalf("RevokeUser: %v", err)
	}
	want := heidi
	want.RevokedAt = when
	if d := diffUser(got, want); d != "" {
		t.Errorf("RevokeUser returned %s", d)
	}
	if !got.Revoked() {
		t.Errorf("Revoked() = false after RevokeUser")
	}
	// Lookups still find a revoked user, marked, so the hub can say
	// "revoked" rather than "unknown".
	lookups := []struct {
		name string
		fn   func() (hub.User, error)
	}{
		{"User", func() (hub.User, error) { return s.User(ctx, "heidi") }},
		{"UserByToken", func() (hub.User, error) { return s.UserByToken(ctx, heidi.TokenHash) }},
		{"UserByKeyID", func() (hub.User, error) { return s.UserByKeyID(ctx, heidi.KeyID) }},
	}
	for _, l := range lookups {
		u, err := l.fn()
		if err != nil {
			t.Errorf("%s: %v", l.name, err)
			continue
		}
		if d := diffUser(u, want); d != "" {
			t.Errorf("%s after revocation: %s", l.name, d)
		}
	}
	if u, err := s.User(ctx, "ivan"); err != nil || diffUser(u, ivan) != "" {
		t.Errorf("revoking heidi changed ivan: %+v, %v", u, err)
	}
}

func sampleJob(id, installer string, created time.Time) hub.Job {
	return hub.Job{
		ID:          id,
		Building:    "Building " + id,
		Address:     "1 Main St, " + id,
		Doors:       []string{"front", "back " + id},
		AccessHours: "08:00-20:00",
		Incentive:   "gift-card-50",
		Terms:       "2026-01",
		Installer:   installer,
		CreatedAt:   created,
		ExpiresAt:   created.Add(30 * 24 * time.Hour),
		Packet:      []byte("sealed\x00\xff packet " + id),
	}
}

func diffJob(got, want hub.Job) string {
	var d []string
	if got.ID != want.ID || got.Building != want.Building || got.Address != want.Address ||
		got.AccessHours != want.AccessHours || got.Incentive != want.Incentive || got.Terms != want.Terms ||
		got.Installer != want.Installer {
		d = append(d, fmt.Sprintf("fields %+v, want %+v", got, want))
	}
	if !slices.Equal(got.Doors, want.Doors) {
		d = append(d, fmt.Sprintf("Doors = %q, want %q", got.Doors, want.Doors))
	}
	if !got.CreatedAt.Equal(want.CreatedAt) || !got.ExpiresAt.Equal(want.ExpiresAt) {
		d = append(d, fmt.Sprintf("times %v, %v; want %v, %v", got.CreatedAt, got.ExpiresAt, want.CreatedAt, want.ExpiresAt))
	}
	if !bytes.Equal(got.Packet, want.Packet) {
		d = append(d, fmt.Sprintf("Packet = %q, want %q", got.Packet, want.Packet))
	}
	return joinDiff(d)
}

func jobIDs(js []hub.Job) []string {
	var out []string
	for _, j := range js {
		out = append(out, j.ID)
	}
	return out
}

func testJobs(t *testing.T, s hub.Storage) {
	ctx := context.Background()
	jobs := []hub.Job{
		sampleJob("job-b", "ann", at(2*time.Hour)),
		sampleJob("job-a", "ann", at(1*time.Hour)),
		sampleJob("job-c", "ben", at(3*time.Hour)),
		sampleJob("job-d", "ann", at(4*time.Hour)),
	}
	jobs[1].Doors = nil
	for _, j := range jobs {
		if err := s.CreateJob(ctx, j); err != nil {
			t.Fatalf("CreateJob %s: %v", j.ID, err)
		}
	}
	dup := sampleJob("job-a", "ben", at(9*time.Hour))
	if err := s.CreateJob(ctx, dup); !errors.Is(err, hub.ErrExists) {
		t.Errorf("CreateJob of a stored id: error = %v, want ErrExists", err)
	}
	for _, want := range jobs {
		got, err := s.Job(ctx, want.ID)
		if err != nil {
			t.Errorf("Job %s: %v", want.ID, err)
			continue
		}
		if d := diffJob(got, want); d != "" {
			t.Errorf("Job %s: %s", want.ID, d)
		}
	}
	if _, err := s.Job(ctx, "job-x"); !errors.Is(err, hub.ErrNotFound) {
		t.Errorf("Job of an unknown id: error = %v, want ErrNotFound", err)
	}
	tests := []struct {
		installer string
		want      []string
	}{
		{"", []string{"job-d", "job-c", "job-b", "job-a"}},
		{"ann", []string{"job-d", "job-b", "job-a"}},
		{"ben", []string{"job-c"}},
		{"nobody", nil},
	}
	for _, tc := range tests {
		got, err := s.Jobs(ctx, tc.installer)
		if err != nil {
			t.Errorf("Jobs(%q): %v", tc.installer, err)
			continue
		}
		if ids := jobIDs(got); !slices.Equal(ids, tc.want) {
			t.Errorf("Jobs(%q) = %v, want %v", tc.installer, ids, tc.want)
		}
		for _, j := range got {
			if j.ID == "job-b" {
				if d := diffJob(j, jobs[0]); d != "" {
					t.Errorf("Jobs(%q) job-b: %s", tc.installer, d)
				}
			}
		}
	}
}

// record makes a record; its envelope (and so its digest) depends on body.
func record(id, kind, signer, job, unit string, created time.Time, body string) hub.Record {
	env := []byte(`{"payloadType":"application/vnd.latchkey.` + kind + `+json","payload":"` + body + `","x":"` + id + "\x00\xff\"}")
	return hub.Record{
		ID:         id,
		Kind:       kind,
		Signer:     signer,
		KeyIDs:     []string{"key-" + signer, "key-unit-" + unit},
		Digest:     hexSum(string(env)),
		Job:        job,
		Unit:       unit,
		CreatedAt:  created,
		ReceivedAt: created.Add(time.Minute),
		Envelope:   env,
	}
}

func diffRecord(got, want hub.Record) string {
	var d []string
	if got.ID != want.ID || got.Kind != want.Kind || got.Signer != want.Signer || got.Digest != want.Digest ||
		got.Job != want.Job || got.Unit != want.Unit || got.JournalSeq != want.JournalSeq || got.JournalHash != want.JournalHash {
		d = append(d, fmt.Sprintf("fields %+v, want %+v", got, want))
	}
	if !slices.Equal(got.KeyIDs, want.KeyIDs) {
		d = append(d, fmt.Sprintf("KeyIDs = %q, want %q", got.KeyIDs, want.KeyIDs))
	}
	if !got.CreatedAt.Equal(want.CreatedAt) || !got.ReceivedAt.Equal(want.ReceivedAt) {
		d = append(d, fmt.Sprintf("times %v, %v; want %v, %v", got.CreatedAt, got.ReceivedAt, want.CreatedAt, want.ReceivedAt))
	}
	if !bytes.Equal(got.Envelope, want.Envelope) {
		d = append(d, fmt.Sprintf("Envelope = %q, want %q", got.Envelope, want.Envelope))
	}
	return joinDiff(d)
}

// checkRecords fails unless the storage holds exactly want, in order.
func checkRecords(t *testing.T, s hub.Storage, want ...hub.Record) {
	t.Helper()
	got, err := s.Records(context.Background(), hub.RecordFilter{})
	if err != nil {
		t.Fatalf("Records: %v", err)
	}
	if len(got) != len(want) {
		t.Fatalf("Records = %v, want %v", recordIDs(got), recordIDs(want))
	}
	for i := range got {
		if d := diffRecord(got[i], want[i]); d != "" {
			t.Errorf("record %d: %s", i, d)
		}
	}
}

func recordIDs(rs []hub.Record) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.ID)
	}
	return out
}

func stored(r hub.Record) hub.IntakeItem { return hub.IntakeItem{Record: &r} }

func request(user, key string, items ...hub.IntakeItem) hub.IntakeRequest {
	return hub.IntakeRequest{
		User:          user,
		Key:           key,
		RequestDigest: hexSum(user + "/" + key),
		Items:         items,
		Now:           at(10 * time.Hour),
		ExpiresAt:     at(10*time.Hour + hubapi.IdempotencyTTL),
	}
}

func result(r hub.Record, o hub.Outcome) hub.ItemResult {
	return hub.ItemResult{ID: r.ID, Kind: r.Kind, Digest: r.Digest, Outcome: o}
}

// intake runs Intake and fails the test unless it answers want, not replayed.
func intake(t *testing.T, s hub.Storage, req hub.IntakeRequest, want ...hub.ItemResult) hub.IntakeResult {
	t.Helper()
	res, err := s.Intake(context.Background(), req)
	if err != nil {
		t.Fatalf("Intake %s: %v", req.Key, err)
	}
	if res.Replayed {
		t.Errorf("Intake %s: Replayed on the first use of the key", req.Key)
	}
	checkResults(t, "Intake "+req.Key, res.Results, want)
	return res
}

func checkResults(t *testing.T, what string, got, want []hub.ItemResult) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("%s: Results = %+v, want %+v", what, got, want)
	}
}

func testIntakeStores(t *testing.T, s hub.Storage) {
	r1 := record("rec-1", "survey", "alice", "job-1", "unit-1", at(time.Hour), "one")
	r2 := record("rec-2", "consent", "alice", "", "", at(2*time.Hour), "two")
	r2.KeyIDs = []string{"key-alice"}
	r3 := record("rec-3", "notice", "alice", "job-1", "unit-1", at(3*time.Hour), "three")
	refused := hub.Refusal{ID: "rec-bad", Kind: "consent", Digest: hexSum("bad"), Code: hubapi.CodeBadSignature, Reason: "signature 1 does not verify"}
	refusedNoID := hub.Refusal{Code: hubapi.CodeMalformed, Reason: "not a DSSE envelope"}
	req := request("alice", "k1", stored(r3), hub.IntakeItem{Refused: &refused}, stored(r1), hub.IntakeItem{Refused: &refusedNoID}, stored(r2))
	intake(t, s, req,
		result(r3, hub.OutcomeStored),
		hub.ItemResult{ID: refused.ID, Kind: refused.Kind, Digest: refused.Digest, Outcome: hub.OutcomeRefused, Code: refused.Code, Reason: refused.Reason},
		result(r1, hub.OutcomeStored),
		hub.ItemResult{Outcome: hub.OutcomeRefused, Code: refusedNoID.Code, Reason: refusedNoID.Reason},
		result(r2, hub.OutcomeStored),
	)
	// Oldest first, whatever the order they came in.
	checkRecords(t, s, r1, r2, r3)
	if n, err := s.CountRecords(context.Background(), hub.RecordFilter{}); err != nil || n != 3 {
		t.Errorf("CountRecords = %d, %v; want 3 (refused records are not stored)", n, err)
	}
}

func testIntakeDuplicateConflict(t *testing.T, s hub.Storage) {
	r1 := record("rec-1", "survey", "alice", "job-1", "unit-1", at(time.Hour), "one")
	r2 := record("rec-2", "survey", "alice", "job-1", "unit-1", at(2*time.Hour), "two")
	intake(t, s, request("alice", "k1", stored(r1)), result(r1, hub.OutcomeStored))

	r1again := r1
	r1again.ReceivedAt = at(5 * time.Hour)
	r1other := record("rec-1", "survey", "alice", "job-2", "unit-9", at(4*time.Hour), "tampered")
	r2other := record("rec-2", "survey", "alice", "job-1", "unit-1", at(2*time.Hour), "two, altered")
	if r1other.Digest == r1.Digest || r2other.Digest == r2.Digest {
		t.Fatal("test records should differ in digest")
	}
	// Within one batch too: r2 is stored by the batch, then its twin is a
	// duplicate and its altered copy a conflict.
	intake(t, s, request("alice", "k2", stored(r1again), stored(r1other), stored(r2), stored(r2), stored(r2other)),
		result(r1again, hub.OutcomeDuplicate),
		result(r1other, hub.OutcomeConflict),
		result(r2, hub.OutcomeStored),
		result(r2, hub.OutcomeDuplicate),
		result(r2other, hub.OutcomeConflict),
	)
	// The first copies stay, untouched.
	checkRecords(t, s, r1, r2)
}

func testIntakeReplay(t *testing.T, s hub.Storage) {
	ctx := context.Background()
	r1 := record("rec-1", "survey", "alice", "job-1", "unit-1", at(time.Hour), "one")
	r2 := record("rec-2", "survey", "alice", "job-1", "unit-1", at(2*time.Hour), "two")
	refused := hub.Refusal{ID: "rec-3", Kind: "survey", Digest: hexSum("3"), Code: hubapi.CodeExpired, Reason: "expired"}
	first := intake(t, s, request("alice", "k1", stored(r1), hub.IntakeItem{Refused: &refused}, stored(r1)),
		result(r1, hub.OutcomeStored),
		hub.ItemResult{ID: refused.ID, Kind: refused.Kind, Digest: refused.Digest, Outcome: hub.OutcomeRefused, Code: refused.Code, Reason: refused.Reason},
		result(r1, hub.OutcomeDuplicate),
	)
	// The same key and request digest answer from the stored result: even
	// items the storage would take now (r2) are not written, and r1 is not
	// reported as a duplicate this time.
	again := request("alice", "k1", stored(r2), stored(r1))
	again.Now = at(11 * time.Hour)
	for i := range 2 {
		res, err := s.Intake(ctx, again)
		if err != nil {
			t.Fatalf("replay %d: %v", i, err)
		}
		if !res.Replayed {
			t.Errorf("replay %d: Replayed = false", i)
		}
		checkResults(t, fmt.Sprintf("replay %d", i), res.Results, first.Results)
	}
	checkRecords(t, s, r1)
}

func testIntakeMismatch(t *testing.T, s hub.Storage) {
	r1 := record("rec-1", "survey", "alice", "job-1", "unit-1", at(time.Hour), "one")
	r2 := record("rec-2", "survey", "alice", "job-1", "unit-1", at(2*time.Hour), "two")
	intake(t, s, request("alice", "k1", stored(r1)), result(r1, hub.OutcomeStored))
	other := request("alice", "k1", stored(r2))
	other.RequestDigest = hexSum("another body")
	res, err := s.Intake(context.Background(), other)
	if !errors.Is(err, hub.ErrIdempotencyMismatch) {
		t.Fatalf("Intake with a reused key and another body = %+v, %v; want ErrIdempotencyMismatch", res, err)
	}
	checkRecords(t, s, r1)
	// The key keeps its first answer.
	res, err = s.Intake(context.Background(), request("alice", "k1", stored(r1)))
	if err != nil || !res.Replayed {
		t.Fatalf("replay after a mismatch = %+v, %v; want the first answer", res, err)
	}
	checkResults(t, "replay after a mismatch", res.Results, []hub.ItemResult{result(r1, hub.OutcomeStored)})
}

func testIntakeKeysPerUser(t *testing.T, s hub.Storage) {
	ra := record("rec-a", "survey", "alice", "job-1", "unit-1", at(time.Hour), "a")
	rb := record("rec-b", "visit", "bob", "", "", at(2*time.Hour), "b")
	intake(t, s, request("alice", "shared-key", stored(ra)), result(ra, hub.OutcomeStored))
	// bob's request has another digest (request() mixes in the user) and
	// must neither replay alice's answer nor count as a mismatch.
	intake(t, s, request("bob", "shared-key", stored(rb)), result(rb, hub.OutcomeStored))
	checkRecords(t, s, ra, rb)
	res, err := s.Intake(context.Background(), request("bob", "shared-key", stored(rb)))
	if err != nil || !res.Replayed {
		t.Fatalf("bob's replay = %+v, %v; want replayed", res, err)
	}
	checkResults(t, "bob's replay", res.Results, []hub.ItemResult{result(rb, hub.OutcomeStored)})
}

func testIntakeEmpty(t *testing.T, s hub.Storage) {
	ctx := context.Background()
	res, err := s.Intake(ctx, request("alice", "empty"))
	if err != nil || res.Replayed || len(res.Results) != 0 {
		t.Fatalf("Intake of no items = %+v, %v; want no results, not replayed", res, err)
	}
	res, err = s.Intake(ctx, request("alice", "empty"))
	if err != nil || !res.Replayed || len(res.Results) != 0 {
		t.Fatalf("second Intake of no items = %+v, %v; want replayed, no results", res, err)
	}
}

// batch makes n records for one signer, named prefix-0 … prefix-(n-1).
func batch(prefix, signer string, n int) []hub.IntakeItem {
	items := make([]hub.IntakeItem, n)
	for i := range items {
		items[i] = stored(record(fmt.Sprintf("%s-%03d", prefix, i), "survey", signer, "job-1", "unit-1", at(time.Duration(i)*time.Second), prefix))
	}
	return items
}

func testIntakeConcurrentSameKey(t *testing.T, s hub.Storage) {
	ctx := context.Background()
	const workers, records = 6, 40
	req := request("alice", "k1", batch("rec", "alice", records)...)
	results := make([]hub.IntakeResult, workers)
	errs := make([]error, workers)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range workers {
		wg.Go(func() {
			<-start
			results[i], errs[i] = s.Intake(ctx, req)
		})
	}
	close(start)
	wg.Wait()
	firsts := 0
	for i := range workers {
		if errs[i] != nil {
			t.Fatalf("worker %d: %v", i, errs[i])
		}
		if !results[i].Replayed {
			firsts++
		}
		if len(results[i].Results) != records {
			t.Fatalf("worker %d: %d results, want %d", i, len(results[i].Results), records)
		}
		for j, r := range results[i].Results {
			if r.Outcome != hub.OutcomeStored || r.ID != req.Items[j].Record.ID {
				t.Errorf("worker %d result %d = %+v, want %s stored", i, j, r, req.Items[j].Record.ID)
			}
		}
	}
	if firsts != 1 {
		t.Errorf("%d of %d concurrent requests with one key were not replays, want exactly 1", firsts, workers)
	}
	if n, err := s.CountRecords(ctx, hub.RecordFilter{}); err != nil || n != records {
		t.Errorf("CountRecords = %d, %v; want %d", n, err, records)
	}
}

func testIntakeConcurrentSameRecords(t *testing.T, s hub.Storage) {
	ctx := context.Background()
	const workers, records = 6, 40
	items := batch("rec", "alice", records)
	results := make([]hub.IntakeResult, workers)
	errs := make([]error, workers)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range workers {
		wg.Go(func() {
			<-start
			// Each worker its own key, and its own order of the records.
			mine := slices.Clone(items)
			if i%2 == 1 {
				slices.Reverse(mine)
			}
			results[i], errs[i] = s.Intake(ctx, request("alice", fmt.Sprintf("k%d", i), mine...))
		})
	}
	close(start)
	wg.Wait()
	stores := map[string]int{}
	for i := range workers {
		if errs[i] != nil {
			t.Fatalf("worker %d: %v", i, errs[i])
		}
		for _, r := range results[i].Results {
			switch r.Outcome {
			case hub.OutcomeStored:
				stores[r.ID]++
			case hub.OutcomeDuplicate:
			default:
				t.Errorf("worker %d: %s got %s, want stored or duplicate", i, r.ID, r.Outcome)
			}
		}
	}
	for _, it := range items {
		if n := stores[it.Record.ID]; n != 1 {
			t.Errorf("%s reported stored %d times, want once", it.Record.ID, n)
		}
	}
	if n, err := s.CountRecords(ctx, hub.RecordFilter{}); err != nil || n != records {
		t.Errorf("CountRecords = %d, %v; want %d", n, err, records)
	}
}

func testSweepIdempotency(t *testing.T, s hub.Storage) {
	ctx := context.Background()
	expiries := map[string]time.Time{"k1": at(time.Hour), "k2": at(2 * time.Hour), "k3": at(3 * time.Hour)}
	for _, k := range []string{"k1", "k2", "k3"} {
		req := request("alice", k)
		req.ExpiresAt = expiries[k]
		intake(t, s, req)
	}
	tests := []struct {
		now  time.Time
		want int
	}{
		{at(time.Hour), 0},                     // k1 expires at now, not before
		{at(2 * time.Hour), 1},                 // k1
		{at(2 * time.Hour), 0},                 // nothing left before now
		{at(3*time.Hour + time.Nanosecond), 2}, // k2, k3
	}
	for i, tc := range tests {
		n, err := s.SweepIdempotency(ctx, tc.now)
		if err != nil || n != tc.want {
			t.Errorf("sweep %d at %v = %d, %v; want %d", i, tc.now, n, err, tc.want)
		}
		if i != 2 {
			continue
		}
		// Here k1 is forgotten and k2, k3 are kept: k1 takes another body,
		// k2 still refuses one.
		r := record("rec-1", "survey", "alice", "", "", at(0), "one")
		req := request("alice", "k1", stored(r))
		req.RequestDigest = hexSum("another body")
		intake(t, s, req, result(r, hub.OutcomeStored))
		req.Key = "k2"
		if _, err := s.Intake(ctx, req); !errors.Is(err, hub.ErrIdempotencyMismatch) {
			t.Errorf("unswept k2 with another body: error = %v, want ErrIdempotencyMismatch", err)
		}
	}
}

func testRecordFilters(t *testing.T, s hub.Storage) {
	ctx := context.Background()
	recs := map[string]hub.Record{
		"r1": record("r1", "survey", "alice", "job-1", "unit-1", at(1*time.Hour), "1"),
		"r2": record("r2", "consent", "alice", "job-1", "unit-1", at(5*time.Hour), "2"),
		"r3": record("r3", "survey", "bob", "job-2", "unit-2", at(3*time.Hour), "3"),
		"r4": record("r4", "visit", "carol", "", "", at(2*time.Hour), "4"),
		"r5": record("r5", "survey", "alice", "job-2", "unit-2", at(4*time.Hour), "5"),
		"r6": record("r6", "notice", "bob", "job-1", "", at(6*time.Hour), "6"),
	}
	// Two requests, so that storage order differs from time order.
	intake(t, s, request("alice", "k1", stored(recs["r5"]), stored(recs["r2"]), stored(recs["r1"])),
		result(recs["r5"], hub.OutcomeStored), result(recs["r2"], hub.OutcomeStored), result(recs["r1"], hub.OutcomeStored))
	intake(t, s, request("bob", "k1", stored(recs["r6"]), stored(recs["r3"]), stored(recs["r4"])),
		result(recs["r6"], hub.OutcomeStored), result(recs["r3"], hub.OutcomeStored), result(recs["r4"], hub.OutcomeStored))

	tests := []struct {
		name string
		f    hub.RecordFilter
		want []string
	}{
		{"all", hub.RecordFilter{}, []string{"r1", "r4", "r3", "r5", "r2", "r6"}},
		{"kind", hub.RecordFilter{Kind: "survey"}, []string{"r1", "r3", "r5"}},
		{"job", hub.RecordFilter{Job: "job-1"}, []string{"r1", "r2", "r6"}},
		{"signer", hub.RecordFilter{Signer: "bob"}, []string{"r3", "r6"}},
		{"kind and signer", hub.RecordFilter{Kind: "survey", Signer: "alice"}, []string{"r1", "r5"}},
		{"kind, job and signer", hub.RecordFilter{Kind: "survey", Job: "job-2", Signer: "alice"}, []string{"r5"}},
		{"no match", hub.RecordFilter{Kind: "consent", Signer: "bob"}, nil},
		{"unknown kind", hub.RecordFilter{Kind: "nothing"}, nil},
		{"limit", hub.RecordFilter{Limit: 2}, []string{"r1", "r4"}},
		{"limit with filter", hub.RecordFilter{Kind: "survey", Limit: 2}, []string{"r1", "r3"}},
		{"limit above count", hub.RecordFilter{Signer: "bob", Limit: 10}, []string{"r3", "r6"}},
	}
	for _, tc := range tests {
		got, err := s.Records(ctx, tc.f)
		if err != nil {
			t.Errorf("%s: Records: %v", tc.name, err)
			continue
		}
		if ids := recordIDs(got); !slices.Equal(ids, tc.want) {
			t.Errorf("%s: Records(%+v) = %v, want %v", tc.name, tc.f, ids, tc.want)
		}
		for _, r := range got {
			if d := diffRecord(r, recs[r.ID]); d != "" {
				t.Errorf("%s: record %s: %s", tc.name, r.ID, d)
			}
		}
		n, err := s.CountRecords(ctx, tc.f)
		if err != nil || n != len(tc.want) {
			t.Errorf("%s: CountRecords(%+v) = %d, %v; want %d", tc.name, tc.f, n, err, len(tc.want))
		}
	}
}

func testDenylist(t *testing.T, s hub.Storage) {
	ctx := context.Background()
	if d, err := s.Denylist(ctx); err != nil || len(d) != 0 {
		t.Fatalf("Denylist of an empty storage = %v, %v; want none", d, err)
	}
	for _, d := range []hub.DeniedUnit{
		{Serial: "LK-0300", Reason: "stolen", DeniedAt: at(time.Hour)},
		{Serial: "LK-0100", Reason: "counterfeit", DeniedAt: at(2 * time.Hour)},
		{Serial: "LK-0300", Reason: "stolen from van 4", DeniedAt: at(3 * time.Hour)},
	} {
		if err := s.DenyUnit(ctx, d); err != nil {
			t.Fatalf("DenyUnit %s: %v", d.Serial, err)
		}
	}
	got, err := s.Denylist(ctx)
	if err != nil {
		t.Fatalf("Denylist: %v", err)
	}
	if len(got) != 2 || got[0].Serial != "LK-0100" || got[1].Serial != "LK-0300" {
		t.Fatalf("Denylist = %+v, want LK-0100 and LK-0300", got)
	}
	if got[0].Reason != "counterfeit" || !got[0].DeniedAt.Equal(at(2*time.Hour)) {
		t.Errorf("LK-0100 = %+v, want counterfeit at %v", got[0], at(2*time.Hour))
	}
	if got[1].Reason != "stolen from van 4" {
		t.Errorf("LK-0300 reason = %q, want the second call's", got[1].Reason)
	}
}

func testUnits(t *testing.T, s hub.Storage) {
	ctx := context.Background()
	if u, err := s.Units(ctx); err != nil || len(u) != 0 {
		t.Fatalf("Units of an empty storage = %v, %v; want none", u, err)
	}
	r1 := record("r1", "survey", "alice", "job-1", "LK-0002", at(1*time.Hour), "1")
	r2 := record("r2", "consent", "alice", "job-1", "LK-0002", at(3*time.Hour), "2")
	r3 := record("r3", "survey", "bob", "job-2", "LK-0001", at(2*time.Hour), "3")
	r4 := record("r4", "visit", "carol", "", "", at(4*time.Hour), "4")
	r1conflict := record("r1", "survey", "alice", "job-1", "LK-0009", at(9*time.Hour), "altered")
	// r2 comes before r1 so that the newest record is not the last stored.
	intake(t, s, request("alice", "k1", stored(r2), stored(r1), stored(r3), stored(r4), stored(r1), stored(r1conflict)),
		result(r2, hub.OutcomeStored), result(r1, hub.OutcomeStored), result(r3, hub.OutcomeStored),
		result(r4, hub.OutcomeStored), result(r1, hub.OutcomeDuplicate), result(r1conflict, hub.OutcomeConflict))
	for _, d := range []hub.DeniedUnit{
		{Serial: "LK-0001", Reason: "stolen", DeniedAt: at(5 * time.Hour)},
		{Serial: "LK-0003", Reason: "counterfeit", DeniedAt: at(6 * time.Hour)},
	} {
		if err := s.DenyUnit(ctx, d); err != nil {
			t.Fatalf("DenyUnit %s: %v", d.Serial, err)
		}
	}
	want := []hub.Unit{
		{Serial: "LK-0001", Records: 1, LastSeen: r3.CreatedAt, Denied: true, Reason: "stolen", DeniedAt: at(5 * time.Hour)},
		{Serial: "LK-0002", Records: 2, LastSeen: r2.CreatedAt},
		{Serial: "LK-0003", Denied: true, Reason: "counterfeit", DeniedAt: at(6 * time.Hour)},
	}
	got, err := s.Units(ctx)
	if err != nil {
		t.Fatalf("Units: %v", err)
	}
	if len(got) != len(want) {
		t.Fatalf("Units = %+v, want %+v", got, want)
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.Serial != w.Serial || g.Records != w.Records || !g.LastSeen.Equal(w.LastSeen) ||
			g.Denied != w.Denied || g.Reason != w.Reason || !g.DeniedAt.Equal(w.DeniedAt) {
			t.Errorf("unit %d = %+v, want %+v", i, g, w)
		}
	}
}

// journaled is r with a journal reference.
func journaled(r hub.Record, seq int64) hub.Record {
	r.JournalSeq, r.JournalHash = seq, hexSum(fmt.Sprint("entry ", seq))
	return r
}

func testJournalHead(t *testing.T, s hub.Storage) {
	ctx := context.Background()
	enroll(t, s, "alice", hubapi.RoleInstaller, "alice")
	enroll(t, s, "bob", hubapi.RoleInstaller, "bob")
	head := func(user string, wantSeq int64) {
		t.Helper()
		seq, hash, err := s.JournalHead(ctx, user)
		if wantSeq == 0 {
			if !errors.Is(err, hub.ErrNotFound) {
				t.Errorf("JournalHead(%s) = %d %q, %v; want ErrNotFound", user, seq, hash, err)
			}
			return
		}
		if err != nil || seq != wantSeq || hash != hexSum(fmt.Sprint("entry ", wantSeq)) {
			t.Errorf("JournalHead(%s) = %d %q, %v; want %d", user, seq, hash, err, wantSeq)
		}
	}
	head("alice", 0)
	head("nobody", 0)

	// By seq, not by time or arrival: a record queued later may be created
	// earlier (its created_at is the change's time).
	a3 := journaled(record("a-3", "survey", "alice", "job-1", "unit-1", at(3*time.Hour), "a3"), 3)
	a7 := journaled(record("a-7", "consent", "alice", "job-1", "", at(time.Hour), "a7"), 7)
	a5 := journaled(record("a-5", "notice", "alice", "", "", at(5*time.Hour), "a5"), 5)
	plain := record("a-plain", "survey", "alice", "", "", at(6*time.Hour), "plain")
	b9 := journaled(record("b-9", "survey", "bob", "", "", at(2*time.Hour), "b9"), 9)
	intake(t, s, request("alice", "k1", stored(a3), stored(a7)), result(a3, hub.OutcomeStored), result(a7, hub.OutcomeStored))
	intake(t, s, request("alice", "k2", stored(a5), stored(plain)), result(a5, hub.OutcomeStored), result(plain, hub.OutcomeStored))
	head("alice", 7)
	head("bob", 0)
	intake(t, s, request("bob", "k1", stored(b9)), result(b9, hub.OutcomeStored))
	head("bob", 9)
	head("alice", 7)
	checkRecords(t, s, a7, b9, a3, a5, plain)

	// A new laptop's journal starts again at 1; the old laptop's records
	// are not its head.
	e, hash := enrollment("alice", hubapi.RoleInstaller, "alice2")
	if err := s.CreateEnrollment(ctx, e); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Enroll(ctx, hash, at(8*time.Hour), newUser("alice2", at(8*time.Hour))); err != nil {
		t.Fatal(err)
	}
	head("alice", 0)
	n1 := journaled(record("n-1", "survey", "alice", "", "", at(9*time.Hour), "n1"), 1)
	n1.KeyIDs = []string{"key-alice2"}
	intake(t, s, request("alice", "k3", stored(n1)), result(n1, hub.OutcomeStored))
	head("alice", 1)
	head("bob", 9)
}

// testLookupsRefuseBadText looks things up by strings no stored value can
// equal, as a client may send them (a key id in a record's signature, a
// name in a filter): a NUL byte, which PostgreSQL's text cannot hold, and
// bytes that are not UTF-8. Each is an unknown user, job or code, or an
// empty list, never an error: a hostile key id makes its record refused as
// from an unknown signer, not the whole request fail.
func testLookupsRefuseBadText(t *testing.T, s hub.Storage) {
	ctx := context.Background()
	alice := enroll(t, s, "alice", hubapi.RoleInstaller, "alice")
	if err := s.CreateJob(ctx, sampleJob("job-1", "alice", at(time.Hour))); err != nil {
		t.Fatalf("CreateJob: %v", err)
	}
	r := journaled(record("r1", "survey", "alice", "job-1", "unit-1", at(time.Hour), "1"), 1)
	intake(t, s, request("alice", "k1", stored(r)), result(r, hub.OutcomeStored))

	for _, bad := range []string{"\x00", "\xff", "a\x00b", "alice\x00", alice.KeyID + "\x00", "job-1\xff", "\xc3\x28"} {
		notFound := []struct {
			name string
			fn   func() error
		}{
			{"User", func() error { _, err := s.User(ctx, bad); return err }},
			{"UserByToken", func() error { _, err := s.UserByToken(ctx, bad); return err }},
			{"UserByKeyID", func() error { _, err := s.UserByKeyID(ctx, bad); return err }},
			{"RevokeUser", func() error { _, err := s.RevokeUser(ctx, bad, at(2*time.Hour)); return err }},
			{"Job", func() error { _, err := s.Job(ctx, bad); return err }},
			{"JournalHead", func() error { _, _, err := s.JournalHead(ctx, bad); return err }},
		}
		for _, tc := range notFound {
			if err := tc.fn(); !errors.Is(err, hub.ErrNotFound) {
				t.Errorf("%s(%q): error = %v, want ErrNotFound", tc.name, bad, err)
			}
		}
		if _, err := s.Enroll(ctx, bad, at(time.Hour), newUser("mallory", at(time.Hour))); !errors.Is(err, hub.ErrEnrollInvalid) {
			t.Errorf("Enroll(%q): error = %v, want ErrEnrollInvalid", bad, err)
		}
		if js, err := s.Jobs(ctx, bad); err != nil || len(js) != 0 {
			t.Errorf("Jobs(%q) = %v, %v; want none", bad, jobIDs(js), err)
		}
		for _, f := range []hub.RecordFilter{{Kind: bad}, {Job: bad}, {Signer: bad}, {Kind: "survey", Signer: bad, Limit: 5}} {
			if got, err := s.Records(ctx, f); err != nil || len(got) != 0 {
				t.Errorf("Records(%+v) = %v, %v; want none", f, recordIDs(got), err)
			}
			if n, err := s.CountRecords(ctx, f); err != nil || n != 0 {
				t.Errorf("CountRecords(%+v) = %d, %v; want 0", f, n, err)
			}
		}
	}
	// Nothing above changed anything.
	if u, err := s.User(ctx, "alice"); err != nil || u.Revoked() {
		t.Errorf("User(alice) after the lookups = %+v, %v; want alice, not revoked", u, err)
	}
	checkRecords(t, s, r)
}

// keyPin is s as a hub.KeyPin; the test is skipped for a storage without
// one (it is optional).
func keyPin(t *testing.T, s hub.Storage) hub.KeyPin {
	t.Helper()
	p, ok := s.(hub.KeyPin)
	if !ok {
		t.Skip("this storage keeps no hub key (hub.KeyPin)")
	}
	return p
}

// pub is a 32-byte stand-in for an Ed25519 public key, from seed.
func pub(seed string) ed25519.PublicKey {
	sum := sha256.Sum256([]byte("hub-key-" + seed))
	return ed25519.PublicKey(sum[:])
}

func testPinKey(t *testing.T, s hub.Storage) {
	ctx := context.Background()
	p := keyPin(t, s)
	if k, err := p.PinnedKey(ctx); !errors.Is(err, hub.ErrNotFound) {
		t.Fatalf("PinnedKey of a new database = %x, %v; want ErrNotFound", k, err)
	}
	a, b := pub("a"), pub("b")
	for i := range 2 {
		if err := p.PinKey(ctx, a); err != nil {
			t.Fatalf("PinKey(a) #%d: %v", i+1, err)
		}
	}
	if k, err := p.PinnedKey(ctx); err != nil || !bytes.Equal(k, a) {
		t.Fatalf("PinnedKey = %x, %v; want a", k, err)
	}
	err := p.PinKey(ctx, b)
	var mismatch *hub.KeyMismatchError
	if !errors.Is(err, hub.ErrKeyMismatch) || !errors.As(err, &mismatch) || !bytes.Equal(mismatch.Pinned, a) || !bytes.Equal(mismatch.Offered, b) {
		t.Fatalf("PinKey(b) after a: %v; want a KeyMismatchError (ErrKeyMismatch) naming both", err)
	}
	if k, err := p.PinnedKey(ctx); err != nil || !bytes.Equal(k, a) {
		t.Errorf("PinnedKey after the refusal = %x, %v; want a still", k, err)
	}
	if err := p.PinKey(ctx, a[:16]); err == nil || errors.Is(err, hub.ErrKeyMismatch) {
		t.Errorf("PinKey of a 16-byte key: %v; want it refused as invalid", err)
	}
	if err := p.PinKey(ctx, a); err != nil {
		t.Errorf("PinKey(a) after the refusals: %v", err)
	}
}

// testPinKeyConcurrent: several callers pinning two keys at the same
// moment; exactly one key wins, every caller offering it succeeds and every
// other is refused.
func testPinKeyConcurrent(t *testing.T, s hub.Storage) {
	ctx := context.Background()
	p := keyPin(t, s)
	keys := []ed25519.PublicKey{pub("a"), pub("b")}
	const n = 8
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = p.PinKey(ctx, keys[i%2])
		})
	}
	close(start)
	wg.Wait()
	won, err := p.PinnedKey(ctx)
	if err != nil {
		t.Fatalf("PinnedKey: %v", err)
	}
	for i, err := range errs {
		switch {
		case bytes.Equal(keys[i%2], won) && err != nil:
			t.Errorf("caller %d offered the winning key: %v", i, err)
		case !bytes.Equal(keys[i%2], won) && !errors.Is(err, hub.ErrKeyMismatch):
			t.Errorf("caller %d offered the losing key: %v, want ErrKeyMismatch", i, err)
		}
	}
}
