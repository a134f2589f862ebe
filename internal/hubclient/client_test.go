package hubclient

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/hubapi"
	"github.com/latchkey/latchkey/internal/identity"
)

const testToken = "lk_s3cr3t-T0KEN-value"

// smallMax stands in for MaxResponse, so a test need not send 32 MiB.
const smallMax = 4096

// hub is a stand-in for the hub's API, answering as hubapi describes. Each
// test sets the handlers it needs; any other path fails the test.
type hub struct {
	t      *testing.T
	routes map[string]http.HandlerFunc // "METHOD /path"
	hits   atomic.Int32
}

func newHub(t *testing.T, routes map[string]http.HandlerFunc) (*httptest.Server, *hub) {
	t.Helper()
	h := &hub{t: t, routes: routes}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv, h
}

func (h *hub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.hits.Add(1)
	route, ok := h.routes[r.Method+" "+r.URL.Path]
	if !ok {
		h.t.Errorf("unexpected request %s %s", r.Method, r.URL.Path)
		writeError(w, hubapi.CodeNotFound, "no such path", nil)
		return
	}
	route(w, r)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, code, msg string, res *hubapi.RecordResult) {
	writeJSON(w, hubapi.StatusFor(code), hubapi.ErrorBody{Error: hubapi.ErrorDetail{Code: code, Message: msg, Result: res}})
}

// authed checks the bearer token as the hub does.
func authed(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+testToken {
			writeError(w, hubapi.CodeUnauthorized, "unknown token", nil)
			return
		}
		next(w, r)
	}
}

func newClient(t *testing.T, url string) *Client {
	t.Helper()
	c, err := New(url, Options{Token: testToken, UserAgent: "latchkey-test"})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestNewURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		url      string
		insecure bool
		want     error
	}{
		{"http://10.0.0.5", false, ErrInsecure},
		{"http://hub.example.com:8470", false, ErrInsecure},
		{"http://127.0.0.2:8470", false, nil},
		{"http://127.0.0.1:8470", false, nil},
		{"http://[::1]:1", false, nil},
		{"http://localhost:8470", false, nil},
		{"http://LOCALHOST", false, nil},
		{"https://x", false, nil},
		{"https://hub.example.com/", false, nil},
		{"http://x", true, nil},
		{"http://10.0.0.5", true, nil},
		{"https://hub.example.com/api", false, ErrBadURL},
		{"https://hub.example.com?x=1", false, ErrBadURL},
		{"https://hub.example.com#frag", false, ErrBadURL},
		{"https://user:pw@hub.example.com", false, ErrBadURL},
		{"ftp://hub.example.com", false, ErrBadURL},
		{"hub.example.com", false, ErrBadURL},
		{"https://", false, ErrBadURL},
		{"https://:8470", false, ErrBadURL},
		{"://", false, ErrBadURL},
		{"http://localhost.evil.example", false, ErrInsecure},
		{"http://127.0.0.1.nip.io", false, ErrInsecure},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			t.Parallel()
			c, err := New(tt.url, Options{Insecure: tt.insecure})
			if !errors.Is(err, tt.want) {
				t.Fatalf("New(%q, insecure=%t) = %v, want %v", tt.url, tt.insecure, err, tt.want)
			}
			if err != nil && strings.Contains(err.Error(), "pw") {
				t.Errorf("error shows the URL's password: %v", err)
			}
			if errors.Is(err, ErrInsecure) && (!strings.Contains(err.Error(), "https") || !strings.Contains(err.Error(), "--insecure")) {
				t.Errorf("refusal does not say what to do: %v", err)
			}
			if err == nil && strings.HasSuffix(c.URL(), "/") {
				t.Errorf("URL() = %q keeps a trailing slash", c.URL())
			}
		})
	}
}

