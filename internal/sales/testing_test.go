package sales

import (
	"context"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/incentive"
	"github.com/latchkey/latchkey/internal/store"
)

// testNow is the fixed clock of these tests.
var testNow = time.Date(2026, 11, 25, 15, 0, 0, 0, time.UTC)

// seededReader is a deterministic stand-in for crypto/rand.
type seededReader struct{ r *rand.ChaCha8 }

func (s seededReader) Read(p []byte) (int, error) { return s.r.Read(p) }

func newService(tb testing.TB) *Service {
	tb.Helper()
	st, err := store.Open(context.Background(), filepath.Join(tb.TempDir(), "latchkey.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	var seed [32]byte
	copy(seed[:], tb.Name())
	return NewService(st, func() time.Time { return testNow }, seededReader{rand.NewChaCha8(seed)})
}

// validVisit is a visit that passes validation; cases change one thing.
func validVisit() Visit {
	return Visit{
		VisitedAt: testNow.Add(-2 * time.Hour),
		Rep:       "Dana Reyes",
		Building:  Building{Name: "Elm Court", Address: "12 Elm St", City: "Springfield", Units: 24},
		Contact:   Contact{Name: "Ana Ruiz", Role: Manager, Phone: "+1 555 010 2000", Email: "ana@elmcourt.example"},
		Outcome:   Interested,
		Objections: []Objection{
			Privacy, TenantNotice,
		},
		Incentive: incentive.Offer{Kind: incentive.GiftCard, Cents: 10000, Currency: "USD"},
		Notes:     "Board meets on the 3rd",
	}
}
