package hub_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/hub"

	"github.com/latchkey/latchkey/internal/hubapi"
	"github.com/latchkey/latchkey/internal/record"
)

// BenchmarkIntake measures intake through the real handler (auth, strict
// decoding, parallel verification, one SQLite transaction per batch on a
// temporary file with synchronous=FULL) in batches of hubapi.MaxBatch
// freshly signed visits. The target is at least 5,000 records/s on 2 cores
// (issue 5), reported as records/s; run with -cpu 2 to check it.
// store-ms/op is the part spent in Storage.Intake.
func BenchmarkIntake(b *testing.B) {
	var ns atomic.Int64
	h := newHub(b, withStore(func(s hub.Storage) hub.Storage { return timedStore{s, &ns} }))
	sales := h.enroll("sam", hubapi.RoleSales)
	const size = hubapi.MaxBatch
	bodies := make([][]byte, b.N)
	for i := range bodies {
		recs := make([][]byte, size)
		for j := range recs {
			recs[j] = sign(b, record.KindVisit, newRec(fmt.Sprintf("v%d-%d", i, j), "outcome", "won", "notes", "met the manager; follow up next week"), sales.id.Sign)
		}
		bodies[i] = batch(b, recs...)
	}
	b.SetBytes(int64(len(bodies[0])))
	b.ResetTimer()
	for i := range b.N {
		req := httptest.NewRequest(http.MethodPost, hubapi.PathRecordsBatch, bytes.NewReader(bodies[i]))
		req.Header.Set("Authorization", "Bearer "+sales.token)
		req.Header.Set(hubapi.HeaderIdempotencyKey, fmt.Sprintf("bench-%d", i))
		w := httptest.NewRecorder()
		h.srv.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatalf("batch %d: %d %s", i, w.Code, w.Body)
		}
		var resp hubapi.BatchResponse
		if err := json.Unmarshal(w.Body.Bytes(), &resp); err != nil || len(resp.Results) != size || resp.Results[size-1].Status != hubapi.StatusStored {
			b.Fatalf("batch %d: %v %.200s", i, err, w.Body)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N*size)/b.Elapsed().Seconds(), "records/s")
	b.ReportMetric(float64(ns.Load())/float64(b.N)/1e6, "store-ms/op")
}

// timedStore adds up the time spent in Intake.
type timedStore struct {
	hub.Storage
	ns *atomic.Int64
}

func (s timedStore) Intake(ctx context.Context, req hub.IntakeRequest) (hub.IntakeResult, error) {
	start := time.Now()
	defer func() { s.ns.Add(int64(time.Since(start))) }()
	return s.Storage.Intake(ctx, req)
}
