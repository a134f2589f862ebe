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

	// StepDone, StepCurrent, StepTodo and StepBlocked mark the steps of a
	// multi-step screen (the install wizard's step list).
	StepDone    lipgloss.Style
	StepCurrent lipgloss.Style
	StepTodo    lipgloss.Style
	StepBlocked lipgloss.Style
	// Help is the bottom line listing a screen's keys; Key a key in it or
	// in a prompt ("enter", "y/n").
	Help lipgloss.Style
	Key  lipgloss.Style
	// Focus marks the form field under the cursor.
	Focus lipgloss.Style
	// Hint is the box of short hints for a new installer (--tour).
	Hint lipgloss.Style
	// Big shows a code the installer compares by eye (a unit's label code).
	Big lipgloss.Style
	// Demo marks a screen that runs against simulated hardware.
	Demo lipgloss.Style
}

// DefaultStyles returns the style sheet; with noColor every style is plain
// (borders stay: they are characters, not colour).
func DefaultStyles(noColor bool) Styles {
	if noColor {
		p := lipgloss.NewStyle()
		return Styles{Title: p, OK: p, Warn: p, Error: p, Muted: p, Heading: p,
			StepDone: p, StepCurrent: p, StepTodo: p, StepBlocked: p, Help: p, Key: p, Focus: p,
			Hint: p.Border(lipgloss.RoundedBorder()).Padding(0, 1),
			Big:  p.Border(lipgloss.DoubleBorder()).Padding(0, 2),
			Demo: p}
	}
	return Styles{
		Title:   lipgloss.NewStyle().Bold(true).Foreground(lipgloss.Color("12")),
		OK:      lipgloss.NewStyle().Foreground(lipgloss.Color("10")),
		Warn:    lipgloss.NewStyle().Foreground(lipgloss.Color("11")),
		Error:   lipgloss.NewStyle().Bold(true).Foreground(lipgloss.Color("9")),
		Muted:   lipgloss.NewStyle().Foreground(lipgloss.Color("8")),
		Heading: lipgloss.NewStyle().Bold(true),

		StepDone:    lipgloss.NewStyle().Foreground(lipgloss.Color("10")),
		StepCurrent: lipgloss.NewStyle().Bold(true).Foreground(lipgloss.Color("12")),
		StepTodo:    lipgloss.NewStyle().Foreground(lipgloss.Color("8")),
		StepBlocked: lipgloss.NewStyle().Bold(true).Foreground(lipgloss.Color("9")),
		Help:        lipgloss.NewStyle().Foreground(lipgloss.Color("8")),
		Key:         lipgloss.NewStyle().Bold(true).Foreground(lipgloss.Color("12")),
		Focus:       lipgloss.NewStyle().Bold(true).Foreground(lipgloss.Color("12")),
		Hint: lipgloss.NewStyle().Border(lipgloss.RoundedBorder()).BorderForeground(lipgloss.Color("11")).
			Foreground(lipgloss.Color("11")).Padding(0, 1),
		Big: lipgloss.NewStyle().Bold(true).Border(lipgloss.DoubleBorder()).BorderForeground(lipgloss.Color("12")).
			Padding(0, 2),
		Demo: lipgloss.NewStyle().Bold(true).Foreground(lipgloss.Color("0")).Background(lipgloss.Color("11")),
	}
}

// FormTheme is the theme of every huh form.
func FormTheme(noColor bool) *huh.Theme {
	if noColor {
		return huh.ThemeBase()
	}
	return huh.ThemeCharm()
}
