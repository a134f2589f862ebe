package packet

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/identity"
	"github.com/latchkey/latchkey/internal/record"
)

// seeded is a repeatable byte source for test keys.
type seeded byte

func (s seeded) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(s) + byte(i)
	}
	return len(p), nil
}

var t0 = time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)

type fixture struct {
	hub       ed25519.PrivateKey
	installer identity.Identity
	other     identity.Identity
	job       Job
	keys      Keys
}

func newFixture(t testing.TB) fixture {
	t.Helper()
	hub := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize))
	inst, err := identity.Generate(seeded(1))
	if err != nil {
		t.Fatal(err)
	}
	other, err := identity.Generate(seeded(2))
	if err != nil {
		t.Fatal(err)
	}
	job := testJob("job-1", inst)
	keys, err := GenerateKeys(job.Doors, seeded(9))
	if err != nil {
		t.Fatal(err)
	}
	return fixture{hub: hub, installer: inst, other: other, job: job, keys: keys}
}

func testJob(id string, inst identity.Identity) Job {
	return Job{
		ID:             id,
		Building:       "Harbour View",
		Address:        "12 Quay St",
		Doors:          []string{"lobby", "garage"},
		AccessHours:    "07:00-21:00",
		Incentive:      "gift card 50",
		Terms:          "couriers may open the lobby door",
		Installer:      "ana",
		InstallerKeyID: record.KeyID(inst.Public().Sign),
		IssuedAt:       t0,
		ExpiresAt:      t0.Add(14 * 24 * time.Hour),
	}
}

func (f fixture) seal(t testing.TB, job Job, keys Keys) []byte {
	t.Helper()
	b, err := Seal(job, keys, f.installer.Public().Kex, f.hub)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (f fixture) hubPub() ed25519.PublicKey { return f.hub.Public().(ed25519.PublicKey) }

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	b := f.seal(t, f.job, f.keys)

	job, err := Verify(b, f.hubPub(), t0.Add(time.Hour))
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	checkJobEqual(t, job, f.job)

	job, keys, err := Open(b, f.hubPub(), f.installer, t0.Add(time.Hour))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	checkJobEqual(t, job, f.job)
	if len(keys) != len(f.keys) {
		t.Fatalf("opened %d keys, want %d", len(keys), len(f.keys))
	}
	for i := range keys {
		if keys[i].Door != f.keys[i].Door || !bytes.Equal(keys[i].Key, f.keys[i].Key) {
			t.Errorf("key %d differs", i)
		}
	}
	keys.Wipe()
	for _, k := range keys {
		if !bytes.Equal(k.Key, make([]byte, KeySize)) {
			t.Errorf("Wipe left key of %s non-zero", k.Door)
		}
	}
	if bytes.Contains(b, f.keys[0].Key) {
		t.Error("packet holds a door key in the clear")
	}
}

func checkJobEqual(t *testing.T, got, want Job) {
	t.Helper()
	if !got.IssuedAt.Equal(want.IssuedAt) || !got.ExpiresAt.Equal(want.ExpiresAt) {
		t.Errorf("times: got %v %v, want %v %v", got.IssuedAt, got.ExpiresAt, want.IssuedAt, want.ExpiresAt)
	}
	got.IssuedAt, got.ExpiresAt = want.IssuedAt, want.ExpiresAt
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("job:\n got %+v\nwant %+v", got, want)
	}
}

// envelope helpers for tampering.

func unwrap(t *testing.T, b []byte) (record.Envelope, map[string]any) {
	t.Helper()
	env, err := record.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	body, err := env.Body()
	if err != nil {
		t.Fatal(err)
	}
	var p map[string]any
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatal(err)
	}
	return env, p
}

