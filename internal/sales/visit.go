package sales

import (
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/latchkey/latchkey/internal/incentive"
)

// Outcome is how a visit ended.
type Outcome string

// Visit outcomes, in funnel order.
const (
	NoAnswer      Outcome = "no-answer"
	NotInterested Outcome = "not-interested"
	FollowUp      Outcome = "follow-up"
	Interested    Outcome = "interested"
	Signed        Outcome = "signed"
)

// Outcomes lists every outcome in funnel order.
func Outcomes() []Outcome { return []Outcome{NoAnswer, NotInterested, FollowUp, Interested, Signed} }

// Role is the contact's standing in the building.
type Role string

// Contact roles.
const (
	Manager        Role = "manager"
	Owner          Role = "owner"
	Superintendent Role = "superintendent"
	Board          Role = "board"
)

// Roles lists every contact role.
func Roles() []Role { return []Role{Manager, Owner, Superintendent, Board} }

// Objection is one concern from the fixed vocabulary; anything else goes in
// Visit.ObjectionNotes as free text.
type Objection string

// The objection vocabulary.
const (
	Privacy            Objection = "privacy"
	Security           Objection = "security"
	TenantNotice       Objection = "tenant-notice"
	Liability          Objection = "liability"
	Cost               Objection = "cost"
	AlreadyHasSystem   Objection = "already-has-system"
	NeedsBoardApproval Objection = "needs-board-approval"
	Insurance          Objection = "insurance"
	DoorDamage         Objection = "door-damage"
	ContractTerms      Objection = "contract-terms"
)

// Objections lists the vocabulary.
func Objections() []Objection {
	return []Objection{Privacy, Security, TenantNotice, Liability, Cost, AlreadyHasSystem,
		NeedsBoardApproval, Insurance, DoorDamage, ContractTerms}
}

// Building is where the visit took place.
type Building struct {
	Name    string `json:"name"`
	Address string `json:"address"`
	City    string `json:"city"`
	Units   int    `json:"units"`
}

// Contact is who the rep spoke to.
type Contact struct {
	Name  string `json:"name,omitempty"`
	Role  Role   `json:"role,omitempty"`
	Phone string `json:"phone,omitempty"`
	Email string `json:"email,omitempty"`
}

// Visit is one revision of a visit record. Revisions are immutable: an edit
// is a new revision with the same ID, a delete a revision with Deleted set.
type Visit struct {
	ID             string          `json:"id"`
	Revision       int             `json:"revision"`
	Deleted        bool            `json:"deleted,omitempty"`
	RecordedAt     time.Time       `json:"recorded_at"`
	VisitedAt      time.Time       `json:"visited_at"`
	Rep            string          `json:"rep"`
	Building       Building        `json:"building"`
	Contact        Contact         `json:"contact"`
	Outcome        Outcome         `json:"outcome"`
	Objections     []Objection     `json:"objections"`
	ObjectionNotes string          `json:"objection_notes,omitempty"`
	Incentive      incentive.Offer `json:"incentive"`
	FollowUp       string          `json:"follow_up,omitempty"` // YYYY-MM-DD, or empty
	Notes          string          `json:"notes,omitempty"`
}

// DateLayout is the layout of Visit.FollowUp.
const DateLayout = "2006-01-02"

// Limits on free text, so a pasted document cannot bloat every record.
const (
	maxName  = 200
	maxNotes = 4000
	maxUnits = 100_000
)

// Problem is one reason a visit is not valid. Field names the part of the
// visit, in the dotted form the JSON uses (building.name, contact.email).
type Problem struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// ValidationError lists everything wrong with a visit at once.
type ValidationError struct{ Problems []Problem }

// ErrInvalid is wrapped by every ValidationError.
var ErrInvalid = errors.New("invalid visit")

func (e *ValidationError) Error() string {
	var parts []string
	for _, p := range e.Problems {
		parts = append(parts, p.Field+": "+p.Message)
	}
	return strings.Join(parts, "; ")
}

// Unwrap lets errors.Is(err, ErrInvalid) match.
func (e *ValidationError) Unwrap() error { return ErrInvalid }

// Normalize trims surrounding space from text fields, lower-cases the email
// and sorts nothing else; it is applied before validation and storage.
func (v *Visit) Normalize() {
	trim := strings.TrimSpace
	v.Rep = trim(v.Rep)
	v.Building.Name, v.Building.Address, v.Building.City = trim(v.Building.Name), trim(v.Building.Address), trim(v.Building.City)
	v.Contact.Name, v.Contact.Phone = trim(v.Contact.Name), trim(v.Contact.Phone)
	v.Contact.Email = strings.ToLower(trim(v.Contact.Email))
	v.ObjectionNotes, v.Notes, v.FollowUp = trim(v.ObjectionNotes), trim(v.Notes), trim(v.FollowUp)
	v.VisitedAt = v.VisitedAt.UTC().Truncate(time.Second)
	if v.Objections == nil {
		v.Objections = []Objection{}
	}
}

