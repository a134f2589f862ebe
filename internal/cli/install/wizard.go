package install

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/latchkey/latchkey/internal/cli/cmdutil"
	"github.com/latchkey/latchkey/internal/cli/unitopt"
	"github.com/latchkey/latchkey/internal/hubapi"
	"github.com/latchkey/latchkey/internal/hubclient"
	"github.com/latchkey/latchkey/internal/install"
	"github.com/latchkey/latchkey/internal/install/flow"
	"github.com/latchkey/latchkey/internal/outbox"
	"github.com/latchkey/latchkey/internal/tui/wizard"
)

// WizardOptions are the wizard's flags.
type WizardOptions struct {
	Job    string
	Resume bool
	Plain  bool
	Tour   bool
	Unit   unitopt.Flags
	// Demo marks the screens as a demo (set by `latchkey demo`), and
	// BoxLabel is its virtual unit's label code, as printed on a box.
	Demo     bool
	BoxLabel string
}

// NewFlow builds the install flow over the factory's store, identity, unit
// link and back-office session: what the wizard drives.
func NewFlow(ctx context.Context, f *cmdutil.Factory, fl unitopt.Flags) (*flow.Flow, error) {
	r, err := f.Recording(ctx)
	if err != nil {
		return nil, err
	}
	jobs := install.NewJobs(r.Store, f.Now)
	surveys := install.NewSurveys(r.Store, jobs, r.Outbox, r.Journal, f.Now)
	prov, err := f.Provision(ctx)
	if err != nil {
		return nil, err
	}
	consents, err := f.Consents(ctx)
	if err != nil {
		return nil, err
	}
	id, err := f.Identity()
	if err != nil {
		return nil, err
	}
	d, err := f.Dirs()
	if err != nil {
		return nil, err
	}
	defaults, err := settings(f)
	if err != nil {
		return nil, err
	}
	// Pairing, burning and signing each begin by reading the unit again, so
	// after a pulled cable only whole operations start over.
	fl.WholeOps = true
	return flow.New(flow.Config{
		Jobs:         jobs,
		Surveys:      surveys,
		Session:      install.NewSession(jobs, surveys, r.Outbox, r.Journal, f.Now),
		Provision:    prov,
		Consents:     consents,
		Notices:      install.NewNotices(r.Store, jobs, r.Outbox, r.Journal, f.Now, f.Rand),
		InstallerKey: id.Sign,
		Open: func(ctx context.Context) (flow.Link, error) {
			return unitopt.Open(ctx, f, fl)
		},
		Upload:    uploader(f, r.Outbox),
		PhotoDir:  filepath.Join(d.Data, "photos"),
		NoticeDir: filepath.Join(d.Data, "notices"),
		Defaults:  defaults,
		Now:       f.Now,
		Rand:      f.Rand,
	}), nil
}

// settings reads the installer's notice settings (config notice.*).
func settings(f *cmdutil.Factory) (flow.Defaults, error) {
	var d flow.Defaults
	for _, s := range []struct {
		key string
		dst *string
	}{
		{"notice.operator", &d.Operator}, {"notice.contact-name", &d.Contact.Name},
		{"notice.contact-phone", &d.Contact.Phone}, {"notice.contact-email", &d.Contact.Email},
		{"notice.contact-web", &d.Contact.Web}, {"notice.policy-url", &d.PolicyURL},
	} {
		v, err := f.Setting(s.key, "", false)
		if err != nil {
			return flow.Defaults{}, err
		}
		*s.dst = v.Value
	}
	return d, nil
}

// uploader sends the outbox to the back office the laptop is logged in to;
// without a login or a network the records stay queued.
func uploader(f *cmdutil.Factory, ob *outbox.Outbox) flow.Uploader {
	return func(ctx context.Context, progress func(done, total int)) (flow.Upload, error) {
		c, sess, err := f.HubClient()
		if err != nil {
			counts, cerr := ob.Counts(ctx)
			if cerr != nil {
				return flow.Upload{}, cerr
			}
			return flow.Upload{Offline: true, Remaining: counts.Queued, Err: err.Error()}, nil
		}
		up := &outbox.Uploader{Outbox: ob, Sender: c, Rand: f.Rand}
		sum, err := up.Run(ctx, func(p outbox.Progress) {
			if progress != nil {
				progress(p.Done, p.Total)
			}
		})
		res := flow.Upload{Hub: sess.URL, Sent: sum.Sent, Refused: len(sum.Rejected), Remaining: sum.Remaining}
		var he *hubapi.Error
		switch {
		case err == nil:
		case errors.Is(err, outbox.ErrGaveUp), errors.Is(err, hubclient.ErrUnreachable):
			res.Offline, res.Err = true, err.Error()
		case ctx.Err() != nil:
			return res, err
		case errors.As(err, &he) && (he.Code == hubapi.CodeRevoked || he.Code == hubapi.CodeUnauthorized):
			// Trying later will not help: the login must be renewed.
			res.Err = err.Error() + ": your login is no longer valid; ask your administrator for a new code and run 'latchkey login', then 'latchkey sync'"
		default:
			// The hub answered with another error: the records stay
			// queued and the message says why.
			res.Err = err.Error() + "; the records stay queued: run 'latchkey sync' again later"
		}
		return res, nil
	}
}

