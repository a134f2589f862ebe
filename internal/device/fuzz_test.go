package device

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/latchkey/latchkey/internal/smp"
)

// Every response decoder has a fuzz target. Whatever the unit sends, a
// decoder must not panic, and what it accepts must encode and decode again
// to the same value: validation that passed once passes again, so the sim
// (which encodes these types) and the client agree on what is valid.
// Seeds live in testdata/fuzz/<FuzzName>/; `go test` runs them as ordinary
// cases. LATCHKEY_WRITE_SEEDS=1 go test -run TestWriteFuzzSeeds rewrites the
// valid-answer seeds from seedBodies.

func fuzzDecoder[T any](f *testing.F, decode func([]byte) (T, error)) {
	f.Fuzz(func(t *testing.T, body []byte) {
		v, err := decode(body)
		if err != nil {
			return
		}
		again, err := smp.EncodeCBOR(v)
		if err != nil {
			t.Fatalf("accepted value does not encode: %v", err)
		}
		v2, err := decode(again)
		if err != nil {
			t.Fatalf("accepted %+v, but not its re-encoding: %v", v, err)
		}
		third, err := smp.EncodeCBOR(v2)
		if err != nil || !bytes.Equal(again, third) {
			t.Fatalf("round trip changed the value:\n%x\n%x", again, third)
		}
	})
}

func FuzzDecodeIdentity(f *testing.F) { fuzzDecoder(f, decodeIdentity) }
func FuzzDecodeAttest(f *testing.F)   { fuzzDecoder(f, decodeAttest) }
func FuzzDecodeStatus(f *testing.F)   { fuzzDecoder(f, decodeStatus) }
func FuzzDecodeReceipt(f *testing.F)  { fuzzDecoder(f, decodeReceipt) }
func FuzzDecodeCountersign(f *testing.F) {
	fuzzDecoder(f, decodeCountersign)
}
func FuzzDecodeDoor(f *testing.F) { fuzzDecoder(f, decodeDoor) }
func FuzzDecodeDecommissionToken(f *testing.F) {
	fuzzDecoder(f, decodeDecommissionToken)
}
func FuzzDecodeDecommissionRecord(f *testing.F) {
	fuzzDecoder(f, decodeDecommissionRecord)
}
func FuzzDecodeUpload(f *testing.F)     { fuzzDecoder(f, decodeUpload) }
func FuzzDecodeStatsGroup(f *testing.F) { fuzzDecoder(f, decodeStatsGroup) }
func FuzzDecodeEvents(f *testing.F) {
	fuzzDecoder(f, func(b []byte) (EventPage, error) { return decodeEvents(b, 0) })
}

func FuzzDecodeSelfTests(f *testing.F) {
	fuzzDecoder(f, func(b []byte) (SelfTestList, error) {
		t, err := decodeSelfTests(b)
		return SelfTestList{Tests: t}, err
	})
}

func FuzzDecodeSelfTestResults(f *testing.F) {
	fuzzDecoder(f, func(b []byte) (SelfTestResults, error) {
		r, err := decodeSelfTestResults(b)
		return SelfTestResults{Results: r}, err
	})
}

func FuzzDecodeSlots(f *testing.F) {
	fuzzDecoder(f, func(b []byte) (SlotList, error) {
		s, err := decodeSlots(b)
		return SlotList{Slots: s}, err
	})
}

func FuzzDecodeImageState(f *testing.F) {
	fuzzDecoder(f, func(b []byte) (ImageState, error) {
		s, err := decodeImageState(b)
		return ImageState{Images: s}, err
	})
}

func FuzzDecodeCert(f *testing.F) {
	fuzzDecoder(f, func(b []byte) (CertResponse, error) {
		d, err := decodeCert(b, 0)
		return CertResponse{DER: d}, err
	})
}

func FuzzDecodeOSInfo(f *testing.F) {
	fuzzDecoder(f, func(b []byte) (OSInfoResponse, error) {
		s, err := decodeOSInfo(b)
		return OSInfoResponse{Output: s}, err
	})
}

func FuzzDecodeDateTime(f *testing.F) {
	fuzzDecoder(f, func(b []byte) (DateTime, error) {
		s, err := decodeDateTime(b)
		return DateTime{DateTime: s}, err
	})
}

func FuzzDecodeStatsList(f *testing.F) {
	fuzzDecoder(f, func(b []byte) (StatsListResponse, error) {
		l, err := decodeStatsList(b)
		return StatsListResponse{List: l}, err
	})
}

func FuzzDecodeSettingsRead(f *testing.F) { fuzzDecoder(f, decodeSettingsRead) }