// Validate checks the visit against the rules a rep's record must meet. now
// bounds the visit time (a visit cannot be logged for the future), and its
// location is the rep's: a follow-up date is a calendar date there.
func (v *Visit) Validate(now time.Time) error {
	var ps []Problem
	add := func(field, format string, args ...any) {
		ps = append(ps, Problem{Field: field, Message: fmt.Sprintf(format, args...)})
	}
	check := func(field string, err error) {
		if err != nil {
			add(field, "%s", err.Error())
		}
	}
	check("rep", CheckText(v.Rep, true, maxName))
	check("building.name", CheckText(v.Building.Name, true, maxName))
	check("building.address", CheckText(v.Building.Address, true, maxName))
	check("building.city", CheckText(v.Building.City, true, maxName))
	check("building.units", CheckUnits(v.Building.Units))
	if v.VisitedAt.IsZero() {
		add("visited_at", "is required")
	} else if v.VisitedAt.After(now.Add(5 * time.Minute)) {
		add("visited_at", "%s is in the future", v.VisitedAt.Format(time.RFC3339))
	}
	check("outcome", CheckOutcome(string(v.Outcome)))
	// Someone answered unless nobody did: then we know who and in what role.
	needContact := v.Outcome != NoAnswer
	check("contact.name", CheckText(v.Contact.Name, needContact, maxName))
	if needContact || v.Contact.Role != "" {
		check("contact.role", CheckRole(string(v.Contact.Role)))
	}
	check("contact.phone", CheckPhone(v.Contact.Phone))
	check("contact.email", CheckEmail(v.Contact.Email))
	seen := map[Objection]bool{}
	for _, o := range v.Objections {
		if err := CheckObjection(string(o)); err != nil {
			add("objections", "%s", err.Error())
		} else if seen[o] {
			add("objections", "%q is listed twice", o)
		}
		seen[o] = true
	}
	check("objection_notes", CheckText(v.ObjectionNotes, false, maxNotes))
	check("notes", CheckText(v.Notes, false, maxNotes))
	if v.Outcome == FollowUp && v.FollowUp == "" {
		add("follow_up", "is required when the outcome is follow-up")
	}
	if v.FollowUp != "" {
		d, err := time.Parse(DateLayout, v.FollowUp)
		switch {
		case err != nil:
			add("follow_up", "%q is not a date like 2026-12-01", v.FollowUp)
		case !v.VisitedAt.IsZero() && d.Before(dateOf(v.VisitedAt.In(now.Location()))):
			add("follow_up", "%s is before the visit", v.FollowUp)
		}
	}
	if len(ps) > 0 {
		return &ValidationError{Problems: ps}
	}
	return nil
}

// dateOf is t's calendar date, as a UTC midnight comparable with a parsed
// DateLayout value.
func dateOf(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// CheckText checks a free-text field: present when required, at most max
// characters, valid UTF-8, no control characters except newline and tab.
func CheckText(s string, required bool, max int) error {
	s = strings.TrimSpace(s)
	if s == "" {
		if required {
			return errors.New("is required")
		}
		return nil
	}
	if !utf8.ValidString(s) {
		return errors.New("is not valid UTF-8 text")
	}
	if n := utf8.RuneCountInString(s); n > max {
		return fmt.Errorf("is %d characters long, at most %d are allowed", n, max)
	}
	for _, r := range s {
		if unicode.IsControl(r) && r != '\n' && r != '\t' {
			return fmt.Errorf("contains a control character (%U)", r)
		}
	}
	return nil
}

// CheckUnits checks a building's count of apartments.
func CheckUnits(n int) error {
	if n == 0 {
		return errors.New("is required")
	}
	if n < 1 || n > maxUnits {
		return fmt.Errorf("must be a number of apartments from 1 to %d", maxUnits)
	}
	return nil
}

// CheckOutcome checks an outcome name.
func CheckOutcome(s string) error {
	for _, o := range Outcomes() {
		if string(o) == s {
			return nil
		}
	}
	if s == "" {
		return fmt.Errorf("is required (one of %s)", join(Outcomes()))
	}
	return fmt.Errorf("%q is not an outcome (one of %s)", s, join(Outcomes()))
}

// CheckRole checks a contact role name.
func CheckRole(s string) error {
	for _, r := range Roles() {
		if string(r) == s {
			return nil
		}
	}
	if s == "" {
		return fmt.Errorf("is required (one of %s)", join(Roles()))
	}
	return fmt.Errorf("%q is not a role (one of %s)", s, join(Roles()))
}

// CheckObjection checks an objection against the vocabulary.
func CheckObjection(s string) error {
	for _, o := range Objections() {
		if string(o) == s {
			return nil
		}
	}
	return fmt.Errorf("%q is not in the objection list (%s); put anything else in the objection notes", s, join(Objections()))
}

// CheckPhone accepts an empty phone or 7 to 15 digits (E.164's limit) with
// an optional leading + and spaces, dots, dashes or brackets between.
func CheckPhone(s string) error {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil
	}
	digits := 0
	for i, r := range s {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case r == '+' && i == 0:
		case strings.ContainsRune(" .-()", r):
		default:
			return fmt.Errorf("%q is not a phone number (digits, an optional leading +, spaces or dashes)", s)
		}
	}
	if digits < 7 || digits > 15 {
		return fmt.Errorf("%q has %d digits; a phone number has 7 to 15", s, digits)
	}
	return nil
}

// CheckEmail accepts an empty email or one bare address.
func CheckEmail(s string) error {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || !strings.Contains(s[strings.LastIndex(s, "@"):], ".") {
		return fmt.Errorf("%q is not an email address like name@example.com", s)
	}
	return nil
}

func join[T ~string](xs []T) string {
	var out []string
	for _, x := range xs {
		out = append(out, string(x))
	}
	return strings.Join(out, ", ")
}
