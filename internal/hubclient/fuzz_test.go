package hubclient

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/hubapi"
)

// FuzzDecodeError feeds arbitrary error answers to DecodeError: it must
// never panic and must always give a *hubapi.Error with a code or an
// *AnswerError naming the status. Seeds are in testdata/fuzz/FuzzDecodeError.
func FuzzDecodeError(f *testing.F) {
	f.Add(503, "7", "application/json", []byte(`{"error":{"code":"unavailable","message":"draining"}}`))
	f.Add(502, "", "text/html", []byte(`<html>bad gateway</html>`))
	f.Fuzz(func(t *testing.T, status int, retryAfter, contentType string, body []byte) {
		h := http.Header{}
		if retryAfter != "" {
			h.Set(hubapi.HeaderRetryAfter, retryAfter)
		}
		if contentType != "" {
			h.Set("Content-Type", contentType)
		}
		now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
		err := DecodeError(status, h, body, now)
		var he *hubapi.Error
		var ae *AnswerError
		switch {
		case errors.As(err, &he):
			if he.Code == "" || he.Message == "" || he.Status != status || he.RetryAfter < 0 {
				t.Fatalf("bad *hubapi.Error %+v", he)
			}
		case errors.As(err, &ae):
			if ae.Status != status || !errors.Is(err, ErrUnexpectedAnswer) || ae.RetryAfter < 0 {
				t.Fatalf("bad *AnswerError %+v", ae)
			}
		default:
			t.Fatalf("DecodeError = %v (%T)", err, err)
		}
		_ = err.Error()
	})
}
