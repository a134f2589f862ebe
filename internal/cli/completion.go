package cli

import (
	"github.com/spf13/cobra"

	"github.com/latchkey/latchkey/internal/cli/cmdutil"
)

// NewCmdCompletion prints a shell completion script for root.
func NewCmdCompletion(root *cobra.Command) *cobra.Command {
	return &cobra.Command{
		Use:   "completion bash|zsh|fish|powershell",
		Short: "Print the shell completion script",
		Long: `Print the completion script for a shell. Load it once in the current shell,
or install it where your shell reads completions. The same scripts ship in the
release archives under completions/.`,
		Example: `  source <(latchkey completion bash)
  latchkey completion zsh > "${fpath[1]}/_latchkey"
  latchkey completion fish > ~/.config/fish/completions/latchkey.fish
  latchkey completion powershell | Out-String | Invoke-Expression`,
		ValidArgs:   []string{"bash", "zsh", "fish", "powershell"},
		Annotations: map[string]string{"config-tolerant": "true"},
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return cmdutil.Usagef("completion takes one shell: bash, zsh, fish or powershell")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			return WriteCompletion(root, args[0], cmd.OutOrStdout())
		},
	}
}
