package hub_test

// The back-office journey through the command line as people run it:
// enroll → login → job create → jobs pull → records → sync → the hub lists
// them verified; and the records the hub must refuse, with their reasons.
// The hub runs in-process on loopback over the same SQLite file the admin
// commands open, as `hub serve` and `hub enroll` share it in production.

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/hubapi"
	"github.com/latchkey/latchkey/internal/hubclient"
	"github.com/latchkey/latchkey/internal/identity"
	"github.com/latchkey/latchkey/internal/record"
	"github.com/latchkey/latchkey/internal/testutil/clitest"
	"github.com/latchkey/latchkey/internal/testutil/hubtest"
)

// office is the loopback hub with the journey's own checks on joining.
type office struct {
	*hubtest.Office
	t *testing.T
}

func newOffice(t *testing.T) *office { return &office{Office: hubtest.Start(t), t: t} }

func (o *office) hub(args ...string) clitest.Result { return o.Hub(args...) }

// join enrolls and logs in like hubtest, and checks a code works once.
func (o *office) join(name, role string) *clitest.Machine {
	o.t.Helper()
	code := o.MustHub("enroll", "--name", name, "--role", role)
	m := clitest.New(o.t, "laptop-"+name)
	m.Now = time.Now()
	if r := m.Run("login", "--hub", o.URL, "--code", code); r.Code != 0 {
		o.t.Fatalf("login %s: %d %s", name, r.Code, r.Stderr)
	}
	if r := clitest.New(o.t, "thief").Run("login", "--hub", o.URL, "--code", code); r.Code != 1 || !strings.Contains(r.Stderr, "enroll-invalid") {
		o.t.Errorf("second login with the same code = %d %q, want exit 1 enroll-invalid", r.Code, r.Stderr)
	}
	return m
}

type hubRecord struct {
	ID     string   `json:"id"`
	Kind   string   `json:"kind"`
	Signer string   `json:"signer"`
	Keys   []string `json:"verified_keys"`
	Digest string   `json:"digest"`
}

type outboxRow struct {
	ID         string `json:"id"`
	State      string `json:"state"`
	Digest     string `json:"digest"`
	RejectCode string `json:"reject_code"`
	Key        string `json:"idempotency_key"`
}

func visitArgs(building string) []string {
	return []string{"visit", "log", "--rep", "Dana Reyes", "--building", building, "--address", "12 Elm St",
		"--city", "Springfield", "--units", "24", "--outcome", "no-answer", "--when", "2026-11-24 10:00"}
}

