package consent

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/latchkey/latchkey/internal/cli/cmdutil"
	"github.com/latchkey/latchkey/internal/cli/unitopt"
	"github.com/latchkey/latchkey/internal/consent"
	"github.com/latchkey/latchkey/internal/device"
	"github.com/latchkey/latchkey/internal/install"
)

// SignOptions are `consent sign`'s flags.
type SignOptions struct {
	Job         string
	SignerName  string
	SignerTitle string
	Authority   string
	NoticeDue   string // --tenant-notice-by
	Lang        string
	Agree       bool
	Operator    string
	Revoke      string // --revoke-contact
	NoticeBy    string // --notice-given-by
	NoticeHow   []string
	Events      []string
	Retention   int
	TermDays    int
	Unit        unitopt.Flags
}

// signResult is `consent sign --json`.
type signResult struct {
	Record      string `json:"record"`
	Job         string `json:"job"`
	Unit        string `json:"unit"`
	TermsSHA256 string `json:"terms_sha256"`
	NoticeBy    string `json:"notice_by"`
}

// NewCmdSign is `latchkey consent sign`. runF replaces signRun in tests of
// flag parsing.
func NewCmdSign(f *cmdutil.Factory, runF func(context.Context, *SignOptions) error) *cobra.Command {
	opts := &SignOptions{}
	cmd := &cobra.Command{
		Use:   "sign --job ID",
		Short: "Sign the manager's consent to the job's unit, countersigned by the unit",
		Long: `Take the building manager's consent for a job whose survey says go, whose
unit is paired and whose every door key is burned. The terms are made from
the job's facts (building, doors and hours, incentive) and the ones given here
(operator, who tells tenants, how and by when, what the unit logs and for how
long, how to revoke).

On a terminal latchkey asks for what is missing, shows the terms and the
statement of intent, has the signer type their name to confirm it, and asks
whether they agree. Without a terminal every flag below that has no default
is required, --agree included: the signer has read the printed terms and
agreed to the statement of intent that names their SHA-256.

The record is signed with your key, countersigned by the unit on the cable
(it must be the job's paired unit), checked with both keys, stored, journalled
and queued for the back office. Give the manager their copy with
'latchkey consent export'.`,
		Example: `  latchkey consent sign --job 7Q2M --operator 'Parcelway Inc.' --revoke-contact 'call 212-555-0100'
  latchkey consent sign --job 7Q2M --port /dev/ttyACM0 --signer-name 'María Ortiz' \
    --signer-title 'Property manager' --authority managing-agent --tenant-notice-by 2026-12-02 \
    --operator 'Parcelway Inc.' --revoke-contact 'call 212-555-0100' --lang es --agree`,
		Args: cmdutil.NoArgs("name the job with --job"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return signRun(cmd.Context(), f, opts)
		},
	}
	opts.Unit.Register(cmd)
	fl := cmd.Flags()
	fl.StringVar(&opts.Job, "job", "", "the job (id, or its first characters)")
	fl.StringVar(&opts.SignerName, "signer-name", "", "the signer's full name, as they sign")
	fl.StringVar(&opts.SignerTitle, "signer-title", "", "the signer's title, e.g. 'Property manager'")
	fl.StringVar(&opts.Authority, "authority", "", "the signer's authority: owner, managing-agent or board")
	fl.StringVar(&opts.NoticeDue, "tenant-notice-by", "", "the date (YYYY-MM-DD) by which tenants are told: after today, within 30 days")
	fl.StringVar(&opts.Lang, "lang", "en", "the language of the terms: en or es")
	fl.BoolVar(&opts.Agree, "agree", false, "the signer agrees to the terms and the statement of intent (required without a terminal)")
	fl.StringVar(&opts.Operator, "operator", "", "the delivery operator that runs the unit, as the terms name it (default: config notice.operator)")
	fl.StringVar(&opts.Revoke, "revoke-contact", "", "how the building revokes: a phone number, address or email (default: config notice.contact-phone, -email or -web)")
	fl.StringVar(&opts.NoticeBy, "notice-given-by", consent.NoticeByManager, "who tells tenants: manager or operator")
	fl.StringSliceVar(&opts.NoticeHow, "notice-how", []string{consent.NoticePosted}, "how tenants are told: posted, mailed, emailed, hand-delivered (comma-separated)")
	fl.StringSliceVar(&opts.Events, "log-events", consent.Events(), "what the unit logs: door.open (always), door.denied, tamper, health")
	fl.IntVar(&opts.Retention, "retention-days", install.ConsentRetentionDays, "how long the unit's log is kept, 1 to 90 days")
	fl.IntVar(&opts.TermDays, "term-days", consent.DefaultTermDays, "how long the consent lasts, in days")
	return cmd
}

