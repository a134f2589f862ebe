package provision_test

import (
	"bytes"
	"crypto/ecdh"
	"crypto/hpke"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/cryptotest"

	"github.com/latchkey/latchkey/internal/device"
	"github.com/latchkey/latchkey/internal/provision"
)

var update = flag.Bool("update", false, "rewrite golden files and the committed fuzz seeds")

const testJob = "3f2504e0-4f89-11d3-9a0c-0305e82c3301"

func buildingKey(n int) []byte { return seeded("building key")[:n] }

// burn is one sealed burn request for unit u.
func burn(t testing.TB, u unit, slot uint8, key []byte) device.BurnRequest {
	t.Helper()
	n := nonceOf("burn")
	sealed, err := provision.SealKey(u.kex.PublicKey().Bytes(), u.serial, slot, testJob, n, key)
	if err != nil {
		t.Fatal(err)
	}
	return device.BurnRequest{Slot: slot, Job: testJob, Nonce: n, Sealed: sealed}
}

func TestSealOpen(t *testing.T) {
	t.Parallel()
	u := newUnit(t, "LK1-000123")
	for _, n := range []int{16, 32} {
		key := buildingKey(n)
		req := burn(t, u, 2, key)
		if len(req.Sealed) != provision.EncSize+n+16 || len(req.Sealed) > device.MaxSealed {
			t.Errorf("%d-byte key sealed in %d bytes, want %d", n, len(req.Sealed), provision.EncSize+n+16)
		}
		got, err := provision.OpenKey(u.kex, u.serial, req)
		if err != nil {
			t.Fatalf("OpenKey: %v", err)
		}
		if !bytes.Equal(got, key) {
			t.Errorf("OpenKey = %x, want %x", got, key)
		}
		again := burn(t, u, 2, key)
		if bytes.Equal(again.Sealed, req.Sealed) {
			t.Error("two seals of the same key are equal: the ephemeral key is not fresh")
		}
	}
}

// Every field bound into the seal must make it fail to open.
func TestOpenKeyBindings(t *testing.T) {
	t.Parallel()
	u := newUnit(t, "LK1-000123")
	tests := []struct {
		name   string
		kex    *ecdh.PrivateKey
		serial string
		edit   func(*device.BurnRequest)
	}{
		{"other unit's key", newUnit(t, "LK1-000124").kex, u.serial, nil},
		{"other serial", u.kex, "LK1-000124", nil},
		{"other slot", u.kex, u.serial, func(r *device.BurnRequest) { r.Slot = 3 }},
		{"other job", u.kex, u.serial, func(r *device.BurnRequest) { r.Job = strings.Replace(r.Job, "3f", "3e", 1) }},
		{"other nonce", u.kex, u.serial, func(r *device.BurnRequest) { r.Nonce = nonceOf("other burn") }},
		{"enc damaged", u.kex, u.serial, func(r *device.BurnRequest) { r.Sealed[0] ^= 0x80 }},
		{"ciphertext damaged", u.kex, u.serial, func(r *device.BurnRequest) { r.Sealed[40] ^= 1 }},
		{"tag damaged", u.kex, u.serial, func(r *device.BurnRequest) { r.Sealed[len(r.Sealed)-1] ^= 1 }},
		{"truncated", u.kex, u.serial, func(r *device.BurnRequest) { r.Sealed = r.Sealed[:len(r.Sealed)-1] }},
		{"only enc", u.kex, u.serial, func(r *device.BurnRequest) { r.Sealed = r.Sealed[:provision.EncSize] }},
		{"empty", u.kex, u.serial, func(r *device.BurnRequest) { r.Sealed = nil }},
		{"over the limit", u.kex, u.serial, func(r *device.BurnRequest) {
			r.Sealed = append(r.Sealed, make([]byte, device.MaxSealed)...)
		}},
		{"nonce of 31 bytes", u.kex, u.serial, func(r *device.BurnRequest) { r.Nonce = r.Nonce[:31] }},
		{"slot past the limit", u.kex, u.serial, func(r *device.BurnRequest) { r.Slot = device.MaxSlots }},
		{"empty job", u.kex, u.serial, func(r *device.BurnRequest) { r.Job = "" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req := burn(t, u, 2, buildingKey(32))
			if tt.edit != nil {
				tt.edit(&req)
			}
			key, err := provision.OpenKey(tt.kex, tt.serial, req)
			if !errors.Is(err, provision.ErrSealInvalid) {
				t.Errorf("OpenKey = %x, %v; want ErrSealInvalid", key, err)
			}
			if key != nil {
				t.Errorf("OpenKey returned a key with an error")
			}
		})
	}
	if _, err := provision.OpenKey(nil, u.serial, burn(t, u, 2, buildingKey(32))); err == nil {
		t.Error("OpenKey without a key: no error")
	}
}

