package pgstore

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/hub"
	"github.com/latchkey/latchkey/internal/hubapi"
)

// BenchmarkIntake stores batches of hubapi.MaxBatch records, each batch one
// request, the way the batch endpoint does, and reports records/s. The
// figure is the storage's alone (no HTTP, no signature checks); compare
// with sqlstore's BenchmarkIntake.
func BenchmarkIntake(b *testing.B) {
	ctx := context.Background()
	s := openTest(b)
	envelope := make([]byte, 1200) // about a signed survey record
	for i := range envelope {
		envelope[i] = byte('a' + i%26)
	}
	n := 0
	start := time.Now()
	for i := 0; b.Loop(); i++ {
		recs := make([]hub.Record, hubapi.MaxBatch)
		for j := range recs {
			id := fmt.Sprintf("rec-%06d-%03d", i, j)
			recs[j] = hub.Record{ID: id, Kind: "survey", Signer: "alice", KeyIDs: []string{"key-alice", "key-unit"},
				Digest: hexSum(id), Job: fmt.Sprintf("job-%d", j%50), Unit: fmt.Sprintf("LK-%04d", j%50),
				CreatedAt: now.Add(time.Duration(i*hubapi.MaxBatch+j) * time.Millisecond), ReceivedAt: now, Envelope: envelope,
				JournalSeq: int64(i*hubapi.MaxBatch + j + 1), JournalHash: hexSum(id)}
		}
		res, err := s.Intake(ctx, intakeReq(fmt.Sprint("k", i), recs...))
		if err != nil {
			b.Fatal(err)
		}
		if res.Results[len(res.Results)-1].Outcome != hub.OutcomeStored {
			b.Fatalf("last result = %+v", res.Results[len(res.Results)-1])
		}
		n += len(recs)
	}
	b.ReportMetric(float64(n)/time.Since(start).Seconds(), "records/s")
}
