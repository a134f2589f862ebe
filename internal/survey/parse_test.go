package survey

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	for _, f := range []Format{FormatJSON, FormatYAML} {
		t.Run(f.String(), func(t *testing.T) {
			t.Parallel()
			want := sample()
			b, err := Marshal(want, f)
			if err != nil {
				t.Fatal(err)
			}
			got, err := Parse(b, FormatAuto)
			if err != nil {
				t.Fatalf("Parse: %v\n%s", err, b)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("round trip through %s changed the survey:\n got %+v\nwant %+v\n%s", f, got, want, b)
			}
		})
	}
}

// TestHashAcrossFormats reads one survey written by hand in both formats,
// with times in other zones and lists left out, and wants one hash.
func TestHashAcrossFormats(t *testing.T) {
	t.Parallel()
	j := `{"version":1,"job":"job-42","building":{"address":"12 Elm Street","floors":5,"units":24},
"entrances":[{"name":"lobby","door_type":"swing","hardware":"maglock","release_voltage":"12VDC","lock_wiring":"2-wire",
"fail_safe_wiring":true,"intercom":{"wiring":"ip"}}],
"power":{"source":"poe","distance_m":40},"mount":{"location":"riser","indoor":true},
"signal":{"rssi_dbm":-80,"measured_at":"2026-03-01T16:30:00+02:00","unit":"LK1-1"},
"updated_at":"2026-03-01T15:00:00Z"}`
	y := `
version: 1
job: job-42
building: {address: 12 Elm Street, floors: 5, units: 24}
entrances:
  - name: lobby
    door_type: swing
    egress: false
    hardware: maglock
    release_voltage: 12VDC
    lock_wiring: 2-wire
    fail_safe_wiring: yes
    intercom: {wiring: ip, make: ""}
power: {source: poe, distance_m: 40.0}
mount: {location: riser, indoor: true}
signal: {rssi_dbm: -80, measured_at: 2026-03-01T14:30:00Z, unit: LK1-1}
photos: []
hazards:
notes:
updated_at: "2026-03-01T16:00:00+01:00"
`
	sj, err := Parse([]byte(j), FormatJSON)
	if err != nil {
		t.Fatal(err)
	}
	sy, err := Parse([]byte(y), FormatYAML)
	if err != nil {
		t.Fatal(err)
	}
	hj, err := Hash(sj)
	if err != nil {
		t.Fatal(err)
	}
	hy, err := Hash(sy)
	if err != nil {
		t.Fatal(err)
	}
	if hj != hy {
		t.Errorf("hash from JSON %s, from YAML %s:\n%+v\n%+v", hj, hy, sj, sy)
	}
	if len(hj) != 64 {
		t.Errorf("hash %q", hj)
	}
	// And a change of one field changes it.
	sy.Power.DistanceM = 41
	if h2, _ := Hash(sy); h2 == hj {
		t.Error("hash did not change with the survey")
	}
}

func TestParseStrict(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		format Format
		in     string
		want   []string // "path (line N): message" fragments, one per problem, in order
	}{
		{"json unknown top field", FormatJSON, `{"version":1,"jobs":"x"}`, []string{`jobs (line 1): unknown field (did you mean job?)`}},
		{"json unknown nested field", FormatJSON, "{\"entrances\":[{\"name\":\"lobby\"},\n{\"door\":\"x\"}]}", []string{`entrances[1].door (line 2): unknown field`}},
		{"json field case matters", FormatJSON, `{"Version":1}`, []string{`Version (line 1): unknown field (did you mean version?)`}},
		{"json repeated field", FormatJSON, `{"job":"a","job":"b"}`, []string{`given twice`}},
		{"json string for number", FormatJSON, `{"building":{"floors":"5"}}`, []string{`building.floors (line 1): want a whole number`}},
		{"json fraction for integer", FormatJSON, `{"building":{"units":2.5}}`, []string{`building.units (line 1): want a whole number`}},
		{"json number for text", FormatJSON, `{"job":42}`, []string{`job (line 1): want text`}},
		{"json bool as text", FormatJSON, `{"mount":{"indoor":"yes"}}`, []string{`mount.indoor (line 1): want true or false`}},
		{"json object for list", FormatJSON, `{"hazards":{"a":1}}`, []string{`hazards (line 1): want a list`}},
		{"json bad time", FormatJSON, `{"updated_at":"yesterday"}`, []string{`updated_at (line 1): want a date and time`}},
		{"json not an object", FormatJSON, `[1]`, []string{`survey (line 1): want a set of fields`}},
		{"json several problems", FormatJSON, "{\"x\":1,\n\"building\":{\"floors\":true,\"y\":2}}", []string{
			`x (line 1): unknown field`, `building.floors (line 2): want a whole number`, `building.y (line 2): unknown field`,
		}},
		{"yaml unknown field", FormatYAML, "version: 1\nbuilding:\n  adress: x\n", []string{`building.adress (line 3): unknown field (did you mean address?)`}},
		{"yaml repeated field", FormatYAML, "job: a\njob: b\n", []string{`job (line 2): given twice`}},
		{"yaml float for integer", FormatYAML, "building:\n  floors: 2.5\n", []string{`building.floors (line 2): want a whole number`}},
		{"yaml text for bool", FormatYAML, "mount:\n  indoor: maybe\n", []string{`mount.indoor (line 2): want true or false`}},
		{"yaml quoted yes is text", FormatYAML, "mount:\n  indoor: \"yes\"\n", []string{`mount.indoor (line 2): want true or false`}},
		{"yaml list for text", FormatYAML, "notes: [a]\n", []string{`notes (line 1): want a single value`}},
		{"yaml nan", FormatYAML, "power:\n  distance_m: .nan\n", []string{`power.distance_m (line 2): want a number`}},
		{"yaml signal fields", FormatYAML, "signal:\n  rssi: -80\n", []string{`signal.rssi (line 2): unknown field`}},
		{"yaml entrance fields", FormatYAML, "entrances:\n  - name: lobby\n    intercom:\n      brand: x\n", []string{`entrances[0].intercom.brand (line 4): unknown field`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse([]byte(tt.in), tt.format)
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("Parse error %v, want a *ParseError", err)
			}
			if len(pe.Problems) != len(tt.want) {
				t.Fatalf("problems %q, want %d: %q", pe.Problems, len(tt.want), tt.want)
			}
			for i, w := range tt.want {
				if got := pe.Problems[i].String(); !strings.Contains(got, w) {
					t.Errorf("problem %d = %q, want it to contain %q", i, got, w)
				}
			}
		})
	}
}

