package packet

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

var updateCorpus = flag.Bool("update-corpus", false, "rewrite the seed corpus in testdata/fuzz/FuzzVerify")

// FuzzVerify feeds arbitrary bytes to Verify with the fixture's hub key: it
// must never panic, must fail with one of the package's sentinels, and what
// it accepts must re-verify identically.
func FuzzVerify(f *testing.F) {
	fx := newFixture(f)
	f.Add(fx.seal(f, fx.job, fx.keys))
	f.Add([]byte(`{"payloadType":"application/vnd.latchkey.job-packet+json","payload":"e30=","signatures":[]}`))
	hubKey := fx.hubPub()
	now := t0.Add(time.Hour)
	f.Fuzz(func(t *testing.T, b []byte) {
		job, err := Verify(b, hubKey, now)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrBadSignature) && !errors.Is(err, ErrExpired) {
				t.Fatalf("error without a sentinel: %v", err)
			}
			return
		}
		if job.ID == "" || len(job.Doors) == 0 {
			t.Fatalf("accepted a packet without id or doors: %+v", job)
		}
		if _, err := Verify(b, ed25519.PublicKey(bytes.Repeat([]byte{1}, 32)), now); !errors.Is(err, ErrBadSignature) {
			t.Fatalf("accepted under another hub key: %v", err)
		}
	})
}

// TestFuzzCorpus checks the committed corpus has a valid packet, so the
// fuzzer starts from the accepting path; -update-corpus rewrites it.
func TestFuzzCorpus(t *testing.T) {
	fx := newFixture(t)
	valid := fx.seal(t, fx.job, fx.keys)
	dir := filepath.Join("testdata", "fuzz", "FuzzVerify")
	seeds := map[string][]byte{
		"valid":           valid,
		"empty":           nil,
		"not-json":        []byte("job packet"),
		"wrong-type":      bytes.Replace(valid, []byte("job-packet"), []byte("visit"), 1),
		"unknown-field":   append(bytes.Clone(bytes.TrimSuffix(valid, []byte("}"))), []byte(`,"x":1}`)...),
		"no-signatures":   []byte(`{"payloadType":"application/vnd.latchkey.job-packet+json","payload":"e30=","signatures":[]}`),
		"truncated-valid": valid[:len(valid)/2],
	}
	if *updateCorpus {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for name, b := range seeds {
			content := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", b)
			if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	got, err := os.ReadFile(filepath.Join(dir, "valid"))
	if err != nil {
		t.Fatalf("seed corpus: %v (run go test -run TestFuzzCorpus -update-corpus)", err)
	}
	quoted, ok := strings.CutPrefix(strings.TrimSpace(string(got)), "go test fuzz v1\n[]byte(")
	if ok {
		quoted, ok = strings.CutSuffix(quoted, ")")
	}
	b, err := strconv.Unquote(quoted)
	if !ok || err != nil {
		t.Fatalf("testdata/fuzz/FuzzVerify/valid is not in the go test fuzz v1 form")
	}
	if _, err := Verify([]byte(b), fx.hubPub(), t0.Add(time.Hour)); err != nil {
		t.Errorf("the valid seed does not verify (run go test -run TestFuzzCorpus -update-corpus): %v", err)
	}
}