// rewrap encodes p as the payload of env; with key non-nil it signs anew
// (as a hub that made a mistake would), else it keeps the old signature.
func rewrap(t *testing.T, env record.Envelope, p map[string]any, key ed25519.PrivateKey) []byte {
	t.Helper()
	body, err := record.Canonical(p)
	if err != nil {
		t.Fatal(err)
	}
	env.Payload = base64.StdEncoding.EncodeToString(body)
	if key != nil {
		env.Signatures = []record.Signature{}
		sig := ed25519.Sign(key, record.PAE(PayloadType, body))
		if err := env.AddSignature(record.KeyID(key.Public().(ed25519.PublicKey)), sig); err != nil {
			t.Fatal(err)
		}
	}
	b, err := json.Marshal(env)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestRefusals(t *testing.T) {
	t.Parallel()
	now := t0.Add(time.Hour)
	tests := []struct {
		name   string
		packet func(t *testing.T, f fixture) []byte
		hubKey func(f fixture) ed25519.PublicKey
		id     func(f fixture) identity.Identity
		now    time.Time
		want   error
		verify bool // Verify alone fails too
	}{
		{
			name: "tampered job field",
			packet: func(t *testing.T, f fixture) []byte {
				env, p := unwrap(t, f.seal(t, f.job, f.keys))
				p["job"].(map[string]any)["access_hours"] = "00:00-24:00"
				return rewrap(t, env, p, nil)
			},
			want: ErrBadSignature, verify: true,
		},
		{
			name: "tampered signature",
			packet: func(t *testing.T, f fixture) []byte {
				env, _ := unwrap(t, f.seal(t, f.job, f.keys))
				sig, _ := base64.StdEncoding.DecodeString(env.Signatures[0].Sig)
				sig[5] ^= 1
				env.Signatures[0].Sig = base64.StdEncoding.EncodeToString(sig)
				b, _ := json.Marshal(env)
				return b
			},
			want: ErrBadSignature, verify: true,
		},
		{
			name: "tampered ciphertext",
			packet: func(t *testing.T, f fixture) []byte {
				env, p := unwrap(t, f.seal(t, f.job, f.keys))
				s := p["sealed"].(map[string]any)
				ct, _ := base64.StdEncoding.DecodeString(s["ciphertext"].(string))
				ct[3] ^= 1
				s["ciphertext"] = base64.StdEncoding.EncodeToString(ct)
				return rewrap(t, env, p, nil)
			},
			want: ErrBadSignature, verify: true,
		},
		{
			name: "tampered ciphertext re-signed by the hub",
			packet: func(t *testing.T, f fixture) []byte {
				env, p := unwrap(t, f.seal(t, f.job, f.keys))
				s := p["sealed"].(map[string]any)
				ct, _ := base64.StdEncoding.DecodeString(s["ciphertext"].(string))
				ct[3] ^= 1
				s["ciphertext"] = base64.StdEncoding.EncodeToString(ct)
				return rewrap(t, env, p, f.hub)
			},
			want: ErrSealed,
		},
		{
			name: "sealed blob swapped between two jobs",
			packet: func(t *testing.T, f fixture) []byte {
				other := testJob("job-2", f.installer)
				keys2, err := GenerateKeys(other.Doors, seeded(40))
				if err != nil {
					t.Fatal(err)
				}
				_, p2 := unwrap(t, f.seal(t, other, keys2))
				env, p := unwrap(t, f.seal(t, f.job, f.keys))
				p["sealed"] = p2["sealed"]
				return rewrap(t, env, p, f.hub)
			},
			want: ErrSealed,
		},
		{
			name: "sealed blob swapped, not re-signed",
			packet: func(t *testing.T, f fixture) []byte {
				other := testJob("job-2", f.installer)
				_, p2 := unwrap(t, f.seal(t, other, f.keys))
				env, p := unwrap(t, f.seal(t, f.job, f.keys))
				p["sealed"] = p2["sealed"]
				return rewrap(t, env, p, nil)
			},
			want: ErrBadSignature, verify: true,
		},
		{
			name: "job details changed and re-signed",
			packet: func(t *testing.T, f fixture) []byte {
				env, p := unwrap(t, f.seal(t, f.job, f.keys))
				p["job"].(map[string]any)["building"] = "Elsewhere"
				return rewrap(t, env, p, f.hub)
			},
			want: ErrSealed,
		},
		{
			name:   "wrong identity",
			packet: func(t *testing.T, f fixture) []byte { return f.seal(t, f.job, f.keys) },
			id:     func(f fixture) identity.Identity { return f.other },
			want:   ErrNotForYou,
		},
		{
			name: "sealed to someone else under my key id",
			packet: func(t *testing.T, f fixture) []byte {
				b, err := Seal(f.job, f.keys, f.other.Public().Kex, f.hub)
				if err != nil {
					t.Fatal(err)
				}
				return b
			},
			want: ErrSealed,
		},
		{
			name:   "expired",
			packet: func(t *testing.T, f fixture) []byte { return f.seal(t, f.job, f.keys) },
			now:    t0.Add(15 * 24 * time.Hour),
			want:   ErrExpired, verify: true,
		},
		{
			name:   "expired at the instant",
			packet: func(t *testing.T, f fixture) []byte { return f.seal(t, f.job, f.keys) },
			now:    t0.Add(14 * 24 * time.Hour),
			want:   ErrExpired, verify: true,
		},
		{
			name:   "wrong hub key",
			packet: func(t *testing.T, f fixture) []byte { return f.seal(t, f.job, f.keys) },
			hubKey: func(f fixture) ed25519.PublicKey {
				return ed25519.NewKeyFromSeed(bytes.Repeat([]byte{8}, 32)).Public().(ed25519.PublicKey)
			},
			want: ErrBadSignature, verify: true,
		},
		{
			name: "unknown field, signed",
			packet: func(t *testing.T, f fixture) []byte {
				env, p := unwrap(t, f.seal(t, f.job, f.keys))
				p["job"].(map[string]any)["door_code"] = "1234"
				return rewrap(t, env, p, f.hub)
			},
			want: ErrMalformed, verify: true,
		},
		{
			name: "other version, signed",
			packet: func(t *testing.T, f fixture) []byte {
				env, p := unwrap(t, f.seal(t, f.job, f.keys))
				p["version"] = 2
				return rewrap(t, env, p, f.hub)
			},
			want: ErrMalformed, verify: true,
		},
		{
			name: "other cipher suite, signed",
			packet: func(t *testing.T, f fixture) []byte {
				env, p := unwrap(t, f.seal(t, f.job, f.keys))
				p["sealed"].(map[string]any)["aead"] = 3
				return rewrap(t, env, p, f.hub)
			},
			want: ErrMalformed, verify: true,
		},
		{
			name: "not canonical, signed",
			packet: func(t *testing.T, f fixture) []byte {
				env, _ := unwrap(t, f.seal(t, f.job, f.keys))
				body, _ := env.Body()
				body = append([]byte(" "), body...)
				env.Payload = base64.StdEncoding.EncodeToString(body)
				env.Signatures = []record.Signature{}
				_ = env.AddSignature(record.KeyID(f.hubPub()), ed25519.Sign(f.hub, record.PAE(PayloadType, body)))
				b, _ := json.Marshal(env)
				return b
			},
			want: ErrMalformed, verify: true,
		},
		{
			name: "record payload type",
			packet: func(t *testing.T, f fixture) []byte {
				env, _ := unwrap(t, f.seal(t, f.job, f.keys))
				env.PayloadType = record.PayloadType(record.KindVisit)
				b, _ := json.Marshal(env)
				return b
			},
			want: ErrMalformed, verify: true,
		},
		{
			name:   "not json",
			packet: func(t *testing.T, f fixture) []byte { return []byte("hello") },
			want:   ErrMalformed, verify: true,
		},
		{
			name:   "too large",
			packet: func(t *testing.T, f fixture) []byte { return make([]byte, MaxPacket+1) },
			want:   ErrMalformed, verify: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			b := tt.packet(t, f)
			hubKey := f.hubPub()
			if tt.hubKey != nil {
				hubKey = tt.hubKey(f)
			}
			id := f.installer
			if tt.id != nil {
				id = tt.id(f)
			}
			now := now
			if !tt.now.IsZero() {
				now = tt.now
			}
			_, verr := Verify(b, hubKey, now)
			switch {
			case tt.verify && !errors.Is(verr, tt.want):
				t.Errorf("Verify: %v, want %v", verr, tt.want)
			case !tt.verify && verr != nil:
				t.Errorf("Verify: %v, want success", verr)
			}
			job, keys, err := Open(b, hubKey, id, now)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Open: %v, want %v", err, tt.want)
			}
			if keys != nil || job.ID != "" {
				t.Errorf("Open returned keys or a job with an error")
			}
		})
	}
}

