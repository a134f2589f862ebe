package sim

import (
	"bytes"
	"context"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/hpke"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/device"
	"github.com/latchkey/latchkey/internal/provision"
	"github.com/latchkey/latchkey/internal/smp"
)

// The tests here run group 64 on a real pseudo-terminal and drive it with
// the real client: device.New over smp.NewClient over serialport.Open of
// the link (the harness of link_test.go).

// testSealContext starts the info of the test-only seal below. The real
// sealed-key format (HPKE suite and info) belongs to the provisioning issue
// (6); this one exists so the slot and receipt machinery can be tested end
// to end before it does, and it is never the default.
const testSealContext = "latchkey sim test seal v1\x00"

func testSealInfo(serial string, slot uint8, job string, nonce []byte) []byte {
	b := append([]byte(testSealContext), serial...)
	b = append(b, 0, slot)
	b = append(b, job...)
	return append(append(b, 0), nonce...)
}

// testUnseal is an Unsealer for the test-only seal: HPKE base mode,
// DHKEM(X25519), HKDF-SHA256, AES-256-GCM.
func testUnseal(kex *ecdh.PrivateKey, serial string, req device.BurnRequest) ([]byte, error) {
	sk, err := hpke.NewDHKEMPrivateKey(kex)
	if err != nil {
		return nil, err
	}
	return hpke.Open(sk, hpke.HKDFSHA256(), hpke.AES256GCM(), testSealInfo(serial, req.Slot, req.Job, req.Nonce), req.Sealed)
}

func testSeal(t testing.TB, kexPub []byte, serial string, slot uint8, job string, nonce, key []byte) []byte {
	t.Helper()
	pub, err := ecdh.X25519().NewPublicKey(kexPub)
	if err != nil {
		t.Fatal(err)
	}
	pk, err := hpke.NewDHKEMPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	ct, err := hpke.Seal(pk, hpke.HKDFSHA256(), hpke.AES256GCM(), testSealInfo(serial, slot, job, nonce), key)
	if err != nil {
		t.Fatal(err)
	}
	return ct
}

type lkHarness struct {
	*harness
	lk  *Latchkey
	c   *smp.Client
	dev *device.Unit
}

// startLatchkey serves a unit with group 64 and connects the device client.
func startLatchkey(t *testing.T, cfg LatchkeyConfig, opts Options) *lkHarness {
	t.Helper()
	if cfg.Seed == 0 {
		cfg.Seed = 1
	}
	lk := NewLatchkey(cfg)
	opts.Extensions = append(opts.Extensions, lk.Extension())
	h := &lkHarness{harness: startSim(t, opts), lk: lk}
	h.reconnect(1)
	return h
}

func (h *lkHarness) reconnect(up int) {
	h.c = h.connect(up)
	h.dev = device.New(h.c, device.Options{Timeout: 2 * time.Second, SlowTimeout: 5 * time.Second})
}

// raw sends a group-64 request as SMP version 2, bypassing the client's
// own checks, to see what the unit says to what latchkey would not send.
func (h *lkHarness) raw(op smp.Op, id uint8, body any) (smp.Response, error) {
	return h.c.Do(context.Background(), smp.Request{Op: op, Group: device.GroupLatchkey, ID: id, Version: smp.V2, Body: body})
}

func nonce(t testing.TB) []byte {
	t.Helper()
	n := make([]byte, device.NonceSize)
	if _, err := rand.Read(n); err != nil {
		t.Fatal(err)
	}
	return n
}

func wantCode(t *testing.T, what string, err error, c device.ErrorCode) {
	t.Helper()
	if !errors.Is(err, c) && !errors.Is(err, c.SMP()) {
		t.Fatalf("%s: %v, want %s", what, err, c.Name())
	}
}

