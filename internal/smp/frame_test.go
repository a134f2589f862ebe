package smp

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// Golden frames computed with an independent implementation (Python's
// base64 and binascii.crc_hqx), not with EncodePacket.
var (
	echoMsg    = []byte("\x0a\x00\x00\x06\x00\x00\x42\x00\xa1\x61\x64\x62\x68\x69")
	echoFrames = "\x06\tABAKAAAGAABCAKFhZGJoaZsK\n"

	seqMsg    = seqBytes(200)
	seqFrames = "\x06\tAMoAAQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyAhIiMkJSYnKCkqKywtLi8wMTIzNDU2Nzg5Ojs8PT4/QEFCQ0RFRkdISUpLTE1OT1BRUlNUVVZXWFla\n" +
		"\x04\x14W1xdXl9gYWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXp7fH1+f4CBgoOEhYaHiImKi4yNjo+QkZKTlJWWl5iZmpucnZ6foKGio6SlpqeoqaqrrK2ur7CxsrO0tba3\n" +
		"\x04\x14uLm6u7y9vr/AwcLDxMXGxxWh\n"
)

func seqBytes(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i)
	}
	return b
}

func mustEncode(t testing.TB, msg []byte) string {
	t.Helper()
	p, err := EncodePacket(msg)
	if err != nil {
		t.Fatalf("EncodePacket: %v", err)
	}
	return string(p)
}

// frame builds one frame around raw bytes, for hand-made bad packets.
func frame(first bool, raw []byte) string {
	m := "\x04\x14"
	if first {
		m = "\x06\x09"
	}
	return m + base64.StdEncoding.EncodeToString(raw) + "\n"
}

// packetRaw builds length + msg + crc with an explicit length and crc.
func packetRaw(length int, msg []byte, crc uint16) []byte {
	b := binary.BigEndian.AppendUint16(nil, uint16(length))
	b = append(b, msg...)
	return binary.BigEndian.AppendUint16(b, crc)
}

func TestEncodePacketGolden(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		msg  []byte
		want string
	}{
		{"initial-final frame", echoMsg, echoFrames},
		{"three frames", seqMsg, seqFrames},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := mustEncode(t, tt.msg); got != tt.want {
				t.Errorf("EncodePacket =\n%q\nwant\n%q", got, tt.want)
			}
		})
	}
}

func TestEncodePacketFrames(t *testing.T) {
	t.Parallel()
	// Sizes around the frame boundaries: 93 raw bytes per frame, of which
	// the first frame spends 2 on the length and the last 2 on the CRC.
	for _, n := range []int{0, 1, 8, 88, 89, 90, 91, 92, 93, 182, 183, 184, 185, 1000, DefaultMaxPacket, MaxMessage} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			t.Parallel()
			msg := seqBytes(n)
			p := mustEncode(t, msg)
			lines := strings.SplitAfter(p, "\n")
			if lines[len(lines)-1] != "" {
				t.Fatalf("output does not end with a newline")
			}
			lines = lines[:len(lines)-1]
			if want := (n + 4 + 92) / 93; len(lines) != want {
				t.Errorf("%d frames, want %d", len(lines), want)
			}
			var raw []byte
			for i, l := range lines {
				if len(l) > MaxFrame {
					t.Errorf("frame %d is %d bytes, limit %d", i, len(l), MaxFrame)
				}
				marker := "\x04\x14"
				if i == 0 {
					marker = "\x06\x09"
				}
				if !strings.HasPrefix(l, marker) {
					t.Errorf("frame %d starts % x, want % x", i, l[:2], marker)
				}
				// Each frame's text must decode on its own.
				b, err := base64.StdEncoding.DecodeString(l[2 : len(l)-1])
				if err != nil {
					t.Fatalf("frame %d: %v", i, err)
				}
				raw = append(raw, b...)
			}
			if want := packetRaw(n+2, msg, crc16(msg)); !bytes.Equal(raw, want) {
				t.Errorf("decoded frames differ from length+msg+crc")
			}
		})
	}
}

func TestEncodePacketTooLarge(t *testing.T) {
	t.Parallel()
	if _, err := EncodePacket(make([]byte, MaxMessage+1)); !errors.Is(err, ErrTooLarge) {
		t.Errorf("error = %v, want ErrTooLarge", err)
	}
}

// result is what decoding a whole stream produced.
type result struct {
	msgs     [][]byte
	discards []Discard
	err      error
	idle     int
}

