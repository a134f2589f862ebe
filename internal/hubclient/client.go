// Package hubclient owns latchkey's side of the back office's HTTP API
// (internal/hubapi): a Client that enrolls, reads the user and their job
// packets and sends signed records, mapping every failure to an error a
// caller can branch on, and the Session that `latchkey login` keeps, whose
// token is stored like the user's private keys (OS keyring, else a 0600
// file) and never printed.
//
// Errors: an answer the hub refused is a *hubapi.Error (its code, message,
// Retry-After and, for a record, the RecordResult); an answer that is not
// the API's JSON (a proxy's error page, say) is an *AnswerError wrapping
// ErrUnexpectedAnswer; a hub that cannot be reached wraps ErrUnreachable
// with the cause. The token never appears in an error.
package hubclient

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/latchkey/latchkey/internal/hubapi"
	"github.com/latchkey/latchkey/internal/identity"
)

// Errors of the client. Each is wrapped with detail.
var (
	// ErrInsecure is a plain http:// URL to a host that is not this
	// machine, without Options.Insecure.
	ErrInsecure = errors.New("refusing plain http to a remote hub")
	// ErrBadURL is a hub URL the client cannot use.
	ErrBadURL = errors.New("bad hub URL")
	// ErrUnreachable is a hub that could not be reached or stopped
	// answering: connection refused or reset, timeout, unknown host.
	ErrUnreachable = errors.New("hub unreachable")
	// ErrUnexpectedAnswer is an answer that is not what the API describes.
	ErrUnexpectedAnswer = errors.New("unexpected answer from hub")
)

// MaxResponse bounds the answer body the client reads. A jobs answer holds
// at most a few hundred packets of a few kilobytes each.
const MaxResponse = 32 << 20

// DefaultTimeout bounds a whole request when Options.HTTP is nil. A batch
// of hubapi.MaxBatch records over a weak cellular link needs minutes, not
// seconds; callers with tighter needs pass a context deadline.
const DefaultTimeout = 2 * time.Minute

// DefaultUserAgent is sent when Options.UserAgent is empty.
const DefaultUserAgent = "latchkey"

// Options configure a Client.
type Options struct {
	// Token is the session's bearer token; empty before enrolling.
	Token string
	// Insecure allows plain http:// to a host that is not loopback.
	Insecure bool
	// HTTP is the client to send with; nil means one with DefaultTimeout.
	// The Client never follows redirects, whatever HTTP says: the API has
	// none, and a redirect would resend the token somewhere else.
	HTTP *http.Client
	// UserAgent names the program, e.g. "latchkey/1.4.0".
	UserAgent string
}

// Client speaks the hub's API version 1. It is safe for concurrent use.
type Client struct {
	base  *url.URL
	token string
	http  *http.Client
	ua    string
	// maxResponse is MaxResponse; tests lower it.
	maxResponse int64
}

// New returns a Client of the hub at baseURL, a scheme and host with an
// optional port and nothing else ("https://hub.example.com",
// "http://127.0.0.1:8470"). Plain http is refused (ErrInsecure) unless the
// host is loopback or o.Insecure is set.
func New(baseURL string, o Options) (*Client, error) {
	u, err := ParseURL(baseURL, o.Insecure)
	if err != nil {
		return nil, err
	}
	hc := &http.Client{Timeout: DefaultTimeout}
	if o.HTTP != nil {
		c := *o.HTTP
		hc = &c
	}
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	ua := o.UserAgent
	if ua == "" {
		ua = DefaultUserAgent
	}
	return &Client{base: u, token: o.Token, http: hc, ua: ua, maxResponse: MaxResponse}, nil
}

// ParseURL checks a hub URL as New does and returns it without a trailing
// slash.
func ParseURL(baseURL string, insecure bool) (*url.URL, error) {
	u, err := url.Parse(baseURL)
	if err != nil {
		return nil, fmt.Errorf("%w %q: %v", ErrBadURL, baseURL, err)
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, fmt.Errorf("%w %q: want https://host[:port] (or http:// for a hub on this machine)", ErrBadURL, redactURL(u))
	case u.Host == "" || u.Hostname() == "":
		return nil, fmt.Errorf("%w %q: no host", ErrBadURL, redactURL(u))
	case u.User != nil:
		return nil, fmt.Errorf("%w %q: a user name or password in the URL is not used; log in with an enrollment code instead", ErrBadURL, redactURL(u))
	case u.Path != "" && u.Path != "/", u.RawPath != "":
		return nil, fmt.Errorf("%w %q: the hub must be at the root of its host, without a path", ErrBadURL, redactURL(u))
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		return nil, fmt.Errorf("%w %q: a query or fragment is not used", ErrBadURL, redactURL(u))
	case u.Opaque != "":
		return nil, fmt.Errorf("%w %q: want https://host[:port]", ErrBadURL, redactURL(u))
	}
	if u.Scheme == "http" && !insecure && !loopback(u.Hostname()) {
		return nil, fmt.Errorf("%w: %s would send your token and records unencrypted across the network: use an https:// URL, or pass --insecure if you really mean it", ErrInsecure, redactURL(u))
	}
	return &url.URL{Scheme: u.Scheme, Host: u.Host}, nil
}

