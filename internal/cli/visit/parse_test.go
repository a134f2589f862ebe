package visit

// Flag parsing, tested apart from behaviour: each command is built with a
// runF that captures its options, so nothing is opened or written.

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/latchkey/latchkey/internal/cli/cmdutil"
	"github.com/latchkey/latchkey/internal/incentive"
	"github.com/latchkey/latchkey/internal/sales"
)

var parseNow = time.Date(2026, 11, 25, 15, 0, 0, 0, time.Local)

// testFactory returns a Factory whose LATCHKEY_HOME is a new temporary
// directory; env adds variables and configFile, when not empty, is written
// as the config file.
func testFactory(t *testing.T, env map[string]string, configFile string) *cmdutil.Factory {
	t.Helper()
	home := t.TempDir()
	vars := map[string]string{"LATCHKEY_HOME": home}
	for k, v := range env {
		vars[k] = v
	}
	if configFile != "" {
		dir := filepath.Join(home, "config")
		if err := os.MkdirAll(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "config.toml"), []byte(configFile), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	ios, _, _, _ := cmdutil.Test()
	return &cmdutil.Factory{
		IO:     ios,
		Now:    func() time.Time { return parseNow },
		Rand:   rand.NewChaCha8([32]byte{1}),
		Getenv: func(k string) string { return vars[k] },
		GOOS:   runtime.GOOS,
		Log:    slog.New(slog.DiscardHandler),
	}
}

// execute runs cmd alone (no root) with args.
func execute(cmd *cobra.Command, args ...string) error {
	cmd.SetArgs(args)
	cmd.SetOut(io.Discard)
	cmd.SetErr(io.Discard)
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	return cmd.ExecuteContext(context.Background())
}

func local(s string) time.Time {
	t, err := time.ParseInLocation("2006-01-02 15:04", s, time.Local)
	if err != nil {
		panic(err)
	}
	return t
}

// sameFilter compares filters field by field, times by the instant.
func sameFilter(a, b sales.Filter) bool {
	return slices.Equal(a.Outcomes, b.Outcomes) && a.Rep == b.Rep && a.Since.Equal(b.Since) && a.Until.Equal(b.Until) &&
		a.DueBy == b.DueBy && a.Search == b.Search && a.Limit == b.Limit
}

// isUsage reports whether err is a usage error (exit code 2) whose message
// mentions each of want.
func isUsage(err error, want ...string) bool {
	var u *cmdutil.UsageError
	if !errors.As(err, &u) {
		return false
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			return false
		}
	}
	return true
}

