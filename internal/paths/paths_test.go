package paths

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestResolve(t *testing.T) {
	t.Parallel()
	cwd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	j := filepath.Join
	tests := []struct {
		name    string
		goos    string
		env     map[string]string
		want    Dirs
		wantErr error
	}{
		{
			name: "linux defaults",
			goos: "linux",
			env:  map[string]string{"HOME": "/home/ana"},
			want: Dirs{
				Config: j("/home/ana", ".config", "latchkey"),
				Data:   j("/home/ana", ".local", "share", "latchkey"),
				State:  j("/home/ana", ".local", "state", "latchkey"),
				Cache:  j("/home/ana", ".cache", "latchkey"),
			},
		},
		{
			name: "xdg variables",
			goos: "linux",
			env: map[string]string{
				"HOME":            "/home/ana",
				"XDG_CONFIG_HOME": "/x/config",
				"XDG_DATA_HOME":   "/x/data",
				"XDG_STATE_HOME":  "/x/state",
				"XDG_CACHE_HOME":  "/x/cache",
			},
			want: Dirs{
				Config: j("/x/config", "latchkey"),
				Data:   j("/x/data", "latchkey"),
				State:  j("/x/state", "latchkey"),
				Cache:  j("/x/cache", "latchkey"),
			},
		},
		{
			name: "all xdg variables and no home",
			goos: "freebsd",
			env: map[string]string{
				"XDG_CONFIG_HOME": "/x/config",
				"XDG_DATA_HOME":   "/x/data",
				"XDG_STATE_HOME":  "/x/state",
				"XDG_CACHE_HOME":  "/x/cache",
			},
			want: Dirs{
				Config: j("/x/config", "latchkey"),
				Data:   j("/x/data", "latchkey"),
				State:  j("/x/state", "latchkey"),
				Cache:  j("/x/cache", "latchkey"),
			},
		},
		{
			name: "relative xdg variables are ignored",
			goos: "linux",
			env: map[string]string{
				"HOME":            "/home/ana",
				"XDG_CONFIG_HOME": "relative/config",
				"XDG_DATA_HOME":   "./data",
				"XDG_CACHE_HOME":  "/x/cache",
			},
			want: Dirs{
				Config: j("/home/ana", ".config", "latchkey"),
				Data:   j("/home/ana", ".local", "share", "latchkey"),
				State:  j("/home/ana", ".local", "state", "latchkey"),
				Cache:  j("/x/cache", "latchkey"),
			},
		},
		{
			name: "darwin defaults",
			goos: "darwin",
			env:  map[string]string{"HOME": "/Users/ana"},
			want: Dirs{
				Config: j("/Users/ana", "Library", "Application Support", "latchkey"),
				Data:   j("/Users/ana", "Library", "Application Support", "latchkey"),
				State:  j("/Users/ana", "Library", "Application Support", "latchkey", "state"),
				Cache:  j("/Users/ana", "Library", "Caches", "latchkey"),
			},
		},
		{
			name: "darwin honours xdg",
			goos: "darwin",
			env:  map[string]string{"HOME": "/Users/ana", "XDG_CONFIG_HOME": "/Users/ana/.config"},
			want: Dirs{
				Config: j("/Users/ana", ".config", "latchkey"),
				Data:   j("/Users/ana", "Library", "Application Support", "latchkey"),
				State:  j("/Users/ana", "Library", "Application Support", "latchkey", "state"),
				Cache:  j("/Users/ana", "Library", "Caches", "latchkey"),
			},
		},
		{
			name: "windows known folders",
			goos: "windows",
			env: map[string]string{
				"USERPROFILE":     "/Users/ana",
				"AppData":         "/Users/ana/AppData/Roaming",
				"LocalAppData":    "/Users/ana/AppData/Local",
				"HOME":            "/ignored",
				"XDG_CONFIG_HOME": "/ignored",
			},
			want: Dirs{
				Config: j("/Users/ana/AppData/Roaming", "latchkey"),
				Data:   j("/Users/ana/AppData/Local", "latchkey", "data"),
				State:  j("/Users/ana/AppData/Local", "latchkey", "state"),
				Cache:  j("/Users/ana/AppData/Local", "latchkey", "cache"),
			},
		},
		{
			name: "windows without AppData falls back to USERPROFILE",
			goos: "windows",
			env:  map[string]string{"USERPROFILE": "/Users/ana"},
			want: Dirs{
				Config: j("/Users/ana", "AppData", "Roaming", "latchkey"),
				Data:   j("/Users/ana", "AppData", "Local", "latchkey", "data"),
				State:  j("/Users/ana", "AppData", "Local", "latchkey", "state"),
				Cache:  j("/Users/ana", "AppData", "Local", "latchkey", "cache"),
			},
		},
		{
			name: "LATCHKEY_HOME overrides everything",
			goos: "linux",
			env: map[string]string{
				"LATCHKEY_HOME":   "/srv/lk",
				"HOME":            "/home/ana",
				"XDG_CONFIG_HOME": "/x/config",
			},
			want: Dirs{
				Config: j("/srv/lk", "config"),
				Data:   j("/srv/lk", "data"),
				State:  j("/srv/lk", "state"),
				Cache:  j("/srv/lk", "cache"),
			},
		},
		{
			name: "relative LATCHKEY_HOME is made absolute",
			goos: "windows",
			env:  map[string]string{"LATCHKEY_HOME": "lk"},
			want: Dirs{
				Config: j(cwd, "lk", "config"),
				Data:   j(cwd, "lk", "data"),
				State:  j(cwd, "lk", "state"),
				Cache:  j(cwd, "lk", "cache"),
			},
		},
		{
			name:    "no home",
			goos:    "linux",
			env:     map[string]string{"XDG_CONFIG_HOME": "/x/config"},
			wantErr: ErrNoHome,
		},
		{
			name:    "darwin no home",
			goos:    "darwin",
			env:     map[string]string{},
			wantErr: ErrNoHome,
		},
		{
			name:    "windows no home",
			goos:    "windows",
			env:     map[string]string{"AppData": `/r`, "HOME": "/home/ana"},
			wantErr: ErrNoHome,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := Resolve(env(tt.env), tt.goos)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Resolve() error = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Resolve() error = %v", err)
			}
			if got != tt.want {
				t.Errorf("Resolve() =\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}
}

func TestNoHomeErrorNamesTheFix(t *testing.T) {
	t.Parallel()
	_, err := Resolve(env(nil), "linux")
	if err == nil {
		t.Fatal("Resolve() error = nil")
	}
	const want = "no home directory: HOME is not set; set LATCHKEY_HOME to the directory latchkey should use"
	if err.Error() != want {
		t.Errorf("error = %q, want %q", err, want)
	}
}

func TestFiles(t *testing.T) {
	t.Parallel()
	d := Dirs{Config: "/c", Data: "/d", State: "/s", Cache: "/k"}
	tests := []struct {
		name string
		got  string
		want string
	}{
		{"config file", d.ConfigFile(), filepath.Join("/c", "config.toml")},
		{"store file", d.StoreFile(), filepath.Join("/d", "latchkey.db")},
		{"log dir", d.LogDir(), filepath.Join("/s", "logs")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if tt.got != tt.want {
				t.Errorf("got %q, want %q", tt.got, tt.want)
			}
		})
	}
}

func TestResolveDoesNotTouchDisk(t *testing.T) {
	t.Parallel()
	home := t.TempDir()
	d, err := Resolve(env(map[string]string{"HOME": home}), "linux")
	if err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{d.Config, d.Data, d.State, d.Cache} {
		if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s: Stat error = %v, want not exist", dir, err)
		}
	}
}

func TestEnsureDir(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		dir     func(t *testing.T, root string) string
		wantErr bool
	}{
		{"nested", func(_ *testing.T, root string) string { return filepath.Join(root, "a", "b", "c") }, false},
		{"existing", func(_ *testing.T, root string) string { return root }, false},
		{"empty", func(*testing.T, string) string { return "" }, true},
		{"under a file", func(t *testing.T, root string) string {
			f := filepath.Join(root, "file")
			if err := os.WriteFile(f, nil, 0o600); err != nil {
				t.Fatal(err)
			}
			return filepath.Join(f, "sub")
		}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := tt.dir(t, t.TempDir())
			err := EnsureDir(dir)
			if (err != nil) != tt.wantErr {
				t.Fatalf("EnsureDir(%q) error = %v, wantErr %v", dir, err, tt.wantErr)
			}
			if err != nil {
				return
			}
			fi, err := os.Stat(dir)
			if err != nil {
				t.Fatal(err)
			}
			if !fi.IsDir() {
				t.Errorf("%s is not a directory", dir)
			}
		})
	}
}

func TestEnsureDirMode(t *testing.T) {
	t.Parallel()
	if runtime.GOOS == "windows" {
		t.Skip("windows has no unix permission bits")
	}
	dir := filepath.Join(t.TempDir(), "new")
	if err := EnsureDir(dir); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	// The umask can only remove bits, so 0700 must come out as at most 0700.
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		t.Errorf("mode = %v, want no group or other bits", perm)
	}
}
