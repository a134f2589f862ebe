package wizard

import (
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/install/flow"
)

// TestUploadOutcome: what both modes say after an upload, for each way it
// can end; only a complete upload says "sent to", and a back office that
// answered with an error (an expired login) has its message shown, not a
// promise that 'latchkey sync' will send the records.
func TestUploadOutcome(t *testing.T) {
	tests := []struct {
		name    string
		up      flow.Upload
		want    []string
		notWant []string
	}{
		{"all sent", flow.Upload{Hub: "https://hub.example", Sent: 8}, []string{"sent to https://hub.example"}, nil},
		{"offline", flow.Upload{Offline: true, Remaining: 8, Err: "unreachable"}, []string{"8 waiting", "'latchkey sync' sends them"}, []string{"sent to"}},
		{"refused", flow.Upload{Hub: "h", Sent: 7, Refused: 1}, []string{"sent 7", "refused 1", rejectedCmd}, []string{"sent to"}},
		{"login expired", flow.Upload{Hub: "h", Remaining: 8, Err: "hub: token revoked: your login is no longer valid; ask your administrator for a new code and run 'latchkey login', then 'latchkey sync'"},
			[]string{"8 not sent", "run 'latchkey login'"}, []string{"sent to", "'latchkey sync' sends them"}},
	}
	for _, tt := range tests {
		got := uploadOutcome(tt.up)
		for _, w := range tt.want {
			if !strings.Contains(got, w) {
				t.Errorf("%s: %q lacks %q", tt.name, got, w)
			}
		}
		for _, w := range tt.notWant {
			if strings.Contains(got, w) {
				t.Errorf("%s: %q says %q", tt.name, got, w)
			}
		}
	}
}
