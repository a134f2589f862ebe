package sales

import (
	"context"
	"database/sql"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/incentive"
	"github.com/latchkey/latchkey/internal/paths"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/testutil/proc"
)

// seed writes n synthetic visits in one transaction: spread over a year, five
// outcomes, twenty reps, a third with an incentive.
func seed(tb testing.TB, s *Service, n int) {
	tb.Helper()
	err := s.st.Tx(context.Background(), func(tx *sql.Tx) error {
		for i := range n {
			v := syntheticVisit(i, testNow)
			v.ID = fmt.Sprintf("%08x-0000-4000-8000-%012x", i, i)
			v.Revision, v.RecordedAt = 1, testNow
			if err := writeRevision(context.Background(), tx, v); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
}

// syntheticVisit is the i-th visit of a benchmark data set.
func syntheticVisit(i int, now time.Time) Visit {
	outcomes := Outcomes()
	v := Visit{
		VisitedAt: now.Add(-time.Duration(i%(365*24)) * time.Hour),
		Rep:       fmt.Sprintf("rep-%02d", i%20),
		Building:  Building{Name: fmt.Sprintf("Building %d", i), Address: fmt.Sprintf("%d Main St", i), City: "Springfield", Units: 4 + i%200},
		Contact:   Contact{Name: fmt.Sprintf("Contact %d", i), Role: Roles()[i%4], Email: fmt.Sprintf("c%d@example.com", i)},
		Outcome:   outcomes[i%len(outcomes)],
		Objections: []Objection{
			Objections()[i%len(Objections())],
		},
		Notes: "synthetic visit for benchmarks",
	}
	if i%3 == 0 {
		v.Incentive = incentive.Offer{Kind: incentive.GiftCard, Cents: 10000, Currency: "USD"}
	}
	if v.Outcome == FollowUp {
		v.FollowUp = v.VisitedAt.AddDate(0, 0, 14).Format(DateLayout)
	}
	return v
}

// BenchmarkListFirstPage times the first page (50 rows) of a filtered
// `visit list` over 100,000 visits. Target: well under 30 ms, the budget for
// the whole command.
func BenchmarkListFirstPage(b *testing.B) {
	s := newService(b)
	seed(b, s, 100_000)
	filters := map[string]Filter{
		"outcome":        {Outcomes: []Outcome{Interested}, Limit: 50},
		"rep+since":      {Rep: "rep-07", Since: testNow.AddDate(0, -3, 0), Limit: 50},
		"due":            {DueBy: testNow.Format(DateLayout), Limit: 50},
		"search":         {Search: "building 4242", Limit: 50},
		"unfiltered":     {Limit: 50},
		"outcome+window": {Outcomes: []Outcome{FollowUp, Interested}, Since: testNow.AddDate(0, -1, 0), Until: testNow, Limit: 50},
	}
	for name, f := range filters {
		b.Run(name, func(b *testing.B) {
			ctx := context.Background()
			for b.Loop() {
				vs, _, err := s.List(ctx, f)
				if err != nil || len(vs) == 0 {
					b.Fatalf("list: %d rows, %v", len(vs), err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/1000, "ms/page")
		})
	}
}

// BenchmarkListProcess times `latchkey visit list --outcome interested` as a
// whole process over a store of 100,000 visits: the median of 10 runs.
// Target: < 30 ms.
func BenchmarkListProcess(b *testing.B) {
	bin := proc.Build(b)
	home := b.TempDir()
	dirs, err := paths.Resolve(func(k string) string {
		if k == "LATCHKEY_HOME" {
			return home
		}
		return ""
	}, runtime.GOOS)
	if err != nil {
		b.Fatal(err)
	}
	st, err := store.Open(context.Background(), dirs.StoreFile())
	if err != nil {
		b.Fatal(err)
	}
	seed(b, NewService(st, nil, time.Now, nil), 100_000)
	st.Close()
	env := []string{"LATCHKEY_HOME=" + home}
	for _, args := range [][]string{
		{"visit", "list", "--outcome", "interested"},
		{"visit", "list", "--outcome", "interested", "--json"},
		{"visit", "list", "--search", "building 4242"},
		// The worst case: a term every visit matches, so the whole table is
		// matched and sorted before the first page.
		{"visit", "list", "--search", "main st"},
	} {
		b.Run(strings.Join(args[2:], " "), func(b *testing.B) {
			var med time.Duration
			for b.Loop() {
				med = proc.Median(b, 10, env, bin, args...)
			}
			b.ReportMetric(float64(med.Microseconds())/1000, "ms-median")
			fmt.Printf("latchkey %s over 100,000 visits: median %.1f ms of 10 runs (target < 30 ms)\n", strings.Join(args, " "), float64(med.Microseconds())/1000)
		})
	}
}
