package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/testutil/proc"
	"github.com/latchkey/latchkey/internal/testutil/tmuxtest"
)

// TestE2EBackOffice drives the real binary in tmux as a person would: start
// the back office, enroll a rep, log in, import a day's visits, sync; then
// the hub goes away, a visit is logged offline, sync fails saying what to
// do, and once the hub is back a second sync sends it.
func TestE2EBackOffice(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: builds the binary and runs it in tmux")
	}
	bin := proc.Build(t)
	dir := t.TempDir()
	hubData := filepath.Join(dir, "hub")
	hubLog := filepath.Join(dir, "hub.log")
	s := tmuxtest.New(t, 120, 40,
		"PATH="+filepath.Dir(bin)+":"+os.Getenv("PATH"),
		"LATCHKEY_HOME="+filepath.Join(dir, "laptop"),
		"HOME="+dir)

	startHub := func(addr string) string {
		t.Helper()
		os.Remove(hubLog)
		s.Type(fmt.Sprintf("latchkey hub serve --addr %s --data %s 2>%s &", addr, hubData, hubLog))
		re := regexp.MustCompile(`listening on (http://\S+)`)
		deadline := time.Now().Add(15 * time.Second)
		for time.Now().Before(deadline) {
			b, _ := os.ReadFile(hubLog)
			if m := re.FindSubmatch(b); m != nil {
				return string(m[1])
			}
			time.Sleep(50 * time.Millisecond)
		}
		b, _ := os.ReadFile(hubLog)
		t.Fatalf("the hub did not start; its log:\n%s\nscreen:\n%s", b, s.Screen())
		return ""
	}
	url := startHub("127.0.0.1:0")

	code, screen := s.Run("latchkey hub enroll --data "+hubData+" --name dana --role sales", 10*time.Second)
	enrollCode := regexp.MustCompile(`[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}`).FindString(screen)
	if code != 0 || enrollCode == "" {
		t.Fatalf("hub enroll: exit %d\n%s", code, screen)
	}
	if code, screen := s.Run("latchkey login --hub "+url+" --code "+enrollCode, 10*time.Second); code != 0 || !strings.Contains(screen, "logged in to "+url+" as dana (sales)") {
		t.Fatalf("login: exit %d\n%s", code, screen)
	}

	// A day's visits, from a file.
	type visit struct {
		VisitedAt string         `json:"visited_at"`
		Rep       string         `json:"rep"`
		Building  map[string]any `json:"building"`
		Outcome   string         `json:"outcome"`
	}
	var visits []visit
	for i := range 300 {
		visits = append(visits, visit{VisitedAt: "2026-11-24T10:00:00Z", Rep: "Dana Reyes", Outcome: "no-answer",
			Building: map[string]any{"name": fmt.Sprintf("Block %d", i), "address": fmt.Sprintf("%d Elm St", i+1), "city": "Springfield", "units": 12}})
	}
	b, _ := json.Marshal(visits)
	file := filepath.Join(dir, "visits.json")
	if err := os.WriteFile(file, b, 0o600); err != nil {
		t.Fatal(err)
	}
	s.Type("clear")
	if code, screen := s.Run("latchkey visit import "+file, 20*time.Second); code != 0 {
		t.Fatalf("visit import: exit %d\n%s", code, screen)
	}
	if code, screen := s.Run("latchkey sync", 30*time.Second); code != 0 || !strings.Contains(screen, "sent 300, refused 0, still queued 0") {
		t.Fatalf("sync: exit %d\n%s", code, screen)
	}
	if code, screen := s.Run("latchkey outbox list", 10*time.Second); code != 0 || !strings.Contains(screen, "nothing waiting (300 sent, 0 queued, 0 refused)") {
		t.Errorf("outbox list: exit %d\n%s", code, screen)
	}
	if code, screen := s.Run("latchkey hub records list --data "+hubData+" --json | grep -c '\"kind\": \"visit\"'", 10*time.Second); code != 0 || !strings.Contains(screen, "\n300\n") {
		t.Errorf("hub records: exit %d\n%s", code, screen)
	}

	// The hub goes away; a visit logged now waits in the outbox.
	s.Type("clear")
	s.Type("kill %1")
	s.Run("wait", 15*time.Second)
	s.Run("latchkey visit log --building 'Oak House' --address '3 Oak Rd' --city Springfield --units 8 --outcome no-answer --rep 'Dana Reyes'", 10*time.Second)
	code, screen = s.Run("latchkey sync --attempts 2", 30*time.Second)
	if code != 1 || !strings.Contains(screen, "1 record stay queued") || !strings.Contains(screen, "run 'latchkey sync' again when the network is back") {
		t.Fatalf("sync with the hub down: exit %d\n%s", code, screen)
	}
	// Back on the same address, the record goes through.
	startHub(strings.TrimPrefix(url, "http://"))
	if code, screen := s.Run("latchkey sync", 30*time.Second); code != 0 || !strings.Contains(screen, "sent 1, refused 0, still queued 0") {
		t.Fatalf("sync after the hub came back: exit %d\n%s", code, screen)
	}
	// Stop the hub and wait for it, so it is not still closing its
	// database when the test's directory is removed.
	s.Run("kill %1; wait", 15*time.Second)
}
