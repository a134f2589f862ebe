package survey

import (
	"errors"
	"fmt"
	"strings"
)

// Thresholds of the feasibility rules. docs/survey.md gives the same table.
const (
	// MaxLowVoltageRunM is the longest cable run from a mains adapter or
	// the intercom's supply to the unit: beyond it, the drop on the thin
	// low-voltage cable fitted in intercom risers browns the unit out when
	// its modem transmits.
	MaxLowVoltageRunM = 10
	// MaxPoERunM is the longest PoE run: the 100 m Ethernet channel of
	// IEEE 802.3.
	MaxPoERunM = 100
	// MinRSSIDBm is the weakest usable signal at the mount point: below it
	// the unit's modem loses the network (no-go).
	MinRSSIDBm = -105
	// MarginalRSSIDBm is the signal below which (down to MinRSSIDBm) the
	// unit needs an external antenna to stay registered.
	MarginalRSSIDBm = -95
)

// Outcome is the feasibility verdict of a survey.
type Outcome string

// The outcomes, from best to worst: Go is feasible as surveyed,
// GoWithConditions is feasible once the conditions are met, PendingSignal
// waits for the paired unit's signal reading, NoGo is not feasible.
const (
	Go               Outcome = "go"
	GoWithConditions Outcome = "go-with-conditions"
	PendingSignal    Outcome = "pending-signal"
	NoGo             Outcome = "no-go"
)

// Severity is what a fired rule does to the verdict.
type Severity string

// The severities, from least to most severe. A condition is work to do or
// check on site; pending waits for a measurement; no-go stops the install.
const (
	SeverityCondition Severity = "condition"
	SeverityPending   Severity = "pending"
	SeverityNoGo      Severity = "no-go"
)

func (s Severity) rank() int {
	switch s {
	case SeverityNoGo:
		return 3
	case SeverityPending:
		return 2
	}
	return 1
}

// Verdict is the result of Evaluate: the outcome, the reasons for it (each
// rule that fired, most severe first) and the conditions to meet (the
// messages of the condition reasons).
type Verdict struct {
	Outcome    Outcome  `json:"outcome"`
	Reasons    []Reason `json:"reasons"`
	Conditions []string `json:"conditions"`
}

// Reason is one rule that fired. Entrance names the entrance it fired on,
// for rules about one door.
type Reason struct {
	Rule     string   `json:"rule"`
	Severity Severity `json:"severity"`
	Entrance string   `json:"entrance,omitempty"`
	Message  string   `json:"message"`
}

// Rule is one feasibility rule: an id that reasons and docs cite, its
// severity, and a one-line summary for docs and help.
type Rule struct {
	ID       string
	Severity Severity
	Summary  string
	// site checks the survey as a whole; door checks one entrance. Each
	// returns the messages of its findings, none when it does not fire.
	site func(Survey) []string
	door func(Entrance) []string
}

