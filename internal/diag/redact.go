package diag

import (
	"encoding/hex"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Redaction rules for support bundles. A bundle leaves the building: it is
// mailed to engineering and attached to tickets, so it must carry nothing
// that opens a door or logs in anywhere. The rules err on the side of
// removing too much; README.md ("diag") lists them for the people who read
// a bundle.
//
//  1. A setting whose name has a secret-looking word in it (SecretName) has
//     its value replaced, whatever the value.
//  2. A setting whose value looks like key material (KeyMaterial: a PEM
//     block, 32 or more hex digits, 40 or more base64 characters, or 16 or
//     more bytes of binary) has its value replaced, whatever the name; any
//     other text value goes through rule 3 (a password in a URL).
//  3. Text (local log lines, event messages) goes through RedactText:
//     name=value and name: value pairs with a secret-looking name, PEM
//     blocks, long hex and base64 runs, bearer tokens and passwords in URLs
//     are replaced.
//
// Public keys and image hashes in the status report are kept: they are
// public, and engineering needs them to tell units and builds apart.

// Redacted replaces a removed value.
const Redacted = "[redacted]"

// secretWords are the words of a setting or field name that mark it secret;
// a name matches when one of its words (split at / . _ - and space, and at
// lower-to-upper case changes) is one of these, or it contains one of
// secretParts.
var secretWords = map[string]bool{
	"key": true, "keys": true, "token": true, "tokens": true, "secret": true, "secrets": true,
	"password": true, "passwd": true, "pass": true, "pwd": true, "passphrase": true,
	"psk": true, "pin": true, "puk": true, "credential": true, "credentials": true, "cred": true, "creds": true,
	"auth": true, "authorization": true, "cookie": true, "session": true, "private": true, "priv": true,
	"seed": true, "salt": true, "otp": true, "totp": true, "apikey": true, "privkey": true,
	"keystore": true, "kek": true, "dek": true, "hmac": true,
}

var secretParts = []string{"password", "passwd", "secret", "token", "apikey", "privkey", "private", "credential"}

// SecretName reports whether name (a setting, a log field) looks like it
// holds a secret.
func SecretName(name string) bool {
	lower := strings.ToLower(name)
	for _, p := range secretParts {
		if strings.Contains(lower, p) {
			return true
		}
	}
	for _, w := range words(name) {
		if secretWords[strings.ToLower(w)] {
			return true
		}
	}
	return false
}

// words splits a name at separators and at camel-case boundaries:
// "lk/modem/apnPassword" gives lk, modem, apn, Password.
func words(name string) []string {
	var out []string
	cur := []rune{}
	flush := func() {
		if len(cur) > 0 {
			out = append(out, string(cur))
			cur = cur[:0]
		}
	}
	var prev rune
	for _, r := range name {
		switch {
		case !unicode.IsLetter(r) && !unicode.IsDigit(r):
			flush()
		case unicode.IsUpper(r) && unicode.IsLower(prev):
			flush()
			cur = append(cur, r)
		default:
			cur = append(cur, r)
		}
		prev = r
	}
	flush()
	return out
}

var (
	pemBlock  = regexp.MustCompile(`(?s)-----BEGIN [A-Z0-9 ]+-----.*?(-----END [A-Z0-9 ]+-----|$)`)
	hexRun    = regexp.MustCompile(`\b(?:0x)?[0-9a-fA-F]{32,}\b`)
	base64Run = regexp.MustCompile(`[A-Za-z0-9+/_-]{40,}={0,2}`)
	bearer    = regexp.MustCompile(`(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}`)
	urlUser   = regexp.MustCompile(`(?i)([a-z][a-z0-9+.-]*://)[^/\s:@]+:[^/\s@]+@`)
	// pair is name=value or name: value, the value an HTTP credential
	// ("Bearer x"), quoted, or up to whitespace, comma, semicolon, & or ?.
	pair = regexp.MustCompile(`([A-Za-z0-9_./-]+)(\s*[=:]\s*)((?i:bearer|basic)\s+\S+|"[^"]*"|'[^']*'|[^\s,;&?]+)`)
)

// KeyMaterial reports whether a value looks like a key, whatever it is
// called: a PEM block, a run of 32 or more hex digits (128 bits), a run of 40
// or more base64 characters (a 256-bit key is 44), or 16 or more bytes that
// are not printable text.
func KeyMaterial(val []byte) bool {
	if !printable(val) {
		return len(val) >= 16
	}
	s := string(val)
	return pemBlock.MatchString(s) || hexRun.MatchString(s) || base64Run.MatchString(s)
}

func printable(b []byte) bool {
	if !utf8.Valid(b) {
		return false
	}
	for _, r := range string(b) {
		if unicode.IsControl(r) && r != '\n' && r != '\r' && r != '\t' {
			return false
		}
	}
	return true
}

// Setting is one setting as a bundle shows it.
type Setting struct {
	Name string `json:"name"`
	// Value is the value as text, or as 0x-prefixed hex when it is not
	// printable; Redacted when a rule removed it.
	Value string `json:"value"`
	// Why names the rule that removed the value, "" when it is shown.
	Why string `json:"redacted_because,omitempty"`
}

// RedactSetting applies rules 1 and 2 (and 3 to a text value) to one
// setting.
func RedactSetting(name string, val []byte) Setting {
	switch {
	case SecretName(name):
		return Setting{Name: name, Value: Redacted, Why: "its name looks like a secret"}
	case KeyMaterial(val):
		return Setting{Name: name, Value: Redacted, Why: "its value looks like key material"}
	case !printable(val):
		return Setting{Name: name, Value: "0x" + hex.EncodeToString(val)}
	}
	if text, n := RedactText(string(val)); n > 0 {
		return Setting{Name: name, Value: text, Why: "part of its value looks like a secret"}
	}
	return Setting{Name: name, Value: string(val)}
}

// RedactText applies rule 3 to s and returns the result and how many
// values it replaced.
func RedactText(s string) (string, int) {
	n := 0
	repl := func(re *regexp.Regexp, with func(m []string) string) {
		s = re.ReplaceAllStringFunc(s, func(m string) string {
			n++
			return with(re.FindStringSubmatch(m))
		})
	}
	repl(pemBlock, func([]string) string { return Redacted })
	repl(urlUser, func(m []string) string { return m[1] + Redacted + "@" })
	repl(bearer, func(m []string) string { return m[1] + " " + Redacted })
	s = pair.ReplaceAllStringFunc(s, func(m string) string {
		sub := pair.FindStringSubmatch(m)
		if !SecretName(sub[1]) || sub[3] == Redacted {
			return m
		}
		n++
		return sub[1] + sub[2] + Redacted
	})
	repl(hexRun, func([]string) string { return Redacted })
	repl(base64Run, func(m []string) string {
		// Paths and identifiers without digits are not keys; key
		// material in base64 has digits (or + and =) in it.
		if strings.IndexFunc(m[0], func(r rune) bool { return unicode.IsDigit(r) || r == '+' || r == '=' }) < 0 {
			n--
			return m[0]
		}
		return Redacted
	})
	return s, n
}
