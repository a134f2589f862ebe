package serialport

import (
	"bytes"
	"errors"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"
	"go.bug.st/serial"
	"golang.org/x/sys/unix"
)

// openPTY returns a new pseudo-terminal: its master, and the path of its
// slave, which the tests open as a serial port.
func openPTY(t *testing.T) (*os.File, string) {
	t.Helper()
	m, s, err := pty.Open()
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	t.Cleanup(func() { _ = s.Close(); _ = m.Close() })
	return m, s.Name()
}

func TestOpenPTY(t *testing.T) {
	t.Parallel()
	master, path := openPTY(t)
	p, err := Open(path, Options{})
	if err != nil {
		t.Fatalf("Open(%s): %v", path, err)
	}
	defer p.Close()
	if p.Path() != path {
		t.Errorf("Path() = %q", p.Path())
	}

	// Raw mode both ways: bytes a cooked tty would translate or swallow
	// (CR, NL, ^C, ^D, ^S, DEL, NUL) pass through unchanged and are not
	// echoed back.
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	if _, err := master.Write(all); err != nil {
		t.Fatal(err)
	}
	if err := p.SetReadTimeout(500 * time.Millisecond); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 0, 256)
	buf := make([]byte, 256)
	for len(got) < 256 {
		n, err := p.Read(buf)
		if err != nil || n == 0 {
			t.Fatalf("read after %d bytes: %d, %v", len(got), n, err)
		}
		got = append(got, buf[:n]...)
	}
	if !bytes.Equal(got, all) {
		t.Fatalf("slave read % x, want % x", got, all)
	}
	if _, err := p.Write(all); err != nil {
		t.Fatal(err)
	}
	back := make([]byte, 256)
	if _, err := io.ReadFull(master, back); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(back, all) {
		t.Fatalf("master read % x, want % x (output processing or echo left on)", back, all)
	}

	// An idle read with a timeout returns 0, nil: the contract smp.Client
	// relies on.
	if err := p.SetReadTimeout(50 * time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if n, err := p.Read(buf); n != 0 || err != nil {
		t.Fatalf("idle read = %d, %v; want 0, nil", n, err)
	}
}

// A pty has no modem lines; Open must not fail for it.
func TestModemControlOnPTYIsTolerated(t *testing.T) {
	t.Parallel()
	_, path := openPTY(t)
	raw, err := serial.Open(path, &serial.Mode{BaudRate: 115200})
	if err != nil {
		t.Fatal(err)
	}
	err = raw.SetDTR(true)
	raw.Close()
	if err == nil {
		t.Skip("this kernel accepts TIOCMSET on a pty; nothing to tolerate")
	}
	if !noModemControl(err) {
		t.Fatalf("SetDTR on a pty: %v, not recognised as a missing modem line", err)
	}
	p, err := Open(path, Options{})
	if err != nil {
		t.Fatalf("Open with DTR on a pty: %v", err)
	}
	p.Close()
}

func TestOpenErrors(t *testing.T) {
	t.Parallel()
	_, err := Open("/dev/latchkey-no-such-port", Options{})
	if err == nil || !strings.Contains(err.Error(), "/dev/latchkey-no-such-port") {
		t.Fatalf("error %v does not name the port", err)
	}
	if _, err := Open("/dev/null", Options{Baud: -1}); err == nil {
		t.Fatal("negative baud accepted")
	}
	// Not a tty at all.
	if _, err := Open(os.DevNull, Options{}); err == nil {
		t.Fatal("Open(/dev/null) succeeded")
	}
}

func TestCloseUnblocksRead(t *testing.T) {
	t.Parallel()
	_, path := openPTY(t)
	p, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := p.Read(make([]byte, 8))
		done <- err
	}()
	time.Sleep(50 * time.Millisecond)
	p.Close()
	select {
	case err := <-done:
		if err == nil {
			t.Error("read on a closed port returned no error")
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Close did not unblock Read")
	}
}

func TestMasterHangupIsAReadError(t *testing.T) {
	t.Parallel()
	master, path := openPTY(t)
	p, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	_ = p.SetReadTimeout(50 * time.Millisecond)
	master.Close()
	for range 10 {
		n, err := p.Read(make([]byte, 8))
		if err != nil {
			return
		}
		if n != 0 {
			t.Fatalf("read %d bytes from a hung-up pty", n)
		}
	}
	t.Fatal("reads after hang-up keep returning 0, nil: a pulled cable would look idle")
}

func TestNoModemControl(t *testing.T) {
	t.Parallel()
	for err, want := range map[error]bool{
		unix.ENOTTY:                       true,
		unix.EINVAL:                       true,
		unix.EIO:                          false,
		errors.New("inappropriate ioctl"): false,
	} {
		if got := noModemControl(err); got != want {
			t.Errorf("noModemControl(%v) = %v", err, got)
		}
	}
}
