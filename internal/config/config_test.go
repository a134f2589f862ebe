package config

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// writeConfig writes body to a config.toml in a fresh directory and returns its path.
func writeConfig(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.toml")
	if body != "" {
		if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return path
}

func load(t *testing.T, body string, vars map[string]string) *Config {
	t.Helper()
	c, err := Load(writeConfig(t, body), env(vars))
	if err != nil {
		t.Fatalf("Load() error = %v", err)
	}
	return c
}

func TestKeys(t *testing.T) {
	t.Parallel()
	keys := Keys()
	if !slices.IsSortedFunc(keys, func(a, b Key) int { return strings.Compare(a.Name, b.Name) }) {
		t.Error("Keys() is not sorted by name")
	}
	wantEnv := map[string]string{
		"list.limit":           "LATCHKEY_LIST_LIMIT",
		"no-color":             "LATCHKEY_NO_COLOR",
		"notice.contact-email": "LATCHKEY_NOTICE_CONTACT_EMAIL",
		"notice.contact-name":  "LATCHKEY_NOTICE_CONTACT_NAME",
		"notice.contact-phone": "LATCHKEY_NOTICE_CONTACT_PHONE",
		"notice.contact-web":   "LATCHKEY_NOTICE_CONTACT_WEB",
		"notice.operator":      "LATCHKEY_NOTICE_OPERATOR",
		"notice.policy-url":    "LATCHKEY_NOTICE_POLICY_URL",
		"rep":                  "LATCHKEY_REP",
		"unit.usb-id":          "LATCHKEY_UNIT_USB_ID",
		"verbose":              "LATCHKEY_VERBOSE",
	}
	if len(keys) != len(wantEnv) {
		t.Errorf("Keys() has %d keys, want %d", len(keys), len(wantEnv))
	}
	for _, k := range keys {
		t.Run(k.Name, func(t *testing.T) {
			t.Parallel()
			if k.Env != wantEnv[k.Name] {
				t.Errorf("Env = %q, want %q", k.Env, wantEnv[k.Name])
			}
			if k.Help == "" || strings.Contains(k.Help, "\n") {
				t.Errorf("Help = %q, want one non-empty line", k.Help)
			}
			if _, err := normalize(k, k.Name, k.Default); err != nil {
				t.Errorf("Default %q is not valid: %v", k.Default, err)
			}
			// A key that is also a table would make the file ambiguous.
			if isTable(k.Name) {
				t.Errorf("%s is both a key and a table", k.Name)
			}
		})
	}

	keys[0].Name = "changed"
	if Keys()[0].Name == "changed" {
		t.Error("Keys() shares its slice between calls")
	}
}

func TestPrecedence(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		key        string
		file       string
		env        map[string]string
		flag       string
		flagSet    bool
		want       string
		wantSource Source
	}{
		{name: "default", key: "list.limit", want: "50", wantSource: SourceDefault},
		{name: "file over default", key: "list.limit", file: "[list]\nlimit = 20\n", want: "20", wantSource: SourceFile},
		{name: "env over file", key: "list.limit", file: "[list]\nlimit = 20\n",
			env: map[string]string{"LATCHKEY_LIST_LIMIT": "30"}, want: "30", wantSource: SourceEnv},
		{name: "flag over env", key: "list.limit", file: "[list]\nlimit = 20\n",
			env:  map[string]string{"LATCHKEY_LIST_LIMIT": "30"},
			flag: "40", flagSet: true, want: "40", wantSource: SourceFlag},
		{name: "unset flag is ignored", key: "list.limit", file: "[list]\nlimit = 20\n",
			flag: "40", want: "20", wantSource: SourceFile},
		{name: "flag wins over an invalid env", key: "list.limit",
			env:  map[string]string{"LATCHKEY_LIST_LIMIT": "lots"},
			flag: "7", flagSet: true, want: "7", wantSource: SourceFlag},
		{name: "empty env counts as unset", key: "verbose", file: "verbose = true\n",
			env: map[string]string{"LATCHKEY_VERBOSE": ""}, want: "true", wantSource: SourceFile},
		{name: "env bool normalised", key: "verbose",
			env: map[string]string{"LATCHKEY_VERBOSE": "Yes"}, want: "true", wantSource: SourceEnv},
		{name: "flag bool normalised", key: "verbose", flag: "0", flagSet: true, want: "false", wantSource: SourceFlag},
		{name: "rep defaults to USER", key: "rep",
			env: map[string]string{"USER": "ana", "USERNAME": "bo"}, want: "ana", wantSource: SourceDefault},
		{name: "rep defaults to USERNAME", key: "rep",
			env: map[string]string{"USERNAME": "bo"}, want: "bo", wantSource: SourceDefault},
		{name: "rep defaults to empty", key: "rep", want: "", wantSource: SourceDefault},
		{name: "rep from file", key: "rep", file: "rep = 'Ana Lima'\n",
			env: map[string]string{"USER": "ana"}, want: "Ana Lima", wantSource: SourceFile},
		{name: "rep from env", key: "rep", file: "rep = 'Ana Lima'\n",
			env: map[string]string{"LATCHKEY_REP": "Ana L."}, want: "Ana L.", wantSource: SourceEnv},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := load(t, tt.file, tt.env)
			got, err := c.Resolve(tt.key, tt.flag, tt.flagSet)
			if err != nil {
				t.Fatalf("Resolve() error = %v", err)
			}
			if got.Value != tt.want || got.Source != tt.wantSource {
				t.Errorf("Resolve() = %q from %s, want %q from %s", got.Value, got.Source, tt.want, tt.wantSource)
			}
			if got.Key.Name != tt.key {
				t.Errorf("Key.Name = %q, want %q", got.Key.Name, tt.key)
			}
			if !tt.flagSet {
				again, err := c.Get(tt.key)
				if err != nil || again != got {
					t.Errorf("Get() = %+v, %v; want %+v as from Resolve", again, err, got)
				}
			}
		})
	}
}