// decodeAll runs Next until it returns something other than a message or
// ErrNoData, failing the test if the decoder spins.
func decodeAll(t testing.TB, r io.Reader, opts DecoderOptions) result {
	t.Helper()
	var res result
	opts.OnDiscard = func(d Discard) { res.discards = append(res.discards, d) }
	d := NewDecoder(r, opts)
	for i := 0; ; i++ {
		if i > 1_000_000 {
			t.Fatal("decoder does not make progress")
		}
		msg, err := d.Next()
		switch {
		case errors.Is(err, ErrNoData):
			res.idle++
		case err != nil:
			res.err = err
			// The error is sticky.
			if _, again := d.Next(); again != err {
				t.Errorf("second Next error = %v, want %v", again, err)
			}
			st := d.Stats()
			if st.Packets != len(res.msgs) || st.Discards != len(res.discards) {
				t.Errorf("stats %+v disagree with %d messages, %d discards", st, len(res.msgs), len(res.discards))
			}
			return res
		default:
			res.msgs = append(res.msgs, msg)
		}
	}
}

func TestDecoder(t *testing.T) {
	t.Parallel()
	echo := echoFrames
	second := mustEncode(t, []byte("second message"))
	big := mustEncode(t, seqMsg)
	bigLines := strings.SplitAfter(big, "\n") // 3 frames and ""
	tooBig := frame(true, packetRaw(9000+2, []byte("x"), 0))

	tests := []struct {
		name    string
		in      string
		max     int
		want    []string
		reasons []error // in order
		bytes   int     // total bytes discarded, -1 to skip the check
		err     error
	}{
		{name: "one packet", in: echo, want: []string{string(echoMsg)}},
		{name: "multi-frame packet", in: seqFrames, want: []string{string(seqMsg)}},
		{name: "back to back", in: echo + second + big, want: []string{string(echoMsg), "second message", string(seqMsg)}},
		{name: "empty message", in: mustEncode(t, nil), want: []string{""}},
		{
			name:    "console text around packets",
			in:      "*** Booting Zephyr ***\n[00:00:01] <inf> main: up\n" + echo + "uart:~$ " + second,
			want:    []string{string(echoMsg), "second message"},
			reasons: []error{ErrNotFrame, ErrNotFrame, ErrNotFrame},
			bytes:   len("*** Booting Zephyr ***\n[00:00:01] <inf> main: up\n") + len("uart:~$ "),
		},
		{
			name:    "log line between frames of one packet",
			in:      bigLines[0] + "[00:00:02] <wrn> log\n" + bigLines[1] + bigLines[2],
			want:    []string{string(seqMsg)},
			reasons: []error{ErrNotFrame},
			bytes:   21,
		},
		{
			name: "crlf line endings",
			in:   strings.ReplaceAll(echo+big, "\n", "\r\n"),
			want: []string{string(echoMsg), string(seqMsg)},
		},
		{
			name:    "bad crc then good packet",
			in:      frame(true, packetRaw(5, []byte("abc"), crc16([]byte("abc"))^1)) + echo,
			want:    []string{string(echoMsg)},
			reasons: []error{ErrCRC},
			bytes:   2 + 12 + 1,
		},
		{
			name:    "bad base64",
			in:      "\x06\x09AAA\n" + echo,
			want:    []string{string(echoMsg)},
			reasons: []error{ErrFrame},
			bytes:   6,
		},
		{
			name:    "continuation without start",
			in:      bigLines[1] + echo,
			want:    []string{string(echoMsg)},
			reasons: []error{ErrFrame},
			bytes:   len(bigLines[1]),
		},
		{
			name:    "new start mid-packet drops partial",
			in:      bigLines[0] + bigLines[1] + echo,
			want:    []string{string(echoMsg)},
			reasons: []error{ErrIncomplete},
			bytes:   len(bigLines[0]) + len(bigLines[1]),
		},
		{
			name:    "length shorter than data",
			in:      frame(true, packetRaw(3, []byte("abc"), crc16([]byte("abc")))) + echo,
			want:    []string{string(echoMsg)},
			reasons: []error{ErrLength},
			bytes:   -1,
		},
		{
			name:    "length below crc size",
			in:      frame(true, packetRaw(1, nil, 0)) + echo,
			want:    []string{string(echoMsg)},
			reasons: []error{ErrLength},
			bytes:   -1,
		},
		{
			name:    "initial frame without length",
			in:      frame(true, []byte{1}) + echo,
			want:    []string{string(echoMsg)},
			reasons: []error{ErrFrame},
			bytes:   -1,
		},
		{
			name:    "huge length rejected",
			in:      tooBig + echo,
			want:    []string{string(echoMsg)},
			reasons: []error{ErrTooLarge},
			bytes:   len(tooBig),
		},
		{
			name:    "configured limit",
			in:      seqFrames + echo,
			max:     100,
			want:    []string{string(echoMsg)},
			reasons: []error{ErrTooLarge, ErrFrame, ErrFrame},
			bytes:   len(seqFrames),
		},
		{
			name:    "overlong frame",
			in:      "\x06\x09" + strings.Repeat("A", 128) + "\n" + echo,
			want:    []string{string(echoMsg)},
			reasons: []error{ErrFrame, ErrNotFrame},
			bytes:   2 + 128 + 1,
		},
		{
			name:    "frame cut by noise then real frame",
			in:      "\x06\x09AAAA" + echo,
			want:    []string{string(echoMsg)},
			reasons: []error{ErrFrame},
			bytes:   6,
		},
		{
			name:    "lone marker bytes in text",
			in:      "a\x06b\x04\x04\x06" + echo,
			want:    []string{string(echoMsg)},
			reasons: []error{ErrNotFrame},
			bytes:   6,
		},
		{
			name:    "stray carriage return",
			in:      "\x06\x09AAAA\rAAAA\n" + echo,
			want:    []string{string(echoMsg)},
			reasons: []error{ErrFrame, ErrNotFrame},
			bytes:   -1,
		},
		{
			name:    "eof mid-packet",
			in:      echo + bigLines[0],
			want:    []string{string(echoMsg)},
			reasons: []error{ErrIncomplete},
			bytes:   len(bigLines[0]),
			err:     io.ErrUnexpectedEOF,
		},
		{
			name:    "eof mid-frame",
			in:      echo + "\x06\x09AAAA",
			want:    []string{string(echoMsg)},
			reasons: []error{ErrIncomplete},
			bytes:   6,
			err:     io.ErrUnexpectedEOF,
		},
		{
			name:    "trailing text without newline",
			in:      echo + "uart:~$ ",
			want:    []string{string(echoMsg)},
			reasons: []error{ErrNotFrame},
			bytes:   8,
		},
	}
	readers := map[string]func(string) io.Reader{
		"whole":    func(s string) io.Reader { return strings.NewReader(s) },
		"one byte": func(s string) io.Reader { return iotest.OneByteReader(strings.NewReader(s)) },
		"idle":     func(s string) io.Reader { return &idleReader{r: iotest.HalfReader(strings.NewReader(s))} },
		"data+eof": func(s string) io.Reader { return iotest.DataErrReader(strings.NewReader(s)) },
	}
	for _, tt := range tests {
		for rname, mk := range readers {
			t.Run(tt.name+"/"+rname, func(t *testing.T) {
				t.Parallel()
				res := decodeAll(t, mk(tt.in), DecoderOptions{MaxPacket: tt.max})
				want := tt.err
				if want == nil {
					want = io.EOF
				}
				if !errors.Is(res.err, want) {
					t.Errorf("final error = %v, want %v", res.err, want)
				}
				if len(res.msgs) != len(tt.want) {
					t.Fatalf("got %d messages %q, want %d", len(res.msgs), res.msgs, len(tt.want))
				}
				for i := range tt.want {
					if string(res.msgs[i]) != tt.want[i] {
						t.Errorf("message %d = %q, want %q", i, res.msgs[i], tt.want[i])
					}
				}
				// Console text may be reported in pieces, depending on
				// reads, so compare reasons with adjacent ErrNotFrame merged.
				got := reasons(res.discards)
				if fmt.Sprint(got) != fmt.Sprint(mergeNotFrame(tt.reasons)) {
					t.Errorf("discards %v, want %v", got, mergeNotFrame(tt.reasons))
				}
				total := 0
				for _, d := range res.discards {
					total += d.Bytes
				}
				if tt.bytes >= 0 && total != tt.bytes {
					t.Errorf("discarded %d bytes, want %d", total, tt.bytes)
				}
			})
		}
	}
}

