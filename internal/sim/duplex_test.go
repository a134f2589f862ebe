package sim

import (
	"bytes"
	"context"
	"testing"
	"time"
)

// The link is full duplex, as a UART is: input crosses the line while the
// unit works and answers, so a Read that comes late loses no line time for
// bytes that were already waiting.
func TestInputPacedByLineTime(t *testing.T) {
	t.Parallel()
	p, err := openPTY()
	if err != nil {
		t.Fatal(err)
	}
	defer p.close()
	ctx, stop := context.WithCancelCause(context.Background())
	const baud = 115200
	l := &link{ctx: ctx, stop: stop, port: p, fs: newFaultState(Faults{}, 1),
		byteT: 10 * time.Second / baud, in: make(chan inChunk, inQueue)}
	done := make(chan struct{})
	go func() { defer close(done); l.readLoop() }()
	defer func() {
		stop(nil)
		_ = p.master.SetDeadline(time.Now())
		<-done
	}()

	msg := bytes.Repeat([]byte("0123456789abcdef"), 128) // 2 KiB, 178 ms on the line
	line := time.Duration(len(msg)) * l.byteT
	const busy = 25 * time.Millisecond // per read, less than a read's line time
	start := time.Now()
	if _, err := p.slave.Write(msg); err != nil {
		t.Fatal(err)
	}
	var got []byte
	buf := make([]byte, 512)
	reads := 0
	var took time.Duration
	for len(got) < len(msg) {
		n, err := l.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, buf[:n]...)
		took = time.Since(start)
		reads++
		time.Sleep(busy) // the unit decodes and answers meanwhile
	}
	if !bytes.Equal(got, msg) {
		t.Fatalf("read %q, want %q", got, msg)
	}
	if took < line {
		t.Fatalf("%d bytes at %d baud took %v, faster than the line (%v)", len(msg), baud, took, line)
	}
	// Half duplex would add busy for every read but the last.
	if slack := time.Duration(reads-1) * busy / 2; took > line+slack {
		t.Fatalf("%d bytes in %d reads took %v; the line needs %v, so the unit's work was not overlapped", len(msg), reads, took, line)
	}
	t.Logf("%d bytes in %d reads: %v (line %v)", len(msg), reads, took, line)
}

// A reset's answer is on the line in full before the port closes, even
// when it takes longer than closeDelay to send.
func TestResetAnswerBeforePortGoes(t *testing.T) {
	t.Parallel()
	h := startSim(t, Options{Baud: 1200}) // the answer takes ~190 ms
	c := h.connect(1)
	reset(t, c)
	c = h.connect(2)
	if r, err := c.Echo(context.Background(), "up"); err != nil || r != "up" {
		t.Fatalf("echo after reset: %q, %v", r, err)
	}
}
