package hub_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/hub"
	"github.com/latchkey/latchkey/internal/hubapi"
	"github.com/latchkey/latchkey/internal/identity"
	"github.com/latchkey/latchkey/internal/packet"
	"github.com/latchkey/latchkey/internal/record"
)

func TestEnrollJobsFlow(t *testing.T) {
	t.Parallel()
	h := newHub(t)
	ctx := context.Background()
	inst := h.enroll("ines", hubapi.RoleInstaller)
	if got, want := string(inst.resp.HubKey), string(h.key.Public().Sign); got != want {
		t.Errorf("enroll response hub key differs from the hub's")
	}
	if len(inst.token) != 43 {
		t.Errorf("token %d characters, want 43 (32 bytes of base64url)", len(inst.token))
	}

	status, body := h.do(http.MethodGet, hubapi.PathMe, inst.token, "", nil)
	var me hubapi.User
	if status != http.StatusOK || json.Unmarshal(body, &me) != nil {
		t.Fatalf("me: %d %s", status, body)
	}
	if me.Name != "ines" || me.Role != hubapi.RoleInstaller || me.KeyID != inst.keyID() || me.RevokedAt != nil {
		t.Errorf("me = %+v", me)
	}
	if want := inst.id.Public().Fingerprint(); me.Fingerprint != want {
		t.Errorf("fingerprint %s, want %s", me.Fingerprint, want)
	}

	job, err := h.admin.CreateJob(ctx, hub.JobSpec{
		Building: "Elm Court", Address: "1 Elm St", Doors: []string{"lobby", "garage"},
		AccessHours: "08-20", Incentive: "gift-card:50:USD", Terms: "v3", Installer: "ines",
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.admin.DenyUnit(ctx, "LK-00666", "failed attestation"); err != nil {
		t.Fatal(err)
	}

	status, body = h.do(http.MethodGet, hubapi.PathJobs, inst.token, "", nil)
	var jobs hubapi.JobsResponse
	if status != http.StatusOK || json.Unmarshal(body, &jobs) != nil {
		t.Fatalf("jobs: %d %s", status, body)
	}
	if len(jobs.Packets) != 1 {
		t.Fatalf("%d packets, want 1", len(jobs.Packets))
	}
	pj, err := packet.Verify(jobs.Packets[0], inst.resp.HubKey, h.clock.Now())
	if err != nil {
		t.Fatalf("packet does not verify with the hub key: %v", err)
	}
	if pj.ID != job.ID || pj.Building != "Elm Court" || strings.Join(pj.Doors, ",") != "lobby,garage" || pj.InstallerKeyID != inst.keyID() {
		t.Errorf("packet job = %+v", pj)
	}
	if _, keys, err := packet.Open(jobs.Packets[0], inst.resp.HubKey, inst.id, h.clock.Now()); err != nil || len(keys) != 2 {
		t.Errorf("installer cannot open the packet: %v", err)
	}
	deny, err := packet.VerifyDenylist(jobs.Denylist, inst.resp.HubKey)
	if err != nil || len(deny.Units) != 1 || deny.Units[0].Serial != "LK-00666" || !deny.IssuedAt.Equal(h.clock.Now()) {
		t.Errorf("denylist = %+v, %v; want LK-00666 signed by the hub, issued now", deny, err)
	}
	other, err := identity.Generate(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := packet.Open(jobs.Packets[0], inst.resp.HubKey, other, h.clock.Now()); err == nil {
		t.Error("someone else opened the installer's packet")
	}

	sales := h.enroll("sam", hubapi.RoleSales)
	status, body = h.do(http.MethodGet, hubapi.PathJobs, sales.token, "", nil)
	jobs = hubapi.JobsResponse{}
	if status != http.StatusOK || json.Unmarshal(body, &jobs) != nil {
		t.Fatalf("jobs: %d %s", status, body)
	}
	deny, err = packet.VerifyDenylist(jobs.Denylist, inst.resp.HubKey)
	if len(jobs.Packets) != 0 || err != nil || len(deny.Units) != 1 {
		t.Errorf("sales user got %d packets and %d denied units (%v), want 0 and 1", len(jobs.Packets), len(deny.Units), err)
	}

	h.clock.Advance(hub.DefaultJobTTL + time.Minute)
	status, body = h.do(http.MethodGet, hubapi.PathJobs, inst.token, "", nil)
	jobs = hubapi.JobsResponse{}
	if status != http.StatusOK || json.Unmarshal(body, &jobs) != nil || len(jobs.Packets) != 0 {
		t.Errorf("expired job still pulled: %d %s", status, body)
	}
}

func TestCreateJobRefusals(t *testing.T) {
	t.Parallel()
	h := newHub(t)
	ctx := context.Background()
	h.enroll("ines", hubapi.RoleInstaller)
	h.enroll("sam", hubapi.RoleSales)
	h.enroll("rex", hubapi.RoleInstaller)
	if _, err := h.admin.Revoke(ctx, "rex"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := h.admin.Enroll(ctx, "nora", hubapi.RoleInstaller, time.Hour); err != nil {
		t.Fatal(err)
	}
	good := hub.JobSpec{Building: "Elm Court", Address: "1 Elm St", Doors: []string{"lobby"}, Installer: "ines"}
	tests := []struct {
		name string
		edit func(*hub.JobSpec)
		want string
	}{
		{"code not redeemed yet", func(s *hub.JobSpec) { s.Installer = "nora" }, "installer nora has not logged in yet"},
		{"no such user", func(s *hub.JobSpec) { s.Installer = "ghost" }, "installer ghost has not logged in yet"},
		{"not an installer", func(s *hub.JobSpec) { s.Installer = "sam" }, "sam is a sales user, not an installer"},
		{"revoked", func(s *hub.JobSpec) { s.Installer = "rex" }, "installer rex was revoked"},
		{"no building", func(s *hub.JobSpec) { s.Building = " " }, "no building"},
		{"no address", func(s *hub.JobSpec) { s.Address = "" }, "no address"},
		{"bad incentive", func(s *hub.JobSpec) { s.Incentive = "a gift card" }, "KIND:AMOUNT:CURRENCY"},
		{"no doors", func(s *hub.JobSpec) { s.Doors = nil }, "no doors"},
		{"door twice", func(s *hub.JobSpec) { s.Doors = []string{"lobby", "lobby"} }, `door "lobby" named twice`},
		{"empty door", func(s *hub.JobSpec) { s.Doors = []string{""} }, "door 1"},
		{"ttl too long", func(s *hub.JobSpec) { s.TTL = 365 * 24 * time.Hour }, "job lifetime"},
		{"negative ttl", func(s *hub.JobSpec) { s.TTL = -time.Hour }, "job lifetime"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := good
			tt.edit(&spec)
			_, err := h.admin.CreateJob(ctx, spec)
			if !errors.Is(err, hub.ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("CreateJob = %v, want ErrInvalid saying %q", err, tt.want)
			}
		})
	}
	if js, err := h.admin.Jobs(ctx, ""); err != nil || len(js) != 0 {
		t.Errorf("Jobs = %d, %v after refusals; want none", len(js), err)
	}
}

func TestAdminEnroll(t *testing.T) {
	t.Parallel()
	h := newHub(t)
	ctx := context.Background()
	code, exp, err := h.admin.Enroll(ctx, "ines", hubapi.RoleInstaller, 2*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}$`).MatchString(code) {
		t.Errorf("code %q is not four groups of four Crockford base32 symbols", code)
	}
	if !exp.Equal(t0.Add(2 * time.Hour)) {
		t.Errorf("expires %s, want %s", exp, t0.Add(2*time.Hour))
	}
	code2, _, err := h.admin.Enroll(ctx, "ines", hubapi.RoleInstaller, 0)
	if err != nil || code2 == code {
		t.Errorf("second code %q, %v: want a new code", code2, err)
	}
	for _, tt := range []struct{ name, user, role string }{
		{"bad name", "Ines Smith", hubapi.RoleInstaller},
		{"empty name", "", hubapi.RoleInstaller},
		{"bad role", "ines", "admin"},
	} {
		if _, _, err := h.admin.Enroll(ctx, tt.user, tt.role, time.Hour); !errors.Is(err, hub.ErrInvalid) {
			t.Errorf("%s: Enroll = %v, want ErrInvalid", tt.name, err)
		}
	}
	if _, _, err := h.admin.Enroll(ctx, "ines", hubapi.RoleInstaller, 365*24*time.Hour); !errors.Is(err, hub.ErrInvalid) {
		t.Errorf("year-long code: %v, want ErrInvalid", err)
	}
}

func TestEnrollRedeem(t *testing.T) {
	t.Parallel()
	h := newHub(t)
	ctx := context.Background()
	id, err := identity.Generate(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pub := id.Public()
	code, _, err := h.admin.Enroll(ctx, "ines", hubapi.RoleInstaller, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	send := func(req hubapi.EnrollRequest) (int, string) {
		status, body := h.do(http.MethodPost, hubapi.PathEnroll, "", "", mustJSON(t, req))
		if status == http.StatusCreated {
			return status, ""
		}
		return status, errorBody(t, body).Error.Code
	}
	check := func(name string, status int, code string, wantStatus int, wantCode string) {
		t.Helper()
		if status != wantStatus || code != wantCode {
			t.Errorf("%s: %d %s, want %d %s", name, status, code, wantStatus, wantCode)
		}
	}
	s, c := send(hubapi.EnrollRequest{Code: "AAAA-BBBB-CCCC-DDDD", SignKey: pub.Sign, KexKey: pub.Kex})
	check("unknown code", s, c, 403, hubapi.CodeEnrollInvalid)
	s, c = send(hubapi.EnrollRequest{Code: "not a code", SignKey: pub.Sign, KexKey: pub.Kex})
	check("garbage code", s, c, 403, hubapi.CodeEnrollInvalid)
	s, c = send(hubapi.EnrollRequest{Code: code, SignKey: pub.Sign[:31], KexKey: pub.Kex})
	check("short sign key", s, c, 400, hubapi.CodeBadRequest)
	s, c = send(hubapi.EnrollRequest{Code: code, SignKey: pub.Sign, KexKey: nil})
	check("no kex key", s, c, 400, hubapi.CodeBadRequest)
	status, body := h.do(http.MethodPost, hubapi.PathEnroll, "", "", []byte(`{"code":"x","extra":1}`))
	check("unknown field", status, errorBody(t, body).Error.Code, 400, hubapi.CodeBadRequest)

	// As a person types it: lower case, no dashes, O for 0, L for 1.
	typed := strings.ToLower(strings.NewReplacer("-", "", "0", "O", "1", "L").Replace(code))
	s, c = send(hubapi.EnrollRequest{Code: typed, SignKey: pub.Sign, KexKey: pub.Kex})
	check("typed code", s, c, 201, "")
	s, c = send(hubapi.EnrollRequest{Code: code, SignKey: pub.Sign, KexKey: pub.Kex})
	check("used code", s, c, 403, hubapi.CodeEnrollInvalid)

	// Someone else may not enroll ines's public key.
	code, _, err = h.admin.Enroll(ctx, "mallory", hubapi.RoleSales, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	s, c = send(hubapi.EnrollRequest{Code: code, SignKey: pub.Sign, KexKey: pub.Kex})
	check("someone else's key", s, c, 400, hubapi.CodeBadRequest)

	code, _, err = h.admin.Enroll(ctx, "late", hubapi.RoleSales, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	h.clock.Advance(time.Hour + time.Second)
	other, err := identity.Generate(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, c = send(hubapi.EnrollRequest{Code: code, SignKey: other.Public().Sign, KexKey: other.Public().Kex})
	check("expired code", s, c, 403, hubapi.CodeEnrollInvalid)
}

func TestAuth(t *testing.T) {
	t.Parallel()
	h := newHub(t)
	u := h.enroll("sam", hubapi.RoleSales)
	tests := []struct {
		name, header string
		status       int
		code         string
	}{
		{"no header", "", 401, hubapi.CodeUnauthorized},
		{"not bearer", "Basic " + u.token, 401, hubapi.CodeUnauthorized},
		{"unknown token", "Bearer " + strings.Repeat("A", 43), 401, hubapi.CodeUnauthorized},
		{"good", "Bearer " + u.token, 200, ""},
	}
	for _, tt := range tests {
		req, _ := http.NewRequest(http.MethodGet, h.ts.URL+hubapi.PathMe, nil)
		if tt.header != "" {
			req.Header.Set("Authorization", tt.header)
		}
		resp, err := h.ts.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var e hubapi.ErrorBody
		json.NewDecoder(resp.Body).Decode(&e)
		resp.Body.Close()
		if resp.StatusCode != tt.status || e.Error.Code != tt.code {
			t.Errorf("%s: %d %q, want %d %q", tt.name, resp.StatusCode, e.Error.Code, tt.status, tt.code)
		}
	}
	if _, err := h.admin.Revoke(context.Background(), "sam"); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{hubapi.PathMe, hubapi.PathJobs} {
		status, body := h.do(http.MethodGet, path, u.token, "", nil)
		if status != 403 || errorBody(t, body).Error.Code != hubapi.CodeRevoked {
			t.Errorf("revoked user on %s: %d %s", path, status, body)
		}
	}
	status, body := h.do(http.MethodPost, hubapi.PathRecords, u.token, "k1", sign(t, record.KindVisit, newRec("v1"), u.id.Sign))
	if status != 403 || errorBody(t, body).Error.Code != hubapi.CodeRevoked {
		t.Errorf("revoked user sends a record: %d %s", status, body)
	}
}

func TestRoutes(t *testing.T) {
	t.Parallel()
	h := newHub(t)
	status, body := h.do(http.MethodGet, "/nope", "", "", nil)
	if status != 404 || errorBody(t, body).Error.Code != hubapi.CodeNotFound {
		t.Errorf("unknown path: %d %s", status, body)
	}
	status, body = h.do(http.MethodGet, hubapi.PathRecords, "", "", nil)
	if status != 405 || errorBody(t, body).Error.Code != hubapi.CodeBadRequest {
		t.Errorf("GET records: %d %s", status, body)
	}
	if status, body := h.do(http.MethodGet, hubapi.PathHealth, "", "", nil); status != 200 {
		t.Errorf("healthz: %d %s", status, body)
	}
}

func TestReady(t *testing.T) {
	t.Parallel()
	h := newHub(t)
	if status, body := h.do(http.MethodGet, hubapi.PathReady, "", "", nil); status != 200 {
		t.Fatalf("readyz: %d %s", status, body)
	}
	h.store.Close()
	status, body := h.do(http.MethodGet, hubapi.PathReady, "", "", nil)
	if status != 503 || errorBody(t, body).Error.Code != hubapi.CodeUnavailable {
		t.Errorf("readyz with the database closed: %d %s", status, body)
	}
	if status, _ := h.do(http.MethodGet, hubapi.PathHealth, "", "", nil); status != 200 {
		t.Errorf("healthz with the database closed: %d, want 200 (the process is alive)", status)
	}
}

// digestOf is the hex SHA-256 of a wire record's payload.
func digestOf(t testing.TB, wire []byte) string {
	t.Helper()
	env, err := record.Decode(wire)
	if err != nil {
		t.Fatal(err)
	}
	body, err := env.Body()
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(body)
	return hex.EncodeToString(sum[:])
}

// tamper replaces the payload of a wire record with r, keeping its
// signatures.
func tamper(t testing.TB, wire []byte, r rec) []byte {
	t.Helper()
	env, err := record.Decode(wire)
	if err != nil {
		t.Fatal(err)
	}
	body, err := record.Canonical(r)
	if err != nil {
		t.Fatal(err)
	}
	env.Payload = base64.StdEncoding.EncodeToString(body)
	return mustJSON(t, env)
}

func TestRecords(t *testing.T) {
	t.Parallel()
	h := newHub(t)
	ctx := context.Background()
	sales := h.enroll("sam", hubapi.RoleSales)
	inst := h.enroll("ines", hubapi.RoleInstaller)
	stranger, err := identity.Generate(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	visit := sign(t, record.KindVisit, newRec("v1", "outcome", "won"), sales.id.Sign)
	flipped := sign(t, record.KindVisit, newRec("v2"), sales.id.Sign)
	env, _ := record.Decode(flipped)
	sig, _ := base64.StdEncoding.DecodeString(env.Signatures[0].Sig)
	sig[0] ^= 1
	env.Signatures[0].Sig = base64.StdEncoding.EncodeToString(sig)
	flipped = mustJSON(t, env)
	unsigned := mustJSON(t, record.Envelope{PayloadType: record.PayloadType(record.KindVisit), Payload: env.Payload, Signatures: []record.Signature{}})
	expired := newRec("v-old")
	expired["created_at"], expired["expires_at"] = t0.Add(-48*time.Hour).Format(time.RFC3339), t0.Add(-time.Second).Format(time.RFC3339)
	spacedEnv, _ := record.Decode(visit)
	spacedBody, _ := spacedEnv.Body()
	spacedEnv.Payload = base64.StdEncoding.EncodeToString(append([]byte(" "), spacedBody...))
	spaced := mustJSON(t, spacedEnv)
	countersigned, _ := record.Decode(sign(t, record.KindVisit, newRec("v-unit"), sales.id.Sign))
	unitKey, _ := identity.Generate(rand.Reader)
	if err := countersigned.Countersign(unitKey.Sign, record.KeyID(unitKey.Public().Sign)); err != nil {
		t.Fatal(err)
	}

	// Steps run in order on one hub: later ones depend on what earlier
	// ones stored.
	steps := []struct {
		name   string
		token  string
		key    string
		body   []byte
		status int
		code   string
	}{
		{"valid visit", sales.token, "k1", visit, 201, ""},
		{"same key, same body", sales.token, "k1", visit, 201, ""},
		{"same key, other body", sales.token, "k1", sign(t, record.KindVisit, newRec("v9"), sales.id.Sign), 422, hubapi.CodeIdempotencyMismatch},
		{"same key, other user", inst.token, "k1", sign(t, record.KindSurvey, newRec("s1"), inst.id.Sign), 201, ""},
		{"same record, other key", sales.token, "k2", visit, 409, hubapi.CodeReplayed},
		{"same id, other content", sales.token, "k3", sign(t, record.KindVisit, newRec("v1", "outcome", "lost"), sales.id.Sign), 409, hubapi.CodeConflict},
		{"tampered payload", sales.token, "k4", tamper(t, visit, newRec("v1", "outcome", "lost")), 422, hubapi.CodeBadSignature},
		{"tampered signature", sales.token, "k5", flipped, 422, hubapi.CodeBadSignature},
		{"unsigned", sales.token, "k6", unsigned, 400, hubapi.CodeUnsigned},
		{"unknown signer", sales.token, "k7", sign(t, record.KindVisit, newRec("v3"), stranger.Sign), 403, hubapi.CodeUnknownSigner},
		{"signer mismatch", sales.token, "k8", sign(t, record.KindSurvey, newRec("s2"), inst.id.Sign), 403, hubapi.CodeSignerMismatch},
		{"forbidden kind", sales.token, "k9", sign(t, record.KindSurvey, newRec("s3"), sales.id.Sign), 403, hubapi.CodeForbiddenKind},
		{"installer may not log visits", inst.token, "k9", sign(t, record.KindVisit, newRec("v4"), inst.id.Sign), 403, hubapi.CodeForbiddenKind},
		{"expired", sales.token, "k10", sign(t, record.KindVisit, expired, sales.id.Sign), 422, hubapi.CodeExpired},
		{"malformed", sales.token, "k11", []byte(`{"payloadType":"x"}`), 400, hubapi.CodeMalformed},
		{"not canonical", sales.token, "k12", spaced, 400, hubapi.CodeMalformed},
		{"foreign payload type", sales.token, "k13", mustJSON(t, record.Envelope{PayloadType: "application/json", Payload: env.Payload, Signatures: env.Signatures}), 400, hubapi.CodePayloadType},
		{"unit countersignature skipped", sales.token, "k14", mustJSON(t, countersigned), 201, ""},
		{"no idempotency key", sales.token, "", visit, 400, hubapi.CodeIdempotencyMissing},
		{"idempotency key too long", sales.token, strings.Repeat("k", 256), visit, 400, hubapi.CodeIdempotencyMissing},
		{"too large", sales.token, "k15", make([]byte, hubapi.MaxBody+1), 413, hubapi.CodeTooLarge},
	}
	answers := map[string][]byte{}
	for _, st := range steps {
		status, body := h.do(http.MethodPost, hubapi.PathRecords, st.token, st.key, st.body)
		if status != st.status {
			t.Errorf("%s: status %d, want %d: %s", st.name, status, st.status, body)
			continue
		}
		if st.code == "" {
			var rr hubapi.RecordResult
			if err := json.Unmarshal(body, &rr); err != nil || rr.Status != hubapi.StatusStored || rr.Digest != digestOf(t, st.body) {
				t.Errorf("%s: %s, want stored with digest %s", st.name, body, digestOf(t, st.body))
			}
		} else if e := errorBody(t, body); e.Error.Code != st.code {
			t.Errorf("%s: code %q, want %q: %s", st.name, e.Error.Code, st.code, body)
		} else if e.Error.Result != nil && e.Error.Result.Code != st.code {
			t.Errorf("%s: result code %q, want %q", st.name, e.Error.Result.Code, st.code)
		}
		if prev, ok := answers[st.token+st.key]; ok && st.status == 201 && string(prev) != string(body) {
			t.Errorf("%s: replayed answer differs:\n%s\n%s", st.name, prev, body)
		}
		answers[st.token+st.key] = body
	}
	status, body := h.do(http.MethodPost, hubapi.PathRecords, sales.token, "k2", visit)
	if e := errorBody(t, body); status != 409 || e.Error.Result == nil || e.Error.Result.Digest != digestOf(t, visit) || e.Error.Result.ID != "v1" {
		t.Errorf("replayed record answer: %d %s", status, body)
	}

	rs, err := h.admin.Records(ctx, hub.RecordFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range rs {
		got = append(got, r.ID+"/"+r.Signer)
	}
	slices.Sort(got)
	if strings.Join(got, " ") != "s1/ines v-unit/sam v1/sam" {
		t.Errorf("stored records %v, want s1/ines v-unit/sam v1/sam", got)
	}
}

// TestReplacedKey: after re-enrolling with new keys, records signed with
// the old key are refused as revoked-signer.
func TestReplacedKey(t *testing.T) {
	t.Parallel()
	h := newHub(t)
	old := h.enroll("sam", hubapi.RoleSales)
	oldRec := sign(t, record.KindVisit, newRec("v1"), old.id.Sign)
	renewed := h.enroll("sam", hubapi.RoleSales)
	if status, _ := h.do(http.MethodGet, hubapi.PathMe, old.token, "", nil); status != 401 {
		t.Errorf("old token after re-enrollment: %d, want 401", status)
	}
	status, body := h.do(http.MethodPost, hubapi.PathRecords, renewed.token, "k1", oldRec)
	if status != 403 || errorBody(t, body).Error.Code != hubapi.CodeRevokedSigner {
		t.Errorf("record signed with a replaced key: %d %s", status, body)
	}
	status, body = h.do(http.MethodPost, hubapi.PathRecords, renewed.token, "k2", sign(t, record.KindVisit, newRec("v2"), renewed.id.Sign))
	if status != 201 {
		t.Errorf("record signed with the new key: %d %s", status, body)
	}
}
