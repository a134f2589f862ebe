package notice

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// Languages of the notice, as BCP 47 primary language tags.
const (
	English = "en"
	Spanish = "es"
)

// Languages returns the languages a notice can be made in, in a fixed order.
func Languages() []string { return []string{English, Spanish} }

var (
	// ErrFacts means the facts are incomplete or cannot be printed as they
	// are; the error names the field.
	ErrFacts = errors.New("notice facts")
	// ErrLang is a language the notice is not written in.
	ErrLang = errors.New("no notice in this language")
)

// Contact is whom tenants reach with questions and objections. Name and at
// least one of Phone and Email are required: an objection must be possible
// without a computer, and a web page alone does not answer.
type Contact struct {
	Name  string `json:"name"`
	Phone string `json:"phone,omitempty"`
	Email string `json:"email,omitempty"`
	Web   string `json:"web,omitempty"`
}

// Facts are what a notice says about one installation. The caller copies
// them from the job and the consent the building manager signed, so the
// notice tells tenants what was agreed.
type Facts struct {
	// Building is the building's name as tenants know it (or its street
	// address again when it has no name); Address is its postal address.
	Building string `json:"building"`
	Address  string `json:"address"`
	// Doors are the doors the unit can open, in words ("main entrance").
	Doors []string `json:"doors"`
	// AccessHours is when couriers may open the doors, in the consent's
	// form: "Mo-Fr 08:00-20:00", "Mo-Fr 08:00-20:00; Sa 09:00-13:00".
	// Empty (or "24/7") means at any time. Forms the notice does not know
	// are printed as given.
	AccessHours string `json:"access_hours,omitempty"`
	// Operator is the delivery operator that runs the unit.
	Operator string  `json:"operator"`
	Contact  Contact `json:"contact"`
	// PolicyURL is where the full privacy and access policy is (http or
	// https).
	PolicyURL string `json:"policy_url"`
	// Retention is how long the records of each door opening are kept: a
	// whole number of days, at least one.
	Retention time.Duration `json:"retention"`
	// Recipients are the others who receive data and what they receive, one
	// line each: "Swift Couriers: only that the door opened, and when".
	// None means no one but the operator.
	Recipients []string `json:"recipients,omitempty"`
	// InstalledAt is when the unit was installed; the notice prints its
	// date in the time's own location.
	InstalledAt time.Time `json:"installed_at"`
	// UnitLocation is where the unit is, so tenants can find it ("inside
	// the intercom panel by the main entrance").
	UnitLocation string `json:"unit_location"`
	// StartsOn, when set, is the first day couriers may use the unit (the
	// consent's "tenant notice by" date); the notice says access does not
	// start before it, which is the tenants' time to object.
	StartsOn time.Time `json:"starts_on,omitzero"`
	// Lang is the notice's language: English or Spanish.
	Lang string `json:"lang"`
}

// Limits that keep a notice on one page and every field on a line or two.
// They are measured on the PDF layout: a notice with every field at its
// limit still fits one US Letter page (TestPDF, "longest").
const (
	maxField      = 100
	maxDoor       = 50
	maxDoors      = 4
	maxRecipients = 4
)

// Validate reports whether f can be printed as a notice: every required
// fact present, on one line, and short enough for one page.
func (f Facts) Validate() error {
	if !slices.Contains(Languages(), f.Lang) {
		return fmt.Errorf("%w: %q (want one of %s)", ErrLang, f.Lang, strings.Join(Languages(), ", "))
	}
	fields := []struct {
		name, value string
		required    bool
	}{
		{"building", f.Building, true},
		{"address", f.Address, true},
		{"operator", f.Operator, true},
		{"unit location", f.UnitLocation, true},
		{"access hours", f.AccessHours, false},
		{"contact name", f.Contact.Name, true},
		{"contact phone", f.Contact.Phone, false},
		{"contact email", f.Contact.Email, false},
		{"contact web", f.Contact.Web, false},
		{"policy URL", f.PolicyURL, true},
	}
	for i, d := range f.Doors {
		fields = append(fields, struct {
			name, value string
			required    bool
		}{"door " + strconv.Itoa(i+1), d, true})
	}
	for i, r := range f.Recipients {
		fields = append(fields, struct {
			name, value string
			required    bool
		}{"recipient " + strconv.Itoa(i+1), r, true})
	}
	for _, fd := range fields {
		if err := checkField(fd.name, fd.value, fd.required); err != nil {
			return err
		}
	}
	for i, d := range f.Doors {
		if n := len([]rune(d)); n > maxDoor {
			return fmt.Errorf("%w: door %d is %d characters (at most %d)", ErrFacts, i+1, n, maxDoor)
		}
	}
	switch {
	case len(f.Doors) == 0:
		return fmt.Errorf("%w: no doors (name each door the unit can open)", ErrFacts)
	case len(f.Doors) > maxDoors:
		return fmt.Errorf("%w: %d doors (at most %d fit the page)", ErrFacts, len(f.Doors), maxDoors)
	case len(f.Recipients) > maxRecipients:
		return fmt.Errorf("%w: %d recipients (at most %d fit the page)", ErrFacts, len(f.Recipients), maxRecipients)
	case f.Contact.Phone == "" && f.Contact.Email == "":
		return fmt.Errorf("%w: the contact needs a phone or an email, so tenants can object without a computer", ErrFacts)
	case f.Retention < 24*time.Hour || f.Retention%(24*time.Hour) != 0:
		return fmt.Errorf("%w: retention %s (want a whole number of days, at least 1)", ErrFacts, f.Retention)
	case f.InstalledAt.IsZero():
		return fmt.Errorf("%w: no installation date", ErrFacts)
	}
	if u, err := url.Parse(f.PolicyURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%w: policy URL %q (want an http or https address)", ErrFacts, f.PolicyURL)
	}
	return nil
}