func TestNewCmdList(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		args      []string
		env       map[string]string
		config    string
		want      sales.Filter
		wantUsage []string // the error is a usage error mentioning these
	}{
		{
			name: "defaults", args: nil,
			want: sales.Filter{Limit: 50},
		},
		{
			name: "every filter",
			args: []string{"--outcome", "interested,signed", "--since", "2026-11-01", "--until", "2026-11-30", "--due", "--limit", "5",
				"--rep", " Dana Reyes ", "--search", " elm "},
			want: sales.Filter{Outcomes: []sales.Outcome{sales.Interested, sales.Signed}, Rep: "Dana Reyes",
				Since: local("2026-11-01 00:00"), Until: local("2026-12-01 00:00"), DueBy: "2026-11-25", Search: "elm", Limit: 5},
		},
		{
			name: "repeated outcome flags, any case",
			args: []string{"--outcome", "Interested", "--outcome", "follow-up"},
			want: sales.Filter{Outcomes: []sales.Outcome{sales.Interested, sales.FollowUp}, Limit: 50},
		},
		{
			name: "until with a time is not stretched to the end of the day",
			args: []string{"--until", "2026-11-30 12:00"},
			want: sales.Filter{Until: local("2026-11-30 12:00"), Limit: 50},
		},
		{
			name: "since as an age",
			args: []string{"--since", "7d"},
			want: sales.Filter{Since: parseNow.Add(-7 * 24 * time.Hour), Limit: 50},
		},
		{
			name: "limit from the config file", config: "[list]\nlimit = 7\n",
			want: sales.Filter{Limit: 7},
		},
		{
			name: "limit from the environment beats the file", config: "[list]\nlimit = 7\n", env: map[string]string{"LATCHKEY_LIST_LIMIT": "9"},
			want: sales.Filter{Limit: 9},
		},
		{
			name: "limit flag beats the environment", args: []string{"--limit", "3"}, env: map[string]string{"LATCHKEY_LIST_LIMIT": "9"},
			want: sales.Filter{Limit: 3},
		},
		{
			name: "limit 0 means no limit", args: []string{"--limit", "0"},
			want: sales.Filter{Limit: 0},
		},
		{
			name: "negative limit", args: []string{"--limit", "-2"}, wantUsage: []string{"--limit"},
		},
		{name: "unknown outcome", args: []string{"--outcome", "interested,maybe"}, wantUsage: []string{"--outcome", `"maybe"`}},
		{name: "bad since", args: []string{"--since", "last week"}, wantUsage: []string{"--since"}},
		{name: "bad until", args: []string{"--until", "2026-13-01"}, wantUsage: []string{"--until"}},
		{name: "since after until", args: []string{"--since", "2026-12-01", "--until", "2026-11-01"}, wantUsage: []string{"--since", "--until"}},
		{name: "since equal to until", args: []string{"--since", "2026-11-30 12:00", "--until", "2026-11-30 12:00"}, wantUsage: []string{"--since"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var got *ListOptions
			cmd := NewCmdList(testFactory(t, tt.env, tt.config), func(_ context.Context, o *ListOptions) error {
				got = o
				return nil
			})
			err := execute(cmd, tt.args...)
			var problems []string
			switch {
			case tt.wantUsage != nil:
				if !isUsage(err, tt.wantUsage...) {
					problems = append(problems, "error = "+errString(err)+", want a usage error mentioning "+strings.Join(tt.wantUsage, ", "))
				}
				if got != nil {
					problems = append(problems, "runF was called after a usage error")
				}
			case err != nil:
				problems = append(problems, "error = "+err.Error())
			case got == nil:
				problems = append(problems, "runF was not called")
			case !sameFilter(got.Filter, tt.want):
				problems = append(problems, "Filter =\n"+dump(got.Filter)+"\nwant\n"+dump(tt.want))
			}
			for _, p := range problems {
				t.Error(p)
			}
		})
	}
}

func errString(err error) string {
	if err == nil {
		return "nil"
	}
	return err.Error()
}

func dump(f sales.Filter) string {
	return strings.Join([]string{
		"outcomes=" + strings.Join(names(f.Outcomes), ","), "rep=" + f.Rep,
		"since=" + f.Since.Format(time.RFC3339), "until=" + f.Until.Format(time.RFC3339),
		"due=" + f.DueBy, "search=" + f.Search, "limit=" + strconv.Itoa(f.Limit),
	}, " ")
}

func TestFiltersAreShared(t *testing.T) {
	t.Parallel()
	args := []string{"--outcome", "signed", "--since", "2026-11-01", "--until", "2026-11-30", "--rep", "Dana Reyes"}
	want := sales.Filter{Outcomes: []sales.Outcome{sales.Signed}, Rep: "Dana Reyes",
		Since: local("2026-11-01 00:00"), Until: local("2026-12-01 00:00")}
	t.Run("export", func(t *testing.T) {
		t.Parallel()
		var got *ExportOptions
		cmd := NewCmdExport(testFactory(t, nil, ""), func(_ context.Context, o *ExportOptions) error { got = o; return nil })
		if err := execute(cmd, args...); err != nil {
			t.Fatal(err)
		}
		if !sameFilter(got.Filter, want) {
			t.Errorf("Filter =\n%s\nwant\n%s", dump(got.Filter), dump(want))
		}
	})
	t.Run("stats", func(t *testing.T) {
		t.Parallel()
		var got *StatsOptions
		cmd := NewCmdStats(testFactory(t, nil, ""), func(_ context.Context, o *StatsOptions) error { got = o; return nil })
		if err := execute(cmd, args...); err != nil {
			t.Fatal(err)
		}
		if !sameFilter(got.Filter, want) {
			t.Errorf("Filter =\n%s\nwant\n%s", dump(got.Filter), dump(want))
		}
	})
}

