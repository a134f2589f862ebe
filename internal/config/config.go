package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pelletier/go-toml/v2"

	"github.com/latchkey/latchkey/internal/fsutil"
)

// Errors callers branch on. Every error from this package that is about a
// key name, a value or the file wraps one of them.
var (
	// ErrUnknownKey means a name is not in the registry (see Keys). The
	// message suggests the closest known key.
	ErrUnknownKey = errors.New("unknown config key")
	// ErrInvalidValue means a value from a flag, Set or an environment
	// variable does not fit its key. The message says what is accepted.
	ErrInvalidValue = errors.New("invalid config value")
	// ErrInvalidFile means the config file could not be used: bad TOML, an
	// unknown key or a value of the wrong type. The message names the file.
	ErrInvalidFile = errors.New("invalid config file")
)

// Source says where a value came from.
type Source string

// Sources, from lowest to highest precedence.
const (
	SourceDefault Source = "default"
	SourceFile    Source = "file"
	SourceEnv     Source = "env"
	SourceFlag    Source = "flag"
)

// Value is a key's effective value and where it came from. Value holds the
// normal form (see Kind).
type Value struct {
	Key    Key
	Value  string
	Source Source
}

// Bool reports whether a Bool value is "true".
func (v Value) Bool() bool { return v.Value == "true" }

// Int returns an Int value as a number, or 0 if it is not one (which only
// happens for a value List reports from an invalid environment variable).
func (v Value) Int() int {
	n, err := strconv.Atoi(v.Value)
	if err != nil {
		return 0
	}
	return n
}

// Config is the settings file at one path together with the environment.
// A Config is not safe for concurrent use.
type Config struct {
	path   string
	getenv func(string) string
	file   map[string]string // normal-form values by key name
}

// Load reads the config file at path; a missing file is an empty one.
// getenv is usually os.Getenv (nil means os.Getenv). The file must hold
// only known keys with values of their kind; anything else is an error
// wrapping ErrInvalidFile that names the file (and, for bad TOML, the line).
func Load(path string, getenv func(string) string) (*Config, error) {
	if path == "" {
		return nil, errors.New("load config: empty path")
	}
	if getenv == nil {
		getenv = os.Getenv
	}
	file, err := readFile(path)
	if err != nil {
		return nil, err
	}
	return &Config{path: path, getenv: getenv, file: file}, nil
}

// Path returns the config file's path.
func (c *Config) Path() string { return c.path }

// Get returns the effective value of the key called name: its environment
// variable, else the config file, else the default. The rep key's default
// is $USER, else $USERNAME, else empty; Value.Key.Default carries the
// default actually used. For no-color, NO_COLOR set to anything non-empty
// counts as an environment value of true, below LATCHKEY_NO_COLOR.
// An empty environment variable counts as unset.
//
// An unknown name is an error wrapping ErrUnknownKey; an environment
// variable with a value its key does not accept is an error wrapping
// ErrInvalidValue that names the variable.
func (c *Config) Get(name string) (Value, error) {
	k, ok := lookup(name)
	if !ok {
		return Value{}, unknownKey(name, listHint)
	}
	v, err := c.get(k)
	if err != nil {
		return Value{}, err
	}
	return v, nil
}

// Resolve is Get with a command-line flag on top: when flagSet, flag is
// checked against the key and wins.
func (c *Config) Resolve(name string, flag string, flagSet bool) (Value, error) {
	if !flagSet {
		return c.Get(name)
	}
	k, ok := lookup(name)
	if !ok {
		return Value{}, unknownKey(name, listHint)
	}
	k.Default = c.defaultOf(k)
	v, err := normalize(k, k.Name, flag)
	if err != nil {
		return Value{}, err
	}
	return Value{Key: k, Value: v, Source: SourceFlag}, nil
}

