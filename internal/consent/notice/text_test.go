package notice

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestTextContainsEveryFact(t *testing.T) {
	t.Parallel()
	tests := []struct {
		lang string
		want []string // in words, beyond the facts copied as given
	}{
		{English, []string{
			"Installed on: 3 November 2026",
			"Doors it can open: main entrance and garden gate",
			"When: Monday to Friday, 08:00 to 20:00; Saturday, 09:00 to 13:00",
			"Starting: not before 10 December 2026",
			"Kept for: 90 days, then deleted",
		}},
		{Spanish, []string{
			"Instalado el: 3 de noviembre de 2026",
			"Puertas que puede abrir: main entrance y garden gate",
			"Cuándo: de lunes a viernes, de 08:00 a 20:00; sábado, de 09:00 a 13:00",
			"A partir de: no antes del 10 de diciembre de 2026",
			"Se guarda: 90 días, y después se borra",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.lang, func(t *testing.T) {
			t.Parallel()
			f := facts(tt.lang)
			text, err := Text(f)
			if err != nil {
				t.Fatal(err)
			}
			want := append([]string{
				f.Building, f.Address, f.Operator, f.UnitLocation, f.PolicyURL,
				f.Contact.Name, f.Contact.Phone, f.Contact.Email, f.Contact.Web,
			}, f.Doors...)
			want = append(want, f.Recipients...)
			want = append(want, tt.want...)
			for _, w := range want {
				if !strings.Contains(text, w) {
					t.Errorf("notice lacks %q:\n%s", w, text)
				}
			}
			if strings.Contains(text, "<no value>") || strings.Contains(text, "{{") {
				t.Errorf("notice has an unfilled slot:\n%s", text)
			}
		})
	}
}

// TestTextOptionalFacts checks the words used when optional facts are left
// out: no one else receives data, access at any time, no start date.
func TestTextOptionalFacts(t *testing.T) {
	t.Parallel()
	tests := []struct {
		lang           string
		want, dontWant []string
	}{
		{English,
			[]string{"No one else. Only Parcelway Inc. keeps these records.", "When: at any time, day and night", "Email: tenants@"},
			[]string{"Starting:", "Phone:", "Web:", "  - "}},
		{Spanish,
			[]string{"Nadie más. Solo Parcelway Inc. guarda estos registros.", "Cuándo: a cualquier hora, de día y de noche", "Correo electrónico: tenants@"},
			[]string{"A partir de:", "Teléfono:", "Web:", "  - "}},
	}
	for _, tt := range tests {
		t.Run(tt.lang, func(t *testing.T) {
			t.Parallel()
			f := facts(tt.lang)
			f.Recipients, f.AccessHours, f.StartsOn = nil, "", time.Time{}
			f.Contact.Phone, f.Contact.Web = "", ""
			text, err := Text(f)
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tt.want {
				if !strings.Contains(text, w) {
					t.Errorf("notice lacks %q:\n%s", w, text)
				}
			}
			for _, w := range tt.dontWant {
				if strings.Contains(text, w) {
					t.Errorf("notice has %q:\n%s", w, text)
				}
			}
			if m := Check(text, tt.lang); len(m) > 0 {
				t.Errorf("Check = %v, want nothing missing", m)
			}
		})
	}
}

func TestHoursInWords(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, en, es string }{
		{"", "at any time, day and night", "a cualquier hora, de día y de noche"},
		{"24/7", "at any time, day and night", "a cualquier hora, de día y de noche"},
		{"08:00-20:00", "every day, 08:00 to 20:00", "todos los días, de 08:00 a 20:00"},
		{"Mo-Su 07:00-22:00", "every day, 07:00 to 22:00", "todos los días, de 07:00 a 22:00"},
		{"Mo,We,Fr 09:00-12:00,14:00-18:00",
			"Monday, Wednesday and Friday, 09:00 to 12:00 and 14:00 to 18:00",
			"lunes, miércoles y viernes, de 09:00 a 12:00 y de 14:00 a 18:00"},
		{"Sa 00:00-24:00", "Saturday, 00:00 to 24:00", "sábado, de 00:00 a 24:00"},
		// Forms it does not know are printed as given.
		{"Mo-Fr 25:00-26:00", "Mo-Fr 25:00-26:00", "Mo-Fr 25:00-26:00"},
		{"weekdays 8 to 8", "weekdays 8 to 8", "weekdays 8 to 8"},
		{"Xx 08:00-09:00", "Xx 08:00-09:00", "Xx 08:00-09:00"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			if got := lang[English].hours(tt.in); got != tt.en {
				t.Errorf("en: hours(%q) = %q, want %q", tt.in, got, tt.en)
			}
			if got := lang[Spanish].hours(tt.in); got != tt.es {
				t.Errorf("es: hours(%q) = %q, want %q", tt.in, got, tt.es)
			}
		})
	}
}