func TestLatchkeyIdentityAndAttest(t *testing.T) {
	t.Parallel()
	for _, bufSize := range []int{DefaultBufSize, device.MinBufSize} {
		t.Run(fmt.Sprint(bufSize), func(t *testing.T) {
			t.Parallel()
			h := startLatchkey(t, LatchkeyConfig{}, Options{Params: Params{BufSize: bufSize}})
			ctx := context.Background()
			id, err := h.dev.Identity(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if id.Serial != h.unit.Identity().Serial || id.State != device.StateNew || id.Slots != 8 || id.Proto != device.ProtoVersion {
				t.Errorf("identity %+v", id)
			}
			if id.Label != device.LabelCode(id.SignKey) || len(id.Label) != 9 {
				t.Errorf("label %q, want %q", id.Label, device.LabelCode(id.SignKey))
			}
			info, err := h.lk.Init(h.unit)
			if err != nil || info.Label != id.Label || !bytes.Equal(info.KexKey, id.KexKey) {
				t.Errorf("Init = %+v, %v; identity %+v", info, err, id)
			}

			n := nonce(t)
			att, err := h.dev.Attest(ctx, n)
			if err != nil {
				t.Fatal(err)
			}
			if !ed25519.Verify(id.SignKey, device.AttestationMessage(n, id.Serial), att.Sig) {
				t.Error("attestation signature does not verify over the nonce and serial")
			}
			if len(att.Chain) != 2 {
				t.Fatalf("chain of %d certificates, want unit and batch", len(att.Chain))
			}
			leaf, inter := parseCert(t, att.Chain[0]), parseCert(t, att.Chain[1])
			rootDER, err := SeededFactory{Seed: 1}.RootDER()
			if err != nil {
				t.Fatal(err)
			}
			roots, inters := x509.NewCertPool(), x509.NewCertPool()
			roots.AddCert(parseCert(t, rootDER))
			inters.AddCert(inter)
			if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inters, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}, CurrentTime: time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)}); err != nil {
				t.Errorf("chain does not verify to the seeded root: %v", err)
			}
			if pub, ok := leaf.PublicKey.(ed25519.PublicKey); !ok || !pub.Equal(ed25519.PublicKey(id.SignKey)) {
				t.Error("unit certificate is not for the identity's signing key")
			}
			if kex, err := KexKeyFromCert(leaf); err != nil || !bytes.Equal(kex, id.KexKey) {
				t.Errorf("unit certificate key-agreement key %x, %v; want %x", kex, err, id.KexKey)
			}
			if leaf.Subject.SerialNumber != id.Serial || leaf.Subject.CommonName != id.Serial {
				t.Errorf("unit certificate subject %v, want serial %s", leaf.Subject, id.Serial)
			}
			for i, c := range att.Chain {
				if len(c) > device.MaxCertSize {
					t.Errorf("certificate %d is %d bytes, over %d", i, len(c), device.MaxCertSize)
				}
			}

			// The chain also reads one by one, and ends where it ends.
			if der, err := h.dev.Cert(ctx, 1); err != nil || !bytes.Equal(der, att.Chain[1]) {
				t.Errorf("Cert(1) = %d bytes, %v", len(der), err)
			}
			_, err = h.dev.Cert(ctx, 2)
			wantCode(t, "Cert(2)", err, device.ErrCertMissing)

			_, err = h.dev.Attest(ctx, n)
			wantCode(t, "attest with a used nonce", err, device.ErrNonceReused)
			// An SMP version 1 request gets the legacy code.
			_, err = h.c.Do(ctx, smp.Request{Op: smp.OpRead, Group: device.GroupLatchkey, ID: device.CmdAttest, Version: smp.V1, Body: device.AttestRequest{Nonce: n}})
			if !errors.Is(err, smp.MgmtAccessDenied) {
				t.Errorf("v1 attest with a used nonce: %v, want rc 11 (EACCESSDENIED)", err)
			}
			if _, err := h.dev.Attest(ctx, nonce(t)); err != nil {
				t.Errorf("attest with a fresh nonce: %v", err)
			}
			// A malformed request is EINVAL.
			_, err = h.raw(smp.OpRead, device.CmdAttest, map[string]any{"nonce": []byte{1, 2, 3}})
			if !errors.Is(err, smp.MgmtInval) {
				t.Errorf("attest with a short nonce: %v, want EINVAL", err)
			}
		})
	}
}

func parseCert(t *testing.T, der []byte) *x509.Certificate {
	t.Helper()
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatalf("certificate does not parse: %v", err)
	}
	return c
}

func TestLatchkeyNoFactoryCertificate(t *testing.T) {
	t.Parallel()
	h := startLatchkey(t, LatchkeyConfig{Chain: noChain{}}, Options{})
	_, err := h.dev.Attest(context.Background(), nonce(t))
	wantCode(t, "attest without a certificate", err, device.ErrAttestKeyMissing)
	_, err = h.dev.Cert(context.Background(), 0)
	wantCode(t, "certificate without one", err, device.ErrAttestKeyMissing)
}

type noChain struct{}

func (noChain) Issue(string, ed25519.PublicKey, *ecdh.PublicKey) ([][]byte, error) { return nil, nil }

