// Package version is `latchkey version`.
package version

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/latchkey/latchkey/internal/cli/cmdutil"
)

// NewCmdVersion prints the build's version, commit, date and Go version.
func NewCmdVersion(f *cmdutil.Factory) *cobra.Command {
	return &cobra.Command{
		Use:         "version",
		Short:       "Print the version, commit, build date and Go version",
		Example:     "  latchkey version\n  latchkey version --json\n  latchkey --version",
		Args:        cmdutil.NoArgs("it prints this build's version"),
		Annotations: map[string]string{"config-tolerant": "true"},
		RunE: func(cmd *cobra.Command, args []string) error {
			if f.Global.JSON {
				return cmdutil.WriteJSON(f.IO.Out, f.Build)
			}
			b := f.Build
			_, err := fmt.Fprintf(f.IO.Out, "latchkey %s\ncommit   %s\nbuilt    %s\ngo       %s\n", b.Version, b.Commit, b.Date, b.GoVersion)
			return err
		},
	}
}
