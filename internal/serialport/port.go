package serialport

import (
	"errors"
	"fmt"
	"time"

	"go.bug.st/serial"
)

// DefaultBaud is the line rate used when Options.Baud is zero: the usual
// rate of Zephyr's MCUmgr UART and of USB CDC-ACM consoles (which ignore it).
const DefaultBaud = 115200

// Options configures Open. The zero value is 115200 baud, 8N1, DTR and RTS
// asserted.
type Options struct {
	// Baud is the line rate; zero means DefaultBaud.
	Baud int
	// NoDTR leaves DTR and RTS as the driver set them on open. By default
	// both are asserted, since Zephyr's CDC-ACM console sends nothing until
	// the host raises DTR.
	NoDTR bool
}

// Port is an open serial port. It satisfies smp.Port. Its methods are safe
// to call from one reader and one writer goroutine at a time.
type Port struct {
	p    serial.Port
	path string
}

// Open opens the serial port at path in raw mode, 8 data bits, no parity,
// one stop bit, no flow control. A pseudo-terminal is accepted as a port:
// it rejects the modem-control ioctls with "inappropriate ioctl for
// device", which Open ignores.
func Open(path string, opts Options) (*Port, error) {
	baud := opts.Baud
	if baud == 0 {
		baud = DefaultBaud
	}
	if baud < 0 {
		return nil, fmt.Errorf("open %s: baud rate %d is negative", path, baud)
	}
	p, err := serial.Open(path, &serial.Mode{
		BaudRate: baud,
		DataBits: 8,
		Parity:   serial.NoParity,
		StopBits: serial.OneStopBit,
	})
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, describe(err))
	}
	if !opts.NoDTR {
		for _, set := range []func(bool) error{p.SetDTR, p.SetRTS} {
			if err := set(true); err != nil && !noModemControl(err) {
				_ = p.Close()
				return nil, fmt.Errorf("open %s: set modem lines: %w", path, err)
			}
		}
	}
	return &Port{p: p, path: path}, nil
}

// describe turns go.bug.st/serial's PortError into text that says what to
// do; its own messages ("Serial port busy") name neither port nor fix.
func describe(err error) error {
	var pe *serial.PortError
	if !errors.As(err, &pe) {
		return err
	}
	switch pe.Code() {
	case serial.PortBusy:
		return fmt.Errorf("port is in use by another program: %w", err)
	case serial.PortNotFound:
		return fmt.Errorf("no such port: %w", err)
	case serial.PermissionDenied:
		return fmt.Errorf("permission denied (on Linux, join the dialout group): %w", err)
	}
	return err
}

// Path returns the path the port was opened with.
func (p *Port) Path() string { return p.path }

// Read reads what has arrived. After SetReadTimeout, a Read that times out
// returns 0 bytes and a nil error.
func (p *Port) Read(b []byte) (int, error) { return p.p.Read(b) }

// Write writes b to the line.
func (p *Port) Write(b []byte) (int, error) { return p.p.Write(b) }

// SetReadTimeout bounds each Read; a negative d means no timeout.
func (p *Port) SetReadTimeout(d time.Duration) error {
	if d < 0 {
		d = serial.NoTimeout
	}
	return p.p.SetReadTimeout(d)
}

// ResetInput discards bytes received but not yet read, e.g. console output
// a unit printed before the tool connected.
func (p *Port) ResetInput() error { return p.p.ResetInputBuffer() }

// Close closes the port; a Read blocked in another goroutine returns.
func (p *Port) Close() error { return p.p.Close() }
