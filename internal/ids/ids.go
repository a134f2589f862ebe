// Package ids makes the identifiers of latchkey's records: random ones for
// records made here, and ones derived from content for records imported from
// files, so that importing the same file twice names the same records.
package ids

import (
	"fmt"
	"io"

	"github.com/google/uuid"
)

// New returns a random (version 4) UUID read from r. Random rather than
// time-ordered ids keep short prefixes unique, so people can type the first
// eight characters.
func New(r io.Reader) (string, error) {
	u, err := uuid.NewRandomFromReader(r)
	if err != nil {
		return "", fmt.Errorf("make id: %w", err)
	}
	return u.String(), nil
}

// namespace scopes derived ids to latchkey (a fixed random UUID).
var namespace = uuid.MustParse("5b0f1e8c-2c1a-4d4e-9a57-6a3c1f0e7d21")

// Derived returns a name-based (version 5) UUID for kind and content: the
// same input always gives the same id.
func Derived(kind string, content []byte) string {
	return uuid.NewSHA1(namespace, append([]byte(kind+"\x00"), content...)).String()
}

// Valid reports whether s is a UUID in canonical form.
func Valid(s string) bool {
	u, err := uuid.Parse(s)
	return err == nil && u.String() == s
}
