package cli_test

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/latchkey/latchkey/internal/cli"
)

// shortVerbs are the verbs a command's Short may start with. The rule is
// "Short starts with a verb in the imperative"; add a verb here when a new
// command needs it, never a noun or an adjective.
var shortVerbs = map[string]bool{
	"Add": true, "Burn": true, "Change": true, "Check": true, "Collect": true, "Create": true,
	"Decommission": true, "Delete": true, "Diagnose": true, "Edit": true, "Export": true,
	"Find": true, "Generate": true, "Get": true, "Import": true, "Install": true, "List": true,
	"Log": true, "Manage": true, "Open": true, "Pair": true, "Print": true, "Read": true,
	"Record": true, "Remove": true, "Resume": true, "Run": true, "Save": true, "Send": true,
	"Serve": true, "Set": true, "Show": true, "Sign": true, "Start": true, "Summarise": true,
	"Survey": true, "Sync": true, "Test": true, "Update": true, "Upload": true, "Verify": true,
	"Watch": true, "Write": true, "Measure": true, "Make": true, "Kill": true, "Deny": true,
	"Revoke": true, "Fetch": true, "Pull": true, "Join": true, "Forget": true, "Put": true,
	"See": true, "Prove": true, "Inspect": true, "Stop": true, "Trust": true, "Wipe": true, "Act": true, "Replace": true,
	"Walk": true, "Try": true, "Copy": true,
}

// walk calls fn for cmd and every command below it, except the ones cobra
// adds by itself.
func walk(cmd *cobra.Command, fn func(*cobra.Command)) {
	fn(cmd)
	for _, c := range cmd.Commands() {
		if c.Name() == "help" || strings.HasPrefix(c.Name(), "__") {
			continue
		}
		walk(c, fn)
	}
}

func newRoot(t *testing.T) *cobra.Command {
	t.Helper()
	f, _, _ := newMachine(t).Factory("")
	root := cli.NewCmdRoot(f)
	root.InitDefaultHelpFlag()
	root.InitDefaultVersionFlag()
	return root
}

func TestHelpText(t *testing.T) {
	t.Parallel()
	var paths [][]string
	walk(newRoot(t), func(cmd *cobra.Command) {
		paths = append(paths, strings.Fields(cmd.CommandPath())[1:])
	})
	if len(paths) < 10 {
		t.Errorf("walked %d commands; the tree should hold the config and visit verbs", len(paths))
	}
	for _, p := range paths {
		t.Run(strings.Join(append([]string{"latchkey"}, p...), " "), func(t *testing.T) {
			t.Parallel()
			// A tree of its own: checking examples parses flags into it.
			cmd, _, err := newRoot(t).Find(p)
			if err != nil {
				t.Fatal(err)
			}
			path := cmd.CommandPath()
			for _, p := range shortProblems(cmd.Short) {
				t.Errorf("%s: Short %q %s", path, cmd.Short, p)
			}
			for _, p := range exampleProblems(cmd) {
				t.Errorf("%s: Example %s", path, p)
			}
			cmd.LocalFlags().VisitAll(func(fl *pflag.Flag) {
				if fl.Name == "help" {
					return // cobra's own
				}
				for _, p := range flagUsageProblems(fl.Usage) {
					t.Errorf("%s --%s: usage %q %s", path, fl.Name, fl.Usage, p)
				}
			})
		})
	}
}

func shortProblems(short string) []string {
	if strings.TrimSpace(short) == "" {
		return []string{"is empty"}
	}
	var ps []string
	first, _, _ := strings.Cut(short, " ")
	first = strings.TrimRight(first, ",:;")
	if !shortVerbs[first] {
		ps = append(ps, "does not start with a capitalised verb from shortVerbs in help_test.go (add the verb there if it is one)")
	}
	if strings.HasSuffix(short, ".") {
		ps = append(ps, "ends with a period")
	}
	if short != strings.TrimSpace(short) {
		ps = append(ps, "has surrounding space")
	}
	return ps
}

func flagUsageProblems(usage string) []string {
	if strings.TrimSpace(usage) == "" {
		return []string{"is empty"}
	}
	var ps []string
	if r, _ := utf8.DecodeRuneInString(usage); unicode.IsUpper(r) {
		ps = append(ps, "starts with a capital letter")
	}
	if strings.HasSuffix(usage, ".") {
		ps = append(ps, "ends with a period")
	}
	return ps
}

