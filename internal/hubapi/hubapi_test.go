package hubapi_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/hubapi"
)

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"", 0},
		{"0", 0},
		{"7", 7 * time.Second},
		{"-3", 0},
		{"soon", 0},
		{"99999999999999999", 24 * time.Hour},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0},
		{now.Add(100 * 24 * time.Hour).Format(http.TimeFormat), 24 * time.Hour},
	}
	for _, tt := range tests {
		if got := hubapi.ParseRetryAfter(tt.in, now); got != tt.want {
			t.Errorf("ParseRetryAfter(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestRetryable(t *testing.T) {
	tests := []struct {
		status int
		code   string
		want   bool
	}{
		{409, hubapi.CodeIdempotencyInFlight, true},
		{409, hubapi.CodeReplayed, false},
		{409, hubapi.CodeConflict, false},
		{503, hubapi.CodeUnavailable, true},
		{429, hubapi.CodeRateLimited, true},
		{500, hubapi.CodeInternal, true},
		{502, "", true},
		{408, "", true},
		{401, hubapi.CodeUnauthorized, false},
		{403, hubapi.CodeRevoked, false},
		{422, hubapi.CodeIdempotencyMismatch, false},
		{400, hubapi.CodeMalformed, false},
	}
	for _, tt := range tests {
		if got := hubapi.Retryable(tt.status, tt.code); got != tt.want {
			t.Errorf("Retryable(%d, %q) = %v, want %v", tt.status, tt.code, got, tt.want)
		}
		if tt.code != "" && hubapi.StatusFor(tt.code) != tt.status && tt.code != hubapi.CodeInternal {
			t.Errorf("StatusFor(%q) = %d, want %d", tt.code, hubapi.StatusFor(tt.code), tt.status)
		}
	}
}
