// Package visit is `latchkey visit`: the sales rep's log of visits to
// buildings. The rules live in internal/sales; these commands turn flags and
// forms into calls on it and results into tables or JSON.
package visit

import (
	"context"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/latchkey/latchkey/internal/cli/cmdutil"
	"github.com/latchkey/latchkey/internal/sales"
)

// NewCmdVisit groups the visit verbs.
func NewCmdVisit(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "visit",
		Short: "Log and review sales visits to buildings",
		Long: `Log and review sales visits to buildings. Visits are records that are later
signed and uploaded, so they are never changed in place: an edit writes a new
revision and a delete writes a tombstone. 'visit show ID --history' shows all.`,
		Example: `  latchkey visit log --building 'Elm Court' --address '12 Elm St' --city Springfield \
    --units 24 --contact 'Ana Ruiz' --role manager --outcome interested --incentive gift-card:100:USD
  latchkey visit list --outcome interested --since 30d
  latchkey visit stats`,
	}
	cmd.AddCommand(
		NewCmdLog(f, nil), NewCmdList(f, nil), NewCmdShow(f, nil), NewCmdEdit(f, nil),
		NewCmdDelete(f, nil), NewCmdExport(f, nil), NewCmdImport(f, nil), NewCmdStats(f, nil),
	)
	return cmd
}

// Service is what the visit commands need from internal/sales.
type Service interface {
	Log(ctx context.Context, v sales.Visit) (sales.Visit, error)
	Revise(ctx context.Context, v sales.Visit) (sales.Visit, error)
	Delete(ctx context.Context, id string) (sales.Visit, error)
	Get(ctx context.Context, ref string) (sales.Visit, error)
	History(ctx context.Context, ref string) ([]sales.Visit, error)
	List(ctx context.Context, f sales.Filter) ([]sales.Visit, bool, error)
	Import(ctx context.Context, file string, rows []sales.ImportRow, dryRun bool) (sales.ImportResult, error)
	Stats(ctx context.Context, f sales.Filter, today time.Time) (sales.Stats, error)
}

// serviceFunc opens the service lazily, so flag errors never open the store.
type serviceFunc func(ctx context.Context) (Service, error)

func salesService(f *cmdutil.Factory) serviceFunc {
	return func(ctx context.Context) (Service, error) { return f.Sales(ctx) }
}

// completeIDs offers the ids of recent visits on Tab.
func completeIDs(f *cmdutil.Factory) func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	return func(cmd *cobra.Command, args []string, prefix string) ([]string, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		svc, err := f.Sales(cmd.Context())
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		vs, _, err := svc.List(cmd.Context(), sales.Filter{Limit: 200})
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		var out []string
		for _, v := range vs {
			if strings.HasPrefix(v.ID, prefix) {
				out = append(out, v.ID+"\t"+v.Building.Name+", "+v.VisitedAt.Local().Format("2006-01-02"))
			}
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}

func shortID(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}

func names[T ~string](xs []T) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = string(x)
	}
	return out
}

func fixed(values []string) func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	return func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return values, cobra.ShellCompDirectiveNoFileComp
	}
}