// exampleProblems checks that cmd has examples, that each is indented by two
// spaces and runs latchkey, that one of them runs cmd itself, and that every
// latchkey command line in them names a real command with flags it has.
func exampleProblems(cmd *cobra.Command) []string {
	if strings.TrimSpace(cmd.Example) == "" {
		return []string{"is empty"}
	}
	var ps []string
	var lines []string // whole command lines, continuations joined
	continued := false
	for _, l := range strings.Split(cmd.Example, "\n") {
		switch {
		case continued:
			if !strings.HasPrefix(l, "  ") {
				ps = append(ps, "continuation line "+strconvQuote(l)+" is not indented")
			}
			lines[len(lines)-1] += " " + strings.TrimSpace(strings.TrimSuffix(l, `\`))
		case !strings.HasPrefix(l, "  ") || strings.HasPrefix(l, "   "):
			ps = append(ps, "line "+strconvQuote(l)+" is not indented by exactly two spaces")
			lines = append(lines, strings.TrimSpace(strings.TrimSuffix(l, `\`)))
		case !strings.Contains(l, "latchkey "):
			ps = append(ps, "line "+strconvQuote(l)+" does not run latchkey")
			lines = append(lines, strings.TrimSpace(strings.TrimSuffix(l, `\`)))
		default:
			lines = append(lines, strings.TrimSpace(strings.TrimSuffix(l, `\`)))
		}
		continued = strings.HasSuffix(l, `\`)
	}
	if continued {
		ps = append(ps, "ends with a line continuation")
	}
	self := false
	for _, l := range lines {
		args, ok := exampleArgs(l)
		if !ok {
			continue
		}
		if strings.HasPrefix(strings.Join(append([]string{"latchkey"}, args...), " ")+" ", cmd.CommandPath()+" ") {
			self = true
		}
		if p := checkExample(cmd.Root(), args); p != "" {
			ps = append(ps, strconvQuote(l)+": "+p)
		}
	}
	if !self {
		ps = append(ps, "has no line that runs "+strconvQuote(cmd.CommandPath()))
	}
	return ps
}

// checkExample parses args the way cobra would, without running anything.
func checkExample(root *cobra.Command, args []string) string {
	c, rest, err := root.Find(args)
	if err != nil {
		return err.Error()
	}
	if err := c.ParseFlags(rest); err != nil {
		return "flags do not parse: " + err.Error()
	}
	if c.HasSubCommands() && len(c.Flags().Args()) > 0 {
		return "unknown command " + strconvQuote(c.Flags().Args()[0]) + " for " + c.CommandPath()
	}
	if c.Args != nil {
		if err := c.Args(c, c.Flags().Args()); err != nil {
			return "arguments are refused: " + err.Error()
		}
	}
	return ""
}

// exampleArgs finds "latchkey" in a shell line and splits what follows into
// words, honouring quotes and stopping at a pipe, a redirect or the end of a
// command substitution. ok is false when the line runs no latchkey command.
func exampleArgs(line string) (args []string, ok bool) {
	i := strings.Index(line, "latchkey ")
	if i < 0 {
		return nil, false
	}
	s := line[i+len("latchkey "):]
	var word strings.Builder
	inWord := false
	var quote rune
	flush := func() {
		if inWord {
			args = append(args, word.String())
		}
		word.Reset()
		inWord = false
	}
	for _, r := range s {
		switch {
		case quote != 0:
			if r == quote {
				quote = 0
			} else {
				word.WriteRune(r)
			}
		case r == '\'' || r == '"':
			quote, inWord = r, true
		case r == ' ' || r == '\t':
			flush()
		case r == '|' || r == '>' || r == '<' || r == ')' || r == ';' || r == '&':
			flush()
			return args, true
		default:
			word.WriteRune(r)
			inWord = true
		}
	}
	flush()
	return args, true
}

func strconvQuote(s string) string { return "`" + s + "`" }

// TestHelpLintCatchesMistakes makes sure the checks above are not vacuous.
func TestHelpLintCatchesMistakes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		check string // short, usage or example
		text  string
		want  string
	}{
		{name: "noun first", check: "short", text: "Visits of a rep", want: "verb"},
		{name: "lower-case verb", check: "short", text: "list visits", want: "verb"},
		{name: "period", check: "short", text: "List visits.", want: "period"},
		{name: "empty short", check: "short", text: "", want: "empty"},
		{name: "capital usage", check: "usage", text: "Only these", want: "capital"},
		{name: "usage period", check: "usage", text: "only these.", want: "period"},
		{name: "empty usage", check: "usage", text: " ", want: "empty"},
		{name: "empty example", check: "example", text: "", want: "empty"},
		{name: "unindented example", check: "example", text: "latchkey visit list", want: "indented"},
		{name: "example not running latchkey", check: "example", text: "  latchkey visit list\n  echo hi", want: "does not run latchkey"},
		{name: "example of another command", check: "example", text: "  latchkey version", want: "no line that runs"},
		{name: "example with a missing flag", check: "example", text: "  latchkey visit list --colour red", want: "unknown flag: --colour"},
		{name: "example with a missing verb", check: "example", text: "  latchkey visit list\n  latchkey visit lst", want: "unknown command"},
		{name: "example with stray arguments", check: "example", text: "  latchkey visit list elm", want: "arguments are refused"},
		{name: "dangling continuation", check: "example", text: "  latchkey visit list \\", want: "continuation"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var got []string
			switch tt.check {
			case "short":
				got = shortProblems(tt.text)
			case "usage":
				got = flagUsageProblems(tt.text)
			default:
				list, _, err := newRoot(t).Find([]string{"visit", "list"})
				if err != nil {
					t.Fatal(err)
				}
				list.Example = tt.text
				got = exampleProblems(list)
			}
			if !strings.Contains(strings.Join(got, "\n"), tt.want) {
				t.Errorf("problems = %q, want one mentioning %q", got, tt.want)
			}
		})
	}
}

func TestExampleArgs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		line string
		want []string
	}{
		{"latchkey visit list --due", []string{"visit", "list", "--due"}},
		{"source <(latchkey completion bash)", []string{"completion", "bash"}},
		{"latchkey completion powershell | Out-String | Invoke-Expression", []string{"completion", "powershell"}},
		{`latchkey completion zsh > "${fpath[1]}/_latchkey"`, []string{"completion", "zsh"}},
		{"latchkey visit edit 3f9c2a1b --follow-up ''", []string{"visit", "edit", "3f9c2a1b", "--follow-up", ""}},
		{`latchkey config set rep 'Dana Reyes'`, []string{"config", "set", "rep", "Dana Reyes"}},
		{"LATCHKEY_HOME=/tmp/lk latchkey config path --json", []string{"config", "path", "--json"}},
	}
	for _, tt := range tests {
		got, ok := exampleArgs(tt.line)
		if !ok || strings.Join(got, "|") != strings.Join(tt.want, "|") || len(got) != len(tt.want) {
			t.Errorf("exampleArgs(%q) = %q, %v; want %q", tt.line, got, ok, tt.want)
		}
	}
}
