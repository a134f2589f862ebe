package notice

import (
	"regexp"
	"slices"
	"strings"
	"testing"
)

func TestCheckPassesGeneratedNotices(t *testing.T) {
	t.Parallel()
	for _, l := range Languages() {
		t.Run(l, func(t *testing.T) {
			t.Parallel()
			text := mustText(facts(l))
			if m := Check(text, l); len(m) > 0 {
				t.Errorf("Check = %v, want nothing missing", m)
			}
			// Windows line ends, as a notice saved on a laptop may have.
			if m := Check(strings.ReplaceAll(text, "\n", "\r\n"), l); len(m) > 0 {
				t.Errorf("Check(CRLF) = %v, want nothing missing", m)
			}
		})
	}
}

// headingOf is each item's heading per language, written out again here
// rather than read from the package's table, so a changed heading fails.
var headingOf = map[string]map[string]string{
	English: {
		ItemInstalled: "WHAT WAS INSTALLED", ItemAccess: "WHO CAN OPEN THE DOOR, AND WHEN",
		ItemLogged: "WHAT IS RECORDED, AND FOR HOW LONG", ItemRecipients: "WHO ELSE RECEIVES INFORMATION",
		ItemContact: "WHO TO CONTACT", ItemObject: "HOW TO OBJECT", ItemPolicy: "THE FULL POLICY",
	},
	Spanish: {
		ItemInstalled: "QUÉ SE INSTALÓ", ItemAccess: "QUIÉN PUEDE ABRIR LA PUERTA Y CUÁNDO",
		ItemLogged: "QUÉ SE REGISTRA Y DURANTE CUÁNTO TIEMPO", ItemRecipients: "QUIÉN MÁS RECIBE INFORMACIÓN",
		ItemContact: "A QUIÉN CONTACTAR", ItemObject: "CÓMO OPONERSE", ItemPolicy: "LA POLÍTICA COMPLETA",
	},
}

// TestCheckDetectsRemovedSection removes each item's whole section, heading
// and all, and expects exactly that item reported.
func TestCheckDetectsRemovedSection(t *testing.T) {
	t.Parallel()
	for _, l := range Languages() {
		for _, id := range Items() {
			t.Run(l+"/"+id, func(t *testing.T) {
				t.Parallel()
				text := mustText(facts(l))
				sec := section(text, headingOf[l][id])
				if sec == "" {
					t.Fatalf("no section %q in\n%s", headingOf[l][id], text)
				}
				got := Check(strings.Replace(text, sec, "", 1), l)
				if len(got) != 1 || got[0].Item != id {
					t.Errorf("without section %s: Check = %v, want only %s missing", id, got, id)
				}
			})
		}
	}
}

