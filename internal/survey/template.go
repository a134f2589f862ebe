package survey

import (
	_ "embed"
	"slices"
)

//go:embed template.yaml
var template []byte

// Template returns an example survey file in YAML, with comments naming
// each field's values. It is valid for a job whose only door is "lobby"
// and, having no signal yet, its verdict is pending-signal.
func Template() []byte { return slices.Clone(template) }
