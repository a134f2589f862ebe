package sales

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/incentive"
	"github.com/latchkey/latchkey/internal/journal"
	"github.com/latchkey/latchkey/internal/outbox"
	"github.com/latchkey/latchkey/internal/store"
)

// testNow is the fixed clock of these tests.
var testNow = time.Date(2026, 11, 25, 15, 0, 0, 0, time.UTC)

// seededReader is a deterministic stand-in for crypto/rand.
type seededReader struct{ r *rand.ChaCha8 }

func (s seededReader) Read(p []byte) (int, error) { return s.r.Read(p) }

// testKey is the signing key of these tests.
var testKey = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize))

func newService(tb testing.TB) *Service {
	tb.Helper()
	s, _ := newServiceWith(tb, func() (ed25519.PrivateKey, error) { return testKey, nil })
	return s
}

// newServiceWith returns a Service whose records are signed by signer, and
// the outbox they go to.
func newServiceWith(tb testing.TB, signer outbox.Signer) (*Service, *outbox.Outbox) {
	tb.Helper()
	st, err := store.Open(context.Background(), filepath.Join(tb.TempDir(), "latchkey.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	var seed [32]byte
	copy(seed[:], tb.Name())
	r := seededReader{rand.NewChaCha8(seed)}
	now := func() time.Time { return testNow }
	ob := outbox.New(st, signer, now, r, journal.New(st, signer, now))
	return NewService(st, ob, now, r), ob
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
