package provision_test

import (
	"bytes"
	"encoding/hex"
	"testing"

	"github.com/latchkey/latchkey/internal/provision"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The example message of RFC 4493 section 4 (and NIST SP 800-38B
// appendix D), 64 bytes; the examples use its first 0, 16, 40 and 64.
const cmacMsg = "6bc1bee22e409f96e93d7e117393172a" +
	"ae2d8a571e03ac9c9eb76fac45af8e51" +
	"30c81c46a35ce411e5fbc1191a0a52ef" +
	"f69f2445df4f9b17ad2b417be66c3710"

func TestCMAC(t *testing.T) {
	t.Parallel()
	const (
		aes128 = "2b7e151628aed2a6abf7158809cf4f3c"
		aes256 = "603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4"
	)
	tests := []struct {
		name   string
		key    string
		msgLen int
		want   string
	}{
		// RFC 4493 section 4, examples 1-4 (AES-128).
		{"RFC 4493 example 1 (empty)", aes128, 0, "bb1d6929e95937287fa37d129b756746"},
		{"RFC 4493 example 2 (16 bytes)", aes128, 16, "070a16b46b4d4144f79bdd9dd04a287c"},
		{"RFC 4493 example 3 (40 bytes)", aes128, 40, "dfa66747de9ae63030ca32611497c827"},
		{"RFC 4493 example 4 (64 bytes)", aes128, 64, "51f0bebf7e3b9d92fc49741779363cfe"},
		// NIST SP 800-38B appendix D.3 (AES-256).
		{"SP 800-38B AES-256 empty", aes256, 0, "028962f61b7bf89efc6b551f4667d983"},
		{"SP 800-38B AES-256 16 bytes", aes256, 16, "28a7023f452e8f82bd4bf28d8c37c35c"},
		{"SP 800-38B AES-256 40 bytes", aes256, 40, "aaf3d8f1de5640c232f5b169b9c911e6"},
		{"SP 800-38B AES-256 64 bytes", aes256, 64, "e1992190549f6ed5696a2c056c315410"},
	}
	msg := unhex(t, cmacMsg)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := provision.CMAC(unhex(t, tt.key), msg[:tt.msgLen])
			if err != nil {
				t.Fatal(err)
			}
			if hex.EncodeToString(got) != tt.want {
				t.Errorf("CMAC = %x, want %s", got, tt.want)
			}
		})
	}
	if _, err := provision.CMAC(make([]byte, 15), nil); err == nil {
		t.Error("CMAC with a 15-byte key: no error")
	}
}

func TestKCV(t *testing.T) {
	t.Parallel()
	for _, n := range []int{16, 32} {
		key := bytes.Repeat([]byte{0x5a}, n)
		kcv, err := provision.KCV(key)
		if err != nil {
			t.Fatal(err)
		}
		mac, _ := provision.CMAC(key, make([]byte, 16))
		if len(kcv) != provision.KCVSize || !bytes.Equal(kcv, mac[:3]) {
			t.Errorf("KCV(%d-byte key) = %x, want the first 3 bytes of %x", n, kcv, mac)
		}
	}
	// Known values, computed with OpenSSL 3.0 (`openssl mac -cipher
	// AES-128-CBC -macopt hexkey:K -in 16-zero-bytes CMAC`, and AES-256-CBC):
	// CMAC(K, 0^128) = 7ad386c3760fb3498361a1cb5563bd70 for RFC 4493's key and
	// 1a0b2df26763cfd6afb9d3b1a2a846da for SP 800-38B's AES-256 key.
	for key, want := range map[string]string{
		"2b7e151628aed2a6abf7158809cf4f3c":                                 "7ad386",
		"603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4": "1a0b2d",
	} {
		kcv, err := provision.KCV(unhex(t, key))
		if err != nil || hex.EncodeToString(kcv) != want {
			t.Errorf("KCV(%s) = %x, %v, want %s", key, kcv, err, want)
		}
	}
	for _, n := range []int{0, 15, 24, 33} {
		if _, err := provision.KCV(make([]byte, n)); err == nil {
			t.Errorf("KCV of a %d-byte key: no error", n)
		}
	}
}
