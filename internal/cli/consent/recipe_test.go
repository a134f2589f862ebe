package consent_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestOpenSSLRecipe runs the "Verifying a consent without latchkey" script
// of docs/consent.md, exactly as published, on a consent from a scripted
// install: it must verify both signatures; the same consent with one byte of
// its payload changed (and re-encoded) must fail.
func TestOpenSSLRecipe(t *testing.T) {
	for _, tool := range []string{"sh", "openssl", "jq", "xxd", "python3", "sha256sum", "base64"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("LATCHKEY_E2E") == "required" {
				t.Fatalf("%s is not installed (scripts/test installs it)", tool)
			}
			t.Skipf("%s is not installed", tool)
		}
	}
	doc, err := os.ReadFile(filepath.Join("..", "..", "..", "docs", "consent.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := strings.Cut(string(doc), "## Verifying a consent without latchkey")
	if !ok {
		t.Fatal("docs/consent.md has no verification section")
	}
	_, script, ok := strings.Cut(after, "```sh\n")
	script, _, ok2 := strings.Cut(script, "```")
	if !ok || !ok2 {
		t.Fatal("docs/consent.md's verification section has no sh block")
	}
	dir := t.TempDir()
	scriptPath := filepath.Join(dir, "verify-consent.sh")
	if err := os.WriteFile(scriptPath, []byte(script), 0o700); err != nil {
		t.Fatal(err)
	}

	b := newBench(t)
	job, u := b.pairedJob("lobby,garage")
	b.mustRun("burn", "--job", job, "--port", u.Link)
	b.mustRun(signFlags(job, u.Link)...)
	envPath := filepath.Join(dir, "consent.json")
	b.mustRun("consent", "export", "--job", job, "--format", "json", "-o", envPath)

	// The two raw keys: the installer's (identity show) and the unit's (the
	// pairing's, as its pairing record carries it).
	var id struct {
		SigningKey struct {
			PublicKey string `json:"public_key"`
		} `json:"signing_key"`
	}
	b.json(&id, "identity", "show")
	var rows []struct {
		ID   string `json:"id"`
		Kind string `json:"kind"`
	}
	b.json(&rows, "outbox", "list", "--all")
	var unitKey string
	for _, r := range rows {
		if r.Kind != "pairing" {
			continue
		}
		var env struct{ Payload string }
		if err := json.Unmarshal([]byte(b.mustRun("outbox", "show", r.ID, "--envelope").Stdout), &env); err != nil {
			t.Fatal(err)
		}
		body, _ := base64.StdEncoding.DecodeString(env.Payload)
		var p struct {
			SignKey string `json:"sign_key"`
		}
		if err := json.Unmarshal(body, &p); err != nil {
			t.Fatal(err)
		}
		unitKey = p.SignKey
	}
	for name, k := range map[string]string{"installer.raw": id.SigningKey.PublicKey, "unit.raw": unitKey} {
		raw, err := base64.StdEncoding.DecodeString(k)
		if err != nil || len(raw) != 32 {
			t.Fatalf("%s: key %q: %v", name, k, err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), raw, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	verify := func(env string) (string, error) {
		cmd := exec.Command("sh", scriptPath, env, "installer.raw", "unit.raw")
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	out, err := verify(envPath)
	if err != nil || strings.Count(out, "Signature Verified Successfully") != 2 {
		t.Fatalf("the recipe does not verify a good consent: %v\n%s", err, out)
	}

	// One byte of the payload changed, re-encoded as valid base64 JSON.
	var env map[string]any
	raw, _ := os.ReadFile(envPath)
	if err := json.Unmarshal(raw, &env); err != nil {
		t.Fatal(err)
	}
	body, _ := base64.StdEncoding.DecodeString(env["payload"].(string))
	changed := bytes.Replace(body, []byte(`"retention_days":30`), []byte(`"retention_days":31`), 1)
	if bytes.Equal(changed, body) {
		t.Fatal("the payload has no retention_days of 30 to change")
	}
	env["payload"] = base64.StdEncoding.EncodeToString(changed)
	tampered, _ := json.Marshal(env)
	tamperedPath := filepath.Join(dir, "tampered.json")
	if err := os.WriteFile(tamperedPath, tampered, 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := verify(tamperedPath); err == nil || strings.Count(out, "Signature Verified Successfully") == 2 {
		t.Errorf("the recipe verified a consent with a changed byte:\n%s", out)
	}
}
