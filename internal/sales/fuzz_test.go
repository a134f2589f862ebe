package sales

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// FuzzReadCSV feeds arbitrary bytes to the import reader: it must never
// panic, every row it returns carries a line number inside the input, and a
// file it accepts without problems must survive export and re-read intact.
func FuzzReadCSV(f *testing.F) {
	header := strings.Join(CSVHeader(), ",")
	f.Add([]byte(header + "\n,,,2026-11-20T10:00:00Z,dana,Ash,1 Ash St,Springfield,10,,,,,no-answer,,,none,,\n"))
	f.Add([]byte(header + "\n0b0e4a4e-8f55-4c1e-9d5c-1b2f3a4d5e6f,2,2026-11-21T09:00:00Z,2026-11-20T10:00:00Z,dana,\"Elm, Court\",12 Elm St,Springfield,24,Ana Ruiz,manager,+1 555 010 2000,ana@elm.example,follow-up,privacy;cost,\"said \"\"no\"\"\",gift-card:100:USD,2026-12-01,\"two\nlines\"\n"))
	f.Add([]byte(header + "\n\"unterminated"))
	f.Add([]byte("\ufeff" + header + "\r\n,,,x,y,z,,,lots,,,,,meh,a;b,,cash:1:XXX,,\r\n"))
	f.Add([]byte("rep,building_name\n"))
	f.Add([]byte(""))
	f.Add([]byte(header + "\n" + strings.Repeat(",", 40) + "\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		rows, err := ReadCSV(bytes.NewReader(data), "fuzz.csv")
		if err != nil {
			var ie *ImportError
			if !errors.As(err, &ie) || len(ie.Rows) == 0 {
				t.Fatalf("error %v is not an ImportError with rows", err)
			}
			return
		}
		lines := bytes.Count(data, []byte("\n")) + 1
		var clean []Visit
		for _, r := range rows {
			if r.Line < 1 || r.Line > lines {
				t.Fatalf("row line %d outside 1..%d", r.Line, lines)
			}
			v := r.Visit
			v.Normalize()
			if len(r.Problems) == 0 && v.Validate(testNow) == nil && v.ID != "" {
				clean = append(clean, v)
			}
		}
		var buf bytes.Buffer
		if err := WriteCSV(&buf, clean); err != nil {
			t.Fatal(err)
		}
		again, err := ReadCSV(&buf, "again.csv")
		if err != nil || len(again) != len(clean) {
			t.Fatalf("re-read %d rows, %v; want %d", len(again), err, len(clean))
		}
		for i := range again {
			if len(again[i].Problems) > 0 || !SameContent(again[i].Visit, clean[i]) {
				t.Fatalf("row %d changed through export: %+v vs %+v (%v)", i, again[i].Visit, clean[i], again[i].Problems)
			}
		}
	})
}
