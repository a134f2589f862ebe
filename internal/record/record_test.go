package record_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/device"
	"github.com/latchkey/latchkey/internal/record"
)

// visit is a stand-in record; its fields are declared out of key order so
// canonicalisation has something to sort.
type visit struct {
	Outcome  string   `json:"outcome"`
	Building string   `json:"building"`
	Score    float64  `json:"score"`
	Notes    string   `json:"notes"`
	Tags     []string `json:"tags"`
}

var sample = visit{Outcome: "follow-up", Building: "12 Rue de l'Été <B&B>", Score: 0.5, Notes: "line\u2028sep", Tags: []string{"gift-card"}}

func newKey(t *testing.T, seed byte) (ed25519.PrivateKey, string) {
	t.Helper()
	key := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{seed}, ed25519.SeedSize))
	return key, record.KeyID(key.Public().(ed25519.PublicKey))
}

func keyring(keys ...ed25519.PrivateKey) map[string]ed25519.PublicKey {
	m := map[string]ed25519.PublicKey{}
	for _, k := range keys {
		pub := k.Public().(ed25519.PublicKey)
		m[record.KeyID(pub)] = pub
	}
	return m
}

func TestKinds(t *testing.T) {
	t.Parallel()
	want := []string{"visit", "survey", "pairing", "receipt", "consent", "notice", "revocation", "decommission", "install-report"}
	var got []string
	for _, k := range record.Kinds() {
		got = append(got, string(k))
		typ := record.PayloadType(k)
		if typ != "application/vnd.latchkey."+string(k)+"+json" {
			t.Errorf("PayloadType(%s) = %q", k, typ)
		}
		if back, err := record.KindOf(typ); err != nil || back != k {
			t.Errorf("KindOf(%q) = %q, %v", typ, back, err)
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("Kinds() = %v, want %v", got, want)
	}
	for _, typ := range []string{"", "application/json", "application/vnd.latchkey.+json", "application/vnd.latchkey.visit", "application/vnd.latchkey.Visit+json", "application/vnd.latchkey.bogus+json", "application/vnd.latchkey.visit+json "} {
		if _, err := record.KindOf(typ); !errors.Is(err, record.ErrPayloadType) {
			t.Errorf("KindOf(%q) = %v, want ErrPayloadType", typ, err)
		}
	}
}

func TestKeyID(t *testing.T) {
	t.Parallel()
	key, id := newKey(t, 1)
	sum := sha256.Sum256(key.Public().(ed25519.PublicKey))
	if id != hex.EncodeToString(sum[:]) || len(id) != 64 {
		t.Errorf("KeyID = %q, want hex SHA-256 of the public key", id)
	}
	if _, other := newKey(t, 2); other == id {
		t.Error("two keys share an id")
	}
}

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	for _, k := range record.Kinds() {
		t.Run(string(k), func(t *testing.T) {
			t.Parallel()
			key, id := newKey(t, 1)
			env, err := record.Sign(k, sample, key, id)
			if err != nil {
				t.Fatal(err)
			}
			wire, err := json.Marshal(env)
			if err != nil {
				t.Fatal(err)
			}
			got, err := record.Decode(wire)
			if err != nil {
				t.Fatalf("Decode(%s): %v", wire, err)
			}
			ids, err := record.Verify(got, keyring(key))
			if err != nil || !slices.Equal(ids, []string{id}) {
				t.Fatalf("Verify = %v, %v; want [%s]", ids, err, id)
			}
			if kind, err := got.Kind(); err != nil || kind != k {
				t.Errorf("Kind() = %q, %v", kind, err)
			}
			body, err := got.Body()
			if err != nil {
				t.Fatal(err)
			}
			var back visit
			if err := json.Unmarshal(body, &back); err != nil || !equalVisit(back, sample) {
				t.Errorf("body %s decodes to %+v, %v", body, back, err)
			}
			const want = `{"building":"12 Rue de l'Été <B&B>","notes":"line` + "\u2028" + `sep","outcome":"follow-up","score":0.5,"tags":["gift-card"]}`
			if string(body) != want {
				t.Errorf("body\n%s\nwant\n%s", body, want)
			}
		})
	}
}

