package diag_test

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/device"
	"github.com/latchkey/latchkey/internal/sim"
	"github.com/latchkey/latchkey/internal/smp"
	"github.com/latchkey/latchkey/internal/testutil/simtest"
)

// The tests run the virtual unit of internal/sim on a real pseudo-terminal
// and the command line against its link, as a support engineer would. The
// sim answers the standard SMP groups; until it implements latchkey's group
// 64 it is "another vendor's SMP device". group64 below adds a small group
// 64 as a sim extension, following docs/protocol.md far enough for diag,
// so the latchkey path is tested over the same pty and sim.

// startSim serves u (a new unit if nil) on a pty behind a link in a temp
// directory and returns the link path.
func startSim(t *testing.T, u *sim.Unit, ext ...sim.Extension) string {
	t.Helper()
	return simtest.Start(t, sim.Options{Unit: u, Extensions: ext, ResetDelay: 50 * time.Millisecond}, simtest.Config{}).Link
}

// group64 is the test's latchkey group: identity, status, self-tests (with
// a relay test), events (from the sim's own log) and door configuration.
type group64 struct {
	mu      sync.Mutex
	serial  string
	key     ed25519.PublicKey
	tamper  bool
	relayed int // relay pulses run
	failing string
}

func newGroup64() *group64 {
	pub, _, _ := ed25519.GenerateKey(nil)
	return &group64{serial: "LK0000004242", key: pub}
}

var testSelfTests = []device.SelfTest{
	{Name: "tamper", Desc: "enclosure switch readable and closed"},
	{Name: "supply", Desc: "supply voltage within 10-28 V"},
	{Name: "relay", Desc: "pulse the door relay", Relay: true},
}

func (g *group64) ext(u *sim.Unit, s *smp.Server) {
	h := func(id uint8, op smp.Op, fn func(req smp.Message) (any, error)) {
		s.Handle(device.GroupLatchkey, id, op, func(_ context.Context, req smp.Message) (any, error) {
			g.mu.Lock()
			defer g.mu.Unlock()
			return fn(req)
		})
	}
	h(device.CmdIdentity, smp.OpRead, func(smp.Message) (any, error) {
		return device.Identity{Serial: g.serial, Model: "LK1", Hardware: "B", Firmware: "1.4.2", SignKey: g.key,
			KexKey: make([]byte, device.KeySize), Label: device.LabelCode(g.key), State: device.StateNew, Slots: 4, Proto: device.ProtoVersion}, nil
	})
	h(device.CmdStatus, smp.OpRead, func(smp.Message) (any, error) {
		rssi, rsrp := int16(-71), int16(-98)
		return device.Status{Relay: device.RelayOff, Tamper: g.tamper, SupplyMV: 12040, Modem: device.ModemRegistered, RSSI: &rssi, RSRP: &rsrp,
			Uptime: 3725, Time: 1_764_000_000, Slots: []string{device.SlotWritten, device.SlotEmpty, device.SlotEmpty, device.SlotEmpty}}, nil
	})
	h(device.CmdSelfTests, smp.OpRead, func(smp.Message) (any, error) {
		return device.SelfTestList{Tests: testSelfTests}, nil
	})
	h(device.CmdSelfTests, smp.OpWrite, func(req smp.Message) (any, error) {
		var r device.RunSelfTestRequest
		if err := smp.DecodeCBOR(req.Body, &r); err != nil {
			return nil, smp.MgmtInval
		}
		var out []device.SelfTestResult
		for _, tc := range testSelfTests {
			if r.Name != "" && r.Name != tc.Name {
				continue
			}
			res := device.SelfTestResult{Name: tc.Name, Result: device.TestPass, Detail: "ok", MS: 12}
			switch {
			case tc.Relay && !r.Relay && r.Name != "":
				return nil, device.ErrRelayNotAllowed.SMP()
			case tc.Relay && !r.Relay:
				res.Result, res.Detail = device.TestSkipped, "relay flag not given"
			case tc.Relay:
				g.relayed++
				res.Detail = "coil 182 mA"
			case tc.Name == g.failing:
				res.Result, res.Detail = device.TestFail, "11.2 V measured"
			}
			out = append(out, res)
		}
		if out == nil {
			return nil, device.ErrTestUnknown.SMP()
		}
		return device.SelfTestResults{Results: out}, nil
	})
	h(device.CmdEvents, smp.OpRead, func(req smp.Message) (any, error) {
		var r device.EventsRequest
		if err := smp.DecodeCBOR(req.Body, &r); err != nil {
			return nil, smp.MgmtInval
		}
		page := device.EventPage{Events: []device.Event{}, Next: r.Since}
		after := r.Since // the sim's Events is "after", the protocol's since is "from"
		if after > 0 {
			after--
		}
		for _, e := range u.Events(after) {
			if len(page.Events) == 5 { // small pages, so paging is exercised
				page.More = true
				break
			}
			page.Events = append(page.Events, device.Event{Seq: e.Seq, Time: uint64(e.Time.Unix()), Up: 60, Kind: e.Kind, Msg: e.Detail})
			page.Next = e.Seq + 1
		}
		return page, nil
	})
	h(device.CmdDoor, smp.OpRead, func(smp.Message) (any, error) {
		return device.DoorConfig{Hours: []device.AccessWindow{{Days: 31, From: 480, To: 1080}}, PulseMS: 500, Mode: device.FailSecure, TZ: "UTC0"}, nil
	})
}

func (g *group64) relayPulses() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.relayed
}

func sha256Hex(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

func itoa(n uint64) string { return strconv.FormatUint(n, 10) }

// waitFor polls cond for up to 5 s.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("timed out waiting")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
