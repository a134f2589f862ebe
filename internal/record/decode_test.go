package record_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/record"
)

// validEnvelope is a signed visit in its wire form, with the pieces tests
// splice into malformed variants.
func validEnvelope(t testing.TB) (wire []byte, env record.Envelope) {
	t.Helper()
	key := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{1}, ed25519.SeedSize))
	env, err := record.Sign(record.KindVisit, map[string]string{"building": "B1", "outcome": "won"}, key, record.KeyID(key.Public().(ed25519.PublicKey)))
	if err != nil {
		t.Fatal(err)
	}
	wire, err = json.Marshal(env)
	if err != nil {
		t.Fatal(err)
	}
	return wire, env
}

func TestDecode(t *testing.T) {
	t.Parallel()
	wire, env := validEnvelope(t)
	typ, payload, keyid, sig := env.PayloadType, env.Payload, env.Signatures[0].KeyID, env.Signatures[0].Sig
	obj := func(members ...string) string { return "{" + strings.Join(members, ",") + "}" }
	q := func(name, value string) string { return fmt.Sprintf("%q:%q", name, value) }
	sigs := func(s ...string) string { return `"signatures":[` + strings.Join(s, ",") + "]" }
	goodSig := obj(q("keyid", keyid), q("sig", sig))
	tests := []struct {
		name string
		in   string
		ok   bool
	}{
		{"valid", string(wire), true},
		{"valid, other field order and spacing", " {\n" + sigs(goodSig) + " , " + q("payload", payload) + ",\t" + q("payloadType", typ) + "}\n", true},
		{"valid, unsigned", obj(q("payloadType", typ), q("payload", payload), sigs()), true},
		{"empty", "", false},
		{"not an object", `[1]`, false},
		{"null", `null`, false},
		{"truncated", string(wire[:len(wire)-1]), false},
		{"trailing data", string(wire) + "{}", false},
		{"trailing garbage", string(wire) + "x", false},
		{"unknown field", obj(q("payloadType", typ), q("payload", payload), sigs(goodSig), q("extra", "1")), false},
		{"field in another case", obj(q("PayloadType", typ), q("payload", payload), sigs(goodSig)), false},
		{"duplicate payload", obj(q("payloadType", typ), q("payload", payload), q("payload", payload), sigs(goodSig)), false},
		{"missing payload", obj(q("payloadType", typ), sigs(goodSig)), false},
		{"missing payloadType", obj(q("payload", payload), sigs(goodSig)), false},
		{"missing signatures", obj(q("payloadType", typ), q("payload", payload)), false},
		{"signatures null", obj(q("payloadType", typ), q("payload", payload), `"signatures":null`), false},
		{"signatures an object", obj(q("payloadType", typ), q("payload", payload), `"signatures":{}`), false},
		{"empty payload type", obj(q("payloadType", ""), q("payload", payload), sigs(goodSig)), false},
		{"payload type a number", obj(`"payloadType":1`, q("payload", payload), sigs(goodSig)), false},
		{"empty payload", obj(q("payloadType", typ), q("payload", ""), sigs(goodSig)), false},
		{"payload not base64", obj(q("payloadType", typ), q("payload", "a!b="), sigs(goodSig)), false},
		{"payload url-safe base64", obj(q("payloadType", typ), q("payload", "-_-_"), sigs(goodSig)), false},
		{"payload unpadded", obj(q("payloadType", typ), q("payload", "e30"), sigs(goodSig)), false},
		{"payload with a line break", obj(q("payloadType", typ), q("payload", payload[:4]+"\n"+payload[4:]), sigs(goodSig)), false},
		{"payload with stray bits", obj(q("payloadType", typ), q("payload", "YR=="), sigs(goodSig)), false},
		{"signature missing sig", obj(q("payloadType", typ), q("payload", payload), sigs(obj(q("keyid", keyid)))), false},
		{"signature missing keyid", obj(q("payloadType", typ), q("payload", payload), sigs(obj(q("sig", sig)))), false},
		{"signature unknown field", obj(q("payloadType", typ), q("payload", payload), sigs(obj(q("keyid", keyid), q("sig", sig), q("cert", "")))), false},
		{"signature duplicate keyid", obj(q("payloadType", typ), q("payload", payload), sigs(obj(q("keyid", keyid), q("keyid", "x"), q("sig", sig)))), false},
		{"signature not base64", obj(q("payloadType", typ), q("payload", payload), sigs(obj(q("keyid", keyid), q("sig", "***")))), false},
		{"signature a string", obj(q("payloadType", typ), q("payload", payload), sigs(`"x"`)), false},
		{"too many signatures", obj(q("payloadType", typ), q("payload", payload), sigs(strings.Split(strings.Repeat(goodSig+"\x00", record.MaxSignatures+1), "\x00")[:record.MaxSignatures+1]...)), false},
		{"too large", obj(q("payloadType", typ), q("payload", strings.Repeat("AAAA", record.MaxEnvelope/4)), sigs(goodSig)), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := record.Decode([]byte(tt.in))
			if !tt.ok {
				if !errors.Is(err, record.ErrMalformed) {
					t.Fatalf("Decode = %+v, %v; want ErrMalformed", got, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if got.PayloadType != typ || got.Payload != payload {
				t.Errorf("Decode = %+v", got)
			}
		})
	}
}

func TestDecodeRoundTrip(t *testing.T) {
	t.Parallel()
	wire, env := validEnvelope(t)
	got, err := record.Decode(wire)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, env) {
		t.Errorf("Decode(Marshal(env)) = %+v, want %+v", got, env)
	}
}

// FuzzDecode feeds the intake decoder arbitrary bytes: it must not panic,
// what it accepts must survive re-encoding unchanged, and Verify must give
// an answer (not a panic) for it.
func FuzzDecode(f *testing.F) {
	_, env := validEnvelope(f)
	pub := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{1}, ed25519.SeedSize)).Public().(ed25519.PublicKey)
	keys := map[string]ed25519.PublicKey{record.KeyID(pub): pub}
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := record.Decode(b)
		if err != nil {
			if !errors.Is(err, record.ErrMalformed) {
				t.Fatalf("Decode error %v does not wrap ErrMalformed", err)
			}
			return
		}
		wire, err := json.Marshal(got)
		if err != nil {
			t.Fatal(err)
		}
		again, err := record.Decode(wire)
		if err != nil || !reflect.DeepEqual(again, got) {
			t.Fatalf("re-encoded envelope decodes to %+v, %v; want %+v", again, err, got)
		}
		ids, err := record.Verify(got, keys)
		if err == nil && (len(ids) != 1 || got.Payload != env.Payload || got.PayloadType != env.PayloadType) {
			t.Fatalf("Verify accepted %+v for %v", got, ids)
		}
	})
}