func equalVisit(a, b visit) bool {
	return a.Outcome == b.Outcome && a.Building == b.Building && a.Score == b.Score && a.Notes == b.Notes && slices.Equal(a.Tags, b.Tags)
}

func TestSignRefuses(t *testing.T) {
	t.Parallel()
	key, id := newKey(t, 1)
	tests := []struct {
		name string
		kind record.Kind
		v    any
		key  ed25519.PrivateKey
		id   string
	}{
		{"unknown kind", "bogus", sample, key, id},
		{"not an object", record.KindVisit, []int{1}, key, id},
		{"NaN", record.KindVisit, map[string]float64{"x": math.NaN()}, key, id},
		{"short key", record.KindVisit, sample, key[:10], id},
		{"no key id", record.KindVisit, sample, key, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if env, err := record.Sign(tt.kind, tt.v, tt.key, tt.id); err == nil {
				t.Errorf("Sign = %+v, want an error", env)
			}
		})
	}
}

// resign replaces the envelope's signatures with key's over its current
// type and payload, so a test can reach checks behind the signature.
func resign(t *testing.T, env *record.Envelope, key ed25519.PrivateKey, id string) {
	t.Helper()
	env.Signatures = nil
	if err := env.Countersign(key, id); err != nil {
		t.Fatal(err)
	}
}