func TestCalls(t *testing.T) {
	t.Parallel()
	user := hubapi.User{ID: "u1", Name: "ana", Role: hubapi.RoleInstaller, KeyID: "k", EnrolledAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	hubKey := make([]byte, 32)
	pub := identity.Public{Sign: make([]byte, 32), Kex: make([]byte, 32)}
	pub.Sign[0], pub.Kex[0] = 1, 2
	srv, _ := newHub(t, map[string]http.HandlerFunc{
		"POST " + hubapi.PathEnroll: func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Authorization") != "" {
				t.Error("enroll sent a token")
			}
			var req hubapi.EnrollRequest
			if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Code != "ABCD-1234" || req.SignKey[0] != 1 || req.KexKey[0] != 2 {
				t.Errorf("enroll request %+v, %v", req, err)
			}
			writeJSON(w, http.StatusCreated, hubapi.EnrollResponse{Token: testToken, User: user, HubKey: hubKey})
		},
		"GET " + hubapi.PathMe: authed(func(w http.ResponseWriter, r *http.Request) {
			if ua := r.Header.Get("User-Agent"); ua != "latchkey-test" {
				t.Errorf("User-Agent %q", ua)
			}
			writeJSON(w, http.StatusOK, user)
		}),
		"GET " + hubapi.PathJobs: authed(func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, http.StatusOK, hubapi.JobsResponse{Packets: []json.RawMessage{json.RawMessage(`{"a":1}`)}, Denylist: json.RawMessage(`{"signed":"S1"}`)})
		}),
		"POST " + hubapi.PathRecords: authed(func(w http.ResponseWriter, r *http.Request) {
			if k := r.Header.Get(hubapi.HeaderIdempotencyKey); k != "idem-1" {
				t.Errorf("Idempotency-Key %q", k)
			}
			if ct := r.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			b, _ := io.ReadAll(r.Body)
			if string(b) != `{"payloadType":"x"}` {
				t.Errorf("record body %s", b)
			}
			writeJSON(w, http.StatusCreated, hubapi.RecordResult{ID: "r1", Status: hubapi.StatusStored})
		}),
		"POST " + hubapi.PathRecordsBatch: authed(func(w http.ResponseWriter, r *http.Request) {
			var req hubapi.BatchRequest
			if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
				t.Error(err)
			}
			res := make([]hubapi.RecordResult, len(req.Records))
			for i := range res {
				res[i] = hubapi.RecordResult{ID: fmt.Sprint(i), Status: hubapi.StatusStored}
			}
			writeJSON(w, http.StatusOK, hubapi.BatchResponse{Results: res})
		}),
	})
	ctx := context.Background()
	anon, err := New(srv.URL, Options{})
	if err != nil {
		t.Fatal(err)
	}
	enr, err := anon.Enroll(ctx, "ABCD-1234", pub)
	if err != nil || enr.Token != testToken || enr.User.Name != "ana" {
		t.Fatalf("Enroll = %+v, %v", enr, err)
	}
	if _, err := anon.Me(ctx); err == nil || !strings.Contains(err.Error(), "latchkey login") {
		t.Errorf("Me without a token = %v, want a hint to log in", err)
	}
	c := newClient(t, srv.URL)
	me, err := c.Me(ctx)
	if err != nil || me.ID != "u1" || !me.EnrolledAt.Equal(user.EnrolledAt) {
		t.Errorf("Me = %+v, %v", me, err)
	}
	jobs, err := c.Jobs(ctx)
	if err != nil || len(jobs.Packets) != 1 || string(jobs.Denylist) != `{"signed":"S1"}` {
		t.Errorf("Jobs = %+v, %v", jobs, err)
	}
	res, err := c.SendRecord(ctx, "idem-1", []byte(`{"payloadType":"x"}`))
	if err != nil || res.Status != hubapi.StatusStored {
		t.Errorf("SendRecord = %+v, %v", res, err)
	}
	if _, err := c.SendRecord(ctx, "", []byte(`{}`)); err == nil {
		t.Error("SendRecord without an idempotency key succeeded")
	}
	results, err := c.SendBatch(ctx, "idem-2", [][]byte{[]byte(`{}`), []byte(`{"b":2}`)})
	if err != nil || len(results) != 2 || results[1].ID != "1" {
		t.Errorf("SendBatch = %+v, %v", results, err)
	}
}