func TestRepDefaultIsReported(t *testing.T) {
	t.Parallel()
	c := load(t, "", map[string]string{"USER": "ana"})
	v, err := c.Get("rep")
	if err != nil {
		t.Fatal(err)
	}
	if v.Key.Default != "ana" {
		t.Errorf("Key.Default = %q, want %q", v.Key.Default, "ana")
	}
}

func TestNoColor(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		file       string
		env        map[string]string
		want       bool
		wantSource Source
	}{
		{name: "default", want: false, wantSource: SourceDefault},
		{name: "NO_COLOR set", env: map[string]string{"NO_COLOR": "1"}, want: true, wantSource: SourceEnv},
		{name: "NO_COLOR any value", env: map[string]string{"NO_COLOR": "false"}, want: true, wantSource: SourceEnv},
		{name: "NO_COLOR empty", env: map[string]string{"NO_COLOR": ""}, want: false, wantSource: SourceDefault},
		{name: "NO_COLOR over file", file: "no-color = false\n",
			env: map[string]string{"NO_COLOR": "x"}, want: true, wantSource: SourceEnv},
		{name: "LATCHKEY_NO_COLOR over NO_COLOR",
			env:  map[string]string{"NO_COLOR": "1", "LATCHKEY_NO_COLOR": "false"},
			want: false, wantSource: SourceEnv},
		{name: "file", file: "no-color = true\n", want: true, wantSource: SourceFile},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			v, err := load(t, tt.file, tt.env).Get("no-color")
			if err != nil {
				t.Fatal(err)
			}
			if v.Bool() != tt.want || v.Source != tt.wantSource {
				t.Errorf("Get() = %v from %s, want %v from %s", v.Bool(), v.Source, tt.want, tt.wantSource)
			}
		})
	}
}

