package consent_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/consent"
	"github.com/latchkey/latchkey/internal/record"
)

func TestSign(t *testing.T) {
	t.Parallel()
	c, _ := built(t, "en")
	otherKey := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{3}, ed25519.SeedSize))
	failing := countersignFunc(func(context.Context, []byte) ([]byte, error) { return nil, errString("unit not attached") })
	short := countersignFunc(func(context.Context, []byte) ([]byte, error) { return []byte{1, 2, 3}, nil })
	tests := []struct {
		name    string
		unit    consent.Countersigner
		unitPub ed25519.PublicKey
		c       func(*consent.Consent)
		want    error
	}{
		{"valid", &fakeUnit{key: unitKey}, unitPub, nil, nil},
		{"unit signs something else", &fakeUnit{key: unitKey, wrong: true}, unitPub, nil, consent.ErrSignatures},
		{"unit signs with another key", &fakeUnit{key: otherKey}, unitPub, nil, consent.ErrSignatures},
		{"unit key is the installer's", &fakeUnit{key: installerKey}, installerPub, nil, consent.ErrSignatures},
		{"unit answers garbage", short, unitPub, nil, consent.ErrSignatures},
		{"no unit key", &fakeUnit{key: unitKey}, nil, nil, consent.ErrSignatures},
		{"unit not attached", failing, unitPub, nil, errString("unit not attached")},
		{"invalid consent", &fakeUnit{key: unitKey}, unitPub, func(c *consent.Consent) { c.Doors = nil }, consent.ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := c
			c.Doors = append([]consent.Door(nil), c.Doors...)
			if tt.c != nil {
				tt.c(&c)
			}
			env, err := consent.Sign(context.Background(), c, installerKey, tt.unit, tt.unitPub)
			if tt.want != nil {
				if !errors.Is(err, tt.want) {
					t.Fatalf("Sign = %+v, %v; want %v", env, err, tt.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(env.Signatures) != 2 || env.Signatures[0].KeyID != record.KeyID(installerPub) || env.Signatures[1].KeyID != record.KeyID(unitPub) {
				t.Fatalf("signatures = %+v", env.Signatures)
			}
			pae, _ := env.PAE()
			if got := tt.unit.(*fakeUnit).got; !bytes.Equal(got, pae) {
				t.Errorf("unit was asked to sign %q, want the PAE %q", got, pae)
			}
			if !strings.HasPrefix(string(pae), "DSSEv1 37 application/vnd.latchkey.consent+json ") {
				t.Errorf("PAE starts %q", pae[:60])
			}
		})
	}
}

type countersignFunc func(context.Context, []byte) ([]byte, error)

func (f countersignFunc) Countersign(ctx context.Context, msg []byte) ([]byte, error) {
	return f(ctx, msg)
}

// sealBoth signs body as a consent with both test keys, as a forger
// holding both keys (or a buggy build) could: Verify must still refuse a
// bad payload.
func sealBoth(t *testing.T, payloadType string, body []byte, keys ...ed25519.PrivateKey) []byte {
	t.Helper()
	env := record.Envelope{PayloadType: payloadType, Payload: base64.StdEncoding.EncodeToString(body), Signatures: []record.Signature{}}
	for _, k := range keys {
		if err := env.Countersign(k, record.KeyID(k.Public().(ed25519.PublicKey))); err != nil {
			t.Fatal(err)
		}
	}
	b, err := json.Marshal(env)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestVerify(t *testing.T) {
	t.Parallel()
	wire, env, c, _ := signed(t)
	body, _ := env.Body()
	third := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{3}, ed25519.SeedSize))
	withEnv := func(f func(*record.Envelope)) []byte {
		e := env
		e.Signatures = append([]record.Signature(nil), env.Signatures...)
		f(&e)
		b, _ := json.Marshal(e)
		return b
	}
	tampered := bytes.Replace(body, []byte(`"retention_days":30`), []byte(`"retention_days":90`), 1)
	if bytes.Equal(tampered, body) {
		t.Fatal("tamper did not change the payload")
	}
	extra := bytes.Replace(body, []byte(`{"building"`), []byte(`{"backdoor":true,"building"`), 1)
	upper := bytes.Replace(body, []byte(`"building"`), []byte(`"Building"`), 1)
	spaced := bytes.Replace(body, []byte(`"version":1`), []byte(`"version": 1`), 1)
	badTime := bytes.Replace(body, []byte(`"created_at":"2026-11-25T15:04:05Z"`), []byte(`"created_at":"2026-11-25T15:04:05+00:00"`), 1)
	var m map[string]any
	_ = json.Unmarshal(body, &m)
	delete(m, "revoke")
	missing, _ := record.Canonical(m)
	m["revoke"], m["who"] = "x", "anyone"
	anyone, _ := record.Canonical(m)
	// Terms of some other text, and a statement the terms do not ask for,
	// each signed by both keys.
	var zeros, otherIntent map[string]any
	_ = json.Unmarshal(body, &zeros)
	zeros["terms"].(map[string]any)["sha256"] = strings.Repeat("0", 64)
	zeroTerms, _ := record.Canonical(zeros)
	_ = json.Unmarshal(body, &otherIntent)
	otherIntent["signer"].(map[string]any)["intent"] = "I agree to whatever."
	whatever, _ := record.Canonical(otherIntent)

	tests := []struct {
		name        string
		in          []byte
		inst, unitK ed25519.PublicKey
		want        error
	}{
		{"valid", wire, installerPub, unitPub, nil},
		{"tampered payload", withEnv(func(e *record.Envelope) { e.Payload = base64.StdEncoding.EncodeToString(tampered) }), installerPub, unitPub, consent.ErrSignatures},
		{"missing unit signature", withEnv(func(e *record.Envelope) { e.Signatures = e.Signatures[:1] }), installerPub, unitPub, consent.ErrSignatures},
		{"missing installer signature", withEnv(func(e *record.Envelope) { e.Signatures = e.Signatures[1:] }), installerPub, unitPub, consent.ErrSignatures},
		{"unit signature swapped for installer's", withEnv(func(e *record.Envelope) { e.Signatures[1].Sig = e.Signatures[0].Sig }), installerPub, unitPub, consent.ErrSignatures},
		{"signatures in the other order", withEnv(func(e *record.Envelope) { e.Signatures[0], e.Signatures[1] = e.Signatures[1], e.Signatures[0] }), installerPub, unitPub, consent.ErrSignatures},
		{"same key twice", wire, installerPub, installerPub, consent.ErrSignatures},
		{"installer signed twice", withEnv(func(e *record.Envelope) { e.Signatures[1] = e.Signatures[0] }), installerPub, unitPub, consent.ErrSignatures},
		{"wrong unit key", wire, installerPub, third.Public().(ed25519.PublicKey), consent.ErrSignatures},
		{"no keys", wire, nil, nil, consent.ErrSignatures},
		{"third signature", sealBoth(t, consent.PayloadType, body, installerKey, unitKey, third), installerPub, unitPub, consent.ErrSignatures},
		{"unsigned", sealBoth(t, consent.PayloadType, body), installerPub, unitPub, consent.ErrSignatures},
		{"unknown payload type", withEnv(func(e *record.Envelope) { e.PayloadType = "application/vnd.latchkey.visit+json" }), installerPub, unitPub, consent.ErrPayloadType},
		{"payload type in another case", withEnv(func(e *record.Envelope) { e.PayloadType = "application/vnd.latchkey.Consent+json" }), installerPub, unitPub, consent.ErrPayloadType},
		{"other kind signed by both", sealBoth(t, record.PayloadType(record.KindRevocation), body, installerKey, unitKey), installerPub, unitPub, consent.ErrPayloadType},
		{"extra payload field", sealBoth(t, consent.PayloadType, extra, installerKey, unitKey), installerPub, unitPub, consent.ErrMalformed},
		{"field in another case", sealBoth(t, consent.PayloadType, upper, installerKey, unitKey), installerPub, unitPub, consent.ErrMalformed},
		{"missing field", sealBoth(t, consent.PayloadType, missing, installerKey, unitKey), installerPub, unitPub, consent.ErrMalformed},
		{"not canonical", sealBoth(t, consent.PayloadType, spaced, installerKey, unitKey), installerPub, unitPub, consent.ErrMalformed},
		{"time with +00:00", sealBoth(t, consent.PayloadType, badTime, installerKey, unitKey), installerPub, unitPub, consent.ErrMalformed},
		{"fails check", sealBoth(t, consent.PayloadType, anyone, installerKey, unitKey), installerPub, unitPub, consent.ErrMalformed},
		{"terms hash of another text", sealBoth(t, consent.PayloadType, zeroTerms, installerKey, unitKey), installerPub, unitPub, consent.ErrMalformed},
		{"another statement of intent", sealBoth(t, consent.PayloadType, whatever, installerKey, unitKey), installerPub, unitPub, consent.ErrMalformed},
		{"not json", []byte("consent"), installerPub, unitPub, consent.ErrMalformed},
		{"unknown envelope field", bytes.Replace(wire, []byte(`{"payloadType"`), []byte(`{"x":1,"payloadType"`), 1), installerPub, unitPub, consent.ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := consent.Verify(tt.in, tt.inst, tt.unitK)
			if tt.want != nil {
				if !errors.Is(err, tt.want) {
					t.Fatalf("Verify = %+v, %v; want %v", got.Header, err, tt.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, c) {
				t.Errorf("Verify =\n%+v\nwant\n%+v", got, c)
			}
		})
	}
}

// TestVerifySignaturesFirst shows the payload is not read before both
// signatures verify: garbage signed by one key only is a signature error,
// not a parse error.
func TestVerifySignaturesFirst(t *testing.T) {
	t.Parallel()
	in := sealBoth(t, consent.PayloadType, []byte("not json at all"), installerKey)
	if _, err := consent.Verify(in, installerPub, unitPub); !errors.Is(err, consent.ErrSignatures) || errors.Is(err, consent.ErrMalformed) {
		t.Fatalf("Verify = %v, want ErrSignatures only", err)
	}
}
