package record_test

import (
	"errors"
	"testing"

	"github.com/latchkey/latchkey/internal/record"
)

func TestParseHeader(t *testing.T) {
	tests := []struct {
		name string
		body string
		ok   bool
	}{
		{"complete", `{"id":"v-1.r1","created_at":"2026-11-25T10:00:00Z","expires_at":"2027-05-24T10:00:00Z","outcome":"signed"}`, true},
		{"with job and unit", `{"id":"c1","created_at":"2026-11-25T10:00:00Z","expires_at":"2026-12-25T10:00:00Z","job":"job-7","unit":"LK-00042"}`, true},
		{"no id", `{"created_at":"2026-11-25T10:00:00Z","expires_at":"2027-05-24T10:00:00Z"}`, false},
		{"id with a slash", `{"id":"a/b","created_at":"2026-11-25T10:00:00Z","expires_at":"2027-05-24T10:00:00Z"}`, false},
		{"no created_at", `{"id":"a","expires_at":"2027-05-24T10:00:00Z"}`, false},
		{"expires before created", `{"id":"a","created_at":"2026-11-25T10:00:00Z","expires_at":"2026-11-24T10:00:00Z"}`, false},
		{"bad time", `{"id":"a","created_at":"yesterday","expires_at":"2027-05-24T10:00:00Z"}`, false},
		{"bad unit", `{"id":"a","created_at":"2026-11-25T10:00:00Z","expires_at":"2027-05-24T10:00:00Z","unit":"x y"}`, false},
		{"not an object", `[1]`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := record.ParseHeader([]byte(tt.body))
			if tt.ok && err != nil {
				t.Fatalf("ParseHeader: %v", err)
			}
			if !tt.ok && !errors.Is(err, record.ErrHeader) {
				t.Fatalf("ParseHeader = %+v, %v; want ErrHeader", h, err)
			}
		})
	}
}
