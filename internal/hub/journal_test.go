package hub_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/hubapi"
	"github.com/latchkey/latchkey/internal/record"
)

func TestJournalHead(t *testing.T) {
	t.Parallel()
	h := newHub(t)
	sam := h.enroll("sam", hubapi.RoleInstaller)
	ann := h.enroll("ann", hubapi.RoleInstaller)
	ref := func(seq int64, c string) map[string]any {
		return map[string]any{"seq": seq, "hash": strings.Repeat(c, 64)}
	}
	get := func(u user) (int, []byte) {
		return h.do(http.MethodGet, hubapi.PathJournalHead, u.token, "", nil)
	}

	if status, body := get(sam); status != http.StatusNotFound || errorBody(t, body).Error.Code != hubapi.CodeNotFound {
		t.Errorf("head before any record = %d %s, want 404 not-found", status, body)
	}
	if status, _ := h.do(http.MethodGet, hubapi.PathJournalHead, "", "", nil); status != http.StatusUnauthorized {
		t.Errorf("head without a token = %d, want 401", status)
	}

	recs := [][]byte{
		sign(t, record.KindSurvey, newRec("s-1", "journal", ref(4, "a")), sam.id.Sign),
		sign(t, record.KindSurvey, newRec("s-2", "journal", ref(6, "b")), sam.id.Sign),
		sign(t, record.KindSurvey, newRec("s-3"), sam.id.Sign),
		// A malformed reference is refused with its record.
		sign(t, record.KindSurvey, newRec("s-4", "journal", ref(0, "c")), sam.id.Sign),
		sign(t, record.KindSurvey, newRec("s-5", "journal", ref(9, "A")), sam.id.Sign),
	}
	status, body := h.do(http.MethodPost, hubapi.PathRecordsBatch, sam.token, "b1", batch(t, recs...))
	if status != http.StatusOK {
		t.Fatalf("batch: %d %s", status, body)
	}
	var br hubapi.BatchResponse
	if err := json.Unmarshal(body, &br); err != nil {
		t.Fatal(err)
	}
	for i, want := range []string{hubapi.StatusStored, hubapi.StatusStored, hubapi.StatusStored, hubapi.StatusRejected, hubapi.StatusRejected} {
		if got := br.Results[i]; got.Status != want || (want == hubapi.StatusRejected && got.Code != hubapi.CodeMalformed) {
			t.Errorf("record %d: %+v, want %s", i, got, want)
		}
	}

	status, body = get(sam)
	var jh hubapi.JournalHead
	if status != http.StatusOK || json.Unmarshal(body, &jh) != nil || jh.Seq != 6 || jh.Hash != strings.Repeat("b", 64) {
		t.Errorf("sam's head = %d %s, want seq 6", status, body)
	}
	// Each user sees their own.
	if status, body := get(ann); status != http.StatusNotFound {
		t.Errorf("ann's head = %d %s, want 404", status, body)
	}
	if status, _ := h.do(http.MethodPost, hubapi.PathJournalHead, sam.token, "", nil); status != http.StatusMethodNotAllowed {
		t.Errorf("POST journal head = %d, want 405", status)
	}
}
