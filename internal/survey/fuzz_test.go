package survey

import (
	"errors"
	"reflect"
	"testing"
)

// FuzzParse feeds Parse arbitrary bytes as JSON or YAML (told from the
// content). It must never panic; whatever it accepts and Validate passes
// must survive a round trip through both formats with the same hash, and
// Evaluate and Record must answer for it.
func FuzzParse(f *testing.F) {
	f.Add(Template())
	for _, fm := range []Format{FormatJSON, FormatYAML} {
		b, err := Marshal(sample(), fm)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Parse(data, FormatAuto)
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) && !errors.Is(err, ErrSyntax) && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("error of no known kind: %v", err)
			}
			if pe != nil && len(pe.Problems) == 0 {
				t.Fatal("ParseError without problems")
			}
			return
		}
		if len(Validate(s, nil)) > 0 {
			return
		}
		h, err := Hash(s)
		if err != nil {
			t.Fatalf("Hash of a valid survey: %v", err)
		}
		for _, fm := range []Format{FormatJSON, FormatYAML} {
			b, err := Marshal(s, fm)
			if err != nil {
				t.Fatalf("Marshal %s: %v", fm, err)
			}
			back, err := Parse(b, fm)
			if err != nil {
				t.Fatalf("Parse of own %s: %v\n%s", fm, err, b)
			}
			if !reflect.DeepEqual(back, s) {
				t.Fatalf("%s round trip changed the survey:\n%+v\n%+v\n%s", fm, s, back, b)
			}
			if h2, _ := Hash(back); h2 != h {
				t.Fatalf("%s round trip changed the hash", fm)
			}
		}
		v := Evaluate(s)
		if v.Outcome == "" {
			t.Fatal("no outcome")
		}
		if _, err := Record(s, s.UpdatedAt); err != nil && !s.UpdatedAt.IsZero() {
			t.Fatalf("Record: %v", err)
		}
	})
}
