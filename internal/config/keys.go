package config

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Kind is the type of a key's value.
type Kind int

// The kinds of value a key can hold. Values are always carried as strings
// in their normal form: Bool as "true" or "false", Int in plain decimal.
const (
	String Kind = iota
	Bool
	Int
)

// String returns the kind's name as shown to users.
func (k Kind) String() string {
	switch k {
	case String:
		return "string"
	case Bool:
		return "bool"
	case Int:
		return "int"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Key describes one setting.
type Key struct {
	Name    string // dotted, e.g. "list.limit"; the part before a dot is a TOML table
	Kind    Kind
	Default string // normal form; see Config.Get for defaults taken from the environment
	Help    string // one line, shown by `latchkey config list`
	Env     string // LATCHKEY_ + upper(Name with '.' and '-' -> '_'), e.g. LATCHKEY_LIST_LIMIT
	Min     int    // smallest accepted value of an Int key
	Max     int    // largest accepted value of an Int key

	// defaultEnv names variables, space-separated so that Key stays
	// comparable, whose first non-empty value replaces Default (rep
	// defaults to the login name).
	defaultEnv string
	// presenceEnv names a variable that turns a Bool key on when it is set
	// to anything non-empty, below Env in precedence (NO_COLOR, no-color.org).
	presenceEnv string
}

// Keys returns every known key, sorted by name. The slice is the caller's.
func Keys() []Key {
	keys := []Key{
		{
			Name: "list.limit", Kind: Int, Default: "50", Min: 1, Max: 10000,
			Help: "rows shown by list commands when --limit is not given",
		},
		{
			Name: "no-color", Kind: Bool, Default: "false",
			Help:        "turn off colour in tables and forms",
			presenceEnv: "NO_COLOR",
		},
		{
			Name: "notice.contact-email", Kind: String, Default: "",
			Help: "tenant notice: the contact's email (--contact-email)",
		},
		{
			Name: "notice.contact-name", Kind: String, Default: "",
			Help: "tenant notice: whom tenants contact (--contact-name)",
		},
		{
			Name: "notice.contact-phone", Kind: String, Default: "",
			Help: "tenant notice: the contact's phone (--contact-phone)",
		},
		{
			Name: "notice.contact-web", Kind: String, Default: "",
			Help: "tenant notice: the contact's web page (--contact-web)",
		},
		{
			Name: "notice.operator", Kind: String, Default: "",
			Help: "tenant notice: the operator's name when the consent gives none (--operator)",
		},
		{
			Name: "notice.policy-url", Kind: String, Default: "",
			Help: "tenant notice: where the full privacy policy is (--policy-url)",
		},
		{
			Name: "rep", Kind: String, Default: "",
			Help:       "your name as a sales rep, recorded on visits",
			defaultEnv: "USER USERNAME",
		},
		{
			Name: "unit.usb-id", Kind: String, Default: "1209:0001",
			Help: "USB VID:PID a latchkey unit enumerates with (pid.codes test pair until one is allocated)",
		},
		{
			Name: "verbose", Kind: Bool, Default: "false",
			Help: "log debug detail to stderr",
		},
	}
	for i := range keys {
		keys[i].Env = envName(keys[i].Name)
	}
	slices.SortFunc(keys, func(a, b Key) int { return strings.Compare(a.Name, b.Name) })
	return keys
}

func envName(name string) string {
	return "LATCHKEY_" + strings.ToUpper(strings.NewReplacer(".", "_", "-", "_").Replace(name))
}

func lookup(name string) (Key, bool) {
	for _, k := range Keys() {
		if k.Name == name {
			return k, true
		}
	}
	return Key{}, false
}

// isTable reports whether name is the table part of some dotted key.
func isTable(name string) bool {
	for _, k := range Keys() {
		if strings.HasPrefix(k.Name, name+".") {
			return true
		}
	}
	return false
}

// accepted describes the values a key takes, for error messages.
func (k Key) accepted() string {
	switch k.Kind {
	case Bool:
		return "true or false"
	case Int:
		return fmt.Sprintf("a whole number (%d to %d)", k.Min, k.Max)
	}
	return "text"
}

// valueError keeps the message exactly as written while still matching
// ErrInvalidValue, so callers can show it as is.
type valueError struct{ msg string }

func (e *valueError) Error() string { return e.msg }
func (e *valueError) Unwrap() error { return ErrInvalidValue }

func invalid(format string, args ...any) error {
	return &valueError{msg: fmt.Sprintf(format, args...)}
}

// normalize checks raw against k and returns it in normal form. subject
// names where the value came from (the key, or an environment variable).
func normalize(k Key, subject, raw string) (string, error) {
	switch k.Kind {
	case Bool:
		switch strings.ToLower(strings.TrimSpace(raw)) {
		case "true", "1", "yes":
			return "true", nil
		case "false", "0", "no":
			return "false", nil
		}
		return "", invalid("%s: %q is not true or false (also accepted: yes, no, 1, 0)", subject, raw)
	case Int:
		n, err := strconv.Atoi(strings.TrimSpace(raw))
		if err != nil {
			if errors.Is(err, strconv.ErrRange) {
				return "", invalid("%s: %s is out of range (%d to %d)", subject, raw, k.Min, k.Max)
			}
			return "", invalid("%s: %q is not a whole number (%d to %d)", subject, raw, k.Min, k.Max)
		}
		if n < k.Min || n > k.Max {
			return "", invalid("%s: %d is out of range (%d to %d)", subject, n, k.Min, k.Max)
		}
		return strconv.Itoa(n), nil
	}
	return raw, nil
}

// suggest returns the known key the user most likely meant, or "".
func suggest(name string) string {
	keys := Keys()
	lower := strings.ToLower(name)
	for _, k := range keys {
		// "list" or "limit" for list.limit, or the key's environment variable.
		if strings.HasPrefix(k.Name, lower+".") || strings.HasSuffix(k.Name, "."+lower) ||
			strings.EqualFold(name, k.Env) {
			return k.Name
		}
	}
	best, bestDist := "", len(lower)/3+2
	for _, k := range keys {
		if d := distance(lower, k.Name); d < bestDist {
			best, bestDist = k.Name, d
		}
	}
	return best
}

// distance is the Levenshtein edit distance between a and b.
func distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}

// unknownKey names an unknown key, suggests a known one and says what to
// do next, which is hint (e.g. where to see every key).
func unknownKey(name, hint string) error {
	if s := suggest(name); s != "" {
		return fmt.Errorf("%w %q; did you mean %s? %s", ErrUnknownKey, name, s, hint)
	}
	return fmt.Errorf("%w %q; %s", ErrUnknownKey, name, hint)
}

// listHint is the next step for a mistyped key on the command line. It is
// not given for a key in the file: `config list` would fail on that file.
const listHint = `run "latchkey config list" to see every key`
