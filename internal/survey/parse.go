package survey

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Format is the encoding of a survey file.
type Format int

// The formats. FormatAuto lets Parse tell JSON from YAML by content.
const (
	FormatAuto Format = iota
	FormatJSON
	FormatYAML
)

// String returns the format's name: auto, json or yaml.
func (f Format) String() string {
	switch f {
	case FormatJSON:
		return "json"
	case FormatYAML:
		return "yaml"
	}
	return "auto"
}

// MaxFile bounds a survey file. A survey is text and photo hashes (the
// photos themselves are files beside it); its record must fit in a 1 MiB
// envelope (record.MaxEnvelope) with room for the base64 and the verdict.
const MaxFile = 256 << 10

// Limits of the decoder, before Validate's own: a list longer than maxItems
// or a file nested deeper than maxDepth is not a survey.
const (
	maxItems    = 256
	maxDepth    = 32
	maxProblems = 50
)

// Errors a survey file is refused with, each wrapped with detail.
var (
	// ErrTooLarge is a file over MaxFile bytes.
	ErrTooLarge = errors.New("survey file too large")
	// ErrSyntax is a file that is not well-formed JSON or YAML.
	ErrSyntax = errors.New("survey file is not well-formed")
)

// Problem is one thing wrong with a survey, named by the path of the field
// ("entrances[0].hardware") in the file's own names. Line is the line of the
// file it was found on, when it came from parsing (0 otherwise).
type Problem struct {
	Path    string `json:"path"`
	Line    int    `json:"line,omitempty"`
	Message string `json:"message"`
}

// String returns "path: message", or "path (line N): message".
func (p Problem) String() string {
	where := p.Path
	if where == "" {
		where = "survey"
	}
	if p.Line > 0 {
		where += fmt.Sprintf(" (line %d)", p.Line)
	}
	return where + ": " + p.Message
}

// ParseError is a survey file with fields that do not fit the schema:
// unknown or repeated fields, wrong types. It lists every one found.
type ParseError struct {
	Problems []Problem
}

// Error lists the problems on one line, separated by semicolons.
func (e *ParseError) Error() string {
	parts := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		parts[i] = p.String()
	}
	return "survey file: " + strings.Join(parts, "; ")
}

// DetectFormat tells a file's format from its name (.json, .yaml, .yml) or,
// failing that, its content: a file whose first character is "{" is JSON,
// anything else YAML.
func DetectFormat(name string, data []byte) Format {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".json":
		return FormatJSON
	case ".yaml", ".yml":
		return FormatYAML
	}
	if bytes.HasPrefix(bytes.TrimLeft(trimBOM(data), " \t\r\n"), []byte("{")) {
		return FormatJSON
	}
	return FormatYAML
}