// redactURL is u without userinfo, for messages.
func redactURL(u *url.URL) string {
	c := *u
	c.User = nil
	return c.String()
}

// loopback reports whether host is this machine: "localhost", 127.0.0.0/8
// or ::1.
func loopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// URL is the hub's base URL.
func (c *Client) URL() string { return c.base.String() }

// Enroll redeems a one-time enrollment code, registering pub.
func (c *Client) Enroll(ctx context.Context, code string, pub identity.Public) (hubapi.EnrollResponse, error) {
	if code == "" {
		return hubapi.EnrollResponse{}, errors.New("enroll: empty enrollment code")
	}
	if len(pub.Sign) != 32 || len(pub.Kex) != 32 {
		return hubapi.EnrollResponse{}, errors.New("enroll: public keys must be 32 bytes each")
	}
	body, err := json.Marshal(hubapi.EnrollRequest{Code: code, SignKey: pub.Sign, KexKey: pub.Kex})
	if err != nil {
		return hubapi.EnrollResponse{}, fmt.Errorf("enroll: %w", err)
	}
	var out hubapi.EnrollResponse
	if err := c.do(ctx, http.MethodPost, hubapi.PathEnroll, "", body, false, &out); err != nil {
		return hubapi.EnrollResponse{}, fmt.Errorf("enroll: %w", err)
	}
	if out.Token == "" || len(out.HubKey) != 32 {
		return hubapi.EnrollResponse{}, fmt.Errorf("enroll: %w: no token or no 32-byte hub key", ErrUnexpectedAnswer)
	}
	return out, nil
}

// Me returns the token's user.
func (c *Client) Me(ctx context.Context) (hubapi.User, error) {
	var out hubapi.User
	if err := c.do(ctx, http.MethodGet, hubapi.PathMe, "", nil, true, &out); err != nil {
		return hubapi.User{}, fmt.Errorf("read user: %w", err)
	}
	return out, nil
}

// Jobs returns the caller's job packets, as issued, and the unit denylist.
func (c *Client) Jobs(ctx context.Context) (hubapi.JobsResponse, error) {
	var out hubapi.JobsResponse
	if err := c.do(ctx, http.MethodGet, hubapi.PathJobs, "", nil, true, &out); err != nil {
		return hubapi.JobsResponse{}, fmt.Errorf("pull jobs: %w", err)
	}
	return out, nil
}

// JournalHead returns the newest head of the caller's journal the hub
// acknowledged. When no record of theirs carries one the error is a
// *hubapi.Error with code hubapi.CodeNotFound.
func (c *Client) JournalHead(ctx context.Context) (hubapi.JournalHead, error) {
	var out hubapi.JournalHead
	if err := c.do(ctx, http.MethodGet, hubapi.PathJournalHead, "", nil, true, &out); err != nil {
		return hubapi.JournalHead{}, fmt.Errorf("read journal head: %w", err)
	}
	if out.Seq < 1 || len(out.Hash) != 64 || strings.Trim(out.Hash, "0123456789abcdef") != "" {
		return hubapi.JournalHead{}, fmt.Errorf("read journal head: %w", &AnswerError{Status: http.StatusOK,
			Detail: fmt.Sprintf("seq %d, hash of %d characters", out.Seq, len(out.Hash))})
	}
	return out, nil
}

// DecommissionAuth asks the hub to authorise a unit's decommission: its
// signature, as the operator, over the unit's single-use token and serial.
func (c *Client) DecommissionAuth(ctx context.Context, serial string, token []byte) ([]byte, error) {
	body, err := json.Marshal(hubapi.DecommissionAuthRequest{Serial: serial, Token: token})
	if err != nil {
		return nil, fmt.Errorf("authorise decommission: %w", err)
	}
	var out hubapi.DecommissionAuthResponse
	if err := c.do(ctx, http.MethodPost, hubapi.PathDecommissionAuth, "", body, true, &out); err != nil {
		return nil, fmt.Errorf("authorise decommission of %s: %w", serial, err)
	}
	if len(out.Auth) != 64 {
		return nil, fmt.Errorf("authorise decommission of %s: %w", serial, &AnswerError{Status: http.StatusOK, Detail: fmt.Sprintf("a signature of %d bytes", len(out.Auth))})
	}
	return out.Auth, nil
}

