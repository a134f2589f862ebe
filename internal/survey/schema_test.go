package survey

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
)

// The schema in docs/ is written by hand; these tests hold it to the Go
// types without a JSON Schema library: every field name and enum matches,
// and a small validator for the keywords the schema uses accepts the
// template and the sample and refuses broken files.

type schema map[string]any

func loadSchema(t *testing.T) schema {
	t.Helper()
	b, err := os.ReadFile("../../docs/survey.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	var s schema
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	return s
}

// resolve follows a local $ref, merging the referring schema's own
// keywords over the target's (draft 2020-12 applies both).
func (root schema) resolve(s schema) schema {
	ref, ok := s["$ref"].(string)
	if !ok {
		return s
	}
	name, _ := strings.CutPrefix(ref, "#/$defs/")
	target := root.resolve(root["$defs"].(map[string]any)[name].(map[string]any))
	out := schema{}
	for k, v := range target {
		out[k] = v
	}
	for k, v := range s {
		if k != "$ref" {
			out[k] = v
		}
	}
	return out
}

var enumValues = map[reflect.Type][]string{
	reflect.TypeFor[DoorType]():       strs(DoorTypes()),
	reflect.TypeFor[Hardware]():       strs(Hardwares()),
	reflect.TypeFor[Voltage]():        strs(Voltages()),
	reflect.TypeFor[LockWiring]():     strs(LockWirings()),
	reflect.TypeFor[IntercomWiring](): strs(IntercomWirings()),
	reflect.TypeFor[PowerSource]():    strs(PowerSources()),
}

func strs[T ~string](v []T) []string {
	out := make([]string, len(v))
	for i, x := range v {
		out[i] = string(x)
	}
	return out
}

// TestSchemaFields walks the Go types and the schema together: the same
// properties at every level, the same enums.
func TestSchemaFields(t *testing.T) {
	t.Parallel()
	root := loadSchema(t)
	var walk func(reflect.Type, schema, string)
	walk = func(ty reflect.Type, s schema, path string) {
		s = root.resolve(s)
		for ty.Kind() == reflect.Pointer || ty.Kind() == reflect.Slice {
			if ty.Kind() == reflect.Slice {
				s = root.resolve(s["items"].(map[string]any))
			}
			ty = ty.Elem()
		}
		if want, ok := enumValues[ty]; ok {
			var got []string
			for _, v := range s["enum"].([]any) {
				if v != "" {
					got = append(got, v.(string))
				}
			}
			if !slices.Equal(got, want) {
				t.Errorf("%s: schema enum %q, Go %q", path, got, want)
			}
			return
		}
		if ty.Kind() != reflect.Struct || ty == timeType {
			return
		}
		props, _ := s["properties"].(map[string]any)
		if s["additionalProperties"] != false {
			t.Errorf("%s: schema allows additional properties", path)
		}
		var goNames, schemaNames []string
		for name, i := range fieldsOf(ty) {
			goNames = append(goNames, name)
			if p, ok := props[name]; ok {
				walk(ty.Field(i).Type, p.(map[string]any), join(path, name))
			}
		}
		for name := range props {
			schemaNames = append(schemaNames, name)
		}
		sort.Strings(goNames)
		sort.Strings(schemaNames)
		if !slices.Equal(goNames, schemaNames) {
			t.Errorf("%s: Go fields %q, schema properties %q", path, goNames, schemaNames)
		}
		for _, r := range s["required"].([]any) {
			if _, ok := props[r.(string)]; !ok {
				t.Errorf("%s: required %q is no property", path, r)
			}
		}
	}
	walk(reflect.TypeFor[Survey](), root, "")
}

// check validates v (decoded JSON) against s, for the keywords the survey
// schema uses; it returns the first violation.
func (root schema) check(s schema, v any, path string) error {
	s = root.resolve(s)
	if c, ok := s["const"]; ok && !reflect.DeepEqual(c, v) {
		return fmt.Errorf("%s: %v is not %v", path, v, c)
	}
	if e, ok := s["enum"].([]any); ok && !slices.Contains(e, v) {
		return fmt.Errorf("%s: %v not in enum", path, v)
	}
	switch typ, _ := s["type"].(string); typ {
	case "object":
		m, ok := v.(map[string]any)
		if !ok {
			return fmt.Errorf("%s: not an object", path)
		}
		props, _ := s["properties"].(map[string]any)
		for _, r := range s["required"].([]any) {
			if _, ok := m[r.(string)]; !ok {
				return fmt.Errorf("%s: %s missing", path, r)
			}
		}
		for k, x := range m {
			p, ok := props[k]
			if !ok {
				return fmt.Errorf("%s: %s not allowed", path, k)
			}
			if err := root.check(p.(map[string]any), x, join(path, k)); err != nil {
				return err
			}
		}
	case "array":
		a, ok := v.([]any)
		if !ok {
			return fmt.Errorf("%s: not an array", path)
		}
		if n, ok := s["minItems"].(float64); ok && float64(len(a)) < n {
			return fmt.Errorf("%s: too few items", path)
		}
		if n, ok := s["maxItems"].(float64); ok && float64(len(a)) > n {
			return fmt.Errorf("%s: too many items", path)
		}
		for i, x := range a {
			if s["uniqueItems"] == true && slices.IndexFunc(a[:i], func(y any) bool { return reflect.DeepEqual(x, y) }) >= 0 {
				return fmt.Errorf("%s: repeated item", path)
			}
			if err := root.check(s["items"].(map[string]any), x, fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
	case "string":
		str, ok := v.(string)
		if !ok {
			return fmt.Errorf("%s: not a string", path)
		}
		n := float64(len([]rune(str)))
		if m, ok := s["minLength"].(float64); ok && n < m {
			return fmt.Errorf("%s: too short", path)
		}
		if m, ok := s["maxLength"].(float64); ok && n > m {
			return fmt.Errorf("%s: too long", path)
		}
		if p, ok := s["pattern"].(string); ok && !regexp.MustCompile(p).MatchString(str) {
			return fmt.Errorf("%s: %q does not match %s", path, str, p)
		}
	case "integer", "number", "boolean":
		if typ == "boolean" {
			if _, ok := v.(bool); !ok {
				return fmt.Errorf("%s: not a boolean", path)
			}
			break
		}
		f, ok := v.(float64)
		if !ok || (typ == "integer" && f != math.Trunc(f)) {
			return fmt.Errorf("%s: not an %s", path, typ)
		}
		if m, ok := s["minimum"].(float64); ok && f < m {
			return fmt.Errorf("%s: below minimum", path)
		}
		if m, ok := s["maximum"].(float64); ok && f > m {
			return fmt.Errorf("%s: above maximum", path)
		}
	}
	return nil
}

func TestSchemaAcceptsAndRefuses(t *testing.T) {
	t.Parallel()
	root := loadSchema(t)
	tmpl, err := Parse(Template(), FormatYAML)
	if err != nil {
		t.Fatal(err)
	}
	asJSON := func(s Survey) map[string]any {
		b, err := Marshal(s, FormatJSON)
		if err != nil {
			t.Fatal(err)
		}
		var v map[string]any
		if err := json.Unmarshal(b, &v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	for name, s := range map[string]Survey{"template": tmpl, "sample": sample()} {
		if err := root.check(root, asJSON(s), ""); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	for name, change := range map[string]func(map[string]any){
		"unknown field":  func(v map[string]any) { v["colour"] = "red" },
		"bad enum":       func(v map[string]any) { v["power"].(map[string]any)["source"] = "solar" },
		"no entrances":   func(v map[string]any) { v["entrances"] = []any{} },
		"version 2":      func(v map[string]any) { v["version"] = 2.0 },
		"fraction floor": func(v map[string]any) { v["building"].(map[string]any)["floors"] = 2.5 },
		"control char":   func(v map[string]any) { v["mount"].(map[string]any)["location"] = "a\x1bb" },
		"bad photo name": func(v map[string]any) { v["photos"].([]any)[0].(map[string]any)["file"] = "IMG_1.jpg" },
	} {
		v := asJSON(sample())
		change(v)
		if err := root.check(root, v, ""); err == nil {
			t.Errorf("schema accepts a survey with %s", name)
		}
	}
}
