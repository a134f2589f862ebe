package fw

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestProgress(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	const total = 100_000

	t.Run("plain", func(t *testing.T) {
		var b bytes.Buffer
		p := newProgress(&b, false, clock)
		for sent := 0; sent <= total; sent += 2000 {
			p.update(sent, total)
			now = now.Add(250 * time.Millisecond)
		}
		p.done()
		lines := strings.Split(strings.TrimSpace(b.String()), "\n")
		if len(lines) != 10 || !strings.HasPrefix(lines[0], "upload:  10%") || !strings.HasPrefix(lines[9], "upload: 100%") {
			t.Fatalf("plain progress:\n%s", b.String())
		}
		if !strings.Contains(lines[4], "7.8 KiB/s") || !strings.Contains(lines[4], "0:06 left") {
			t.Errorf("line %q lacks rate or time left", lines[4])
		}
	})
	t.Run("terminal", func(t *testing.T) {
		var b bytes.Buffer
		p := newProgress(&b, true, clock)
		p.update(0, total)
		now = now.Add(time.Second)
		p.update(50_000, total)
		now = now.Add(10 * time.Millisecond)
		p.update(51_000, total) // too soon to redraw
		now = now.Add(time.Second)
		p.update(total, total)
		p.done()
		s := b.String()
		if strings.Count(s, "\r\x1b[K") != 3 || !strings.Contains(s, "[============            ]  50%") ||
			!strings.Contains(s, "48.8 KiB/s  0:01 left") || !strings.HasSuffix(s, "100%  97.7 KiB / 97.7 KiB  48.6 KiB/s\n") {
			t.Fatalf("terminal progress %q", s)
		}
	})
}