func trimBOM(data []byte) []byte { return bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")) }

// Load reads the survey file at path; its format is told by DetectFormat.
func Load(path string) (Survey, error) {
	f, err := os.Open(path)
	if err != nil {
		return Survey{}, fmt.Errorf("load survey: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFile+1))
	if err != nil {
		return Survey{}, fmt.Errorf("load survey: %w", err)
	}
	s, err := Parse(data, DetectFormat(path, data))
	if err != nil {
		return Survey{}, fmt.Errorf("load survey %s: %w", path, err)
	}
	return s, nil
}

// Parse reads a survey from JSON or YAML, strictly: a field the schema does
// not have, a field given twice or a value of the wrong type is refused
// with its path (a *ParseError listing all of them), where encoding/json
// would ignore the first, keep the last of the second and match names
// without regard to case. Parse checks the shape only; Validate checks the
// values.
func Parse(data []byte, f Format) (Survey, error) {
	if len(data) > MaxFile {
		return Survey{}, fmt.Errorf("%w: more than %d bytes", ErrTooLarge, MaxFile)
	}
	data = trimBOM(data)
	if f == FormatAuto {
		f = DetectFormat("", data)
	}
	var (
		root *yaml.Node
		err  error
	)
	if f == FormatJSON {
		root, err = jsonTree(data)
	} else {
		root, err = yamlTree(data)
	}
	if err != nil {
		return Survey{}, fmt.Errorf("%w as %s: %v", ErrSyntax, f, err)
	}
	d := decoder{json: f == FormatJSON}
	var s Survey
	d.value(root, reflect.ValueOf(&s).Elem(), "", 0)
	if len(d.problems) > 0 {
		return Survey{}, &ParseError{Problems: d.problems}
	}
	return normalize(s), nil
}

// Marshal writes s as indented JSON or as YAML (FormatAuto is YAML).
func Marshal(s Survey, f Format) ([]byte, error) {
	s = normalize(s)
	if f == FormatJSON {
		b, err := json.MarshalIndent(s, "", "  ")
		if err != nil {
			return nil, fmt.Errorf("marshal survey: %w", err)
		}
		return append(b, '\n'), nil
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(s); err != nil {
		return nil, fmt.Errorf("marshal survey: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("marshal survey: %w", err)
	}
	return buf.Bytes(), nil
}

// yamlTree parses one YAML document into its node tree.
func yamlTree(data []byte) (*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if err == io.EOF {
			return nil, errors.New("the file is empty")
		}
		return nil, err
	}
	var next yaml.Node
	if err := dec.Decode(&next); err != io.EOF {
		return nil, errors.New("more than one YAML document")
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 {
		return nil, errors.New("the file is empty")
	}
	return doc.Content[0], nil
}

// jsonTree parses one JSON value into the node tree YAML would give, so one
// decoder serves both formats. Strings are tagged !!str, numbers !!int or
// !!float by their syntax. Keys repeated within an object are kept, for
// the decoder to refuse with their path.
func jsonTree(data []byte) (*yaml.Node, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	lines := lineCounter{data: data, line: 1}
	n, err := jsonValue(dec, &lines, 0)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("data after the JSON value")
	}
	return n, nil
}

// lineCounter turns increasing byte offsets into line numbers without
// scanning the file from the start each time.
type lineCounter struct {
	data []byte
	off  int
	line int
}

func (c *lineCounter) at(off int64) int {
	end := min(int(off), len(c.data))
	if end > c.off {
		c.line += bytes.Count(c.data[c.off:end], []byte("\n"))
		c.off = end
	}
	return c.line
}

func jsonValue(dec *json.Decoder, lines *lineCounter, depth int) (*yaml.Node, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("nested more than %d deep", maxDepth)
	}
	line := lines.at(dec.InputOffset())
	tok, err := dec.Token()
	if err == io.EOF {
		return nil, errors.New("the file is empty")
	}
	if err != nil {
		return nil, err
	}
	switch v := tok.(type) {
	case json.Delim:
		switch v {
		case '{':
			n := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: line}
			for dec.More() {
				kline := lines.at(dec.InputOffset())
				kt, err := dec.Token()
				if err != nil {
					return nil, err
				}
				key, _ := kt.(string)
				val, err := jsonValue(dec, lines, depth+1)
				if err != nil {
					return nil, err
				}
				n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: key, Line: kline}, val)
			}
			if _, err := dec.Token(); err != nil {
				return nil, err
			}
			return n, nil
		case '[':
			n := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Line: line}
			for dec.More() {
				val, err := jsonValue(dec, lines, depth+1)
				if err != nil {
					return nil, err
				}
				n.Content = append(n.Content, val)
			}
			if _, err := dec.Token(); err != nil {
				return nil, err
			}
			return n, nil
		}
		return nil, fmt.Errorf("unexpected %v", v)
	case string:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: v, Style: yaml.DoubleQuotedStyle, Line: line}, nil
	case json.Number:
		tag := "!!int"
		if strings.ContainsAny(string(v), ".eE") {
			tag = "!!float"
		}
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Value: string(v), Line: line}, nil
	case bool:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: strconv.FormatBool(v), Line: line}, nil
	case nil:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "null", Line: line}, nil
	}
	return nil, fmt.Errorf("unexpected token %v", tok)
}

// decoder fills Go values from a node tree, following the json tags of the
// types (which the yaml tags repeat), and collects every problem with its
// path instead of stopping at the first.
type decoder struct {
	// json is set for trees from JSON, where a string field takes only a
	// string; YAML may write text that looks like a number unquoted.
	json     bool
	problems []Problem
}

var timeType = reflect.TypeFor[time.Time]()

func (d *decoder) fail(n *yaml.Node, path, format string, args ...any) {
	if len(d.problems) < maxProblems {
		d.problems = append(d.problems, Problem{Path: path, Line: n.Line, Message: fmt.Sprintf(format, args...)})
	}
}

func (d *decoder) value(n *yaml.Node, v reflect.Value, path string, depth int) {
	// Aliases are followed; the schema's depth bounds the recursion and
	// maxItems the fan-out, so an alias bomb costs little.
	for hops := 0; n.Kind == yaml.AliasNode; hops++ {
		if n.Alias == nil || hops > maxDepth {
			d.fail(n, path, "bad alias")
			return
		}
		n = n.Alias
	}
	if len(d.problems) >= maxProblems || depth > maxDepth {
		return
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		v.SetZero()
		return
	}
	t := v.Type()
	switch {
	case t == timeType:
		d.time(n, v, path)
	case t.Kind() == reflect.Pointer:
		e := reflect.New(t.Elem())
		d.value(n, e.Elem(), path, depth+1)
		v.Set(e)
	case t.Kind() == reflect.Struct:
		d.object(n, v, path, depth)
	case t.Kind() == reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			d.fail(n, path, "want a list")
			return
		}
		if len(n.Content) > maxItems {
			d.fail(n, path, "%d items, at most %d", len(n.Content), maxItems)
			return
		}
		s := reflect.MakeSlice(t, len(n.Content), len(n.Content))
		for i, c := range n.Content {
			d.value(c, s.Index(i), fmt.Sprintf("%s[%d]", path, i), depth+1)
		}
		v.Set(s)
	default:
		d.scalar(n, v, path)
	}
}

