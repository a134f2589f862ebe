package sales

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		change func(*Visit)
		field  string // "" means valid
		msg    string
	}{
		{"valid", func(*Visit) {}, "", ""},
		{"no-answer needs no contact", func(v *Visit) { v.Outcome, v.Contact = NoAnswer, Contact{} }, "", ""},
		{"missing building", func(v *Visit) { v.Building.Name = "  " }, "building.name", "is required"},
		{"missing address", func(v *Visit) { v.Building.Address = "" }, "building.address", "is required"},
		{"missing city", func(v *Visit) { v.Building.City = "" }, "building.city", "is required"},
		{"missing units", func(v *Visit) { v.Building.Units = 0 }, "building.units", "is required"},
		{"negative units", func(v *Visit) { v.Building.Units = -3 }, "building.units", "from 1 to"},
		{"too many units", func(v *Visit) { v.Building.Units = 100_001 }, "building.units", "from 1 to"},
		{"missing rep", func(v *Visit) { v.Rep = "" }, "rep", "is required"},
		{"missing outcome", func(v *Visit) { v.Outcome = "" }, "outcome", "is required"},
		{"unknown outcome", func(v *Visit) { v.Outcome = "maybe" }, "outcome", `"maybe" is not an outcome`},
		{"contact needed when answered", func(v *Visit) { v.Contact.Name = "" }, "contact.name", "is required"},
		{"role needed when answered", func(v *Visit) { v.Contact.Role = "" }, "contact.role", "is required"},
		{"unknown role", func(v *Visit) { v.Contact.Role = "janitor" }, "contact.role", "not a role"},
		{"bad email", func(v *Visit) { v.Contact.Email = "ana@" }, "contact.email", "not an email"},
		{"email with name part", func(v *Visit) { v.Contact.Email = "Ana <ana@x.example>" }, "contact.email", "not an email"},
		{"email without dot in domain", func(v *Visit) { v.Contact.Email = "ana@localhost" }, "contact.email", "not an email"},
		{"phone letters", func(v *Visit) { v.Contact.Phone = "call me" }, "contact.phone", "not a phone"},
		{"phone too short", func(v *Visit) { v.Contact.Phone = "12345" }, "contact.phone", "7 to 15"},
		{"phone too long", func(v *Visit) { v.Contact.Phone = "+1234567890123456" }, "contact.phone", "7 to 15"},
		{"phone plus in middle", func(v *Visit) { v.Contact.Phone = "555+0100200" }, "contact.phone", "not a phone"},
		{"unknown objection", func(v *Visit) { v.Objections = []Objection{"smell"} }, "objections", "not in the objection list"},
		{"duplicate objection", func(v *Visit) { v.Objections = []Objection{Cost, Cost} }, "objections", "twice"},
		{"future visit", func(v *Visit) { v.VisitedAt = testNow.Add(time.Hour) }, "visited_at", "in the future"},
		{"no time", func(v *Visit) { v.VisitedAt = time.Time{} }, "visited_at", "is required"},
		{"follow-up needs date", func(v *Visit) { v.Outcome = FollowUp }, "follow_up", "is required"},
		{"follow-up date bad", func(v *Visit) { v.FollowUp = "next week" }, "follow_up", "not a date"},
		{"follow-up before visit", func(v *Visit) { v.FollowUp = "2026-11-01" }, "follow_up", "before the visit"},
		{"notes too long", func(v *Visit) { v.Notes = strings.Repeat("x", 4001) }, "notes", "at most 4000"},
		{"control character", func(v *Visit) { v.Building.Name = "Elm\x1b[31m" }, "building.name", "control character"},
		{"invalid utf-8", func(v *Visit) { v.Notes = "\xff\xfe" }, "notes", "UTF-8"},
		{"newline allowed in notes", func(v *Visit) { v.Notes = "line one\nline two" }, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			v := validVisit()
			tt.change(&v)
			v.Normalize()
			err := v.Validate(testNow)
			if tt.field == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			var ve *ValidationError
			if !errors.As(err, &ve) || !errors.Is(err, ErrInvalid) {
				t.Fatalf("Validate error = %v, want a ValidationError", err)
			}
			for _, p := range ve.Problems {
				if p.Field == tt.field && strings.Contains(p.Message, tt.msg) {
					return
				}
			}
			t.Fatalf("problems %+v lack %s: %q", ve.Problems, tt.field, tt.msg)
		})
	}
}

func TestValidateReportsEverything(t *testing.T) {
	t.Parallel()
	err := (&Visit{}).Validate(testNow)
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("empty visit: %v", err)
	}
	got := map[string]bool{}
	for _, p := range ve.Problems {
		got[p.Field] = true
	}
	for _, f := range []string{"rep", "building.name", "building.address", "building.city", "building.units", "visited_at", "outcome", "contact.name", "contact.role"} {
		if !got[f] {
			t.Errorf("empty visit: no problem reported for %s", f)
		}
	}
}

func TestNormalize(t *testing.T) {
	t.Parallel()
	v := Visit{Rep: " Dana ", Contact: Contact{Email: " Ana@Example.COM "}, VisitedAt: time.Date(2026, 1, 2, 3, 4, 5, 999, time.FixedZone("x", 3600))}
	v.Normalize()
	if v.Rep != "Dana" || v.Contact.Email != "ana@example.com" {
		t.Fatalf("Normalize: %+v", v)
	}
	if v.VisitedAt.Location() != time.UTC || v.VisitedAt.Nanosecond() != 0 || v.VisitedAt.Hour() != 2 {
		t.Fatalf("VisitedAt = %v", v.VisitedAt)
	}
	if v.Objections == nil {
		t.Fatal("Objections left nil; JSON would say null")
	}
}
