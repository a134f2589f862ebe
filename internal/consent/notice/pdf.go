package notice

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/go-pdf/fpdf"
	"golang.org/x/text/encoding/charmap"
)

// ErrTooLong means the notice does not fit on one page. A notice that runs
// over is a notice whose second page gets lost from the notice board, so it
// is refused rather than printed.
var ErrTooLong = errors.New("notice does not fit on one page")

// Page layout, in millimetres and points. US Letter is the smaller of the
// two common papers, so a notice that fits it fits A4 as well. The body
// text is 11 point, a size most people read without glasses at a notice
// board; a long notice is set smaller, down to 9 point, before it is
// refused as too long.
const (
	pageSize    = "Letter"
	margin      = 18.0
	indent      = 6.0
	lineSpacing = 1.4
	ptToMM      = 25.4 / 72
)

var bodySizes = []float64{11, 10, 9}

// PDF returns the notice for f as a one-page PDF. The PDF is a layout of
// Text(f), line for line, in the built-in Helvetica (whose Windows-1252
// code page covers English and Spanish). Its dates are now's (UTC) and it
// is uncompressed, so the same facts and now give the same bytes. It fails
// with ErrFacts for a fact the font cannot print and ErrTooLong when the
// notice runs over one page.
func PDF(f Facts, now time.Time) ([]byte, error) {
	text, err := Text(f)
	if err != nil {
		return nil, err
	}
	for i, r := range text {
		if r == '\n' {
			continue
		}
		if _, ok := charmap.Windows1252.EncodeRune(r); !ok {
			line := text[strings.LastIndexByte(text[:i], '\n')+1:]
			line, _, _ = strings.Cut(line, "\n")
			return nil, fmt.Errorf("%w: %q in %q cannot be printed in the PDF's font (Latin letters only)", ErrFacts, r, strings.TrimSpace(line))
		}
	}

	now = now.UTC()
	lines := strings.Split(strings.TrimRight(text, "\n"), "\n")
	var pages int
	for _, size := range bodySizes {
		pdf := layout(f, lines, size, now)
		if pages = pdf.PageCount(); pages > 1 {
			continue
		}
		var b bytes.Buffer
		if err := pdf.Output(&b); err != nil {
			return nil, fmt.Errorf("notice pdf: %w", err)
		}
		return b.Bytes(), nil
	}
	return nil, fmt.Errorf("%w: it takes %d pages even in small print; shorten the longest facts", ErrTooLong, pages)
}

// layout sets the notice's lines on pages with a body text of size points.
func layout(f Facts, lines []string, size float64, now time.Time) *fpdf.Fpdf {
	pdf := fpdf.New("P", "mm", pageSize, "")
	pdf.SetCompression(false)
	pdf.SetCatalogSort(true)
	pdf.SetCreationDate(now)
	pdf.SetModificationDate(now)
	pdf.SetProducer("latchkey", false)
	pdf.SetLang(f.Lang)
	pdf.SetMargins(margin, margin, margin)
	pdf.SetAutoPageBreak(true, margin)
	tr := pdf.UnicodeTranslatorFromDescriptor("")
	pdf.SetTitle(lines[0], true)
	pdf.SetAuthor(f.Operator, true)
	pdf.AddPage()
	hs := headings(f.Lang)
	lh := size * lineSpacing * ptToMM
	for i, line := range lines {
		switch {
		case i == 0:
			pdf.SetFont("Helvetica", "B", size+4)
			pdf.MultiCell(0, lh+1.5, tr(line), "", "L", false)
		case line == "":
			pdf.Ln(lh / 2)
		case slices.Contains(hs, line):
			pdf.SetFont("Helvetica", "B", size+1)
			pdf.MultiCell(0, lh+0.5, tr(line), "", "L", false)
		case strings.HasPrefix(line, "  "):
			pdf.SetFont("Helvetica", "", size)
			pdf.SetX(margin + indent)
			pdf.MultiCell(0, lh, tr(strings.TrimSpace(line)), "", "L", false)
		default:
			pdf.SetFont("Helvetica", "", size)
			pdf.MultiCell(0, lh, tr(line), "", "L", false)
		}
	}
	return pdf
}
