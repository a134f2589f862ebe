package hub

import (
	"context"
	"time"

	hubsvc "github.com/latchkey/latchkey/internal/hub"
)

// CompareStored is compareStored with want as a plain map.
func CompareStored(stored []hubsvc.Record, want map[string]string) (dups, lost int) {
	return compareStored(stored, acked(want))
}

// CountRows is countRows.
var CountRows = countRows

// Quantile is quantile.
var Quantile = quantile

// LoopbackOnly is loopbackOnly.
func LoopbackOnly(dsn string) error { return loopbackOnly(context.Background(), dsn) }

// SetLookupHost replaces the resolver loopbackOnly uses until the returned
// function puts it back.
func SetLookupHost(fn func(ctx context.Context, host string) ([]string, error)) func() {
	old := lookupHost
	lookupHost = fn
	return func() { lookupHost = old }
}

// SetBenchMargin sets what a bench run may take beyond --duration until
// the returned function puts it back.
func SetBenchMargin(d time.Duration) func() {
	old := benchMargin
	benchMargin = d
	return func() { benchMargin = old }
}