// missing names the required flags not given, in the order help lists them.
func (o *SignOptions) missing() []string {
	var m []string
	for _, x := range []struct {
		flag string
		set  bool
	}{
		{"--job", o.Job != ""}, {"--signer-name", o.SignerName != ""}, {"--signer-title", o.SignerTitle != ""},
		{"--authority", o.Authority != ""}, {"--tenant-notice-by", o.NoticeDue != ""},
		{"--operator", o.Operator != ""}, {"--revoke-contact", o.Revoke != ""}, {"--agree", o.Agree},
	} {
		if !x.set {
			m = append(m, x.flag)
		}
	}
	return m
}

func signRun(ctx context.Context, f *cmdutil.Factory, o *SignOptions) error {
	// The operator and the contact for revoking fall back to the settings
	// the tenant notice uses (config notice.operator, notice.contact-*).
	for _, fb := range []struct {
		dst  *string
		keys []string
	}{
		{&o.Operator, []string{"notice.operator"}},
		{&o.Revoke, []string{"notice.contact-phone", "notice.contact-email", "notice.contact-web"}},
	} {
		for _, key := range fb.keys {
			if *fb.dst != "" {
				break
			}
			v, err := f.Setting(key, "", false)
			if err != nil {
				return err
			}
			*fb.dst = v.Value
		}
	}
	tty := f.IO.CanPrompt()
	if !tty {
		if m := o.missing(); len(m) > 0 {
			return cmdutil.Usagef("no terminal to ask on: pass %s (the signer reads the printed terms and agrees with --agree)", strings.Join(m, ", "))
		}
	}
	if o.Authority != "" && !slices.Contains(consent.Authorities(), consent.Authority(o.Authority)) {
		return cmdutil.Usagef("--authority %q: want owner, managing-agent or board", o.Authority)
	}
	if !slices.Contains(consent.Langs(), o.Lang) {
		return cmdutil.Usagef("--lang %q: want %s", o.Lang, strings.Join(consent.Langs(), " or "))
	}
	in := lineReader{f.IO.In}
	if tty {
		if err := o.askMissing(f, in); err != nil {
			return err
		}
	}
	if _, err := time.Parse(time.DateOnly, o.NoticeDue); err != nil {
		return cmdutil.Usagef("--tenant-notice-by %q: want a date YYYY-MM-DD", o.NoticeDue)
	}

	job, err := f.Job(ctx, o.Job)
	if err != nil {
		return err
	}
	svc, err := f.Provision(ctx)
	if err != nil {
		return err
	}
	sv, err := f.Surveys(ctx)
	if err != nil {
		return err
	}
	js, err := f.Jobs(ctx)
	if err != nil {
		return err
	}
	basis, err := install.FactsFor(ctx, install.ConsentSources{Jobs: js, Pairings: svc, Receipts: svc, Surveys: sv}, job.ID,
		install.ConsentTerms{Operator: o.Operator, Revoke: o.Revoke, NoticeBy: o.NoticeBy, NoticeHow: o.NoticeHow,
			NoticeDue: o.NoticeDue, Events: o.Events, Retention: o.Retention, TermDays: o.TermDays, Captured: consent.Flags})
	if err != nil {
		return err
	}
	terms, err := consent.TermsFor(basis.TermsVersion, o.Lang, basis.Facts)
	if err != nil {
		return err
	}
	signer := consent.Signer{Name: o.SignerName, Title: o.SignerTitle, Authority: consent.Authority(o.Authority), Intent: terms.Intent}
	if tty {
		if err := confirmOnScreen(f, in, o, terms); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(f.IO.ErrOut, "terms %s %s, SHA-256 %s, agreed with --agree\n", terms.Version, terms.Lang, terms.SHA256)
	}
	// The moment the signer confirmed; the record holds whole seconds.
	signer.SignedAt = f.Now().UTC().Truncate(time.Second)

	id, err := f.Identity()
	if err != nil {
		return err
	}
	cs, err := f.Consents(ctx)
	if err != nil {
		return err
	}
	// A dropped link starts the signing again from the unit's identity:
	// nothing is kept until the record is whole and verified.
	o.Unit.WholeOps = true
	l, err := unitopt.Open(ctx, f, o.Unit)
	if err != nil {
		return err
	}
	defer l.Close()
	fmt.Fprintf(f.IO.ErrOut, "the unit countersigns…\n")
	var stored install.StoredConsent
	err = l.Do(ctx, func(ctx context.Context, u *device.Unit) error {
		var serr error
		stored, _, serr = cs.Sign(ctx, install.SignRequest{Basis: basis, Signer: signer, Terms: terms,
			InstallerKey: id.Sign, Unit: u, Rand: f.Rand})
		return serr
	})
	if err != nil {
		return signHint(err, job.ID)
	}
	if f.Global.JSON {
		return cmdutil.WriteJSON(f.IO.Out, signResult{Record: stored.Record, Job: stored.Job, Unit: stored.Unit,
			TermsSHA256: stored.TermsSHA256, NoticeBy: stored.NoticeBy})
	}
	fmt.Fprintln(f.IO.Out, stored.Record)
	fmt.Fprintf(f.IO.ErrOut, "consent of job %s signed by %s (%s, %s), countersigned by unit %s; tenants must be told by %s\n",
		shortID(job.ID), signer.Name, signer.Title, signer.Authority, stored.Unit, stored.NoticeBy)
	fmt.Fprintf(f.IO.ErrOut, "the manager's copy: latchkey consent export --job %s -o consent.pdf; the record is queued: latchkey sync\n", shortID(job.ID))
	return nil
}