// parseOptions builds a command with newCmd over a fresh factory, runs it
// on args and returns the options its runF was given. When wantUsage is not
// nil the run must instead fail with a usage error mentioning each of
// wantUsage, without calling runF.
func parseOptions[O any](t *testing.T, newCmd func(*cmdutil.Factory, func(context.Context, *O) error) *cobra.Command, args, wantUsage []string) *O {
	t.Helper()
	var got *O
	err := execute(newCmd(testFactory(t, nil, ""), func(_ context.Context, o *O) error { got = o; return nil }), args...)
	if wantUsage != nil {
		if !isUsage(err, wantUsage...) || got != nil {
			t.Errorf("error = %v (runF called: %v), want a usage error mentioning %q", err, got != nil, wantUsage)
		}
		return got
	}
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func TestNewCmdExport(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		args       []string
		wantFormat string
		wantOutput string
		wantUsage  []string
	}{
		{name: "defaults", wantFormat: "csv"},
		{name: "json to a file", args: []string{"--format", "json", "-o", "out.json"}, wantFormat: "json", wantOutput: "out.json"},
		{name: "long output flag", args: []string{"--output", "-"}, wantFormat: "csv", wantOutput: "-"},
		{name: "unknown format", args: []string{"--format", "xlsx"}, wantUsage: []string{"--format", "xlsx"}},
		{name: "bad filter", args: []string{"--outcome", "maybe"}, wantUsage: []string{"--outcome"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := parseOptions(t, NewCmdExport, tt.args, tt.wantUsage)
			if tt.wantUsage != nil {
				return
			}
			if got.Format != tt.wantFormat || got.Output != tt.wantOutput {
				t.Errorf("Format, Output = %q, %q; want %q, %q", got.Format, got.Output, tt.wantFormat, tt.wantOutput)
			}
		})
	}
}

func TestNewCmdImport(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		args       []string
		wantFile   string
		wantFormat string
		wantDryRun bool
		wantUsage  []string
	}{
		{name: "csv by extension", args: []string{"visits.csv"}, wantFile: "visits.csv", wantFormat: "csv"},
		{name: "json by extension, any case", args: []string{"Visits.JSON"}, wantFile: "Visits.JSON", wantFormat: "json"},
		{name: "no extension is csv", args: []string{"visits"}, wantFile: "visits", wantFormat: "csv"},
		{name: "stdin", args: []string{"-"}, wantFile: "-", wantFormat: "csv"},
		{name: "format flag beats the extension", args: []string{"--format", "json", "visits.csv"}, wantFile: "visits.csv", wantFormat: "json"},
		{name: "dry run", args: []string{"--dry-run", "v.csv"}, wantFile: "v.csv", wantFormat: "csv", wantDryRun: true},
		{name: "unknown format", args: []string{"--format", "xml", "v.xml"}, wantUsage: []string{"--format", "xml"}},
		{name: "no file", args: nil, wantUsage: []string{"FILE"}},
		{name: "two files", args: []string{"a.csv", "b.csv"}, wantUsage: []string{"one FILE"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := parseOptions(t, NewCmdImport, tt.args, tt.wantUsage)
			if tt.wantUsage != nil {
				return
			}
			if got.File != tt.wantFile || got.Format != tt.wantFormat || got.DryRun != tt.wantDryRun {
				t.Errorf("File, Format, DryRun = %q, %q, %v; want %q, %q, %v",
					got.File, got.Format, got.DryRun, tt.wantFile, tt.wantFormat, tt.wantDryRun)
			}
		})
	}
}

