package wizard

import (
	"fmt"
	"slices"
	"strings"

	"github.com/charmbracelet/bubbles/cursor"
	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"

	"github.com/latchkey/latchkey/internal/tui/styles"
)

// The wizard's forms are its own small widget rather than huh: every key is
// a plain one tmux can send, nothing blinks (a golden file is the same every
// run), and problems from the domain's validation are shown against the
// field they name while typing.

type fieldKind int

const (
	textField   fieldKind = iota
	choiceField           // one of a list, changed with ←/→ or space
	boolField             // no/yes, changed with y/n, ←/→ or space
	staticField           // shown, not edited (the cursor skips it)
)

// field is one row of a form. key names it for problems: a survey path
// ("entrances[0].door_type") or a name of the screen's own.
type field struct {
	key     string
	label   string
	kind    fieldKind
	input   textinput.Model
	choices []string
	choice  int // index in choices; -1 when nothing is chosen yet
	// optional lets a choice go back to nothing ("(none)").
	optional bool
	on       bool
	static   string
	heading  string // drawn above the field
	hint     string // shown under the form when the field has the cursor and no problem
	hidden   bool
}

// form is a column of fields with one under the cursor.
type form struct {
	fields   []field
	focus    int
	problems map[string][]string // by field key
	general  []string            // problems no field shows
	width    int
}

// formAction is what a key did to the form beyond editing it.
type formAction int

const (
	formNone   formAction = iota
	formEdited            // a value changed
	formMoved             // the cursor moved to another field
	formSubmit            // enter
	formBack              // esc
)

const labelWidth = 24

func newText(key, label, value string) field {
	in := textinput.New()
	in.Prompt = ""
	in.CharLimit = 400
	// A static cursor: a blinking one would make each frame differ.
	in.Cursor.SetMode(cursor.CursorStatic)
	in.SetValue(value)
	in.CursorEnd()
	return field{key: key, label: label, kind: textField, input: in, choice: -1}
}

func newChoice(key, label string, choices []string, value string) field {
	return field{key: key, label: label, kind: choiceField, choices: choices, choice: slices.Index(choices, value)}
}

func newBool(key, label string, on bool) field {
	return field{key: key, label: label, kind: boolField, on: on, choice: -1}
}

func newStatic(key, label, value string) field {
	return field{key: key, label: label, kind: staticField, static: value, choice: -1}
}

func (f field) withHeading(h string) field { f.heading = h; return f }
func (f field) withOptional() field        { f.optional = true; return f }
func (f field) withHint(h string) field    { f.hint = h; return f }
func (f field) withPlaceholder(p string) field {
	f.input.Placeholder = p
	return f
}

func newForm(width int, fields ...field) form {
	fm := form{fields: fields}
	fm.resize(width)
	fm.focus = -1
	fm.move(1)
	return fm
}

// own gives f its own copy of its fields before one of them changes. A
// form is a value inside the model, and Update returns a new model: the
// model it was given (the previous frame, a copy a test or a caller kept)
// shares the fields' backing array, so changing a field in place would
// change that model too (copy-on-write).
func (f *form) own() { f.fields = slices.Clone(f.fields) }

// resize fits the text inputs into width columns.
func (f *form) resize(width int) {
	f.own()
	f.width = width
	w := max(width-f.labelWidth()-6, 8)
	for i := range f.fields {
		f.fields[i].input.Width = w
	}
	f.refocus()
}

func (f *form) refocus() {
	f.own()
	for i := range f.fields {
		if i == f.focus && f.fields[i].kind == textField {
			f.fields[i].input.Focus()
		} else {
			f.fields[i].input.Blur()
		}
	}
}

// move puts the cursor on the next visible field in direction dir (wrapping).
func (f *form) move(dir int) {
	n := len(f.fields)
	if n == 0 {
		return
	}
	i := f.focus
	for range n {
		i = (i + dir + n) % n
		if !f.fields[i].hidden && f.fields[i].kind != staticField {
			f.focus = i
			break
		}
	}
	f.refocus()
}

// focusKey puts the cursor on the field named key.
func (f *form) focusKey(key string) {
	if i := f.index(key); i >= 0 && !f.fields[i].hidden {
		f.focus = i
		f.refocus()
	}
}

func (f form) index(key string) int {
	return slices.IndexFunc(f.fields, func(x field) bool { return x.key == key })
}