func TestVerifyRefuses(t *testing.T) {
	t.Parallel()
	key, id := newKey(t, 1)
	other, otherID := newKey(t, 2)
	b64 := base64.StdEncoding.EncodeToString
	tests := []struct {
		name   string
		change func(t *testing.T, env *record.Envelope)
		keys   map[string]ed25519.PublicKey
		want   error
	}{
		{"payload tampered", func(t *testing.T, env *record.Envelope) {
			env.Payload = b64([]byte(`{"building":"elsewhere","notes":"","outcome":"won","score":0.5,"tags":null}`))
		}, nil, record.ErrBadSignature},
		{"payload type changed to another kind", func(t *testing.T, env *record.Envelope) {
			env.PayloadType = record.PayloadType(record.KindConsent)
		}, nil, record.ErrBadSignature},
		{"payload type not latchkey", func(t *testing.T, env *record.Envelope) {
			env.PayloadType = "application/json"
		}, nil, record.ErrPayloadType},
		{"payload type not latchkey, re-signed", func(t *testing.T, env *record.Envelope) {
			env.PayloadType = "application/vnd.latchkey.bogus+json"
			resign(t, env, key, id)
		}, nil, record.ErrPayloadType},
		{"signature flipped", func(t *testing.T, env *record.Envelope) {
			sig, _ := base64.StdEncoding.DecodeString(env.Signatures[0].Sig)
			sig[5] ^= 1
			env.Signatures[0].Sig = b64(sig)
		}, nil, record.ErrBadSignature},
		{"signature truncated", func(t *testing.T, env *record.Envelope) {
			sig, _ := base64.StdEncoding.DecodeString(env.Signatures[0].Sig)
			env.Signatures[0].Sig = b64(sig[:63])
		}, nil, record.ErrBadSignature},
		{"signature not base64", func(t *testing.T, env *record.Envelope) {
			env.Signatures[0].Sig = "@@@@"
		}, nil, record.ErrBadSignature},
		{"signature by another key under the signer's id", func(t *testing.T, env *record.Envelope) {
			resign(t, env, other, id)
		}, nil, record.ErrBadSignature},
		{"good countersignature, forged one from a known key", func(t *testing.T, env *record.Envelope) {
			if err := env.AddSignature(otherID, make([]byte, ed25519.SignatureSize)); err != nil {
				t.Fatal(err)
			}
		}, keyring(key, other), record.ErrBadSignature},
		{"no signatures", func(t *testing.T, env *record.Envelope) {
			env.Signatures = nil
		}, nil, record.ErrUnsigned},
		{"unknown signer", func(t *testing.T, env *record.Envelope) {}, keyring(other), record.ErrUnknownKey},
		{"no keys", func(t *testing.T, env *record.Envelope) {}, map[string]ed25519.PublicKey{}, record.ErrUnknownKey},
		{"key id and key do not match", func(t *testing.T, env *record.Envelope) {},
			map[string]ed25519.PublicKey{id: other.Public().(ed25519.PublicKey)}, record.ErrBadSignature},
		{"same key twice", func(t *testing.T, env *record.Envelope) {
			env.Signatures = append(env.Signatures, env.Signatures[0])
		}, nil, record.ErrMalformed},
		{"payload not base64", func(t *testing.T, env *record.Envelope) {
			env.Payload = "not base64!"
		}, nil, record.ErrMalformed},
		{"payload base64 with a line break", func(t *testing.T, env *record.Envelope) {
			env.Payload = env.Payload[:8] + "\n" + env.Payload[8:]
		}, nil, record.ErrMalformed},
		{"payload re-encoded with whitespace", func(t *testing.T, env *record.Envelope) {
			body, _ := env.Body()
			var pretty bytes.Buffer
			if err := json.Indent(&pretty, body, "", "  "); err != nil {
				t.Fatal(err)
			}
			env.Payload = b64(pretty.Bytes())
		}, nil, record.ErrNotCanonical},
		{"payload re-encoded in another key order, re-signed", func(t *testing.T, env *record.Envelope) {
			// Same meaning, different bytes, validly signed: still refused,
			// since a record must have exactly one encoding.
			env.Payload = b64([]byte(`{"outcome":"follow-up","building":"x","score":0.5,"notes":"","tags":[]}`))
			resign(t, env, key, id)
		}, nil, record.ErrNotCanonical},
		{"payload number re-encoded, re-signed", func(t *testing.T, env *record.Envelope) {
			env.Payload = b64([]byte(`{"building":"x","notes":"","outcome":"won","score":5e-1,"tags":[]}`))
			resign(t, env, key, id)
		}, nil, record.ErrNotCanonical},
		{"payload escapes re-encoded, re-signed", func(t *testing.T, env *record.Envelope) {
			env.Payload = b64([]byte(`{"building":"\u0078","notes":"","outcome":"won","score":0.5,"tags":[]}`))
			resign(t, env, key, id)
		}, nil, record.ErrNotCanonical},
		{"payload not an object, re-signed", func(t *testing.T, env *record.Envelope) {
			env.Payload = b64([]byte(`[1,2]`))
			resign(t, env, key, id)
		}, nil, record.ErrNotCanonical},
		{"payload duplicate key, re-signed", func(t *testing.T, env *record.Envelope) {
			env.Payload = b64([]byte(`{"a":1,"a":2}`))
			resign(t, env, key, id)
		}, nil, record.ErrNotCanonical},
		{"payload not JSON, re-signed", func(t *testing.T, env *record.Envelope) {
			env.Payload = b64([]byte(`{"a":`))
			resign(t, env, key, id)
		}, nil, record.ErrNotCanonical},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			env, err := record.Sign(record.KindVisit, sample, key, id)
			if err != nil {
				t.Fatal(err)
			}
			tt.change(t, &env)
			keys := tt.keys
			if keys == nil {
				keys = keyring(key)
			}
			ids, err := record.Verify(env, keys)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Verify = %v, %v; want %v", ids, err, tt.want)
			}
			if ids != nil {
				t.Errorf("Verify returned ids %v with an error", ids)
			}
		})
	}
}

