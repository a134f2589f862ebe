package provision

import (
	"crypto/aes"
	"crypto/subtle"
	"fmt"
)

// CMAC returns AES-CMAC (RFC 4493; NIST SP 800-38B) of msg under key, an
// AES key of 16, 24 or 32 bytes. The standard library has no CMAC; this
// follows RFC 4493 section 2.4 and is tested with its vectors.
func CMAC(key, msg []byte) ([]byte, error) {
	c, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("cmac: %w", err)
	}
	const bs = aes.BlockSize
	// Subkeys (RFC 4493 2.3): L = AES(K, 0^128), K1 = dbl(L), K2 = dbl(K1).
	var l, k1, k2 [bs]byte
	c.Encrypt(l[:], l[:])
	double(&k1, &l)
	double(&k2, &k1)

	// n blocks, the last one complete or padded (RFC 4493 2.4 steps 2-4).
	n := (len(msg) + bs - 1) / bs
	complete := n > 0 && len(msg)%bs == 0
	if n == 0 {
		n = 1
	}
	var last [bs]byte
	if complete {
		subtle.XORBytes(last[:], msg[(n-1)*bs:], k1[:])
	} else {
		rest := msg[(n-1)*bs:]
		copy(last[:], rest)
		last[len(rest)] = 0x80
		subtle.XORBytes(last[:], last[:], k2[:])
	}
	var x [bs]byte
	for i := 0; i < n-1; i++ {
		subtle.XORBytes(x[:], x[:], msg[i*bs:(i+1)*bs])
		c.Encrypt(x[:], x[:])
	}
	subtle.XORBytes(x[:], x[:], last[:])
	c.Encrypt(x[:], x[:])
	return x[:], nil
}

// double sets out to in·x in GF(2^128) with the polynomial of RFC 4493
// (shift left one bit; if the top bit was set, xor 0x87 into the last byte).
func double(out, in *[16]byte) {
	carry := in[0] >> 7
	for i := 0; i < 15; i++ {
		out[i] = in[i]<<1 | in[i+1]>>7
	}
	out[15] = in[15]<<1 ^ 0x87&-carry
}

// KCVSize is the length of a device.KCVCMAC key check value.
const KCVSize = 3

// KCV returns the key check value of a building key (16 or 32 bytes) by
// method device.KCVCMAC: the leftmost 3 bytes of AES-CMAC(key, 16 zero
// bytes) (docs/protocol.md 4.5 step 4). It identifies the key without
// revealing it, so a receipt can show which key a unit stored.
func KCV(key []byte) ([]byte, error) {
	if len(key) != 16 && len(key) != 32 {
		return nil, fmt.Errorf("key check value: a building key is 16 or 32 bytes, not %d", len(key))
	}
	m, err := CMAC(key, make([]byte, aes.BlockSize))
	if err != nil {
		return nil, fmt.Errorf("key check value: %w", err)
	}
	return m[:KCVSize], nil
}
