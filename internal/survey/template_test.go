package survey

import (
	"bytes"
	"testing"
)

func TestTemplate(t *testing.T) {
	t.Parallel()
	b := Template()
	if !bytes.Contains(b, []byte("# ")) {
		t.Error("template has no comments")
	}
	s, err := Parse(b, DetectFormat("template.yaml", b))
	if err != nil {
		t.Fatal(err)
	}
	if ps := Validate(s, []string{"lobby"}); len(ps) > 0 {
		t.Errorf("template problems: %v", ps)
	}
	if v := Evaluate(s); v.Outcome != PendingSignal {
		t.Errorf("template verdict %s, want pending-signal", v.Outcome)
	}
	b[0] = 'X'
	if Template()[0] == 'X' {
		t.Error("Template shares its bytes")
	}
}

func TestTemplateFor(t *testing.T) {
	doors := []string{"lobby", "garage", `side "B" door`}
	b, err := TemplateFor("job-42", doors)
	if err != nil {
		t.Fatal(err)
	}
	s, err := Parse(b, FormatYAML)
	if err != nil {
		t.Fatalf("parse: %v\n%s", err, b)
	}
	if s.Job != "job-42" || len(s.Entrances) != 3 || s.Entrances[2].Name != `side "B" door` {
		t.Errorf("TemplateFor = job %q, %d entrances", s.Job, len(s.Entrances))
	}
	if probs := Validate(s, doors); len(probs) > 0 {
		t.Errorf("TemplateFor is not valid for its doors: %v", probs)
	}
	if v := Evaluate(s); v.Outcome != PendingSignal {
		t.Errorf("verdict %s, want pending-signal", v.Outcome)
	}
}
