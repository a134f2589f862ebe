package hub_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/hub"
	"github.com/latchkey/latchkey/internal/hub/sqlstore"
	"github.com/latchkey/latchkey/internal/hubapi"
	"github.com/latchkey/latchkey/internal/identity"
	"github.com/latchkey/latchkey/internal/record"
)

// t0 is the tests' "now".
var t0 = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// testHub is a hub on a temporary SQLite file, served over loopback.
type testHub struct {
	t     testing.TB
	store *sqlstore.Store
	admin *hub.Admin
	srv   *hub.Server
	ts    *httptest.Server
	key   identity.Identity
	clock *clock
}

type hubOption func(*hubOptions)

type hubOptions struct {
	wrap func(hub.Storage) hub.Storage
}

// withStore lets a test put a wrapper around the server's storage.
func withStore(wrap func(hub.Storage) hub.Storage) hubOption {
	return func(o *hubOptions) { o.wrap = wrap }
}

func newHub(t testing.TB, opts ...hubOption) *testHub {
	t.Helper()
	var o hubOptions
	for _, f := range opts {
		f(&o)
	}
	ctx := context.Background()
	st, err := sqlstore.Open(ctx, filepath.Join(t.TempDir(), "hub.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	key, err := hub.LoadKeys(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	c := &clock{t: t0}
	admin, err := hub.NewAdmin(hub.AdminConfig{Store: st, Key: key, Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	var storage hub.Storage = st
	if o.wrap != nil {
		storage = o.wrap(st)
	}
	srv, err := hub.NewServer(hub.ServerConfig{Store: storage, Signer: key.Sign, Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	return &testHub{t: t, store: st, admin: admin, srv: srv, ts: ts, key: key, clock: c}
}

// user is an enrolled test user.
type user struct {
	name  string
	id    identity.Identity
	token string
	resp  hubapi.EnrollResponse
}

func (u user) keyID() string { return record.KeyID(u.id.Public().Sign) }

// enroll makes a code with the admin and redeems it with fresh keys.
func (h *testHub) enroll(name, role string) user {
	h.t.Helper()
	id, err := identity.Generate(rand.Reader)
	if err != nil {
		h.t.Fatal(err)
	}
	return h.enrollWith(name, role, id)
}

func (h *testHub) enrollWith(name, role string, id identity.Identity) user {
	h.t.Helper()
	code, _, err := h.admin.Enroll(context.Background(), name, role, time.Hour)
	if err != nil {
		h.t.Fatal(err)
	}
	pub := id.Public()
	status, body := h.do(http.MethodPost, hubapi.PathEnroll, "", "", mustJSON(h.t, hubapi.EnrollRequest{Code: code, SignKey: pub.Sign, KexKey: pub.Kex}))
	if status != http.StatusCreated {
		h.t.Fatalf("enroll %s: %d %s", name, status, body)
	}
	var resp hubapi.EnrollResponse
	if err := json.Unmarshal(body, &resp); err != nil {
		h.t.Fatal(err)
	}
	return user{name: name, id: id, token: resp.Token, resp: resp}
}

// do sends a request and returns the status and body.
func (h *testHub) do(method, path, token, idemKey string, body []byte) (int, []byte) {
	h.t.Helper()
	return doURL(h.t, h.ts.Client(), h.ts.URL, method, path, token, idemKey, body)
}

func doURL(t testing.TB, c *http.Client, base, method, path, token, idemKey string, body []byte) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, base+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if idemKey != "" {
		req.Header.Set(hubapi.HeaderIdempotencyKey, idemKey)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// rec is a record payload: the common header plus kind-specific fields.
type rec map[string]any

// newRec returns a record payload with id, valid for a day from t0.
func newRec(id string, fields ...any) rec {
	r := rec{"id": id, "created_at": t0.Add(-time.Hour).Format(time.RFC3339), "expires_at": t0.Add(24 * time.Hour).Format(time.RFC3339)}
	for i := 0; i+1 < len(fields); i += 2 {
		r[fields[i].(string)] = fields[i+1]
	}
	return r
}

// sign returns the wire form of r as a kind record signed by key.
func sign(t testing.TB, k record.Kind, r rec, key ed25519.PrivateKey) []byte {
	t.Helper()
	env, err := record.Sign(k, r, key, record.KeyID(key.Public().(ed25519.PublicKey)))
	if err != nil {
		t.Fatal(err)
	}
	return mustJSON(t, env)
}

// batch is the body of a batch request.
func batch(t testing.TB, records ...[]byte) []byte {
	t.Helper()
	req := hubapi.BatchRequest{}
	for _, r := range records {
		req.Records = append(req.Records, r)
	}
	return mustJSON(t, req)
}

// errorBody decodes an ErrorBody.
func errorBody(t testing.TB, b []byte) hubapi.ErrorBody {
	t.Helper()
	var e hubapi.ErrorBody
	if err := json.Unmarshal(b, &e); err != nil {
		t.Fatalf("not an ErrorBody: %s", b)
	}
	return e
}
