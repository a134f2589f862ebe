package cmdutil

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/mattn/go-runewidth"
	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/renderer"
	"github.com/olekukonko/tablewriter/tw"
)

// WriteJSON writes v as indented JSON with a trailing newline.
func WriteJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// Table writes rows under a header: an aligned table for a person at a
// terminal, or plain tab-separated lines (header included) for a pipe, so
// scripts can cut and awk it. On a terminal too narrow for the table, the
// flex columns (free text such as names) are cut to fit, ending in "…";
// other columns are never cut. Piped output is never cut.
func Table(s *IO, header []string, rows [][]string, flex ...int) error {
	if !s.OutTTY {
		for _, r := range append([][]string{header}, rows...) {
			clean := make([]string, len(r))
			for i, c := range r {
				clean[i] = strings.NewReplacer("\t", " ", "\n", " ").Replace(c)
			}
			if _, err := fmt.Fprintln(s.Out, strings.Join(clean, "\t")); err != nil {
				return err
			}
		}
		return nil
	}
	opts := []tablewriter.Option{
		tablewriter.WithHeaderAutoFormat(tw.Off),
		tablewriter.WithHeaderAlignment(tw.AlignLeft),
		tablewriter.WithRowAutoWrap(tw.WrapNone),
		tablewriter.WithRenderer(renderer.NewBlueprint(tw.Rendition{
			Borders: tw.BorderNone,
			Symbols: tw.NewSymbols(tw.StyleLight),
			Settings: tw.Settings{
				Separators: tw.Separators{BetweenColumns: tw.Off, BetweenRows: tw.Off, ShowHeader: tw.Off},
				Lines:      tw.Lines{ShowHeaderLine: tw.On},
			},
		})),
	}
	rows = fitWidth(s.Width, header, rows, flex)
	t := tablewriter.NewTable(s.Out, opts...)
	t.Header(header)
	for _, r := range rows {
		if err := t.Append(r); err != nil {
			return err
		}
	}
	return t.Render()
}

// cellPadding is the space the table style puts around each cell.
const cellPadding = 2

// fitWidth cuts the widest flex column, one character at a time, until the
// table fits a terminal width columns wide or every flex column is down to
// minColumn; then the terminal wraps what is left over.
func fitWidth(width int, header []string, rows [][]string, flex []int) [][]string {
	const minColumn = 5
	if width <= 0 || len(flex) == 0 {
		return rows
	}
	w := make([]int, len(header))
	for i, h := range header {
		w[i] = runewidth.StringWidth(h)
	}
	for _, r := range rows {
		for i, c := range r {
			if i < len(w) {
				w[i] = max(w[i], runewidth.StringWidth(c))
			}
		}
	}
	total := 0
	for _, x := range w {
		total += x + cellPadding
	}
	for total > width {
		widest := -1
		for _, i := range flex {
			// Headers are not cut, so a column is never narrower than its own.
			floor := max(minColumn, runewidth.StringWidth(header[i]))
			if i < len(w) && w[i] > floor && (widest < 0 || w[i] > w[widest]) {
				widest = i
			}
		}
		if widest < 0 {
			break
		}
		w[widest]--
		total--
	}
	out := make([][]string, len(rows))
	for ri, r := range rows {
		out[ri] = make([]string, len(r))
		for i, c := range r {
			if i < len(w) && runewidth.StringWidth(c) > w[i] {
				c = runewidth.Truncate(c, w[i], "…")
			}
			out[ri][i] = c
		}
	}
	return out
}