func TestNewCmdShowDeleteEdit(t *testing.T) {
	t.Parallel()
	t.Run("show", func(t *testing.T) {
		t.Parallel()
		for _, tt := range []struct {
			args        []string
			ref         string
			history     bool
			usage       bool
			description string
		}{
			{args: []string{"3f9c2a1b"}, ref: "3f9c2a1b"},
			{args: []string{"3f9c2a1b", "--history"}, ref: "3f9c2a1b", history: true},
			{args: nil, usage: true},
			{args: []string{"a", "b"}, usage: true},
		} {
			var got *ShowOptions
			err := execute(NewCmdShow(testFactory(t, nil, ""), func(_ context.Context, o *ShowOptions) error { got = o; return nil }), tt.args...)
			if tt.usage {
				if !isUsage(err, "one visit ID") || got != nil {
					t.Errorf("show %q: error = %v, want a usage error", tt.args, err)
				}
				continue
			}
			if err != nil || got.Ref != tt.ref || got.History != tt.history {
				t.Errorf("show %q: Ref, History, err = %q, %v, %v", tt.args, got.Ref, got.History, err)
			}
		}
	})
	t.Run("delete", func(t *testing.T) {
		t.Parallel()
		for _, tt := range []struct {
			args  []string
			yes   bool
			usage bool
		}{
			{args: []string{"3f9c"}},
			{args: []string{"3f9c", "--yes"}, yes: true},
			{args: []string{"-y", "3f9c"}, yes: true},
			{args: nil, usage: true},
		} {
			var got *DeleteOptions
			err := execute(NewCmdDelete(testFactory(t, nil, ""), func(_ context.Context, o *DeleteOptions) error { got = o; return nil }), tt.args...)
			if tt.usage {
				if !isUsage(err, "one visit ID") || got != nil {
					t.Errorf("delete %q: error = %v, want a usage error", tt.args, err)
				}
				continue
			}
			if err != nil || got.Ref != "3f9c" || got.Yes != tt.yes {
				t.Errorf("delete %q: Ref, Yes, err = %q, %v, %v", tt.args, got.Ref, got.Yes, err)
			}
		}
	})
	t.Run("edit", func(t *testing.T) {
		t.Parallel()
		for _, tt := range []struct {
			args    []string
			changed bool
		}{
			{args: []string{"3f9c", "--outcome", "signed", "--follow-up", ""}, changed: true},
			{args: []string{"3f9c", "--notes", ""}, changed: true},
			{args: []string{"3f9c"}, changed: false},
		} {
			var got *EditOptions
			err := execute(NewCmdEdit(testFactory(t, nil, ""), func(_ context.Context, o *EditOptions) error { got = o; return nil }), tt.args...)
			if err != nil {
				t.Fatalf("edit %q: %v", tt.args, err)
			}
			if got.Ref != "3f9c" || got.changed != tt.changed || got.Form != nil {
				t.Errorf("edit %q: Ref, changed, Form set = %q, %v, %v; want 3f9c, %v, false (no terminal)",
					tt.args, got.Ref, got.changed, got.Form != nil, tt.changed)
			}
		}
	})
}

