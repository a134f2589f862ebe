package notice

import (
	"bytes"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"
)

var printedAt = time.Date(2026, 11, 3, 12, 0, 0, 0, time.UTC)

// pageObjects matches each page object of an uncompressed PDF (not the
// /Pages tree).
var pageObjects = regexp.MustCompile(`/Type /Page\b[^s]`)

func TestPDF(t *testing.T) {
	t.Parallel()
	full := func(l string) Facts { return facts(l) }
	// Every field at its limit, with the most doors and recipients allowed:
	// the layout must still fit one page.
	longest := func(l string) Facts {
		f := facts(l)
		long := func(s string) string { return s + strings.Repeat(" long", (maxField-len(s))/5) }
		f.Building, f.Address, f.Operator = long("Building"), long("Address"), long("Operator")
		f.UnitLocation, f.AccessHours = long("Location"), long("Hours")
		f.Contact = Contact{Name: long("Name"), Phone: long("Phone"), Email: long("Email"), Web: long("Web")}
		f.PolicyURL = "https://example.com/" + strings.Repeat("p", maxField-20)
		door := func(s string) string { return s + strings.Repeat(" door", (maxDoor-len(s))/5) }
		f.Doors, f.Recipients = nil, nil
		for i := range maxDoors {
			f.Doors = append(f.Doors, door(string(rune('A'+i))))
		}
		for i := range maxRecipients {
			f.Recipients = append(f.Recipients, long(string(rune('A'+i))))
		}
		return f
	}
	for _, l := range Languages() {
		for name, mk := range map[string]func(string) Facts{"full": full, "longest": longest} {
			t.Run(l+"/"+name, func(t *testing.T) {
				t.Parallel()
				f := mk(l)
				b, err := PDF(f, printedAt)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.HasPrefix(b, []byte("%PDF-")) {
					t.Errorf("PDF starts %q, want %%PDF-", b[:min(len(b), 8)])
				}
				if n := len(pageObjects.FindAll(b, -1)); n != 1 {
					t.Errorf("PDF has %d pages, want 1", n)
				}
				if !bytes.Contains(b, []byte("/Count 1")) {
					t.Error("PDF page tree does not count 1 page")
				}
				again, err := PDF(f, printedAt)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(b, again) {
					t.Error("PDF differs between two runs with the same input")
				}
				later, err := PDF(f, printedAt.Add(time.Hour))
				if err != nil {
					t.Fatal(err)
				}
				if bytes.Equal(b, later) {
					t.Error("PDF does not carry its print time")
				}
				if !bytes.Contains(b, []byte("/CreationDate (D:20261103120000)")) {
					t.Error("PDF lacks its creation date")
				}
				// Uncompressed, so the facts are in the bytes (in the
				// font's code page, which is ASCII for these).
				for _, s := range []string{"(" + f.Address + ")", f.Contact.Phone} {
					if !bytes.Contains(b, []byte(s)) {
						t.Errorf("PDF lacks %q", s)
					}
				}
			})
		}
	}
}

// TestPDFSpanishAccents checks accented letters reach the PDF in the font's
// code page (Windows-1252), not as UTF-8 bytes.
func TestPDFSpanishAccents(t *testing.T) {
	t.Parallel()
	b, err := PDF(facts(Spanish), printedAt)
	if err != nil {
		t.Fatal(err)
	}
	cp1252 := []byte("(QU\xc9 SE INSTAL\xd3)") // É = 0xC9, Ó = 0xD3
	if !bytes.Contains(b, cp1252) {
		t.Error("PDF lacks the heading QUÉ SE INSTALÓ in Windows-1252")
	}
	if bytes.Contains(b, []byte("INSTALÓ")) {
		t.Error("PDF carries UTF-8 text the built-in font cannot show")
	}
}

func TestPDFRefusesUnprintableText(t *testing.T) {
	t.Parallel()
	f := facts(English)
	f.Building = "Sakura Haitsu 桜ハイツ"
	_, err := PDF(f, printedAt)
	if !errors.Is(err, ErrFacts) || !strings.Contains(err.Error(), "桜") {
		t.Fatalf("PDF: error %v, want ErrFacts naming the character", err)
	}
	// The text notice has no font, so it takes it.
	if _, err := Text(f); err != nil {
		t.Errorf("Text: %v", err)
	}
}