// rules is the rule table, in the order reasons of equal severity are
// listed. Adding a rule means a row here, a row in docs/survey.md and a
// case in TestRules.
var rules = []Rule{
	{
		ID: "maglock-egress-unsafe", Severity: SeverityNoGo,
		Summary: "a maglock on an egress door without both fail-safe wiring and fire-alarm release",
		door: func(e Entrance) []string {
			if e.Hardware != HardwareMaglock || !e.Egress || (e.FailSafeWiring && e.FireAlarmRelease) {
				return nil
			}
			var missing []string
			if !e.FailSafeWiring {
				missing = append(missing, "fail-safe wiring")
			}
			if !e.FireAlarmRelease {
				missing = append(missing, "fire-alarm release")
			}
			return msg("a maglock on an exit route must be wired fail-safe and released by the fire alarm; missing: %s", strings.Join(missing, " and "))
		},
	},
	{
		ID: "no-electric-lock", Severity: SeverityNoGo,
		Summary: "an entrance with no electric lock for the unit to release",
		door: func(e Entrance) []string {
			if e.Hardware != HardwareNone {
				return nil
			}
			return msg("no electric lock for the unit to release: fit one, then survey the door again")
		},
	},
	{
		ID: "no-power", Severity: SeverityNoGo,
		Summary: "no power source for the unit",
		site: func(s Survey) []string {
			if s.Power.Source != PowerNone {
				return nil
			}
			return msg("no power source for the unit near the mount point")
		},
	},
	{
		ID: "power-out-of-reach", Severity: SeverityNoGo,
		Summary: fmt.Sprintf("power further than %d m (mains, intercom) or %d m (PoE) from the mount point", MaxLowVoltageRunM, MaxPoERunM),
		site: func(s Survey) []string {
			limit, ok := reach(s.Power.Source)
			if !ok || s.Power.DistanceM <= limit {
				return nil
			}
			return msg("%s power is %g m from the mount point; at most %g m is within reach", s.Power.Source, s.Power.DistanceM, limit)
		},
	},
	{
		ID: "no-network", Severity: SeverityNoGo,
		Summary: "the paired unit found no cellular network at the mount point",
		site: func(s Survey) []string {
			if s.Signal == nil || s.Signal.RSSIDBm != nil {
				return nil
			}
			return msg("the unit found no cellular network at the mount point: choose another mount point")
		},
	},
	{
		ID: "signal-too-weak", Severity: SeverityNoGo,
		Summary: fmt.Sprintf("signal at the mount point below %d dBm", MinRSSIDBm),
		site: func(s Survey) []string {
			if s.Signal == nil || s.Signal.RSSIDBm == nil || *s.Signal.RSSIDBm >= MinRSSIDBm {
				return nil
			}
			return msg("signal %d dBm at the mount point is below %d dBm: choose another mount point", *s.Signal.RSSIDBm, MinRSSIDBm)
		},
	},
	{
		ID: "signal-pending", Severity: SeverityPending,
		Summary: "cellular signal not yet measured by the paired unit",
		site: func(s Survey) []string {
			if s.Signal != nil {
				return nil
			}
			return msg("cellular signal not measured yet: pair the unit at the mount point")
		},
	},
	{
		ID: "signal-marginal", Severity: SeverityCondition,
		Summary: fmt.Sprintf("signal from %d dBm to below %d dBm", MinRSSIDBm, MarginalRSSIDBm),
		site: func(s Survey) []string {
			if s.Signal == nil || s.Signal.RSSIDBm == nil {
				return nil
			}
			if r := *s.Signal.RSSIDBm; r < MinRSSIDBm || r >= MarginalRSSIDBm {
				return nil
			}
			return msg("signal %d dBm at the mount point is marginal: fit an external antenna", *s.Signal.RSSIDBm)
		},
	},
	{
		ID: "maglock-egress", Severity: SeverityCondition,
		Summary: "a maglock on an egress door, wired fail-safe with fire-alarm release",
		door: func(e Entrance) []string {
			if e.Hardware != HardwareMaglock || !e.Egress || !e.FailSafeWiring || !e.FireAlarmRelease {
				return nil
			}
			return msg("fire-alarm release must be tested with the building's fire contractor")
		},
	},
	{
		ID: "strike-fail-secure-egress", Severity: SeverityCondition,
		Summary: "a fail-secure strike on an egress door",
		door: func(e Entrance) []string {
			if e.Hardware != HardwareStrikeFailSecure || !e.Egress {
				return nil
			}
			return msg("fail-secure strike on an exit route: check the inside handle opens the door at all times, with power or without")
		},
	},
	{
		ID: "motor-lock-release", Severity: SeverityCondition,
		Summary: "a motor lock without release wiring from the intercom",
		door: func(e Entrance) []string {
			if e.Hardware != HardwareMotorLock || e.Intercom.ReleaseWired {
				return nil
			}
			return msg("motor lock with no release wiring from the intercom: run a release pair from the lock's controller to the unit")
		},
	},
	{
		ID: "hazards", Severity: SeverityCondition,
		Summary: "hazards recorded on site",
		site: func(s Survey) []string {
			if len(s.Hazards) == 0 {
				return nil
			}
			return msg("plan the work around the site's hazards: %s", strings.Join(s.Hazards, "; "))
		},
	},
	{
		ID: "outdoor-mount", Severity: SeverityCondition,
		Summary: "the unit mounted outdoors",
		site: func(s Survey) []string {
			if s.Mount.Indoor {
				return nil
			}
			return msg("outdoor mount: fit the unit in a weatherproof (IP65 or better) enclosure")
		},
	},
}