func TestNewCmdLog(t *testing.T) {
	t.Parallel()
	base := []string{"--building", " Elm Court ", "--address", "12 Elm St", "--city", "Springfield", "--units", "24"}
	tests := []struct {
		name      string
		args      []string
		check     func(t *testing.T, v sales.Visit)
		wantUsage []string
	}{
		{
			name: "every field",
			args: append(slices.Clone(base), "--contact", "Ana Ruiz", "--role", "Manager", "--phone", "+1 555 0100",
				"--email", "Ana@ElmCourt.example", "--rep", "Dana Reyes", "--when", "2026-11-20 10:30", "--outcome", "Follow-Up",
				"--objection", "privacy,Cost", "--objection", "tenant-notice", "--objection-notes", "worried about noise",
				"--incentive", "gift-card:100:USD", "--follow-up", "+1w", "--notes", "call after 5"),
			check: func(t *testing.T, v sales.Visit) {
				want := sales.Visit{
					Rep:      "Dana Reyes",
					Building: sales.Building{Name: " Elm Court ", Address: "12 Elm St", City: "Springfield", Units: 24},
					Contact:  sales.Contact{Name: "Ana Ruiz", Role: sales.Manager, Phone: "+1 555 0100", Email: "Ana@ElmCourt.example"},
					Outcome:  sales.FollowUp, Objections: []sales.Objection{sales.Privacy, sales.Cost, sales.TenantNotice},
					ObjectionNotes: "worried about noise", Incentive: incentive.Offer{Kind: incentive.GiftCard, Cents: 10000, Currency: "USD"},
					FollowUp: "2026-12-02", Notes: "call after 5",
				}
				if !v.VisitedAt.Equal(local("2026-11-20 10:30")) {
					t.Errorf("VisitedAt = %v, want 2026-11-20 10:30 local", v.VisitedAt)
				}
				v.VisitedAt = time.Time{}
				if !sales.SameContent(v, want) || !slices.Equal(v.Objections, want.Objections) {
					t.Errorf("visit =\n%+v\nwant\n%+v", v, want)
				}
			},
		},
		{
			name: "defaults: now, no incentive, rep left to the config",
			args: base,
			check: func(t *testing.T, v sales.Visit) {
				if !v.VisitedAt.Equal(parseNow) || !v.Incentive.IsNone() || v.Rep != "" || v.Objections != nil {
					t.Errorf("VisitedAt, Incentive, Rep, Objections = %v, %v, %q, %q; want now, none, \"\", nil",
						v.VisitedAt, v.Incentive, v.Rep, v.Objections)
				}
			},
		},
		{
			name: "follow-up tomorrow and an age for when",
			args: append(slices.Clone(base), "--follow-up", "tomorrow", "--when", "2h"),
			check: func(t *testing.T, v sales.Visit) {
				if v.FollowUp != "2026-11-26" || !v.VisitedAt.Equal(parseNow.Add(-2*time.Hour)) {
					t.Errorf("FollowUp, VisitedAt = %q, %v", v.FollowUp, v.VisitedAt)
				}
			},
		},
		{name: "bad when", args: append(slices.Clone(base), "--when", "yesterday"), wantUsage: []string{"--when", "yesterday"}},
		{name: "bad follow-up", args: append(slices.Clone(base), "--follow-up", "someday"), wantUsage: []string{"--follow-up", "someday"}},
		{name: "bad incentive", args: append(slices.Clone(base), "--incentive", "gift-card:100"), wantUsage: []string{"--incentive"}},
		{name: "unknown incentive kind", args: append(slices.Clone(base), "--incentive", "bribe:100:USD"), wantUsage: []string{"--incentive", "bribe"}},
		{name: "stray argument", args: append(slices.Clone(base), "Elm Court")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var got *LogOptions
			cmd := NewCmdLog(testFactory(t, nil, ""), func(_ context.Context, o *LogOptions) error { got = o; return nil })
			err := execute(cmd, tt.args...)
			if tt.check == nil {
				if err == nil || got != nil {
					t.Fatalf("error = %v (runF called: %v), want an error", err, got != nil)
				}
				if tt.wantUsage != nil && !isUsage(err, tt.wantUsage...) {
					t.Errorf("error = %v, want a usage error mentioning %q", err, tt.wantUsage)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Form != nil {
				t.Error("Form is set without a terminal")
			}
			tt.check(t, got.visit)
		})
	}
}
