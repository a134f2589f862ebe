package notice

import (
	"strings"
	"time"
)

// facts returns complete facts for a notice in lang, every field set.
func facts(lang string) Facts {
	return Facts{
		Building:     "Maple Court",
		Address:      "14 Maple Street, Springfield 01105",
		Doors:        []string{"main entrance", "garden gate"},
		AccessHours:  "Mo-Fr 08:00-20:00; Sa 09:00-13:00",
		Operator:     "Parcelway Inc.",
		Contact:      Contact{Name: "Dana Ortiz", Phone: "+1 413 555 0100", Email: "tenants@parcelway.example", Web: "https://parcelway.example/help"},
		PolicyURL:    "https://parcelway.example/policy",
		Retention:    90 * 24 * time.Hour,
		Recipients:   []string{"Swift Couriers: only that the door opened, and when"},
		InstalledAt:  time.Date(2026, 11, 3, 10, 30, 0, 0, time.UTC),
		UnitLocation: "inside the intercom panel by the main entrance",
		StartsOn:     time.Date(2026, 12, 10, 0, 0, 0, 0, time.UTC),
		Lang:         lang,
	}
}

// mustText is Text for facts known to be valid.
func mustText(f Facts) string {
	s, err := Text(f)
	if err != nil {
		panic(err)
	}
	return s
}

// section returns the lines of text from heading up to the next blank line
// followed by a heading, i.e. one item's whole section.
func section(text, heading string) string {
	i := strings.Index(text, heading+"\n")
	if i < 0 {
		return ""
	}
	rest := text[i:]
	if j := strings.Index(rest, "\n\n"); j >= 0 {
		return rest[:j+1]
	}
	return rest
}
