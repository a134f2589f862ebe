package hub

import (
	"bytes"
	"context"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/latchkey/latchkey/internal/device"
	"github.com/latchkey/latchkey/internal/hubapi"
	"github.com/latchkey/latchkey/internal/identity"
	"github.com/latchkey/latchkey/internal/ids"
	"github.com/latchkey/latchkey/internal/packet"
	"github.com/latchkey/latchkey/internal/record"
)

// ServerConfig is what a Server works with.
type ServerConfig struct {
	Store Storage
	// Signer is the hub's Ed25519 key (LoadKeys), which signs job packets
	// and denylists; enrolling clients get its public half to check them.
	Signer ed25519.PrivateKey
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Rand makes tokens and user ids; nil means crypto/rand. Requests
	// read it concurrently, so it must be safe for concurrent use.
	Rand io.Reader
	// Logger gets errors the client is not told about; nil discards them.
	// Request lines are Serve's job.
	Logger *slog.Logger
}

// Server answers the API of internal/hubapi. It is an http.Handler; Serve
// runs it.
type Server struct {
	store   Storage
	signer  ed25519.PrivateKey
	hubKey  ed25519.PublicKey
	now     func() time.Time
	rand    io.Reader
	log     *slog.Logger
	metrics *metrics
	mux     *http.ServeMux
	// methods maps each API path to its method, to tell 405 from 404.
	methods map[string]string

	mu       sync.Mutex
	inflight map[string]struct{} // user + "\x00" + Idempotency-Key
}

// NewServer returns a Server over cfg.Store.
func NewServer(cfg ServerConfig) (*Server, error) {
	if cfg.Store == nil {
		return nil, errors.New("new hub server: no store")
	}
	if len(cfg.Signer) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("new hub server: hub key of %d bytes, want %d", len(cfg.Signer), ed25519.PrivateKeySize)
	}
	s := &Server{
		store: cfg.Store, signer: cfg.Signer, hubKey: cfg.Signer.Public().(ed25519.PublicKey), now: cfg.Now, rand: cfg.Rand, log: cfg.Logger,
		metrics: newMetrics(), mux: http.NewServeMux(), methods: map[string]string{},
		inflight: map[string]struct{}{},
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.rand == nil {
		s.rand = rand.Reader
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.handle(http.MethodGet, hubapi.PathHealth, s.health)
	s.handle(http.MethodGet, hubapi.PathReady, s.ready)
	s.handle(http.MethodGet, hubapi.PathMetrics, s.metrics.handler().ServeHTTP)
	s.handle(http.MethodPost, hubapi.PathEnroll, s.enroll)
	s.handle(http.MethodGet, hubapi.PathMe, s.auth(s.me))
	s.handle(http.MethodGet, hubapi.PathJobs, s.auth(s.jobs))
	s.handle(http.MethodPost, hubapi.PathRecords, s.auth(s.records))
	s.handle(http.MethodPost, hubapi.PathRecordsBatch, s.auth(s.recordsBatch))
	s.handle(http.MethodGet, hubapi.PathJournalHead, s.auth(s.journalHead))
	s.handle(http.MethodPost, hubapi.PathDecommissionAuth, s.auth(s.decommissionAuth))
	s.mux.HandleFunc("/", s.unmatched)
	return s, nil
}

// handle registers h for method and path, labelled with the path as its route.
func (s *Server) handle(method, path string, h http.HandlerFunc) {
	s.methods[path] = method
	s.mux.HandleFunc(method+" "+path, func(w http.ResponseWriter, r *http.Request) {
		infoFrom(r.Context()).route = path
		h(w, r)
	})
}

// ServeHTTP answers one request and counts it in the metrics.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	info := infoFrom(r.Context())
	if info == nil {
		info = &requestInfo{}
		r = r.WithContext(context.WithValue(r.Context(), infoKey{}, info))
	}
	sw := &statusWriter{ResponseWriter: w}
	s.mux.ServeHTTP(sw, r)
	if info.route == "" {
		info.route = "other"
	}
	s.metrics.observeRequest(info.route, sw.code(), time.Since(start))
}

// Sweep forgets expired idempotency keys (Serve calls it periodically).
func (s *Server) Sweep(ctx context.Context) (int, error) {
	n, err := s.store.SweepIdempotency(ctx, s.now().UTC())
	if err != nil {
		return 0, fmt.Errorf("sweep idempotency keys: %w", err)
	}
	return n, nil
}