// checkField refuses an empty required field, control characters (a line
// break would break the layout and the content check) and overlong values.
func checkField(name, value string, required bool) error {
	switch {
	case required && strings.TrimSpace(value) == "":
		return fmt.Errorf("%w: no %s", ErrFacts, name)
	case strings.IndexFunc(value, unicode.IsControl) >= 0:
		return fmt.Errorf("%w: %s has a line break or control character", ErrFacts, name)
	case len([]rune(value)) > maxField:
		return fmt.Errorf("%w: %s is %d characters (at most %d fit the page)", ErrFacts, name, len([]rune(value)), maxField)
	case value != strings.TrimSpace(value):
		return fmt.Errorf("%w: %s has leading or trailing spaces", ErrFacts, name)
	}
	return nil
}

// words are the bits of a language that the notice fills in from code
// rather than from a template.
type words struct {
	months          [12]string
	days            [7]string // Monday first
	and             string
	everyDay        string
	always          string
	dateFmt         func(d int, month string, y int) string
	hoursRange      func(from, to string) string
	dayRange        func(from, to string) string
	joinRangeAndDay func(days, hours string) string
}

var lang = map[string]words{
	English: {
		months:          [12]string{"January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"},
		days:            [7]string{"Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"},
		and:             "and",
		everyDay:        "every day",
		always:          "at any time, day and night",
		dateFmt:         func(d int, m string, y int) string { return fmt.Sprintf("%d %s %d", d, m, y) },
		hoursRange:      func(from, to string) string { return from + " to " + to },
		dayRange:        func(from, to string) string { return from + " to " + to },
		joinRangeAndDay: func(days, hours string) string { return days + ", " + hours },
	},
	Spanish: {
		months:          [12]string{"enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre", "octubre", "noviembre", "diciembre"},
		days:            [7]string{"lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo"},
		and:             "y",
		everyDay:        "todos los días",
		always:          "a cualquier hora, de día y de noche",
		dateFmt:         func(d int, m string, y int) string { return fmt.Sprintf("%d de %s de %d", d, m, y) },
		hoursRange:      func(from, to string) string { return "de " + from + " a " + to },
		dayRange:        func(from, to string) string { return "de " + from + " a " + to },
		joinRangeAndDay: func(days, hours string) string { return days + ", " + hours },
	},
}

// date prints t's calendar date in words, in t's own location.
func (w words) date(t time.Time) string {
	return w.dateFmt(t.Day(), w.months[t.Month()-1], t.Year())
}

// list joins items as a sentence does: "a", "a and b", "a, b and c".
func (w words) list(items []string) string {
	switch len(items) {
	case 0:
		return ""
	case 1:
		return items[0]
	}
	return strings.Join(items[:len(items)-1], ", ") + " " + w.and + " " + items[len(items)-1]
}

var dayCodes = []string{"Mo", "Tu", "We", "Th", "Fr", "Sa", "Su"}

// hours turns the consent's access hours into words: "Mo-Fr 08:00-20:00;
// Sa 09:00-13:00" is "Monday to Friday, 08:00 to 20:00; Saturday, 09:00 to
// 13:00". A tenant should not have to decode "Mo-Fr". A form it does not
// know is returned as given, which is still better than nothing.
func (w words) hours(s string) string {
	s = strings.TrimSpace(s)
	if s == "" || s == "24/7" {
		return w.always
	}
	var rules []string
	for rule := range strings.SplitSeq(s, ";") {
		fields := strings.Fields(rule)
		var days, times string
		switch len(fields) {
		case 1:
			days, times = "", fields[0]
		case 2:
			days, times = fields[0], fields[1]
		default:
			return s
		}
		d, ok := w.dayWords(days)
		if !ok {
			return s
		}
		t, ok := w.timeWords(times)
		if !ok {
			return s
		}
		rules = append(rules, w.joinRangeAndDay(d, t))
	}
	return strings.Join(rules, "; ")
}

func (w words) dayWords(s string) (string, bool) {
	if s == "" || s == "Mo-Su" {
		return w.everyDay, true
	}
	var parts []string
	for part := range strings.SplitSeq(s, ",") {
		from, to, isRange := strings.Cut(part, "-")
		i, j := slices.Index(dayCodes, from), slices.Index(dayCodes, to)
		switch {
		case i < 0:
			return "", false
		case !isRange:
			parts = append(parts, w.days[i])
		case j < 0:
			return "", false
		default:
			parts = append(parts, w.dayRange(w.days[i], w.days[j]))
		}
	}
	return w.list(parts), true
}

func (w words) timeWords(s string) (string, bool) {
	var parts []string
	for part := range strings.SplitSeq(s, ",") {
		from, to, ok := strings.Cut(part, "-")
		if !ok || !clock(from) || !clock(to) {
			return "", false
		}
		parts = append(parts, w.hoursRange(from, to))
	}
	return w.list(parts), true
}

// clock reports whether s is a time of day HH:MM, 00:00 to 24:00.
func clock(s string) bool {
	if len(s) != 5 || s[2] != ':' {
		return false
	}
	h, err1 := strconv.Atoi(s[:2])
	m, err2 := strconv.Atoi(s[3:])
	return err1 == nil && err2 == nil && h >= 0 && m >= 0 && m < 60 && (h < 24 || h == 24 && m == 0)
}
