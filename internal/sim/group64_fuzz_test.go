package sim

import (
	"bytes"
	"context"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/sha256"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/latchkey/latchkey/internal/device"
	"github.com/latchkey/latchkey/internal/provision"
	"github.com/latchkey/latchkey/internal/smp"
)

// group64Targets are the handlers FuzzGroup64 drives, picked by a
// selector byte (its low bits; the top bit sends the request as SMP v1).
var group64Targets = []struct {
	id uint8
	op smp.Op
}{
	{device.CmdIdentity, smp.OpRead},
	{device.CmdAttest, smp.OpRead},
	{device.CmdCert, smp.OpRead},
	{device.CmdStatus, smp.OpRead},
	{device.CmdSelfTests, smp.OpRead},
	{device.CmdSelfTests, smp.OpWrite},
	{device.CmdSlots, smp.OpRead},
	{device.CmdBurn, smp.OpWrite},
	{device.CmdReceipt, smp.OpRead},
	{device.CmdEvents, smp.OpRead},
	{device.CmdCountersign, smp.OpWrite},
	{device.CmdDoor, smp.OpRead},
	{device.CmdDoor, smp.OpWrite},
	{device.CmdDecommission, smp.OpRead},
	{device.CmdDecommission, smp.OpWrite},
}

func group64Sel(id uint8, op smp.Op) uint8 {
	for i, t := range group64Targets {
		if t.id == id && t.op == op {
			return uint8(i)
		}
	}
	panic("no such target")
}

// fuzzBufSize is the least buf_size a latchkey unit may advertise, where
// answers are closest to not fitting.
const fuzzBufSize = device.MinBufSize

// memoChain issues the seeded factory's chain once per serial: fuzzing
// makes a fresh unit for every input.
type memoChain struct {
	mu sync.Mutex
	m  map[string][][]byte
}

var fuzzChains = &memoChain{m: map[string][][]byte{}}

func (c *memoChain) Issue(serial string, signKey ed25519.PublicKey, kexKey *ecdh.PublicKey) ([][]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := serial + string(signKey) + string(kexKey.Bytes())
	if ch, ok := c.m[k]; ok {
		return ch, nil
	}
	ch, err := SeededFactory{Seed: 1}.Issue(serial, signKey, kexKey)
	if err == nil {
		c.m[k] = ch
	}
	return ch, err
}

