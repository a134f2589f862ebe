package survey

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestSampleIsGo(t *testing.T) {
	t.Parallel()
	v := Evaluate(sample())
	if v.Outcome != Go || len(v.Reasons) != 0 || len(v.Conditions) != 0 || v.Err() != nil {
		t.Fatalf("sample verdict %+v, want a plain go", v)
	}
}

// TestRules makes each rule fire, and shows a near case where it does not.
func TestRules(t *testing.T) {
	t.Parallel()
	maglock := func(fs, fa bool) func(*Survey) {
		return func(s *Survey) {
			e := &s.Entrances[0]
			e.Hardware, e.Egress, e.FailSafeWiring, e.FireAlarmRelease = HardwareMaglock, true, fs, fa
		}
	}
	rssi := func(v int) func(*Survey) { return func(s *Survey) { s.Signal.RSSIDBm = &v } }
	tests := []struct {
		name    string
		change  func(*Survey)
		rule    string // "" when no rule should fire
		outcome Outcome
		message string
	}{
		{"maglock egress no wiring", maglock(false, false), "maglock-egress-unsafe", NoGo, "lobby: a maglock on an exit route must be wired fail-safe and released by the fire alarm; missing: fail-safe wiring and fire-alarm release"},
		{"maglock egress no fire release", maglock(true, false), "maglock-egress-unsafe", NoGo, "missing: fire-alarm release"},
		{"maglock egress not fail-safe", maglock(false, true), "maglock-egress-unsafe", NoGo, "missing: fail-safe wiring"},
		{"maglock egress both", maglock(true, true), "maglock-egress", GoWithConditions, "lobby: fire-alarm release must be tested with the building's fire contractor"},
		{"maglock not egress", func(s *Survey) { s.Entrances[0].Hardware = HardwareMaglock }, "", Go, ""},
		{"no electric lock", func(s *Survey) { s.Entrances[1].Hardware, s.Entrances[1].ReleaseVoltage = HardwareNone, "" }, "no-electric-lock", NoGo, "garage: no electric lock"},
		{"no power", func(s *Survey) { s.Power = Power{Source: PowerNone} }, "no-power", NoGo, "no power source"},
		{"mains out of reach", func(s *Survey) { s.Power.DistanceM = 10.5 }, "power-out-of-reach", NoGo, "mains power is 10.5 m from the mount point; at most 10 m is within reach"},
		{"mains at the limit", func(s *Survey) { s.Power.DistanceM = 10 }, "", Go, ""},
		{"intercom supply out of reach", func(s *Survey) { s.Power = Power{Source: PowerIntercom, DistanceM: 12} }, "power-out-of-reach", NoGo, "intercom power is 12 m"},
		{"poe far but in reach", func(s *Survey) { s.Power = Power{Source: PowerPoE, DistanceM: 90} }, "", Go, ""},
		{"poe out of reach", func(s *Survey) { s.Power = Power{Source: PowerPoE, DistanceM: 101} }, "power-out-of-reach", NoGo, "at most 100 m"},
		{"battery distance does not count", func(s *Survey) { s.Power = Power{Source: PowerBattery, DistanceM: 50} }, "", Go, ""},
		{"no network", func(s *Survey) { s.Signal.RSSIDBm = nil }, "no-network", NoGo, "found no cellular network"},
		{"signal too weak", rssi(-106), "signal-too-weak", NoGo, "signal -106 dBm at the mount point is below -105 dBm"},
		{"signal at the floor is marginal", rssi(-105), "signal-marginal", GoWithConditions, "signal -105 dBm at the mount point is marginal: fit an external antenna"},
		{"signal marginal", rssi(-96), "signal-marginal", GoWithConditions, "external antenna"},
		{"signal good at the edge", rssi(-95), "", Go, ""},
		{"signal pending", func(s *Survey) { s.Signal = nil }, "signal-pending", PendingSignal, "pair the unit at the mount point"},
		{"fail-secure strike on egress", func(s *Survey) { s.Entrances[0].Egress = true }, "strike-fail-secure-egress", GoWithConditions, "lobby: fail-secure strike on an exit route"},
		{"fail-safe strike on egress", func(s *Survey) { s.Entrances[0].Egress, s.Entrances[0].Hardware = true, HardwareStrikeFailSafe }, "", Go, ""},
		{"motor lock without release wiring", func(s *Survey) { s.Entrances[1].Intercom.ReleaseWired = false }, "motor-lock-release", GoWithConditions, "garage: motor lock with no release wiring"},
		{"hazards", func(s *Survey) { s.Hazards = []string{"asbestos in ceiling void", "live 230 V in riser"} }, "hazards", GoWithConditions, "hazards: asbestos in ceiling void; live 230 V in riser"},
		{"outdoor mount", func(s *Survey) { s.Mount.Indoor = false }, "outdoor-mount", GoWithConditions, "weatherproof"},
	}
	fired := map[string]bool{}
	for _, tt := range tests {
		if tt.rule != "" {
			fired[tt.rule] = true
		}
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := sample()
			tt.change(&s)
			if ps := Validate(s, sampleDoors); len(ps) > 0 {
				t.Fatalf("case is not a valid survey: %v", ps)
			}
			v := Evaluate(s)
			if v.Outcome != tt.outcome {
				t.Errorf("outcome %s, want %s (%+v)", v.Outcome, tt.outcome, v.Reasons)
			}
			if tt.rule == "" {
				if len(v.Reasons) > 0 {
					t.Errorf("reasons %+v, want none", v.Reasons)
				}
				return
			}
			if len(v.Reasons) != 1 || v.Reasons[0].Rule != tt.rule || !strings.Contains(v.Reasons[0].Message, tt.message) {
				t.Fatalf("reasons %+v, want one by %s saying %q", v.Reasons, tt.rule, tt.message)
			}
			r := v.Reasons[0]
			if want := ruleByID(t, tt.rule).Severity; r.Severity != want {
				t.Errorf("severity %s, want %s", r.Severity, want)
			}
			if r.Severity == SeverityCondition && !slices.Equal(v.Conditions, []string{r.Message}) {
				t.Errorf("conditions %q, want the reason's message", v.Conditions)
			}
			if r.Severity != SeverityCondition && len(v.Conditions) != 0 {
				t.Errorf("conditions %q, want none", v.Conditions)
			}
		})
	}
	for _, r := range Rules() {
		if !fired[r.ID] {
			t.Errorf("rule %s has no case that fires it", r.ID)
		}
	}
}

