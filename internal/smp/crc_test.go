package smp

import "testing"

func TestCRC16(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want uint16
	}{
		{"empty", "", 0x0000},
		{"check value", "123456789", 0x31C3}, // CRC-16/XMODEM catalogue check
		{"single A", "A", 0x58E5},
		// An echo request (v2 header + {"d":"hi"}); value from an
		// independent implementation (Python binascii.crc_hqx(data, 0)).
		{"echo request", "\x0a\x00\x00\x06\x00\x00\x42\x00\xa1\x61\x64\x62\x68\x69", 0x9B0A},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := crc16([]byte(tt.in)); got != tt.want {
				t.Errorf("crc16(%q) = %#04x, want %#04x", tt.in, got, tt.want)
			}
		})
	}
}

func TestCRC16Residue(t *testing.T) {
	t.Parallel()
	// The CRC appended big-endian makes the CRC of the whole zero; this is
	// how devices check it, so the byte order must match.
	msg := []byte("hello smp")
	c := crc16(msg)
	if got := crc16(append(msg, byte(c>>8), byte(c))); got != 0 {
		t.Errorf("residue = %#04x, want 0", got)
	}
}