// reasons maps discards to the sentinel each wraps, merging adjacent
// ErrNotFrame reports.
func reasons(ds []Discard) []error {
	var out []error
	for _, d := range ds {
		var r error
		for _, s := range []error{ErrNotFrame, ErrFrame, ErrCRC, ErrTooLarge, ErrLength, ErrIncomplete} {
			if errors.Is(d.Err, s) {
				r = s
				break
			}
		}
		if r == nil {
			r = d.Err
		}
		out = append(out, r)
	}
	return mergeNotFrame(out)
}

func mergeNotFrame(in []error) []error {
	var out []error
	for _, e := range in {
		if e == ErrNotFrame && len(out) > 0 && out[len(out)-1] == ErrNotFrame {
			continue
		}
		out = append(out, e)
	}
	return out
}

// idleReader returns (0, nil) before every real read, like a serial port
// whose read timeout expires.
type idleReader struct {
	r    io.Reader
	idle bool
}

func (r *idleReader) Read(p []byte) (int, error) {
	r.idle = !r.idle
	if r.idle {
		return 0, nil
	}
	return r.r.Read(p)
}

func TestDecoderNoData(t *testing.T) {
	t.Parallel()
	r := &idleReader{r: strings.NewReader(echoFrames)}
	d := NewDecoder(r, DecoderOptions{})
	if _, err := d.Next(); !errors.Is(err, ErrNoData) {
		t.Fatalf("first Next error = %v, want ErrNoData", err)
	}
	msg, err := d.Next()
	if err != nil || !bytes.Equal(msg, echoMsg) {
		t.Fatalf("second Next = %q, %v; want the echo message", msg, err)
	}
}

