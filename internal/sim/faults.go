package sim

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/latchkey/latchkey/internal/smp"
)

// Trigger says when a one-shot fault fires: at the After-th request since
// Serve started (counting every request), or at the Nth request of the
// named operation Op (see [OpNames]). The zero Trigger never fires.
type Trigger struct {
	After int
	Op    string
	Nth   int
}

// ParseTrigger reads a trigger as the command line writes it: a number N
// (the Nth request), an operation name ("upload"), or a name and an
// occurrence ("upload#3", the third upload request).
func ParseTrigger(s string) (Trigger, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Trigger{}, nil
	}
	if n, err := strconv.Atoi(s); err == nil {
		if n < 1 {
			return Trigger{}, fmt.Errorf("trigger %q: a request count starts at 1", s)
		}
		return Trigger{After: n}, nil
	}
	name, nth, hasNth := strings.Cut(s, "#")
	t := Trigger{Op: name, Nth: 1}
	if hasNth {
		n, err := strconv.Atoi(nth)
		if err != nil || n < 1 {
			return Trigger{}, fmt.Errorf("trigger %q: the occurrence after # must be 1 or more", s)
		}
		t.Nth = n
	}
	if !validOp(name) {
		return Trigger{}, fmt.Errorf("trigger %q: unknown operation %q (one of %s, or GROUP:ID)", s, name, strings.Join(OpNames(), ", "))
	}
	return t, nil
}

// IsZero reports whether t never fires.
func (t Trigger) IsZero() bool { return t.After == 0 && t.Op == "" }

func (t Trigger) String() string {
	switch {
	case t.After > 0:
		return strconv.Itoa(t.After)
	case t.Op != "" && t.Nth > 1:
		return fmt.Sprintf("%s#%d", t.Op, t.Nth)
	}
	return t.Op
}

// fires reports whether t fires for the request numbered total overall and
// nth among requests of operation op.
func (t Trigger) fires(total int, op string, nth int) bool {
	switch {
	case t.After > 0:
		return total == t.After
	case t.Op != "":
		want := max(t.Nth, 1)
		return op == t.Op && nth == want
	}
	return false
}

// Faults are the line and unit faults [Serve] injects. Rates are
// probabilities per byte (noise, drop) or per response (chatter); all
// draws come from the seed, so a run can be repeated.
type Faults struct {
	// Noise flips one random bit of a byte, in both directions.
	Noise float64
	// Drop loses a byte, in both directions.
	Drop float64
	// Chatter prints a console log line after a response; ChatterEvery
	// prints one at this interval too. Lines never split a frame.
	Chatter      float64
	ChatterEvery time.Duration
	// Stall makes the unit deaf and mute for StallFor once Stall fires,
	// starting with the request that fired it.
	Stall    Trigger
	StallFor time.Duration
	// Reboot resets the unit when it fires, before it answers the request.
	Reboot Trigger
	// Pull pulls the cable when it fires (the request is handled, its
	// answer is lost) or after PullAfterBytes bytes crossed the line
	// either way; the port comes back after PullFor.
	Pull           Trigger
	PullAfterBytes int64
	PullFor        time.Duration
}

// Fault defaults.
const (
	DefaultStallFor   = 3 * time.Second
	DefaultPullFor    = 2 * time.Second
	DefaultResetDelay = time.Second
)

func (f Faults) validate() error {
	var errs []error
	for _, r := range []struct {
		name string
		v    float64
	}{{"noise", f.Noise}, {"drop", f.Drop}, {"chatter", f.Chatter}} {
		if r.v < 0 || r.v > 1 {
			errs = append(errs, fmt.Errorf("%s rate %g is not between 0 and 1", r.name, r.v))
		}
	}
	if f.ChatterEvery < 0 || f.StallFor < 0 || f.PullFor < 0 || f.PullAfterBytes < 0 {
		errs = append(errs, errors.New("fault durations and byte counts must not be negative"))
	}
	return errors.Join(errs...)
}

// ops names the standard commands for triggers: name → group, id.
var ops = []struct {
	name  string
	group uint16
	id    uint8
}{
	{"echo", groupOS, smp.OSEcho},
	{"taskstat", groupOS, smp.OSTaskStats},
	{"datetime", groupOS, smp.OSDateTime},
	{"reset", groupOS, smp.OSReset},
	{"params", groupOS, smp.OSParams},
	{"info", groupOS, smp.OSInfo},
	{"image-state", groupImage, imgState},
	{"upload", groupImage, imgUpload},
	{"erase", groupImage, imgErase},
	{"slot-info", groupImage, imgSlotInfo},
	{"stats-read", groupStats, statRead},
	{"stats-list", groupStats, statList},
	{"settings", groupSettings, settingsRW},
	{"settings-delete", groupSettings, settingsDelete},
}

// OpNames lists the operation names a [Trigger] accepts besides GROUP:ID.
func OpNames() []string {
	out := make([]string, len(ops))
	for i, o := range ops {
		out[i] = o.name
	}
	return out
}

// opName names a request's operation: a standard name, or GROUP:ID (e.g.
// "64:3" for the custom group).
func opName(group uint16, id uint8) string {
	for _, o := range ops {
		if o.group == group && o.id == id {
			return o.name
		}
	}
	return fmt.Sprintf("%d:%d", group, id)
}

func validOp(name string) bool {
	for _, o := range ops {
		if o.name == name {
			return true
		}
	}
	g, id, ok := strings.Cut(name, ":")
	if !ok {
		return false
	}
	_, err1 := strconv.ParseUint(g, 10, 16)
	_, err2 := strconv.ParseUint(id, 10, 8)
	return err1 == nil && err2 == nil
}