func TestLatchkeyStatusAndSelfTests(t *testing.T) {
	t.Parallel()
	h := startLatchkey(t, LatchkeyConfig{}, Options{})
	ctx := context.Background()
	st, err := h.dev.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Relay != device.RelayOff || st.Tamper || st.SupplyMV < 10000 || st.SupplyMV > 28000 || st.Modem != device.ModemRegistered ||
		st.RSSI == nil || st.RSRP == nil || len(st.Slots) != 8 || st.Time == 0 {
		t.Errorf("status %+v", st)
	}
	for _, s := range st.Slots {
		if s != device.SlotEmpty {
			t.Errorf("new unit slot states %q", st.Slots)
			break
		}
	}

	tests, err := h.dev.SelfTests(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tc := range tests {
		names = append(names, tc.Name)
		if tc.Relay != (tc.Name == "relay") {
			t.Errorf("test %s relay=%v", tc.Name, tc.Relay)
		}
	}
	if got := strings.Join(names, ","); got != "tamper,supply,modem,flash,crypto,relay" {
		t.Errorf("self-tests %s", got)
	}

	_, err = h.dev.RunSelfTest(ctx, "relay", false)
	wantCode(t, "relay test without the flag", err, device.ErrRelayNotAllowed)
	_, err = h.dev.RunSelfTest(ctx, "kettle", false)
	wantCode(t, "unknown test", err, device.ErrTestUnknown)

	res, err := h.dev.RunSelfTest(ctx, "", false)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		want := device.TestPass
		if r.Name == "relay" {
			want = device.TestSkipped
		}
		if r.Result != want {
			t.Errorf("%s: %s (%s), want %s", r.Name, r.Result, r.Detail, want)
		}
	}
	if len(res) != len(tests) {
		t.Errorf("%d results for %d tests", len(res), len(tests))
	}

	res, err = h.dev.RunSelfTest(ctx, "relay", true)
	if err != nil || len(res) != 1 || res[0].Result != device.TestPass {
		t.Fatalf("relay test with the flag: %+v, %v", res, err)
	}
	if !hasEvent(h.unit, "door.pulse") {
		t.Error("relay pulse not logged")
	}

	// The tamper switch, as a trainer opens the enclosure.
	if err := h.lk.SetTamper(true); err != nil {
		t.Fatal(err)
	}
	st, err = h.dev.Status(ctx)
	if err != nil || !st.Tamper {
		t.Errorf("status after opening the enclosure: tamper=%v, %v", st.Tamper, err)
	}
	res, err = h.dev.RunSelfTest(ctx, "tamper", false)
	if err != nil || len(res) != 1 || res[0].Result != device.TestFail {
		t.Errorf("tamper test with the enclosure open: %+v, %v", res, err)
	}
	if err := h.lk.SetTamper(false); err != nil {
		t.Fatal(err)
	}
	if st, err = h.dev.Status(ctx); err != nil || st.Tamper {
		t.Errorf("status after closing: tamper=%v, %v", st.Tamper, err)
	}
	if !hasEvent(h.unit, "tamper.open") || !hasEvent(h.unit, "tamper.close") {
		t.Error("tamper changes not logged")
	}
}

func hasEvent(u *Unit, kind string) bool {
	for _, e := range u.Events(0) {
		if e.Kind == kind {
			return true
		}
	}
	return false
}