// List returns the effective value of every key, sorted by name. It is for
// display: an environment variable holding an invalid value is reported as
// given, with Source "env", where Get would return an error.
func (c *Config) List() []Value {
	keys := Keys()
	out := make([]Value, 0, len(keys))
	for _, k := range keys {
		v, _ := c.get(k)
		out = append(out, v)
	}
	return out
}

// get resolves k below the flag. On error the Value still holds the raw
// environment value, for List.
func (c *Config) get(k Key) (Value, error) {
	k.Default = c.defaultOf(k)
	if raw := c.getenv(k.Env); raw != "" {
		v, err := normalize(k, k.Env, raw)
		if err != nil {
			return Value{Key: k, Value: raw, Source: SourceEnv}, err
		}
		return Value{Key: k, Value: v, Source: SourceEnv}, nil
	}
	if k.presenceEnv != "" && c.getenv(k.presenceEnv) != "" {
		return Value{Key: k, Value: "true", Source: SourceEnv}, nil
	}
	if v, ok := c.file[k.Name]; ok {
		return Value{Key: k, Value: v, Source: SourceFile}, nil
	}
	return Value{Key: k, Value: k.Default, Source: SourceDefault}, nil
}

func (c *Config) defaultOf(k Key) string {
	for _, name := range strings.Fields(k.defaultEnv) {
		if v := c.getenv(name); v != "" {
			return v
		}
	}
	return k.Default
}

// Set checks value against the key called name (a Bool accepts true, false,
// yes, no, 1 and 0 and is stored as true or false; an Int must be a whole
// number in the key's range) and stores it in the config file.
//
// The file is read again first, so keys changed by someone else since Load
// are kept, then rewritten whole and atomically (a temporary file in the
// same directory, synced, then renamed over it) with mode 0600, creating the
// directory with mode 0700 if needed. If the path is a symbolic link, the
// file it points to is replaced. Comments in the file are not kept.
func (c *Config) Set(name, value string) error {
	k, ok := lookup(name)
	if !ok {
		return unknownKey(name, listHint)
	}
	v, err := normalize(k, k.Name, value)
	if err != nil {
		return err
	}
	return c.update(func(values map[string]string) bool {
		old, had := values[k.Name]
		values[k.Name] = v
		return !had || old != v
	})
}

// Unset removes the key called name from the config file, so it falls back
// to its default. Unsetting a key the file does not hold does nothing.
func (c *Config) Unset(name string) error {
	k, ok := lookup(name)
	if !ok {
		return unknownKey(name, listHint)
	}
	return c.update(func(values map[string]string) bool {
		_, had := values[k.Name]
		delete(values, k.Name)
		return had
	})
}

// update applies change to the file's current values and writes them back
// if change reports that anything changed.
func (c *Config) update(change func(map[string]string) bool) error {
	values, err := readFile(c.path)
	if err != nil {
		return err
	}
	if change(values) {
		if err := writeFile(c.path, encode(values)); err != nil {
			return err
		}
	}
	c.file = values
	return nil
}

