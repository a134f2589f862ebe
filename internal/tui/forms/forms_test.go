package forms

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/huh"
)

type color string

func TestListsAndMatch(t *testing.T) {
	t.Parallel()
	values := []color{"swing", "sliding", "gate"}
	for n, want := range map[int]string{0: "", 1: "swing", 2: "swing or sliding", 3: "swing, sliding or gate"} {
		if got := List(values[:n], "or"); got != want {
			t.Errorf("List(%d) = %q, want %q", n, got, want)
		}
	}
	for in, want := range map[string]string{"swing": "swing", " GATE ": "gate", "sw": "swing", "sl": "sliding", "s": "", "": "", "door": ""} {
		got, ok := Match(values, in)
		if string(got) != want || ok != (want != "") {
			t.Errorf("Match(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
	opts := OptionsWithNone("(none)", values)
	if len(opts) != 4 || opts[0].Value != "" || opts[0].Key != "(none)" || opts[3].Value != "gate" {
		t.Errorf("options %+v", opts)
	}
	if err := OneOf(values)("gate"); err != nil {
		t.Error(err)
	}
	if err := OneOf(values)("door"); err == nil || !strings.Contains(err.Error(), "swing, sliding or gate") {
		t.Errorf("OneOf: %v", err)
	}
}

func TestValidators(t *testing.T) {
	t.Parallel()
	even := func(n int) error {
		if n%2 != 0 {
			return errors.New("odd")
		}
		return nil
	}
	check := Int("a whole number of doors", even)
	for in, want := range map[string]string{" 4 ": "", "3": "odd", "four": "a whole number of doors", "": "a whole number of doors"} {
		err := check(in)
		if (err == nil) != (want == "") || (err != nil && err.Error() != want) {
			t.Errorf("Int(%q) = %v, want %q", in, err, want)
		}
	}
	if err := Optional(check)("  "); err != nil {
		t.Errorf("Optional passes empty: %v", err)
	}
	if err := Optional(check)("3"); err == nil {
		t.Error("Optional passed a bad value")
	}
	var seen string
	_ = Trimmed(func(s string) error { seen = s; return nil })("  x \n")
	if seen != "x" {
		t.Errorf("Trimmed saw %q", seen)
	}
	if f, err := ParseFloat(" 2,5 ", "metres"); err != nil || f != 2.5 {
		t.Errorf("ParseFloat = %v, %v", f, err)
	}
	now := time.Date(2026, 11, 25, 15, 0, 0, 0, time.UTC)
	if Date(now)("+2w") != nil || Date(now)("someday") == nil {
		t.Error("Date")
	}
	if Time(now)("2026-11-25 14:30") != nil || Time(now)("teatime") == nil {
		t.Error("Time")
	}
	for in, want := range map[string][2]bool{"y": {true, true}, " YES ": {true, true}, "n": {false, true}, "No": {false, true}, "ja": {false, false}} {
		yes, ok := ParseYesNo(in)
		if yes != want[0] || ok != want[1] {
			t.Errorf("ParseYesNo(%q) = %v, %v", in, yes, ok)
		}
	}
}

func TestLines(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	l := NewLines(strings.NewReader("\nmaybe\ny\nsl\r\nnope\n\nlast"), &out)
	if a, err := l.AskDefault("Operator", "Parcelway"); a != "Parcelway" || err != nil {
		t.Errorf("AskDefault = %q, %v", a, err)
	}
	if yes, err := l.YesNo("Is someone at the door?"); !yes || err != nil {
		t.Errorf("YesNo = %v, %v", yes, err)
	}
	if v, err := Choose(l, "Door type", []color{"swing", "sliding"}, ""); v != "sliding" || err != nil {
		t.Errorf("Choose = %q, %v", v, err)
	}
	if v, err := Choose(l, "Door type", []color{"swing", "sliding"}, "swing"); v != "swing" || err != nil {
		t.Errorf("Choose with a default = %q, %v", v, err)
	}
	if a, err := l.Ask("Last: "); a != "last" || err != nil {
		t.Errorf("a last line without its line ending = %q, %v", a, err)
	}
	if _, err := l.Ask("More: "); !errors.Is(err, io.EOF) {
		t.Errorf("at the end: %v", err)
	}
	want := "Operator [Parcelway]: " +
		"Is someone at the door? [y/n] Answer y for yes or n for no.\nIs someone at the door? [y/n] " +
		"Door type (swing or sliding): " +
		"Door type (swing or sliding) [swing]: Type one of swing or sliding.\nDoor type (swing or sliding) [swing]: " +
		"Last: More: "
	if out.String() != want {
		t.Errorf("prompts\n got %q\nwant %q", out.String(), want)
	}
}

func TestRunMapsAbort(t *testing.T) {
	t.Parallel()
	var name string
	f := Prepare(huh.NewForm(huh.NewGroup(huh.NewInput().Title("Name").Value(&name))),
		IO{In: strings.NewReader("\x03"), Out: io.Discard, NoColor: true})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := Run(ctx, f); !errors.Is(err, ErrAborted) {
		t.Errorf("Ctrl+C: %v, want ErrAborted", err)
	}
}

func TestLinesContext(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	ctx, cancel := context.WithCancel(context.Background())
	l := NewLinesContext(ctx, strings.NewReader("one\ntwo\n"), &out)
	defer l.Close()
	for _, want := range []string{"one", "two"} {
		if a, err := l.Ask("? "); a != want || err != nil {
			t.Fatalf("Ask = %q, %v; want %q", a, err, want)
		}
	}
	if _, err := l.Ask("? "); !errors.Is(err, io.EOF) {
		t.Fatalf("at the end: %v", err)
	}

	// A wait for an answer that never comes ends with the context.
	pr, pw := io.Pipe()
	defer pw.Close()
	l2 := NewLinesContext(ctx, pr, &out)
	defer l2.Close()
	done := make(chan error, 1)
	go func() {
		_, err := l2.Ask("waiting: ")
		done <- err
	}()
	time.Sleep(20 * time.Millisecond)
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("after cancel: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Ask still waits after the context ended")
	}
}
