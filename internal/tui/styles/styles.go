// Package styles is latchkey's one style sheet: every colour and emphasis the
// screens and forms use comes from DefaultStyles, so --no-color and a later
// theme change touch one place.
package styles

import (
	"github.com/charmbracelet/huh"
	"github.com/charmbracelet/lipgloss"
)

// Styles are the named styles of the product.
type Styles struct {
	Title   lipgloss.Style
	OK      lipgloss.Style
	Warn    lipgloss.Style
	Error   lipgloss.Style
	Muted   lipgloss.Style
	Heading lipgloss.Style
}

// DefaultStyles returns the style sheet; with noColor every style is plain.
func DefaultStyles(noColor bool) Styles {
	if noColor {
		p := lipgloss.NewStyle()
		return Styles{Title: p, OK: p, Warn: p, Error: p, Muted: p, Heading: p}
	}
	return Styles{
		Title:   lipgloss.NewStyle().Bold(true).Foreground(lipgloss.Color("12")),
		OK:      lipgloss.NewStyle().Foreground(lipgloss.Color("10")),
		Warn:    lipgloss.NewStyle().Foreground(lipgloss.Color("11")),
		Error:   lipgloss.NewStyle().Bold(true).Foreground(lipgloss.Color("9")),
		Muted:   lipgloss.NewStyle().Foreground(lipgloss.Color("8")),
		Heading: lipgloss.NewStyle().Bold(true),
	}
}

// FormTheme is the theme of every huh form.
func FormTheme(noColor bool) *huh.Theme {
	if noColor {
		return huh.ThemeBase()
	}
	return huh.ThemeCharm()
}
