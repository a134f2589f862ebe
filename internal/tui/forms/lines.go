package forms

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Lines asks questions one line at a time, for screen readers, dumb
// terminals and pipes: each prompt is one line ending in ": " or
// "? [y/n] ", each answer one line. Nothing moves the cursor or colours
// the text.
type Lines struct {
	r *bufio.Reader
	w io.Writer
	// With a context, a goroutine reads each line when asked, so a
	// cancelled context (Ctrl+C) ends a wait for an answer.
	ctx     context.Context
	req     chan struct{}
	answers chan lineRead
}

type lineRead struct {
	line string
	err  error
}

// NewLines asks on out and reads the answers from in. Lines buffers in:
// read every answer through it.
func NewLines(in io.Reader, out io.Writer) *Lines {
	return &Lines{r: bufio.NewReader(in), w: out}
}

// NewLinesContext is NewLines whose questions give up, with ctx's error,
// when ctx ends while they wait for an answer. Reading stays blocked on in
// until its next line or its end (a terminal's read cannot be interrupted),
// so use it for input that lives as long as the process, like stdin.
func NewLinesContext(ctx context.Context, in io.Reader, out io.Writer) *Lines {
	l := &Lines{r: bufio.NewReader(in), w: out, ctx: ctx, req: make(chan struct{}, 1), answers: make(chan lineRead, 1)}
	req := l.req
	go func() {
		for range req {
			line, err := l.r.ReadString('\n')
			l.answers <- lineRead{line, err}
		}
	}()
	return l
}

// Close stops the reading goroutine of NewLinesContext once its read, if
// any, returns. Lines must not be asked after Close.
func (l *Lines) Close() {
	if l.req != nil {
		close(l.req)
		l.req = nil
	}
}

// Ask writes prompt as it is and reads one answer, cleaned (Clean). At the
// end of the input it returns io.EOF; a last line without a line ending is
// still an answer.
func (l *Lines) Ask(prompt string) (string, error) {
	if _, err := io.WriteString(l.w, prompt); err != nil {
		return "", err
	}
	line, err := l.read()
	if err != nil && (!errors.Is(err, io.EOF) || line == "") {
		return "", err
	}
	return Clean(line), nil
}

func (l *Lines) read() (string, error) {
	if l.ctx == nil {
		return l.r.ReadString('\n')
	}
	if err := l.ctx.Err(); err != nil {
		return "", err
	}
	select {
	case l.req <- struct{}{}:
	default: // a read asked for earlier is still waiting for its line
	}
	select {
	case a := <-l.answers:
		return a.line, a.err
	case <-l.ctx.Done():
		return "", l.ctx.Err()
	}
}

// AskDefault asks "label [def]: " ("label: " without a default); an empty
// answer takes def.
func (l *Lines) AskDefault(label, def string) (string, error) {
	prompt := label + ": "
	if def != "" {
		prompt = label + " [" + def + "]: "
	}
	a, err := l.Ask(prompt)
	if err != nil {
		return "", err
	}
	if a == "" {
		return def, nil
	}
	return a, nil
}

// YesNo asks "question? [y/n] " until the answer is yes or no.
func (l *Lines) YesNo(question string) (bool, error) {
	prompt := strings.TrimSuffix(question, "?") + "? [y/n] "
	for {
		a, err := l.Ask(prompt)
		if err != nil {
			return false, err
		}
		if yes, ok := ParseYesNo(a); ok {
			return yes, nil
		}
		fmt.Fprintln(l.w, "Answer y for yes or n for no.")
	}
}

// Choose asks "label (a, b or c) [def]: " until the answer is one of values
// (as Match finds it); an empty answer takes def when there is one.
func Choose[T ~string](l *Lines, label string, values []T, def T) (T, error) {
	for {
		a, err := l.AskDefault(label+" ("+List(values, "or")+")", string(def))
		if err != nil {
			return "", err
		}
		if v, ok := Match(values, a); ok {
			return v, nil
		}
		fmt.Fprintf(l.w, "Type one of %s.\n", List(values, "or"))
	}
}

// Say writes one line of text.
func (l *Lines) Say(format string, args ...any) {
	fmt.Fprintf(l.w, format+"\n", args...)
}
