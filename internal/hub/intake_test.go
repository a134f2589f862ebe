package hub_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/hub"
	"github.com/latchkey/latchkey/internal/hubapi"
	"github.com/latchkey/latchkey/internal/record"
)

func TestBatch(t *testing.T) {
	t.Parallel()
	h := newHub(t)
	sales := h.enroll("sam", hubapi.RoleSales)
	inst := h.enroll("ines", hubapi.RoleInstaller)
	expired := newRec("v-old")
	expired["created_at"], expired["expires_at"] = t0.Add(-48*time.Hour).Format(time.RFC3339), t0.Add(-time.Second).Format(time.RFC3339)
	v1 := sign(t, record.KindVisit, newRec("v1"), sales.id.Sign)
	records := [][]byte{
		v1,
		sign(t, record.KindSurvey, newRec("s1"), sales.id.Sign),
		[]byte(`{"nope":1}`),
		v1,
		sign(t, record.KindVisit, newRec("v1", "outcome", "other"), sales.id.Sign),
		sign(t, record.KindVisit, expired, sales.id.Sign),
		sign(t, record.KindSurvey, newRec("s2"), inst.id.Sign),
		sign(t, record.KindVisit, newRec("v2"), sales.id.Sign),
	}
	want := []struct{ id, status, code string }{
		{"v1", hubapi.StatusStored, ""},
		{"s1", hubapi.StatusRejected, hubapi.CodeForbiddenKind},
		{"", hubapi.StatusRejected, hubapi.CodeMalformed},
		{"v1", hubapi.StatusRejected, hubapi.CodeReplayed},
		{"v1", hubapi.StatusRejected, hubapi.CodeConflict},
		{"v-old", hubapi.StatusRejected, hubapi.CodeExpired},
		{"s2", hubapi.StatusRejected, hubapi.CodeSignerMismatch},
		{"v2", hubapi.StatusStored, ""},
	}
	body := batch(t, records...)
	status, first := h.do(http.MethodPost, hubapi.PathRecordsBatch, sales.token, "b1", body)
	var resp hubapi.BatchResponse
	if status != 200 || json.Unmarshal(first, &resp) != nil {
		t.Fatalf("batch: %d %s", status, first)
	}
	if len(resp.Results) != len(want) {
		t.Fatalf("%d results, want %d", len(resp.Results), len(want))
	}
	for i, w := range want {
		r := resp.Results[i]
		if r.ID != w.id || r.Status != w.status || r.Code != w.code {
			t.Errorf("result %d = %+v, want %+v", i, r, w)
		}
		if r.Status == hubapi.StatusStored && r.Digest != digestOf(t, records[i]) {
			t.Errorf("result %d digest %s, want %s", i, r.Digest, digestOf(t, records[i]))
		}
	}
	status, again := h.do(http.MethodPost, hubapi.PathRecordsBatch, sales.token, "b1", body)
	if status != 200 || string(again) != string(first) {
		t.Errorf("replayed batch: %d\n%s\nwant\n%s", status, again, first)
	}

	tooMany := make([][]byte, hubapi.MaxBatch+1)
	for i := range tooMany {
		tooMany[i] = v1
	}
	for name, b := range map[string][]byte{
		"not json":      []byte("nope"),
		"unknown field": []byte(`{"records":[],"x":1}`),
		"no records":    []byte(`{"records":[]}`),
		"trailing":      append(batch(t, v1), "{}"...),
		"too many":      batch(t, tooMany...),
	} {
		status, body := h.do(http.MethodPost, hubapi.PathRecordsBatch, sales.token, "b-"+name, b)
		if status != 400 || errorBody(t, body).Error.Code != hubapi.CodeBadRequest {
			t.Errorf("%s: %d %s", name, status, body)
		}
	}
}

// gatedStore holds Intake calls until released, to catch a request in
// flight.
type gatedStore struct {
	hub.Storage
	entered chan struct{}
	release chan struct{}
}

func newGate() *gatedStore {
	return &gatedStore{entered: make(chan struct{}, 16), release: make(chan struct{})}
}

func (g *gatedStore) Intake(ctx context.Context, req hub.IntakeRequest) (hub.IntakeResult, error) {
	g.entered <- struct{}{}
	<-g.release
	return g.Storage.Intake(ctx, req)
}

