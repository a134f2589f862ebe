package hubclient

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/hubapi"
)

func TestJournalHead(t *testing.T) {
	t.Parallel()
	good := strings.Repeat("0a", 32)
	tests := []struct {
		name    string
		handler http.HandlerFunc
		want    hubapi.JournalHead
		wantErr func(error) bool
	}{
		{"head", func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, http.StatusOK, hubapi.JournalHead{Seq: 12, Hash: good})
		}, hubapi.JournalHead{Seq: 12, Hash: good}, nil},
		{"none yet", func(w http.ResponseWriter, r *http.Request) {
			writeError(w, hubapi.CodeNotFound, "no record of yours carries a journal head yet", nil)
		}, hubapi.JournalHead{}, func(err error) bool {
			var he *hubapi.Error
			return errors.As(err, &he) && he.Code == hubapi.CodeNotFound
		}},
		{"seq 0", func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, http.StatusOK, hubapi.JournalHead{Seq: 0, Hash: good})
		}, hubapi.JournalHead{}, func(err error) bool { return errors.Is(err, ErrUnexpectedAnswer) }},
		{"upper-case hash", func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, http.StatusOK, hubapi.JournalHead{Seq: 1, Hash: strings.ToUpper(good)})
		}, hubapi.JournalHead{}, func(err error) bool { return errors.Is(err, ErrUnexpectedAnswer) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, _ := newHub(t, map[string]http.HandlerFunc{"GET " + hubapi.PathJournalHead: authed(tt.handler)})
			got, err := newClient(t, srv.URL).JournalHead(context.Background())
			if tt.wantErr == nil && (err != nil || got != tt.want) {
				t.Errorf("JournalHead = %+v, %v; want %+v", got, err, tt.want)
			}
			if tt.wantErr != nil && !tt.wantErr(err) {
				t.Errorf("JournalHead = %+v, %v; want an error", got, err)
			}
		})
	}
}
