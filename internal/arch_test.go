// Package internal_test holds tests about the module as a whole: which
// package may import which.
package internal_test

import (
	"go/parser"
	"go/token"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// layer is a tier of the architecture in the design brief; imports only point
// down (or sideways, within a layer).
type layer string

const (
	transport layer = "transport"
	services  layer = "services"
	domain    layer = "domain"
	peers     layer = "peers"
	screens   layer = "screens"
	cmdline   layer = "command line"
	// testSupport packages help tests and benchmarks; they may import
	// anything, and only test files may import them.
	testSupport layer = "test support"
)

// layers places every package, by the directory it lives in (a directory
// also holds its subdirectories). A new package must be added here, which is
// the point: someone decides where it sits.
var layers = map[string]layer{
	"internal/smp":        transport,
	"internal/serialport": transport,

	"internal/store":     services,
	"internal/fsutil":    services,
	"internal/ids":       services,
	"internal/paths":     services,
	"internal/config":    services,
	"internal/outbox":    services,
	"internal/journal":   services,
	"internal/identity":  services,
	"internal/device":    services,
	"internal/humantime": services,
	"internal/record":    services,
	"internal/hubapi":    services,
	"internal/hubclient": services,
	"internal/packet":    services,

	"internal/sales":     domain,
	"internal/incentive": domain,
	"internal/install":   domain,
	"internal/survey":    domain,
	"internal/provision": domain,
	"internal/consent":   domain,
	"internal/diag":      domain,

	"internal/sim": peers,
	"internal/hub": peers,

	"internal/tui": screens,

	"internal/cli": cmdline,
	"cmd":          cmdline,

	"internal/testutil": testSupport,
}

// mayImport lists, for each layer, the layers its packages may import.
// Screens never touch a port (transport) and peers are the other ends of the
// wire, not part of the tool's own stack, so only the command line (which
// starts them: `latchkey sim`, `latchkey hub serve`) imports them.
var mayImport = map[layer][]layer{
	transport: {transport},
	services:  {transport, services},
	domain:    {transport, services, domain},
	peers:     {transport, services, domain, peers},
	screens:   {services, domain, screens},
	cmdline:   {transport, services, domain, peers, screens, cmdline},
	// Test support may import every layer but its own is only for tests:
	// no layer lists it, so a non-test file importing it fails.
	testSupport: {transport, services, domain, peers, screens, cmdline, testSupport},
}

// forbidden are imports the layers allow that a rule of the design rules out.
var forbidden = []struct {
	from, to, why string
}{
	{"internal/tui", "internal/store", "screens never touch a database; they drive the domain through interfaces"},
}

// thirdParty restricts external modules to the packages that own them: the
// command-line and screen libraries stay at the top, the drivers at the
// bottom. An import path matches a prefix when it equals it or continues
// with a slash.
var thirdParty = []struct {
	module string
	owners []string // package directories (and their subdirectories) that may import it
}{
	{"github.com/spf13/cobra", []string{"internal/cli", "internal/tui", "cmd"}},
	{"github.com/spf13/pflag", []string{"internal/cli", "internal/tui", "cmd"}},
	{"github.com/charmbracelet", []string{"internal/cli", "internal/tui", "cmd"}},
	{"charm.land", []string{"internal/cli", "internal/tui", "cmd"}},
	{"modernc.org/sqlite", []string{"internal/store"}},
	{"github.com/jackc/pgx", []string{"internal/hub/pgstore", "internal/testutil/pgtest"}},
	{"go.bug.st/serial", []string{"internal/serialport"}},
}

// allowed are known violations waiting for a fix. Each entry names the
// import as "from -> to"; delete it with the fix. The test logs entries that
// no longer match anything.
var allowed = map[string]string{}

// under reports whether pkg is dir or below it.
func under(pkg, dir string) bool { return pkg == dir || strings.HasPrefix(pkg, dir+"/") }

// layerOf finds the layer of a package directory by its longest listed prefix.
func layerOf(pkg string) (layer, bool) {
	best := ""
	for dir := range layers {
		if under(pkg, dir) && len(dir) > len(best) {
			best = dir
		}
	}
	if best == "" {
		return "", false
	}
	return layers[best], true
}

// checkImport returns why pkg may not import imp ("" when it may). Both are
// directories relative to the module root; imp of another module is passed
// as its full import path with internal false.
func checkImport(pkg, imp string, internal bool) string {
	if !internal {
		for _, tp := range thirdParty {
			if !under(imp, tp.module) {
				continue
			}
			if !slices.ContainsFunc(tp.owners, func(o string) bool { return under(pkg, o) }) {
				return "only " + strings.Join(tp.owners, ", ") + " may import " + tp.module
			}
		}
		return ""
	}
	from, ok := layerOf(pkg)
	if !ok {
		return "" // reported once per package, not per import
	}
	to, ok := layerOf(imp)
	if !ok {
		return imp + " is not in any layer"
	}
	if !slices.Contains(mayImport[from], to) {
		return "the " + string(from) + " layer may not import the " + string(to) + " layer (imports only point down; see the architecture in the design brief)"
	}
	for _, f := range forbidden {
		if under(pkg, f.from) && under(imp, f.to) {
			return f.why
		}
	}
	return ""
}

// readModule returns the module path from go.mod in root.
func readModule(t *testing.T, root string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if m, ok := strings.CutPrefix(strings.TrimSpace(l), "module "); ok {
			return strings.TrimSpace(m)
		}
	}
	t.Fatal("go.mod names no module")
	return ""
}