// SendRecord sends one DSSE envelope under idemKey, which must stay the same
// when the same record is sent again. A refusal is a *hubapi.Error whose
// Result says why.
func (c *Client) SendRecord(ctx context.Context, idemKey string, env []byte) (hubapi.RecordResult, error) {
	if !json.Valid(env) {
		return hubapi.RecordResult{}, errors.New("send record: the envelope is not JSON")
	}
	var out hubapi.RecordResult
	if err := c.do(ctx, http.MethodPost, hubapi.PathRecords, idemKey, env, true, &out); err != nil {
		return hubapi.RecordResult{}, fmt.Errorf("send record: %w", err)
	}
	return out, nil
}

// SendBatch sends up to hubapi.MaxBatch envelopes in one request under
// idemKey and returns one result per envelope, in order; each is stored or
// refused on its own.
func (c *Client) SendBatch(ctx context.Context, idemKey string, envs [][]byte) ([]hubapi.RecordResult, error) {
	if len(envs) == 0 || len(envs) > hubapi.MaxBatch {
		return nil, fmt.Errorf("send batch: %d records, want 1 to %d", len(envs), hubapi.MaxBatch)
	}
	req := hubapi.BatchRequest{Records: make([]json.RawMessage, len(envs))}
	for i, e := range envs {
		if !json.Valid(e) {
			return nil, fmt.Errorf("send batch: record %d is not JSON", i)
		}
		req.Records[i] = e
	}
	body, err := json.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("send batch: %w", err)
	}
	var out hubapi.BatchResponse
	if err := c.do(ctx, http.MethodPost, hubapi.PathRecordsBatch, idemKey, body, true, &out); err != nil {
		return nil, fmt.Errorf("send batch of %d: %w", len(envs), err)
	}
	if len(out.Results) != len(envs) {
		return nil, fmt.Errorf("send batch: %w", &AnswerError{Status: http.StatusOK,
			Detail: fmt.Sprintf("%d results for %d records", len(out.Results), len(envs))})
	}
	return out.Results, nil
}

// validIdemKey reports whether k is 1–255 printable ASCII characters
// (hubapi.HeaderIdempotencyKey).
func validIdemKey(k string) bool {
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

// do sends one request and decodes a 2xx answer into out.
func (c *Client) do(ctx context.Context, method, path, idemKey string, body []byte, auth bool, out any) error {
	if idemKey != "" || path == hubapi.PathRecords || path == hubapi.PathRecordsBatch {
		if !validIdemKey(idemKey) {
			return fmt.Errorf("idempotency key %q: want 1 to 255 printable ASCII characters", idemKey)
		}
	}
	if auth && c.token == "" {
		return errors.New("not logged in to the hub: run 'latchkey login'")
	}
	u := c.base.JoinPath(path)
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.ua)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if auth {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if idemKey != "" {
		req.Header.Set(hubapi.HeaderIdempotencyKey, idemKey)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return c.netErr(ctx, method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, c.maxResponse+1))
	if err != nil {
		return c.netErr(ctx, method, path, err)
	}
	if int64(len(b)) > c.maxResponse {
		return &AnswerError{Status: resp.StatusCode, Detail: fmt.Sprintf("answer larger than %d bytes", c.maxResponse)}
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return c.redact(DecodeError(resp.StatusCode, resp.Header, b, time.Now()))
	}
	if err := decodeJSON(resp.Header, b, out); err != nil {
		return &AnswerError{Status: resp.StatusCode, Detail: c.redactString(err.Error())}
	}
	return nil
}

// netErr wraps a transport failure. A cancelled context is the caller's
// doing, not the hub's, so it is not ErrUnreachable; a deadline is.
func (c *Client) netErr(ctx context.Context, method, path string, err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err // its message repeats the URL, which the caller knows
	}
	if errors.Is(ctx.Err(), context.Canceled) {
		return fmt.Errorf("%s %s: %w", method, path, ctx.Err())
	}
	return fmt.Errorf("%w: %s %s%s: %w", ErrUnreachable, method, c.base, path, c.redactErr(err))
}