func TestLatchkeyEvents(t *testing.T) {
	t.Parallel()
	h := startLatchkey(t, LatchkeyConfig{}, Options{Params: Params{BufSize: device.MinBufSize}})
	ctx := context.Background()
	if err := h.dev.Reset(ctx, false); err != nil {
		t.Fatal(err)
	}
	h.reconnect(2)
	// Enough events for several pages at buf_size 1024, with text the
	// unit must clean before it shows it (a setting name with an escape).
	for i := range 40 {
		if err := h.dev.SettingsWrite(ctx, fmt.Sprintf("lk/test/\x1b[2J%02d", i), []byte("v")); err != nil {
			t.Fatal(err)
		}
	}
	events, next, err := h.dev.AllEvents(ctx, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	log := h.unit.Events(0)
	if len(events) != len(log) || next != log[len(log)-1].Seq+1 {
		t.Fatalf("read %d events up to %d; the unit has %d up to %d", len(events), next, len(log), log[len(log)-1].Seq)
	}
	boots := 0
	for i, e := range events {
		if e.Seq != log[i].Seq {
			t.Fatalf("event %d has seq %d, want %d", i, e.Seq, log[i].Seq)
		}
		if e.Kind == "boot" {
			boots++
		}
		if strings.ContainsRune(e.Msg, 0x1b) {
			t.Errorf("event %d message %q carries a control character", e.Seq, e.Msg)
		}
	}
	if boots != 2 {
		t.Errorf("%d boot events after one reset, want 2", boots)
	}
	if events[0].Time == 0 {
		t.Error("events have no time")
	}

	p, err := h.dev.Events(ctx, 0, 3)
	if err != nil || len(p.Events) != 3 || !p.More || p.Next != p.Events[2].Seq+1 {
		t.Errorf("page of 3: %+v, %v", p, err)
	}
	p, err = h.dev.Events(ctx, next, 0)
	if err != nil || len(p.Events) != 0 || p.More || p.Next != next {
		t.Errorf("page past the end: %+v, %v", p, err)
	}
	p, err = h.dev.Events(ctx, 0, 0)
	if err != nil || !p.More || len(p.Events) < 5 {
		t.Errorf("first full page at 1024: %d events, more=%v, %v", len(p.Events), p.More, err)
	}
}

func TestLatchkeyCountersign(t *testing.T) {
	t.Parallel()
	h := startLatchkey(t, LatchkeyConfig{}, Options{})
	ctx := context.Background()
	id, err := h.dev.Identity(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{2, 1500, 9000} {
		body := bytes.Repeat([]byte(`{"k":"v"}`), n/9+1)[:n]
		msg := pae("consent", body)
		sig, err := h.dev.Countersign(ctx, msg)
		if err != nil {
			t.Fatalf("countersign %d bytes: %v", len(msg), err)
		}
		if !ed25519.Verify(id.SignKey, msg, sig) {
			t.Errorf("countersignature of %d bytes does not verify with the unit key", len(msg))
		}
	}

	start := func(msg []byte, sum []byte, n int) error {
		_, err := h.raw(smp.OpWrite, device.CmdCountersign, map[string]any{"off": 0, "len": n, "sha": sum, "data": msg})
		return err
	}
	sha := func(b []byte) []byte { s := sha256.Sum256(b); return s[:] }
	notPAE := []byte("latchkey attestation v1\x00 not a record")
	wantCode(t, "countersign a non-DSSE message", start(notPAE, sha(notPAE), len(notPAE)), device.ErrNotDSSE)
	other := pae("consent", []byte("{}"))
	other = bytes.Replace(other, []byte("vnd.latchkey."), []byte("vnd.latchkez."), 1)
	wantCode(t, "countersign another vendor's DSSE type", start(other, sha(other), len(other)), device.ErrNotDSSE)
	msg := pae("consent", []byte("{}"))
	wantCode(t, "countersign with a wrong sha", start(msg, sha([]byte("x")), len(msg)), device.ErrMessageMismatch)
	wantCode(t, "countersign over the limit", start(msg, sha(msg), device.MaxCountersig+1), device.ErrMessageTooLarge)
	if _, err := h.raw(smp.OpWrite, device.CmdCountersign, map[string]any{"off": 0, "data": msg}); !errors.Is(err, smp.MgmtInval) {
		t.Errorf("first chunk without len and sha: %v, want EINVAL", err)
	}

	// A chunk at the wrong offset is not stored; the unit says where it is.
	if err := start(msg[:5], sha(msg), len(msg)); err != nil {
		t.Fatal(err)
	}
	rsp, err := h.raw(smp.OpWrite, device.CmdCountersign, map[string]any{"off": 9, "data": msg[9:]})
	var cr device.CountersignResponse
	if err != nil || rsp.Decode(&cr) != nil || cr.Off != 5 || cr.Sig != nil {
		t.Errorf("chunk at a gap: %+v, %v", cr, err)
	}
	_, err = h.raw(smp.OpWrite, device.CmdCountersign, map[string]any{"off": 5, "data": append(bytes.Clone(msg[5:]), 'x')})
	wantCode(t, "chunk past len", err, device.ErrMessageTooLarge)
}

// pae is the DSSE pre-authentication encoding of a latchkey record.
func pae(kind string, body []byte) []byte {
	typ := "application/vnd.latchkey." + kind + "+json"
	return fmt.Appendf(nil, "DSSEv1 %d %s %d %s", len(typ), typ, len(body), body)
}

func TestLatchkeyDoorConfig(t *testing.T) {
	t.Parallel()
	h := startLatchkey(t, LatchkeyConfig{}, Options{})
	ctx := context.Background()
	cfg, err := h.dev.DoorConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Courier {
		t.Error("a new unit lets couriers in")
	}
	want := device.DoorConfig{
		Courier: true,
		Hours:   []device.AccessWindow{{Days: 0x1f, From: 8 * 60, To: 18 * 60}, {Days: 0x20, From: 9 * 60, To: 12 * 60}},
		PulseMS: 1200, Mode: device.FailSafe, TZ: "CET-1CEST,M3.5.0,M10.5.0/3",
	}
	got, err := h.dev.SetDoorConfig(ctx, want)
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("SetDoorConfig = %+v, %v", got, err)
	}
	if got, err = h.dev.DoorConfig(ctx); err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("DoorConfig after set = %+v, %v", got, err)
	}
	if !hasEvent(h.unit, "config.door") {
		t.Error("door configuration change not logged")
	}

	good := map[string]any{"courier": false, "hours": []any{}, "pulse_ms": 500, "mode": "fail-secure", "tz": "UTC0"}
	for _, tc := range []struct {
		name string
		set  map[string]any
		code device.ErrorCode
		v1   smp.MgmtErr
	}{
		{"pulse too short", map[string]any{"pulse_ms": 50}, device.ErrConfigInvalid, smp.MgmtInval},
		{"pulse far too long", map[string]any{"pulse_ms": 1 << 20}, device.ErrConfigInvalid, 0},
		{"mode", map[string]any{"mode": "fail-deadly"}, device.ErrConfigInvalid, 0},
		{"window backwards", map[string]any{"hours": []any{map[string]any{"days": 1, "from": 600, "to": 500}}}, device.ErrConfigInvalid, 0},
		{"window wraps a uint16", map[string]any{"hours": []any{map[string]any{"days": 1, "from": 65536 + 10, "to": 500}}}, device.ErrConfigInvalid, 0},
		{"no days", map[string]any{"hours": []any{map[string]any{"days": 0, "from": 0, "to": 500}}}, device.ErrConfigInvalid, 0},
		{"tz with an escape", map[string]any{"tz": "UTC0\x1b"}, device.ErrConfigInvalid, 0},
		{"nine windows", map[string]any{"hours": func() []any {
			var w []any
			for range 9 {
				w = append(w, map[string]any{"days": 1, "from": 0, "to": 60})
			}
			return w
		}()}, device.ErrConfigInvalid, 0},
	} {
		body := map[string]any{}
		for k, v := range good {
			body[k] = v
		}
		for k, v := range tc.set {
			body[k] = v
		}
		_, err := h.raw(smp.OpWrite, device.CmdDoor, body)
		wantCode(t, tc.name, err, tc.code)
		if tc.v1 != 0 {
			_, err := h.c.Do(ctx, smp.Request{Op: smp.OpWrite, Group: device.GroupLatchkey, ID: device.CmdDoor, Version: smp.V1, Body: body})
			if !errors.Is(err, tc.v1) {
				t.Errorf("%s as SMP v1: %v, want %v", tc.name, err, tc.v1)
			}
		}
	}
	if _, err := h.raw(smp.OpWrite, device.CmdDoor, map[string]any{"courier": true}); !errors.Is(err, smp.MgmtInval) {
		t.Errorf("config without members: %v, want EINVAL", err)
	}
	if got, err = h.dev.DoorConfig(ctx); err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("refused writes changed the configuration: %+v, %v", got, err)
	}
}

