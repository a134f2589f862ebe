package outbox_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/hubapi"
	"github.com/latchkey/latchkey/internal/outbox"
)

// netErr stands for a network failure: not a *hubapi.Error.
var netErr = &timeoutError{}

type timeoutError struct{}

func (*timeoutError) Error() string { return "read tcp 10.0.0.2:443: i/o timeout" }

func unavailable(retryAfter time.Duration) error {
	return &hubapi.Error{Status: http.StatusServiceUnavailable, Code: hubapi.CodeUnavailable, Message: "down for maintenance", RetryAfter: retryAfter}
}

func TestUploadOrderAcrossBatches(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := openStore(t)
	ob := newOutbox(t, st)
	addN(t, st, ob, 0, 25)
	sender := &testSender{}
	u := uploader(t, ob, sender, &sleeper{})
	u.BatchSize = 10
	var prog []outbox.Progress
	sum, err := u.Run(ctx, func(p outbox.Progress) { prog = append(prog, p) })
	if err != nil {
		t.Fatal(err)
	}
	calls := sender.Calls()
	var sent []string
	keys := map[string]bool{}
	for _, c := range calls {
		sent = append(sent, c.ids...)
		keys[c.key] = true
	}
	var want []string
	for i := range 25 {
		want = append(want, recID(i))
	}
	if !slices.Equal(sent, want) {
		t.Errorf("sent %v, want %v", sent, want)
	}
	if len(calls) != 3 || len(calls[0].ids) != 10 || len(calls[2].ids) != 5 || len(keys) != 3 {
		t.Errorf("%d calls with %d keys, want 3 batches of 10, 10, 5 with a key each", len(calls), len(keys))
	}
	if sum.Sent != 25 || sum.Batches != 3 || sum.Remaining != 0 || sum.Retries != 0 || len(sum.Rejected) != 0 {
		t.Errorf("summary %+v", sum)
	}
	if wantProg := []outbox.Progress{{10, 25}, {20, 25}, {25, 25}}; !slices.Equal(prog, wantProg) {
		t.Errorf("progress %v, want %v", prog, wantProg)
	}
	if c := counts(t, ob); c != (outbox.Counts{Sent: 25}) {
		t.Errorf("counts %+v", c)
	}
	e, _ := ob.Get(ctx, recID(0))
	if e.SentAt == nil || !e.SentAt.Equal(testNow) || e.Attempts != 1 || e.BatchKey != calls[0].key {
		t.Errorf("sent entry %+v", e)
	}
	// Nothing left: a second run sends nothing.
	again, err := u.Run(ctx, nil)
	if err != nil || again.Batches != 0 || len(sender.Calls()) != 3 {
		t.Errorf("second run: %+v, %v, %d calls", again, err, len(sender.Calls()))
	}
}