// packageImports maps each package directory under dirs (relative to root)
// to the import paths of its non-test files, with the file that has each.
func packageImports(t *testing.T, root string, dirs ...string) map[string]map[string]string {
	t.Helper()
	out := map[string]map[string]string{}
	fset := token.NewFileSet()
	for _, d := range dirs {
		err := filepath.WalkDir(filepath.Join(root, d), func(path string, de fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			name := de.Name()
			if de.IsDir() {
				if path != filepath.Join(root, d) && (name == "testdata" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")) {
					return filepath.SkipDir
				}
				return nil
			}
			if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
				return nil
			}
			f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly)
			if err != nil {
				return err
			}
			rel, err := filepath.Rel(root, filepath.Dir(path))
			if err != nil {
				return err
			}
			pkg := filepath.ToSlash(rel)
			if out[pkg] == nil {
				out[pkg] = map[string]string{}
			}
			for _, is := range f.Imports {
				p, err := strconv.Unquote(is.Path.Value)
				if err != nil {
					return err
				}
				out[pkg][p] = filepath.ToSlash(filepath.Join(rel, name))
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func TestLayering(t *testing.T) {
	t.Parallel()
	root := ".."
	mod := readModule(t, root)
	pkgs := packageImports(t, root, "internal", "cmd")
	if len(pkgs) < 10 {
		t.Fatalf("found %d packages under internal/ and cmd/; is the test running in internal/?", len(pkgs))
	}
	used := map[string]bool{}
	for _, pkg := range slices.Sorted(maps.Keys(pkgs)) {
		if _, ok := layerOf(pkg); !ok {
			t.Errorf("%s is in no layer: add it to layers in internal/arch_test.go (transport, services, domain, peers, screens, command line or test support)", pkg)
			continue
		}
		for _, imp := range slices.Sorted(maps.Keys(pkgs[pkg])) {
			rel, internal := strings.CutPrefix(imp, mod+"/")
			target := imp
			if internal {
				target = rel
			}
			why := checkImport(pkg, target, internal)
			if why == "" {
				continue
			}
			if key := pkg + " -> " + target; allowed[key] != "" {
				used[key] = true
				t.Logf("allowed for now (%s): %s imports %s", allowed[key], pkg, target)
				continue
			}
			t.Errorf("%s imports %s (%s): %s", pkg, target, pkgs[pkg][imp], why)
		}
	}
	for key, name := range allowed {
		if !used[key] {
			t.Logf("allow-list entry %s (%q) matches nothing any more: delete it from internal/arch_test.go", name, key)
		}
	}
}

// TestCheckImport pins the rules, so the layering test cannot pass by
// accident (for instance by classifying nothing).
func TestCheckImport(t *testing.T) {
	t.Parallel()
	tests := []struct {
		pkg, imp string
		internal bool
		wantOK   bool
	}{
		{"internal/sales", "internal/store", true, true},
		{"internal/sales", "internal/incentive", true, true},
		{"internal/store", "internal/sales", true, false},
		{"internal/smp", "internal/store", true, false},
		{"internal/tui/visitform", "internal/sales", true, true},
		{"internal/tui/visitform", "internal/humantime", true, true},
		{"internal/tui/visitform", "internal/cli/cmdutil", true, false},
		{"internal/tui/visitform", "internal/store", true, false},
		{"internal/tui/install", "internal/serialport", true, false},
		{"internal/cli/visit", "internal/tui/visitform", true, true},
		{"internal/cli/sim", "internal/sim", true, true},
		{"cmd/latchkey", "internal/cli", true, true},
		{"internal/sim", "internal/smp", true, true},
		{"internal/sim", "internal/cli/cmdutil", true, false},
		{"internal/hub", "internal/tui/styles", true, false},
		{"internal/sales", "internal/sim", true, false},
		{"internal/sales", "internal/mystery", true, false},
		{"internal/sales", "github.com/spf13/cobra", false, false},
		{"internal/config", "github.com/spf13/pflag", false, false},
		{"internal/diag", "github.com/charmbracelet/lipgloss", false, false},
		{"internal/hub", "charm.land/bubbletea/v2", false, false},
		{"internal/cli/visit", "github.com/spf13/cobra", false, true},
		{"internal/tui/styles", "github.com/charmbracelet/lipgloss", false, true},
		{"cmd/gendocs", "github.com/spf13/cobra/doc", false, true},
		{"internal/sales", "modernc.org/sqlite", false, false},
		{"internal/store", "modernc.org/sqlite", false, true},
		{"internal/device", "go.bug.st/serial/enumerator", false, false},
		{"internal/serialport", "go.bug.st/serial/enumerator", false, true},
		{"internal/sales", "github.com/google/uuid", false, true},
		{"internal/sales", "github.com/spf13/cobrafork", false, true},
		{"internal/testutil/proc", "internal/cli", true, true},
		{"internal/cli/visit", "internal/testutil/proc", true, false},
		{"internal/sales", "internal/testutil/proc", true, false},
	}
	for _, tt := range tests {
		t.Run(tt.pkg+" -> "+tt.imp, func(t *testing.T) {
			t.Parallel()
			why := checkImport(tt.pkg, tt.imp, tt.internal)
			if (why == "") != tt.wantOK {
				t.Errorf("checkImport(%q, %q) = %q, want allowed %v", tt.pkg, tt.imp, why, tt.wantOK)
			}
		})
	}
	if _, ok := layerOf("internal/newthing"); ok {
		t.Error("layerOf(internal/newthing) found a layer; unknown packages must be reported")
	}
}
