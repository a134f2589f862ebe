package notice

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/latchkey/latchkey/internal/cli/cmdutil"
	"github.com/latchkey/latchkey/internal/consent/notice"
	"github.com/latchkey/latchkey/internal/fsutil"
	"github.com/latchkey/latchkey/internal/install"
)

// Formats of `notice print`.
const (
	FormatText = "text"
	FormatPDF  = "pdf"
)

// factFlags are the facts of a notice the job, consent and survey do not
// hold: who runs the unit (when no consent names it), whom tenants contact,
// where the policy is. print and record take the same ones, so that the
// record names the text that was printed. Each falls back to a config key
// (notice.operator, notice.contact-name, …) when the flag is not given.
type factFlags struct {
	Lang          string
	Operator      string
	ContactName   string
	ContactPhone  string
	ContactEmail  string
	ContactWeb    string
	PolicyURL     string
	RetentionDays int
	Recipients    []string
	UnitLocation  string

	set map[string]bool // flags given on the command line
}

// factKeys maps each fact flag with a config key to it.
var factKeys = map[string]string{
	"operator":      "notice.operator",
	"contact-name":  "notice.contact-name",
	"contact-phone": "notice.contact-phone",
	"contact-email": "notice.contact-email",
	"contact-web":   "notice.contact-web",
	"policy-url":    "notice.policy-url",
}

func (ff *factFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&ff.Lang, "lang", "", "language of the notice: en or es (default: the consent's, else en)")
	fl.StringVar(&ff.Operator, "operator", "", "who runs the unit (default: config notice.operator, else the consent's operator)")
	fl.StringVar(&ff.ContactName, "contact-name", "", "whom tenants contact (default: config notice.contact-name)")
	fl.StringVar(&ff.ContactPhone, "contact-phone", "", "their phone (default: config notice.contact-phone)")
	fl.StringVar(&ff.ContactEmail, "contact-email", "", "their email (default: config notice.contact-email)")
	fl.StringVar(&ff.ContactWeb, "contact-web", "", "their web page, besides a phone or email (default: config notice.contact-web)")
	fl.StringVar(&ff.PolicyURL, "policy-url", "", "web address of the full policy (default: config notice.policy-url)")
	fl.IntVar(&ff.RetentionDays, "retention-days", 0, "days each door opening is kept (default: the consent's, else 90)")
	fl.StringArrayVar(&ff.Recipients, "recipient", nil, "someone else who receives data and what, one per flag (default: no one)")
	fl.StringVar(&ff.UnitLocation, "unit-location", "", "where the unit is, in the notice's language (default: the survey's mount location)")
	_ = cmd.RegisterFlagCompletionFunc("lang", cobra.FixedCompletions(notice.Languages(), cobra.ShellCompDirectiveNoFileComp))
}

// capture notes which flags were given, for the config fallback.
func (ff *factFlags) capture(cmd *cobra.Command) {
	ff.set = map[string]bool{}
	for name := range factKeys {
		ff.set[name] = cmd.Flags().Changed(name)
	}
}

// check refuses flag values that cannot be right, before anything opens.
func (ff *factFlags) check() error {
	if ff.Lang != "" && !slices.Contains(notice.Languages(), ff.Lang) {
		return cmdutil.Usagef("--lang %q: want %s", ff.Lang, strings.Join(notice.Languages(), " or "))
	}
	if ff.RetentionDays < 0 {
		return cmdutil.Usagef("--retention-days %d: want a number of days, at least 1", ff.RetentionDays)
	}
	return nil
}

// input resolves the flags against the config into the domain's input.
func (ff *factFlags) input(f *cmdutil.Factory) (install.NoticeInput, error) {
	vals := map[string]*string{
		"operator": &ff.Operator, "contact-name": &ff.ContactName, "contact-phone": &ff.ContactPhone,
		"contact-email": &ff.ContactEmail, "contact-web": &ff.ContactWeb, "policy-url": &ff.PolicyURL,
	}
	out := map[string]string{}
	for name, p := range vals {
		v, err := setting(f, factKeys[name], *p, ff.set[name])
		if err != nil {
			return install.NoticeInput{}, err
		}
		out[name] = strings.TrimSpace(v)
	}
	return install.NoticeInput{
		Lang: ff.Lang, Operator: out["operator"],
		Contact:   notice.Contact{Name: out["contact-name"], Phone: out["contact-phone"], Email: out["contact-email"], Web: out["contact-web"]},
		PolicyURL: out["policy-url"], RetentionDays: ff.RetentionDays, Recipients: ff.Recipients,
		UnitLocation: strings.TrimSpace(ff.UnitLocation),
	}, nil
}

