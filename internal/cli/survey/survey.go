// Package survey is `latchkey survey`: the building survey of a job, from a
// file (YAML or JSON), its verdict, and the template to start from.
package survey

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/latchkey/latchkey/internal/cli/cmdutil"
	"github.com/latchkey/latchkey/internal/install"
	"github.com/latchkey/latchkey/internal/survey"
)

// NewCmdSurvey groups the survey verbs.
func NewCmdSurvey(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "survey",
		Short: "Record a building survey and see whether the install can go ahead",
		Long: `A survey describes the building before a unit goes in: each entrance (door
type, whether it is an exit route, lock hardware, release voltage and wiring,
intercom), power, where the unit is mounted, hazards and photos. The rules
give a verdict: go, go with conditions, no-go, or pending-signal until the
paired unit has measured the cellular signal at the mount point. Key burning
is refused while the verdict is no-go or pending.

Surveys are written as a file (YAML or JSON; 'latchkey survey template' prints
an example to start from, docs/survey.schema.json is its JSON Schema). Every
saved revision is signed and queued for the back office.`,
		Example: `  latchkey survey template > elm-court.yaml
  latchkey survey validate --from elm-court.yaml --job 7Q2M
  latchkey survey new --job 7Q2M --from elm-court.yaml
  latchkey survey show --job 7Q2M`,
	}
	cmd.AddCommand(newCmdTemplate(f), newCmdValidate(f), newCmdSave(f, "new"), newCmdSave(f, "edit"), newCmdShow(f), newCmdOverride(f))
	return cmd
}

func newCmdTemplate(f *cmdutil.Factory) *cobra.Command {
	var jobRef string
	cmd := &cobra.Command{
		Use:   "template [--job ID]",
		Short: "Print an example survey file (YAML) to start from",
		Long: `Print an example survey file in YAML, every field with a comment naming its
values. With --job it is made for that job: its id and one entrance per door,
named as the job names them.`,
		Example: "  latchkey survey template > example.yaml\n  latchkey survey template --job 7Q2M > elm-court.yaml",
		Args:    cmdutil.NoArgs("name the job with --job"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if jobRef == "" {
				_, err := f.IO.Out.Write(survey.Template())
				return err
			}
			j, err := f.Job(cmd.Context(), jobRef)
			if err != nil {
				return err
			}
			b, err := survey.TemplateFor(j.ID, j.Doors)
			if err != nil {
				return err
			}
			_, err = f.IO.Out.Write(b)
			return err
		},
	}
	cmd.Flags().StringVar(&jobRef, "job", "", "make the template for this job (its id and doors)")
	return cmd
}

// load reads a survey file ("-" is stdin).
func load(f *cmdutil.Factory, path string) (survey.Survey, error) {
	if path == "" {
		return survey.Survey{}, cmdutil.Usagef("--from FILE is required (YAML or JSON; see 'latchkey survey template')")
	}
	var data []byte
	var err error
	if path == "-" {
		data, err = io.ReadAll(io.LimitReader(f.IO.In, survey.MaxFile+1))
	} else {
		data, err = os.ReadFile(path)
	}
	if err != nil {
		return survey.Survey{}, cmdutil.WithHint(err, "give the survey file with --from")
	}
	format := survey.DetectFormat(path, data)
	s, err := survey.Parse(data, format)
	if err != nil {
		return survey.Survey{}, cmdutil.WithHint(fmt.Errorf("%s: %w", path, err), "fix those lines and run again; nothing was saved")
	}
	return s, nil
}

func newCmdValidate(f *cmdutil.Factory) *cobra.Command {
	var from, jobRef string
	cmd := &cobra.Command{
		Use:   "validate --from FILE [--job ID]",
		Short: "Check a survey file and show the verdict, without saving it",
		Long: `Check a survey file: every field, and with --job that it has one entrance per
door of the job; then run the rules and show the verdict. Nothing is saved.`,
		Example: "  latchkey survey validate --from elm-court.yaml --job 7Q2M",
		Args:    cmdutil.NoArgs("give the file with --from"),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := load(f, from)
			if err != nil {
				return err
			}
			var doors []string
			if jobRef != "" {
				j, err := f.Job(cmd.Context(), jobRef)
				if err != nil {
					return err
				}
				doors = j.Doors
			}
			if probs := survey.Validate(s, doors); len(probs) > 0 {
				return cmdutil.WithHint(&install.ValidationError{Problems: probs}, "fix those fields and run again")
			}
			v := survey.Evaluate(s)
			if f.Global.JSON {
				return cmdutil.WriteJSON(f.IO.Out, v)
			}
			printVerdict(f.IO.Out, v)
			return nil
		},
	}
	cmd.Flags().StringVar(&from, "from", "", "the survey file, YAML or JSON (- for stdin)")
	cmd.Flags().StringVar(&jobRef, "job", "", "check it has one entrance per door of this job")
	return cmd
}

