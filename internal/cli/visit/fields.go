package visit

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/latchkey/latchkey/internal/cli/cmdutil"
	"github.com/latchkey/latchkey/internal/humantime"
	"github.com/latchkey/latchkey/internal/incentive"
	"github.com/latchkey/latchkey/internal/sales"
)

// fieldFlags are the visit's fields as flags, shared by log and edit.
type fieldFlags struct {
	building, address, city                string
	units                                  int
	contact, role, phone, email            string
	rep, when, outcome                     string
	objections                             []string
	objectionNotes, offer, followUp, notes string
}

// flagFor names the flag that sets the field of a sales.Problem.
func flagFor(field string) string {
	switch field {
	case "building.name":
		return "--building"
	case "building.address":
		return "--address"
	case "building.city":
		return "--city"
	case "building.units":
		return "--units"
	case "contact.name":
		return "--contact"
	case "contact.role":
		return "--role"
	case "contact.phone":
		return "--phone"
	case "contact.email":
		return "--email"
	case "visited_at":
		return "--when"
	case "objections":
		return "--objection"
	}
	return "--" + strings.ReplaceAll(field, "_", "-")
}

func (ff *fieldFlags) register(cmd *cobra.Command) {
	fs := cmd.Flags()
	fs.StringVar(&ff.building, "building", "", "building name, as on the door or the listing")
	fs.StringVar(&ff.address, "address", "", "street address of the building")
	fs.StringVar(&ff.city, "city", "", "city of the building")
	fs.IntVar(&ff.units, "units", 0, "number of apartments in the building")
	fs.StringVar(&ff.contact, "contact", "", "name of the person you spoke to")
	fs.StringVar(&ff.role, "role", "", "their role: "+strings.Join(names(sales.Roles()), ", "))
	fs.StringVar(&ff.phone, "phone", "", "their phone number")
	fs.StringVar(&ff.email, "email", "", "their email address")
	fs.StringVar(&ff.rep, "rep", "", "sales rep who made the visit (default: config rep)")
	fs.StringVar(&ff.when, "when", "now", "when the visit took place: 2026-11-25, '2026-11-25 14:30', RFC 3339, or an age like 2h")
	fs.StringVar(&ff.outcome, "outcome", "", "how it ended: "+strings.Join(names(sales.Outcomes()), ", "))
	fs.StringSliceVar(&ff.objections, "objection", nil, "objections raised, repeat or comma-separate: "+strings.Join(names(sales.Objections()), ", "))
	fs.StringVar(&ff.objectionNotes, "objection-notes", "", "other concerns in their words")
	fs.StringVar(&ff.offer, "incentive", "none", "incentive offered: none, or KIND:AMOUNT:CURRENCY such as gift-card:100:USD")
	fs.StringVar(&ff.followUp, "follow-up", "", "follow-up date: 2026-12-01, tomorrow, +3d, +2w")
	fs.StringVar(&ff.notes, "notes", "", "anything else worth knowing next time")
	_ = cmd.RegisterFlagCompletionFunc("role", fixed(names(sales.Roles())))
	_ = cmd.RegisterFlagCompletionFunc("outcome", fixed(names(sales.Outcomes())))
	_ = cmd.RegisterFlagCompletionFunc("objection", fixed(names(sales.Objections())))
	var kinds []string
	for _, k := range incentive.Kinds() {
		kinds = append(kinds, string(k)+":")
	}
	_ = cmd.RegisterFlagCompletionFunc("incentive", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return append([]string{"none"}, kinds...), cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveNoSpace
	})
}

// apply copies flags onto v: every flag when all is set (log), otherwise only
// those given on the command line (edit). Values that cannot be parsed are
// usage errors naming the flag.
func (ff *fieldFlags) apply(fs *pflag.FlagSet, v *sales.Visit, now time.Time, all bool) error {
	set := func(name string) bool { return all || fs.Changed(name) }
	if set("building") {
		v.Building.Name = ff.building
	}
	if set("address") {
		v.Building.Address = ff.address
	}
	if set("city") {
		v.Building.City = ff.city
	}
	if set("units") {
		v.Building.Units = ff.units
	}
	if set("contact") {
		v.Contact.Name = ff.contact
	}
	if set("role") {
		v.Contact.Role = sales.Role(strings.ToLower(strings.TrimSpace(ff.role)))
	}
	if set("phone") {
		v.Contact.Phone = ff.phone
	}
	if set("email") {
		v.Contact.Email = ff.email
	}
	if fs.Changed("rep") {
		v.Rep = ff.rep
	}
	if set("when") {
		t, err := humantime.ParseTime(ff.when, now)
		if err != nil {
			return cmdutil.Usagef("--when: %v", err)
		}
		v.VisitedAt = t
	}
	if set("outcome") {
		v.Outcome = sales.Outcome(strings.ToLower(strings.TrimSpace(ff.outcome)))
	}
	if set("objection") {
		v.Objections = nil
		for _, o := range ff.objections {
			if o = strings.ToLower(strings.TrimSpace(o)); o != "" {
				v.Objections = append(v.Objections, sales.Objection(o))
			}
		}
	}
	if set("objection-notes") {
		v.ObjectionNotes = ff.objectionNotes
	}
	if set("incentive") {
		o, err := incentive.Parse(ff.offer)
		if err != nil {
			return cmdutil.Usagef("--incentive: %v", err)
		}
		v.Incentive = o
	}
	if set("follow-up") {
		d, err := humantime.ParseDate(ff.followUp, now)
		if err != nil {
			return cmdutil.Usagef("--follow-up: %v", err)
		}
		v.FollowUp = d
	}
	if set("notes") {
		v.Notes = ff.notes
	}
	return nil
}

// splitProblems separates fields that are simply missing from values that are
// wrong, naming each by its flag.
func splitProblems(err error) (missing []string, wrong []string, ok bool) {
	var ve *sales.ValidationError
	if !errors.As(err, &ve) {
		return nil, nil, false
	}
	for _, p := range ve.Problems {
		flag := flagFor(p.Field)
		if strings.HasPrefix(p.Message, "is required") {
			missing = append(missing, flag)
		} else {
			wrong = append(wrong, fmt.Sprintf("%s: %s", flag, p.Message))
		}
	}
	return missing, wrong, true
}

// asUsage turns a validation error into a usage error naming flags.
func asUsage(err error, cmdPath string) error {
	missing, wrong, ok := splitProblems(err)
	if !ok {
		return err
	}
	var parts []string
	if len(missing) > 0 {
		parts = append(parts, "missing "+strings.Join(dedupe(missing), ", "))
	}
	parts = append(parts, wrong...)
	return cmdutil.WithHint(cmdutil.Usagef("%s", strings.Join(parts, "; ")),
		fmt.Sprintf("see '%s --help'", cmdPath))
}

func dedupe(xs []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, x := range xs {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}
