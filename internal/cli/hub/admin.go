package hub

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/latchkey/latchkey/internal/cli/cmdutil"
	hubsvc "github.com/latchkey/latchkey/internal/hub"
	"github.com/latchkey/latchkey/internal/hubapi"
	"github.com/latchkey/latchkey/internal/record"
)

// stamp formats a time for tables: local, to the minute.
func stamp(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Local().Format("2006-01-02 15:04")
}

// invalid turns the hub's input errors into usage errors (exit 2).
func invalid(err error) error {
	if errors.Is(err, hubsvc.ErrInvalid) {
		return &cmdutil.UsageError{Err: err}
	}
	return err
}

func newCmdEnroll(f *cmdutil.Factory) *cobra.Command {
	var w where
	var name, role string
	var expires time.Duration
	cmd := &cobra.Command{
		Use:   "enroll --name NAME --role installer|sales|support",
		Short: "Make a one-time enrollment code for a user",
		Long: `Make a one-time code that lets a person log their laptop in:
they run 'latchkey login --hub URL --code CODE', which registers their public
keys and gives them an API token. Pass the code on by a channel you trust (in
person, by phone); it works once and expires (24 hours unless --expires says
otherwise). The hub stores only its hash.

Enrolling a name again (a new laptop) replaces that user's keys and token
when the new code is used.`,
		Example: "  latchkey hub enroll --name dana --role sales\n  latchkey hub enroll --name sam --role installer --expires 2h --json",
		Args:    cmdutil.NoArgs("give the user with --name and --role"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if name == "" || role == "" {
				return cmdutil.Usagef("--name and --role are required")
			}
			b, err := w.open(cmd.Context(), f)
			if err != nil {
				return err
			}
			defer b.Close()
			code, exp, err := b.admin.Enroll(cmd.Context(), name, role, expires)
			if err != nil {
				return invalid(err)
			}
			if f.Global.JSON {
				return cmdutil.WriteJSON(f.IO.Out, map[string]any{"name": name, "role": role, "code": code, "expires_at": exp})
			}
			fmt.Fprintf(f.IO.Out, "%s\n", code)
			fmt.Fprintf(f.IO.ErrOut, "enrollment code for %s (%s), valid until %s; on their laptop:\n  latchkey login --hub URL --code %s\n",
				name, role, stamp(exp), code)
			return nil
		},
	}
	w.flags(cmd)
	fl := cmd.Flags()
	fl.StringVar(&name, "name", "", "the user's name: a-z 0-9 . _ - (e.g. dana, sam.k)")
	fl.StringVar(&role, "role", "", "installer, sales or support")
	fl.DurationVar(&expires, "expires", hubsvc.DefaultEnrollTTL, "how long the code works (1m to 720h)")
	_ = cmd.RegisterFlagCompletionFunc("role", cobra.FixedCompletions(hubapi.Roles(), cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

// userView is a user as the admin commands print it.
type userView struct {
	Name        string     `json:"name"`
	Role        string     `json:"role"`
	KeyID       string     `json:"key_id"`
	Fingerprint string     `json:"fingerprint"`
	EnrolledAt  time.Time  `json:"enrolled_at"`
	RevokedAt   *time.Time `json:"revoked_at,omitempty"`
}

func viewUser(u hubsvc.User) userView {
	v := userView{Name: u.Name, Role: u.Role, KeyID: u.KeyID, Fingerprint: u.Fingerprint, EnrolledAt: u.EnrolledAt}
	if u.Revoked() {
		t := u.RevokedAt
		v.RevokedAt = &t
	}
	return v
}

func newCmdUsers(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "users",
		Short:   "List and revoke enrolled users",
		Example: "  latchkey hub users list\n  latchkey hub users revoke dana",
	}
	var lw where
	list := &cobra.Command{
		Use:     "list",
		Short:   "List enrolled users",
		Example: "  latchkey hub users list\n  latchkey hub users list --json",
		Args:    cmdutil.NoArgs("it lists every user"),
		RunE: func(cmd *cobra.Command, args []string) error {
			b, err := lw.open(cmd.Context(), f)
			if err != nil {
				return err
			}
			defer b.Close()
			us, err := b.admin.Users(cmd.Context())
			if err != nil {
				return err
			}
			views := make([]userView, 0, len(us))
			rows := make([][]string, 0, len(us))
			for _, u := range us {
				views = append(views, viewUser(u))
				state := "active"
				if u.Revoked() {
					state = "revoked " + stamp(u.RevokedAt)
				}
				rows = append(rows, []string{u.Name, u.Role, u.Fingerprint, stamp(u.EnrolledAt), state})
			}
			if f.Global.JSON {
				return cmdutil.WriteJSON(f.IO.Out, views)
			}
			if len(rows) == 0 {
				fmt.Fprintln(f.IO.ErrOut, "no users yet; add one with 'latchkey hub enroll --name NAME --role ROLE'")
				return nil
			}
			return cmdutil.Table(f.IO, []string{"NAME", "ROLE", "FINGERPRINT", "ENROLLED", "STATE"}, rows, 0)
		},
	}
	lw.flags(list)
	var rw where
	var yes bool
	revoke := &cobra.Command{
		Use:   "revoke NAME",
		Short: "Revoke a user: their token and signatures are refused from now on",
		Long: `Revoke a user (a lost laptop, someone who left). From now on the hub
refuses their API token and every record signed with their key, including
records still waiting in their laptop's outbox. Records already stored stay.`,
		Example: "  latchkey hub users revoke dana --yes",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !yes {
				if !f.IO.CanPrompt() {
					return cmdutil.Usagef("not revoking %s without --yes (no terminal to ask on)", args[0])
				}
				ok, err := cmdutil.Confirm(f.IO, fmt.Sprintf("Revoke %s? Records they have not uploaded yet will be refused.", args[0]))
				if err != nil {
					return err
				}
				if !ok {
					return cmdutil.ErrCancelled
				}
			}
			b, err := rw.open(cmd.Context(), f)
			if err != nil {
				return err
			}
			defer b.Close()
			u, err := b.admin.Revoke(cmd.Context(), args[0])
			if errors.Is(err, hubsvc.ErrNotFound) {
				return cmdutil.WithHint(err, "see 'latchkey hub users list'")
			}
			if err != nil {
				return err
			}
			if f.Global.JSON {
				return cmdutil.WriteJSON(f.IO.Out, viewUser(u))
			}
			fmt.Fprintf(f.IO.Out, "revoked %s (%s)\n", u.Name, u.Role)
			return nil
		},
	}
	rw.flags(revoke)
	revoke.Flags().BoolVarP(&yes, "yes", "y", false, "do not ask for confirmation")
	cmd.AddCommand(list, revoke)
	return cmd
}

// jobView is a job as the admin commands print it: never key material (the
// hub has none; the packet is sealed to the installer).
type jobView struct {
	ID          string    `json:"id"`
	Building    string    `json:"building"`
	Address     string    `json:"address"`
	Doors       []string  `json:"doors"`
	AccessHours string    `json:"access_hours"`
	Incentive   string    `json:"incentive"`
	Terms       string    `json:"terms"`
	Installer   string    `json:"installer"`
	CreatedAt   time.Time `json:"created_at"`
	ExpiresAt   time.Time `json:"expires_at"`
}

func viewJob(j hubsvc.Job) jobView {
	return jobView{ID: j.ID, Building: j.Building, Address: j.Address, Doors: j.Doors, AccessHours: j.AccessHours,
		Incentive: j.Incentive, Terms: j.Terms, Installer: j.Installer, CreatedAt: j.CreatedAt, ExpiresAt: j.ExpiresAt}
}

func newCmdJob(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "job",
		Short:   "Create installation jobs",
		Example: "  latchkey hub job create --building 'Elm Court' --address '12 Elm St' --doors lobby --installer sam",
	}
	var w where
	var spec hubsvc.JobSpec
	create := &cobra.Command{
		Use:   "create --building NAME --address ADDR --doors D1,D2 --installer NAME",
		Short: "Create a job: fresh door keys sealed to the installer",
		Long: `Create an installation job for an enrolled installer. The hub makes one
fresh 32-byte AES key per door, seals them with HPKE to the installer's
key-agreement key, signs the job packet with its own key and forgets the keys:
only the installer's laptop can open them, and only at burn time. The
installer gets the job with 'latchkey jobs pull'.`,
		Example: `  latchkey hub job create --building 'Elm Court' --address '12 Elm St, Springfield' \
      --doors lobby,garage --installer sam --incentive gift-card:100:USD
  latchkey hub job create --building 'Oak House' --address '3 Oak Rd' --doors front \
      --installer sam --hours 'Mo-Fr 08:00-18:00' --expires 168h --json`,
		Args: cmdutil.NoArgs("describe the job with flags"),
		RunE: func(cmd *cobra.Command, args []string) error {
			var missing []string
			for _, m := range []struct{ flag, v string }{{"--building", spec.Building}, {"--address", spec.Address}, {"--installer", spec.Installer}} {
				if strings.TrimSpace(m.v) == "" {
					missing = append(missing, m.flag)
				}
			}
			if len(spec.Doors) == 0 {
				missing = append(missing, "--doors")
			}
			if len(missing) > 0 {
				return cmdutil.Usagef("missing %s", strings.Join(missing, ", "))
			}
			b, err := w.open(cmd.Context(), f)
			if err != nil {
				return err
			}
			defer b.Close()
			j, err := b.admin.CreateJob(cmd.Context(), spec)
			if err != nil {
				return invalid(err)
			}
			if f.Global.JSON {
				return cmdutil.WriteJSON(f.IO.Out, viewJob(j))
			}
			fmt.Fprintf(f.IO.Out, "%s\n", j.ID)
			fmt.Fprintf(f.IO.ErrOut, "job %s for %s: %s, %d %s, packet valid until %s; the installer runs 'latchkey jobs pull'\n",
				j.ID, j.Installer, j.Building, len(j.Doors), plural(len(j.Doors), "door", "doors"), stamp(j.ExpiresAt))
			return nil
		},
	}
	w.flags(create)
	fl := create.Flags()
	fl.StringVar(&spec.Building, "building", "", "the building's name")
	fl.StringVar(&spec.Address, "address", "", "its street address")
	fl.StringSliceVar(&spec.Doors, "doors", nil, "door names, comma-separated (one key each)")
	fl.StringVar(&spec.Installer, "installer", "", "user name of the enrolled installer")
	fl.StringVar(&spec.AccessHours, "hours", "", "when couriers may open the doors (default: always)")
	fl.StringVar(&spec.Incentive, "incentive", "none", "incentive offered to the building: none or KIND:AMOUNT:CURRENCY")
	fl.StringVar(&spec.Terms, "terms", "", "version of the consent terms (default: the current one)")
	fl.DurationVar(&spec.TTL, "expires", hubsvc.DefaultJobTTL, "how long the job packet is valid")
	cmd.AddCommand(create)
	return cmd
}

