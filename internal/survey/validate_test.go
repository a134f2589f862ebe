package survey

import (
	"math"
	"strings"
	"testing"
	"time"
)

func TestValidateSample(t *testing.T) {
	t.Parallel()
	if ps := Validate(sample(), sampleDoors); len(ps) > 0 {
		t.Fatalf("sample has problems: %v", ps)
	}
	if ps := Validate(sample(), nil); len(ps) > 0 {
		t.Fatalf("sample without doors has problems: %v", ps)
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		change func(*Survey)
		doors  []string
		want   []string // "path: message" fragments, one per problem, in order
	}{
		{"version", func(s *Survey) { s.Version = 2 }, nil, []string{"version: is 2; this latchkey reads version 1"}},
		{"no job", func(s *Survey) { s.Job = "" }, nil, []string{"job: is required"}},
		{"bad job", func(s *Survey) { s.Job = "job 42/x" }, nil, []string{`job: "job 42/x" is not a job id`}},
		{"no address", func(s *Survey) { s.Building.Address = " " }, nil, []string{"building.address: is required"}},
		{"address two lines", func(s *Survey) { s.Building.Address = "12 Elm\nSt" }, nil, []string{"building.address: must be one line"}},
		{"address escape", func(s *Survey) { s.Building.Address = "Elm\x1b[31m" }, nil, []string{"building.address: contains a control character (U+001B)"}},
		{"address padded", func(s *Survey) { s.Building.Address = " Elm " }, nil, []string{"building.address: has spaces"}},
		{"address too long", func(s *Survey) { s.Building.Address = strings.Repeat("é", 201) }, nil, []string{"building.address: is 201 characters long, at most 200"}},
		{"bad utf-8", func(s *Survey) { s.Notes = "\xff" }, nil, []string{"notes: is not valid UTF-8"}},
		{"notes only spaces", func(s *Survey) { s.Notes = "  " }, nil, []string{"notes: is only spaces"}},
		{"no floors", func(s *Survey) { s.Building.Floors = 0 }, nil, []string{"building.floors: is required"}},
		{"too many floors", func(s *Survey) { s.Building.Floors = 201 }, nil, []string{"building.floors: must be a number of floors from 1 to 200"}},
		{"negative units", func(s *Survey) { s.Building.Units = -1 }, nil, []string{"building.units: must be a number of apartments"}},
		{"no entrances", func(s *Survey) { s.Entrances = nil }, nil, []string{"entrances: at least one entrance is required"}},
		{"entrance enums", func(s *Survey) {
			e := &s.Entrances[0]
			e.DoorType, e.Hardware, e.ReleaseVoltage, e.LockWiring, e.Intercom.Wiring = "roller", "", "", "3-wire", "bus"
		}, nil, []string{
			`entrances[0].door_type: "roller" is not one of swing, sliding, revolving, gate`,
			"entrances[0].hardware: is required: one of strike-fail-secure, strike-fail-safe, maglock, motor-lock, none",
			`entrances[0].lock_wiring: "3-wire" is not one of 2-wire, 4-wire, other, none`,
			`entrances[0].intercom.wiring: "bus" is not one of 2-wire, multi-wire, ip, wireless, none`,
		}},
		{"voltage required with a lock", func(s *Survey) { s.Entrances[1].ReleaseVoltage = "" }, nil, []string{"entrances[1].release_voltage: is required"}},
		{"voltage bad", func(s *Survey) { s.Entrances[1].ReleaseVoltage = "48VDC" }, nil, []string{`entrances[1].release_voltage: "48VDC" is not one of 12VDC`}},
		{"voltage without a lock", func(s *Survey) { s.Entrances[1].Hardware = HardwareNone }, nil, []string{"entrances[1].release_voltage: must be empty when the door has no electric lock"}},
		{"fail-safe wiring of a fail-secure strike", func(s *Survey) { s.Entrances[0].FailSafeWiring = true }, nil, []string{
			"entrances[0].fail_safe_wiring: only a fail-safe lock (maglock, strike-fail-safe) can be wired fail-safe; this door has strike-fail-secure",
		}},
		{"release wired without intercom", func(s *Survey) { s.Entrances[1].Intercom.Wiring = IntercomWiringNone }, nil, []string{
			"entrances[1].intercom.release_wired: cannot be true when there is no intercom",
		}},
		{"entrance name missing", func(s *Survey) { s.Entrances[1].Name = "" }, nil, []string{"entrances[1].name: is required"}},
		{"entrance twice", func(s *Survey) { s.Entrances[1].Name = "lobby" }, nil, []string{`entrances[1].name: "lobby" is surveyed twice (also entrances[0])`}},
		{"entrance not a door", func(s *Survey) { s.Entrances[1].Name = "back" }, sampleDoors, []string{
			`entrances[1].name: "back" is not a door of this job (its doors: lobby, garage)`,
			`entrances: door "garage" of this job has no entrance: add one named "garage"`,
		}},
		{"door without entrance", func(s *Survey) { s.Entrances = s.Entrances[:1] }, sampleDoors, []string{`entrances: door "garage" of this job has no entrance`}},
		{"doors not checked without job", func(s *Survey) { s.Entrances = s.Entrances[:1] }, nil, nil},
		{"no power source", func(s *Survey) { s.Power.Source = "" }, nil, []string{"power.source: is required: one of mains, poe, battery, intercom, none"}},
		{"bad power source", func(s *Survey) { s.Power.Source = "solar" }, nil, []string{`power.source: "solar" is not one of`}},
		{"negative distance", func(s *Survey) { s.Power.DistanceM = -1 }, nil, []string{"power.distance_m: must be 0 or more metres"}},
		{"nan distance", func(s *Survey) { s.Power.DistanceM = math.NaN() }, nil, []string{"power.distance_m: must be 0 or more metres"}},
		{"huge distance", func(s *Survey) { s.Power.DistanceM = 1500 }, nil, []string{"power.distance_m: 1500 m is more than 1000 m"}},
		{"no mount", func(s *Survey) { s.Mount.Location = "" }, nil, []string{"mount.location: is required"}},
		{"signal out of range", func(s *Survey) { s.Signal.RSSIDBm, s.Signal.RSRPDBm = ptr(5), ptr(-201) }, nil, []string{
			"signal.rssi_dbm: 5 dBm is out of range (-200 to 0)", "signal.rsrp_dbm: -201 dBm is out of range",
		}},
		{"signal unmeasured", func(s *Survey) { s.Signal.MeasuredAt = time.Time{}; s.Signal.Unit = "" }, nil, []string{
			"signal.measured_at: is required", `signal.unit: "" is not a unit serial number`,
		}},
		{"signal without rssi is fine", func(s *Survey) { s.Signal.RSSIDBm = nil }, nil, nil},
		{"implausible date", func(s *Survey) { s.UpdatedAt = time.Date(1999, 1, 1, 0, 0, 0, 0, time.UTC) }, nil, []string{"updated_at: 1999-01-01T00:00:00Z is not a plausible date"}},
		{"photo hash", func(s *Survey) { s.Photos[0].SHA256 = "ABC" }, nil, []string{"photos[0].sha256: want the photo's SHA-256"}},
		{"photo file by hand", func(s *Survey) { s.Photos[0].File = "../IMG_0001.jpg" }, nil, []string{`photos[0].file: "../IMG_0001.jpg" is not a stored photo name`}},
		{"photo file of another hash", func(s *Survey) { s.Photos[0].File = strings.Repeat("a", 64) + ".png" }, nil, []string{"does not match its sha256"}},
		{"photo twice", func(s *Survey) { s.Photos = append(s.Photos, s.Photos[0]) }, nil, []string{"photos[1]: is the same photo as photos[0]"}},
		{"too many hazards", func(s *Survey) {
			s.Hazards = make([]string, 21)
			for i := range s.Hazards {
				s.Hazards[i] = strings.Repeat("h", i+1)
			}
		}, nil, []string{"hazards: 21 hazards, at most 20"}},
		{"hazard repeated and empty", func(s *Survey) { s.Hazards = []string{"asbestos", "", "asbestos"} }, nil, []string{"hazards[1]: is required", "hazards[2]: repeats hazards[0]"}},
		{"notes may have lines and tabs", func(s *Survey) { s.Notes = "a\n\tb" }, nil, nil},
		{"notes too long", func(s *Survey) { s.Notes = strings.Repeat("n", 4001) }, nil, []string{"notes: is 4001 characters long, at most 4000"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := sample()
			tt.change(&s)
			ps := Validate(s, tt.doors)
			if len(ps) != len(tt.want) {
				t.Fatalf("problems %q, want %d: %q", ps, len(tt.want), tt.want)
			}
			for i, w := range tt.want {
				if got := ps[i].String(); !strings.Contains(got, w) {
					t.Errorf("problem %d = %q, want it to contain %q", i, got, w)
				}
			}
		})
	}
}

// TestValidateAllAtOnce checks problems are all reported, not the first.
func TestValidateAllAtOnce(t *testing.T) {
	t.Parallel()
	ps := Validate(Survey{}, []string{"lobby"})
	var paths []string
	for _, p := range ps {
		paths = append(paths, p.Path)
	}
	want := "version job building.address building.floors building.units entrances entrances power.source mount.location"
	if got := strings.Join(paths, " "); got != want {
		t.Errorf("paths %q\nwant  %q", got, want)
	}
}
