package smp_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/smp"
)

// testServer returns a server with the OS echo and parameters commands, as
// the virtual unit will register them.
func testServer(bufSize int) *smp.Server {
	srv := &smp.Server{BufSize: bufSize}
	echo := func(_ context.Context, req smp.Message) (any, error) {
		var r smp.EchoRequest
		if err := smp.DecodeCBOR(req.Body, &r); err != nil {
			return nil, smp.MgmtInval
		}
		return smp.EchoResponse{R: r.D}, nil
	}
	srv.Handle(smp.GroupOS, smp.OSEcho, smp.OpRead, echo)
	srv.Handle(smp.GroupOS, smp.OSEcho, smp.OpWrite, echo)
	srv.Handle(smp.GroupOS, smp.OSParams, smp.OpRead, func(context.Context, smp.Message) (any, error) {
		return smp.Params{BufSize: uint32(srv.BufSize), BufCount: 4}, nil
	})
	return srv
}

func TestEchoRoundTrip(t *testing.T) {
	t.Parallel()
	l := newLink(t, smp.ClientOptions{})
	l.serve(t, testServer(2048), nil)
	ctx := context.Background()

	for _, s := range []string{"", "hi", strings.Repeat("long echo spans several frames ", 20)} {
		got, err := l.client.Echo(ctx, s)
		if err != nil {
			t.Fatalf("Echo(%d bytes): %v", len(s), err)
		}
		if got != s {
			t.Fatalf("Echo = %q, want %q", got, s)
		}
	}
	p, err := l.client.Params(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if p != (smp.Params{BufSize: 2048, BufCount: 4}) {
		t.Fatalf("Params = %+v", p)
	}
	// A version 2 request is answered in version 2.
	rsp, err := l.client.Do(ctx, smp.Request{Op: smp.OpRead, Group: smp.GroupOS, ID: smp.OSEcho, Version: smp.V2, Body: smp.EchoRequest{D: "v2"}})
	if err != nil {
		t.Fatal(err)
	}
	if rsp.Version != smp.V2 || rsp.Op != smp.OpReadRsp {
		t.Fatalf("response header %+v, want version 2 read-rsp", rsp.Header)
	}
	st := l.client.Stats()
	if st.Sent != 5 || st.Answered != 5 || st.Unsolicited+st.Late+st.Mismatched+st.NotResponse+st.Malformed != 0 {
		t.Fatalf("stats %+v", st)
	}
}

func TestConcurrentRequestsGetTheirOwnAnswers(t *testing.T) {
	t.Parallel()
	l := newLink(t, smp.ClientOptions{MaxInFlight: 4})
	l.serve(t, testServer(2048), nil)

	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for g := range 4 {
		wg.Go(func() {
			for i := range 10 {
				want := fmt.Sprintf("caller %d request %d %s", g, i, strings.Repeat("x", g*40))
				got, err := l.client.Echo(context.Background(), want)
				if err != nil {
					errs <- err
					return
				}
				if got != want {
					errs <- fmt.Errorf("caller %d got %q, want %q", g, got, want)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// A unit may answer in any order; each answer must reach its own request.
func TestAnswersOutOfOrderRouteBySequence(t *testing.T) {
	t.Parallel()
	l := newLink(t, smp.ClientOptions{MaxInFlight: 4})
	p := l.peer(t)

	type result struct {
		want, got string
		err       error
	}
	results := make(chan result, 4)
	for i := range 4 {
		go func() {
			want := fmt.Sprintf("request %d", i)
			got, err := l.client.Echo(context.Background(), want)
			results <- result{want, got, err}
		}()
	}
	// All four are on the wire before any is answered.
	var reqs []smp.Message
	seqs := map[uint8]bool{}
	for range 4 {
		m := p.next()
		reqs = append(reqs, m)
		seqs[m.Seq] = true
	}
	if len(seqs) != 4 {
		t.Fatalf("4 requests in flight share sequence numbers: %v", seqs)
	}
	for i := len(reqs) - 1; i >= 0; i-- {
		var e smp.EchoRequest
		if err := smp.DecodeCBOR(reqs[i].Body, &e); err != nil {
			t.Fatal(err)
		}
		p.reply(reqs[i], smp.EchoResponse{R: e.D}, nil)
	}
	for range 4 {
		r := <-results
		if r.err != nil || r.got != r.want {
			t.Errorf("Echo(%q) = %q, %v", r.want, r.got, r.err)
		}
	}
}

func TestMaxInFlightIsRespected(t *testing.T) {
	t.Parallel()
	l := newLink(t, smp.ClientOptions{MaxInFlight: 2})
	p := l.peer(t)
	done := make(chan error, 3)
	for i := range 3 {
		go func() {
			_, err := l.client.Echo(context.Background(), fmt.Sprint(i))
			done <- err
		}()
	}
	a, b := p.next(), p.next()
	p.none(150 * time.Millisecond) // the third waits for a free slot
	p.reply(a, smp.EchoResponse{R: "a"}, nil)
	c := p.next()
	p.reply(b, smp.EchoResponse{R: "b"}, nil)
	p.reply(c, smp.EchoResponse{R: "c"}, nil)
	for range 3 {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}

	// Raising the limit, as after reading buf_count, lets more through.
	l.client.SetMaxInFlight(3)
	for i := range 3 {
		go func() {
			_, err := l.client.Echo(context.Background(), fmt.Sprint(i))
			done <- err
		}()
	}
	reqs := []smp.Message{p.next(), p.next(), p.next()}
	for _, r := range reqs {
		p.reply(r, smp.EchoResponse{R: "x"}, nil)
	}
	for range 3 {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}

func TestUnknownCommandIsNotSupported(t *testing.T) {
	t.Parallel()
	l := newLink(t, smp.ClientOptions{})
	l.serve(t, testServer(0), nil)
	// [protocol]: errors of SMP itself stay {"rc": N} in version 2, and an
	// unknown command is one (Zephyr's smp.c answers MGMT_ERR_ENOTSUP).
	for _, v := range []smp.Version{smp.V1, smp.V2} {
		for _, req := range []smp.Request{
			{Op: smp.OpRead, Group: 64, ID: 9, Version: v},                      // unknown group
			{Op: smp.OpRead, Group: smp.GroupOS, ID: 99, Version: v},            // unknown command
			{Op: smp.OpWrite, Group: smp.GroupOS, ID: smp.OSParams, Version: v}, // unknown op
		} {
			rsp, err := l.client.Do(context.Background(), req)
			var e *smp.Error
			if !errors.As(err, &e) || !errors.Is(err, smp.MgmtNotSup) {
				t.Fatalf("Do(%+v) error %v, want *Error with ENOTSUP", req, err)
			}
			if rsp.Group != req.Group || rsp.ID != req.ID || rsp.Version != v {
				t.Errorf("response header %+v does not answer %+v", rsp.Header, req)
			}
		}
	}
}

func TestHandlerErrors(t *testing.T) {
	t.Parallel()
	srv := testServer(0)
	srv.Translate = func(group uint16, rc int) smp.MgmtErr {
		if group == 64 && rc == 7 {
			return smp.MgmtBadState
		}
		return smp.MgmtOK
	}
	srv.Handle(64, 1, smp.OpWrite, func(context.Context, smp.Message) (any, error) {
		return nil, &smp.Error{Version: smp.V2, Group: 64, RC: 7}
	})
	srv.Handle(64, 2, smp.OpWrite, func(context.Context, smp.Message) (any, error) {
		return nil, fmt.Errorf("flash: %w", smp.MgmtBusy)
	})
	srv.Handle(64, 3, smp.OpWrite, func(context.Context, smp.Message) (any, error) {
		return nil, errors.New("something internal")
	})
	srv.Handle(64, 4, smp.OpWrite, func(context.Context, smp.Message) (any, error) {
		panic("handler bug")
	})
	var mu sync.Mutex
	var reported []error
	srv.OnError = func(err error) { mu.Lock(); reported = append(reported, err); mu.Unlock() }
	l := newLink(t, smp.ClientOptions{})
	l.serve(t, srv, nil)

	tests := []struct {
		name string
		id   uint8
		v    smp.Version
		want smp.Error
	}{
		{"group error to v2 request", 1, smp.V2, smp.Error{Version: smp.V2, Group: 64, RC: 7}},
		{"group error to v1 request is translated", 1, smp.V1, smp.Error{Version: smp.V1, RC: int(smp.MgmtBadState)}},
		{"wrapped MgmtErr", 2, smp.V2, smp.Error{Version: smp.V1, RC: int(smp.MgmtBusy)}},
		{"plain error", 3, smp.V1, smp.Error{Version: smp.V1, RC: int(smp.MgmtUnknown)}},
		{"panic", 4, smp.V2, smp.Error{Version: smp.V1, RC: int(smp.MgmtUnknown)}},
	}
	for _, tt := range tests {
		_, err := l.client.Do(context.Background(), smp.Request{Op: smp.OpWrite, Group: 64, ID: tt.id, Version: tt.v})
		var e *smp.Error
		if !errors.As(err, &e) || *e != tt.want {
			t.Errorf("%s: error %v, want %v", tt.name, err, &tt.want)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(reported) != 2 {
		t.Errorf("OnError got %q, want the plain error and the panic", reported)
	}
}

func TestOversizedResponseIsAnErrorNotTruncated(t *testing.T) {
	t.Parallel()
	srv := testServer(64)
	srv.Handle(64, 5, smp.OpRead, func(context.Context, smp.Message) (any, error) {
		return map[string]string{"log": strings.Repeat("a", 60)}, nil
	})
	errs := make(chan error, 1)
	srv.OnError = func(err error) { errs <- err }
	l := newLink(t, smp.ClientOptions{})
	l.serve(t, srv, nil)

	if _, err := l.client.Echo(context.Background(), strings.Repeat("a", 40)); err != nil {
		t.Fatalf("echo that fits in 64 bytes: %v", err)
	}
	_, err := l.client.Do(context.Background(), smp.Request{Op: smp.OpRead, Group: 64, ID: 5})
	if !errors.Is(err, smp.MgmtMsgSize) {
		t.Fatalf("response too large for buf_size: %v, want EMSGSIZE", err)
	}
	select {
	case err := <-errs:
		if !errors.Is(err, smp.ErrTooLarge) {
			t.Errorf("OnError(%v), want ErrTooLarge", err)
		}
	default:
		t.Error("oversized response not reported")
	}
}

// chatty writes console text and line noise onto the line before every
// response, as a unit logging on its SMP port does.
type chatty struct {
	w interface{ Write([]byte) (int, error) }
	n int
}

func (c *chatty) Write(b []byte) (int, error) {
	c.n++
	noise := fmt.Sprintf("[00:00:%02d.000,000] <inf> app: tick %d\r\nuart:~$ \x00\xff\x06garbage\x04\n", c.n%60, c.n)
	if _, err := c.w.Write([]byte(noise)); err != nil {
		return 0, err
	}
	return c.w.Write(b)
}

func TestConsoleTextAndGarbageAreSkipped(t *testing.T) {
	t.Parallel()
	l := newLink(t, smp.ClientOptions{})
	l.serve(t, testServer(2048), &chatty{w: l.master})
	for i := range 5 {
		want := strings.Repeat(fmt.Sprint(i), 50*i+1)
		got, err := l.client.Echo(context.Background(), want)
		if err != nil || got != want {
			t.Fatalf("Echo through chatter = %q, %v", got, err)
		}
	}
	st := l.client.Stats()
	if st.Answered != 5 || st.Decoder.Discards == 0 || st.Decoder.DiscardedBytes < 5*40 {
		t.Fatalf("stats %+v: want 5 answers and the chatter discarded", st)
	}
}

func TestTimeout(t *testing.T) {
	t.Parallel()
	t.Run("client default", func(t *testing.T) {
		t.Parallel()
		l := newLink(t, smp.ClientOptions{Timeout: 200 * time.Millisecond})
		p := l.peer(t) // reads requests and never answers
		start := time.Now()
		_, err := l.client.Echo(context.Background(), "anyone?")
		elapsed := time.Since(start)
		p.next()
		var te *smp.TimeoutError
		if !errors.Is(err, smp.ErrTimeout) || !errors.As(err, &te) {
			t.Fatalf("error %v, want ErrTimeout", err)
		}
		if want := "echo: smp: no answer to group 0 command 0 in 200ms"; err.Error() != want {
			t.Errorf("error %q, want %q", err, want)
		}
		if elapsed < 200*time.Millisecond || elapsed > time.Second {
			t.Errorf("timed out after %v, want about 200ms", elapsed)
		}
	})
	t.Run("context deadline", func(t *testing.T) {
		t.Parallel()
		l := newLink(t, smp.ClientOptions{}) // default 5s must not apply
		l.peer(t)
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := l.client.Do(ctx, smp.Request{Op: smp.OpRead, Group: 64, ID: 3})
		if elapsed := time.Since(start); !errors.Is(err, smp.ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) || elapsed > time.Second {
			t.Fatalf("error %v after %v, want ErrTimeout after about 200ms", err, elapsed)
		}
		if !strings.Contains(err.Error(), "no answer to group 64 command 3 in 200ms") {
			t.Errorf("error %q does not name the command and timeout", err)
		}
	})
	t.Run("cancel", func(t *testing.T) {
		t.Parallel()
		l := newLink(t, smp.ClientOptions{})
		l.peer(t)
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(50*time.Millisecond, cancel)
		_, err := l.client.Echo(ctx, "x")
		if !errors.Is(err, context.Canceled) || errors.Is(err, smp.ErrTimeout) {
			t.Fatalf("error %v, want context.Canceled", err)
		}
	})
}

func TestUnitVanishesMidRequest(t *testing.T) {
	t.Parallel()
	l := newLink(t, smp.ClientOptions{Timeout: 5 * time.Second})
	p := l.peer(t)
	errc := make(chan error, 1)
	start := time.Now()
	go func() {
		_, err := l.client.Echo(context.Background(), "are you there")
		errc <- err
	}()
	p.next()
	_ = l.master.Close() // the cable is pulled
	select {
	case err := <-errc:
		if !errors.Is(err, smp.ErrDisconnected) {
			t.Fatalf("error %v, want ErrDisconnected", err)
		}
		if time.Since(start) > 2*time.Second {
			t.Errorf("took %v to notice", time.Since(start))
		}
	case <-time.After(3 * time.Second):
		t.Fatal("request hangs after the unit vanished")
	}
	if _, err := l.client.Echo(context.Background(), "again"); !errors.Is(err, smp.ErrDisconnected) {
		t.Errorf("request after disconnect: %v, want ErrDisconnected", err)
	}
	if !errors.Is(l.client.Err(), smp.ErrDisconnected) {
		t.Errorf("Err() = %v", l.client.Err())
	}
}

func TestClose(t *testing.T) {
	t.Parallel()
	l := newLink(t, smp.ClientOptions{})
	p := l.peer(t)
	errc := make(chan error, 1)
	go func() {
		_, err := l.client.Echo(context.Background(), "pending")
		errc <- err
	}()
	p.next()
	start := time.Now()
	if err := l.client.Close(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 500*time.Millisecond {
		t.Errorf("Close took %v", d)
	}
	if err := <-errc; !errors.Is(err, smp.ErrClosed) {
		t.Errorf("pending request: %v, want ErrClosed", err)
	}
	if _, err := l.client.Echo(context.Background(), "after"); !errors.Is(err, smp.ErrClosed) {
		t.Errorf("request after Close: %v, want ErrClosed", err)
	}
	if err := l.client.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestStrayResponsesAreDroppedAndCounted(t *testing.T) {
	t.Parallel()
	l := newLink(t, smp.ClientOptions{Timeout: 150 * time.Millisecond})
	p := l.peer(t)
	ctx := context.Background()

	// 1. An answer to a request never sent, then the real answer.
	errc := make(chan error, 1)
	go func() {
		got, err := l.client.Echo(ctx, "first")
		if err == nil && got != "first" {
			err = fmt.Errorf("got %q", got)
		}
		errc <- err
	}()
	req := p.next()
	p.reply(req, smp.EchoResponse{R: "not yours"}, func(h *smp.Header) { h.Seq += 100 })
	// 2. The right sequence number for another command: not this answer.
	p.reply(req, smp.EchoResponse{R: "wrong command"}, func(h *smp.Header) { h.ID = smp.OSParams })
	// 3. A request, not a response (a unit echoing the line back).
	p.reply(req, smp.EchoRequest{D: "echoed"}, func(h *smp.Header) { h.Op = smp.OpWrite })
	p.reply(req, smp.EchoResponse{R: "first"}, nil)
	if err := <-errc; err != nil {
		t.Fatalf("first echo: %v", err)
	}

	// 4. A late answer after the request timed out must not reach the next
	// request.
	if _, err := l.client.Echo(ctx, "slow"); !errors.Is(err, smp.ErrTimeout) {
		t.Fatalf("slow echo: %v, want timeout", err)
	}
	slow := p.next()
	go func() {
		got, err := l.client.Echo(ctx, "second")
		if err == nil && got != "second" {
			err = fmt.Errorf("second request got %q", got)
		}
		errc <- err
	}()
	second := p.next()
	if second.Seq == slow.Seq {
		t.Fatalf("sequence %d reused while its answer may still come", slow.Seq)
	}
	p.reply(slow, smp.EchoResponse{R: "slow"}, nil)
	p.reply(second, smp.EchoResponse{R: "second"}, nil)
	if err := <-errc; err != nil {
		t.Fatal(err)
	}

	st := l.client.Stats()
	want := smp.ClientStats{Sent: 3, Answered: 2, Unsolicited: 1, Late: 1, Mismatched: 1, NotResponse: 1, Decoder: st.Decoder}
	if st != want {
		t.Fatalf("stats %+v, want %+v", st, want)
	}
}

func TestDeviceErrorInResponse(t *testing.T) {
	t.Parallel()
	l := newLink(t, smp.ClientOptions{})
	p := l.peer(t)
	go func() {
		req := p.next()
		p.reply(req, map[string]int{"rc": int(smp.MgmtBusy)}, nil)
		req = p.next()
		p.reply(req, []byte("not cbor"), nil)
		req = p.next()
		p.reply(req, map[string]any{"buf_size": 4}, nil) // too small, no count
	}()
	ctx := context.Background()
	if _, err := l.client.Echo(ctx, "x"); !errors.Is(err, smp.MgmtBusy) {
		t.Errorf("rc response: %v, want EBUSY", err)
	}
	if _, err := l.client.Echo(ctx, "x"); !errors.Is(err, smp.ErrBody) {
		t.Errorf("garbage body: %v, want ErrBody", err)
	}
	if _, err := l.client.Params(ctx); !errors.Is(err, smp.ErrBody) {
		t.Errorf("bad params: %v, want ErrBody", err)
	}
}

func TestRequestValidation(t *testing.T) {
	t.Parallel()
	l := newLink(t, smp.ClientOptions{})
	if _, err := l.client.Do(context.Background(), smp.Request{Op: smp.OpReadRsp}); err == nil {
		t.Error("request with a response op accepted")
	}
	if _, err := l.client.Do(context.Background(), smp.Request{Op: smp.OpWrite, Body: make(chan int)}); err == nil {
		t.Error("body that cannot be CBOR accepted")
	}
}