func TestSealKeyRefuses(t *testing.T) {
	t.Parallel()
	u := newUnit(t, "LK1-000123")
	pub := u.kex.PublicKey().Bytes()
	n := nonceOf("burn")
	tests := []struct {
		name   string
		kex    []byte
		serial string
		slot   uint8
		job    string
		nonce  []byte
		key    []byte
	}{
		{"24-byte key", pub, u.serial, 0, testJob, n, make([]byte, 24)},
		{"empty key", pub, u.serial, 0, testJob, n, nil},
		{"short unit key", pub[:31], u.serial, 0, testJob, n, buildingKey(32)},
		{"no serial", pub, "", 0, testJob, n, buildingKey(32)},
		{"serial too long", pub, strings.Repeat("S", device.MaxSerial+1), 0, testJob, n, buildingKey(32)},
		{"slot past the limit", pub, u.serial, device.MaxSlots, testJob, n, buildingKey(32)},
		{"no job", pub, u.serial, 0, "", n, buildingKey(32)},
		{"job too long", pub, u.serial, 0, strings.Repeat("j", device.MaxJob+1), n, buildingKey(32)},
		{"short nonce", pub, u.serial, 0, testJob, n[:16], buildingKey(32)},
	}
	for _, tt := range tests {
		if got, err := provision.SealKey(tt.kex, tt.serial, tt.slot, tt.job, tt.nonce, tt.key); err == nil {
			t.Errorf("%s: SealKey = %x, want an error", tt.name, got)
		}
	}
}

// sealInfoV1 spells out the info of the sealed-key format, independently
// of the code under test:
//
//	"latchkey burn v1" ‖ 0x00 ‖ u16be len ‖ serial ‖ u8 slot ‖
//	u16be len ‖ job ‖ u16be len ‖ nonce
func sealInfoV1(serial string, slot uint8, job string, nonce []byte) []byte {
	var b bytes.Buffer
	b.WriteString("latchkey burn v1\x00")
	fmt.Fprintf(&b, "%c%c%s", len(serial)>>8, len(serial)&0xff, serial)
	b.WriteByte(slot)
	fmt.Fprintf(&b, "%c%c%s", len(job)>>8, len(job)&0xff, job)
	b.Write([]byte{byte(len(nonce) >> 8), byte(len(nonce))})
	b.Write(nonce)
	return b.Bytes()
}

// The wire format: enc (32) ‖ ciphertext, opened by plain RFC 9180 HPKE with
// the pinned suite and the info above.
func TestSealFormat(t *testing.T) {
	t.Parallel()
	u := newUnit(t, "LK1-000123")
	key := buildingKey(32)
	req := burn(t, u, 5, key)
	sk, err := hpke.NewDHKEMPrivateKey(u.kex)
	if err != nil {
		t.Fatal(err)
	}
	info := sealInfoV1(u.serial, 5, testJob, req.Nonce)
	if want := 17 + 2 + 10 + 1 + 2 + 36 + 2 + 32; len(info) != want {
		t.Fatalf("info is %d bytes, want %d", len(info), want)
	}
	kem, err := hpke.NewKEM(0x0020) // DHKEM(X25519, HKDF-SHA256)
	if err != nil {
		t.Fatal(err)
	}
	if sk.KEM().ID() != kem.ID() {
		t.Fatalf("KEM %#x, want %#x", sk.KEM().ID(), kem.ID())
	}
	kdf, _ := hpke.NewKDF(0x0001)   // HKDF-SHA256
	aead, _ := hpke.NewAEAD(0x0002) // AES-256-GCM
	r, err := hpke.NewRecipient(req.Sealed[:32], sk, kdf, aead, info)
	if err != nil {
		t.Fatal(err)
	}
	got, err := r.Open(nil, req.Sealed[32:])
	if err != nil {
		t.Fatalf("plain HPKE does not open the seal: %v", err)
	}
	if !bytes.Equal(got, key) {
		t.Errorf("plain HPKE opened %x, want %x", got, key)
	}
	// A different suite must not open it: the suite is pinned.
	aes128, _ := hpke.NewAEAD(0x0001)
	if _, err := hpke.Open(sk, kdf, aes128, info, req.Sealed); err == nil {
		t.Error("the seal opens with AES-128-GCM")
	}
}

// TestSealGolden fixes the sealed bytes: with crypto randomness made
// deterministic, the same inputs must give the bytes in
// testdata/seal-v1.golden. Not parallel: SetGlobalRandom forbids it.
func TestSealGolden(t *testing.T) {
	cryptotest.SetGlobalRandom(t, 1)
	u := newUnit(t, "LK1-000123")
	n := nonceOf("burn")
	sealed, err := provision.SealKey(u.kex.PublicKey().Bytes(), u.serial, 5, testJob, n, buildingKey(32))
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# provision.SealKey, sealed-key format v1: enc (32 bytes) ‖ AES-256-GCM ciphertext of the key ‖ tag (16)\n")
	fmt.Fprintf(&b, "# recipient X25519 public key %x\n", u.kex.PublicKey().Bytes())
	fmt.Fprintf(&b, "# serial %q slot 5 job %q\n# nonce %x\n# key %x\n", u.serial, testJob, n, buildingKey(32))
	fmt.Fprintf(&b, "info %x\n", sealInfoV1(u.serial, 5, testJob, n))
	fmt.Fprintf(&b, "enc %x\n", sealed[:32])
	fmt.Fprintf(&b, "ct %x\n", sealed[32:])
	golden := filepath.Join("testdata", "seal-v1.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if b.String() != string(want) {
		t.Errorf("sealed bytes changed: the sealed-key format is a protocol; got\n%s\nwant\n%s", b.String(), want)
	}
	if _, err := provision.OpenKey(u.kex, u.serial, device.BurnRequest{Slot: 5, Job: testJob, Nonce: n, Sealed: sealed}); err != nil {
		t.Errorf("golden seal does not open: %v", err)
	}
}