// redact keeps the token out of an error built from the hub's words.
func (c *Client) redact(err error) error {
	var he *hubapi.Error
	if errors.As(err, &he) {
		he.Message = c.redactString(he.Message)
		if he.Result != nil {
			he.Result.Reason = c.redactString(he.Result.Reason)
		}
	}
	var ae *AnswerError
	if errors.As(err, &ae) {
		ae.Detail = c.redactString(ae.Detail)
	}
	return err
}

func (c *Client) redactString(s string) string {
	if c.token == "" {
		return s
	}
	return strings.ReplaceAll(s, c.token, "[token]")
}

// redactErr keeps the error's chain for errors.Is but not the token in its
// text; transport errors do not contain it, this is a second belt.
func (c *Client) redactErr(err error) error {
	if c.token == "" || !strings.Contains(err.Error(), c.token) {
		return err
	}
	return &redactedError{msg: c.redactString(err.Error()), err: err}
}

type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// AnswerError is an answer that is not what the API describes: a body that
// is not the expected JSON (a proxy's error page, a truncated answer) or
// one too large. It wraps ErrUnexpectedAnswer.
type AnswerError struct {
	Status     int
	RetryAfter time.Duration
	Detail     string
}

func (e *AnswerError) Error() string {
	return fmt.Sprintf("%v: %d %s: %s", ErrUnexpectedAnswer, e.Status, http.StatusText(e.Status), e.Detail)
}

func (e *AnswerError) Unwrap() error { return ErrUnexpectedAnswer }

// Retryable reports whether sending the same request again later may work,
// judged from the status alone (a gateway error, say).
func (e *AnswerError) Retryable() bool { return hubapi.Retryable(e.Status, "") }

// StatusCode is the answer's HTTP status.
func (e *AnswerError) StatusCode() int { return e.Status }

// RetryAfterDelay is the wait the answer asked for, if any.
func (e *AnswerError) RetryAfterDelay() time.Duration { return e.RetryAfter }

// DecodeError turns a non-2xx answer into an error: a *hubapi.Error when the
// body is an hubapi.ErrorBody with a code, else an *AnswerError naming the
// status. now is for a Retry-After given as a date.
func DecodeError(status int, h http.Header, body []byte, now time.Time) error {
	retry := retryAfter(h.Get(hubapi.HeaderRetryAfter), now)
	var eb hubapi.ErrorBody
	if err := decodeJSON(h, body, &eb); err != nil {
		return &AnswerError{Status: status, RetryAfter: retry, Detail: err.Error()}
	}
	if eb.Error.Code == "" {
		return &AnswerError{Status: status, RetryAfter: retry, Detail: "error answer without a code"}
	}
	msg := eb.Error.Message
	if msg == "" {
		msg = eb.Error.Code
	}
	return &hubapi.Error{
		Status:     status,
		Code:       eb.Error.Code,
		Message:    msg,
		Result:     eb.Error.Result,
		RetryAfter: retry,
	}
}

// MaxRetryAfter caps the Retry-After the client reports: a hub asking for
// more than a day is misconfigured, and a huge value would overflow.
const MaxRetryAfter = 24 * time.Hour

// retryAfter reads a Retry-After value like hubapi.ParseRetryAfter, within
// [0, MaxRetryAfter]; ParseRetryAfter alone overflows on a huge number of
// seconds.
func retryAfter(v string, now time.Time) time.Duration {
	if n, err := strconv.ParseUint(v, 10, 64); err == nil && n > uint64(MaxRetryAfter/time.Second) {
		return MaxRetryAfter
	} else if err != nil && len(v) > 0 && v[0] >= '0' && v[0] <= '9' && strings.Trim(v, "0123456789") == "" {
		return MaxRetryAfter // digits beyond uint64
	}
	d := hubapi.ParseRetryAfter(v, now)
	return max(0, min(d, MaxRetryAfter))
}

// decodeJSON decodes one JSON document of the answer into out. Unknown
// fields are allowed, so a newer hub can add some.
func decodeJSON(h http.Header, body []byte, out any) error {
	if ct := h.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			return fmt.Errorf("a %s body of %d bytes, not JSON", printable(ct), len(body))
		}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(out); err != nil {
		return fmt.Errorf("body of %d bytes is not the expected JSON: %v", len(body), err)
	}
	if dec.More() {
		return errors.New("data after the JSON body")
	}
	return nil
}

// printable trims s to a short line of printable ASCII for messages.
func printable(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e {
			return -1
		}
		return r
	}, s)
	if len(s) > 64 {
		s = s[:64] + "…"
	}
	return s
}