func TestInvalidValues(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		env     map[string]string
		key     string
		flag    string
		flagSet bool
		wantMsg string
	}{
		{name: "flag not a number", key: "list.limit", flag: "abc", flagSet: true,
			wantMsg: `list.limit: "abc" is not a whole number (1 to 10000)`},
		{name: "flag out of range", key: "list.limit", flag: "0", flagSet: true,
			wantMsg: `list.limit: 0 is out of range (1 to 10000)`},
		{name: "flag not a bool", key: "verbose", flag: "maybe", flagSet: true,
			wantMsg: `verbose: "maybe" is not true or false (also accepted: yes, no, 1, 0)`},
		{name: "env names the variable", key: "list.limit",
			env:     map[string]string{"LATCHKEY_LIST_LIMIT": "abc"},
			wantMsg: `LATCHKEY_LIST_LIMIT: "abc" is not a whole number (1 to 10000)`},
		{name: "env bool", key: "no-color",
			env:     map[string]string{"LATCHKEY_NO_COLOR": "sometimes"},
			wantMsg: `LATCHKEY_NO_COLOR: "sometimes" is not true or false (also accepted: yes, no, 1, 0)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := load(t, "", tt.env).Resolve(tt.key, tt.flag, tt.flagSet)
			if !errors.Is(err, ErrInvalidValue) {
				t.Fatalf("Resolve() error = %v, want ErrInvalidValue", err)
			}
			if err.Error() != tt.wantMsg {
				t.Errorf("error = %q, want %q", err, tt.wantMsg)
			}
		})
	}
}

func TestUnknownKey(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		key      string
		wantHint string // "" means no suggestion
	}{
		{"typo", "list.limt", "did you mean list.limit?"},
		{"table only", "list", "did you mean list.limit?"},
		{"last part", "limit", "did you mean list.limit?"},
		{"underscore", "no_color", "did you mean no-color?"},
		{"env name", "LATCHKEY_VERBOSE", "did you mean verbose?"},
		{"missing letter", "verbos", "did you mean verbose?"},
		{"nothing close", "colour-scheme", ""},
		{"short and far", "foo", ""},
	}
	c := load(t, "", nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			calls := map[string]error{}
			_, calls["Get"] = c.Get(tt.key)
			_, calls["Resolve"] = c.Resolve(tt.key, "1", true)
			for call, err := range calls {
				if !errors.Is(err, ErrUnknownKey) {
					t.Fatalf("%s() error = %v, want ErrUnknownKey", call, err)
				}
				msg := err.Error()
				if !strings.Contains(msg, `"`+tt.key+`"`) || !strings.Contains(msg, "latchkey config list") {
					t.Errorf("%s() error = %q, want the key and `latchkey config list`", call, msg)
				}
				if tt.wantHint == "" && strings.Contains(msg, "did you mean") {
					t.Errorf("%s() error = %q, want no suggestion", call, msg)
				}
				if tt.wantHint != "" && !strings.Contains(msg, tt.wantHint) {
					t.Errorf("%s() error = %q, want %q", call, msg, tt.wantHint)
				}
			}
		})
	}
}

func TestLoadFile(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		body    string
		wantErr []error
		wantMsg []string // substrings, the file path always included
		want    map[string]string
	}{
		{name: "missing file", want: map[string]string{}},
		{name: "empty file", body: "# nothing\n", want: map[string]string{}},
		{
			name: "all kinds",
			body: "rep = \"Ana\"\nverbose = true\nno-color = false\n[list]\nlimit = 9\n",
			want: map[string]string{"rep": "Ana", "verbose": "true", "no-color": "false", "list.limit": "9"},
		},
		{name: "dotted key", body: "list.limit = 12\n", want: map[string]string{"list.limit": "12"}},
		{
			name:    "malformed",
			body:    "rep = \"Ana\"\nverbose = \n",
			wantErr: []error{ErrInvalidFile},
			wantMsg: []string{"line 2"},
		},
		{
			name:    "unterminated table",
			body:    "rep = \"Ana\"\n\n[list\nlimit = 3\n",
			wantErr: []error{ErrInvalidFile},
			wantMsg: []string{"line 3"},
		},
		{
			name:    "unknown key",
			body:    "[list]\nlimt = 3\n",
			wantErr: []error{ErrInvalidFile, ErrUnknownKey},
			wantMsg: []string{`"list.limt"; did you mean list.limit? fix or remove it in the file`},
		},
		{
			name:    "unknown table",
			body:    "[colour]\nscheme = 'dark'\n",
			wantErr: []error{ErrInvalidFile, ErrUnknownKey},
			wantMsg: []string{`"colour"`},
		},
		{
			name:    "table where a value belongs",
			body:    "[rep]\nname = 'Ana'\n",
			wantErr: []error{ErrInvalidFile},
			wantMsg: []string{"rep: expected text, got a table"},
		},
		{
			name:    "int as string",
			body:    "[list]\nlimit = \"20\"\n",
			wantErr: []error{ErrInvalidFile},
			wantMsg: []string{"list.limit: expected a whole number (1 to 10000), got a string; write it without quotes"},
		},
		{
			name:    "int as float",
			body:    "[list]\nlimit = 2.5\n",
			wantErr: []error{ErrInvalidFile},
			wantMsg: []string{"list.limit: expected a whole number (1 to 10000), got a float"},
		},
		{
			name:    "int out of range",
			body:    "[list]\nlimit = 0\n",
			wantErr: []error{ErrInvalidFile},
			wantMsg: []string{"list.limit: 0 is out of range (1 to 10000)"},
		},
		{
			name:    "bool as string",
			body:    "verbose = \"yes\"\n",
			wantErr: []error{ErrInvalidFile},
			wantMsg: []string{"verbose: expected true or false, got a string; write it without quotes"},
		},
		{
			name:    "string as int",
			body:    "rep = 7\n",
			wantErr: []error{ErrInvalidFile},
			wantMsg: []string{"rep: expected text, got an integer"},
		},
		{
			name:    "set twice",
			body:    "\"list.limit\" = 3\n[list]\nlimit = 4\n",
			wantErr: []error{ErrInvalidFile},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := writeConfig(t, tt.body)
			c, err := Load(path, env(nil))
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("Load() error = %v", err)
				}
				if c.Path() != path {
					t.Errorf("Path() = %q, want %q", c.Path(), path)
				}
				got := map[string]string{}
				for _, v := range c.List() {
					if v.Source == SourceFile {
						got[v.Key.Name] = v.Value
					}
				}
				if !mapsEqual(got, tt.want) {
					t.Errorf("file values = %v, want %v", got, tt.want)
				}
				return
			}
			if err == nil {
				t.Fatal("Load() error = nil")
			}
			for _, want := range tt.wantErr {
				if !errors.Is(err, want) {
					t.Errorf("Load() error = %v, want it to wrap %v", err, want)
				}
			}
			for _, want := range append(tt.wantMsg, path) {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("Load() error = %q, want it to contain %q", err, want)
				}
			}
		})
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func TestSet(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		start   string
		key     string
		value   string
		want    string
		wantErr error
	}{
		{name: "int", key: "list.limit", value: "200", want: "200"},
		{name: "int with spaces and zeros", key: "list.limit", value: " 0200 ", want: "200"},
		{name: "int range max", key: "list.limit", value: "10000", want: "10000"},
		{name: "int too big", key: "list.limit", value: "10001", wantErr: ErrInvalidValue},
		{name: "int huge", key: "list.limit", value: "99999999999999999999999", wantErr: ErrInvalidValue},
		{name: "int not a number", key: "list.limit", value: "abc", wantErr: ErrInvalidValue},
		{name: "bool true", key: "verbose", value: "true", want: "true"},
		{name: "bool yes", key: "verbose", value: "yes", want: "true"},
		{name: "bool 1", key: "verbose", value: "1", want: "true"},
		{name: "bool YES", key: "verbose", value: "YES", want: "true"},
		{name: "bool no", key: "no-color", value: "no", want: "false"},
		{name: "bool 0", key: "no-color", value: "0", want: "false"},
		{name: "bool False", key: "no-color", value: "False", want: "false"},
		{name: "bool on is refused", key: "no-color", value: "on", wantErr: ErrInvalidValue},
		{name: "string kept as is", key: "rep", value: ` Ana "the rep" O'Neil `, want: ` Ana "the rep" O'Neil `},
		{name: "unknown key", key: "list.limt", value: "3", wantErr: ErrUnknownKey},
		{name: "overwrite", start: "[list]\nlimit = 5\n", key: "list.limit", value: "6", want: "6"},
		{name: "broken file is not overwritten", start: "verbose = \n", key: "list.limit", value: "6", wantErr: ErrInvalidFile},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := writeConfig(t, tt.start)
			c := &Config{path: path, getenv: env(nil), file: map[string]string{}}
			err := c.Set(tt.key, tt.value)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Set() error = %v, want %v", err, tt.wantErr)
				}
				if body, _ := os.ReadFile(path); string(body) != tt.start {
					t.Errorf("file changed to %q after a failed Set", body)
				}
				return
			}
			if err != nil {
				t.Fatalf("Set() error = %v", err)
			}
			for _, c := range []*Config{c, reload(t, path)} {
				v, err := c.Get(tt.key)
				if err != nil {
					t.Fatal(err)
				}
				if v.Value != tt.want || v.Source != SourceFile {
					t.Errorf("Get() = %q from %s, want %q from file", v.Value, v.Source, tt.want)
				}
			}
		})
	}
}

func reload(t *testing.T, path string) *Config {
	t.Helper()
	c, err := Load(path, env(nil))
	if err != nil {
		t.Fatalf("Load() after write error = %v", err)
	}
	return c
}

func TestSetRoundTrip(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "new", "dir")
	path := filepath.Join(dir, "config.toml")
	c, err := Load(path, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct{ key, value string }{
		{"rep", "Ana"},
		{"verbose", "yes"},
		{"list.limit", "25"},
		{"rep", "Ana Lima"},
	}
	for _, s := range steps {
		if err := c.Set(s.key, s.value); err != nil {
			t.Fatalf("Set(%q, %q) error = %v", s.key, s.value, err)
		}
	}

	body, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := fileHeader + "rep = 'Ana Lima'\nverbose = true\n\n[list]\nlimit = 25\n"
	if string(body) != want {
		t.Errorf("file =\n%s\nwant\n%s", body, want)
	}

	got := map[string]string{}
	for _, v := range reload(t, path).List() {
		got[v.Key.Name] = v.Value + " " + string(v.Source)
	}
	wantValues := map[string]string{
		"rep": "Ana Lima file", "verbose": "true file", "list.limit": "25 file", "no-color": "false default",
		"unit.usb-id":          "1209:0001 default",
		"notice.contact-email": " default", "notice.contact-name": " default", "notice.contact-phone": " default",
		"notice.contact-web": " default", "notice.operator": " default", "notice.policy-url": " default",
	}
	if !mapsEqual(got, wantValues) {
		t.Errorf("List() = %v, want %v", got, wantValues)
	}

	if runtime.GOOS != "windows" {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if perm := fi.Mode().Perm(); perm != 0o600 {
			t.Errorf("file mode = %v, want 0600", perm)
		}
		di, err := os.Stat(dir)
		if err != nil {
			t.Fatal(err)
		}
		if perm := di.Mode().Perm(); perm&0o077 != 0 {
			t.Errorf("dir mode = %v, want no group or other bits", perm)
		}
	}

	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("dir holds %d entries, want only config.toml (temp files left behind?)", len(entries))
	}
}

func TestSetKeepsChangesMadeAfterLoad(t *testing.T) {
	t.Parallel()
	path := writeConfig(t, "rep = 'Ana'\n")
	c, err := Load(path, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	// Someone edits the file between Load and Set.
	if err := os.WriteFile(path, []byte("rep = 'Ana'\nverbose = true\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := c.Set("list.limit", "3"); err != nil {
		t.Fatal(err)
	}
	v, err := reload(t, path).Get("verbose")
	if err != nil {
		t.Fatal(err)
	}
	if !v.Bool() || v.Source != SourceFile {
		t.Errorf("verbose = %q from %s, want true from file", v.Value, v.Source)
	}
}

func TestSetTightensMode(t *testing.T) {
	t.Parallel()
	if runtime.GOOS == "windows" {
		t.Skip("windows has no unix permission bits")
	}
	path := writeConfig(t, "rep = 'Ana'\n")
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	c := reload(t, path)
	if err := c.Set("verbose", "true"); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o600 {
		t.Errorf("file mode = %v, want 0600", perm)
	}
}

func TestSetThroughSymlink(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	target := filepath.Join(dir, "dotfiles.toml")
	if err := os.WriteFile(target, []byte("rep = 'Ana'\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "config.toml")
	if err := os.Symlink(target, link); err != nil {
		t.Skipf("cannot make a symlink here: %v", err)
	}
	if err := reload(t, link).Set("verbose", "true"); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Lstat(link)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode()&os.ModeSymlink == 0 {
		t.Error("Set replaced the symlink with a file")
	}
	v, err := reload(t, target).Get("verbose")
	if err != nil || !v.Bool() {
		t.Errorf("target verbose = %+v, %v; want true", v, err)
	}
}

func TestUnset(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		start     string
		key       string
		wantErr   error
		wantValue string
		wantFile  bool // whether the file exists afterwards
	}{
		{name: "removes the key", start: "rep = 'Ana'\n[list]\nlimit = 5\n", key: "list.limit", wantValue: "50", wantFile: true},
		{name: "key not in file", start: "rep = 'Ana'\n", key: "verbose", wantValue: "false", wantFile: true},
		{name: "missing file stays missing", key: "verbose", wantValue: "false", wantFile: false},
		{name: "unknown key", start: "rep = 'Ana'\n", key: "verbos", wantErr: ErrUnknownKey, wantFile: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := writeConfig(t, tt.start)
			c, err := Load(path, env(nil))
			if err != nil {
				t.Fatal(err)
			}
			err = c.Unset(tt.key)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Unset() error = %v, want %v", err, tt.wantErr)
			}
			_, statErr := os.Stat(path)
			if exists := statErr == nil; exists != tt.wantFile {
				t.Errorf("file exists = %v, want %v", exists, tt.wantFile)
			}
			if tt.wantErr != nil {
				return
			}
			for _, c := range []*Config{c, reload(t, path)} {
				v, err := c.Get(tt.key)
				if err != nil {
					t.Fatal(err)
				}
				if v.Value != tt.wantValue || v.Source != SourceDefault {
					t.Errorf("Get() = %q from %s, want %q from default", v.Value, v.Source, tt.wantValue)
				}
			}
			if tt.start != "" {
				rep, err := reload(t, path).Get("rep")
				if err != nil || rep.Value != "Ana" {
					t.Errorf("rep = %+v, %v; want Ana kept", rep, err)
				}
			}
		})
	}
}

func TestList(t *testing.T) {
	t.Parallel()
	c := load(t, "verbose = true\n", map[string]string{
		"LATCHKEY_LIST_LIMIT": "abc",
		"NO_COLOR":            "1",
		"USER":                "ana",
	})
	got := c.List()
	want := []Value{
		{Value: "abc", Source: SourceEnv},
		{Value: "true", Source: SourceEnv},
		{Value: "", Source: SourceDefault}, // notice.contact-email
		{Value: "", Source: SourceDefault},
		{Value: "", Source: SourceDefault},
		{Value: "", Source: SourceDefault},
		{Value: "", Source: SourceDefault},
		{Value: "", Source: SourceDefault}, // notice.policy-url
		{Value: "ana", Source: SourceDefault},
		{Value: "1209:0001", Source: SourceDefault},
		{Value: "true", Source: SourceFile},
	}
	keys := Keys()
	if len(got) != len(want) {
		t.Fatalf("List() has %d values, want %d", len(got), len(want))
	}
	for i := range got {
		if got[i].Key.Name != keys[i].Name || got[i].Value != want[i].Value || got[i].Source != want[i].Source {
			t.Errorf("List()[%d] = %s=%q from %s, want %s=%q from %s",
				i, got[i].Key.Name, got[i].Value, got[i].Source, keys[i].Name, want[i].Value, want[i].Source)
		}
	}
}

func TestValueConversions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		value    string
		wantBool bool
		wantInt  int
	}{
		{"true", true, 0},
		{"false", false, 0},
		{"50", false, 50},
		{"abc", false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.value, func(t *testing.T) {
			t.Parallel()
			v := Value{Value: tt.value}
			if v.Bool() != tt.wantBool || v.Int() != tt.wantInt {
				t.Errorf("Bool(), Int() = %v, %d; want %v, %d", v.Bool(), v.Int(), tt.wantBool, tt.wantInt)
			}
		})
	}
}

func TestLoadEmptyPath(t *testing.T) {
	t.Parallel()
	if _, err := Load("", env(nil)); err == nil {
		t.Error("Load(\"\") error = nil")
	}
}
