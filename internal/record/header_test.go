package record_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/record"
)

// hash64 is a well-formed journal hash.
const hash64 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

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
		{"with journal", `{"id":"a","created_at":"2026-11-25T10:00:00Z","expires_at":"2027-05-24T10:00:00Z","journal":{"seq":3,"hash":"` + hash64 + `"}}`, true},
		{"journal seq 0", `{"id":"a","created_at":"2026-11-25T10:00:00Z","expires_at":"2027-05-24T10:00:00Z","journal":{"seq":0,"hash":"` + hash64 + `"}}`, false},
		{"journal seq negative", `{"id":"a","created_at":"2026-11-25T10:00:00Z","expires_at":"2027-05-24T10:00:00Z","journal":{"seq":-1,"hash":"` + hash64 + `"}}`, false},
		{"journal hash upper case", `{"id":"a","created_at":"2026-11-25T10:00:00Z","expires_at":"2027-05-24T10:00:00Z","journal":{"seq":1,"hash":"` + strings.ToUpper(hash64) + `"}}`, false},
		{"journal hash short", `{"id":"a","created_at":"2026-11-25T10:00:00Z","expires_at":"2027-05-24T10:00:00Z","journal":{"seq":1,"hash":"` + hash64[:63] + `"}}`, false},
		{"journal without hash", `{"id":"a","created_at":"2026-11-25T10:00:00Z","expires_at":"2027-05-24T10:00:00Z","journal":{"seq":1}}`, false},
		{"journal not an object", `{"id":"a","created_at":"2026-11-25T10:00:00Z","expires_at":"2027-05-24T10:00:00Z","journal":"x"}`, false},
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
			if tt.ok && strings.Contains(tt.body, `"journal"`) && (h.Journal == nil || h.Journal.Seq != 3 || h.Journal.Hash != hash64) {
				t.Errorf("Journal = %+v, want seq 3 hash %s", h.Journal, hash64)
			}
		})
	}
}
