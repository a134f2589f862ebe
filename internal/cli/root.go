package cli

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/spf13/cobra"

	"github.com/latchkey/latchkey/internal/cli/cmdutil"
	configcmd "github.com/latchkey/latchkey/internal/cli/config"
	consentcmd "github.com/latchkey/latchkey/internal/cli/consent"
	democmd "github.com/latchkey/latchkey/internal/cli/demo"
	diagcmd "github.com/latchkey/latchkey/internal/cli/diag"
	fwcmd "github.com/latchkey/latchkey/internal/cli/fw"
	hubcmd "github.com/latchkey/latchkey/internal/cli/hub"
	identitycmd "github.com/latchkey/latchkey/internal/cli/identity"
	installcmd "github.com/latchkey/latchkey/internal/cli/install"
	jobscmd "github.com/latchkey/latchkey/internal/cli/jobs"
	journalcmd "github.com/latchkey/latchkey/internal/cli/journal"
	logincmd "github.com/latchkey/latchkey/internal/cli/login"
	noticecmd "github.com/latchkey/latchkey/internal/cli/notice"
	outboxcmd "github.com/latchkey/latchkey/internal/cli/outbox"
	portscmd "github.com/latchkey/latchkey/internal/cli/ports"
	provisioncmd "github.com/latchkey/latchkey/internal/cli/provision"
	simcmd "github.com/latchkey/latchkey/internal/cli/sim"
	surveycmd "github.com/latchkey/latchkey/internal/cli/survey"
	synccmd "github.com/latchkey/latchkey/internal/cli/sync"
	trustcmd "github.com/latchkey/latchkey/internal/cli/trust"
	unitcmd "github.com/latchkey/latchkey/internal/cli/unit"
	"github.com/latchkey/latchkey/internal/cli/version"
	visitcmd "github.com/latchkey/latchkey/internal/cli/visit"
	"github.com/latchkey/latchkey/internal/config"
)

const rootLong = `latchkey is the field tool for the people who fit and keep door-access units:
installers survey buildings, pair units and burn keys; sales reps log visits
to buildings; support diagnoses units.

Data lives under LATCHKEY_HOME when it is set, else in the XDG base
directories ('latchkey config path' shows where).

Exit codes:
  0  success
  1  the command failed (the message says why and what to do next)
  2  the command line was wrong (a flag, an argument, or a missing value)`

// NewCmdRoot builds the whole command tree over f.
func NewCmdRoot(f *cmdutil.Factory) *cobra.Command {
	var noColor, verbose bool
	root := &cobra.Command{
		Use:           "latchkey",
		Short:         "Install, sell and support door-access units",
		Long:          rootLong,
		Example:       "  latchkey visit log --building 'Elm Court' --address '12 Elm St' --city Springfield --units 24 --outcome no-answer\n  latchkey visit list --due\n  latchkey config set rep 'Dana Reyes'",
		Version:       f.Build.Version,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			return applyGlobals(f, cmd, noColor, verbose)
		},
	}
	root.SetVersionTemplate(fmt.Sprintf("latchkey {{.Version}} (commit %s, built %s, %s)\n", f.Build.Commit, f.Build.Date, f.Build.GoVersion))
	root.CompletionOptions.DisableDefaultCmd = true
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		return cmdutil.WithHint(&cmdutil.UsageError{Err: plainFlagError(err)}, fmt.Sprintf("see '%s --help'", cmd.CommandPath()))
	})
	// Defined here so its help reads like the others; cobra uses it for --version.
	root.Flags().Bool("version", false, "print the version, commit and build date")
	pf := root.PersistentFlags()
	pf.BoolVar(&f.Global.JSON, "json", false, "print data as JSON, for scripts")
	pf.BoolVar(&noColor, "no-color", false, "turn off colour (also NO_COLOR=1 or config no-color)")
	pf.BoolVarP(&verbose, "verbose", "v", false, "log debug detail to stderr")

	root.AddCommand(
		version.NewCmdVersion(f),
		NewCmdCompletion(root),
		configcmd.NewCmdConfig(f),
		visitcmd.NewCmdVisit(f),
		portscmd.NewCmdPorts(f, nil),
		simcmd.NewCmdSim(f),
		diagcmd.NewCmdDiag(f),
		fwcmd.NewCmdFw(f),
		identitycmd.NewCmdIdentity(f),
		logincmd.NewCmdLogin(f),
		logincmd.NewCmdLogout(f),
		jobscmd.NewCmdJobs(f),
		synccmd.NewCmdSync(f),
		outboxcmd.NewCmdOutbox(f),
		hubcmd.NewCmdHub(f),
		trustcmd.NewCmdTrust(f),
		provisioncmd.NewCmdPair(f),
		provisioncmd.NewCmdBurn(f),
		journalcmd.NewCmdJournal(f),
		unitcmd.NewCmdUnit(f),
		surveycmd.NewCmdSurvey(f),
		installcmd.NewCmdInstall(f),
		noticecmd.NewCmdNotice(f),
		consentcmd.NewCmdConsent(f),
		democmd.NewCmdDemo(f),
	)
	groupByRole(root)
	groupCommands(root)
	return root
}

