package fw

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// progress shows how far an upload got. On a terminal it redraws one line
// (a bar, bytes, rate and time left) at most every redrawEvery; otherwise
// it prints a plain line at every tenth, so a log stays short. It only ever
// writes to the status stream.
type progress struct {
	w   io.Writer
	tty bool
	now func() time.Time

	start    time.Time // when this attempt's first acknowledgement came
	base     int       // the offset then: the rate counts only what was sent since
	lastDraw time.Time
	nextStep int // next tenth to print when not on a terminal
	drawn    bool
}

const (
	redrawEvery = 100 * time.Millisecond
	barWidth    = 24
)

func newProgress(w io.Writer, tty bool, now func() time.Time) *progress {
	return &progress{w: w, tty: tty, now: now, nextStep: 1}
}

// restart begins a new attempt (after the link came back): the rate starts
// over from the offset the unit reports next.
func (p *progress) restart() { p.start = time.Time{} }

// update records that the unit acknowledged sent of total bytes.
func (p *progress) update(sent, total int) {
	now := p.now()
	if p.start.IsZero() {
		p.start, p.base = now, sent
	}
	if total <= 0 {
		return
	}
	if !p.tty {
		for p.nextStep <= 10 && sent*10 >= p.nextStep*total {
			fmt.Fprintf(p.w, "upload: %3d%%  %d of %d bytes%s\n", p.nextStep*10, sent, total, p.rateText(now, sent, total, ", "))
			p.nextStep++
		}
		return
	}
	if sent < total && p.drawn && now.Sub(p.lastDraw) < redrawEvery {
		return
	}
	p.lastDraw, p.drawn = now, true
	fill := barWidth * sent / total
	bar := strings.Repeat("=", fill) + strings.Repeat(" ", barWidth-fill)
	fmt.Fprintf(p.w, "\r\x1b[Kuploading [%s] %3d%%  %s / %s%s", bar, 100*sent/total, kib(sent), kib(total), p.rateText(now, sent, total, "  "))
}

// rateText is ", 8.1 KiB/s, 0:17 left" once a rate can be measured.
func (p *progress) rateText(now time.Time, sent, total int, sep string) string {
	el := now.Sub(p.start)
	if el < 200*time.Millisecond || sent <= p.base {
		return ""
	}
	rate := float64(sent-p.base) / el.Seconds()
	s := sep + kib(int(rate)) + "/s"
	if sent < total {
		left := time.Duration(float64(total-sent) / rate * float64(time.Second))
		s += sep + clock(left) + " left"
	}
	return s
}

// done ends the progress line on a terminal.
func (p *progress) done() {
	if p.tty && p.drawn {
		fmt.Fprintln(p.w)
		p.drawn = false
	}
}

func kib(n int) string {
	if n < 1024 {
		return fmt.Sprintf("%d B", n)
	}
	return fmt.Sprintf("%.1f KiB", float64(n)/1024)
}

// clock formats d as m:ss (or h:mm:ss).
func clock(d time.Duration) string {
	s := int(d.Round(time.Second).Seconds())
	if s >= 3600 {
		return fmt.Sprintf("%d:%02d:%02d", s/3600, s/60%60, s%60)
	}
	return fmt.Sprintf("%d:%02d", s/60, s%60)
}
