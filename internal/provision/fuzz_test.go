package provision_test

import (
	"crypto/ed25519"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/device"
	"github.com/latchkey/latchkey/internal/provision"
)

// The fuzz targets check that hostile input never panics and never
// verifies. Their keys and certificates derive from fixed labels, so the
// committed seeds in testdata/fuzz stay valid inputs that reach the last
// checks (TestFuzzSeeds makes sure); the signatures in them are over other
// messages or by other keys, and the fuzzer cannot forge Ed25519.

// fuzzChallenge is the nonce every fuzzed attestation is checked against.
var fuzzChallenge = nonceOf("fuzz challenge")

type fuzzSeed struct {
	name string
	vals []any
}

// attestSeeds are FuzzVerifyAttestation's seeds: unit DER, batch DER,
// signature, answered nonce, serial, sign key, kex key.
func attestSeeds(t testing.TB) []fuzzSeed {
	m := newManufacturer(t, "Acme", "acme", nil, nil)
	rogue := newManufacturer(t, "Rogue", "rogue", nil, nil)
	u := newUnit(t, "LK1-000123")
	chain := m.issue(t, u, nil)
	stale := u.answer(nonceOf("fuzz stale"), nil).Sig // over another nonce
	seed := func(name string, chain [][]byte, sig, nonce []byte) fuzzSeed {
		return fuzzSeed{name, []any{chain[0], chain[1], sig, nonce, u.serial, []byte(u.signPub()), u.kex.PublicKey().Bytes()}}
	}
	return []fuzzSeed{
		seed("genuine-chain-stale-signature", chain, stale, fuzzChallenge),
		seed("genuine-chain-other-nonce", chain, stale, nonceOf("fuzz stale")),
		seed("rogue-root", rogue.issue(t, u, nil), stale, fuzzChallenge),
		seed("garbage", [][]byte{[]byte("\x30\x82\x01\x00garbage"), {}}, []byte{1, 2, 3}, nil),
	}
}

// receiptSeeds are FuzzVerifyReceipt's seeds: serial, slot, job, counter,
// nonce, kcv, kcv_alg, signature; the unit and what was asked are fixed.
func receiptSeeds(t testing.TB) []fuzzSeed {
	u := newUnit(t, "LK1-000123")
	kcv, _ := provision.KCV(buildingKey(32))
	r := device.Receipt{Serial: u.serial, Slot: 2, Job: testJob, Counter: 7, Nonce: fuzzChallenge, KCV: kcv, KCVAlg: device.KCVCMAC}
	thief := ed25519.Sign(seededKey("thief"), r.SignedBytes())
	seed := func(name string, r device.Receipt, sig []byte) fuzzSeed {
		return fuzzSeed{name, []any{r.Serial, r.Slot, r.Job, r.Counter, r.Nonce, r.KCV, r.KCVAlg, sig}}
	}
	other := r
	other.KCV = []byte{0, 0, 0}
	return []fuzzSeed{
		seed("right-fields-thief-signature", r, thief),
		seed("other-kcv", other, thief),
		seed("empty", device.Receipt{}, nil),
	}
}

func FuzzVerifyAttestation(f *testing.F) {
	m := newManufacturer(f, "Acme", "acme", nil, nil)
	roots := []*x509.Certificate{m.root}
	for _, s := range attestSeeds(f) {
		v := s.vals
		f.Add(v[0].([]byte), v[1].([]byte), v[2].([]byte), v[3].([]byte), v[4].(string), v[5].([]byte), v[6].([]byte))
	}
	f.Fuzz(func(t *testing.T, unitDER, batchDER, sig, nonce []byte, serial string, signKey, kexKey []byte) {
		id := device.Identity{Serial: serial, SignKey: signKey, KexKey: kexKey}
		chain := [][]byte{unitDER}
		if len(batchDER) > 0 {
			chain = append(chain, batchDER)
		}
		att := device.Attestation{Nonce: nonce, Chain: chain, Sig: sig}
		got, err := provision.VerifyAttestation(id, att, fuzzChallenge, roots, now)
		if err == nil {
			t.Fatalf("a fuzzed attestation verified: %+v", got)
		}
		if got.Serial != "" || got.SignKey != nil || got.KexKey != nil {
			t.Fatalf("failed attestation returned %+v", got)
		}
		if !anyIs(err, attestErrors...) {
			t.Fatalf("error %v is none of the attestation errors", err)
		}
	})
}

