package smp_test

import (
	"context"
	"errors"
	"io"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/serialport"
	"github.com/latchkey/latchkey/internal/smp"
	"github.com/latchkey/latchkey/internal/testutil/ptytest"
)

// The tests in this package run the client over a real pseudo-terminal: the
// unit end (the pty master) is served by smp.Server or by a hand-driven peer,
// and the client opens the slave with serialport.Open, as it would a USB
// serial port.

// openPTY opens the pty the unit side is served on (see ptytest.Open).
func openPTY(t *testing.T) (master *os.File, path string) { return ptytest.Open(t) }

// link is a client on a pty slave, with the master end for the unit side.
type link struct {
	master *os.File
	port   *serialport.Port
	client *smp.Client
}

func newLink(t *testing.T, opts smp.ClientOptions) *link {
	t.Helper()
	master, path := openPTY(t)
	port, err := serialport.Open(path, serialport.Options{})
	if err != nil {
		t.Fatalf("serialport.Open(%s): %v", path, err)
	}
	c := smp.NewClient(port, opts)
	t.Cleanup(func() {
		_ = c.Close()
		_ = port.Close()
	})
	return &link{master: master, port: port, client: c}
}

// serve runs srv on the master end of l, writing through w (the master
// itself if nil), until the test ends.
func (l *link) serve(t *testing.T, srv *smp.Server, w io.Writer) {
	t.Helper()
	var rw io.ReadWriter = l.master
	if w != nil {
		rw = readWriter{Reader: deadlineReader{l.master}, Writer: w}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, rw) }()
	t.Cleanup(func() {
		cancel()
		if w != nil {
			// A wrapped master has no SetReadDeadline of its own.
			_ = l.master.SetReadDeadline(time.Now())
		}
		select {
		case err := <-done:
			if err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(2 * time.Second):
			t.Error("Serve did not return after its context was cancelled")
		}
	})
}

type readWriter struct {
	io.Reader
	io.Writer
}

// deadlineReader hides the master's other methods so Serve treats it as a
// plain reader.
type deadlineReader struct{ f *os.File }

func (r deadlineReader) Read(b []byte) (int, error) { return r.f.Read(b) }

// peer is a hand-driven unit on the master end: it hands the test each
// request it decodes, and the test writes whatever answer it likes.
type peer struct {
	t      *testing.T
	master *os.File
	reqs   chan smp.Message
	mu     sync.Mutex
}

func (l *link) peer(t *testing.T) *peer {
	t.Helper()
	p := &peer{t: t, master: l.master, reqs: make(chan smp.Message, 64)}
	go func() {
		dec := smp.NewDecoder(l.master, smp.DecoderOptions{})
		for {
			b, err := dec.Next()
			if errors.Is(err, smp.ErrNoData) {
				continue
			}
			if err != nil {
				close(p.reqs)
				return
			}
			m, err := smp.UnmarshalMessage(b)
			if err != nil {
				t.Errorf("peer: client sent a bad message: %v", err)
				continue
			}
			p.reqs <- m
		}
	}()
	return p
}

// next returns the next request the client sent.
func (p *peer) next() smp.Message {
	p.t.Helper()
	select {
	case m, ok := <-p.reqs:
		if !ok {
			p.t.Fatal("peer: link closed")
		}
		return m
	case <-time.After(2 * time.Second):
		p.t.Fatal("peer: no request within 2s")
	}
	return smp.Message{}
}

// none fails if a request arrives within d.
func (p *peer) none(d time.Duration) {
	p.t.Helper()
	select {
	case m := <-p.reqs:
		p.t.Fatalf("peer: unexpected request %+v", m.Header)
	case <-time.After(d):
	}
}

// reply answers req with body (CBOR-encoded unless []byte), changing the
// header with edit if it is not nil.
func (p *peer) reply(req smp.Message, body any, edit func(*smp.Header)) {
	p.t.Helper()
	b, ok := body.([]byte)
	if !ok {
		var err error
		if b, err = smp.EncodeCBOR(body); err != nil {
			p.t.Fatal(err)
		}
	}
	h := req.Header
	h.Op = h.Op.Response()
	if edit != nil {
		edit(&h)
	}
	m, err := smp.NewMessage(h, b)
	if err != nil {
		p.t.Fatal(err)
	}
	p.write(m)
}

func (p *peer) write(m smp.Message) {
	p.t.Helper()
	raw, err := m.MarshalBinary()
	if err != nil {
		p.t.Fatal(err)
	}
	pkt, err := smp.EncodePacket(raw)
	if err != nil {
		p.t.Fatal(err)
	}
	p.writeRaw(pkt)
}

func (p *peer) writeRaw(b []byte) {
	p.t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, err := p.master.Write(b); err != nil {
		p.t.Fatalf("peer: write: %v", err)
	}
}
