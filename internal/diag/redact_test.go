package diag

import (
	"strings"
	"testing"
)

func TestSecretName(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		want bool
	}{
		{"lk/modem/apn", false},
		{"lk/log/level", false},
		{"door/pulse_ms", false},
		{"door/courier", false},
		{"lk/keypad/layout", false}, // "keypad" is a word of its own
		{"mcumgr/smp_uart", false},
		{"lk/modem/apn_password", true},
		{"modem/sim_pin", true},
		{"lk/cloud/token", true},
		{"cloud/api-key", true},
		{"cloud/apiKey", true},
		{"wifi/psk", true},
		{"lk/x/Secret", true},
		{"building.key", true},
		{"auth", true},
		{"refreshToken", true},
		{"privateKeyPem", true},
		{"db_passwd", true},
		{"OAUTH_CREDENTIALS", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := SecretName(tt.name); got != tt.want {
				t.Errorf("SecretName(%q) = %v, want %v", tt.name, got, tt.want)
			}
		})
	}
}

func TestKeyMaterial(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		val  []byte
		want bool
	}{
		{"short text", []byte("iot.example"), false},
		{"number", []byte("500"), false},
		{"two binary bytes", []byte{0x01, 0xf4}, false},
		{"uuid", []byte("550e8400-e29b-41d4-a716-446655440000"), false},
		{"aes-128 in hex", []byte("000102030405060708090a0b0c0d0e0f"), true},
		{"aes-256 in base64", []byte("q83vEjRWeJCrze8SNFZ4kKvN7xI0VniQq83vEjRWeJA="), true},
		{"pem", []byte("-----BEGIN PRIVATE KEY-----\nMC4CAQ\n-----END PRIVATE KEY-----"), true},
		{"16 binary bytes", []byte("\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\xff"), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := KeyMaterial(tt.val); got != tt.want {
				t.Errorf("KeyMaterial(%q) = %v, want %v", tt.val, got, tt.want)
			}
		})
	}
}

func TestRedactSetting(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		val       []byte
		wantValue string
		redacted  bool
	}{
		{"lk/modem/apn", []byte("iot.example"), "iot.example", false},
		{"door/pulse", []byte{0x01, 0xf4}, "0x01f4", false},
		{"lk/modem/apn_password", []byte("x"), Redacted, true},
		{"lk/modem/apn_password", []byte(""), Redacted, true},
		{"lk/modem/band", []byte("000102030405060708090a0b0c0d0e0f"), Redacted, true},
		{"lk/cloud/url", []byte("https://ops:pw1@cloud.example/u"), "https://" + Redacted + "@cloud.example/u", true},
		{"lk/cloud/url", []byte("https://cloud.example/u"), "https://cloud.example/u", false},
	}
	for _, tt := range tests {
		t.Run(tt.name+"="+string(tt.val), func(t *testing.T) {
			t.Parallel()
			got := RedactSetting(tt.name, tt.val)
			if got.Value != tt.wantValue || (got.Why != "") != tt.redacted || got.Name != tt.name {
				t.Errorf("RedactSetting(%q, %q) = %+v, want value %q redacted %v", tt.name, tt.val, got, tt.wantValue, tt.redacted)
			}
		})
	}
}

func TestRedactText(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want string
		n              int
	}{
		{"plain", `level=INFO msg="paired" port=/dev/ttyACM0 serial=LK0000004242`, `level=INFO msg="paired" port=/dev/ttyACM0 serial=LK0000004242`, 0},
		{"token pair", `msg=upload token=abc123 size=4`, `msg=upload token=[redacted] size=4`, 1},
		{"quoted password", `password="correct horse" user=ana`, `password=[redacted] user=ana`, 1},
		{"colon form", `api_key: k-29fj2k, next`, `api_key: [redacted], next`, 1},
		{"query string", `GET https://hub.example/x?token=abc&page=2`, `GET https://hub.example/x?token=[redacted]&page=2`, 1},
		{"bearer", `authorization: Bearer eyJhbGciOi.e30.c2ln`, `authorization: [redacted]`, 2},
		{"url password", `dial mqtt://unit:pw@broker:1883`, `dial mqtt://[redacted]@broker:1883`, 1},
		{"hex key", `kcv check 000102030405060708090a0b0c0d0e0f done`, `kcv check [redacted] done`, 1},
		{"base64 key", `got q83vEjRWeJCrze8SNFZ4kKvN7xI0VniQq83vEjRWeJA= back`, `got [redacted] back`, 1},
		{"long path kept", `opened /home/someone/.local/state/latchkey/logs/latchkeysessionlogfile`, `opened /home/someone/.local/state/latchkey/logs/latchkeysessionlogfile`, 0},
		{"pem", "a\n-----BEGIN EC PRIVATE KEY-----\nMHcCAQEE\n-----END EC PRIVATE KEY-----\nb", "a\n[redacted]\nb", 1},
		{"short hex kept", `slot=1 kcv=a1b2c3`, `slot=1 kcv=a1b2c3`, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, n := RedactText(tt.in)
			if got != tt.want || n != tt.n {
				t.Errorf("RedactText(%q)\n = %q, %d\nwant %q, %d", tt.in, got, n, tt.want, tt.n)
			}
			if again, m := RedactText(got); again != got || m != 0 {
				t.Errorf("redacting twice changed %q to %q (%d)", got, again, m)
			}
			if strings.Contains(got, "abc123") {
				t.Error("secret left in")
			}
		})
	}
}
