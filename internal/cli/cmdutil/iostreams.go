package cmdutil

import (
	"bytes"
	"io"
	"os"

	"golang.org/x/term"
)

// IO is a command's standard streams and what they are connected to.
type IO struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer
	InTTY  bool
	OutTTY bool
	ErrTTY bool
	// Width is the terminal width for tables, 0 when unknown.
	Width int
}

// System returns the process's own streams.
func System() *IO {
	isTTY := func(f *os.File) bool { return term.IsTerminal(int(f.Fd())) }
	io := &IO{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr,
		InTTY: isTTY(os.Stdin), OutTTY: isTTY(os.Stdout), ErrTTY: isTTY(os.Stderr)}
	if io.OutTTY {
		if w, _, err := term.GetSize(int(os.Stdout.Fd())); err == nil {
			io.Width = w
		}
	}
	return io
}

// Test returns streams backed by buffers, none of them a terminal.
func Test() (*IO, *bytes.Buffer, *bytes.Buffer, *bytes.Buffer) {
	in, out, errOut := &bytes.Buffer{}, &bytes.Buffer{}, &bytes.Buffer{}
	return &IO{In: in, Out: out, ErrOut: errOut}, in, out, errOut
}

// CanPrompt reports whether questions can be asked: both ends are a terminal.
func (s *IO) CanPrompt() bool { return s.InTTY && s.OutTTY }
