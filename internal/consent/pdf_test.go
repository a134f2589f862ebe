package consent_test

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/consent"
	"github.com/latchkey/latchkey/internal/record"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func TestManagerCopy(t *testing.T) {
	t.Parallel()
	_, env, c, terms := signed(t)
	pdf, err := consent.ManagerCopy(env, c, terms)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(pdf, []byte("%PDF-")) || !bytes.HasSuffix(bytes.TrimSpace(pdf), []byte("%%EOF")) {
		t.Fatalf("not a PDF: %q…", pdf[:16])
	}
	body, _ := env.Body()
	for _, want := range []string{
		c.ID, c.Terms.SHA256, consent.SHA256(body), env.Signatures[0].KeyID, env.Signatures[1].KeyID,
		"Verification summary", "Ed25519", "Door access consent for Maple Court", "Property manager",
		"managing-agent", "2026-11-25T15:02:05Z", "Mar\xeda Ortiz", // cp1252
		"a1b2c3", "2026-12-02", "gift-card:100:USD",
	} {
		if !bytes.Contains(pdf, []byte(want)) {
			t.Errorf("PDF lacks %q", want)
		}
	}
	again, err := consent.ManagerCopy(env, c, terms)
	if err != nil || !bytes.Equal(again, pdf) {
		t.Fatal("ManagerCopy is not deterministic")
	}
	golden(t, "manager-copy.en.sha256", consent.SHA256(pdf)+"\n")
}

func TestManagerCopySpanish(t *testing.T) {
	t.Parallel()
	c, terms := built(t, "es")
	env, err := consent.Sign(context.Background(), c, installerKey, &fakeUnit{key: unitKey}, unitPub)
	if err != nil {
		t.Fatal(err)
	}
	pdf, err := consent.ManagerCopy(env, c, terms)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{c.ID, "Consentimiento de acceso", "Destrucci\xf3n", "a m\xe1s tardar"} {
		if !bytes.Contains(pdf, []byte(want)) {
			t.Errorf("PDF lacks %q", want)
		}
	}
	golden(t, "manager-copy.es.sha256", consent.SHA256(pdf)+"\n")
}

func TestManagerCopyRefuses(t *testing.T) {
	t.Parallel()
	_, env, c, terms := signed(t)
	other := c
	other.Revoke = "never"
	edited := terms
	edited.Body = strings.Replace(edited.Body, "30 days", "300 days", 1)
	es, _ := consent.TermsFor("v1", "es", facts())
	unsigned := env
	unsigned.Signatures = env.Signatures[:1]
	tests := []struct {
		name  string
		env   record.Envelope
		c     consent.Consent
		terms consent.Text
	}{
		{"envelope of another consent", env, other, terms},
		{"edited terms", env, c, edited},
		{"terms in another language", env, c, es},
		{"countersignature missing", unsigned, c, terms},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if pdf, err := consent.ManagerCopy(tt.env, tt.c, tt.terms); err == nil {
				t.Fatalf("ManagerCopy made %d bytes, want an error", len(pdf))
			}
		})
	}
}

// golden compares got with testdata/name, or writes it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if string(want) != got {
		t.Errorf("%s: got %s want %s (go test -update refreshes it after a deliberate change)", name, got, want)
	}
}
