// Package simtest starts the virtual unit on a pseudo-terminal for tests and
// waits for its link. It is used only by tests and benchmarks.
package simtest

import (
	"bytes"
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/provision"
	"github.com/latchkey/latchkey/internal/sim"
)

// Seed is the seed of the units [NewUnit] creates.
const Seed = 7

// Default bounds of [Config].
const (
	DefaultUpWithin   = 5 * time.Second
	DefaultStopWithin = 3 * time.Second
)

// Config says how [Start] runs the sim, beyond its sim.Options.
type Config struct {
	// UpWithin bounds each wait for the link to appear; zero means
	// DefaultUpWithin.
	UpWithin time.Duration
	// StopWithin bounds the wait for sim.Serve to return when the test
	// ends; zero means DefaultStopWithin.
	StopWithin time.Duration
}

// Sim is a virtual unit served on a pty behind Link.
type Sim struct {
	Link string
	Unit *sim.Unit

	upWithin time.Duration
	changed  chan struct{} // a token after each appearance of the link
	done     chan struct{} // closed when sim.Serve has returned
	err      error         // sim.Serve's error, once done is closed

	mu sync.Mutex
	up int // the latest LinkInfo.Up
}

// NewUnit opens a virtual unit from [Seed] with its state in memory.
func NewUnit(tb testing.TB) *sim.Unit {
	tb.Helper()
	u, err := sim.Open(sim.Config{Seed: Seed})
	if err != nil {
		tb.Fatal(err)
	}
	return u
}

// LatchkeyConfig is the default configuration of a test unit's group 64:
// identity from [Seed], the seeded test factory, and burns that open keys
// sealed by provision.SealKey, as a real unit does.
func LatchkeyConfig() sim.LatchkeyConfig {
	return sim.LatchkeyConfig{Seed: Seed, Unseal: provision.OpenKey}
}

// NewLatchkey returns group 64 with [LatchkeyConfig], for
// sim.Options.Extensions (lk.Extension()).
func NewLatchkey() *sim.Latchkey { return sim.NewLatchkey(LatchkeyConfig()) }

// Start serves o.Unit (a new unit from [NewUnit] if nil) behind a
// link in a new temporary directory until the test ends, and waits for the
// link to come up. It sets o.Link, and o.OnLink to one that records the
// link's appearances for [Sim.WaitUp] before calling the one given, if any.
// When the test ends it stops the sim and fails the test if sim.Serve
// returned an error or did not stop within c.StopWithin.
func Start(tb testing.TB, o sim.Options, c Config) *Sim {
	tb.Helper()
	if o.Unit == nil {
		o.Unit = NewUnit(tb)
	}
	if c.UpWithin == 0 {
		c.UpWithin = DefaultUpWithin
	}
	if c.StopWithin == 0 {
		c.StopWithin = DefaultStopWithin
	}
	s := &Sim{
		Link: filepath.Join(tb.TempDir(), "unit"), Unit: o.Unit, upWithin: c.UpWithin,
		changed: make(chan struct{}, 1), done: make(chan struct{}),
	}
	o.Link = s.Link
	onLink := o.OnLink
	o.OnLink = func(li sim.LinkInfo) {
		s.mu.Lock()
		s.up = li.Up
		s.mu.Unlock()
		select {
		case s.changed <- struct{}{}:
		default: // a token is already waiting
		}
		if onLink != nil {
			onLink(li)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		s.err = sim.Serve(ctx, o)
		close(s.done)
	}()
	tb.Cleanup(func() {
		cancel()
		select {
		case <-s.done:
			if s.err != nil {
				tb.Errorf("sim.Serve: %v", s.err)
			}
		case <-time.After(c.StopWithin):
			tb.Error("sim.Serve did not stop")
		}
	})
	s.WaitUp(tb, 1)
	return s
}

// WaitUp waits until the link has appeared for the up-th time (1 at start,
// +1 after each reset, reboot or cable pull), for up to Config.UpWithin. It
// fails the test if sim.Serve returns first.
func (s *Sim) WaitUp(tb testing.TB, up int) {
	tb.Helper()
	timeout := time.After(s.upWithin)
	for {
		s.mu.Lock()
		n := s.up
		s.mu.Unlock()
		if n >= up {
			return
		}
		select {
		case <-s.changed:
		case <-s.done:
			tb.Fatalf("sim.Serve: %v", s.err)
		case <-timeout:
			tb.Fatalf("the sim's link did not come up a %d. time", up)
		}
	}
}

// Buffer is a bytes.Buffer that a running sim or command may write while
// the test reads it.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *Buffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// Bytes returns a copy of what was written so far.
func (l *Buffer) Bytes() []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	return bytes.Clone(l.b.Bytes())
}

// String returns what was written so far.
func (l *Buffer) String() string { return string(l.Bytes()) }