func TestCountersignature(t *testing.T) {
	t.Parallel()
	installer, installerID := newKey(t, 1)
	unit, unitID := newKey(t, 2)
	env, err := record.Sign(record.KindConsent, sample, installer, installerID)
	if err != nil {
		t.Fatal(err)
	}
	// The unit signs the PAE it is sent, as device.Unit.Countersign does.
	msg, err := env.PAE()
	if err != nil {
		t.Fatal(err)
	}
	if err := device.CheckPAE(msg); err != nil {
		t.Fatalf("the unit would refuse to countersign: %v", err)
	}
	if err := env.AddSignature(unitID, ed25519.Sign(unit, msg)); err != nil {
		t.Fatal(err)
	}
	if err := env.AddSignature(unitID, ed25519.Sign(unit, msg)); err == nil {
		t.Error("AddSignature accepted a second signature by the same key")
	}
	if err := env.AddSignature("x", []byte("short")); err == nil {
		t.Error("AddSignature accepted a signature of the wrong size")
	}
	wire, err := json.Marshal(env)
	if err != nil {
		t.Fatal(err)
	}
	env, err = record.Decode(wire)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		keys map[string]ed25519.PublicKey
		want []string
		err  error
	}{
		{"both keys", keyring(installer, unit), []string{installerID, unitID}, nil},
		{"installer only", keyring(installer), []string{installerID}, nil},
		{"unit only", keyring(unit), []string{unitID}, nil},
		{"neither", keyring(), nil, record.ErrUnknownKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ids, err := record.Verify(env, tt.keys)
			if !errors.Is(err, tt.err) || !slices.Equal(ids, tt.want) {
				t.Errorf("Verify = %v, %v; want %v, %v", ids, err, tt.want, tt.err)
			}
		})
	}
	// A countersignature over another record does not carry over.
	forged := env
	forged.Signatures = slices.Clone(env.Signatures)
	forged.Payload = base64.StdEncoding.EncodeToString([]byte(`{"a":1}`))
	if _, err := record.Verify(forged, keyring(unit)); !errors.Is(err, record.ErrBadSignature) {
		t.Errorf("Verify of a moved countersignature = %v, want ErrBadSignature", err)
	}
}

// TestPAE checks the encoding byte for byte against the DSSE spec's own
// example and its formula, and that the unit's countersign gate accepts
// what this package produces for every kind.
func TestPAE(t *testing.T) {
	t.Parallel()
	// DSSE protocol.md, "Test vectors".
	if got, want := string(record.PAE("http://example.com/HelloWorld", []byte("hello world"))), "DSSEv1 29 http://example.com/HelloWorld 11 hello world"; got != want {
		t.Errorf("PAE = %q, want %q", got, want)
	}
	if got, want := string(record.PAE("", nil)), "DSSEv1 0  0 "; got != want {
		t.Errorf("PAE of empties = %q, want %q", got, want)
	}
	key, id := newKey(t, 1)
	bodies := []any{
		sample,
		map[string]string{},
		map[string]string{"text": strings.Repeat("é€😀 ", 3000)}, // multi-byte: lengths count bytes
	}
	for _, k := range record.Kinds() {
		for i, v := range bodies {
			t.Run(fmt.Sprintf("%s/%d", k, i), func(t *testing.T) {
				t.Parallel()
				env, err := record.Sign(k, v, key, id)
				if err != nil {
					t.Fatal(err)
				}
				body, err := env.Body()
				if err != nil {
					t.Fatal(err)
				}
				typ := record.PayloadType(k)
				want := fmt.Sprintf("DSSEv1 %d %s %d %s", len(typ), typ, len(body), body)
				got, err := env.PAE()
				if err != nil {
					t.Fatal(err)
				}
				if string(got) != want {
					t.Errorf("PAE =\n%q\nwant\n%q", got, want)
				}
				if err := device.CheckPAE(got); err != nil {
					t.Errorf("device.CheckPAE refused it: %v", err)
				}
				sig, _ := base64.StdEncoding.DecodeString(env.Signatures[0].Sig)
				if !ed25519.Verify(key.Public().(ed25519.PublicKey), []byte(want), sig) {
					t.Error("the signature is not over the PAE")
				}
			})
		}
	}
	// The envelope's own PAE must fail for a broken payload, not encode garbage.
	if _, err := (record.Envelope{PayloadType: record.PayloadType(record.KindVisit), Payload: "%%"}).PAE(); !errors.Is(err, record.ErrMalformed) {
		t.Errorf("PAE of a bad payload = %v, want ErrMalformed", err)
	}
}
