package hub_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/hub"
	"github.com/latchkey/latchkey/internal/hubapi"
	"github.com/latchkey/latchkey/internal/record"
)

// fuzzKey is the signing key of the one user FuzzIntakeDecode knows, a
// sales user; fixed so the committed seeds stay valid.
func fuzzKey() ed25519.PrivateKey {
	return ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize))
}

func fuzzUser() hub.User {
	pub := fuzzKey().Public().(ed25519.PublicKey)
	return hub.User{ID: "u1", Name: "sam", Role: hubapi.RoleSales, SignKey: pub, KeyID: record.KeyID(pub)}
}

// FuzzIntakeDecode feeds the intake decoder (a batch body, decoded and
// checked record by record against one known user, without storage)
// arbitrary bytes. It must not panic; a body it refuses whole is
// ErrBadBatch; otherwise every record gets exactly one result, either a
// refusal with a known code or acceptance, and only a record that really
// verifies with the user's key, is unexpired and has a sound header may be
// accepted, with the digest of its payload.
func FuzzIntakeDecode(f *testing.F) {
	u := fuzzUser()
	codes := map[string]bool{}
	for _, c := range []string{hubapi.CodeMalformed, hubapi.CodePayloadType, hubapi.CodeUnsigned, hubapi.CodeBadSignature,
		hubapi.CodeUnknownSigner, hubapi.CodeRevokedSigner, hubapi.CodeSignerMismatch, hubapi.CodeForbiddenKind, hubapi.CodeExpired} {
		codes[c] = true
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		results, err := hub.IntakeOffline(body, []hub.User{u}, u, t0)
		if err != nil {
			if !errors.Is(err, hub.ErrBadBatch) {
				t.Fatalf("request error %v does not wrap ErrBadBatch", err)
			}
			return
		}
		var req hubapi.BatchRequest
		if err := json.Unmarshal(body, &req); err != nil {
			t.Fatalf("accepted a batch encoding/json refuses: %v", err)
		}
		if len(results) != len(req.Records) || len(results) == 0 || len(results) > hubapi.MaxBatch {
			t.Fatalf("%d results for %d records", len(results), len(req.Records))
		}
		for i, r := range results {
			if r.Outcome == hub.OutcomeRefused {
				if !codes[r.Code] {
					t.Fatalf("record %d refused with unknown code %q", i, r.Code)
				}
				continue
			}
			env, err := record.Decode(req.Records[i])
			if err != nil {
				t.Fatalf("record %d accepted but does not decode: %v", i, err)
			}
			if _, err := record.Verify(env, map[string]ed25519.PublicKey{u.KeyID: hub.PublicKey(u)}); err != nil {
				t.Fatalf("record %d accepted but does not verify: %v", i, err)
			}
			b, _ := env.Body()
			h, err := record.ParseHeader(b)
			if err != nil || h.ID != r.ID || t0.After(h.ExpiresAt) {
				t.Fatalf("record %d accepted with header %+v, %v", i, h, err)
			}
			sum := sha256.Sum256(b)
			if r.Digest != hex.EncodeToString(sum[:]) || !hub.MayMake(u.Role, record.Kind(r.Kind)) {
				t.Fatalf("record %d accepted as %+v", i, r)
			}
		}
	})
}

// intakeSeeds are the committed seed corpus of FuzzIntakeDecode.
func intakeSeeds(t *testing.T) map[string][]byte {
	key := fuzzKey()
	good := sign(t, record.KindVisit, newRec("v1", "outcome", "won"), key)
	env, _ := record.Decode(good)
	noSig := env
	noSig.Signatures = []record.Signature{}
	badSig := env
	badSig.Signatures = []record.Signature{{KeyID: env.Signatures[0].KeyID, Sig: base64.StdEncoding.EncodeToString(make([]byte, 64))}}
	tampered := env
	body, _ := record.Canonical(newRec("v1", "outcome", "lost"))
	tampered.Payload = base64.StdEncoding.EncodeToString(body)
	expired := newRec("v2")
	expired["created_at"], expired["expires_at"] = t0.Add(-48*time.Hour).Format(time.RFC3339), t0.Add(-time.Hour).Format(time.RFC3339)
	stranger := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{9}, ed25519.SeedSize))
	noHeader, err := record.Sign(record.KindVisit, map[string]string{"outcome": "won"}, key, env.Signatures[0].KeyID)
	if err != nil {
		t.Fatal(err)
	}
	return map[string][]byte{
		"valid":          batch(t, good),
		"mixed":          batch(t, good, mustJSON(t, noSig), mustJSON(t, badSig), mustJSON(t, tampered), sign(t, record.KindVisit, expired, key), sign(t, record.KindSurvey, newRec("s1"), key), sign(t, record.KindVisit, newRec("v3"), stranger), []byte(`{"payloadType":1}`), good),
		"unsigned":       batch(t, mustJSON(t, noSig)),
		"bad_signature":  batch(t, mustJSON(t, badSig)),
		"no_header":      batch(t, mustJSON(t, noHeader)),
		"not_a_record":   []byte(`{"records":[1,"x",null,{}]}`),
		"unknown_field":  []byte(`{"records":[],"more":true}`),
		"trailing":       append(batch(t, good), " x"...),
		"not_json":       []byte(strings.Repeat("[", 100)),
		"empty":          {},
		"duplicate_keys": fmt.Appendf(nil, `{"records":[%s],"records":[%s]}`, good, good),
	}
}

// TestWriteIntakeSeeds rewrites testdata/fuzz/FuzzIntakeDecode.
func TestWriteIntakeSeeds(t *testing.T) {
	if os.Getenv("LATCHKEY_WRITE_SEEDS") == "" {
		t.Skip("set LATCHKEY_WRITE_SEEDS=1 to rewrite testdata/fuzz seeds")
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzIntakeDecode")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, b := range intakeSeeds(t) {
		data := fmt.Appendf(nil, "go test fuzz v1\n[]byte(%q)\n", b)
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestIntakeSeeds checks the seeds still mean what their names say, so a
// change to the rules that makes them stale shows.
func TestIntakeSeeds(t *testing.T) {
	t.Parallel()
	u := fuzzUser()
	want := map[string]string{
		"valid":         "stored",
		"mixed":         "stored unsigned bad-signature bad-signature expired forbidden-kind unknown-signer malformed stored",
		"unsigned":      "unsigned",
		"bad_signature": "bad-signature",
		"no_header":     "malformed",
		"not_a_record":  "malformed malformed malformed malformed",
	}
	for name, b := range intakeSeeds(t) {
		results, err := hub.IntakeOffline(b, []hub.User{u}, u, t0)
		var got []string
		for _, r := range results {
			if r.Outcome == hub.OutcomeRefused {
				got = append(got, r.Code)
			} else {
				got = append(got, string(r.Outcome))
			}
		}
		w, ok := want[name]
		switch {
		case !ok && !errors.Is(err, hub.ErrBadBatch):
			t.Errorf("%s: %v, %v; want ErrBadBatch", name, got, err)
		case ok && strings.Join(got, " ") != w:
			t.Errorf("%s: %v, %v; want %s", name, got, err, w)
		}
	}
}