func (s *Server) unmatched(w http.ResponseWriter, r *http.Request) {
	if m, ok := s.methods[r.URL.Path]; ok {
		w.Header().Set("Allow", m)
		writeJSON(w, http.StatusMethodNotAllowed, hubapi.ErrorBody{Error: hubapi.ErrorDetail{
			Code: hubapi.CodeBadRequest, Message: r.Method + " is not allowed here; use " + m,
		}})
		return
	}
	writeError(w, hubapi.CodeNotFound, "no such path: "+r.URL.Path)
}

func (s *Server) health(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (s *Server) ready(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	if err := s.store.Ping(ctx); err != nil {
		s.log.LogAttrs(r.Context(), slog.LevelWarn, "not ready", slog.String("error", err.Error()))
		w.Header().Set(hubapi.HeaderRetryAfter, "5")
		writeError(w, hubapi.CodeUnavailable, "storage does not answer")
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

func (s *Server) enroll(w http.ResponseWriter, r *http.Request) {
	body, ok := s.readBody(w, r)
	if !ok {
		return
	}
	var req hubapi.EnrollRequest
	if err := strictJSON(body, &req); err != nil {
		writeError(w, hubapi.CodeBadRequest, "enroll request: "+err.Error())
		return
	}
	if len(req.SignKey) != ed25519.PublicKeySize {
		writeError(w, hubapi.CodeBadRequest, fmt.Sprintf("sign_key of %d bytes, want an Ed25519 public key of %d", len(req.SignKey), ed25519.PublicKeySize))
		return
	}
	if _, err := ecdh.X25519().NewPublicKey(req.KexKey); err != nil {
		writeError(w, hubapi.CodeBadRequest, fmt.Sprintf("kex_key of %d bytes, want an X25519 public key of 32", len(req.KexKey)))
		return
	}
	code, ok := normalizeCode(req.Code)
	if !ok {
		writeError(w, hubapi.CodeEnrollInvalid, "enrollment code is unknown, used or expired")
		return
	}
	ctx := r.Context()
	keyID := record.KeyID(req.SignKey)
	var raw [32]byte
	if _, err := io.ReadFull(s.rand, raw[:]); err != nil {
		s.internal(w, r, err)
		return
	}
	token := base64.RawURLEncoding.EncodeToString(raw[:])
	clear(raw[:])
	id, err := ids.New(s.rand)
	if err != nil {
		s.internal(w, r, err)
		return
	}
	now := s.now().UTC()
	pub := identity.Public{Sign: req.SignKey, Kex: req.KexKey}
	u, err := s.store.Enroll(ctx, hashCode(code), now, User{
		ID: id, SignKey: req.SignKey, KexKey: req.KexKey, KeyID: keyID,
		Fingerprint: pub.Fingerprint(), TokenHash: hashHex([]byte(token)), EnrolledAt: now,
	})
	switch {
	case errors.Is(err, ErrEnrollInvalid):
		writeError(w, hubapi.CodeEnrollInvalid, "enrollment code is unknown, used or expired")
		return
	case errors.Is(err, ErrExists):
		// One key, one user: otherwise records signed by one person could
		// be filed under another who enrolled the same public key.
		writeError(w, hubapi.CodeBadRequest, "this signing key was enrolled before by another user or replaced since; enroll with new keys")
		return
	case err != nil:
		s.internal(w, r, err)
		return
	}
	infoFrom(ctx).user = u.Name
	writeJSON(w, http.StatusCreated, hubapi.EnrollResponse{Token: token, User: apiUser(u), HubKey: s.hubKey})
}

func (s *Server) me(w http.ResponseWriter, r *http.Request, u User) {
	writeJSON(w, http.StatusOK, apiUser(u))
}

func (s *Server) jobs(w http.ResponseWriter, r *http.Request, u User) {
	ctx := r.Context()
	resp := hubapi.JobsResponse{Packets: []json.RawMessage{}}
	if u.Role == hubapi.RoleInstaller {
		js, err := s.store.Jobs(ctx, u.Name)
		if err != nil {
			s.internal(w, r, err)
			return
		}
		now := s.now()
		for _, j := range js {
			if j.ExpiresAt.After(now) {
				resp.Packets = append(resp.Packets, packetJSON(j.Packet))
			}
		}
	}
	ds, err := s.store.Denylist(ctx)
	if err != nil {
		s.internal(w, r, err)
		return
	}
	list := packet.Denylist{IssuedAt: s.now().UTC(), Units: []packet.DeniedUnit{}}
	for _, d := range ds {
		list.Units = append(list.Units, packet.DeniedUnit{Serial: d.Serial, Reason: d.Reason, DeniedAt: d.DeniedAt.UTC()})
	}
	signed, err := packet.SignDenylist(list, s.signer)
	if err != nil {
		s.internal(w, r, err)
		return
	}
	resp.Denylist = signed
	writeJSON(w, http.StatusOK, resp)
}

// packetJSON puts a packet in a JobsResponse: as it is when it is JSON,
// else as a JSON string of its standard base64.
func packetJSON(p []byte) json.RawMessage {
	if json.Valid(p) {
		return p
	}
	b, _ := json.Marshal(p)
	return b
}

// journalHead answers the newest journal head among the caller's records,
// which their laptop checks its journal against (latchkey journal verify).
func (s *Server) journalHead(w http.ResponseWriter, r *http.Request, u User) {
	seq, hash, err := s.store.JournalHead(r.Context(), u.Name)
	switch {
	case errors.Is(err, ErrNotFound):
		writeError(w, hubapi.CodeNotFound, "no record of yours carries a journal head yet; run latchkey sync")
		return
	case err != nil:
		s.internal(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, hubapi.JournalHead{Seq: seq, Hash: hash})
}

// decommissionAuth signs a unit's decommission request with the hub key, the
// operator key units are provisioned with: only installers and support may
// ask, and the request is logged with who asked.
func (s *Server) decommissionAuth(w http.ResponseWriter, r *http.Request, u User) {
	if u.Role != hubapi.RoleInstaller && u.Role != hubapi.RoleSupport {
		writeError(w, hubapi.CodeForbiddenKind, "only installers and support may decommission units")
		return
	}
	body, ok := s.readBody(w, r)
	if !ok {
		return
	}
	var req hubapi.DecommissionAuthRequest
	if err := strictJSON(body, &req); err != nil {
		writeError(w, hubapi.CodeBadRequest, "decommission request: "+err.Error())
		return
	}
	if !serialPattern.MatchString(req.Serial) || len(req.Token) != 16 {
		writeError(w, hubapi.CodeBadRequest, "decommission request: want a unit serial and its 16-byte token")
		return
	}
	sig := ed25519.Sign(s.signer, device.DecommissionAuthMessage(req.Token, req.Serial))
	s.log.Info("decommission authorised", "serial", req.Serial, "user", u.Name)
	writeJSON(w, http.StatusOK, hubapi.DecommissionAuthResponse{Auth: sig})
}

func (s *Server) records(w http.ResponseWriter, r *http.Request, u User) {
	s.takeIn(w, r, u, false)
}

func (s *Server) recordsBatch(w http.ResponseWriter, r *http.Request, u User) {
	s.takeIn(w, r, u, true)
}

// takeIn is the intake of both record paths: idempotency key, body, the
// in-flight guard, then intake.
func (s *Server) takeIn(w http.ResponseWriter, r *http.Request, u User, batch bool) {
	key := r.Header.Get(hubapi.HeaderIdempotencyKey)
	if !validIdempotencyKey(key) {
		writeError(w, hubapi.CodeIdempotencyMissing, "send an Idempotency-Key header of 1-255 printable ASCII characters")
		return
	}
	body, ok := s.readBody(w, r)
	if !ok {
		return
	}
	raws := []json.RawMessage{body}
	if batch {
		var err error
		if raws, err = decodeBatch(body); err != nil {
			writeError(w, hubapi.CodeBadRequest, err.Error())
			return
		}
	}
	flight := u.Name + "\x00" + key
	s.mu.Lock()
	_, busy := s.inflight[flight]
	if !busy {
		s.inflight[flight] = struct{}{}
	}
	s.mu.Unlock()
	if busy {
		w.Header().Set(hubapi.HeaderRetryAfter, "1")
		writeError(w, hubapi.CodeIdempotencyInFlight, "a request with this Idempotency-Key is still being processed")
		return
	}
	defer func() {
		s.mu.Lock()
		delete(s.inflight, flight)
		s.mu.Unlock()
	}()

	res, err := s.intake(r.Context(), intakeRequest{caller: u, key: key, body: body, raws: raws})
	switch {
	case errors.Is(err, ErrIdempotencyMismatch):
		writeError(w, hubapi.CodeIdempotencyMismatch, "this Idempotency-Key was used with another request body")
		return
	case err != nil:
		s.internal(w, r, err)
		return
	}
	results := make([]hubapi.RecordResult, len(res.Results))
	for i, ir := range res.Results {
		results[i] = recordResult(ir)
	}
	if res.Replayed {
		s.metrics.replays.Inc()
	} else {
		s.metrics.observeIntake(results)
	}
	if batch {
		writeJSON(w, http.StatusOK, hubapi.BatchResponse{Results: results})
		return
	}
	rr := results[0]
	if rr.Status == hubapi.StatusStored {
		writeJSON(w, http.StatusCreated, rr)
		return
	}
	writeJSON(w, hubapi.StatusFor(rr.Code), hubapi.ErrorBody{Error: hubapi.ErrorDetail{Code: rr.Code, Message: rr.Reason, Result: &rr}})
}

// validIdempotencyKey: 1-255 printable ASCII characters (hubapi).
func validIdempotencyKey(k string) bool {
	if len(k) == 0 || len(k) > 255 {
		return false
	}
	for i := range len(k) {
		if k[i] < 0x20 || k[i] > 0x7e {
			return false
		}
	}
	return true
}

// auth finds the caller by bearer token: 401 unknown, 403 revoked.
func (s *Server) auth(h func(http.ResponseWriter, *http.Request, User)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		token = strings.TrimSpace(token)
		if !ok || token == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="latchkey"`)
			writeError(w, hubapi.CodeUnauthorized, "send Authorization: Bearer <token>; log in with 'latchkey login' to get one")
			return
		}
		u, err := s.store.UserByToken(r.Context(), hashHex([]byte(token)))
		switch {
		case errors.Is(err, ErrNotFound):
			w.Header().Set("WWW-Authenticate", `Bearer realm="latchkey", error="invalid_token"`)
			writeError(w, hubapi.CodeUnauthorized, "unknown token; log in again")
			return
		case err != nil:
			s.internal(w, r, err)
			return
		}
		infoFrom(r.Context()).user = u.Name
		if u.Revoked() {
			writeError(w, hubapi.CodeRevoked, "user "+u.Name+" was revoked")
			return
		}
		h(w, r, u)
	}
}

// readBody reads the request body up to hubapi.MaxBody; a larger one is
// answered 413 and ok is false.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request) (body []byte, ok bool) {
	if r.ContentLength > hubapi.MaxBody {
		writeError(w, hubapi.CodeTooLarge, fmt.Sprintf("request body larger than %d bytes", hubapi.MaxBody))
		return nil, false
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, hubapi.MaxBody))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		writeError(w, hubapi.CodeTooLarge, fmt.Sprintf("request body larger than %d bytes", hubapi.MaxBody))
		return nil, false
	case err != nil:
		writeError(w, hubapi.CodeBadRequest, "read request body: "+err.Error())
		return nil, false
	}
	return body, true
}

// internal answers 500 and logs err, which the client does not see.
func (s *Server) internal(w http.ResponseWriter, r *http.Request, err error) {
	s.log.LogAttrs(r.Context(), slog.LevelError, "request failed",
		slog.String("route", infoFrom(r.Context()).route), slog.String("error", err.Error()))
	writeError(w, hubapi.CodeInternal, "internal error; see the hub's log")
}

func apiUser(u User) hubapi.User {
	au := hubapi.User{ID: u.ID, Name: u.Name, Role: u.Role, KeyID: u.KeyID, Fingerprint: u.Fingerprint, EnrolledAt: u.EnrolledAt.UTC()}
	if u.Revoked() {
		t := u.RevokedAt.UTC()
		au.RevokedAt = &t
	}
	return au
}

// strictJSON decodes one JSON object into v, refusing unknown fields and
// trailing data.
func strictJSON(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("data after the JSON object")
	}
	return nil
}

func writeError(w http.ResponseWriter, code, msg string) {
	writeJSON(w, hubapi.StatusFor(code), hubapi.ErrorBody{Error: hubapi.ErrorDetail{Code: code, Message: msg}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"error":{"code":"internal","message":"encode answer"}}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// requestInfo is what a handler learns about a request that the request
// log and metrics need: the route matched and the caller. Serve puts one
// in the request context; Server adds one when run without Serve.
type requestInfo struct {
	route string
	user  string
}

type infoKey struct{}

// infoFrom returns the request's info, nil outside Server.ServeHTTP.
func infoFrom(ctx context.Context) *requestInfo {
	if info, ok := ctx.Value(infoKey{}).(*requestInfo); ok {
		return info
	}
	return nil
}

// statusWriter remembers the status written.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) code() int {
	if w.status == 0 {
		return http.StatusOK
	}
	return w.status
}

// Unwrap lets http.ResponseController reach the connection.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
