package consent_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/latchkey/latchkey/internal/consent"
	"github.com/latchkey/latchkey/internal/record"
)

// FuzzVerify feeds Verify arbitrary envelopes: it must not panic, every
// refusal must wrap one of its three sentinels, and what it accepts must be
// a checked consent whose canonical encoding is the signed payload.
func FuzzVerify(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := consent.Verify(b, installerPub, unitPub)
		if err != nil {
			if !errors.Is(err, consent.ErrMalformed) && !errors.Is(err, consent.ErrPayloadType) && !errors.Is(err, consent.ErrSignatures) {
				t.Fatalf("Verify error %v wraps no sentinel", err)
			}
			return
		}
		if err := c.Check(); err != nil {
			t.Fatalf("Verify accepted a consent that fails Check: %v", err)
		}
		env, err := record.Decode(b)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := env.Body()
		again, err := c.Canonical()
		if err != nil || !bytes.Equal(again, body) {
			t.Fatalf("accepted payload is not the consent's canonical form:\n%s\n%s", body, again)
		}
	})
}

// fuzzSeeds are the committed seed corpus of FuzzVerify.
func fuzzSeeds(t *testing.T) map[string][]byte {
	wire, env, _, _ := signed(t)
	body, _ := env.Body()
	s0, s1 := env.Signatures[0], env.Signatures[1]
	encode := func(e record.Envelope) []byte { b, _ := json.Marshal(e); return b }
	oneSig := env
	oneSig.Signatures = []record.Signature{s0}
	swapped := env
	swapped.Signatures = []record.Signature{s1, s0}
	otherType := env
	otherType.PayloadType = "application/vnd.latchkey.visit+json"
	tampered := env
	tampered.Payload = base64.StdEncoding.EncodeToString(bytes.Replace(body, []byte(`"retention_days":30`), []byte(`"retention_days":90`), 1))
	extra := bytes.Replace(body, []byte(`{"building"`), []byte(`{"backdoor":true,"building"`), 1)
	return map[string][]byte{
		"valid":      wire,
		"swapped":    encode(swapped),
		"one_sig":    encode(oneSig),
		"other_type": encode(otherType),
		"tampered":   encode(tampered),
		"extra":      sealBoth(t, consent.PayloadType, extra, installerKey, unitKey),
		"not_json":   sealBoth(t, consent.PayloadType, []byte("{"), installerKey, unitKey),
		"empty":      {},
		"garbage":    fmt.Appendf(nil, `{"payloadType":%q,"payload":"e30=","signatures":[{"keyid":%q,"sig":%q}]}`, consent.PayloadType, s0.KeyID, s0.Sig),
	}
}

func TestWriteFuzzSeeds(t *testing.T) {
	if os.Getenv("LATCHKEY_WRITE_SEEDS") == "" {
		t.Skip("set LATCHKEY_WRITE_SEEDS=1 to rewrite testdata/fuzz seeds")
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzVerify")
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

// TestFuzzSeeds checks the committed seeds still say what they were made
// to say: only "valid" verifies. A change to the encoding that breaks them
// shows here, not silently in a corpus that no longer reaches Parse.
func TestFuzzSeeds(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob(filepath.Join("testdata", "fuzz", "FuzzVerify", "*"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no seed corpus (%v): run LATCHKEY_WRITE_SEEDS=1 go test -run TestWriteFuzzSeeds", err)
	}
	for name, b := range fuzzSeeds(t) {
		_, err := consent.Verify(b, installerPub, unitPub)
		if (name == "valid") != (err == nil) {
			t.Errorf("seed %s: Verify = %v", name, err)
		}
	}
}
