package cmdutil

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"
)

// UsageError is a mistake in how a command was called: exit code 2.
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

// Usagef makes a UsageError.
func Usagef(format string, args ...any) error {
	return &UsageError{Err: fmt.Errorf(format, args...)}
}

// HintError carries what the user should do next.
type HintError struct {
	Err  error
	Hint string
}

func (e *HintError) Error() string { return e.Err.Error() }
func (e *HintError) Unwrap() error { return e.Err }

// NextStep is the hint, for screens that show what to do next beside an
// error (internal/tui/wizard looks for this method).
func (e *HintError) NextStep() string { return e.Hint }

// WithHint attaches a next step to err; nil stays nil.
func WithHint(err error, hint string) error {
	if err == nil {
		return nil
	}
	return &HintError{Err: err, Hint: hint}
}

// ErrCancelled is returned when the user answers no or leaves a form; the
// process exits 1 with a short note and nothing changed.
var ErrCancelled = errors.New("cancelled, nothing was changed")

// NoArgs refuses positional arguments with a usage error that says what the
// command takes instead (cobra's own says "unknown command").
func NoArgs(instead string) func(cmd *cobra.Command, args []string) error {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) > 0 {
			return Usagef("%s takes no arguments (got %q); %s", cmd.CommandPath(), args[0], instead)
		}
		return nil
	}
}
