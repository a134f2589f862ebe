package cli

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/latchkey/latchkey/internal/cli/cmdutil"
	"github.com/latchkey/latchkey/internal/config"
	"github.com/latchkey/latchkey/internal/sales"
	"github.com/latchkey/latchkey/internal/store"
)

// Exit codes, listed in the root command's help.
const (
	ExitOK      = 0
	ExitFailure = 1
	ExitUsage   = 2
)

// Main runs latchkey with the process's arguments and streams and returns the
// exit code. Only main calls os.Exit.
func Main(build cmdutil.BuildInfo) int {
	build.GoVersion = runtime.Version()
	f := &cmdutil.Factory{
		IO:     cmdutil.System(),
		Build:  build,
		Now:    time.Now,
		Rand:   rand.Reader,
		Getenv: os.Getenv,
		GOOS:   runtime.GOOS,
		Log:    slog.New(slog.DiscardHandler),
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return Run(ctx, f, os.Args[1:])
}

// Run executes one command line against f and returns the exit code.
func Run(ctx context.Context, f *cmdutil.Factory, args []string) int {
	root := NewCmdRoot(f)
	root.SetArgs(args)
	root.SetIn(f.IO.In)
	root.SetOut(f.IO.Out)
	root.SetErr(f.IO.ErrOut)
	cmd, err := root.ExecuteContextC(ctx)
	if cerr := f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("close store: %w", cerr)
	}
	if err == nil {
		return ExitOK
	}
	var usage *cmdutil.UsageError
	var hinted *cmdutil.HintError
	if (errors.As(err, &usage) || isCobraUsage(err)) && !errors.As(err, &hinted) && cmd != nil {
		err = cmdutil.WithHint(err, fmt.Sprintf("see '%s --help'", cmd.CommandPath()))
	}
	code := PrintError(f.IO.ErrOut, err)
	f.Log.Debug("command failed", "error", fmt.Sprintf("%+v", err))
	return code
}

// PrintError writes err as one line, with what to do next, and returns the
// exit code it maps to.
func PrintError(w io.Writer, err error) int {
	code := ExitFailure
	var usage *cmdutil.UsageError
	if errors.As(err, &usage) || isCobraUsage(err) {
		code = ExitUsage
	}
	msg := strings.ReplaceAll(strings.TrimSpace(err.Error()), "\n", " ")
	if hint := hintFor(err); hint != "" {
		msg += "; " + hint
	}
	fmt.Fprintln(w, "latchkey: "+msg)
	return code
}

func hintFor(err error) string {
	var h *cmdutil.HintError
	var fe *store.FileError
	switch {
	case errors.As(err, &h):
		return h.Hint
	case errors.Is(err, store.ErrCorrupt):
		file := "the database file"
		if errors.As(err, &fe) {
			file = fe.Path
		}
		return "latchkey has not changed it: move " + file + " aside and restore it from a backup, or point LATCHKEY_HOME at another directory"
	case errors.Is(err, store.ErrTooNew):
		return "install the newer latchkey that wrote it ('latchkey version' shows this one)"
	case errors.Is(err, store.ErrBusy):
		return "another latchkey is writing to the same store; try again in a moment"
	case errors.Is(err, sales.ErrNotFound):
		return "run 'latchkey visit list' to see visit ids"
	case errors.Is(err, sales.ErrAmbiguous):
		return "run 'latchkey visit list' and give more of the id"
	case errors.Is(err, sales.ErrConflict):
		return "run 'latchkey visit show ID' and make the change again"
	case errors.Is(err, sales.ErrImportRejected):
		return "fix those lines and import again"
	case errors.Is(err, config.ErrUnknownKey):
		return "" // internal/config's message already names 'latchkey config list'
	case errors.Is(err, context.Canceled):
		return "interrupted, nothing more was written"
	case errors.Is(err, cmdutil.ErrCancelled):
		return ""
	}
	var usage *cmdutil.UsageError
	if errors.As(err, &usage) || isCobraUsage(err) {
		return "see 'latchkey --help'"
	}
	return ""
}

// isCobraUsage recognises the errors cobra makes itself for a bad command
// line (it has no typed errors for them).
func isCobraUsage(err error) bool {
	msg := err.Error()
	for _, p := range []string{"unknown command", "unknown flag", "unknown shorthand flag", "flag needs an argument",
		"invalid argument", "accepts ", "requires at least", "requires at most", "required flag", "if any flags in the group"} {
		if strings.HasPrefix(msg, p) {
			return true
		}
	}
	return false
}