// FuzzParseImage checks the MCUboot parser, which reads offsets and lengths
// from the file, on arbitrary input.
func FuzzParseImage(f *testing.F) {
	f.Fuzz(func(t *testing.T, img []byte) {
		info, err := ParseImage(img)
		if err == nil && (len(info.Hash) != 32 || info.Size > len(img)) {
			t.Fatalf("accepted image with info %+v", info)
		}
	})
}

// FuzzCheckPAE checks the countersign gate, which the unit runs on bytes
// from the laptop.
func FuzzCheckPAE(f *testing.F) {
	f.Fuzz(func(t *testing.T, msg []byte) {
		if CheckPAE(msg) == nil && !bytes.HasPrefix(msg, []byte(DSSEPrefix)) {
			t.Fatal("accepted a message without the DSSE prefix")
		}
	})
}

// seedBodies are valid answers, one or more per fuzz target, written as the
// committed seed corpus together with the hand-made malformed seeds.
func seedBodies(t *testing.T) map[string][][]byte {
	enc := func(v any) []byte {
		b, err := smp.EncodeCBOR(v)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	key := bytes.Repeat([]byte{7}, 32)
	sig := bytes.Repeat([]byte{9}, 64)
	rssi := int16(-80)
	img := testImage(t, 64)
	return map[string][][]byte{
		"FuzzDecodeIdentity": {enc(Identity{Serial: "LK1-000042", Model: "LK1", Hardware: "B", Firmware: "1.4.2", SignKey: key, KexKey: key, Label: LabelCode(key), State: StateNew, Slots: 4, Proto: 1})},
		"FuzzDecodeAttest":   {enc(AttestResponse{Sig: sig, Chain: [][]byte{{0x30, 0x03, 0x02, 0x01, 0x01}}, Count: 2})},
		"FuzzDecodeStatus":   {enc(Status{Relay: RelayOff, SupplyMV: 12000, Modem: ModemRegistered, RSSI: &rssi, RSRP: &rssi, Uptime: 5, Slots: []string{SlotEmpty, SlotWritten}})},
		"FuzzDecodeReceipt":  {enc(Receipt{Serial: "LK1-000042", Slot: 1, Job: "job-1", Counter: 3, Nonce: key, KCV: []byte{1, 2, 3}, KCVAlg: KCVCMAC, Sig: sig})},
		"FuzzDecodeCountersign": {
			enc(CountersignResponse{Off: 1860}),
			enc(CountersignResponse{Off: 4000, Sig: sig}),
		},
		"FuzzDecodeDoor":               {enc(DoorConfig{Courier: true, Hours: []AccessWindow{{Days: 0x1f, From: 480, To: 1080}}, PulseMS: 500, Mode: FailSecure, TZ: "UTC0"})},
		"FuzzDecodeDecommissionToken":  {enc(DecommissionToken{Token: key[:16], TTL: 60})},
		"FuzzDecodeDecommissionRecord": {enc(DecommissionRecord{Serial: "LK1-000042", Token: key[:16], Counter: 9, Wiped: 2, Sig: sig})},
		"FuzzDecodeUpload":             {enc(ImageUploadResponse{Off: 1024}), {0xa2, 0x63, 'o', 'f', 'f', 0x19, 0x10, 0x00, 0x65, 'm', 'a', 't', 'c', 'h', 0xf5}},
		"FuzzDecodeStatsGroup":         {enc(StatsGroup{Name: "door", Fields: map[string]uint64{"opens": 1}})},
		"FuzzDecodeEvents":             {enc(EventPage{Events: []Event{{Seq: 1, Time: 1, Up: 1, Kind: "boot"}, {Seq: 2, Kind: "door.open", Msg: "courier"}}, Next: 3, More: true})},
		"FuzzDecodeSelfTests":          {enc(SelfTestList{Tests: []SelfTest{{Name: "relay", Desc: "pulse", Relay: true}}})},
		"FuzzDecodeSelfTestResults":    {enc(SelfTestResults{Results: []SelfTestResult{{Name: "tamper", Result: TestPass, MS: 3}}})},
		"FuzzDecodeSlots":              {enc(SlotList{Slots: []Slot{{Slot: 0, State: SlotEmpty}, {Slot: 1, State: SlotWritten, Job: "j", KCV: []byte{1, 2, 3}, KCVAlg: KCVCMAC, Counter: 1}}})},
		"FuzzDecodeImageState":         {enc(ImageState{Images: []ImageSlot{{Slot: 0, Version: "1.0.0", Hash: key, Active: true, Confirmed: true}}})},
		"FuzzDecodeCert":               {enc(CertResponse{Index: 0, DER: []byte{0x30, 0x00}})},
		"FuzzDecodeOSInfo":             {enc(OSInfoResponse{Output: "Zephyr"})},
		"FuzzDecodeDateTime":           {enc(DateTime{DateTime: "2026-01-01T00:00:00"})},
		"FuzzDecodeStatsList":          {enc(StatsListResponse{List: []string{"smp"}})},
		"FuzzDecodeSettingsRead":       {enc(SettingsReadResponse{Val: []byte{1}})},
		"FuzzParseImage":               {img},
		"FuzzCheckPAE":                 {pae("consent", []byte(`{"a":1}`)), []byte("DSSEv1 99999999 x")},
	}
}

// malformed seeds every decoder gets: not a map, a wrong type, deep
// nesting, an indefinite-length map, a huge announced length.
var malformed = [][]byte{
	{},
	{0x83, 0x01, 0x02, 0x03},
	{0xa1, 0x66, 's', 'e', 'r', 'i', 'a', 'l', 0x18, 0x2a},
	bytes.Repeat([]byte{0x81}, 40),
	{0xbf, 0x63, 'o', 'f', 'f', 0x01, 0xff},
	{0xa1, 0x64, 'd', 'a', 't', 'a', 0x5b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
	{0xa1, 0x62, 'r', 'c', 0x08},
}

func TestWriteFuzzSeeds(t *testing.T) {
	if os.Getenv("LATCHKEY_WRITE_SEEDS") == "" {
		t.Skip("set LATCHKEY_WRITE_SEEDS=1 to rewrite testdata/fuzz seeds")
	}
	for name, bodies := range seedBodies(t) {
		dir := filepath.Join("testdata", "fuzz", name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		all := append(append([][]byte{}, bodies...), malformed...)
		for i, b := range all {
			kind := "valid"
			if i >= len(bodies) {
				kind = "malformed"
			}
			p := filepath.Join(dir, fmt.Sprintf("%s_%d", kind, i))
			if err := os.WriteFile(p, fmt.Appendf(nil, "go test fuzz v1\n[]byte(%q)\n", b), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// TestFuzzSeedsAccepted checks that the valid seeds really are valid, so the
// corpus exercises the accepting paths and not only the rejecting ones.
func TestFuzzSeedsAccepted(t *testing.T) {
	t.Parallel()
	decoders := map[string]func([]byte) error{
		"FuzzDecodeIdentity":           func(b []byte) error { _, err := decodeIdentity(b); return err },
		"FuzzDecodeAttest":             func(b []byte) error { _, err := decodeAttest(b); return err },
		"FuzzDecodeStatus":             func(b []byte) error { _, err := decodeStatus(b); return err },
		"FuzzDecodeReceipt":            func(b []byte) error { _, err := decodeReceipt(b); return err },
		"FuzzDecodeCountersign":        func(b []byte) error { _, err := decodeCountersign(b); return err },
		"FuzzDecodeDoor":               func(b []byte) error { _, err := decodeDoor(b); return err },
		"FuzzDecodeDecommissionToken":  func(b []byte) error { _, err := decodeDecommissionToken(b); return err },
		"FuzzDecodeDecommissionRecord": func(b []byte) error { _, err := decodeDecommissionRecord(b); return err },
		"FuzzDecodeUpload":             func(b []byte) error { _, err := decodeUpload(b); return err },
		"FuzzDecodeStatsGroup":         func(b []byte) error { _, err := decodeStatsGroup(b); return err },
		"FuzzDecodeEvents":             func(b []byte) error { _, err := decodeEvents(b, 0); return err },
		"FuzzDecodeSelfTests":          func(b []byte) error { _, err := decodeSelfTests(b); return err },
		"FuzzDecodeSelfTestResults":    func(b []byte) error { _, err := decodeSelfTestResults(b); return err },
		"FuzzDecodeSlots":              func(b []byte) error { _, err := decodeSlots(b); return err },
		"FuzzDecodeImageState":         func(b []byte) error { _, err := decodeImageState(b); return err },
		"FuzzDecodeCert":               func(b []byte) error { _, err := decodeCert(b, 0); return err },
		"FuzzDecodeOSInfo":             func(b []byte) error { _, err := decodeOSInfo(b); return err },
		"FuzzDecodeDateTime":           func(b []byte) error { _, err := decodeDateTime(b); return err },
		"FuzzDecodeStatsList":          func(b []byte) error { _, err := decodeStatsList(b); return err },
		"FuzzDecodeSettingsRead":       func(b []byte) error { _, err := decodeSettingsRead(b); return err },
		"FuzzParseImage":               func(b []byte) error { _, err := ParseImage(b); return err },
		"FuzzCheckPAE":                 CheckPAE,
	}
	for name, bodies := range seedBodies(t) {
		dec, ok := decoders[name]
		if !ok {
			t.Errorf("no decoder listed for %s", name)
			continue
		}
		if err := dec(bodies[0]); err != nil {
			t.Errorf("%s: first seed rejected: %v", name, err)
		}
		if _, err := os.Stat(filepath.Join("testdata", "fuzz", name)); err != nil {
			t.Errorf("%s: no committed seed corpus: %v", name, err)
		}
	}
}
