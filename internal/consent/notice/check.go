package notice

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// The items every notice must carry (the list), by id.
const (
	ItemInstalled  = "installed"  // what was installed and where
	ItemAccess     = "access"     // who can open the door and when
	ItemLogged     = "logged"     // what is logged and how long it is kept
	ItemRecipients = "recipients" // who else receives data
	ItemContact    = "contact"    // whom to contact
	ItemObject     = "object"     // how to object, that it is free, how it is handled
	ItemPolicy     = "policy"     // where the full policy is
)

// Items returns the ids of the required items, in the order a notice
// presents them.
func Items() []string {
	return []string{ItemInstalled, ItemAccess, ItemLogged, ItemRecipients, ItemContact, ItemObject, ItemPolicy}
}

// marker is one thing that shows an item is present: a pattern and, for a
// person reading a failed check, what it stands for.
type marker struct {
	what string
	re   *regexp.Regexp
}

// item is a required item in one language: its section heading and the
// markers that must appear in its section (from the heading to the next
// item's heading). Markers for facts match a filled value, not just the
// label, so a notice with a blank where the retention should be fails.
type item struct {
	id      string
	heading string
	markers []marker
}

func m(what, pattern string) marker {
	return marker{what: what, re: regexp.MustCompile(`(?m)` + pattern)}
}

// items holds the required items per language, in Items order.
var items = map[string][]item{
	English: {
		{ItemInstalled, "WHAT WAS INSTALLED", []marker{
			m("installation date", `^\s*Installed on: \d{1,2} \pL+ \d{4}\s*$`),
			m("where the unit is", `^\s*Where it is: \S`),
			m("doors it can open", `^\s*Doors it can open: \S`),
			m("who runs it", `^\s*Run by: \S`),
		}},
		{ItemAccess, "WHO CAN OPEN THE DOOR, AND WHEN", []marker{
			m("who may open the door", `Only a courier with a parcel for this building`),
			m("when", `^\s*When: \S`),
		}},
		{ItemLogged, "WHAT IS RECORDED, AND FOR HOW LONG", []marker{
			m("what is recorded", `the unit records \S`),
			m("how long it is kept", `^\s*Kept for: \d+ days\b`),
		}},
		{ItemRecipients, "WHO ELSE RECEIVES INFORMATION", []marker{
			m("each recipient, or that there is none", `^\s*(- \S|No one else\.)`),
		}},
		{ItemContact, "WHO TO CONTACT", []marker{
			m("contact name", `^\s*Name: \S`),
			m("contact phone or email", `^\s*(Phone|Email): \S`),
		}},
		{ItemObject, "HOW TO OBJECT", []marker{
			m("that anyone can object", `You can object at any time`),
			m("that objecting is free", `Objecting is free`),
			m("how an objection is handled", `answers you in writing`),
		}},
		{ItemPolicy, "THE FULL POLICY", []marker{
			m("policy address", `^\s*Read it at: https?://\S+`),
		}},
	},
	Spanish: {
		{ItemInstalled, "QUÉ SE INSTALÓ", []marker{
			m("installation date", `^\s*Instalado el: \d{1,2} de \pL+ de \d{4}\s*$`),
			m("where the unit is", `^\s*Dónde está: \S`),
			m("doors it can open", `^\s*Puertas que puede abrir: \S`),
			m("who runs it", `^\s*Responsable: \S`),
		}},
		{ItemAccess, "QUIÉN PUEDE ABRIR LA PUERTA Y CUÁNDO", []marker{
			m("who may open the door", `Solo un repartidor con un paquete para este edificio`),
			m("when", `^\s*Cuándo: \S`),
		}},
		{ItemLogged, "QUÉ SE REGISTRA Y DURANTE CUÁNTO TIEMPO", []marker{
			m("what is recorded", `el aparato registra \S`),
			m("how long it is kept", `^\s*Se guarda: \d+ días\b`),
		}},
		{ItemRecipients, "QUIÉN MÁS RECIBE INFORMACIÓN", []marker{
			m("each recipient, or that there is none", `^\s*(- \S|Nadie más\.)`),
		}},
		{ItemContact, "A QUIÉN CONTACTAR", []marker{
			m("contact name", `^\s*Nombre: \S`),
			m("contact phone or email", `^\s*(Teléfono|Correo electrónico): \S`),
		}},
		{ItemObject, "CÓMO OPONERSE", []marker{
			m("that anyone can object", `Puede oponerse en cualquier momento`),
			m("that objecting is free", `Oponerse es gratis`),
			m("how an objection is handled", `le responde por escrito`),
		}},
		{ItemPolicy, "LA POLÍTICA COMPLETA", []marker{
			m("policy address", `^\s*Léala en: https?://\S+`),
		}},
	},
}

// Missing is a required item that a notice lacks, or lacks part of.
type Missing struct {
	// Item is the item's id (one of Items), or "lang" when the language
	// has no content check.
	Item string `json:"item"`
	// Want says, in words, what was looked for and not found.
	Want []string `json:"want"`
}

// String says what is missing in one line: "logged: no how long it is kept".
func (m Missing) String() string {
	return fmt.Sprintf("%s: no %s", m.Item, strings.Join(m.Want, ", no "))
}

// Check is the content check: it reports each required item that text, a
// notice in language lang, does not carry in full. An item is present when
// its heading stands on a line of its own and every one of its markers
// matches within its section, the lines between its heading and the next
// item's heading. Headings must come in the order of Items. A notice passes
// when Check returns nothing.
func Check(text, lang string) []Missing {
	its, ok := items[lang]
	if !ok {
		return []Missing{{Item: "lang", Want: []string{fmt.Sprintf("content check for language %q", lang)}}}
	}
	text = strings.ReplaceAll(text, "\r\n", "\n")
	// Where each heading starts, or -1; a heading must follow the one
	// before it, so a shuffled or duplicated section cannot stand in.
	starts := make([]int, len(its))
	from := 0
	for i, it := range its {
		starts[i] = headingAt(text, it.heading, from)
		if starts[i] >= 0 {
			from = starts[i] + len(it.heading)
		}
	}
	var missing []Missing
	for i, it := range its {
		if starts[i] < 0 {
			missing = append(missing, Missing{Item: it.id, Want: []string{fmt.Sprintf("heading %q", it.heading)}})
			continue
		}
		end := len(text)
		for _, s := range starts[i+1:] {
			if s >= 0 {
				end = s
				break
			}
		}
		section := text[starts[i]+len(it.heading) : end]
		var want []string
		for _, mk := range it.markers {
			if !mk.re.MatchString(section) {
				want = append(want, mk.what)
			}
		}
		if len(want) > 0 {
			missing = append(missing, Missing{Item: it.id, Want: want})
		}
	}
	return missing
}

// headingAt returns where heading stands on a line of its own in text at
// or after from, or -1.
func headingAt(text, heading string, from int) int {
	for from <= len(text) {
		i := strings.Index(text[from:], heading)
		if i < 0 {
			return -1
		}
		i += from
		lineStart := i == 0 || text[i-1] == '\n'
		after := i + len(heading)
		lineEnd := after == len(text) || text[after] == '\n'
		if lineStart && lineEnd {
			return i
		}
		from = after
	}
	return -1
}

// headings returns the section headings of lang, for the PDF layout.
func headings(lang string) []string {
	var hs []string
	for _, it := range items[lang] {
		hs = append(hs, it.heading)
	}
	return slices.Clip(hs)
}
