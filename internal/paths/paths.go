package paths

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// appName is the directory name latchkey uses under each base directory.
const appName = "latchkey"

// ErrNoHome is returned by Resolve when neither LATCHKEY_HOME nor the
// user's home directory is known, so there is nowhere to put files.
var ErrNoHome = errors.New("no home directory")

// Dirs are latchkey's base directories. Each is an absolute path on the
// platform Resolve was asked about; none is guaranteed to exist.
type Dirs struct {
	Config string // settings the user edits (config.toml)
	Data   string // records that must survive (the local store)
	State  string // history that may be pruned (logs)
	Cache  string // anything that can be rebuilt
}

// Resolve computes latchkey's directories from the environment without
// touching the disk: no directory is created or checked.
//
// LATCHKEY_HOME=DIR overrides everything, giving DIR/config, DIR/data,
// DIR/state and DIR/cache (DIR made absolute against the working directory).
// Otherwise each directory follows the XDG Base Directory Specification:
// $XDG_CONFIG_HOME/latchkey, $XDG_DATA_HOME/latchkey, $XDG_STATE_HOME/latchkey
// and $XDG_CACHE_HOME/latchkey, where an unset, empty or relative variable is
// ignored as the specification requires. An ignored variable falls back to
// the platform's default:
//
//   - darwin: ~/Library/Application Support/latchkey for config and data,
//     ~/Library/Application Support/latchkey/state and ~/Library/Caches/latchkey;
//   - windows: %AppData%\latchkey for config and %LocalAppData%\latchkey\data,
//     \state and \cache (XDG variables are not consulted on windows, as in
//     os.UserConfigDir);
//   - anything else: ~/.config/latchkey, ~/.local/share/latchkey,
//     ~/.local/state/latchkey and ~/.cache/latchkey.
//
// The home directory is $HOME, or %USERPROFILE% on windows. goos is a
// runtime.GOOS value; paths are joined with the host's separator, so callers
// outside tests pass runtime.GOOS.
func Resolve(getenv func(string) string, goos string) (Dirs, error) {
	if dir := getenv("LATCHKEY_HOME"); dir != "" {
		abs, err := filepath.Abs(dir)
		if err != nil {
			return Dirs{}, fmt.Errorf("resolve LATCHKEY_HOME %q: %w", dir, err)
		}
		return Dirs{
			Config: filepath.Join(abs, "config"),
			Data:   filepath.Join(abs, "data"),
			State:  filepath.Join(abs, "state"),
			Cache:  filepath.Join(abs, "cache"),
		}, nil
	}
	if goos == "windows" {
		return resolveWindows(getenv)
	}

	home := getenv("HOME")
	xdg := func(name string) string {
		if v := getenv(name); v != "" && filepath.IsAbs(v) {
			return filepath.Join(v, appName)
		}
		return ""
	}
	d := Dirs{
		Config: xdg("XDG_CONFIG_HOME"),
		Data:   xdg("XDG_DATA_HOME"),
		State:  xdg("XDG_STATE_HOME"),
		Cache:  xdg("XDG_CACHE_HOME"),
	}
	if d.Config != "" && d.Data != "" && d.State != "" && d.Cache != "" {
		return d, nil
	}
	if home == "" {
		return Dirs{}, noHome("HOME")
	}

	var def Dirs
	if goos == "darwin" {
		support := filepath.Join(home, "Library", "Application Support", appName)
		def = Dirs{
			Config: support,
			Data:   support,
			State:  filepath.Join(support, "state"),
			Cache:  filepath.Join(home, "Library", "Caches", appName),
		}
	} else {
		def = Dirs{
			Config: filepath.Join(home, ".config", appName),
			Data:   filepath.Join(home, ".local", "share", appName),
			State:  filepath.Join(home, ".local", "state", appName),
			Cache:  filepath.Join(home, ".cache", appName),
		}
	}
	return Dirs{
		Config: or(d.Config, def.Config),
		Data:   or(d.Data, def.Data),
		State:  or(d.State, def.State),
		Cache:  or(d.Cache, def.Cache),
	}, nil
}

// resolveWindows uses the known-folder variables, falling back to their
// usual places under %USERPROFILE% when a variable is missing.
func resolveWindows(getenv func(string) string) (Dirs, error) {
	home := getenv("USERPROFILE")
	roaming := getenv("AppData")
	local := getenv("LocalAppData")
	if roaming == "" || local == "" {
		if home == "" {
			return Dirs{}, noHome("USERPROFILE")
		}
		roaming = or(roaming, filepath.Join(home, "AppData", "Roaming"))
		local = or(local, filepath.Join(home, "AppData", "Local"))
	}
	base := filepath.Join(local, appName)
	return Dirs{
		Config: filepath.Join(roaming, appName),
		Data:   filepath.Join(base, "data"),
		State:  filepath.Join(base, "state"),
		Cache:  filepath.Join(base, "cache"),
	}, nil
}

func noHome(variable string) error {
	return fmt.Errorf("%w: %s is not set; set LATCHKEY_HOME to the directory latchkey should use", ErrNoHome, variable)
}

func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// ConfigFile is the path of the user's settings file.
func (d Dirs) ConfigFile() string { return filepath.Join(d.Config, "config.toml") }

// StoreFile is the path of the local database.
func (d Dirs) StoreFile() string { return filepath.Join(d.Data, "latchkey.db") }

// LogDir is the directory for log files.
func (d Dirs) LogDir() string { return filepath.Join(d.State, "logs") }

// EnsureDir creates dir and any missing parents, readable by the owner only
// (0700), because the directories hold keys, consent records and tokens.
// An existing directory's mode is left as the user set it.
func EnsureDir(dir string) error {
	if dir == "" {
		return errors.New("ensure directory: empty path")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("ensure directory: %w", err)
	}
	return nil
}
