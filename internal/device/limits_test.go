package device

import (
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/smp"
)

// TestWorstCaseFitsMinBufSize backs docs/protocol.md's claim that every
// group-64 message fits a unit with MinBufSize at the documented limits:
// each value below is as large as the limits allow.
func TestWorstCaseFitsMinBufSize(t *testing.T) {
	t.Parallel()
	str := func(n int) string { return strings.Repeat("x", n) }
	b := func(n int) []byte { return make([]byte, n) }
	big := uint64(1<<64 - 1)
	rssi := int16(-200)
	slots := make([]string, MaxSlots)
	var slotList SlotList
	for i := range MaxSlots {
		slots[i] = SlotWritten
		slotList.Slots = append(slotList.Slots, Slot{Slot: uint8(i), State: SlotWritten, Job: str(MaxJob), KCV: b(MaxKCV), KCVAlg: str(16), Counter: big})
	}
	var tests SelfTestList
	var results SelfTestResults
	for range MaxSelfTests {
		tests.Tests = append(tests.Tests, SelfTest{Name: str(MaxTestName), Desc: str(MaxTestText), Relay: true})
		results.Results = append(results.Results, SelfTestResult{Name: str(MaxTestName), Result: TestSkipped, Detail: str(MaxTestText), MS: 1<<32 - 1})
	}
	door := DoorConfig{Courier: true, PulseMS: MaxPulseMS, Mode: FailSecure, TZ: str(MaxTZ)}
	for range MaxHours {
		door.Hours = append(door.Hours, AccessWindow{Days: 0x7f, From: 1439, To: 1440})
	}
	receipt := Receipt{Serial: str(MaxSerial), Slot: MaxSlots - 1, Job: str(MaxJob), Counter: big, Nonce: b(NonceSize), KCV: b(MaxKCV), KCVAlg: str(16), Sig: b(SigSize)}
	for _, tc := range []struct {
		name    string
		v       any
		request bool
	}{
		{"identity", Identity{Serial: str(MaxSerial), Model: str(MaxText), Hardware: str(MaxText), Firmware: str(MaxText), SignKey: b(KeySize), KexKey: b(KeySize), Label: str(9), State: StateDecommissioned, Slots: MaxSlots, Proto: 65535}, false},
		{"attest request", AttestRequest{Nonce: b(NonceSize)}, true},
		{"certificate", CertResponse{Index: MaxChain - 1, DER: b(MaxCertSize)}, false},
		{"status", Status{Relay: RelayOff, Tamper: true, SupplyMV: 1<<32 - 1, Modem: ModemRegistered, RSSI: &rssi, RSRP: &rssi, Uptime: big, Time: big, Slots: slots}, false},
		{"self-test list", tests, false},
		{"self-test run", RunSelfTestRequest{Name: str(MaxTestName), Relay: true}, true},
		{"self-test results", results, false},
		{"slot list", slotList, false},
		{"burn request", BurnRequest{Slot: MaxSlots - 1, Job: str(MaxJob), Nonce: b(NonceSize), Sealed: b(MaxSealed)}, true},
		{"receipt", receipt, false},
		{"one event", EventPage{Events: []Event{{Seq: big, Time: big, Up: big, Kind: str(MaxEventKind), Msg: str(MaxEventMsg)}}, Next: big, More: true}, false},
		{"door configuration", door, false},
		{"decommission token", DecommissionToken{Token: b(TokenSize), TTL: 65535}, false},
		{"decommission request", DecommissionRequest{Token: b(TokenSize), Auth: b(SigSize)}, true},
		{"decommission record", DecommissionRecord{Serial: str(MaxSerial), Token: b(TokenSize), Counter: big, Wiped: MaxSlots, Sig: b(SigSize)}, false},
	} {
		body, err := smp.EncodeCBOR(tc.v)
		if err != nil {
			t.Fatal(err)
		}
		limit := MinBufSize
		if tc.request {
			limit = MaxRequest(MinBufSize)
		}
		t.Logf("%-22s %4d bytes of CBOR", tc.name, len(body))
		if n := smp.HeaderSize + len(body); n > limit {
			t.Errorf("%s: %d-byte message at the limits, over %d", tc.name, n, limit)
		}
	}
}