// groupByRole sorts the top-level commands in help by who uses them.
func groupByRole(root *cobra.Command) {
	groups := []struct {
		id, title string
		cmds      []string
	}{
		{"install", "Installing a unit:", []string{"demo", "jobs", "survey", "trust", "pair", "install", "burn", "consent", "notice", "unit"}},
		{"records", "Records and the back office:", []string{"sync", "outbox", "journal", "login", "logout", "identity"}},
		{"sales", "Sales:", []string{"visit"}},
		{"support", "Support:", []string{"ports", "diag", "fw", "sim"}},
		{"office", "Running the back office:", []string{"hub"}},
	}
	for _, g := range groups {
		root.AddGroup(&cobra.Group{ID: g.id, Title: g.title})
		for _, name := range g.cmds {
			for _, c := range root.Commands() {
				if c.Name() == name {
					c.GroupID = g.id
				}
			}
		}
	}
}

// applyGlobals resolves --no-color and --verbose against the environment and
// config file and sets up logging. Commands annotated config-tolerant
// (version, completion, config path) need no settings, so they still run on a
// config file that does not parse, with a warning; every other command fails
// with the file's error, once.
func applyGlobals(f *cmdutil.Factory, cmd *cobra.Command, noColor, verbose bool) error {
	f.Global.NoColor, f.Global.Verbose = noColor, verbose
	pf := cmd.Flags()
	nc, err := f.Setting("no-color", fmt.Sprint(noColor), pf.Changed("no-color"))
	if err == nil {
		var vb config.Value
		vb, err = f.Setting("verbose", fmt.Sprint(verbose), pf.Changed("verbose"))
		if err == nil {
			f.Global.NoColor, f.Global.Verbose = nc.Bool(), vb.Bool()
		}
	}
	if err != nil && !tolerantOfConfig(cmd) {
		return err
	}
	level := slog.LevelWarn
	if f.Global.Verbose {
		level = slog.LevelDebug
	}
	f.Log = slog.New(slog.NewTextHandler(f.IO.ErrOut, &slog.HandlerOptions{Level: level}))
	if err != nil {
		fmt.Fprintf(f.IO.ErrOut, "latchkey: ignoring the config file for this command: %v\n", err)
	}
	return nil
}

func tolerantOfConfig(cmd *cobra.Command) bool {
	for c := cmd; c != nil; c = c.Parent() {
		if c.Annotations["config-tolerant"] == "true" {
			return true
		}
	}
	return false
}

// groupCommands makes every command that only groups others fail with a
// usage error on an unknown verb, instead of cobra's default of printing help
// and exiting 0; with no verb it prints help.
func groupCommands(cmd *cobra.Command) {
	for _, c := range cmd.Commands() {
		groupCommands(c)
	}
	if cmd.Runnable() || !cmd.HasSubCommands() {
		return
	}
	cmd.Args = cobra.ArbitraryArgs
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if len(args) == 0 {
			return cmd.Help()
		}
		msg := fmt.Sprintf("unknown command %q for %q", args[0], cmd.CommandPath())
		// cobra sets the distance only inside its own lookup; 0 would
		// suggest prefixes only.
		if cmd.SuggestionsMinimumDistance <= 0 {
			cmd.SuggestionsMinimumDistance = 2
		}
		if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
			msg += fmt.Sprintf(" (did you mean %s?)", s[0])
		}
		return &cmdutil.UsageError{Err: errors.New(msg)}
	}
}

// plainFlagError drops the Go parser's words from pflag's messages:
// `invalid argument "lots" for "--limit" flag: strconv.ParseInt: parsing
// "lots": invalid syntax` becomes `invalid argument "lots" for "--limit":
// not a whole number`.
func plainFlagError(err error) error {
	msg := err.Error()
	i := strings.Index(msg, " flag: strconv.")
	if i < 0 {
		return err
	}
	what := "not a valid value"
	switch {
	case strings.Contains(msg, "ParseInt"), strings.Contains(msg, "ParseUint"):
		what = "not a whole number"
	case strings.Contains(msg, "ParseBool"):
		what = "not true or false"
	case strings.Contains(msg, "ParseFloat"):
		what = "not a number"
	}
	if strings.Contains(msg, "value out of range") {
		what = "out of range"
	}
	return errors.New(msg[:i] + ": " + what)
}