// focused is the field under the cursor (a zero field when there is none).
func (f form) focused() field {
	if f.focus < 0 || f.focus >= len(f.fields) {
		return field{}
	}
	return f.fields[f.focus]
}

// value is the field's value as text: a choice's name, "yes" or "no".
func (f form) value(key string) string {
	i := f.index(key)
	if i < 0 {
		return ""
	}
	x := f.fields[i]
	switch x.kind {
	case choiceField:
		if x.choice < 0 || x.choice >= len(x.choices) {
			return ""
		}
		return x.choices[x.choice]
	case boolField:
		if x.on {
			return "yes"
		}
		return "no"
	}
	return x.input.Value()
}

func (f form) on(key string) bool {
	i := f.index(key)
	return i >= 0 && f.fields[i].on
}

func (f *form) setValue(key, v string) {
	i := f.index(key)
	if i < 0 {
		return
	}
	f.own()
	x := &f.fields[i]
	switch x.kind {
	case choiceField:
		x.choice = slices.Index(x.choices, v)
	case boolField:
		x.on = v == "yes"
	default:
		x.input.SetValue(v)
		x.input.CursorEnd()
	}
}

func (f *form) setHidden(key string, hidden bool) {
	if i := f.index(key); i >= 0 && f.fields[i].hidden != hidden {
		f.own()
		f.fields[i].hidden = hidden
	}
	if f.focused().hidden {
		f.move(1)
	}
}

// update handles a key: moving between fields, changing a choice, typing.
func (f form) update(msg tea.KeyMsg) (form, formAction) {
	switch msg.String() {
	case "tab", "down":
		f.move(1)
		return f, formMoved
	case "shift+tab", "up":
		f.move(-1)
		return f, formMoved
	case "enter":
		return f, formSubmit
	case "esc":
		return f, formBack
	}
	if f.focus < 0 || f.focus >= len(f.fields) {
		return f, formNone
	}
	f.own()
	x := &f.fields[f.focus]
	switch x.kind {
	case choiceField:
		n, lowest := len(x.choices), 0
		if x.optional {
			lowest = -1
		}
		switch msg.String() {
		case "right", "l", " ":
			if x.choice++; x.choice >= n {
				x.choice = lowest
			}
		case "left", "h":
			if x.choice--; x.choice < lowest {
				x.choice = n - 1
			}
		default:
			return f, formNone
		}
		return f, formEdited
	case boolField:
		switch msg.String() {
		case "right", "left", "l", "h", " ":
			x.on = !x.on
		case "y":
			x.on = true
		case "n":
			x.on = false
		default:
			return f, formNone
		}
		return f, formEdited
	}
	before := x.input.Value()
	x.input, _ = x.input.Update(msg)
	if x.input.Value() != before {
		return f, formEdited
	}
	return f, formNone
}

// problemCount is how many problems the form shows.
func (f form) problemCount() int {
	n := len(f.general)
	for _, ps := range f.problems {
		n += len(ps)
	}
	return n
}

// view draws the form in height lines at most: the rows around the cursor,
// then what is wrong with the field under the cursor (or its hint), then a
// summary of what is left to fix.
func (f form) view(st styles.Styles, height int) []string {
	type row struct {
		text  string
		field int
	}
	var rows []row
	for i, x := range f.fields {
		if x.hidden {
			continue
		}
		if x.heading != "" {
			rows = append(rows, row{text: st.Heading.Render(x.heading), field: -1})
		}
		rows = append(rows, row{text: f.fieldLine(st, i), field: i})
	}
	foot := f.footer(st)
	visible := max(height-len(foot), 1)
	at := slices.IndexFunc(rows, func(r row) bool { return r.field == f.focus })
	start := 0
	if len(rows) > visible && at >= 0 {
		start = min(max(at-visible/3, 0), len(rows)-visible)
	}
	var out []string
	for i := start; i < len(rows) && len(out) < visible; i++ {
		out = append(out, rows[i].text)
	}
	if start > 0 && len(out) > 0 {
		out[0] = ansi.Truncate(out[0], max(f.width-2, 1), "") + st.Muted.Render(" ↑")
	}
	if start+visible < len(rows) && len(out) > 0 {
		last := len(out) - 1
		out[last] = out[last] + st.Muted.Render("  ↓ more below")
	}
	return append(out, foot...)
}

