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