func newCmdSave(f *cmdutil.Factory, verb string) *cobra.Command {
	var from, jobRef string
	var photos []string
	short := "Save a job's survey from a file"
	long := `Save the survey of a job from a file: it is checked (one entrance per door
of the job), the rules give the verdict, and the survey is stored, signed and
queued for the back office. A survey saved before pairing is pending-signal:
pairing fills in the signal the unit measures and runs the rules again.`
	if verb == "edit" {
		short = "Replace a job's survey with a corrected file"
		long = `Replace the survey of a job with a corrected file. The new revision is
checked, judged, stored, signed and queued like the first; the signal the
paired unit measured is kept unless the file gives one.`
	}
	cmd := &cobra.Command{
		Use:     verb + " --job ID --from FILE",
		Short:   short,
		Long:    long,
		Example: fmt.Sprintf("  latchkey survey %s --job 7Q2M --from elm-court.yaml", verb),
		Args:    cmdutil.NoArgs("give the job with --job and the file with --from"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if jobRef == "" {
				return cmdutil.Usagef("--job is required (see 'latchkey jobs list')")
			}
			s, err := load(f, from)
			if err != nil {
				return err
			}
			sv, err := f.Surveys(cmd.Context())
			if err != nil {
				return err
			}
			j, err := f.Job(cmd.Context(), jobRef)
			if err != nil {
				return err
			}
			_, getErr := sv.Get(cmd.Context(), j.ID)
			switch {
			case verb == "new" && getErr == nil:
				return cmdutil.Usagef("job %s has a survey already; change it with 'latchkey survey edit'", j.ID)
			case verb == "edit" && errors.Is(getErr, install.ErrNoSurvey):
				return cmdutil.Usagef("job %s has no survey yet; start it with 'latchkey survey new'", j.ID)
			}
			if len(photos) > 0 {
				d, err := f.Dirs()
				if err != nil {
					return err
				}
				for _, p := range photos {
					file, caption, _ := strings.Cut(p, ":")
					ph, err := survey.AddPhoto(filepath.Join(d.Data, "photos"), file, caption)
					if err != nil {
						return cmdutil.WithHint(fmt.Errorf("photo %s: %w", file, err), "give JPEG, PNG, WebP or HEIC files under 20 MiB; nothing was saved")
					}
					s.Photos = append(s.Photos, ph)
				}
			}
			saved, err := sv.Save(cmd.Context(), j.ID, s)
			var ve *install.ValidationError
			if errors.As(err, &ve) {
				return cmdutil.WithHint(err, "fix those fields and run again; nothing was saved")
			}
			if err != nil {
				return err
			}
			if f.Global.JSON {
				return cmdutil.WriteJSON(f.IO.Out, saved)
			}
			fmt.Fprintf(f.IO.ErrOut, "saved the survey of job %s as %s, queued for the back office\n", saved.Job, saved.Record)
			printVerdict(f.IO.Out, saved.Verdict)
			return nil
		},
	}
	cmd.Flags().StringVar(&from, "from", "", "the survey file, YAML or JSON (- for stdin)")
	cmd.Flags().StringVar(&jobRef, "job", "", "the job (id, or its first characters)")
	cmd.Flags().StringArrayVar(&photos, "photo", nil, "a photo to keep with the survey, FILE or FILE:caption (repeatable; stored by its hash)")
	return cmd
}

