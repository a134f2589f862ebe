package diag

import (
	"errors"
	"fmt"
	"strings"

	"github.com/latchkey/latchkey/internal/device"
)

// ErrRelayNeedsFlag is returned by PlanSelfTests for a relay test asked for
// by name without the relay flag.
var ErrRelayNeedsFlag = errors.New("opens the door, so it runs only with --relay")

// ErrUnknownTest is returned by PlanSelfTests for a name the unit lacks.
var ErrUnknownTest = errors.New("the unit has no self-test of that name")

// SelfTestPlan is what a `diag selftest` run will do.
type SelfTestPlan struct {
	// Name is the test to run, "" for all.
	Name string
	// Relay is sent to the unit: relay tests may run.
	Relay bool
	// PulsesRelay is true when a test that opens the door will run, so the
	// person must agree first.
	PulsesRelay bool
	// Run lists the tests that will run, in the unit's order; relay tests
	// without Relay are not in it (the unit reports them skipped).
	Run []device.SelfTest
}

// PlanSelfTests decides what running name ("" for all) with relay does on a
// unit offering tests. A relay test runs only with relay: named without it,
// it is refused with ErrRelayNeedsFlag; in a run of all tests it is skipped.
func PlanSelfTests(tests []device.SelfTest, name string, relay bool) (SelfTestPlan, error) {
	p := SelfTestPlan{Name: name, Relay: relay}
	found := false
	for _, t := range tests {
		if name != "" && t.Name != name {
			continue
		}
		found = true
		if t.Relay && !relay {
			if name != "" {
				return SelfTestPlan{}, fmt.Errorf("self-test %q %w", name, ErrRelayNeedsFlag)
			}
			continue
		}
		p.PulsesRelay = p.PulsesRelay || t.Relay
		p.Run = append(p.Run, t)
	}
	if name != "" && !found {
		var names []string
		for _, t := range tests {
			names = append(names, t.Name)
		}
		return SelfTestPlan{}, fmt.Errorf("self-test %q: %w (it has: %s)", name, ErrUnknownTest, strings.Join(names, ", "))
	}
	return p, nil
}

// SelfTestSummary counts results by outcome.
type SelfTestSummary struct {
	Passed, Failed, Skipped int
	// RelaySkipped is true when a relay test was skipped for want of the
	// relay flag.
	RelaySkipped bool
}

// Summarise counts the results of a run.
func Summarise(results []device.SelfTestResult, tests []device.SelfTest) SelfTestSummary {
	relay := map[string]bool{}
	for _, t := range tests {
		relay[t.Name] = t.Relay
	}
	var s SelfTestSummary
	for _, r := range results {
		switch r.Result {
		case device.TestPass:
			s.Passed++
		case device.TestSkipped:
			s.Skipped++
			s.RelaySkipped = s.RelaySkipped || relay[r.Name]
		default:
			s.Failed++
		}
	}
	return s
}

// TestResult is one self-test outcome in its stable JSON form.
type TestResult struct {
	Name   string `json:"name"`
	Result string `json:"result"`
	Detail string `json:"detail,omitempty"`
	MS     uint32 `json:"ms"`
}

// Results converts the unit's results to their JSON form.
func Results(rs []device.SelfTestResult) []TestResult {
	out := make([]TestResult, 0, len(rs))
	for _, r := range rs {
		out = append(out, TestResult{Name: r.Name, Result: r.Result, Detail: r.Detail, MS: r.MS})
	}
	return out
}
