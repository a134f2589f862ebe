package install_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/hubapi"
	"github.com/latchkey/latchkey/internal/identity"
	"github.com/latchkey/latchkey/internal/install"
	"github.com/latchkey/latchkey/internal/packet"
	"github.com/latchkey/latchkey/internal/record"
	"github.com/latchkey/latchkey/internal/store"
)

type fixture struct {
	t      *testing.T
	hub    ed25519.PrivateKey
	hubPub ed25519.PublicKey
	me     identity.Identity
	now    time.Time
	jobs   *install.Jobs
	ctx    context.Context
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	me, err := identity.Generate(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "latchkey.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	f := &fixture{t: t, hub: priv, hubPub: pub, me: me, now: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC), ctx: context.Background()}
	f.jobs = install.NewJobs(st, func() time.Time { return f.now })
	return f
}

func (f *fixture) packet(id, building string, issued time.Time, to identity.Identity, hub ed25519.PrivateKey) json.RawMessage {
	f.t.Helper()
	doors := []string{"lobby"}
	keys, err := packet.GenerateKeys(doors, rand.Reader)
	if err != nil {
		f.t.Fatal(err)
	}
	job := packet.Job{ID: id, Building: building, Address: "12 Elm St", Doors: doors, Incentive: "none", Terms: "v1",
		Installer: "sam", InstallerKeyID: record.KeyID(to.Public().Sign), IssuedAt: issued, ExpiresAt: issued.Add(14 * 24 * time.Hour)}
	b, err := packet.Seal(job, keys, to.Public().Kex, hub)
	if err != nil {
		f.t.Fatal(err)
	}
	return b
}

func (f *fixture) denylist(issued time.Time, serials ...string) json.RawMessage {
	f.t.Helper()
	d := packet.Denylist{IssuedAt: issued, Units: []packet.DeniedUnit{}}
	for _, s := range serials {
		d.Units = append(d.Units, packet.DeniedUnit{Serial: s, Reason: "stolen", DeniedAt: issued})
	}
	b, err := packet.SignDenylist(d, f.hub)
	if err != nil {
		f.t.Fatal(err)
	}
	return b
}

func (f *fixture) save(resp hubapi.JobsResponse) (install.PullResult, error) {
	return f.jobs.Save(f.ctx, f.hubPub, record.KeyID(f.me.Public().Sign), resp)
}

func TestPullKeepsOnlyVerifiedPackets(t *testing.T) {
	f := newFixture(t)
	stranger, _ := identity.Generate(rand.Reader)
	_, otherHub, _ := ed25519.GenerateKey(rand.Reader)
	good := f.packet("job-0001", "Elm Court", f.now, f.me, f.hub)
	resp := hubapi.JobsResponse{
		Packets: []json.RawMessage{
			good,
			f.packet("job-0002", "For someone else", f.now, stranger, f.hub),
			f.packet("job-0003", "Other hub", f.now, f.me, otherHub),
			f.packet("job-0004", "Expired", f.now.Add(-30*24*time.Hour), f.me, f.hub),
		},
		Denylist: f.denylist(f.now, "LK-00042"),
	}
	res, err := f.save(resp)
	if err != nil {
		t.Fatalf("Save: %v", err)
	}
	if res.New != 1 || len(res.Refused) != 3 || res.Denied != 1 {
		t.Fatalf("Save = %+v, want 1 new, 3 refused, 1 denied", res)
	}
	for i, want := range []string{"not yours", "not signed by this hub", "expired"} {
		if !strings.Contains(res.Refused[i], want) {
			t.Errorf("refusal %d = %q, want it to say %q", i, res.Refused[i], want)
		}
	}
	list, err := f.jobs.List(f.ctx)
	if err != nil || len(list) != 1 || list[0].ID != "job-0001" || list[0].InstallerKeyID != record.KeyID(f.me.Public().Sign) {
		t.Fatalf("List = %+v, %v", list, err)
	}
	for _, ref := range []string{"jo", "nope-1"} {
		if _, err := f.jobs.Packet(f.ctx, ref); !errors.Is(err, install.ErrJobNotFound) {
			t.Errorf("Packet(%q) = %v, want ErrJobNotFound", ref, err)
		}
	}
	raw, err := f.jobs.Packet(f.ctx, "job-0")
	if err != nil || string(raw) != string(good) {
		t.Errorf("Packet = %d bytes, %v; want the packet as pulled", len(raw), err)
	}
	if _, keys, err := packet.Open(raw, f.hubPub, f.me, f.now); err != nil || len(keys) != 1 {
		t.Errorf("the stored packet does not open: %v", err)
	}

	// The same pull again changes nothing.
	if res, err := f.save(resp); err != nil || res.Unchanged != 1 || res.New != 0 {
		t.Errorf("second Save = %+v, %v", res, err)
	}
}

func TestPullRefusesOlderAnswers(t *testing.T) {
	f := newFixture(t)
	newer := f.packet("job-0001", "Elm Court (reissued)", f.now, f.me, f.hub)
	older := f.packet("job-0001", "Elm Court", f.now.Add(-time.Hour), f.me, f.hub)
	if _, err := f.save(hubapi.JobsResponse{Packets: []json.RawMessage{newer}, Denylist: f.denylist(f.now, "LK-00042")}); err != nil {
		t.Fatal(err)
	}
	// An older packet of the same job does not replace the newer one.
	res, err := f.save(hubapi.JobsResponse{Packets: []json.RawMessage{older}, Denylist: f.denylist(f.now.Add(time.Minute), "LK-00042")})
	if err != nil || len(res.Refused) != 1 || !strings.Contains(res.Refused[0], "older than the one held") {
		t.Errorf("Save of an older packet = %+v, %v", res, err)
	}
	if j, _ := f.jobs.Get(f.ctx, "job-0001"); j.Building != "Elm Court (reissued)" {
		t.Errorf("job after an older packet = %+v", j)
	}
	// An older denylist (a replayed answer) fails the pull and keeps the list.
	_, err = f.save(hubapi.JobsResponse{Denylist: f.denylist(f.now.Add(-time.Hour))})
	if !errors.Is(err, packet.ErrStale) {
		t.Errorf("Save of an older denylist = %v, want ErrStale", err)
	}
	// So does one that is not the hub's.
	_, otherHub, _ := ed25519.GenerateKey(rand.Reader)
	forged, _ := packet.SignDenylist(packet.Denylist{IssuedAt: f.now.Add(time.Hour), Units: []packet.DeniedUnit{}}, otherHub)
	if _, err := f.save(hubapi.JobsResponse{Denylist: forged}); !errors.Is(err, packet.ErrBadSignature) {
		t.Errorf("Save of a forged denylist = %v, want ErrBadSignature", err)
	}
	if _, err := f.save(hubapi.JobsResponse{}); !errors.Is(err, packet.ErrMalformed) {
		t.Errorf("Save without a denylist = %v, want ErrMalformed", err)
	}
	d, err := f.jobs.Denylist(f.ctx)
	if err != nil || len(d) != 1 || d[0].Serial != "LK-00042" {
		t.Errorf("denylist after refused pulls = %+v, %v; want LK-00042 still", d, err)
	}
}