func TestErrorAnswers(t *testing.T) {
	t.Parallel()
	refused := &hubapi.RecordResult{ID: "r9", Status: hubapi.StatusRejected, Code: hubapi.CodeBadSignature, Reason: "signature by key k does not verify"}
	tests := []struct {
		name       string
		handler    http.HandlerFunc
		call       func(c *Client) error
		wantStatus int
		wantCode   string // "" means an *AnswerError
		wantRetry  time.Duration
		wantResult bool
	}{
		{
			name: "unavailable with retry-after",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set(hubapi.HeaderRetryAfter, "7")
				writeError(w, hubapi.CodeUnavailable, "draining", nil)
			},
			call:       func(c *Client) error { _, err := c.Me(context.Background()); return err },
			wantStatus: 503, wantCode: hubapi.CodeUnavailable, wantRetry: 7 * time.Second,
		},
		{
			name: "too many requests",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set(hubapi.HeaderRetryAfter, "120")
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusTooManyRequests)
				io.WriteString(w, `{"error":{"code":"rate-limited","message":"slow down","extra":1}}`)
			},
			call:       func(c *Client) error { _, err := c.Jobs(context.Background()); return err },
			wantStatus: 429, wantCode: "rate-limited", wantRetry: 2 * time.Minute,
		},
		{
			name: "record refused with its result",
			handler: func(w http.ResponseWriter, r *http.Request) {
				writeError(w, hubapi.CodeBadSignature, "tampered", refused)
			},
			call:       func(c *Client) error { _, err := c.SendRecord(context.Background(), "k", []byte(`{}`)); return err },
			wantStatus: 422, wantCode: hubapi.CodeBadSignature, wantResult: true,
		},
		{
			name: "proxy error page",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/html")
				w.WriteHeader(http.StatusBadGateway)
				io.WriteString(w, "<html>bad gateway</html>")
			},
			call:       func(c *Client) error { _, err := c.Me(context.Background()); return err },
			wantStatus: 502,
		},
		{
			name: "error without a code",
			handler: func(w http.ResponseWriter, r *http.Request) {
				writeJSON(w, http.StatusInternalServerError, map[string]string{"message": "boom"})
			},
			call:       func(c *Client) error { _, err := c.Me(context.Background()); return err },
			wantStatus: 500,
		},
		{
			name: "success with a body that is not JSON",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				io.WriteString(w, `{"id":`)
			},
			call:       func(c *Client) error { _, err := c.Me(context.Background()); return err },
			wantStatus: 200,
		},
		{
			name: "redirect is not followed",
			handler: func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, "/elsewhere", http.StatusFound)
			},
			call:       func(c *Client) error { _, err := c.Me(context.Background()); return err },
			wantStatus: 302,
		},
		{
			name: "answer too large",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				io.WriteString(w, `{"packets":["`)
				io.WriteString(w, strings.Repeat("a", smallMax))
				io.WriteString(w, `"]}`)
			},
			call:       func(c *Client) error { _, err := c.Jobs(context.Background()); return err },
			wantStatus: 200,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, _ := newHub(t, map[string]http.HandlerFunc{
				"GET " + hubapi.PathMe:       tt.handler,
				"GET " + hubapi.PathJobs:     tt.handler,
				"POST " + hubapi.PathRecords: tt.handler,
			})
			c := newClient(t, srv.URL)
			c.maxResponse = smallMax
			err := tt.call(c)
			if err == nil {
				t.Fatal("no error")
			}
			if tt.wantCode == "" {
				var ae *AnswerError
				if !errors.As(err, &ae) || !errors.Is(err, ErrUnexpectedAnswer) {
					t.Fatalf("error %v (%T), want an *AnswerError", err, err)
				}
				if ae.Status != tt.wantStatus || !strings.Contains(err.Error(), fmt.Sprint(tt.wantStatus)) {
					t.Errorf("error %q, want status %d named", err, tt.wantStatus)
				}
				return
			}
			var he *hubapi.Error
			if !errors.As(err, &he) {
				t.Fatalf("error %v (%T), want a *hubapi.Error", err, err)
			}
			if he.Status != tt.wantStatus || he.Code != tt.wantCode || he.RetryAfter != tt.wantRetry || he.Message == "" {
				t.Errorf("got %+v, want status %d code %s retry %s", he, tt.wantStatus, tt.wantCode, tt.wantRetry)
			}
			if tt.wantResult && (he.Result == nil || he.Result.ID != "r9" || he.Result.Code != hubapi.CodeBadSignature) {
				t.Errorf("result %+v, want %+v", he.Result, refused)
			}
		})
	}
}

func TestBatchCountMismatch(t *testing.T) {
	t.Parallel()
	srv, _ := newHub(t, map[string]http.HandlerFunc{
		"POST " + hubapi.PathRecordsBatch: authed(func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, http.StatusOK, hubapi.BatchResponse{Results: []hubapi.RecordResult{{Status: hubapi.StatusStored}}})
		}),
	})
	res, err := newClient(t, srv.URL).SendBatch(context.Background(), "k", [][]byte{[]byte(`{}`), []byte(`{}`)})
	if !errors.Is(err, ErrUnexpectedAnswer) || res != nil {
		t.Fatalf("SendBatch = %v, %v; want ErrUnexpectedAnswer", res, err)
	}
	if !strings.Contains(err.Error(), "1 results for 2 records") {
		t.Errorf("error %q does not give the counts", err)
	}
	if _, err := newClient(t, srv.URL).SendBatch(context.Background(), "k", nil); err == nil {
		t.Error("empty batch sent")
	}
}