// facts gathers the job's notice facts.
func (ff *factFlags) facts(ctx context.Context, f *cmdutil.Factory, ns *install.Notices, job string) (notice.Facts, error) {
	in, err := ff.input(f)
	if err != nil {
		return notice.Facts{}, err
	}
	facts, err := ns.Facts(ctx, job, in)
	if err != nil {
		return notice.Facts{}, cmdutil.JobHint(err)
	}
	return facts, nil
}

// PrintOptions are `notice print`'s flags.
type PrintOptions struct {
	Job    string
	Format string
	Output string
	Facts  factFlags
}

func newCmdPrint(f *cmdutil.Factory, runF func(context.Context, *PrintOptions) error) *cobra.Command {
	opts := &PrintOptions{}
	cmd := &cobra.Command{
		Use:   "print --job ID",
		Short: "Print a job's tenant notice, as text or PDF",
		Long: `Print the one-page tenant notice of a job, in English or Spanish, as plain
text or as a PDF for a notice board (a building that needs both languages
gets both). The facts come from the job, its consent (operator, doors,
hours, retention, and the day access starts at the earliest), its survey
(where the unit is) and its pairing (the installation date); whom tenants
contact and where the full policy is come from the flags or from the config
keys notice.contact-name, notice.contact-phone, notice.contact-email,
notice.contact-web, notice.policy-url and notice.operator. The text always
passes the content check of docs/notice.md.

Give 'notice record' the same facts, so the record names the notice that
was printed.`,
		Example: `  latchkey notice print --job 7Q2M --contact-name 'Parcelway tenant desk' --contact-phone '+1 555 0100' \
      --policy-url https://parcelway.example/policy
  latchkey notice print --job 7Q2M --lang es --format pdf -o aviso.pdf`,
		Args: cmdutil.NoArgs("name the job with --job"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Facts.capture(cmd)
			if opts.Job == "" {
				return cmdutil.Usagef("--job is required (see 'latchkey jobs list')")
			}
			if opts.Format != FormatText && opts.Format != FormatPDF {
				return cmdutil.Usagef("--format %q: want text or pdf", opts.Format)
			}
			if err := opts.Facts.check(); err != nil {
				return err
			}
			if opts.Format == FormatPDF && opts.Output == "" && f.IO.OutTTY {
				return cmdutil.Usagef("not writing a PDF to the terminal: give -o FILE")
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return printRun(cmd.Context(), f, opts)
		},
	}
	cmd.Flags().StringVar(&opts.Job, "job", "", "the job (id, or its first characters)")
	cmd.Flags().StringVar(&opts.Format, "format", FormatText, "text or pdf")
	cmd.Flags().StringVarP(&opts.Output, "output", "o", "", "write to this file instead of stdout")
	opts.Facts.register(cmd)
	_ = cmd.RegisterFlagCompletionFunc("format", cobra.FixedCompletions([]string{FormatText, FormatPDF}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

// printed is `notice print --json`: the facts, the text and its hash.
type printed struct {
	Job        string       `json:"job"`
	Lang       string       `json:"lang"`
	Facts      notice.Facts `json:"facts"`
	Text       string       `json:"text"`
	TextSHA256 string       `json:"text_sha256"`
}

func printRun(ctx context.Context, f *cmdutil.Factory, opts *PrintOptions) error {
	ns, err := notices(ctx, f)
	if err != nil {
		return err
	}
	facts, err := opts.Facts.facts(ctx, f, ns, opts.Job)
	if err != nil {
		return err
	}
	text, err := notice.Text(facts)
	if err != nil {
		return err
	}
	var out []byte
	switch {
	case opts.Format == FormatPDF:
		if out, err = notice.PDF(facts, f.Now()); err != nil {
			return err
		}
	case f.Global.JSON:
		var b bytes.Buffer
		err := cmdutil.WriteJSON(&b, printed{Job: opts.Job, Lang: facts.Lang, Facts: facts, Text: text, TextSHA256: notice.SHA256Hex([]byte(text))})
		if err != nil {
			return err
		}
		out = b.Bytes()
	default:
		out = []byte(text)
	}
	if opts.Output == "" {
		_, err := f.IO.Out.Write(out)
		return err
	}
	// A notice is for a notice board: nothing in it is private.
	err = fsutil.WriteFile(opts.Output, 0o644, func(w io.Writer) error {
		_, err := w.Write(out)
		return err
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(f.IO.ErrOut, "wrote the %s notice (%s) to %s\n", facts.Lang, opts.Format, opts.Output)
	return nil
}