// TestUploadRetrySameBatch covers failures after which the same batch goes
// again, with the same key and byte-identical records.
func TestUploadRetrySameBatch(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		fail error
	}{
		{"network timeout", netErr},
		{"connection refused", syscall.ECONNREFUSED},
		{"503", unavailable(0)},
		{"500", &hubapi.Error{Status: 500, Code: hubapi.CodeInternal, Message: "boom"}},
		{"429", &hubapi.Error{Status: http.StatusTooManyRequests, Code: "rate-limited", Message: "slow down"}},
		{"in flight", &hubapi.Error{Status: http.StatusConflict, Code: hubapi.CodeIdempotencyInFlight, Message: "still working"}},
		{"answer lost", nil}, // the hub stored the batch, the answer never came
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			st := openStore(t)
			ob := newOutbox(t, st)
			addN(t, st, ob, 0, 7)
			stored := map[string]bool{}
			sender := &testSender{answer: func(n int, c call) ([]hubapi.RecordResult, error) {
				if n < 2 {
					if tt.fail == nil {
						for _, id := range c.ids {
							stored[id] = true
						}
						return nil, netErr
					}
					return nil, tt.fail
				}
				// A hub with an idempotency cache answers the same.
				return storeAll(c), nil
			}}
			sl := &sleeper{}
			u := uploader(t, ob, sender, sl)
			u.BatchSize = 5
			sum, err := u.Run(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			calls := sender.Calls()
			if len(calls) != 4 {
				t.Fatalf("%d calls, want 3 tries of the first batch and 1 of the second", len(calls))
			}
			for i := 1; i < 3; i++ {
				if calls[i].key != calls[0].key || !slices.Equal(calls[i].ids, calls[0].ids) || !slices.EqualFunc(calls[i].envs, calls[0].envs, bytes.Equal) {
					t.Errorf("try %d: key %s ids %v, want the first try's %s %v with the same bytes", i, calls[i].key, calls[i].ids, calls[0].key, calls[0].ids)
				}
			}
			if calls[3].key == calls[0].key {
				t.Error("second batch reuses the first batch's key")
			}
			if sum.Sent != 7 || sum.Retries != 2 || sum.Batches != 2 || len(sl.Waits()) != 2 {
				t.Errorf("summary %+v, waits %v", sum, sl.Waits())
			}
			e, _ := ob.Get(ctx, recID(0))
			if e.Attempts != 3 || e.State != outbox.Sent || e.LastError != "" {
				t.Errorf("entry after 2 failures and a success: %+v", e)
			}
		})
	}
}

func TestUploadBackoff(t *testing.T) {
	t.Parallel()
	const base, ceiling = 100 * time.Millisecond, 2 * time.Second
	tests := []struct {
		name       string
		fail       error
		retryAfter time.Duration
	}{
		{"network", netErr, 0},
		{"503 without Retry-After", unavailable(0), 0},
		{"503 Retry-After 3s", unavailable(3 * time.Second), 3 * time.Second},
		{"503 Retry-After 1ms", unavailable(time.Millisecond), time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			st := openStore(t)
			ob := newOutbox(t, st)
			addN(t, st, ob, 0, 1)
			const failures = 12
			sender := &testSender{answer: func(n int, c call) ([]hubapi.RecordResult, error) {
				if n < failures {
					return nil, tt.fail
				}
				return storeAll(c), nil
			}}
			sl := &sleeper{}
			u := uploader(t, ob, sender, sl)
			u.Base, u.Cap, u.MaxFailures = base, ceiling, failures+1
			sum, err := u.Run(context.Background(), nil)
			if err != nil {
				t.Fatal(err)
			}
			waits := sl.Waits()
			if len(waits) != failures || sum.Retries != failures {
				t.Fatalf("%d waits, %d retries; want %d", len(waits), sum.Retries, failures)
			}
			for n, d := range waits {
				hi := min(ceiling, base<<n)
				if d < tt.retryAfter {
					t.Errorf("wait %d = %v, less than Retry-After %v", n, d, tt.retryAfter)
				}
				if d < 0 || d > max(hi, tt.retryAfter) {
					t.Errorf("wait %d = %v, outside [0, %v]", n, d, max(hi, tt.retryAfter))
				}
			}
			// Full jitter: not every wait sits at the ceiling.
			if tt.retryAfter == 0 && slices.Equal(waits[len(waits)-3:], []time.Duration{ceiling, ceiling, ceiling}) {
				t.Errorf("waits %v look unjittered", waits)
			}
			e, _ := ob.Get(context.Background(), recID(0))
			if e.Attempts != failures+1 {
				t.Errorf("attempts %d, want %d", e.Attempts, failures+1)
			}
		})
	}
}