func (d *decoder) object(n *yaml.Node, v reflect.Value, path string, depth int) {
	if n.Kind != yaml.MappingNode {
		d.fail(n, path, "want a set of fields (name: value)")
		return
	}
	fields := fieldsOf(v.Type())
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		name := k.Value
		p := join(path, name)
		if k.Kind != yaml.ScalarNode {
			d.fail(k, path, "a field name must be plain text")
			continue
		}
		idx, ok := fields[name]
		if !ok {
			msg := "unknown field"
			if near := nearest(name, fields); near != "" {
				msg += fmt.Sprintf(" (did you mean %s?)", near)
			}
			d.fail(k, p, "%s", msg)
			continue
		}
		if seen[name] {
			d.fail(k, p, "given twice")
			continue
		}
		seen[name] = true
		d.value(val, v.Field(idx), p, depth+1)
	}
}

func (d *decoder) time(n *yaml.Node, v reflect.Value, path string) {
	const want = "want a date and time like 2026-03-01T14:30:00Z"
	if n.Kind != yaml.ScalarNode {
		d.fail(n, path, want)
		return
	}
	var t time.Time
	var err error
	switch {
	case n.Tag == "!!timestamp" && !d.json:
		err = n.Decode(&t)
	case n.Tag == "!!str":
		t, err = time.Parse(time.RFC3339Nano, n.Value)
	default:
		err = errors.New("not a time")
	}
	if err != nil {
		d.fail(n, path, "%s", want)
		return
	}
	v.Set(reflect.ValueOf(t))
}

func (d *decoder) scalar(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.ScalarNode {
		d.fail(n, path, "want a single value, not a list or a set of fields")
		return
	}
	switch v.Kind() {
	case reflect.String:
		// YAML text that looks like a number or a boolean (model: 2000)
		// is still the text the installer typed.
		plainYAML := !d.json && (n.Tag == "!!int" || n.Tag == "!!float" || n.Tag == "!!bool")
		if n.Tag != "!!str" && !plainYAML {
			d.fail(n, path, "want text")
			return
		}
		v.SetString(n.Value)
	case reflect.Bool:
		b, ok := d.boolean(n)
		if !ok {
			d.fail(n, path, "want true or false")
			return
		}
		v.SetBool(b)
	case reflect.Int:
		var i int64
		var err error
		switch {
		case n.Tag != "!!int":
			err = errors.New("not an integer")
		case d.json:
			i, err = strconv.ParseInt(n.Value, 10, 64)
		default:
			err = n.Decode(&i)
		}
		if err != nil || v.OverflowInt(i) {
			d.fail(n, path, "want a whole number")
			return
		}
		v.SetInt(i)
	case reflect.Float64:
		var f float64
		var err error
		switch {
		case n.Tag != "!!int" && n.Tag != "!!float":
			err = errors.New("not a number")
		case d.json:
			f, err = strconv.ParseFloat(n.Value, 64)
		default:
			err = n.Decode(&f)
		}
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			d.fail(n, path, "want a number")
			return
		}
		v.SetFloat(f)
	default:
		// Every field of the schema is one of the kinds above; a new kind
		// must be taught here (TestSchemaFields walks the types).
		d.fail(n, path, "cannot be read (unsupported field type %s)", v.Type())
	}
}

// boolean reads true or false; YAML also takes yes/no and on/off unquoted,
// which installers write and YAML 1.1 tools produce.
func (d *decoder) boolean(n *yaml.Node) (bool, bool) {
	if n.Tag == "!!bool" {
		b, err := strconv.ParseBool(strings.ToLower(n.Value))
		return b, err == nil
	}
	if d.json || n.Tag != "!!str" || n.Style != 0 {
		return false, false
	}
	switch strings.ToLower(n.Value) {
	case "yes", "on":
		return true, true
	case "no", "off":
		return false, true
	}
	return false, false
}

// fieldsOf maps the JSON names of t's fields to their indices.
func fieldsOf(t reflect.Type) map[string]int {
	m := make(map[string]int, t.NumField())
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if name != "" && name != "-" {
			m[name] = i
		}
	}
	return m
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// nearest returns the field name within two edits of name, if there is
// exactly one such, so a typo gets a hint.
func nearest(name string, fields map[string]int) string {
	best, found := "", 0
	for f := range fields {
		if editDistance(strings.ToLower(name), f) <= 2 {
			best, found = f, found+1
		}
	}
	if found == 1 {
		return best
	}
	return ""
}

// editDistance is the Levenshtein distance of a and b, in bytes; long names
// are not compared.
func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return math.MaxInt
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