func TestIdempotencyInFlight(t *testing.T) {
	t.Parallel()
	gate := newGate()
	h := newHub(t, withStore(func(s hub.Storage) hub.Storage { gate.Storage = s; return gate }))
	sales := h.enroll("sam", hubapi.RoleSales)
	body := sign(t, record.KindVisit, newRec("v1"), sales.id.Sign)
	var wg sync.WaitGroup
	var firstStatus int
	wg.Go(func() { firstStatus, _ = h.do(http.MethodPost, hubapi.PathRecords, sales.token, "k1", body) })
	<-gate.entered
	status, resp := h.do(http.MethodPost, hubapi.PathRecords, sales.token, "k1", body)
	if status != 409 || errorBody(t, resp).Error.Code != hubapi.CodeIdempotencyInFlight {
		t.Errorf("second request in flight: %d %s", status, resp)
	}
	close(gate.release)
	wg.Wait()
	if firstStatus != 201 {
		t.Errorf("first request: %d", firstStatus)
	}
	if status, resp := h.do(http.MethodPost, hubapi.PathRecords, sales.token, "k1", body); status != 201 {
		t.Errorf("after the first finished: %d %s", status, resp)
	}
}

func TestSweep(t *testing.T) {
	t.Parallel()
	h := newHub(t)
	sales := h.enroll("sam", hubapi.RoleSales)
	if status, body := h.do(http.MethodPost, hubapi.PathRecords, sales.token, "k1", sign(t, record.KindVisit, newRec("v1"), sales.id.Sign)); status != 201 {
		t.Fatalf("%d %s", status, body)
	}
	ctx := context.Background()
	if n, err := h.srv.Sweep(ctx); err != nil || n != 0 {
		t.Errorf("early sweep = %d, %v; want 0", n, err)
	}
	h.clock.Advance(hubapi.IdempotencyTTL + time.Minute)
	if n, err := h.srv.Sweep(ctx); err != nil || n != 1 {
		t.Errorf("sweep after the TTL = %d, %v; want 1", n, err)
	}
}

func TestMetrics(t *testing.T) {
	t.Parallel()
	h := newHub(t)
	sales := h.enroll("sam", hubapi.RoleSales)
	good := sign(t, record.KindVisit, newRec("v1"), sales.id.Sign)
	h.do(http.MethodPost, hubapi.PathRecords, sales.token, "k1", good)
	h.do(http.MethodPost, hubapi.PathRecords, sales.token, "k1", good) // replay: not counted again
	h.do(http.MethodPost, hubapi.PathRecords, sales.token, "k2", tamper(t, good, newRec("v1", "x", "y")))
	h.do(http.MethodPost, hubapi.PathRecordsBatch, sales.token, "k3", batch(t,
		sign(t, record.KindSurvey, newRec("s1"), sales.id.Sign),
		sign(t, record.KindVisit, newRec("v2"), sales.id.Sign)))
	status, body := h.do(http.MethodGet, hubapi.PathMetrics, "", "", nil)
	if status != 200 {
		t.Fatalf("metrics: %d", status)
	}
	text := string(body)
	for _, want := range []string{
		`latchkey_hub_intake_records_total{kind="visit",outcome="stored"} 2`,
		`latchkey_hub_intake_records_total{kind="visit",outcome="rejected"} 1`,
		`latchkey_hub_intake_records_total{kind="survey",outcome="rejected"} 1`,
		`latchkey_hub_intake_rejects_total{code="bad-signature"} 1`,
		`latchkey_hub_intake_rejects_total{code="forbidden-kind"} 1`,
		`latchkey_hub_idempotent_replays_total 1`,
		`latchkey_hub_http_requests_total{route="/v1/records",status="201"} 2`,
		`latchkey_hub_http_requests_total{route="/v1/records",status="422"} 1`,
		`latchkey_hub_http_requests_total{route="/v1/enroll",status="201"} 1`,
		`latchkey_hub_http_request_duration_seconds_count{route="/v1/records/batch",status="200"} 1`,
		`go_goroutines`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if strings.Contains(text, sales.token) {
		t.Error("metrics contain a token")
	}
}

// TestServersIndependent: each server has its own registry, so two in one
// process neither panic nor share counts.
func TestServersIndependent(t *testing.T) {
	t.Parallel()
	a, b := newHub(t), newHub(t)
	a.do(http.MethodGet, "/nope", "", "", nil)
	_, body := b.do(http.MethodGet, hubapi.PathMetrics, "", "", nil)
	if strings.Contains(string(body), `route="other"`) {
		t.Error("a request to one server shows in the other's metrics")
	}
}

func TestKindsFor(t *testing.T) {
	t.Parallel()
	for _, k := range record.Kinds() {
		var roles []string
		for _, r := range hubapi.Roles() {
			if hub.MayMake(r, k) {
				roles = append(roles, r)
			}
		}
		if len(roles) == 0 {
			t.Errorf("no role may make %s records", k)
		}
	}
	got := fmt.Sprint(hub.KindsFor(hubapi.RoleSales), hub.KindsFor(hubapi.RoleSupport), hub.KindsFor("admin"))
	if want := "[visit] [revocation decommission] []"; got != want {
		t.Errorf("KindsFor = %s, want %s", got, want)
	}
}