func TestJourney(t *testing.T) {
	o := newOffice(t)
	dana := o.join("dana", "sales")
	sam := o.join("sam", "installer")

	// A job for sam, with its keys sealed to sam's key; sam pulls it.
	r := o.hub("job", "create", "--building", "Elm Court", "--address", "12 Elm St", "--doors", "lobby,garage",
		"--installer", "sam", "--incentive", "gift-card:100:USD")
	if r.Code != 0 {
		t.Fatalf("job create: %d %s", r.Code, r.Stderr)
	}
	jobID := strings.TrimSpace(r.Stdout)
	o.hub("units", "deny", "LK-00042", "--reason", "reported stolen")
	r = sam.MustRun("jobs", "pull")
	if !strings.Contains(r.Stdout, "1 new, 0 updated, 0 unchanged; 1 unit on the denylist") {
		t.Errorf("jobs pull = %q", r.Stdout)
	}
	var jobs []struct {
		ID, Building, Installer string
		Doors                   []string
		InstallerKeyID          string `json:"installer_key_id"`
	}
	sam.JSON(&jobs, "jobs", "list")
	if len(jobs) != 1 || jobs[0].ID != jobID || jobs[0].Building != "Elm Court" || len(jobs[0].Doors) != 2 || jobs[0].InstallerKeyID == "" {
		t.Errorf("jobs list = %+v, want job %s for Elm Court with 2 doors", jobs, jobID)
	}
	show := sam.MustRun("jobs", "show", jobID[:6])
	if !strings.Contains(show.Stdout, "2, sealed to your key") || !strings.Contains(show.Stdout, "gift-card:100:USD") {
		t.Errorf("jobs show = %q", show.Stdout)
	}
	// Pulling again changes nothing.
	if r := sam.MustRun("jobs", "pull"); !strings.Contains(r.Stdout, "0 new, 0 updated, 1 unchanged") {
		t.Errorf("second jobs pull = %q", r.Stdout)
	}
	// A sales rep gets no packets.
	if r := dana.MustRun("jobs", "pull"); !strings.Contains(r.Stdout, "0 new") {
		t.Errorf("jobs pull as sales = %q", r.Stdout)
	}

	// Dana logs two visits offline, then syncs.
	dana.MustRun(visitArgs("Elm Court")...)
	dana.MustRun(visitArgs("Oak House")...)
	var rows []outboxRow
	dana.JSON(&rows, "outbox", "list")
	if len(rows) != 2 || rows[0].State != "queued" {
		t.Fatalf("outbox list = %+v, want 2 queued", rows)
	}
	r = dana.MustRun("sync")
	if !strings.Contains(r.Stdout, "sent 2, refused 0, still queued 0") {
		t.Errorf("sync = %q", r.Stdout)
	}
	var recs []hubRecord
	o.Admin.JSON(&recs, "hub", "records", "list", "--data", o.Data, "--kind", "visit")
	if len(recs) != 2 {
		t.Fatalf("hub records = %+v, want the 2 visits", recs)
	}
	dana.JSON(&rows, "outbox", "list", "--all")
	for i, rec := range recs {
		if rec.Signer != "dana" || len(rec.Keys) != 1 || rec.ID != rows[i].ID || rec.Digest != rows[i].Digest || rows[i].State != "sent" {
			t.Errorf("record %d: hub %+v, laptop %+v", i, rec, rows[i])
		}
	}
	// Syncing again sends nothing.
	if r := dana.MustRun("sync"); !strings.Contains(r.Stdout, "sent 0, refused 0, still queued 0") {
		t.Errorf("second sync = %q", r.Stdout)
	}

	t.Run("refusals", func(t *testing.T) { testRefusals(t, o, dana, rows[0]) })
	t.Run("expired record kept and retried", func(t *testing.T) { testExpired(t, o) })
	t.Run("revoked user", func(t *testing.T) { testRevoked(t, o, dana) })
}