func TestKeysNeverPrinted(t *testing.T) {
	t.Parallel()
	keys := Keys{
		{Door: "lobby", Key: bytes.Repeat([]byte{0xAB}, KeySize)},
		{Door: "garage", Key: bytes.Repeat([]byte{0xCD}, KeySize)},
	}
	leaks := func(s string) bool {
		return strings.Contains(s, "171") || strings.Contains(strings.ToLower(s), "abab") ||
			strings.Contains(s, "0xab") || strings.Contains(s, "\xab") || strings.Contains(s, "q6ur")
	}
	type holder struct {
		Keys Keys
		One  DoorKey
	}
	h := holder{Keys: keys, One: keys[0]}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x", "%X", "%q", "%d"} {
		for _, v := range []any{keys, &keys, keys[0], &keys[0], h, &h, []DoorKey(keys)} {
			s := fmt.Sprintf(verb, v)
			if leaks(s) {
				t.Errorf("%s of %T printed key bytes: %s", verb, v, s)
			}
			if !strings.Contains(s, "[key]") {
				t.Errorf("%s of %T: %q has no [key]", verb, v, s)
			}
		}
	}
	if got := fmt.Sprintf("%v", keys); got != "[{lobby [key]} {garage [key]}]" {
		t.Errorf("%%v = %q", got)
	}
	if got := fmt.Sprintf("%#v", keys); got != `packet.Keys{packet.DoorKey{Door:"lobby", Key:[key]}, packet.DoorKey{Door:"garage", Key:[key]}}` {
		t.Errorf("%%#v = %q", got)
	}
	for _, v := range []any{keys, keys[0], h, []DoorKey(keys)} {
		b, err := json.Marshal(v)
		if !errors.Is(err, ErrMarshal) {
			t.Errorf("json.Marshal(%T) = %s, %v; want ErrMarshal", v, b, err)
		}
	}
}

