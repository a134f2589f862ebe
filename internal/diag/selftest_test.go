package diag

import (
	"errors"
	"testing"

	"github.com/latchkey/latchkey/internal/device"
)

func TestPlanSelfTests(t *testing.T) {
	t.Parallel()
	tests := []device.SelfTest{{Name: "tamper"}, {Name: "supply"}, {Name: "relay", Relay: true}}
	cases := []struct {
		name    string
		test    string
		relay   bool
		run     int
		pulses  bool
		wantErr error
	}{
		{"all without relay", "", false, 2, false, nil},
		{"all with relay", "", true, 3, true, nil},
		{"one", "supply", false, 1, false, nil},
		{"one with relay flag", "supply", true, 1, false, nil},
		{"relay by name", "relay", true, 1, true, nil},
		{"relay by name without flag", "relay", false, 0, false, ErrRelayNeedsFlag},
		{"unknown", "flux", true, 0, false, ErrUnknownTest},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, err := PlanSelfTests(tests, tt.test, tt.relay)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err %v, want %v", err, tt.wantErr)
			}
			if len(p.Run) != tt.run || p.PulsesRelay != tt.pulses {
				t.Errorf("plan %+v, want %d tests, pulses %v", p, tt.run, tt.pulses)
			}
		})
	}
}

func TestSummarise(t *testing.T) {
	t.Parallel()
	tests := []device.SelfTest{{Name: "tamper"}, {Name: "relay", Relay: true}}
	s := Summarise([]device.SelfTestResult{{Name: "tamper", Result: "pass"}, {Name: "relay", Result: "skipped"}, {Name: "x", Result: "fail"}}, tests)
	if s != (SelfTestSummary{Passed: 1, Failed: 1, Skipped: 1, RelaySkipped: true}) {
		t.Errorf("summary %+v", s)
	}
}

func TestFormatting(t *testing.T) {
	t.Parallel()
	i := func(v int) *int { return &v }
	tests := []struct{ got, want string }{
		{Uptime(0), "0s"},
		{Uptime(65), "1m 5s"},
		{Uptime(3725), "1h 2m 5s"},
		{Uptime(90061), "1d 1h 1m"},
		{Supply(12040), "12.04 V"},
		{Supply(9005), "9.00 V"},
		{Signal(Status{}), ""},
		{Signal(Status{RSSI: i(-60)}), "excellent"},
		{Signal(Status{RSSI: i(-101)}), "poor"},
		{Signal(Status{RSSI: i(-60), RSRP: i(-95)}), "fair"}, // RSRP wins
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
	if SupplyOK(9999) || !SupplyOK(10000) || !SupplyOK(28000) || SupplyOK(28001) {
		t.Error("SupplyOK bounds are 10-28 V")
	}
}