func newCmdJobs(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "jobs",
		Short:   "List installation jobs",
		Example: "  latchkey hub jobs list\n  latchkey hub jobs list --installer sam --json",
	}
	var w where
	var installer string
	list := &cobra.Command{
		Use:     "list",
		Short:   "List jobs, newest first",
		Example: "  latchkey hub jobs list --installer sam",
		Args:    cmdutil.NoArgs("narrow it with --installer"),
		RunE: func(cmd *cobra.Command, args []string) error {
			b, err := w.open(cmd.Context(), f)
			if err != nil {
				return err
			}
			defer b.Close()
			js, err := b.admin.Jobs(cmd.Context(), installer)
			if err != nil {
				return err
			}
			views := make([]jobView, 0, len(js))
			rows := make([][]string, 0, len(js))
			for _, j := range js {
				views = append(views, viewJob(j))
				rows = append(rows, []string{j.ID, j.Installer, j.Building, strings.Join(j.Doors, ","), stamp(j.CreatedAt), stamp(j.ExpiresAt)})
			}
			if f.Global.JSON {
				return cmdutil.WriteJSON(f.IO.Out, views)
			}
			if len(rows) == 0 {
				fmt.Fprintln(f.IO.ErrOut, "no jobs; create one with 'latchkey hub job create'")
				return nil
			}
			return cmdutil.Table(f.IO, []string{"ID", "INSTALLER", "BUILDING", "DOORS", "CREATED", "EXPIRES"}, rows, 2, 3)
		},
	}
	w.flags(list)
	list.Flags().StringVar(&installer, "installer", "", "only this installer's jobs")
	cmd.AddCommand(list)
	return cmd
}