// zeroReader makes every decommission token 16 zero bytes, so a seed can
// carry a valid one.
type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// newFuzzUnit is the unit every fuzz input starts from: seed 1, the
// test-only seal of group64_test.go, fixed decommission tokens.
func newFuzzUnit(t testing.TB) (*Unit, *smp.Server) {
	u, err := Open(Config{Seed: 1, SlotSize: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	s := &smp.Server{BufSize: fuzzBufSize, Translate: translate, OnError: func(err error) {
		if strings.Contains(err.Error(), "panicked") {
			t.Fatal(err)
		}
	}}
	u.Register(s, Params{BufSize: fuzzBufSize})
	lk := NewLatchkey(LatchkeyConfig{Seed: 1, Chain: fuzzChains, Unseal: testUnseal})
	lk.tokenRand = zeroReader{}
	lk.Extension()(u, s)
	return u, s
}

// FuzzGroup64 sends three arbitrary CBOR bodies to three group-64 handlers
// of a fresh unit (three, so that burn → receipt and token → decommission
// sequences are reachable). Whatever arrives, no handler may panic, every
// answer must fit buf_size and be a CBOR map, and the unit's key store must
// stay consistent: written slots hold a key whose KCV and signed receipt
// match, the counter is above every receipt's, and a decommissioned unit
// holds no key.
func FuzzGroup64(f *testing.F) {
	f.Fuzz(func(t *testing.T, sel1, sel2, sel3 uint8, body1, body2, body3 []byte) {
		u, s := newFuzzUnit(t)
		for i, in := range []struct {
			sel  uint8
			body []byte
		}{{sel1, body1}, {sel2, body2}, {sel3, body3}} {
			if len(in.body) > fuzzBufSize {
				return
			}
			tg := group64Targets[int(in.sel&0x7f)%len(group64Targets)]
			req := smp.Message{Header: smp.Header{Op: tg.op, Version: smp.Version(in.sel >> 7), Group: device.GroupLatchkey, ID: tg.id, Seq: uint8(i), Length: uint16(len(in.body))}, Body: in.body}
			rsp, ok := s.Dispatch(context.Background(), req)
			if !ok {
				t.Fatal("request not answered")
			}
			if smp.HeaderSize+len(rsp.Body) > fuzzBufSize {
				t.Fatalf("answer of %d bytes exceeds buf_size", len(rsp.Body))
			}
			var m map[string]any
			if err := smp.DecodeCBOR(rsp.Body, &m); err != nil {
				t.Fatalf("answer is not a cbor map: %v", err)
			}
			checkKeyStore(t, u)
		}
	})
}

func checkKeyStore(t *testing.T, u *Unit) {
	t.Helper()
	var lk lkState
	var serial string
	var err error
	u.View(func(st State) {
		serial = st.Identity.Serial
		lk, err = decodeLK(st.Ext[extKey])
	})
	if err != nil {
		t.Fatalf("key store: %v", err)
	}
	k, err := loadUnitKeys(lk.SignSeed, lk.KexKey)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[uint64]bool{}
	for i, s := range lk.Slots {
		if lk.Decommissioned && s.State != device.SlotWiped {
			t.Fatalf("decommissioned unit has slot %d %s", i, s.State)
		}
		if s.State != device.SlotWritten {
			continue
		}
		r := s.Receipt
		kcv, err := provision.KCV(s.Key)
		switch {
		case err != nil || !bytes.Equal(kcv, r.KCV):
			t.Fatalf("slot %d: KCV %x does not match the stored key", i, r.KCV)
		case r.Serial != serial || int(r.Slot) != i || r.KCVAlg != device.KCVCMAC:
			t.Fatalf("slot %d: receipt %+v", i, r)
		case !ed25519.Verify(k.signPub(), r.SignedBytes(), r.Sig):
			t.Fatalf("slot %d: receipt signature does not verify", i)
		case r.Counter == 0 || r.Counter > lk.Counter || seen[r.Counter]:
			t.Fatalf("slot %d: counter %d (unit %d)", i, r.Counter, lk.Counter)
		}
		seen[r.Counter] = true
	}
}

var writeSeeds = flag.Bool("write-group64-seeds", false, "rewrite testdata/fuzz/FuzzGroup64 from group64Seeds")

// group64Seeds builds the committed seed corpus: valid requests of every
// command (valid seals and a valid decommission token included, for the
// fuzz unit's fixed keys) and the usual malformed ones.
func group64Seeds(t testing.TB) map[string][3]seedReq {
	u, _ := newFuzzUnit(t)
	var id device.Identity
	info, err := NewLatchkey(LatchkeyConfig{Seed: 1, Chain: fuzzChains}).Init(u)
	if err != nil {
		t.Fatal(err)
	}
	id.Serial, id.KexKey = info.Serial, info.KexKey
	n1, n2 := bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32)
	burn := func(slot uint8, nonce, key []byte) seedReq {
		return seedReq{group64Sel(device.CmdBurn, smp.OpWrite), device.BurnRequest{Slot: slot, Job: "job-1", Nonce: nonce, Sealed: testSeal(t, id.KexKey, id.Serial, slot, "job-1", nonce, key)}}
	}
	key := bytes.Repeat([]byte{0x42}, 32)
	msg := pae("consent", []byte(`{"manager":"A. N. Other"}`))
	sum := sha256.Sum256(msg)
	notPAE := []byte("hello, sign me")
	sumNot := sha256.Sum256(notPAE)
	empty := map[string]any{}
	sel := group64Sel
	door := map[string]any{"courier": true, "hours": []any{map[string]any{"days": 31, "from": 480, "to": 1080}}, "pulse_ms": 800, "mode": "fail-safe", "tz": "UTC0"}
	return map[string][3]seedReq{
		"burn-receipt":   {burn(1, n1, key), {sel(device.CmdReceipt, smp.OpRead), map[string]any{"slot": 1}}, {sel(device.CmdSlots, smp.OpRead), empty}},
		"burn-twice":     {burn(1, n1, key), burn(1, n2, key), {sel(device.CmdReceipt, smp.OpRead), map[string]any{"slot": 1}}},
		"burn-nonce":     {burn(1, n1, key), burn(2, n1, key), {sel(device.CmdIdentity, smp.OpRead), empty}},
		"burn-bad":       {{sel(device.CmdBurn, smp.OpWrite), device.BurnRequest{Slot: 3, Job: "job-1", Nonce: n1, Sealed: []byte("not a seal")}}, burn(9, n2, key), burn(2, n2, key[:20])},
		"decommission":   {burn(0, n1, key[:16]), {sel(device.CmdDecommission, smp.OpRead), empty}, {sel(device.CmdDecommission, smp.OpWrite), map[string]any{"token": make([]byte, 16)}}},
		"decommission-x": {{sel(device.CmdDecommission, smp.OpRead), empty}, {sel(device.CmdDecommission, smp.OpWrite), map[string]any{"token": make([]byte, 16)}}, {sel(device.CmdStatus, smp.OpRead), empty}},
		"countersign":    {{sel(device.CmdCountersign, smp.OpWrite), map[string]any{"off": 0, "len": len(msg), "sha": sum[:], "data": msg}}, {sel(device.CmdCountersign, smp.OpWrite), map[string]any{"off": len(msg), "data": []byte{}}}, {sel(device.CmdStatus, smp.OpRead), empty}},
		"countersign-2":  {{sel(device.CmdCountersign, smp.OpWrite), map[string]any{"off": 0, "len": len(msg), "sha": sum[:], "data": msg[:10]}}, {sel(device.CmdCountersign, smp.OpWrite), map[string]any{"off": 10, "data": msg[10:]}}, {sel(device.CmdCountersign, smp.OpWrite), map[string]any{"off": 3, "data": msg[3:]}}},
		"countersign-no": {{sel(device.CmdCountersign, smp.OpWrite), map[string]any{"off": 0, "len": len(notPAE), "sha": sumNot[:], "data": notPAE}}, {sel(device.CmdCountersign, smp.OpWrite), map[string]any{"off": 0, "len": 1 << 20, "sha": sum[:], "data": msg}}, {sel(device.CmdCountersign, smp.OpWrite), map[string]any{"off": 0, "len": 2, "sha": sum[:], "data": msg}}},
		"door":           {{sel(device.CmdDoor, smp.OpWrite), door}, {sel(device.CmdDoor, smp.OpRead), empty}, {sel(device.CmdEvents, smp.OpRead), map[string]any{"since": 0}}},
		"door-bad":       {{sel(device.CmdDoor, smp.OpWrite), map[string]any{"courier": true, "hours": []any{}, "pulse_ms": 5, "mode": "fail-safe", "tz": "UTC0"}}, {sel(device.CmdDoor, smp.OpWrite), map[string]any{"courier": 1}}, {sel(device.CmdDoor, smp.OpRead), empty}},
		"attest":         {{sel(device.CmdAttest, smp.OpRead), map[string]any{"nonce": n1}}, {sel(device.CmdAttest, smp.OpRead) | 0x80, map[string]any{"nonce": n1}}, {sel(device.CmdCert, smp.OpRead), map[string]any{"index": 1}}},
		"selftests":      {{sel(device.CmdSelfTests, smp.OpRead), empty}, {sel(device.CmdSelfTests, smp.OpWrite), map[string]any{"relay": false}}, {sel(device.CmdSelfTests, smp.OpWrite), map[string]any{"name": "relay", "relay": false}}},
		"events":         {{sel(device.CmdEvents, smp.OpRead), map[string]any{"since": 0, "max": 2}}, {sel(device.CmdEvents, smp.OpRead), map[string]any{"since": 1 << 40}}, {sel(device.CmdCert, smp.OpRead), map[string]any{"index": 7}}},
		"wrong-types":    {{sel(device.CmdBurn, smp.OpWrite), map[string]any{"slot": "x", "job": 1, "nonce": 2, "sealed": "s"}}, {sel(device.CmdAttest, smp.OpRead), map[string]any{"nonce": 5}}, {sel(device.CmdEvents, smp.OpRead), map[string]any{"since": -1}}},
		"not-cbor":       {{sel(device.CmdIdentity, smp.OpRead), []byte{0xff, 0x00}}, {sel(device.CmdStatus, smp.OpRead), []byte{0x81, 0x01}}, {sel(device.CmdSlots, smp.OpRead), []byte{}}},
	}
}

type seedReq struct {
	sel  uint8
	body any // encoded as CBOR unless a []byte
}

func (r seedReq) bytes(t testing.TB) []byte {
	if b, ok := r.body.([]byte); ok {
		return b
	}
	b, err := smp.EncodeCBOR(r.body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestGroup64Seeds writes the committed corpus with -write-group64-seeds,
// and otherwise replays it on a fresh fuzz unit: the seeds meant to reach
// a successful burn and decommission must still do so, or the fuzzer would
// silently stop covering them (a seal opens only for the unit's keys).
func TestGroup64Seeds(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzGroup64")
	seeds := group64Seeds(t)
	if *writeSeeds {
		for name, reqs := range seeds {
			var b strings.Builder
			b.WriteString("go test fuzz v1\n")
			for _, r := range reqs {
				fmt.Fprintf(&b, "byte(%q)\n", r.sel)
			}
			for _, r := range reqs {
				fmt.Fprintf(&b, "[]byte(%q)\n", r.bytes(t))
			}
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, name), []byte(b.String()), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Which answers of a seed must be successes.
	mustSucceed := map[string][3]bool{
		"burn-receipt":  {true, true, true},
		"burn-twice":    {true, false, true},
		"decommission":  {true, true, true},
		"countersign":   {true, true, true},
		"countersign-2": {true, true, true},
		"door":          {true, true, true},
		"attest":        {true, false, true},
	}
	for name := range seeds {
		sels, bodies := readSeed(t, filepath.Join(dir, name))
		u, s := newFuzzUnit(t)
		for i := range 3 {
			tg := group64Targets[int(sels[i]&0x7f)%len(group64Targets)]
			rsp, _ := s.Dispatch(context.Background(), smp.Message{Header: smp.Header{Op: tg.op, Version: smp.Version(sels[i] >> 7), Group: device.GroupLatchkey, ID: tg.id, Length: uint16(len(bodies[i]))}, Body: bodies[i]})
			err := smp.ResponseError(rsp.Body)
			if mustSucceed[name][i] && err != nil {
				t.Errorf("seed %s, request %d: %v, want success", name, i+1, err)
			}
		}
		checkKeyStore(t, u)
		if name == "decommission" {
			u.View(func(st State) {
				if lk, _ := decodeLK(st.Ext[extKey]); !lk.Decommissioned {
					t.Error("seed decommission does not decommission")
				}
			})
		}
	}
}

// readSeed parses a corpus file of three bytes and three byte strings, as
// go test writes them.
func readSeed(t *testing.T, path string) (sels [3]uint8, bodies [3][]byte) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (write the corpus with go test -run TestGroup64Seeds -write-group64-seeds)", err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 7 || lines[0] != "go test fuzz v1" {
		t.Fatalf("%s: not a corpus file of 6 values", path)
	}
	for i := range 3 {
		v, ok := strings.CutPrefix(lines[1+i], "byte(")
		r, _, _, err := strconv.UnquoteChar(strings.TrimSuffix(strings.TrimPrefix(strings.TrimSuffix(v, ")"), "'"), "'"), '\'')
		if !ok || err != nil || r > 0xff {
			t.Fatalf("%s line %d: %q", path, i+2, lines[1+i])
		}
		sels[i] = uint8(r)
		q, ok := strings.CutPrefix(lines[4+i], "[]byte(")
		s, err := strconv.Unquote(strings.TrimSuffix(q, ")"))
		if !ok || err != nil {
			t.Fatalf("%s line %d: %q", path, i+5, lines[4+i])
		}
		bodies[i] = []byte(s)
	}
	return sels, bodies
}