func TestGenerateKeys(t *testing.T) {
	t.Parallel()
	keys, err := GenerateKeys([]string{"a", "b"}, seeded(3))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(keys.Doors(), []string{"a", "b"}) || len(keys[0].Key) != KeySize || bytes.Equal(keys[0].Key, keys[1].Key) {
		t.Errorf("keys %v not one distinct %d-byte key per door", keys, KeySize)
	}
	for _, doors := range [][]string{nil, {""}, {"a", "a"}, {strings.Repeat("x", MaxDoorName+1)}} {
		if _, err := GenerateKeys(doors, seeded(3)); err == nil {
			t.Errorf("GenerateKeys(%q) succeeded", doors)
		}
	}
}

func TestSealRefuses(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	tests := []struct {
		name   string
		change func(j *Job, k *Keys, kex *[]byte)
	}{
		{"doors differ from keys", func(j *Job, k *Keys, kex *[]byte) { j.Doors = []string{"lobby"} }},
		{"short key", func(j *Job, k *Keys, kex *[]byte) { (*k)[0].Key = (*k)[0].Key[:16] }},
		{"no id", func(j *Job, k *Keys, kex *[]byte) { j.ID = "" }},
		{"bad key id", func(j *Job, k *Keys, kex *[]byte) { j.InstallerKeyID = "abc" }},
		{"expires before issue", func(j *Job, k *Keys, kex *[]byte) { j.ExpiresAt = j.IssuedAt.Add(-time.Second) }},
		{"bad recipient key", func(j *Job, k *Keys, kex *[]byte) { *kex = (*kex)[:31] }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			job := f.job
			job.Doors = slices.Clone(job.Doors)
			keys := slices.Clone(f.keys)
			kex := f.installer.Public().Kex
			tt.change(&job, &keys, &kex)
			if _, err := Seal(job, keys, kex, f.hub); err == nil {
				t.Error("Seal succeeded")
			}
		})
	}
}

func TestSealNormalisesTimes(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	job := f.job
	zone := time.FixedZone("X", 2*3600)
	job.IssuedAt, job.ExpiresAt = job.IssuedAt.In(zone), job.ExpiresAt.In(zone)
	b := f.seal(t, job, f.keys)
	got, err := Verify(b, f.hubPub(), t0)
	if err != nil {
		t.Fatal(err)
	}
	if got.IssuedAt.Location() != time.UTC || !got.IssuedAt.Equal(t0) {
		t.Errorf("issued at %v, want %v in UTC", got.IssuedAt, t0)
	}
}

func TestInfoBindsJobAndInstaller(t *testing.T) {
	t.Parallel()
	k1, k2 := strings.Repeat("a", 64), strings.Repeat("b", 64)
	base := info(Job{ID: "job-1", InstallerKeyID: k1})
	if !bytes.HasPrefix(base, []byte(infoLabel+"\x00")) {
		t.Errorf("info %q does not start with the label", base)
	}
	for name, other := range map[string]Job{
		"other job":       {ID: "job-2", InstallerKeyID: k1},
		"other installer": {ID: "job-1", InstallerKeyID: k2},
		// Length prefixes keep the boundary between the two fields.
		"shifted boundary": {ID: "job-1" + k1[:1], InstallerKeyID: k1[1:]},
	} {
		if bytes.Equal(info(other), base) {
			t.Errorf("%s: same info %q", name, base)
		}
	}
}