func ruleByID(t *testing.T, id string) Rule {
	t.Helper()
	for _, r := range Rules() {
		if r.ID == id {
			return r
		}
	}
	t.Fatalf("no rule %s", id)
	return Rule{}
}

func TestRuleTable(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for _, r := range Rules() {
		if seen[r.ID] || r.ID == "" || r.Summary == "" || (r.site == nil) == (r.door == nil) || r.Severity.rank() == 0 {
			t.Errorf("bad rule %+v", r)
		}
		seen[r.ID] = true
	}
}

// TestPrecedence: no-go beats pending, pending beats conditions, and
// every reason is kept, most severe first.
func TestPrecedence(t *testing.T) {
	t.Parallel()
	pending := func(s *Survey) { s.Signal = nil }
	noGo := func(s *Survey) { s.Power.Source = PowerNone }
	condition := func(s *Survey) { s.Mount.Indoor = false }
	tests := []struct {
		name    string
		changes []func(*Survey)
		want    Outcome
		rules   []string
	}{
		{"all three", []func(*Survey){condition, pending, noGo}, NoGo, []string{"no-power", "signal-pending", "outdoor-mount"}},
		{"pending and condition", []func(*Survey){condition, pending}, PendingSignal, []string{"signal-pending", "outdoor-mount"}},
		{"no-go and condition", []func(*Survey){condition, noGo}, NoGo, []string{"no-power", "outdoor-mount"}},
		{"no-go and pending", []func(*Survey){pending, noGo}, NoGo, []string{"no-power", "signal-pending"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := sample()
			for _, c := range tt.changes {
				c(&s)
			}
			v := Evaluate(s)
			var got []string
			for _, r := range v.Reasons {
				got = append(got, r.Rule)
			}
			if v.Outcome != tt.want || !slices.Equal(got, tt.rules) {
				t.Errorf("verdict %s %q, want %s %q", v.Outcome, got, tt.want, tt.rules)
			}
			if want := slices.Contains(tt.rules, "outdoor-mount"); (len(v.Conditions) == 1) != want {
				t.Errorf("conditions %q, want the outdoor one: %v", v.Conditions, want)
			}
		})
	}
}

func TestVerdictErr(t *testing.T) {
	t.Parallel()
	s := sample()
	s.Mount.Indoor = false
	if err := Evaluate(s).Err(); err != nil {
		t.Errorf("go with conditions: %v", err)
	}
	s.Signal = nil
	if err := Evaluate(s).Err(); !errors.Is(err, ErrPendingSignal) || !strings.Contains(err.Error(), "pair the unit") {
		t.Errorf("pending: %v", err)
	}
	s.Power.DistanceM = 30
	err := Evaluate(s).Err()
	if !errors.Is(err, ErrNoGo) || !strings.Contains(err.Error(), "30 m") || strings.Contains(err.Error(), "weatherproof") {
		t.Errorf("no-go: %v", err)
	}
}

// TestWithSignal is what pairing does: a pending survey gets its reading
// and the verdict moves on; the original is untouched.
func TestWithSignal(t *testing.T) {
	t.Parallel()
	s := sample()
	s.Signal = nil
	if v := Evaluate(s); v.Outcome != PendingSignal {
		t.Fatalf("before pairing %s", v.Outcome)
	}
	g := *sample().Signal
	paired := WithSignal(s, g)
	if v := Evaluate(paired); v.Outcome != Go {
		t.Errorf("after pairing %s %+v", v.Outcome, v.Reasons)
	}
	if s.Signal != nil {
		t.Error("WithSignal changed its argument")
	}
	*g.RSSIDBm = -120
	if *paired.Signal.RSSIDBm != -71 {
		t.Error("WithSignal kept the caller's pointer")
	}
	weak := WithSignal(s, g)
	if v := Evaluate(weak); v.Outcome != NoGo {
		t.Errorf("weak signal %s", v.Outcome)
	}
}