func FuzzVerifyReceipt(f *testing.F) {
	u := newUnit(f, "LK1-000123")
	kcv, _ := provision.KCV(buildingKey(32))
	for _, s := range receiptSeeds(f) {
		v := s.vals
		f.Add(v[0].(string), v[1].(uint8), v[2].(string), v[3].(uint64), v[4].([]byte), v[5].([]byte), v[6].(string), v[7].([]byte))
	}
	f.Fuzz(func(t *testing.T, serial string, slot uint8, job string, counter uint64, nonce, rkcv []byte, alg string, sig []byte) {
		r := device.Receipt{Serial: serial, Slot: slot, Job: job, Counter: counter, Nonce: nonce, KCV: rkcv, KCVAlg: alg, Sig: sig}
		err := provision.VerifyReceipt(r, attested(u), 2, testJob, fuzzChallenge, kcv)
		if err == nil {
			t.Fatalf("a fuzzed receipt verified: %+v", r)
		}
		if !anyIs(err, provision.ErrReceiptMismatch, provision.ErrKCVMismatch, provision.ErrBadReceipt) {
			t.Fatalf("error %v is none of the receipt errors", err)
		}
	})
}

func anyIs(err error, targets ...error) bool {
	for _, t := range targets {
		if errors.Is(err, t) {
			return true
		}
	}
	return false
}

// corpusFile renders values in the format of go test's fuzz corpus
// (internal/fuzz "go test fuzz v1").
func corpusFile(vals []any) []byte {
	var b strings.Builder
	b.WriteString("go test fuzz v1\n")
	for _, v := range vals {
		switch v := v.(type) {
		case []byte:
			fmt.Fprintf(&b, "[]byte(%q)\n", v)
		case string:
			fmt.Fprintf(&b, "string(%q)\n", v)
		case byte:
			fmt.Fprintf(&b, "byte(%q)\n", v)
		case uint64:
			fmt.Fprintf(&b, "uint64(%d)\n", v)
		default:
			panic(fmt.Sprintf("corpus value of type %T", v))
		}
	}
	return []byte(b.String())
}

// TestFuzzSeeds keeps the committed seed corpora in testdata/fuzz equal to
// the seeds above (go test -update rewrites them), and checks that the
// near-genuine seeds get past the chain checks, so the fuzzer starts deep.
func TestFuzzSeeds(t *testing.T) {
	for target, seeds := range map[string][]fuzzSeed{
		"FuzzVerifyAttestation": attestSeeds(t),
		"FuzzVerifyReceipt":     receiptSeeds(t),
	} {
		dir := filepath.Join("testdata", "fuzz", target)
		if *update {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		for _, s := range seeds {
			file := filepath.Join(dir, s.name)
			want := corpusFile(s.vals)
			if *update {
				if err := os.WriteFile(file, want, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			got, err := os.ReadFile(file)
			if err != nil {
				t.Errorf("%v (go test -update writes it)", err)
				continue
			}
			if string(got) != string(want) {
				t.Errorf("%s is stale: the test keys or certificates changed; go test -update rewrites it", file)
			}
		}
	}

	m := newManufacturer(t, "Acme", "acme", nil, nil)
	roots := []*x509.Certificate{m.root}
	for _, s := range attestSeeds(t) {
		v := s.vals
		id := device.Identity{Serial: v[4].(string), SignKey: v[5].([]byte), KexKey: v[6].([]byte)}
		att := device.Attestation{Chain: [][]byte{v[0].([]byte), v[1].([]byte)}, Sig: v[2].([]byte), Nonce: v[3].([]byte)}
		_, err := provision.VerifyAttestation(id, att, fuzzChallenge, roots, now)
		want := map[string]error{
			"genuine-chain-stale-signature": provision.ErrBadSignature,
			"genuine-chain-other-nonce":     provision.ErrNonceMismatch,
			"rogue-root":                    provision.ErrUnknownRoot,
			"garbage":                       provision.ErrChainInvalid,
		}[s.name]
		if !errors.Is(err, want) {
			t.Errorf("seed %s: %v, want %v", s.name, err, want)
		}
	}
	u := newUnit(t, "LK1-000123")
	kcv, _ := provision.KCV(buildingKey(32))
	s := receiptSeeds(t)[0].vals
	r := device.Receipt{Serial: s[0].(string), Slot: s[1].(uint8), Job: s[2].(string), Counter: s[3].(uint64),
		Nonce: s[4].([]byte), KCV: s[5].([]byte), KCVAlg: s[6].(string), Sig: s[7].([]byte)}
	if err := provision.VerifyReceipt(r, attested(u), 2, testJob, fuzzChallenge, kcv); !errors.Is(err, provision.ErrBadReceipt) {
		t.Errorf("receipt seed: %v, want ErrBadReceipt (only the signature wrong)", err)
	}
}
