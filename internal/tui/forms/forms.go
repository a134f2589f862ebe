// Package forms holds the small pieces every form of latchkey shares: the
// `visit log` form, the install wizard's survey, consent and notice screens,
// and the wizard's --plain line mode. It runs huh forms with the product's
// one theme (internal/tui/styles), adapts the domain's checks into field
// validators, turns the domain's value lists into options, and reads
// answers typed on a line (yes/no, one of a list, a default in brackets).
package forms

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/charmbracelet/huh"

	"github.com/latchkey/latchkey/internal/humantime"
	"github.com/latchkey/latchkey/internal/tui/styles"
)

// ErrAborted is returned when the user leaves a form before submitting it
// (Esc or Ctrl+C).
var ErrAborted = errors.New("form left before it was submitted")

// IO is where a form runs and how it looks.
type IO struct {
	// In and Out default to the terminal (huh's defaults) when nil.
	In      io.Reader
	Out     io.Writer
	NoColor bool
}

// Prepare gives f the product's theme and io's input and output.
func Prepare(f *huh.Form, io IO) *huh.Form {
	f = f.WithTheme(styles.FormTheme(io.NoColor))
	if io.In != nil {
		f = f.WithInput(io.In)
	}
	if io.Out != nil {
		f = f.WithOutput(io.Out)
	}
	return f
}

// Run runs f until it is submitted; leaving it is ErrAborted.
func Run(ctx context.Context, f *huh.Form) error {
	err := f.RunWithContext(ctx)
	if errors.Is(err, huh.ErrUserAborted) {
		return ErrAborted
	}
	return err
}

// Trimmed checks a text with spaces and line breaks around it removed.
func Trimmed(check func(string) error) func(string) error {
	return func(s string) error { return check(strings.TrimSpace(s)) }
}

// Optional lets an empty (or all-space) text pass and checks the rest.
func Optional(check func(string) error) func(string) error {
	return func(s string) error {
		if strings.TrimSpace(s) == "" {
			return nil
		}
		return check(s)
	}
}

// ParseInt reads a whole number typed with spaces around it; what names the
// number in the error ("a whole number of apartments").
func ParseInt(s, what string) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return 0, errors.New(what)
	}
	return n, nil
}

// Int checks a text that must be a whole number (what names it in the
// error, as for ParseInt) that check accepts; check may be nil.
func Int(what string, check func(int) error) func(string) error {
	return func(s string) error {
		n, err := ParseInt(s, what)
		if err != nil || check == nil {
			return err
		}
		return check(n)
	}
}

// ParseFloat reads a decimal number typed with spaces around it, with a
// decimal point or a decimal comma.
func ParseFloat(s, what string) (float64, error) {
	f, err := strconv.ParseFloat(strings.ReplaceAll(strings.TrimSpace(s), ",", "."), 64)
	if err != nil {
		return 0, errors.New(what)
	}
	return f, nil
}

// Date checks a calendar date as humantime.ParseDate reads it (2026-12-01,
// today, tomorrow, +3d, +2w); empty passes.
func Date(now time.Time) func(string) error {
	return func(s string) error {
		_, err := humantime.ParseDate(s, now)
		return err
	}
}

// Time checks a moment as humantime.ParseTime reads it (now, 2026-11-25,
// "2026-11-25 14:30", an age like 2h).
func Time(now time.Time) func(string) error {
	return func(s string) error {
		_, err := humantime.ParseTime(s, now)
		return err
	}
}

// OneOf checks a text that must be one of values, naming them when it is
// not.
func OneOf[T ~string](values []T) func(string) error {
	return func(s string) error {
		for _, v := range values {
			if string(v) == s {
				return nil
			}
		}
		return fmt.Errorf("%q is not one of %s", s, List(values, "or"))
	}
}

// Strings returns values as strings.
func Strings[T ~string](values []T) []string {
	out := make([]string, len(values))
	for i, v := range values {
		out[i] = string(v)
	}
	return out
}

// List joins values as a sentence does: "a", "a or b", "a, b or c"; conj
// is the last word ("or", "and").
func List[T ~string](values []T, conj string) string {
	s := Strings(values)
	switch len(s) {
	case 0:
		return ""
	case 1:
		return s[0]
	}
	return strings.Join(s[:len(s)-1], ", ") + " " + conj + " " + s[len(s)-1]
}

// Options makes select options of values, each shown as itself.
func Options[T ~string](values []T) []huh.Option[string] {
	out := make([]huh.Option[string], len(values))
	for i, v := range values {
		out[i] = huh.NewOption(string(v), string(v))
	}
	return out
}

// OptionsWithNone is Options led by an option for no value ("") shown as
// none, e.g. "(none)".
func OptionsWithNone[T ~string](none string, values []T) []huh.Option[string] {
	return append([]huh.Option[string]{huh.NewOption(none, "")}, Options(values)...)
}

// Match finds the value typed as s: the one equal to it, ignoring case and
// spaces around it, else the only one it is the start of ("sw" for swing).
func Match[T ~string](values []T, s string) (T, bool) {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "" {
		return "", false
	}
	var found []T
	for _, v := range values {
		lv := strings.ToLower(string(v))
		if lv == s {
			return v, true
		}
		if strings.HasPrefix(lv, s) {
			found = append(found, v)
		}
	}
	if len(found) == 1 {
		return found[0], true
	}
	return "", false
}

// ParseYesNo reads a yes or no answer: y, yes, n or no in any case. ok is
// false for anything else.
func ParseYesNo(s string) (yes, ok bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "y", "yes":
		return true, true
	case "n", "no":
		return false, true
	}
	return false, false
}

// Clean is a typed line as an answer: without its line ending and the
// spaces around it.
func Clean(s string) string {
	return strings.TrimSpace(strings.TrimRight(s, "\r\n"))
}