func newCmdOverride(f *cmdutil.Factory) *cobra.Command {
	var jobRef, reason string
	cmd := &cobra.Command{
		Use:   "override --job ID --reason TEXT",
		Short: "Record a written reason to go ahead despite a no-go survey",
		Long: `A no-go survey stops the install. When the installer and the office decide to
go ahead anyway (the fire contractor is on site to wire the release today,
say), the reason is written here: it is signed with the survey as a new
revision, queued for the back office and journalled, and burning is allowed.
A pending signal cannot be overridden: pair the unit. Editing the survey
again clears the override.`,
		Example: "  latchkey survey override --job 7Q2M --reason 'Fire contractor J. Diaz wires the alarm release today, ticket 4411'",
		Args:    cmdutil.NoArgs("give the job with --job and the reason with --reason"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if jobRef == "" || strings.TrimSpace(reason) == "" {
				return cmdutil.Usagef("--job and --reason are required")
			}
			j, err := f.Job(cmd.Context(), jobRef)
			if err != nil {
				return err
			}
			sv, err := f.Surveys(cmd.Context())
			if err != nil {
				return err
			}
			saved, err := sv.Override(cmd.Context(), j.ID, reason)
			if errors.Is(err, install.ErrNoOverride) {
				return &cmdutil.UsageError{Err: err}
			}
			if err != nil {
				return err
			}
			if f.Global.JSON {
				return cmdutil.WriteJSON(f.IO.Out, saved)
			}
			fmt.Fprintf(f.IO.Out, "overridden: the survey of job %s stays no-go, and the install may go ahead because: %s\n", saved.Job, saved.Override.Reason)
			fmt.Fprintf(f.IO.ErrOut, "signed and queued as %s\n", saved.Record)
			return nil
		},
	}
	cmd.Flags().StringVar(&jobRef, "job", "", "the job (id, or its first characters)")
	cmd.Flags().StringVar(&reason, "reason", "", "who decided to go ahead, and why it is safe")
	return cmd
}

func newCmdShow(f *cmdutil.Factory) *cobra.Command {
	var jobRef, format string
	cmd := &cobra.Command{
		Use:     "show --job ID",
		Short:   "Show a job's survey and its verdict",
		Example: "  latchkey survey show --job 7Q2M\n  latchkey survey show --job 7Q2M --format yaml > elm-court.yaml",
		Args:    cmdutil.NoArgs("give the job with --job"),
		RunE: func(cmd *cobra.Command, args []string) error {
			j, err := f.Job(cmd.Context(), jobRef)
			if err != nil {
				return err
			}
			sv, err := f.Surveys(cmd.Context())
			if err != nil {
				return err
			}
			saved, err := sv.Get(cmd.Context(), j.ID)
			if err != nil {
				return err
			}
			switch {
			case f.Global.JSON:
				return cmdutil.WriteJSON(f.IO.Out, saved)
			case format == "yaml" || format == "json":
				ff := survey.FormatYAML
				if format == "json" {
					ff = survey.FormatJSON
				}
				b, err := survey.Marshal(saved.Survey, ff)
				if err != nil {
					return err
				}
				_, err = f.IO.Out.Write(b)
				return err
			case format != "":
				return cmdutil.Usagef("--format %q: want yaml or json", format)
			}
			s := saved.Survey
			fmt.Fprintf(f.IO.Out, "job        %s\nbuilding   %s (%d floors, %d units)\nentrances  %d\npower      %s, %.0f m from the mount\nmount      %s\n",
				s.Job, s.Building.Address, s.Building.Floors, s.Building.Units, len(s.Entrances), s.Power.Source, s.Power.DistanceM, s.Mount.Location)
			if s.Signal != nil && s.Signal.RSSIDBm != nil {
				fmt.Fprintf(f.IO.Out, "signal     %d dBm (unit %s)\n", *s.Signal.RSSIDBm, s.Signal.Unit)
			} else if s.Signal != nil {
				fmt.Fprintf(f.IO.Out, "signal     no network (unit %s)\n", s.Signal.Unit)
			} else {
				fmt.Fprintln(f.IO.Out, "signal     not measured yet (pair the unit)")
			}
			printVerdict(f.IO.Out, saved.Verdict)
			if saved.Override != nil {
				fmt.Fprintf(f.IO.Out, "override   %s (%s)\n", saved.Override.Reason, saved.Override.At.Local().Format("2006-01-02 15:04"))
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&jobRef, "job", "", "the job (id, or its first characters)")
	cmd.Flags().StringVar(&format, "format", "", "print the survey file itself: yaml or json")
	return cmd
}

func printVerdict(w io.Writer, v survey.Verdict) {
	fmt.Fprintf(w, "verdict    %s\n", strings.ToUpper(string(v.Outcome)))
	for _, r := range v.Reasons {
		fmt.Fprintf(w, "  %-10s %s\n", r.Severity, r.Message)
	}
}
