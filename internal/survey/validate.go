package survey

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Limits Validate applies. Text limits are in characters.
const (
	MaxFloors    = 200
	MaxUnits     = 100000 // as a visit's building.units
	MaxEntrances = 64     // a job packet's most doors (packet.MaxDoors)
	MaxPhotos    = 50
	MaxHazards   = 20
	// MaxDistanceM bounds power.distance_m as a sanity check; the rules
	// decide what is within reach.
	MaxDistanceM = 1000
	maxText      = 200
	maxNotes     = 4000
)

// Bounds of a measured signal, as the unit's status answer allows them
// (internal/device: -200..0 dBm).
const (
	minDBm = -200
	maxDBm = 0
)

// idPattern is record.Header's pattern for job ids and unit serials, so the
// survey's job and signal unit can go in a record header as they are.
var idPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$`)

// hexPattern is a lower-case hex SHA-256.
var hexPattern = regexp.MustCompile(`^[0-9a-f]{64}$`)

// Validate checks every field of s and returns every problem found, each
// named by its path, in the order of the file; none means s is valid.
// doors are the job's door names: when given, the survey must have exactly
// one entrance per door, named as the door; nil skips that check (a survey
// checked without its job).
func Validate(s Survey, doors []string) []Problem {
	var v validator
	if s.Version != Version {
		v.add("version", "is %d; this latchkey reads version %d", s.Version, Version)
	}
	switch {
	case s.Job == "":
		v.add("job", "is required")
	case !idPattern.MatchString(s.Job):
		v.add("job", "%q is not a job id (letters, digits and . _ : -, at most 128)", s.Job)
	}
	v.text("building.address", s.Building.Address, true, false, maxText)
	v.count("building.floors", s.Building.Floors, MaxFloors, "floors")
	v.count("building.units", s.Building.Units, MaxUnits, "apartments")
	v.entrances(s.Entrances, doors)
	oneOf(&v, "power.source", string(s.Power.Source), PowerSources())
	switch d := s.Power.DistanceM; {
	case math.IsNaN(d) || d < 0:
		v.add("power.distance_m", "must be 0 or more metres")
	case d > MaxDistanceM:
		v.add("power.distance_m", "%g m is more than %d m: measure the cable run to the mount point", d, MaxDistanceM)
	}
	v.text("mount.location", s.Mount.Location, true, false, maxText)
	if g := s.Signal; g != nil {
		v.dBm("signal.rssi_dbm", g.RSSIDBm)
		v.dBm("signal.rsrp_dbm", g.RSRPDBm)
		v.when("signal.measured_at", g.MeasuredAt, true)
		if !idPattern.MatchString(g.Unit) {
			v.add("signal.unit", "%q is not a unit serial number", g.Unit)
		}
	}
	v.photos(s.Photos)
	if len(s.Hazards) > MaxHazards {
		v.add("hazards", "%d hazards, at most %d: put the rest in notes", len(s.Hazards), MaxHazards)
	}
	for i, h := range s.Hazards {
		p := fmt.Sprintf("hazards[%d]", i)
		v.text(p, h, true, false, maxText)
		if j := slices.Index(s.Hazards[:i], h); j >= 0 && strings.TrimSpace(h) != "" {
			v.add(p, "repeats hazards[%d]", j)
		}
	}
	v.text("notes", s.Notes, false, true, maxNotes)
	v.when("updated_at", s.UpdatedAt, false)
	return v.problems
}

type validator struct{ problems []Problem }

func (v *validator) add(path, format string, args ...any) {
	v.problems = append(v.problems, Problem{Path: path, Message: fmt.Sprintf(format, args...)})
}

// text checks a free-text field: present when required, trimmed, valid
// UTF-8, at most max characters, and no control characters (newline and
// tab only where multiline), so pasted escape sequences cannot repaint the
// terminal of whoever shows the survey later.
func (v *validator) text(path, s string, required, multiline bool, max int) {
	if strings.TrimSpace(s) == "" {
		if required {
			v.add(path, "is required")
		} else if s != "" {
			v.add(path, "is only spaces: leave it empty")
		}
		return
	}
	if !utf8.ValidString(s) {
		v.add(path, "is not valid UTF-8 text")
		return
	}
	if strings.TrimSpace(s) != s {
		v.add(path, "has spaces or line breaks at the start or end")
	}
	if n := utf8.RuneCountInString(s); n > max {
		v.add(path, "is %d characters long, at most %d are allowed", n, max)
	}
	for _, r := range s {
		if unicode.IsControl(r) && !(multiline && (r == '\n' || r == '\t')) {
			if r == '\n' {
				v.add(path, "must be one line")
			} else {
				v.add(path, "contains a control character (%U)", r)
			}
			return
		}
	}
}

func (v *validator) count(path string, n, max int, what string) {
	switch {
	case n == 0:
		v.add(path, "is required")
	case n < 1 || n > max:
		v.add(path, "must be a number of %s from 1 to %d", what, max)
	}
}

// oneOf checks an enumerated field, naming the values it may take.
func oneOf[T ~string](v *validator, path, got string, values []T) {
	if got == "" {
		v.add(path, "is required: one of %s", list(values))
		return
	}
	if !slices.Contains(values, T(got)) {
		v.add(path, "%q is not one of %s", got, list(values))
	}
}

func list[T ~string](values []T) string {
	s := make([]string, len(values))
	for i, x := range values {
		s[i] = string(x)
	}
	return strings.Join(s, ", ")
}

func (v *validator) dBm(path string, p *int) {
	if p != nil && (*p < minDBm || *p > maxDBm) {
		v.add(path, "%d dBm is out of range (%d to %d)", *p, minDBm, maxDBm)
	}
}

// when checks a time: set when required, and in a plausible range (which
// also keeps it writable as JSON, whose times end at year 9999).
func (v *validator) when(path string, t time.Time, required bool) {
	if t.IsZero() {
		if required {
			v.add(path, "is required")
		}
		return
	}
	if y := t.UTC().Year(); y < 2000 || y > 2199 {
		v.add(path, "%s is not a plausible date", t.UTC().Format(time.RFC3339))
	}
}

func (v *validator) entrances(es []Entrance, doors []string) {
	switch {
	case len(es) == 0:
		v.add("entrances", "at least one entrance is required")
	case len(es) > MaxEntrances:
		v.add("entrances", "%d entrances, at most %d", len(es), MaxEntrances)
	}
	for i, e := range es {
		p := fmt.Sprintf("entrances[%d]", i)
		v.text(p+".name", e.Name, true, false, maxText)
		if e.Name != "" {
			if j := slices.IndexFunc(es[:i], func(o Entrance) bool { return o.Name == e.Name }); j >= 0 {
				v.add(p+".name", "%q is surveyed twice (also entrances[%d])", e.Name, j)
			} else if len(doors) > 0 && !slices.Contains(doors, e.Name) {
				v.add(p+".name", "%q is not a door of this job (its doors: %s)", e.Name, strings.Join(doors, ", "))
			}
		}
		oneOf(v, p+".door_type", string(e.DoorType), DoorTypes())
		oneOf(v, p+".hardware", string(e.Hardware), Hardwares())
		switch {
		case e.Hardware == HardwareNone && e.ReleaseVoltage != "":
			v.add(p+".release_voltage", "must be empty when the door has no electric lock")
		case e.Hardware != HardwareNone && e.Hardware != "":
			oneOf(v, p+".release_voltage", string(e.ReleaseVoltage), Voltages())
		}
		oneOf(v, p+".lock_wiring", string(e.LockWiring), LockWirings())
		if e.FailSafeWiring && e.Hardware != "" && !e.Hardware.failSafe() {
			v.add(p+".fail_safe_wiring", "only a fail-safe lock (maglock, strike-fail-safe) can be wired fail-safe; this door has %s", e.Hardware)
		}
		v.text(p+".intercom.make", e.Intercom.Make, false, false, maxText)
		v.text(p+".intercom.model", e.Intercom.Model, false, false, maxText)
		oneOf(v, p+".intercom.wiring", string(e.Intercom.Wiring), IntercomWirings())
		if e.Intercom.Wiring == IntercomWiringNone && e.Intercom.ReleaseWired {
			v.add(p+".intercom.release_wired", "cannot be true when there is no intercom (wiring: none)")
		}
		v.text(p+".existing_access", e.ExistingAccess, false, false, maxText)
	}
	for _, d := range doors {
		if !slices.ContainsFunc(es, func(e Entrance) bool { return e.Name == d }) {
			v.add("entrances", "door %q of this job has no entrance: add one named %q", d, d)
		}
	}
}

func (v *validator) photos(ps []Photo) {
	if len(ps) > MaxPhotos {
		v.add("photos", "%d photos, at most %d", len(ps), MaxPhotos)
	}
	for i, ph := range ps {
		p := fmt.Sprintf("photos[%d]", i)
		okHash := hexPattern.MatchString(ph.SHA256)
		if !okHash {
			v.add(p+".sha256", "want the photo's SHA-256 as 64 lower-case hex digits")
		}
		base, ext, _ := strings.Cut(ph.File, ".")
		switch {
		case !slices.Contains(photoExts, ext) || !hexPattern.MatchString(base):
			v.add(p+".file", "%q is not a stored photo name (<sha256>.%s): add photos with latchkey, not by hand", ph.File, strings.Join(photoExts, "|"))
		case okHash && base != ph.SHA256:
			v.add(p+".file", "%q does not match its sha256", ph.File)
		}
		if j := slices.IndexFunc(ps[:i], func(o Photo) bool { return o.SHA256 == ph.SHA256 }); j >= 0 && okHash {
			v.add(p, "is the same photo as photos[%d]", j)
		}
		v.text(p+".caption", ph.Caption, false, false, maxText)
	}
}