func TestTextRefusesIncompleteFacts(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", maxField+1)
	tests := []struct {
		name   string
		change func(*Facts)
		want   error
		say    string // part of the message
	}{
		{"no language", func(f *Facts) { f.Lang = "" }, ErrLang, `""`},
		{"unknown language", func(f *Facts) { f.Lang = "fr" }, ErrLang, "en, es"},
		{"no building", func(f *Facts) { f.Building = " " }, ErrFacts, "building"},
		{"no address", func(f *Facts) { f.Address = "" }, ErrFacts, "address"},
		{"no operator", func(f *Facts) { f.Operator = "" }, ErrFacts, "operator"},
		{"no unit location", func(f *Facts) { f.UnitLocation = "" }, ErrFacts, "unit location"},
		{"no doors", func(f *Facts) { f.Doors = nil }, ErrFacts, "no doors"},
		{"empty door", func(f *Facts) { f.Doors = []string{"main", ""} }, ErrFacts, "door 2"},
		{"too many doors", func(f *Facts) { f.Doors = strings.Fields("a b c d e") }, ErrFacts, "5 doors"},
		{"empty recipient", func(f *Facts) { f.Recipients = []string{""} }, ErrFacts, "recipient 1"},
		{"too many recipients", func(f *Facts) { f.Recipients = strings.Fields("a b c d e") }, ErrFacts, "5 recipients"},
		{"no contact name", func(f *Facts) { f.Contact.Name = "" }, ErrFacts, "contact name"},
		{"web-only contact", func(f *Facts) { f.Contact.Phone, f.Contact.Email = "", "" }, ErrFacts, "phone or an email"},
		{"no policy", func(f *Facts) { f.PolicyURL = "" }, ErrFacts, "policy URL"},
		{"policy not a web address", func(f *Facts) { f.PolicyURL = "ftp://x.example/p" }, ErrFacts, "http or https"},
		{"policy without host", func(f *Facts) { f.PolicyURL = "https:///p" }, ErrFacts, "http or https"},
		{"no retention", func(f *Facts) { f.Retention = 0 }, ErrFacts, "retention"},
		{"retention in hours", func(f *Facts) { f.Retention = 36 * time.Hour }, ErrFacts, "whole number of days"},
		{"no installation date", func(f *Facts) { f.InstalledAt = time.Time{} }, ErrFacts, "installation date"},
		{"line break", func(f *Facts) { f.Building = "Maple\nCourt" }, ErrFacts, "line break"},
		{"spaces around", func(f *Facts) { f.Operator = " Parcelway" }, ErrFacts, "spaces"},
		{"too long", func(f *Facts) { f.UnitLocation = long }, ErrFacts, "at most 100"},
		{"door too long", func(f *Facts) { f.Doors = []string{strings.Repeat("d", maxDoor+1)} }, ErrFacts, "door 1 is 51"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := facts(English)
			tt.change(&f)
			_, err := Text(f)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Text: error %v, want %v", err, tt.want)
			}
			if !strings.Contains(err.Error(), tt.say) {
				t.Errorf("Text: error %q does not say %q", err, tt.say)
			}
			if _, err := PDF(f, time.Now()); !errors.Is(err, tt.want) {
				t.Errorf("PDF: error %v, want %v", err, tt.want)
			}
		})
	}
}
