package hub

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"strings"
)

// crockford is Crockford's base32 alphabet: no I, L, O or U, so a code read
// aloud or off a screen has one spelling.
const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// codeBytes is the randomness of an enrollment code: 80 bits, 16 symbols.
const codeBytes = 10

// newCode makes an enrollment code of 80 random bits as four dash-separated
// groups of four Crockford base32 symbols, e.g. K7QM-2XHD-9TPA-W3RE.
func newCode(rand io.Reader) (string, error) {
	var b [codeBytes]byte
	if _, err := io.ReadFull(rand, b[:]); err != nil {
		return "", fmt.Errorf("make enrollment code: %w", err)
	}
	var acc uint64
	var bits uint
	var sb strings.Builder
	n := 0
	for _, c := range b {
		acc = acc<<8 | uint64(c)
		bits += 8
		for bits >= 5 {
			bits -= 5
			if n > 0 && n%4 == 0 {
				sb.WriteByte('-')
			}
			sb.WriteByte(crockford[(acc>>bits)&31])
			n++
		}
	}
	return sb.String(), nil
}

// normalizeCode reads a code as a person may type it: any case, with or
// without dashes and spaces, O for 0 and I or L for 1. It reports false for
// anything that cannot be a code.
func normalizeCode(s string) (string, bool) {
	var sb strings.Builder
	for _, r := range strings.ToUpper(s) {
		switch r {
		case '-', ' ':
			continue
		case 'O':
			r = '0'
		case 'I', 'L':
			r = '1'
		}
		if !strings.ContainsRune(crockford, r) {
			return "", false
		}
		sb.WriteRune(r)
	}
	if sb.Len() != codeBytes*8/5 {
		return "", false
	}
	return sb.String(), true
}

// hashCode is what the store keeps of an enrollment code: the hex SHA-256 of
// its normalized form.
func hashCode(normalized string) string { return hashHex([]byte(normalized)) }

// hashHex is the lower-case hex SHA-256 of b.
func hashHex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