// TestCheckDetectsRemovedFact removes one line or phrase at a time (a fact
// left blank, a promise dropped, a heading renamed) and expects its item
// reported, and only it.
func TestCheckDetectsRemovedFact(t *testing.T) {
	t.Parallel()
	tests := []struct {
		lang, item string
		cut        string // a regexp; every match is removed
	}{
		{English, ItemInstalled, `WHAT WAS INSTALLED`},
		{English, ItemInstalled, `(?m)^  Installed on: .*\n`},
		{English, ItemInstalled, `November 2026`},
		{English, ItemInstalled, `(?m)^  Where it is: .*\n`},
		{English, ItemInstalled, `(?m)^  Doors it can open: .*\n`},
		{English, ItemInstalled, `(?m)^  Run by: .*\n`},
		{English, ItemAccess, `Only a courier with a parcel for this building`},
		{English, ItemAccess, `(?m)^  When: .*\n`},
		{English, ItemLogged, `the unit records the date and time, which door, and the parcel that was scanned.`},
		{English, ItemLogged, `(?m)^  Kept for: .*\n`},
		{English, ItemLogged, `90 `},
		{English, ItemRecipients, `(?m)^  - .*\n`},
		{English, ItemContact, `(?m)^  Name: .*\n`},
		{English, ItemContact, `(?m)^  (Phone|Email): .*\n`},
		{English, ItemObject, `You can object at any time`},
		{English, ItemObject, `Objecting is free`},
		{English, ItemObject, `answers you in writing`},
		{English, ItemPolicy, `https://parcelway.example/policy`},
		{English, ItemPolicy, `THE FULL POLICY`},
		{Spanish, ItemInstalled, `(?m)^  Instalado el: .*\n`},
		{Spanish, ItemInstalled, `noviembre`},
		{Spanish, ItemInstalled, `(?m)^  Dónde está: .*\n`},
		{Spanish, ItemInstalled, `(?m)^  Puertas que puede abrir: .*\n`},
		{Spanish, ItemInstalled, `(?m)^  Responsable: .*\n`},
		{Spanish, ItemAccess, `QUIÉN PUEDE ABRIR LA PUERTA Y CUÁNDO`},
		{Spanish, ItemAccess, `Solo un repartidor con un paquete para este edificio`},
		{Spanish, ItemAccess, `(?m)^  Cuándo: .*\n`},
		{Spanish, ItemLogged, `el aparato registra la fecha`},
		{Spanish, ItemLogged, `(?m)^  Se guarda: .*\n`},
		{Spanish, ItemRecipients, `(?m)^  - .*\n`},
		{Spanish, ItemContact, `(?m)^  Nombre: .*\n`},
		{Spanish, ItemContact, `(?m)^  (Teléfono|Correo electrónico): .*\n`},
		{Spanish, ItemObject, `Puede oponerse en cualquier momento`},
		{Spanish, ItemObject, `Oponerse es gratis`},
		{Spanish, ItemObject, `le responde por escrito`},
		{Spanish, ItemPolicy, `https://parcelway.example/policy`},
	}
	for _, tt := range tests {
		t.Run(tt.lang+"/"+tt.item+"/"+tt.cut, func(t *testing.T) {
			t.Parallel()
			text := mustText(facts(tt.lang))
			re := regexp.MustCompile(tt.cut)
			if !re.MatchString(text) {
				t.Fatalf("%q is not in the notice:\n%s", tt.cut, text)
			}
			got := Check(re.ReplaceAllString(text, ""), tt.lang)
			if len(got) != 1 || got[0].Item != tt.item {
				t.Errorf("without %q: Check = %v, want only %s missing", tt.cut, got, tt.item)
			}
		})
	}
}

// TestCheckEveryMarker removes what each of the package's own markers
// matches, so a marker no test exercises cannot creep in.
func TestCheckEveryMarker(t *testing.T) {
	t.Parallel()
	for _, l := range Languages() {
		if got, want := len(items[l]), len(Items()); got != want {
			t.Fatalf("%s: %d items, want %d", l, got, want)
		}
		text := mustText(facts(l))
		for i, it := range items[l] {
			if it.id != Items()[i] {
				t.Errorf("%s: item %d is %s, want %s", l, i, it.id, Items()[i])
			}
			for _, mk := range it.markers {
				got := Check(mk.re.ReplaceAllString(text, ""), l)
				if len(got) != 1 || got[0].Item != it.id || !slices.Contains(got[0].Want, mk.what) {
					t.Errorf("%s: without %s (%s): Check = %v", l, mk.what, it.id, got)
				}
			}
		}
	}
}

func TestCheckOtherFaults(t *testing.T) {
	t.Parallel()
	en := mustText(facts(English))
	tests := []struct {
		name, text, lang string
		want             []string // item ids reported
	}{
		{"unknown language", en, "fr", []string{"lang"}},
		{"English checked as Spanish", en, Spanish, Items()},
		{"empty", "", English, Items()},
		{
			// A heading inside a sentence is not a heading.
			"heading not on its own line",
			strings.Replace(en, "HOW TO OBJECT\n", "Read HOW TO OBJECT\n", 1), English,
			[]string{ItemObject},
		},
		{
			// The policy section moved above the contact section: its
			// heading is out of order, and its lines now sit in the
			// contact section.
			"sections out of order",
			strings.Replace(
				strings.Replace(en, section(en, "THE FULL POLICY"), "", 1),
				"WHO TO CONTACT\n", section(en, "THE FULL POLICY")+"\nWHO TO CONTACT\n", 1),
			English, []string{ItemPolicy},
		},
		{
			// The retention moved under another heading is not the
			// retention.
			"fact under the wrong heading",
			strings.Replace(
				strings.Replace(en, "  Kept for: 90 days, then deleted\n", "", 1),
				"  Read it at:", "  Kept for: 90 days, then deleted\n  Read it at:", 1),
			English, []string{ItemLogged},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var got []string
			for _, m := range Check(tt.text, tt.lang) {
				got = append(got, m.Item)
				if len(m.Want) == 0 || m.String() == "" {
					t.Errorf("missing %s says nothing", m.Item)
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("Check items = %v, want %v", got, tt.want)
			}
		})
	}
}
