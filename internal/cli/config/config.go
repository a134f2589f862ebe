// Package config is `latchkey config`: read and change settings.
package config

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/latchkey/latchkey/internal/cli/cmdutil"
	"github.com/latchkey/latchkey/internal/config"
)

// NewCmdConfig groups the config verbs.
func NewCmdConfig(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Show and change settings",
		Long: `Show and change latchkey's settings. A setting comes from, in order of
precedence: a command-line flag, a LATCHKEY_* environment variable, the
config file, then the built-in default.`,
		Example: "  latchkey config list\n  latchkey config set rep 'Dana Reyes'\n  latchkey config get list.limit",
	}
	cmd.AddCommand(newCmdGet(f), newCmdSet(f), newCmdUnset(f), newCmdList(f), newCmdPath(f))
	return cmd
}

// argError makes a wrong key or value typed on the command line a usage
// error (exit 2); the same errors from a broken file stay failures.
func argError(err error) error {
	if errors.Is(err, config.ErrInvalidFile) {
		return err
	}
	if errors.Is(err, config.ErrUnknownKey) || errors.Is(err, config.ErrInvalidValue) {
		return &cmdutil.UsageError{Err: err}
	}
	return err
}

func keyNames() []string {
	var out []string
	for _, k := range config.Keys() {
		out = append(out, k.Name+"\t"+k.Help)
	}
	return out
}

func completeKey(cmd *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	return keyNames(), cobra.ShellCompDirectiveNoFileComp
}

func newCmdGet(f *cmdutil.Factory) *cobra.Command {
	return &cobra.Command{
		Use:               "get KEY",
		Short:             "Print one setting's value",
		Example:           "  latchkey config get rep\n  latchkey config get list.limit --json",
		ValidArgsFunction: completeKey,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return cmdutil.Usagef("config get takes one KEY; 'latchkey config list' shows them")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := f.Config()
			if err != nil {
				return err
			}
			v, err := c.Get(args[0])
			if err != nil {
				return argError(err)
			}
			if f.Global.JSON {
				return cmdutil.WriteJSON(f.IO.Out, valueJSON(v))
			}
			_, err = fmt.Fprintln(f.IO.Out, v.Value)
			return err
		},
	}
}

func newCmdSet(f *cmdutil.Factory) *cobra.Command {
	return &cobra.Command{
		Use:               "set KEY VALUE",
		Short:             "Save a setting in the config file",
		Example:           "  latchkey config set rep 'Dana Reyes'\n  latchkey config set list.limit 100\n  latchkey config set no-color true",
		ValidArgsFunction: completeKey,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 2 {
				return cmdutil.Usagef("config set takes KEY and VALUE, e.g. latchkey config set rep 'Dana Reyes'")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := f.Config()
			if err != nil {
				return err
			}
			if err := c.Set(args[0], args[1]); err != nil {
				return argError(err)
			}
			v, err := c.Get(args[0])
			if err != nil {
				return err
			}
			fmt.Fprintf(f.IO.ErrOut, "set %s = %s in %s\n", v.Key.Name, v.Value, c.Path())
			if v.Source == config.SourceEnv {
				fmt.Fprintf(f.IO.ErrOut, "note: %s is set in the environment and wins over the file\n", v.Key.Env)
			}
			return nil
		},
	}
}

func newCmdUnset(f *cmdutil.Factory) *cobra.Command {
	return &cobra.Command{
		Use:               "unset KEY",
		Short:             "Remove a setting from the config file",
		Example:           "  latchkey config unset list.limit",
		ValidArgsFunction: completeKey,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return cmdutil.Usagef("config unset takes one KEY")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := f.Config()
			if err != nil {
				return err
			}
			if err := c.Unset(args[0]); err != nil {
				return argError(err)
			}
			v, err := c.Get(args[0])
			if err != nil {
				return err
			}
			fmt.Fprintf(f.IO.ErrOut, "unset %s; it is now %q (%s)\n", v.Key.Name, v.Value, v.Source)
			return nil
		},
	}
}

type jsonValue struct {
	Key     string `json:"key"`
	Value   string `json:"value"`
	Source  string `json:"source"`
	Env     string `json:"env"`
	Default string `json:"default"`
	Help    string `json:"help"`
}

func valueJSON(v config.Value) jsonValue {
	return jsonValue{Key: v.Key.Name, Value: v.Value, Source: string(v.Source), Env: v.Key.Env, Default: v.Key.Default, Help: v.Key.Help}
}

func newCmdList(f *cmdutil.Factory) *cobra.Command {
	return &cobra.Command{
		Use:     "list",
		Short:   "List every setting with its value and where it came from",
		Example: "  latchkey config list\n  latchkey config list --json",
		Args:    cmdutil.NoArgs("'latchkey config get KEY' reads one setting"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := f.Config()
			if err != nil {
				return err
			}
			vals := c.List()
			if f.Global.JSON {
				out := make([]jsonValue, len(vals))
				for i, v := range vals {
					out[i] = valueJSON(v)
				}
				return cmdutil.WriteJSON(f.IO.Out, out)
			}
			var rows [][]string
			for _, v := range vals {
				rows = append(rows, []string{v.Key.Name, v.Value, string(v.Source), v.Key.Env, v.Key.Help})
			}
			return cmdutil.Table(f.IO, []string{"KEY", "VALUE", "FROM", "ENVIRONMENT", "MEANING"}, rows, 1, 4)
		},
	}
}

func newCmdPath(f *cmdutil.Factory) *cobra.Command {
	return &cobra.Command{
		Use:     "path",
		Short:   "Print where the config file and data live",
		Example: "  latchkey config path\n  LATCHKEY_HOME=/tmp/lk latchkey config path --json",
		Args:    cmdutil.NoArgs("it prints every path"),
		// It must work while the file does not parse: it says where the file is.
		Annotations: map[string]string{"config-tolerant": "true"},
		RunE: func(cmd *cobra.Command, args []string) error {
			d, err := f.Dirs()
			if err != nil {
				return err
			}
			out := map[string]string{"config_file": d.ConfigFile(), "store": d.StoreFile(), "config": d.Config,
				"data": d.Data, "state": d.State, "cache": d.Cache}
			if f.Global.JSON {
				return cmdutil.WriteJSON(f.IO.Out, out)
			}
			var b strings.Builder
			for _, k := range []string{"config_file", "store", "config", "data", "state", "cache"} {
				fmt.Fprintf(&b, "%-12s %s\n", k, out[k])
			}
			_, err = fmt.Fprint(f.IO.Out, b.String())
			return err
		},
	}
}
