package cli

import (
	"io"

	"github.com/spf13/cobra"

	"github.com/latchkey/latchkey/internal/cli/cmdutil"
)

// Shells are the shells latchkey writes completion scripts for.
func Shells() []string { return []string{"bash", "zsh", "fish", "powershell"} }

// WriteCompletion writes root's completion script for shell to w.
func WriteCompletion(root *cobra.Command, shell string, w io.Writer) error {
	switch shell {
	case "bash":
		return root.GenBashCompletionV2(w, true)
	case "zsh":
		return root.GenZshCompletion(w)
	case "fish":
		return root.GenFishCompletion(w, true)
	case "powershell":
		return root.GenPowerShellCompletionWithDesc(w)
	}
	return cmdutil.Usagef("unknown shell %q: use bash, zsh, fish or powershell", shell)
}

// CompletionFile is where each shell's script goes in completions/.
func CompletionFile(shell string) string {
	switch shell {
	case "zsh":
		return "_latchkey"
	case "fish":
		return "latchkey.fish"
	case "powershell":
		return "latchkey.ps1"
	}
	return "latchkey.bash"
}
