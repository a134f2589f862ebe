// Package visitform is the form `latchkey visit log` and `visit edit` show on
// a terminal. It only collects text: each field is checked with the rules of
// internal/sales as it is entered, and the result is checked again there.
package visitform

import (
	"context"
	"errors"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/charmbracelet/huh"

	"github.com/latchkey/latchkey/internal/humantime"
	"github.com/latchkey/latchkey/internal/incentive"
	"github.com/latchkey/latchkey/internal/sales"
	"github.com/latchkey/latchkey/internal/tui/forms"
)

// ErrAborted is returned when the user leaves the form (forms.ErrAborted).
var ErrAborted = forms.ErrAborted

// Options set up the form.
type Options struct {
	Title   string
	Now     time.Time
	NoColor bool
	In      io.Reader
	Out     io.Writer
}

// Draft is the form's text for each field.
type Draft struct {
	Building, Address, City, Units string
	Contact, Role, Phone, Email    string
	Outcome                        string
	Objections                     []string
	ObjectionNotes, Incentive      string
	FollowUp, Notes                string
}

// FromVisit fills a draft from v.
func FromVisit(v sales.Visit) Draft {
	d := Draft{Building: v.Building.Name, Address: v.Building.Address, City: v.Building.City,
		Contact: v.Contact.Name, Role: string(v.Contact.Role), Phone: v.Contact.Phone, Email: v.Contact.Email,
		Outcome: string(v.Outcome), ObjectionNotes: v.ObjectionNotes, Incentive: v.Incentive.String(),
		FollowUp: v.FollowUp, Notes: v.Notes}
	if v.Building.Units > 0 {
		d.Units = strconv.Itoa(v.Building.Units)
	}
	for _, o := range v.Objections {
		d.Objections = append(d.Objections, string(o))
	}
	return d
}

// Apply writes the draft back onto v.
func (d Draft) Apply(v *sales.Visit, now time.Time) error {
	units, err := forms.ParseInt(d.Units, "units: not a whole number")
	if err != nil {
		return err
	}
	offer, err := incentive.Parse(d.Incentive)
	if err != nil {
		return err
	}
	follow, err := humantime.ParseDate(d.FollowUp, now)
	if err != nil {
		return err
	}
	v.Building = sales.Building{Name: d.Building, Address: d.Address, City: d.City, Units: units}
	v.Contact = sales.Contact{Name: d.Contact, Role: sales.Role(d.Role), Phone: d.Phone, Email: d.Email}
	v.Outcome = sales.Outcome(d.Outcome)
	v.Objections = nil
	for _, o := range d.Objections {
		v.Objections = append(v.Objections, sales.Objection(o))
	}
	v.ObjectionNotes, v.Incentive, v.FollowUp, v.Notes = d.ObjectionNotes, offer, follow, d.Notes
	return nil
}

// Run shows the form prefilled from v and, when it is submitted, writes the
// answers back onto v.
func Run(ctx context.Context, v *sales.Visit, o Options) error {
	d := FromVisit(*v)
	if d.Incentive == "" {
		d.Incentive = "none"
	}
	if err := forms.Run(ctx, New(&d, o)); err != nil {
		return err
	}
	return d.Apply(v, o.Now)
}

func text(required bool, max int) func(string) error {
	return func(s string) error { return sales.CheckText(s, required, max) }
}

// New builds the form over d.
func New(d *Draft, o Options) *huh.Form {
	roleOpts := forms.OptionsWithNone("(none)", sales.Roles())
	outcomes, objections := forms.Options(sales.Outcomes()), forms.Options(sales.Objections())
	needContact := func(s string) error {
		return sales.CheckText(s, sales.Outcome(d.Outcome) != sales.NoAnswer, 200)
	}
	form := huh.NewForm(
		huh.NewGroup(
			huh.NewNote().Title(o.Title).Description(o.Title+" · Tab/Enter next field · Shift+Tab back · Esc or Ctrl+C leaves without saving"),
			huh.NewInput().Title("Building name").Value(&d.Building).Validate(text(true, 200)),
			huh.NewInput().Title("Street address").Value(&d.Address).Validate(text(true, 200)),
			huh.NewInput().Title("City").Value(&d.City).Validate(text(true, 200)),
			huh.NewInput().Title("Apartments").Value(&d.Units).Validate(forms.Int("a whole number of apartments", sales.CheckUnits)),
		),
		huh.NewGroup(
			huh.NewSelect[string]().Title("Outcome").Options(outcomes...).Value(&d.Outcome),
			huh.NewInput().Title("Contact name").Description("Needed unless nobody answered").Value(&d.Contact).Validate(needContact),
			huh.NewSelect[string]().Title("Contact role").Options(roleOpts...).Value(&d.Role).Validate(func(s string) error {
				if s == "" && sales.Outcome(d.Outcome) == sales.NoAnswer {
					return nil
				}
				return sales.CheckRole(s)
			}),
			huh.NewInput().Title("Phone").Value(&d.Phone).Validate(sales.CheckPhone),
			huh.NewInput().Title("Email").Value(&d.Email).Validate(sales.CheckEmail),
		),
		huh.NewGroup(
			huh.NewMultiSelect[string]().Title("Objections raised").Options(objections...).Value(&d.Objections),
			huh.NewInput().Title("Other concerns, in their words").Value(&d.ObjectionNotes).Validate(text(false, 4000)),
			huh.NewInput().Title("Incentive offered").Description("none, or KIND:AMOUNT:CURRENCY such as gift-card:100:USD").
				Value(&d.Incentive).Validate(func(s string) error { _, err := incentive.Parse(s); return err }),
			huh.NewInput().Title("Follow-up date").Description("2026-12-01, tomorrow, +3d, +2w; required for follow-up").
				Value(&d.FollowUp).Validate(func(s string) error {
				if strings.TrimSpace(s) == "" && sales.Outcome(d.Outcome) == sales.FollowUp {
					return errors.New("a follow-up outcome needs a date")
				}
				return forms.Date(o.Now)(s)
			}),
			huh.NewText().Title("Notes").Value(&d.Notes).Validate(text(false, 4000)),
		),
	)
	return forms.Prepare(form, forms.IO{In: o.In, Out: o.Out, NoColor: o.NoColor})
}