func TestLatchkeyBurnWithoutSealFormat(t *testing.T) {
	t.Parallel()
	h := startLatchkey(t, LatchkeyConfig{}, Options{})
	ctx := context.Background()
	_, err := h.dev.Burn(ctx, device.BurnRequest{Slot: 0, Job: "job-1", Nonce: nonce(t), Sealed: bytes.Repeat([]byte{7}, 80)})
	wantCode(t, "burn before the sealed-key format exists", err, device.ErrSealInvalid)
	slots, err := h.dev.Slots(ctx)
	if err != nil || len(slots) != 8 {
		t.Fatalf("slots %+v, %v", slots, err)
	}
	for _, s := range slots {
		if s.State != device.SlotEmpty {
			t.Errorf("slot %d is %s after a refused burn", s.Slot, s.State)
		}
	}
	_, err = h.dev.Receipt(ctx, 0)
	wantCode(t, "receipt of an empty slot", err, device.ErrSlotEmpty)
}

func TestLatchkeyBurnAndReceipt(t *testing.T) {
	t.Parallel()
	h := startLatchkey(t, LatchkeyConfig{Unseal: testUnseal}, Options{})
	ctx := context.Background()
	id, err := h.dev.Identity(ctx)
	if err != nil {
		t.Fatal(err)
	}
	key := bytes.Repeat([]byte{0x5a}, 32)
	job := "6f1c2d3e-4b5a-4978-8695-a4b3c2d1e0f9"
	n := nonce(t)
	req := device.BurnRequest{Slot: 2, Job: job, Nonce: n, Sealed: testSeal(t, id.KexKey, id.Serial, 2, job, n, key)}
	rc, err := h.dev.Burn(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if !ed25519.Verify(id.SignKey, rc.SignedBytes(), rc.Sig) {
		t.Error("receipt signature does not verify")
	}
	kcv, _ := provision.KCV(key)
	if rc.Serial != id.Serial || rc.Counter != 1 || rc.KCVAlg != device.KCVCMAC || !bytes.Equal(rc.KCV, kcv) {
		t.Errorf("receipt %+v, want KCV %x", rc, kcv)
	}
	again, err := h.dev.Receipt(ctx, 2)
	if err != nil || !reflect.DeepEqual(again, rc) {
		t.Errorf("stored receipt %+v, %v; want %+v", again, err, rc)
	}
	slots, err := h.dev.Slots(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if s := slots[2]; s.State != device.SlotWritten || s.Job != job || !bytes.Equal(s.KCV, kcv) || s.Counter != 1 {
		t.Errorf("slot 2 %+v", s)
	}
	if id, _ := h.dev.Identity(ctx); id.State != device.StateProvisioned {
		t.Errorf("state %s after a burn, want provisioned", id.State)
	}
	if !hasEvent(h.unit, "slot.burn") {
		t.Error("burn not logged")
	}

	// Write-once: a second burn of slot 2, even of a good seal, is refused
	// and changes nothing.
	n2 := nonce(t)
	_, err = h.dev.Burn(ctx, device.BurnRequest{Slot: 2, Job: job, Nonce: n2, Sealed: testSeal(t, id.KexKey, id.Serial, 2, job, n2, bytes.Repeat([]byte{1}, 32))})
	wantCode(t, "second burn of a slot", err, device.ErrSlotWritten)
	if r, err := h.dev.Receipt(ctx, 2); err != nil || !reflect.DeepEqual(r, rc) {
		t.Errorf("receipt after the refused rewrite: %+v, %v", r, err)
	}

	for _, tc := range []struct {
		name string
		req  device.BurnRequest
		code device.ErrorCode
	}{
		{"reused nonce", device.BurnRequest{Slot: 3, Job: job, Nonce: n, Sealed: testSeal(t, id.KexKey, id.Serial, 3, job, n, key)}, device.ErrNonceReused},
		{"sealed for another slot", device.BurnRequest{Slot: 3, Job: job, Nonce: n2, Sealed: testSeal(t, id.KexKey, id.Serial, 4, job, n2, key)}, device.ErrSealInvalid},
		{"sealed for another job", device.BurnRequest{Slot: 3, Job: "other", Nonce: n2, Sealed: testSeal(t, id.KexKey, id.Serial, 3, job, n2, key)}, device.ErrSealInvalid},
		{"sealed for another unit", device.BurnRequest{Slot: 3, Job: job, Nonce: n2, Sealed: testSeal(t, id.KexKey, "LK0000000000", 3, job, n2, key)}, device.ErrSealInvalid},
		{"key of 20 bytes", device.BurnRequest{Slot: 3, Job: job, Nonce: n2, Sealed: testSeal(t, id.KexKey, id.Serial, 3, job, n2, make([]byte, 20))}, device.ErrKeyInvalid},
	} {
		_, err := h.dev.Burn(ctx, tc.req)
		wantCode(t, tc.name, err, tc.code)
	}
	_, err = h.raw(smp.OpWrite, device.CmdBurn, device.BurnRequest{Slot: 8, Job: job, Nonce: nonce(t), Sealed: []byte{1}})
	wantCode(t, "slot 8", err, device.ErrSlotInvalid)
	_, err = h.raw(smp.OpWrite, device.CmdBurn, device.BurnRequest{Slot: 3, Job: job, Nonce: nonce(t), Sealed: make([]byte, device.MaxSealed+1)})
	wantCode(t, "sealed key over the limit", err, device.ErrMessageTooLarge)
	_, err = h.raw(smp.OpRead, device.CmdReceipt, device.ReceiptRequest{Slot: 8})
	wantCode(t, "receipt of slot 8", err, device.ErrSlotInvalid)

	// A 16-byte key in another slot counts on.
	key16 := bytes.Repeat([]byte{0x11}, 16)
	n3 := nonce(t)
	rc3, err := h.dev.Burn(ctx, device.BurnRequest{Slot: 0, Job: job, Nonce: n3, Sealed: testSeal(t, id.KexKey, id.Serial, 0, job, n3, key16)})
	kcv16, _ := provision.KCV(key16)
	if err != nil || rc3.Counter != 2 || !bytes.Equal(rc3.KCV, kcv16) || !ed25519.Verify(id.SignKey, rc3.SignedBytes(), rc3.Sig) {
		t.Errorf("second burn: %+v, %v", rc3, err)
	}
}

func TestLatchkeyDecommission(t *testing.T) {
	t.Parallel()
	opPub, opPriv, _ := ed25519.GenerateKey(rand.Reader)
	for _, operator := range []bool{false, true} {
		t.Run(fmt.Sprintf("operator=%v", operator), func(t *testing.T) {
			t.Parallel()
			cfg := LatchkeyConfig{Unseal: testUnseal}
			if operator {
				cfg.OperatorKey = opPub
			}
			h := startLatchkey(t, cfg, Options{})
			ctx := context.Background()
			id, err := h.dev.Identity(ctx)
			if err != nil {
				t.Fatal(err)
			}
			n := nonce(t)
			if _, err := h.dev.Burn(ctx, device.BurnRequest{Slot: 1, Job: "j", Nonce: n, Sealed: testSeal(t, id.KexKey, id.Serial, 1, "j", n, make([]byte, 16))}); err != nil {
				t.Fatal(err)
			}
			stale, err := h.dev.DecommissionToken(ctx)
			if err != nil {
				t.Fatal(err)
			}
			tok, err := h.dev.DecommissionToken(ctx)
			if err != nil || tok.TTL != 60 || bytes.Equal(tok.Token, stale.Token) {
				t.Fatalf("token %+v, %v", tok, err)
			}
			_, err = h.dev.Decommission(ctx, stale.Token, nil)
			wantCode(t, "decommission with a replaced token", err, device.ErrTokenInvalid)
			var auth []byte
			if operator {
				_, err = h.dev.Decommission(ctx, tok.Token, nil)
				wantCode(t, "decommission without authorisation", err, device.ErrNotAuthorised)
				_, err = h.dev.Decommission(ctx, tok.Token, ed25519.Sign(opPriv, device.DecommissionAuthMessage(tok.Token, "LK0000000000")))
				wantCode(t, "decommission authorised for another unit", err, device.ErrNotAuthorised)
				auth = ed25519.Sign(opPriv, device.DecommissionAuthMessage(tok.Token, id.Serial))
			}
			rec, err := h.dev.Decommission(ctx, tok.Token, auth)
			if err != nil {
				t.Fatal(err)
			}
			if rec.Serial != id.Serial || rec.Wiped != 1 || rec.Counter != 2 || !ed25519.Verify(id.SignKey, rec.SignedBytes(), rec.Sig) {
				t.Errorf("record %+v does not verify or is wrong", rec)
			}
			assertDecommissioned(t, h)
			// A reset does not end it.
			if err := h.dev.Reset(ctx, false); err != nil {
				t.Fatal(err)
			}
			h.reconnect(2)
			assertDecommissioned(t, h)
		})
	}
}

func assertDecommissioned(t *testing.T, h *lkHarness) {
	t.Helper()
	ctx := context.Background()
	id, err := h.dev.Identity(ctx)
	if err != nil || id.State != device.StateDecommissioned {
		t.Errorf("identity after decommission: %+v, %v", id, err)
	}
	_, err = h.dev.Status(ctx)
	wantCode(t, "status", err, device.ErrDecommissioned)
	_, err = h.dev.Slots(ctx)
	wantCode(t, "slots", err, device.ErrDecommissioned)
	_, err = h.dev.Attest(ctx, nonce(t))
	wantCode(t, "attest", err, device.ErrDecommissioned)
	_, err = h.dev.DecommissionToken(ctx)
	wantCode(t, "token", err, device.ErrDecommissioned)
	h.unit.View(func(st State) {
		lk, err := decodeLK(st.Ext[extKey])
		if err != nil {
			t.Fatal(err)
		}
		for i, s := range lk.Slots {
			if s.State != device.SlotWiped || s.Key != nil {
				t.Errorf("slot %d %s after decommission", i, s.State)
			}
		}
	})
}

// TestLatchkeyPersists restarts a unit kept in a state directory: its
// keys, certificates, slots, receipts, counter and door configuration come
// back as they were, even under another seed; RAM (attestation nonces)
// does not.
func TestLatchkeyPersists(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ctx := context.Background()
	run := func(seed uint64, fn func(h *lkHarness, id device.Identity)) {
		u, err := Open(Config{Dir: dir, Seed: seed})
		if err != nil {
			t.Fatal(err)
		}
		h := startLatchkey(t, LatchkeyConfig{Seed: seed, Unseal: testUnseal}, Options{Unit: u})
		id, err := h.dev.Identity(ctx)
		if err != nil {
			t.Fatal(err)
		}
		fn(h, id)
		h.disconnect()
		h.stop()
		err = <-h.done
		h.done <- err // for the harness's own cleanup
		if err != nil {
			t.Fatal(err)
		}
	}
	var first device.Identity
	var rc device.Receipt
	attestNonce, burnNonce := nonce(t), nonce(t)
	door := device.DoorConfig{Courier: true, Hours: []device.AccessWindow{}, PulseMS: 700, Mode: device.FailSecure, TZ: "UTC0"}
	run(3, func(h *lkHarness, id device.Identity) {
		first = id
		var err error
		if _, err = h.dev.Attest(ctx, attestNonce); err != nil {
			t.Fatal(err)
		}
		rc, err = h.dev.Burn(ctx, device.BurnRequest{Slot: 5, Job: "j1", Nonce: burnNonce, Sealed: testSeal(t, id.KexKey, id.Serial, 5, "j1", burnNonce, make([]byte, 32))})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := h.dev.SetDoorConfig(ctx, door); err != nil {
			t.Fatal(err)
		}
	})
	b, err := os.ReadFile(filepath.Join(dir, stateFile))
	if err != nil || !bytes.Contains(b, []byte(`"latchkey"`)) {
		t.Fatalf("state file without the group's data: %v", err)
	}
	run(99, func(h *lkHarness, id device.Identity) {
		if first.State = device.StateProvisioned; !reflect.DeepEqual(id, first) {
			t.Errorf("identity after restart %+v, want %+v", id, first)
		}
		if got, err := h.dev.Receipt(ctx, 5); err != nil || !reflect.DeepEqual(got, rc) {
			t.Errorf("receipt after restart %+v, %v", got, err)
		}
		if got, err := h.dev.DoorConfig(ctx); err != nil || !reflect.DeepEqual(got, door) {
			t.Errorf("door configuration after restart %+v, %v", got, err)
		}
		if _, err := h.dev.Attest(ctx, attestNonce); err != nil {
			t.Errorf("attest after a restart with a nonce of the last boot: %v", err)
		}
		_, err := h.dev.Burn(ctx, device.BurnRequest{Slot: 6, Job: "j1", Nonce: burnNonce, Sealed: testSeal(t, id.KexKey, id.Serial, 6, "j1", burnNonce, make([]byte, 32))})
		wantCode(t, "burn nonce of an earlier run", err, device.ErrNonceReused)
		n := nonce(t)
		r2, err := h.dev.Burn(ctx, device.BurnRequest{Slot: 6, Job: "j1", Nonce: n, Sealed: testSeal(t, id.KexKey, id.Serial, 6, "j1", n, make([]byte, 32))})
		if err != nil || r2.Counter != rc.Counter+1 {
			t.Errorf("burn after restart: counter %d, %v; want %d", r2.Counter, err, rc.Counter+1)
		}
	})
}

func TestLatchkeyKeysFromSeed(t *testing.T) {
	t.Parallel()
	info := func(seed uint64) UnitInfo {
		u, err := Open(Config{Seed: seed})
		if err != nil {
			t.Fatal(err)
		}
		i, err := NewLatchkey(LatchkeyConfig{Seed: seed}).Init(u)
		if err != nil {
			t.Fatal(err)
		}
		return i
	}
	a, b, c := info(7), info(7), info(8)
	if !reflect.DeepEqual(a, b) {
		t.Error("the same seed gave different identities or certificates")
	}
	if a.SignKey.Equal(c.SignKey) || bytes.Equal(a.KexKey, c.KexKey) || bytes.Equal(a.Chain[0], c.Chain[0]) {
		t.Error("different seeds gave the same keys")
	}
}

func TestSecretsDoNotPrint(t *testing.T) {
	t.Parallel()
	u, err := Open(Config{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewLatchkey(LatchkeyConfig{Seed: 1}).Init(u); err != nil {
		t.Fatal(err)
	}
	var lk lkState
	u.View(func(st State) { lk, err = decodeLK(st.Ext[extKey]) })
	if err != nil {
		t.Fatal(err)
	}
	for _, verb := range []string{"%v", "%+v", "%#v", "%x", "%s", "%q"} {
		out := fmt.Sprintf(verb, lk)
		for _, k := range [][]byte{lk.SignSeed, lk.KexKey} {
			if strings.Contains(out, hex.EncodeToString(k)) || strings.Contains(out, fmt.Sprint([]byte(k))) || strings.Contains(out, string(k)) {
				t.Errorf("%s of the state shows a private key", verb)
			}
		}
	}
}

// TestBurnKCV checks that a burn's key check value is provision.KCV of the
// key (docs/protocol.md 4.5 step 4; the CMAC vectors are provision's tests).
func TestBurnKCV(t *testing.T) {
	t.Parallel()
	h := startLatchkey(t, LatchkeyConfig{Unseal: testUnseal}, Options{})
	ctx := context.Background()
	id, err := h.dev.Identity(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i, key := range [][]byte{bytes.Repeat([]byte{0x2b}, 16), bytes.Repeat([]byte{0x60}, 32)} {
		n := nonce(t)
		rc, err := h.dev.Burn(ctx, device.BurnRequest{Slot: uint8(i), Job: "j", Nonce: n, Sealed: testSeal(t, id.KexKey, id.Serial, uint8(i), "j", n, key)})
		if err != nil {
			t.Fatal(err)
		}
		want, err := provision.KCV(key)
		if err != nil || len(want) != 3 || !bytes.Equal(rc.KCV, want) || rc.KCVAlg != device.KCVCMAC {
			t.Errorf("%d-byte key: KCV %x (%s), want %x (%v)", len(key), rc.KCV, rc.KCVAlg, want, err)
		}
	}
}

// TestLatchkeyBurnAnswerLost pulls the cable right after the unit has
// burned a slot, with console chatter on the line: the burn's answer is
// lost, and the installer's tool finishes as docs/protocol.md 4.5 says,
// by listing the slots and reading the stored receipt.
func TestLatchkeyBurnAnswerLost(t *testing.T) {
	t.Parallel()
	h := startLatchkey(t, LatchkeyConfig{Unseal: testUnseal}, Options{Faults: Faults{
		Pull: Trigger{Op: "64:6", Nth: 1}, PullFor: 50 * time.Millisecond, Chatter: 0.5,
	}})
	ctx := context.Background()
	id, err := h.dev.Identity(ctx)
	if err != nil {
		t.Fatal(err)
	}
	h.dev = device.New(h.c, device.Options{Timeout: 300 * time.Millisecond, SlowTimeout: 300 * time.Millisecond})
	key := bytes.Repeat([]byte{0x33}, 32)
	n := nonce(t)
	if _, err := h.dev.Burn(ctx, device.BurnRequest{Slot: 4, Job: "j", Nonce: n, Sealed: testSeal(t, id.KexKey, id.Serial, 4, "j", n, key)}); err == nil {
		t.Fatal("burn answered although the cable was pulled")
	}
	h.reconnect(2)
	slots, err := h.dev.Slots(ctx)
	if err != nil {
		t.Fatal(err)
	}
	kcv, _ := provision.KCV(key)
	if s := slots[4]; s.State != device.SlotWritten || !bytes.Equal(s.KCV, kcv) {
		t.Fatalf("slot 4 after the lost answer: %+v", s)
	}
	rc, err := h.dev.Receipt(ctx, 4)
	if err != nil || !bytes.Equal(rc.Nonce, n) || !ed25519.Verify(id.SignKey, rc.SignedBytes(), rc.Sig) {
		t.Errorf("receipt after the lost answer: %+v, %v", rc, err)
	}
}
