package outbox

import (
	"math/rand/v2"
	"testing"
	"time"
)

// TestBackoffFullJitter draws many waits for each attempt and checks they
// fill [0, min(Cap, Base·2ⁿ)]: never above it, and spread over it rather
// than bunched at one end.
func TestBackoffFullJitter(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		base, cap time.Duration
	}{
		{"defaults", DefaultBase, DefaultCap},
		{"cap below base", time.Second, 100 * time.Millisecond},
		{"huge cap", time.Millisecond, 1 << 62},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			u := Uploader{Base: tt.base, Cap: tt.cap, Rand: rand.NewChaCha8([32]byte{9})}
			for n := range 80 {
				ceil := tt.cap
				if n < 62 && tt.base <= tt.cap>>n { // base·2ⁿ ≤ cap, without overflow
					ceil = tt.base << n
				}
				var lo, hi time.Duration = ceil, 0
				for range 400 {
					d, err := u.backoff(n)
					if err != nil {
						t.Fatal(err)
					}
					if d < 0 || d > ceil {
						t.Fatalf("attempt %d: wait %v outside [0, %v]", n, d, ceil)
					}
					lo, hi = min(lo, d), max(hi, d)
				}
				if lo > ceil/10 || hi < ceil-ceil/10 {
					t.Errorf("attempt %d: 400 waits within [%v, %v] of [0, %v]: not full jitter", n, lo, hi, ceil)
				}
			}
		})
	}
}