func msg(format string, args ...any) []string { return []string{fmt.Sprintf(format, args...)} }

// reach is the longest run from a source to the mount point; ok is false
// for sources the distance does not apply to (a battery sits with the unit,
// none is its own rule).
func reach(src PowerSource) (limit float64, ok bool) {
	switch src {
	case PowerMains, PowerIntercom:
		return MaxLowVoltageRunM, true
	case PowerPoE:
		return MaxPoERunM, true
	}
	return 0, false
}

// Rules returns the rule table, in order.
func Rules() []Rule {
	out := make([]Rule, len(rules))
	copy(out, rules)
	return out
}

// Evaluate runs every rule over s and gives the verdict: no-go if any no-go
// rule fired, else pending-signal if the signal is not measured, else
// go-with-conditions if any condition rule fired, else go. Reasons are
// listed most severe first, then in rule-table order. Evaluate is meant for
// a survey Validate passed; on an invalid one it still answers, but the
// answer means little.
func Evaluate(s Survey) Verdict {
	v := Verdict{Outcome: Go, Reasons: []Reason{}, Conditions: []string{}}
	for _, sev := range []Severity{SeverityNoGo, SeverityPending, SeverityCondition} {
		for _, r := range rules {
			if r.Severity != sev {
				continue
			}
			if r.site != nil {
				for _, m := range r.site(s) {
					v.Reasons = append(v.Reasons, Reason{Rule: r.ID, Severity: r.Severity, Message: m})
				}
			}
			if r.door != nil {
				for _, e := range s.Entrances {
					for _, m := range r.door(e) {
						v.Reasons = append(v.Reasons, Reason{Rule: r.ID, Severity: r.Severity, Entrance: e.Name, Message: e.Name + ": " + m})
					}
				}
			}
		}
	}
	worst := 0
	for _, r := range v.Reasons {
		worst = max(worst, r.Severity.rank())
		if r.Severity == SeverityCondition {
			v.Conditions = append(v.Conditions, r.Message)
		}
	}
	switch worst {
	case 3:
		v.Outcome = NoGo
	case 2:
		v.Outcome = PendingSignal
	case 1:
		v.Outcome = GoWithConditions
	}
	return v
}

// Errors Verdict.Err gives, for the commands that must not go on (burn).
var (
	// ErrNoGo is a survey whose verdict is no-go.
	ErrNoGo = errors.New("survey verdict is no-go")
	// ErrPendingSignal is a survey still waiting for the paired unit's
	// signal reading.
	ErrPendingSignal = errors.New("survey verdict is pending the signal reading")
)

// Err returns nil when the verdict lets the install go on (go, or go with
// conditions), else ErrNoGo or ErrPendingSignal wrapped with the reasons.
func (v Verdict) Err() error {
	var base error
	switch v.Outcome {
	case Go, GoWithConditions:
		return nil
	case PendingSignal:
		base = ErrPendingSignal
	default:
		base = ErrNoGo
	}
	var why []string
	for _, r := range v.Reasons {
		if r.Severity != SeverityCondition {
			why = append(why, r.Message)
		}
	}
	if len(why) == 0 {
		return base
	}
	return fmt.Errorf("%w: %s", base, strings.Join(why, "; "))
}