// fuzzSeeds are the committed seed corpus of FuzzDecode.
func fuzzSeeds(t *testing.T) map[string][]byte {
	wire, env := validEnvelope(t)
	typ, payload, s := env.PayloadType, env.Payload, env.Signatures[0]
	return map[string][]byte{
		"valid":         wire,
		"unsigned":      fmt.Appendf(nil, `{"payloadType":%q,"payload":%q,"signatures":[]}`, typ, payload),
		"duplicate":     fmt.Appendf(nil, `{"payloadType":%q,"payload":%q,"payload":"e30=","signatures":[]}`, typ, payload),
		"case":          fmt.Appendf(nil, `{"PAYLOADTYPE":%q,"payload":%q,"signatures":[]}`, typ, payload),
		"unknown_field": fmt.Appendf(nil, `{"payloadType":%q,"payload":%q,"signatures":[{"keyid":%q,"sig":%q,"x":1}]}`, typ, payload, s.KeyID, s.Sig),
		"bad_base64":    fmt.Appendf(nil, `{"payloadType":%q,"payload":"e30\n=","signatures":[]}`, typ),
		"not_latchkey":  fmt.Appendf(nil, `{"payloadType":"application/json","payload":"e30=","signatures":[{"keyid":%q,"sig":%q}]}`, s.KeyID, s.Sig),
		"trailing":      append(bytes.Clone(wire), " []"...),
		"nested":        []byte(strings.Repeat("[", 1000)),
		"empty":         {},
	}
}

func TestWriteFuzzSeeds(t *testing.T) {
	if os.Getenv("LATCHKEY_WRITE_SEEDS") == "" {
		t.Skip("set LATCHKEY_WRITE_SEEDS=1 to rewrite testdata/fuzz seeds")
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzDecode")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, b := range fuzzSeeds(t) {
		data := fmt.Appendf(nil, "go test fuzz v1\n[]byte(%q)\n", b)
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