func TestUploadRetryAfterTooLong(t *testing.T) {
	t.Parallel()
	st := openStore(t)
	ob := newOutbox(t, st)
	addN(t, st, ob, 0, 2)
	sender := &testSender{answer: func(int, call) ([]hubapi.RecordResult, error) { return nil, unavailable(2 * time.Hour) }}
	sl := &sleeper{}
	sum, err := uploader(t, ob, sender, sl).Run(context.Background(), nil)
	if !errors.Is(err, outbox.ErrGaveUp) || !strings.Contains(err.Error(), "2h0m0s") {
		t.Fatalf("Run = %v, want ErrGaveUp naming the wait", err)
	}
	if len(sl.Waits()) != 0 || sum.Remaining != 2 {
		t.Errorf("waits %v, summary %+v", sl.Waits(), sum)
	}
	e, _ := ob.Get(context.Background(), recID(0))
	if e.NextAttemptAt == nil || !e.NextAttemptAt.Equal(testNow.Add(2*time.Hour)) || e.LastError == "" {
		t.Errorf("entry %+v, want next attempt in 2h and the error noted", e)
	}
}

func TestUploadAnswers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// result turns the stored result for the middle record into the
		// scripted one.
		result     func(r hubapi.RecordResult) hubapi.RecordResult
		wantState  outbox.State
		wantCode   string
		wantReason string
	}{
		{"stored", func(r hubapi.RecordResult) hubapi.RecordResult { return r }, outbox.Sent, "", ""},
		{"stored without id", func(r hubapi.RecordResult) hubapi.RecordResult { r.ID = ""; return r }, outbox.Sent, "", ""},
		{"stored, other digest", func(r hubapi.RecordResult) hubapi.RecordResult { r.Digest = strings.Repeat("0", 64); return r },
			outbox.Rejected, outbox.CodeDigestMismatch, "did not store what was signed"},
		{"stored, no digest", func(r hubapi.RecordResult) hubapi.RecordResult { r.Digest = ""; return r },
			outbox.Rejected, outbox.CodeDigestMismatch, "did not store"},
		{"replayed, same digest", func(r hubapi.RecordResult) hubapi.RecordResult {
			r.Status, r.Code, r.Reason = hubapi.StatusRejected, hubapi.CodeReplayed, "already stored"
			return r
		}, outbox.Sent, "", ""},
		{"replayed, other digest", func(r hubapi.RecordResult) hubapi.RecordResult {
			r.Status, r.Code, r.Reason, r.Digest = hubapi.StatusRejected, hubapi.CodeReplayed, "already stored", strings.Repeat("1", 64)
			return r
		}, outbox.Rejected, hubapi.CodeReplayed, "already stored"},
		{"conflict", func(r hubapi.RecordResult) hubapi.RecordResult {
			r.Status, r.Code, r.Reason = hubapi.StatusRejected, hubapi.CodeConflict, "another record has this id"
			return r
		}, outbox.Rejected, hubapi.CodeConflict, "another record has this id"},
		{"unknown signer", func(r hubapi.RecordResult) hubapi.RecordResult {
			return hubapi.RecordResult{ID: r.ID, Status: hubapi.StatusRejected, Code: hubapi.CodeUnknownSigner, Reason: "signed by no enrolled user"}
		}, outbox.Rejected, hubapi.CodeUnknownSigner, "signed by no enrolled user"},
		{"rejected without code", func(r hubapi.RecordResult) hubapi.RecordResult {
			return hubapi.RecordResult{Status: hubapi.StatusRejected}
		}, outbox.Rejected, outbox.CodeUnexplained, "no reason"},
		{"unknown status", func(r hubapi.RecordResult) hubapi.RecordResult { r.Status = "maybe"; return r },
			outbox.Rejected, outbox.CodeUnknownStatus, `"maybe"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			st := openStore(t)
			ob := newOutbox(t, st)
			addN(t, st, ob, 0, 3)
			sender := &testSender{answer: func(_ int, c call) ([]hubapi.RecordResult, error) {
				res := storeAll(c)
				res[1] = tt.result(res[1])
				return res, nil
			}}
			sum, err := uploader(t, ob, sender, &sleeper{}).Run(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			e, err := ob.Get(ctx, recID(1))
			if err != nil {
				t.Fatal(err)
			}
			if e.State != tt.wantState || e.RejectCode != tt.wantCode || !strings.Contains(e.RejectReason, tt.wantReason) {
				t.Errorf("entry: state %s code %q reason %q; want %s %q %q", e.State, e.RejectCode, e.RejectReason, tt.wantState, tt.wantCode, tt.wantReason)
			}
			wantSent := 3
			if tt.wantState == outbox.Rejected {
				wantSent = 2
				if len(sum.Rejected) != 1 || sum.Rejected[0].ID != recID(1) || sum.Rejected[0].RejectCode != tt.wantCode {
					t.Errorf("summary rejected %+v", sum.Rejected)
				}
			}
			if sum.Sent != wantSent {
				t.Errorf("sent %d, want %d", sum.Sent, wantSent)
			}
			// Rejected records are kept, never dropped.
			if c := counts(t, ob); c.Sent+c.Rejected != 3 || c.Queued != 0 {
				t.Errorf("counts %+v", c)
			}
		})
	}
}

func TestUploadStops(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		answer    answerFunc
		wantIs    error  // sentinel the error matches, if any
		wantHub   string // code of the *hubapi.Error in the chain, if any
		wantCalls int
		freshKey  bool // rows lose their batch key
	}{
		{name: "401", answer: func(int, call) ([]hubapi.RecordResult, error) {
			return nil, &hubapi.Error{Status: 401, Code: hubapi.CodeUnauthorized, Message: "unknown token"}
		}, wantHub: hubapi.CodeUnauthorized, wantCalls: 1, freshKey: true},
		{name: "403 revoked", answer: func(int, call) ([]hubapi.RecordResult, error) {
			return nil, &hubapi.Error{Status: 403, Code: hubapi.CodeRevoked, Message: "user revoked"}
		}, wantHub: hubapi.CodeRevoked, wantCalls: 1, freshKey: true},
		{name: "idempotency mismatch", answer: func(int, call) ([]hubapi.RecordResult, error) {
			return nil, &hubapi.Error{Status: 422, Code: hubapi.CodeIdempotencyMismatch, Message: "key reused"}
		}, wantHub: hubapi.CodeIdempotencyMismatch, wantCalls: 1, freshKey: true},
		{name: "too few results", answer: func(_ int, c call) ([]hubapi.RecordResult, error) {
			return storeAll(c)[:1], nil
		}, wantCalls: 1, freshKey: true},
		{name: "results for other records", answer: func(_ int, c call) ([]hubapi.RecordResult, error) {
			r := storeAll(c)
			r[0], r[1] = r[1], r[0]
			return r, nil
		}, wantCalls: 1, freshKey: true},
		{name: "answer that is not the API's", answer: func(int, call) ([]hubapi.RecordResult, error) {
			return nil, &statusError{status: 200}
		}, wantCalls: 1, freshKey: true},
		{name: "gave up", answer: func(int, call) ([]hubapi.RecordResult, error) { return nil, netErr },
			wantIs: outbox.ErrGaveUp, wantCalls: 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			st := openStore(t)
			ob := newOutbox(t, st)
			addN(t, st, ob, 0, 3)
			sender := &testSender{answer: tt.answer}
			sl := &sleeper{}
			u := uploader(t, ob, sender, sl)
			u.MaxFailures = 4
			sum, err := u.Run(ctx, nil)
			if err == nil {
				t.Fatal("Run succeeded")
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("err = %v, want %v", err, tt.wantIs)
			}
			var he *hubapi.Error
			if tt.wantHub != "" && (!errors.As(err, &he) || he.Code != tt.wantHub) {
				t.Errorf("err = %v, want the hub's %s", err, tt.wantHub)
			}
			if got := len(sender.Calls()); got != tt.wantCalls {
				t.Errorf("%d calls, want %d", got, tt.wantCalls)
			}
			if len(sl.Waits()) != tt.wantCalls-1 {
				t.Errorf("%d waits, want %d", len(sl.Waits()), tt.wantCalls-1)
			}
			if c := counts(t, ob); c != (outbox.Counts{Queued: 3}) || sum.Remaining != 3 || sum.Sent != 0 {
				t.Errorf("counts %+v, summary %+v; want all 3 still queued", c, sum)
			}
			e, _ := ob.Get(ctx, recID(0))
			if e.LastError == "" || e.Attempts != tt.wantCalls {
				t.Errorf("entry %+v: want the error noted and %d attempts", e, tt.wantCalls)
			}
			if (e.BatchKey == "") != tt.freshKey {
				t.Errorf("batch key %q after the stop, want fresh=%v", e.BatchKey, tt.freshKey)
			}
		})
	}
}

// statusError is an answer error as hubclient reports one that is not the
// API's JSON: a status, and whether the same request may work later.
type statusError struct{ status int }

func (e *statusError) Error() string   { return fmt.Sprintf("unexpected answer %d", e.status) }
func (e *statusError) StatusCode() int { return e.status }
func (e *statusError) Retryable() bool { return hubapi.Retryable(e.status, "") }

// TestUploadTooLarge: a hub (or a proxy before it) that refuses the body's
// size gets smaller batches; a record too large on its own is refused and
// the queue moves on past it.
func TestUploadTooLarge(t *testing.T) {
	t.Parallel()
	for _, proxy := range []bool{false, true} {
		t.Run(fmt.Sprintf("proxy=%v", proxy), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			st := openStore(t)
			ob := newOutbox(t, st)
			addN(t, st, ob, 0, 8)
			tooBig := func() error {
				if proxy {
					return &statusError{status: 413}
				}
				return &hubapi.Error{Status: 413, Code: hubapi.CodeTooLarge, Message: "request body too large"}
			}
			sender := &testSender{answer: func(_ int, c call) ([]hubapi.RecordResult, error) {
				// At most two records fit, and record 5 never does.
				if slices.Contains(c.ids, recID(5)) && len(c.ids) == 1 {
					return nil, tooBig()
				}
				if len(c.envs) > 2 || slices.Contains(c.ids, recID(5)) {
					return nil, tooBig()
				}
				return storeAll(c), nil
			}}
			u := uploader(t, ob, sender, &sleeper{})
			u.BatchSize = 8
			sum, err := u.Run(ctx, nil)
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			if sum.Sent != 7 || len(sum.Rejected) != 1 || sum.Rejected[0].ID != recID(5) || sum.Rejected[0].RejectCode != hubapi.CodeTooLarge {
				t.Errorf("summary %+v, want 7 sent and record 5 refused as too-large", sum)
			}
			if c := counts(t, ob); c != (outbox.Counts{Sent: 7, Rejected: 1}) {
				t.Errorf("counts %+v", c)
			}
		})
	}
}

// TestUploadAfterCrash stops a run between "batch key stored" and "answer
// stored" (the process dies; here the context ends inside the request) and
// runs a fresh uploader on the reopened database: it must send the same
// batch, with the same key, before anything else.
func TestUploadAfterCrash(t *testing.T) {
	t.Parallel()
	p := filepath.Join(t.TempDir(), "latchkey.db")
	st := openStoreAt(t, p)
	ob := newOutbox(t, st)
	addN(t, st, ob, 0, 12)

	ctx, cancel := context.WithCancel(context.Background())
	crashing := &testSender{answer: func(int, call) ([]hubapi.RecordResult, error) {
		cancel()
		return nil, context.Canceled
	}}
	u := uploader(t, ob, crashing, &sleeper{})
	u.BatchSize = 5
	if _, err := u.Run(ctx, nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("Run = %v, want context.Canceled", err)
	}
	first := crashing.Calls()
	if len(first) != 1 {
		t.Fatalf("%d calls before the crash", len(first))
	}
	// Records queued after the crash go after the interrupted batch.
	addN(t, st, ob, 12, 1)
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	st2 := openStoreAt(t, p)
	ob2 := newOutbox(t, st2)
	sender := &testSender{}
	u2 := uploader(t, ob2, sender, &sleeper{})
	u2.BatchSize = 5
	sum, err := u2.Run(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	calls := sender.Calls()
	if len(calls) != 3 {
		t.Fatalf("%d calls after restart, want 3", len(calls))
	}
	if calls[0].key != first[0].key || !slices.Equal(calls[0].ids, first[0].ids) || !slices.EqualFunc(calls[0].envs, first[0].envs, bytes.Equal) {
		t.Errorf("after restart sent %s %v, want the interrupted batch %s %v", calls[0].key, calls[0].ids, first[0].key, first[0].ids)
	}
	var all []string
	for _, c := range calls {
		all = append(all, c.ids...)
	}
	if len(all) != 13 || all[12] != recID(12) || sum.Sent != 13 {
		t.Errorf("sent %v, summary %+v", all, sum)
	}
}

// TestUploadConcurrentAdds queues records while a run is sending them, as a
// rep logging a visit during a sync does. Run under -race.
func TestUploadConcurrentAdds(t *testing.T) {
	t.Parallel()
	st := openStore(t)
	ob := newOutbox(t, st)
	addN(t, st, ob, 0, 50)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 20 {
			addN(t, st, ob, 50+i, 1)
		}
	}()
	u := uploader(t, ob, &testSender{}, &sleeper{})
	u.BatchSize = 7
	if _, err := u.Run(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	<-done
	if _, err := u.Run(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	if c := counts(t, ob); c != (outbox.Counts{Sent: 70}) {
		t.Errorf("counts %+v", c)
	}
}

func TestBatchSizeBounds(t *testing.T) {
	t.Parallel()
	st := openStore(t)
	ob := newOutbox(t, st)
	addN(t, st, ob, 0, hubapi.MaxBatch+20)
	sender := &testSender{}
	u := uploader(t, ob, sender, &sleeper{})
	u.BatchSize = 10_000
	if _, err := u.Run(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	calls := sender.Calls()
	if len(calls) != 2 || len(calls[0].ids) != hubapi.MaxBatch {
		t.Errorf("%d calls, first of %d records; want batches of at most %d", len(calls), len(calls[0].ids), hubapi.MaxBatch)
	}
}

// BenchmarkSync sends 10,000 queued records to a hub that answers at once,
// so it measures the outbox's own cost: reading, marking, committing.
func BenchmarkSync(b *testing.B) {
	const n = 10_000
	template := filepath.Join(b.TempDir(), "template.db")
	st := openStoreAt(b, template)
	ob := newOutbox(b, st)
	addN(b, st, ob, 0, n)
	// The hub's digests, worked out beforehand so the sender costs nothing.
	es, err := ob.List(context.Background(), outbox.Filter{})
	if err != nil {
		b.Fatal(err)
	}
	hub := instantSender{digests: make(map[string]string, n)}
	for _, e := range es {
		hub.digests[string(e.EnvelopeJSON())] = e.Digest
	}
	if err := st.Close(); err != nil {
		b.Fatal(err)
	}
	tmpl := readFile(b, template)
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		p := filepath.Join(b.TempDir(), "latchkey.db")
		writeFile(b, p, tmpl)
		st := openStoreAt(b, p)
		ob := newOutbox(b, st)
		u := &outbox.Uploader{Outbox: ob, Sender: hub}
		b.StartTimer()
		sum, err := u.Run(context.Background(), nil)
		if err != nil || sum.Sent != n {
			b.Fatalf("Run = %+v, %v", sum, err)
		}
		b.StopTimer()
		st.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "records/s")
}

// instantSender stores everything at once, looking up the digests it
// was given instead of decoding the records.
type instantSender struct{ digests map[string]string }

func (s instantSender) SendBatch(_ context.Context, _ string, envs [][]byte) ([]hubapi.RecordResult, error) {
	out := make([]hubapi.RecordResult, len(envs))
	for i, e := range envs {
		out[i] = hubapi.RecordResult{Status: hubapi.StatusStored, Digest: s.digests[string(e)]}
	}
	return out, nil
}
