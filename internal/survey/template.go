package survey

import (
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
)

//go:embed template.yaml
var template []byte

// Template returns an example survey file in YAML, with comments naming
// each field's values. It is valid for a job whose only door is "lobby"
// and, having no signal yet, its verdict is pending-signal.
func Template() []byte { return slices.Clone(template) }

// TemplateFor is Template for one job: its id filled in and one entrance
// per door (each a copy of the example's, renamed), so an installer starts
// from a file that already fits the job.
func TemplateFor(job string, doors []string) ([]byte, error) {
	t := string(template)
	start := strings.Index(t, "entrances:\n")
	end := strings.Index(t, "\npower:")
	if start < 0 || end < start {
		return nil, errors.New("survey template: no entrances block")
	}
	block := t[start+len("entrances:\n") : end]
	nameLine := "  - name: lobby\n"
	if !strings.HasPrefix(block, nameLine) {
		return nil, errors.New("survey template: the entrance does not start with its name")
	}
	var b strings.Builder
	b.WriteString(t[:start] + "entrances:\n")
	for _, d := range doors {
		q, err := yamlScalar(d)
		if err != nil {
			return nil, err
		}
		b.WriteString("  - name: " + q + "\n" + strings.TrimSuffix(block[len(nameLine):], "\n") + "\n")
	}
	b.WriteString(t[end:])
	out := strings.Replace(b.String(), "job: example-job ", "job: "+job+" ", 1)
	if _, err := Parse([]byte(out), FormatYAML); err != nil {
		return nil, fmt.Errorf("survey template for job %s: %w", job, err)
	}
	return []byte(out), nil
}

// yamlScalar quotes s as a YAML double-quoted scalar.
func yamlScalar(s string) (string, error) {
	b, err := json.Marshal(s) // a JSON string is a valid YAML double-quoted scalar
	return string(b), err
}