// RunWizard runs the install wizard: full screen on a terminal, or line by
// line with --plain.
func RunWizard(ctx context.Context, f *cmdutil.Factory, o WizardOptions) (wizard.Result, error) {
	if !o.Plain && !f.IO.CanPrompt() {
		return wizard.Result{}, cmdutil.Usagef("the install wizard needs a terminal: run it in one, use --plain for line-by-line questions, or run the steps as commands (latchkey install status --job ID says which)")
	}
	unit := o.Unit
	if !o.Plain {
		// A line on stderr would garble the full screen; in plain mode
		// the link's notes are lines like the others.
		unit.Messages = io.Discard
	}
	fl, err := NewFlow(ctx, f, unit)
	if err != nil {
		return wizard.Result{}, err
	}
	wo := wizard.Options{Job: o.Job, Resume: o.Resume, Tour: o.Tour, NoColor: f.Global.NoColor, Demo: o.Demo, BoxLabel: o.BoxLabel}
	if o.Job != "" {
		// Resolve a prefix up front so a mistyped job is a usage error,
		// not a screen.
		j, err := f.Job(ctx, o.Job)
		if err != nil {
			return wizard.Result{}, err
		}
		wo.Job = j.ID
	}
	if o.Plain {
		return wizard.RunPlain(ctx, fl, wo, f.IO.In, f.IO.Out)
	}
	return wizard.Run(ctx, fl, wo, f.IO.In, f.IO.Out)
}

// wizardCmd makes `latchkey install` itself run the wizard.
func wizardCmd(f *cmdutil.Factory, cmd *cobra.Command) {
	o := &WizardOptions{}
	cmd.Args = cmdutil.NoArgs("name the job with --job, or pick it in the wizard")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		res, err := RunWizard(cmd.Context(), f, *o)
		if errors.Is(err, wizard.ErrQuit) {
			if res.Job != "" {
				return cmdutil.WithHint(err, fmt.Sprintf("continue with 'latchkey install --resume' (or --job %s)", shortID(res.Job)))
			}
			return nil
		}
		if err != nil {
			return err
		}
		summary(cmd.Context(), f, res)
		return nil
	}
	fl := cmd.Flags()
	fl.StringVar(&o.Job, "job", "", "the job to install (id, or its first characters); default: pick one")
	fl.BoolVar(&o.Resume, "resume", false, "continue the last unfinished install where it stopped")
	fl.BoolVar(&o.Plain, "plain", false, "ask line by line, without a full screen (screen readers, dumb terminals)")
	fl.BoolVar(&o.Tour, "tour", false, "show a short hint on each screen for a new installer")
	o.Unit.Register(cmd)
}

// summary says where the install was left, from what the store holds.
func summary(ctx context.Context, f *cmdutil.Factory, res wizard.Result) {
	if f.Global.JSON {
		_ = cmdutil.WriteJSON(f.IO.Out, res)
		return
	}
	if res.Job == "" {
		return
	}
	upload := install.StepStatus{State: install.Todo}
	if s, err := f.Session(ctx); err == nil {
		if st, err := s.Status(ctx, res.Job); err == nil {
			upload = flow.StepOf(st, install.StepUpload)
		}
	}
	switch {
	case !res.Finished:
		fmt.Fprintf(f.IO.Out, "install of job %s not finished; continue with: latchkey install --resume\n", shortID(res.Job))
	case upload.State == install.Done:
		fmt.Fprintf(f.IO.Out, "install of job %s finished and sent (report %s)\n", shortID(res.Job), res.Report)
	case upload.State == install.Blocked:
		fmt.Fprintf(f.IO.Out, "install of job %s finished (report %s); %s: latchkey outbox list --state rejected\n", shortID(res.Job), res.Report, upload.Detail)
	default:
		msg := fmt.Sprintf("install of job %s finished (report %s); its records are queued: latchkey sync", shortID(res.Job), res.Report)
		if res.Upload.Err != "" {
			msg += " (" + res.Upload.Err + ")"
		}
		fmt.Fprintln(f.IO.Out, msg)
	}
}

func shortID(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}