func readFile(path string) (map[string]string, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return map[string]string{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	return parse(path, data)
}

// parse decodes a config file's bytes into normal-form values.
func parse(path string, data []byte) (map[string]string, error) {
	var doc map[string]any
	if err := toml.Unmarshal(data, &doc); err != nil {
		var de *toml.DecodeError
		if errors.As(err, &de) {
			line, _ := de.Position()
			msg := strings.TrimPrefix(de.Error(), "toml: ")
			return nil, fmt.Errorf("%w: %s line %d: %s", ErrInvalidFile, path, line, msg)
		}
		return nil, fmt.Errorf("%w: %s: %w", ErrInvalidFile, path, err)
	}
	values := make(map[string]string)
	if err := flatten(path, "", doc, values); err != nil {
		return nil, err
	}
	return values, nil
}

// flatten walks TOML tables into dotted key names, checking each name and
// value against the registry.
func flatten(path, prefix string, table map[string]any, out map[string]string) error {
	for _, part := range slices.Sorted(maps.Keys(table)) {
		name := prefix + part
		raw := table[part]
		if k, ok := lookup(name); ok {
			v, err := fromTOML(k, raw)
			if err != nil {
				return fmt.Errorf("%w: %s: %s: %s", ErrInvalidFile, path, name, err)
			}
			if _, dup := out[name]; dup {
				return fmt.Errorf("%w: %s: %s is set twice", ErrInvalidFile, path, name)
			}
			out[name] = v
			continue
		}
		if sub, ok := raw.(map[string]any); ok && isTable(name) {
			if err := flatten(path, name+".", sub, out); err != nil {
				return err
			}
			continue
		}
		return fmt.Errorf("%w: %s: %w", ErrInvalidFile, path, unknownKey(name, "fix or remove it in the file"))
	}
	return nil
}

// fromTOML checks a decoded TOML value against k. TOML is typed, so a Bool
// must be a TOML boolean and an Int a TOML integer, not a string.
func fromTOML(k Key, raw any) (string, error) {
	switch k.Kind {
	case Bool:
		if b, ok := raw.(bool); ok {
			return strconv.FormatBool(b), nil
		}
	case Int:
		if n, ok := raw.(int64); ok {
			if n < int64(k.Min) || n > int64(k.Max) {
				return "", fmt.Errorf("%d is out of range (%d to %d)", n, k.Min, k.Max)
			}
			return strconv.FormatInt(n, 10), nil
		}
	default:
		if s, ok := raw.(string); ok {
			return s, nil
		}
	}
	hint := ""
	if s, ok := raw.(string); ok {
		if _, err := normalize(k, k.Name, s); err == nil {
			hint = "; write it without quotes"
		}
	}
	return "", fmt.Errorf("expected %s, got %s%s", k.accepted(), tomlType(raw), hint)
}

func tomlType(v any) string {
	switch v.(type) {
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case int64:
		return "an integer"
	case float64:
		return "a float"
	case time.Time, toml.LocalDate, toml.LocalTime, toml.LocalDateTime:
		return "a date or time"
	case []any:
		return "an array"
	case map[string]any:
		return "a table"
	}
	return fmt.Sprintf("%T", v)
}

// fileHeader heads every file Set writes; the file is rewritten whole, so
// hand-written comments do not survive and the header says so.
const fileHeader = "# latchkey settings. `latchkey config set` and `unset` rewrite this file and do not keep comments.\n" +
	"# Run `latchkey config list` to see every key.\n\n"

// encode renders values as TOML, dotted names as tables ([list] limit = 50).
func encode(values map[string]string) []byte {
	doc := make(map[string]any)
	for name, v := range values {
		k, _ := lookup(name)
		parts := strings.Split(name, ".")
		table := doc
		for _, p := range parts[:len(parts)-1] {
			sub, ok := table[p].(map[string]any)
			if !ok {
				sub = make(map[string]any)
				table[p] = sub
			}
			table = sub
		}
		table[parts[len(parts)-1]] = toTOML(k, v)
	}
	var buf bytes.Buffer
	buf.WriteString(fileHeader)
	// Marshalling strings, booleans and integers in nested maps cannot fail.
	body, err := toml.Marshal(doc)
	if err != nil {
		panic(fmt.Sprintf("config: encode: %v", err))
	}
	buf.Write(body)
	return buf.Bytes()
}

func toTOML(k Key, v string) any {
	switch k.Kind {
	case Bool:
		return v == "true"
	case Int:
		n, _ := strconv.ParseInt(v, 10, 64)
		return n
	}
	return v
}

// writeFile replaces path with data atomically: readers see the old file or
// the new one, never a part, even if the laptop dies mid-write.
func writeFile(path string, data []byte) error {
	err := fsutil.WriteFile(path, 0o600, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
	if err != nil {
		return fmt.Errorf("write config: %w", err)
	}
	return nil
}