func TestParseSyntax(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		format Format
		in     string
		want   error
	}{
		{"json truncated", FormatJSON, `{"job":`, ErrSyntax},
		{"json trailing data", FormatJSON, `{"job":"a"} {}`, ErrSyntax},
		{"json empty", FormatJSON, ``, ErrSyntax},
		{"json too deep", FormatJSON, strings.Repeat("[", 100) + strings.Repeat("]", 100), ErrSyntax},
		{"yaml bad indentation", FormatYAML, "job: a\n  b: c\n", ErrSyntax},
		{"yaml empty", FormatYAML, "# nothing\n", ErrSyntax},
		{"yaml two documents", FormatYAML, "job: a\n---\njob: b\n", ErrSyntax},
		{"too large", FormatYAML, "notes: " + strings.Repeat("x", MaxFile), ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if _, err := Parse([]byte(tt.in), tt.format); !errors.Is(err, tt.want) {
				t.Errorf("Parse error %v, want %v", err, tt.want)
			}
		})
	}
}

func TestDetectFormat(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, data string
		want       Format
	}{
		{"s.json", "job: a", FormatJSON},
		{"s.YAML", "{}", FormatYAML},
		{"s.yml", "{}", FormatYAML},
		{"s.txt", "\ufeff \n {\"job\":1}", FormatJSON},
		{"", "job: a", FormatYAML},
		{"", "", FormatYAML},
	}
	for _, tt := range tests {
		if got := DetectFormat(tt.name, []byte(tt.data)); got != tt.want {
			t.Errorf("DetectFormat(%q, %q) = %s, want %s", tt.name, tt.data, got, tt.want)
		}
	}
}

func TestLoad(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	want := sample()
	for _, f := range []Format{FormatJSON, FormatYAML} {
		b, err := Marshal(want, f)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, "survey."+f.String())
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		got, err := Load(path)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("Load %s = %+v", path, got)
		}
	}
	// A .json file holding YAML is read as JSON, and refused.
	bad := filepath.Join(dir, "yaml.json")
	if err := os.WriteFile(bad, []byte("job: a\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(bad); !errors.Is(err, ErrSyntax) || !strings.Contains(err.Error(), bad) {
		t.Errorf("Load(%s) error %v", bad, err)
	}
	if _, err := Load(filepath.Join(dir, "missing.yaml")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load(missing) error %v", err)
	}
}

// TestParseTimes checks YAML's own timestamps and quoted RFC 3339 both read,
// and that times come back in UTC.
func TestParseTimes(t *testing.T) {
	t.Parallel()
	want := time.Date(2026, 3, 1, 13, 30, 0, 0, time.UTC)
	for _, in := range []string{
		"updated_at: 2026-03-01T14:30:00+01:00\n",
		"updated_at: \"2026-03-01T13:30:00Z\"\n",
		"updated_at: 2026-03-01 13:30:00\n",
	} {
		s, err := Parse([]byte(in), FormatYAML)
		if err != nil {
			t.Errorf("%q: %v", in, err)
			continue
		}
		if !s.UpdatedAt.Equal(want) || s.UpdatedAt.Location() != time.UTC {
			t.Errorf("%q: updated_at %v, want %v", in, s.UpdatedAt, want)
		}
	}
}

// TestParseAliasBomb checks YAML aliases cost little: a nest of aliases
// that would expand to billions of items is refused or read quickly.
func TestParseAliasBomb(t *testing.T) {
	t.Parallel()
	in := `a: &a ["x","x","x","x","x","x","x","x","x"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
hazards: [*d,*d,*d,*d,*d,*d,*d,*d,*d]
`
	start := time.Now()
	if _, err := Parse([]byte(in), FormatYAML); err == nil {
		t.Error("accepted an alias bomb")
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("took %v", d)
	}
}