// closedPort returns a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

func TestUnreachable(t *testing.T) {
	t.Parallel()
	c := newClient(t, "http://"+closedPort(t))
	_, err := c.Me(context.Background())
	if !errors.Is(err, ErrUnreachable) {
		t.Fatalf("Me = %v, want ErrUnreachable", err)
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("error %v lost its cause", err)
	}
	if strings.Contains(err.Error(), testToken) {
		t.Errorf("error shows the token: %v", err)
	}
}

func TestTimeoutAndCancel(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	srv, _ := newHub(t, map[string]http.HandlerFunc{
		"GET " + hubapi.PathMe: func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-release:
			case <-r.Context().Done():
			}
		},
	})
	defer close(release)
	c := newClient(t, srv.URL)

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := c.Me(ctx)
	if !errors.Is(err, ErrUnreachable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("timed out Me = %v, want ErrUnreachable and DeadlineExceeded", err)
	}

	ctx, cancel = context.WithCancel(context.Background())
	time.AfterFunc(20*time.Millisecond, cancel)
	_, err = c.Me(ctx)
	if !errors.Is(err, context.Canceled) || errors.Is(err, ErrUnreachable) {
		t.Errorf("cancelled Me = %v, want context.Canceled and not ErrUnreachable", err)
	}
}

func TestTokenNeverInErrors(t *testing.T) {
	t.Parallel()
	// A hub that echoes what it was sent is the worst case.
	echo := func(w http.ResponseWriter, r *http.Request) {
		auth := r.Header.Get("Authorization")
		res := &hubapi.RecordResult{Status: hubapi.StatusRejected, Code: hubapi.CodeMalformed, Reason: "bad " + auth}
		writeError(w, hubapi.CodeMalformed, "you sent "+auth, res)
	}
	srv, _ := newHub(t, map[string]http.HandlerFunc{
		"GET " + hubapi.PathMe:       echo,
		"POST " + hubapi.PathRecords: echo,
		"GET " + hubapi.PathJobs: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/plain; token="+testToken)
			w.WriteHeader(http.StatusBadGateway)
			io.WriteString(w, r.Header.Get("Authorization"))
		},
	})
	c := newClient(t, srv.URL)
	ctx := context.Background()
	_, err1 := c.Me(ctx)
	_, err2 := c.SendRecord(ctx, "k", []byte(`{}`))
	_, err3 := c.Jobs(ctx)
	for i, err := range []error{err1, err2, err3} {
		if err == nil {
			t.Fatalf("call %d: no error", i)
		}
		s := fmt.Sprintf("%v %+v %#v", err, err, err)
		var he *hubapi.Error
		if errors.As(err, &he) && he.Result != nil {
			s += he.Result.Reason
		}
		if strings.Contains(s, testToken) {
			t.Errorf("call %d: error shows the token: %s", i, s)
		}
	}
}

func TestClientConcurrentUse(t *testing.T) {
	t.Parallel()
	srv, h := newHub(t, map[string]http.HandlerFunc{
		"GET " + hubapi.PathMe: authed(func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, hubapi.User{ID: "u"}) }),
	})
	c := newClient(t, srv.URL)
	errs := make(chan error, 8)
	for range 8 {
		go func() { _, err := c.Me(context.Background()); errs <- err }()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	if n := h.hits.Load(); n != 8 {
		t.Errorf("%d requests, want 8", n)
	}
}

func TestRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	tests := map[string]time.Duration{
		"":                              0,
		"7":                             7 * time.Second,
		"-1":                            0,
		"soon":                          0,
		"86400":                         MaxRetryAfter,
		"86401":                         MaxRetryAfter,
		"9223372036854775807":           MaxRetryAfter,
		"99999999999999999999999":       MaxRetryAfter,
		"Wed, 25 Nov 2026 12:01:00 GMT": time.Minute,
		"Wed, 25 Nov 2026 11:00:00 GMT": 0,
	}
	for v, want := range tests {
		if got := retryAfter(v, now); got != want {
			t.Errorf("retryAfter(%q) = %s, want %s", v, got, want)
		}
	}
}