func TestDecoderOneReadPerCall(t *testing.T) {
	t.Parallel()
	cr := &countingReader{r: iotest.OneByteReader(strings.NewReader(echoFrames))}
	d := NewDecoder(cr, DecoderOptions{})
	for i := 0; i < len(echoFrames)-1; i++ {
		if _, err := d.Next(); !errors.Is(err, ErrNoData) {
			t.Fatalf("Next %d error = %v, want ErrNoData", i, err)
		}
		if cr.n != i+1 {
			t.Fatalf("after Next %d: %d reads, want %d", i, cr.n, i+1)
		}
	}
	if msg, err := d.Next(); err != nil || !bytes.Equal(msg, echoMsg) {
		t.Fatalf("last Next = %q, %v", msg, err)
	}
}

type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	c.n++
	return c.r.Read(p)
}

func TestDecoderReadError(t *testing.T) {
	t.Parallel()
	boom := errors.New("port gone")
	r := io.MultiReader(strings.NewReader(echoFrames), iotest.ErrReader(boom))
	res := decodeAll(t, r, DecoderOptions{})
	if len(res.msgs) != 1 || !errors.Is(res.err, boom) {
		t.Fatalf("got %d messages, error %v; want 1 and %v", len(res.msgs), res.err, boom)
	}
	if !strings.HasPrefix(res.err.Error(), "smp: read: ") {
		t.Errorf("error %q lacks context", res.err)
	}
}

func TestDecoderReset(t *testing.T) {
	t.Parallel()
	lines := strings.SplitAfter(seqFrames, "\n")
	partial := lines[0] + lines[1]
	var ds []Discard
	d := NewDecoder(iotest.OneByteReader(strings.NewReader(partial+lines[2]+echoFrames)), DecoderOptions{
		OnDiscard: func(x Discard) { ds = append(ds, x) },
	})
	// Read the first two frames of the long packet, then give up on it: its
	// last frame must then count as a continuation without a start.
	for range len(partial) {
		if _, err := d.Next(); !errors.Is(err, ErrNoData) {
			t.Fatalf("Next error = %v, want ErrNoData", err)
		}
	}
	d.Reset()
	var msg []byte
	var err error
	for msg == nil {
		if msg, err = d.Next(); err != nil && !errors.Is(err, ErrNoData) {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(msg, echoMsg) {
		t.Fatalf("Next after Reset = %q, want the echo message", msg)
	}
	if got, want := fmt.Sprint(reasons(ds)), fmt.Sprint([]error{ErrIncomplete, ErrFrame}); got != want {
		t.Errorf("discards %v, want %v", got, want)
	}
	if ds[0].Bytes != len(partial) {
		t.Errorf("reset dropped %d bytes, want %d", ds[0].Bytes, len(partial))
	}
}

func TestDecoderStats(t *testing.T) {
	t.Parallel()
	in := "noise\n" + echoFrames + seqFrames + "\x06\x09!!\n"
	d := NewDecoder(strings.NewReader(in), DecoderOptions{})
	for {
		if _, err := d.Next(); err == io.EOF {
			break
		}
	}
	// "noise\n" is console text; "!" is not base64, so it ends the last
	// frame (2 marker bytes dropped) and "!!\n" is console text again.
	want := Stats{Packets: 2, Frames: 4, Discards: 3, DiscardedBytes: 6 + 2 + 3}
	if got := d.Stats(); got != want {
		t.Errorf("Stats = %+v, want %+v", got, want)
	}
}