// recordView is a stored record as `hub records list` prints it.
type recordView struct {
	ID         string    `json:"id"`
	Kind       string    `json:"kind"`
	Signer     string    `json:"signer"`
	KeyIDs     []string  `json:"verified_keys"`
	Digest     string    `json:"digest"`
	Job        string    `json:"job,omitempty"`
	Unit       string    `json:"unit,omitempty"`
	CreatedAt  time.Time `json:"created_at"`
	ReceivedAt time.Time `json:"received_at"`
}

func newCmdRecords(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "records",
		Short:   "List the records the hub took in",
		Example: "  latchkey hub records list --kind visit",
	}
	var w where
	var flt hubsvc.RecordFilter
	list := &cobra.Command{
		Use:   "list",
		Short: "List stored records, oldest first",
		Long: `List the records the hub verified and stored. Every one was checked
against its signer's enrolled key before it was stored; VERIFIED counts the
signatures that checked out (the signer's, and a unit's countersignature
when the hub knows the unit's key).`,
		Example: "  latchkey hub records list\n  latchkey hub records list --kind visit --signer dana\n  latchkey hub records list --job 7Q2M --json",
		Args:    cmdutil.NoArgs("narrow it with --kind, --job or --signer"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if flt.Kind != "" && !record.Kind(flt.Kind).Valid() {
				return cmdutil.Usagef("--kind %q: not a record kind", flt.Kind)
			}
			b, err := w.open(cmd.Context(), f)
			if err != nil {
				return err
			}
			defer b.Close()
			rs, err := b.admin.Records(cmd.Context(), flt)
			if err != nil {
				return invalid(err)
			}
			views := make([]recordView, 0, len(rs))
			rows := make([][]string, 0, len(rs))
			for _, r := range rs {
				views = append(views, recordView{ID: r.ID, Kind: r.Kind, Signer: r.Signer, KeyIDs: r.KeyIDs, Digest: r.Digest,
					Job: r.Job, Unit: r.Unit, CreatedAt: r.CreatedAt, ReceivedAt: r.ReceivedAt})
				rows = append(rows, []string{r.ID, r.Kind, r.Signer, strconv.Itoa(len(r.KeyIDs)), r.Job, r.Unit, stamp(r.ReceivedAt)})
			}
			if f.Global.JSON {
				return cmdutil.WriteJSON(f.IO.Out, views)
			}
			if len(rows) == 0 {
				fmt.Fprintln(f.IO.ErrOut, "no records")
				return nil
			}
			return cmdutil.Table(f.IO, []string{"ID", "KIND", "SIGNER", "VERIFIED", "JOB", "UNIT", "RECEIVED"}, rows, 0)
		},
	}
	w.flags(list)
	fl := list.Flags()
	fl.StringVar(&flt.Kind, "kind", "", "only records of this kind")
	fl.StringVar(&flt.Job, "job", "", "only records of this job")
	fl.StringVar(&flt.Signer, "signer", "", "only records signed by this user")
	fl.IntVar(&flt.Limit, "limit", 0, "at most this many (0: all)")
	cmd.AddCommand(list)
	return cmd
}