// signHint adds what to do next to a signing failure.
func signHint(err error, jobID string) error {
	switch {
	case errors.Is(err, install.ErrConsentNotReady):
		return err // the message names the command to run
	case errors.Is(err, install.ErrConsented):
		return cmdutil.WithHint(err, "see 'latchkey consent show --job "+shortID(jobID)+"'")
	case errors.Is(err, consent.ErrInvalid):
		return cmdutil.WithHint(err, "correct that flag and sign again; nothing was kept")
	case errors.Is(err, consent.ErrSignatures):
		return cmdutil.WithHint(err, "nothing was kept: is the unit on the cable the job's paired unit? ('latchkey diag status')")
	case unitopt.Disconnected(err):
		return cmdutil.WithHint(err, "reconnect the cable and sign again (or pass --wait); nothing was kept")
	}
	return err
}

// askMissing asks on the terminal for what the flags did not give.
func (o *SignOptions) askMissing(f *cmdutil.Factory, in lineReader) error {
	for _, q := range []struct {
		v      *string
		prompt string
		check  func(string) error
	}{
		{&o.Job, "Job (id or its first characters): ", nil},
		{&o.Operator, "Delivery operator, as the terms name it: ", nil},
		{&o.Revoke, "How the building revokes (phone, address or email): ", nil},
		{&o.SignerName, "Signer's full name: ", nil},
		{&o.SignerTitle, "Signer's title: ", nil},
		{&o.Authority, "Signer's authority (owner, managing-agent, board): ", func(s string) error {
			if !slices.Contains(consent.Authorities(), consent.Authority(s)) {
				return errors.New("type owner, managing-agent or board")
			}
			return nil
		}},
		{&o.NoticeDue, "Tenants told by (YYYY-MM-DD): ", func(s string) error {
			_, err := time.Parse(time.DateOnly, s)
			if err != nil {
				return errors.New("type a date as YYYY-MM-DD")
			}
			return nil
		}},
	} {
		for tries := 0; *q.v == ""; tries++ {
			if tries == 3 {
				return cmdutil.ErrCancelled
			}
			a, err := in.ask(f.IO.ErrOut, q.prompt)
			if err != nil {
				return err
			}
			if q.check != nil && a != "" {
				if err := q.check(a); err != nil {
					fmt.Fprintln(f.IO.ErrOut, err)
					continue
				}
			}
			*q.v = a
		}
	}
	return nil
}

// confirmOnScreen shows the terms and the statement of intent, has the
// signer type their name to confirm it, and asks whether they agree.
func confirmOnScreen(f *cmdutil.Factory, in lineReader, o *SignOptions, terms consent.Text) error {
	w := f.IO.ErrOut
	fmt.Fprintf(w, "\n%s\n\n", terms.Body)
	fmt.Fprintf(w, "Terms %s (%s), SHA-256 %s\n\n", terms.Version, terms.Lang, terms.SHA256)
	fmt.Fprintf(w, "Hand the screen to the signer. By typing your name you confirm this statement:\n\n  %s\n\n", terms.Intent)
	for tries := 0; ; tries++ {
		typed, err := in.ask(w, fmt.Sprintf("Type your full name (%s) to sign: ", o.SignerName))
		if err != nil {
			return err
		}
		if sameName(typed, o.SignerName) {
			break
		}
		if tries == 2 {
			return fmt.Errorf("the name typed does not match %q: not signed: %w", o.SignerName, cmdutil.ErrCancelled)
		}
		fmt.Fprintf(w, "That is not %q; type it as given.\n", o.SignerName)
	}
	if o.Agree {
		return nil
	}
	ok, err := in.confirm(w, "Do you agree to these terms and sign?")
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("the signer did not agree: %w", cmdutil.ErrCancelled)
	}
	return nil
}

// sameName compares names as people type them: case and runs of spaces
// do not matter.
func sameName(a, b string) bool {
	norm := func(s string) string { return strings.ToLower(strings.Join(strings.Fields(s), " ")) }
	return norm(a) != "" && norm(a) == norm(b)
}

// Ensure the unit the command opens can countersign.
var _ install.ConsentUnit = (*device.Unit)(nil)
