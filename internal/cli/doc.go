// Package cli is latchkey's command line: the cobra command tree, its global
// flags, and Main, the one place that turns errors into exit codes and hints.
// Commands live one folder per noun below this package; they parse flags into
// options and call the domain packages, holding no rules of their own.
package cli