// testRefusals sends records the hub must refuse straight at the API, as an
// attacker with dana's token (or a copy of a record) would.
func testRefusals(t *testing.T, o *office, dana *clitest.Machine, sent outboxRow) {
	env := dana.MustRun("outbox", "show", sent.ID, "--envelope").Stdout
	sess, err := hubclient.DefaultSessionStore(filepath.Join(dana.Home, "data")).Load()
	if err != nil {
		t.Fatal(err)
	}
	c, err := sess.Client(hubclient.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	send := func(key string, b []byte) string {
		t.Helper()
		res, err := c.SendRecord(ctx, key, b)
		var he *hubapi.Error
		if errors.As(err, &he) {
			return he.Code
		}
		if err != nil {
			t.Fatalf("send: %v", err)
		}
		return res.Status
	}

	// Replayed: the same record under a new idempotency key.
	if got := send("replay-1", []byte(env)); got != hubapi.CodeReplayed {
		t.Errorf("replayed record: %s, want %s", got, hubapi.CodeReplayed)
	}
	// Tampered: the payload changed after signing.
	var e record.Envelope
	if err := json.Unmarshal([]byte(env), &e); err != nil {
		t.Fatal(err)
	}
	body, _ := base64.StdEncoding.DecodeString(e.Payload)
	e.Payload = base64.StdEncoding.EncodeToString([]byte(strings.Replace(string(body), "Elm Court", "Elm Courts", 1)))
	tampered, _ := json.Marshal(e)
	if got := send("tamper-1", tampered); got != hubapi.CodeBadSignature {
		t.Errorf("tampered record: %s, want %s", got, hubapi.CodeBadSignature)
	}
	// Unknown signer: a key the hub never enrolled.
	stranger, err := identity.Generate(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	forged, err := record.Sign(record.KindVisit, record.Header{ID: "forged-1", CreatedAt: now, ExpiresAt: now.Add(time.Hour)},
		stranger.Sign, record.KeyID(stranger.Public().Sign))
	if err != nil {
		t.Fatal(err)
	}
	fb, _ := json.Marshal(forged)
	if got := send("forged-1", fb); got != hubapi.CodeUnknownSigner {
		t.Errorf("record by an unknown key: %s, want %s", got, hubapi.CodeUnknownSigner)
	}
	// Nothing of that was stored.
	var recs []hubRecord
	o.Admin.JSON(&recs, "hub", "records", "list", "--data", o.Data)
	if len(recs) != 2 {
		t.Errorf("hub holds %d records after the refusals, want 2", len(recs))
	}
}

// testExpired queues a record that expired before it reached the hub: it is
// refused, kept with the reason, and retrying it gets the same answer.
func testExpired(t *testing.T, o *office) {
	rep := o.join("eve", "sales")
	rep.Now = time.Now().Add(-200 * 24 * time.Hour)
	rep.MustRun("visit", "log", "--rep", "Eve", "--building", "Old Mill", "--address", "1 Mill Rd", "--city", "Springfield",
		"--units", "6", "--outcome", "no-answer")
	rep.Now = time.Now()
	r := rep.Run("sync")
	if r.Code != 1 || !strings.Contains(r.Stdout, "refused visit") || !strings.Contains(r.Stdout, "expired") ||
		!strings.Contains(r.Stderr, "outbox retry") {
		t.Fatalf("sync of an expired record = %d\n%s\n%s", r.Code, r.Stdout, r.Stderr)
	}
	var rows []outboxRow
	rep.JSON(&rows, "outbox", "list", "--state", "rejected")
	if len(rows) != 1 || rows[0].RejectCode != "expired" {
		t.Fatalf("rejected rows = %+v, want the expired visit", rows)
	}
	key := rows[0].Key
	if r := rep.MustRun("outbox", "retry", "--all"); !strings.Contains(r.Stdout, "1 record back in the queue") {
		t.Errorf("outbox retry = %q", r.Stdout)
	}
	rep.JSON(&rows, "outbox", "list")
	if len(rows) != 1 || rows[0].State != "queued" || rows[0].Key != key {
		t.Errorf("after retry = %+v, want queued with the same idempotency key %s", rows, key)
	}
	if r := rep.Run("sync"); r.Code != 1 || !strings.Contains(r.Stdout, "expired") {
		t.Errorf("second sync = %d %q", r.Code, r.Stdout)
	}
}

// testRevoked revokes dana: her next sync stops, her records stay queued.
func testRevoked(t *testing.T, o *office, dana *clitest.Machine) {
	if r := o.hub("users", "revoke", "dana", "--yes"); r.Code != 0 {
		t.Fatalf("revoke: %d %s", r.Code, r.Stderr)
	}
	dana.MustRun(visitArgs("Pine Towers")...)
	r := dana.Run("sync")
	if r.Code != 1 || !strings.Contains(r.Stderr, "1 record stay queued") || !strings.Contains(r.Stderr, "latchkey login") {
		t.Errorf("sync after revocation = %d\n%s\n%s", r.Code, r.Stdout, r.Stderr)
	}
	var rows []outboxRow
	dana.JSON(&rows, "outbox", "list")
	if len(rows) != 1 || rows[0].State != "queued" {
		t.Errorf("outbox after a refused sync = %+v, want the visit still queued", rows)
	}
}