func newCmdUnits(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "units",
		Short:   "List units and keep the denylist",
		Example: "  latchkey hub units list\n  latchkey hub units deny LK-00042 --reason 'reported stolen'\n  latchkey hub units courier LK-00042 --enable",
	}
	var lw where
	list := &cobra.Command{
		Use:   "list",
		Short: "List the units records name, denied units, and courier access",
		Long: `List every unit a stored record or the denylist names: how many records
name it, when it was last seen, whether it is denied, and its courier access
under its newest consent: "awaiting tenant notice" (with the reason) until a
notice is recorded and the consent's notice date has passed, then "courier
off" until 'hub units courier SERIAL --enable', then "courier on".`,
		Example: "  latchkey hub units list --json",
		Args:    cmdutil.NoArgs("it lists every unit"),
		RunE: func(cmd *cobra.Command, args []string) error {
			b, err := lw.open(cmd.Context(), f)
			if err != nil {
				return err
			}
			defer b.Close()
			us, err := b.admin.Units(cmd.Context())
			if err != nil {
				return err
			}
			cs, err := b.admin.CourierStatus(cmd.Context())
			if err != nil {
				return err
			}
			courier := map[string]*hubsvc.UnitCourier{}
			for i := range cs {
				courier[cs[i].Serial] = &cs[i]
			}
			type unitView struct {
				Serial   string     `json:"serial"`
				Records  int        `json:"records"`
				LastSeen *time.Time `json:"last_seen,omitempty"`
				Denied   bool       `json:"denied"`
				Reason   string     `json:"reason,omitempty"`
				DeniedAt *time.Time `json:"denied_at,omitempty"`
				// Courier is the courier gate's state; absent for a unit
				// no consent names.
				Courier *hubsvc.UnitCourier `json:"courier,omitempty"`
			}
			views := make([]unitView, 0, len(us))
			rows := make([][]string, 0, len(us))
			for _, u := range us {
				v := unitView{Serial: u.Serial, Records: u.Records, Denied: u.Denied, Reason: u.Reason, Courier: courier[u.Serial]}
				if !u.LastSeen.IsZero() {
					t := u.LastSeen
					v.LastSeen = &t
				}
				if u.Denied {
					t := u.DeniedAt
					v.DeniedAt = &t
				}
				views = append(views, v)
				state := "ok"
				if u.Denied {
					state = "denied: " + u.Reason
				}
				rows = append(rows, []string{u.Serial, strconv.Itoa(u.Records), stamp(u.LastSeen), state, courierState(v.Courier)})
			}
			if f.Global.JSON {
				return cmdutil.WriteJSON(f.IO.Out, views)
			}
			if len(rows) == 0 {
				fmt.Fprintln(f.IO.ErrOut, "no units yet")
				return nil
			}
			return cmdutil.Table(f.IO, []string{"SERIAL", "RECORDS", "LAST SEEN", "STATE", "COURIER"}, rows, 3, 4)
		},
	}
	lw.flags(list)
	var dw where
	var reason string
	deny := &cobra.Command{
		Use:   "deny SERIAL --reason TEXT",
		Short: "Deny a unit: installers will refuse to pair it or burn keys into it",
		Long: `Put a unit on the denylist (stolen, tampered with, recalled). Installers
get the list with 'latchkey jobs pull' and latchkey refuses to pair the unit
or burn keys into it. Denying it again updates the reason.`,
		Example: "  latchkey hub units deny LK-00042 --reason 'reported stolen'",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if strings.TrimSpace(reason) == "" {
				return cmdutil.Usagef("--reason is required: installers see it")
			}
			b, err := dw.open(cmd.Context(), f)
			if err != nil {
				return err
			}
			defer b.Close()
			d, err := b.admin.DenyUnit(cmd.Context(), args[0], reason)
			if err != nil {
				return invalid(err)
			}
			if f.Global.JSON {
				return cmdutil.WriteJSON(f.IO.Out, hubapi.DeniedUnit{Serial: d.Serial, Reason: d.Reason, DeniedAt: d.DeniedAt})
			}
			fmt.Fprintf(f.IO.Out, "denied %s: %s\n", d.Serial, d.Reason)
			return nil
		},
	}
	dw.flags(deny)
	deny.Flags().StringVar(&reason, "reason", "", "why (installers see it)")
	cmd.AddCommand(list, deny, newCmdUnitCourier(f))
	return cmd
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