func (f form) fieldLine(st styles.Styles, i int) string {
	x := f.fields[i]
	mark := "  "
	switch {
	case i == f.focus:
		mark = st.Focus.Render("▸ ")
	case len(f.problems[x.key]) > 0:
		mark = st.Error.Render("! ")
	}
	lw := f.labelWidth()
	label := x.label
	if x.kind != boolField || lipgloss.Width(label) <= lw {
		label = ansi.Truncate(label, lw, "…")
	}
	if w := lipgloss.Width(label); w < lw {
		label += strings.Repeat(" ", lw-w)
	}
	if i == f.focus {
		label = st.Focus.Render(label)
	}
	return mark + label + " " + f.valueView(st, i)
}

// labelWidth is the label column: narrower on a narrow terminal.
func (f form) labelWidth() int {
	if f.width > 0 && f.width < 64 {
		return max(f.width/3, 8)
	}
	return labelWidth
}

func (f form) valueView(st styles.Styles, i int) string {
	x := f.fields[i]
	focused := i == f.focus
	switch x.kind {
	case staticField:
		return x.static
	case choiceField:
		v := "(choose)"
		if x.optional {
			v = "(none)"
		}
		if x.choice >= 0 && x.choice < len(x.choices) {
			v = x.choices[x.choice]
		} else {
			v = st.Muted.Render(v)
		}
		if focused {
			return "‹ " + v + " ›"
		}
		return v
	case boolField:
		v := "no"
		if x.on {
			v = "yes"
		}
		if focused {
			return "‹ " + v + " ›"
		}
		return v
	}
	if focused {
		return x.input.View()
	}
	v := x.input.Value()
	if v == "" && x.input.Placeholder != "" {
		return st.Muted.Render(x.input.Placeholder)
	}
	return ansi.Truncate(v, max(f.width-f.labelWidth()-4, 4), "…")
}

// footer is the problem (or hint) of the field under the cursor and the
// count of problems left.
func (f form) footer(st styles.Styles) []string {
	x := f.focused()
	var out []string
	if ps := f.problems[x.key]; len(ps) > 0 {
		out = append(out, st.Error.Render("! "+x.label+": "+ps[0]))
		if len(ps) > 1 {
			out = append(out, st.Error.Render(fmt.Sprintf("  and %d more for this field", len(ps)-1)))
		}
	} else if h := f.fieldHint(x); h != "" {
		out = append(out, st.Muted.Render(h))
	} else {
		out = append(out, "")
	}
	switch n := f.problemCount(); {
	case len(f.general) > 0:
		out = append(out, st.Warn.Render(fmt.Sprintf("%d to fix; %s", n, f.general[0])))
	case n == 1:
		out = append(out, st.Warn.Render("1 problem to fix (marked !)"))
	case n > 1:
		out = append(out, st.Warn.Render(fmt.Sprintf("%d problems to fix (marked !)", n)))
	default:
		out = append(out, st.OK.Render("no problems"))
	}
	return out
}

func (f form) fieldHint(x field) string {
	if x.hint != "" {
		return x.hint
	}
	switch x.kind {
	case choiceField:
		return "←/→ or space to choose: " + strings.Join(x.choices, ", ")
	case boolField:
		return "y or n (or space) to change"
	}
	return ""
}

// setProblems shows problems by path: each goes to the field whose key is
// the path or its nearest parent ("hazards[2]" to "hazards"); the rest are
// general. Problems of hidden fields are general too.
func (f *form) setProblems(paths []string, messages []string) {
	f.problems = map[string][]string{}
	f.general = nil
	for i, p := range paths {
		key := f.fieldFor(p)
		if key == "" {
			msg := messages[i]
			if p != "" {
				msg = p + ": " + msg
			}
			f.general = append(f.general, msg)
			continue
		}
		f.problems[key] = append(f.problems[key], messages[i])
	}
}

func (f form) fieldFor(path string) string {
	for p := path; p != ""; p = parentPath(p) {
		if i := f.index(p); i >= 0 && !f.fields[i].hidden {
			return p
		}
	}
	return ""
}

// parentPath drops the last ".name" or "[n]" of a path.
func parentPath(p string) string {
	i := strings.LastIndexAny(p, ".[")
	if i <= 0 {
		return ""
	}
	return p[:i]
}
