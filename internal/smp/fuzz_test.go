package smp

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"testing"
	"testing/iotest"
)

// Seed corpora live in testdata/fuzz/<FuzzName>/; go test runs them as
// ordinary test cases.

const fuzzMaxPacket = 512 // small, so fuzzed inputs reach the limit

func decodeStream(t *testing.T, r io.Reader) (msgs [][]byte, dropped int) {
	t.Helper()
	d := NewDecoder(r, DecoderOptions{MaxPacket: fuzzMaxPacket})
	for i := 0; ; i++ {
		if i > 10_000_000 {
			t.Fatal("decoder does not make progress")
		}
		msg, err := d.Next()
		switch {
		case errors.Is(err, ErrNoData):
		case err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF):
			return msgs, d.Stats().DiscardedBytes
		case err != nil:
			t.Fatalf("unexpected error %v", err)
		default:
			if len(msg) > fuzzMaxPacket {
				t.Fatalf("message of %d bytes exceeds MaxPacket %d", len(msg), fuzzMaxPacket)
			}
			msgs = append(msgs, msg)
		}
	}
}

func FuzzDecoder(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		msgs, dropped := decodeStream(t, bytes.NewReader(data))
		if dropped > len(data) {
			t.Fatalf("dropped %d bytes of %d", dropped, len(data))
		}
		// How the input is cut into reads must not change the result.
		for name, r := range map[string]io.Reader{
			"one byte": iotest.OneByteReader(bytes.NewReader(data)),
			"idle":     &idleReader{r: iotest.HalfReader(bytes.NewReader(data))},
		} {
			again, d2 := decodeStream(t, r)
			if fmt.Sprintf("%q", again) != fmt.Sprintf("%q", msgs) || d2 != dropped {
				t.Fatalf("%s reader: %q (dropped %d), whole reader: %q (dropped %d)", name, again, d2, msgs, dropped)
			}
		}
		// Every message decoded re-encodes to a stream that decodes to the
		// same messages with nothing dropped.
		var stream []byte
		for _, m := range msgs {
			p, err := EncodePacket(m)
			if err != nil {
				t.Fatalf("EncodePacket(decoded message): %v", err)
			}
			stream = append(stream, p...)
		}
		back, dropped := decodeStream(t, bytes.NewReader(stream))
		if fmt.Sprintf("%q", back) != fmt.Sprintf("%q", msgs) || dropped != 0 {
			t.Fatalf("re-encoded stream decodes to %q (dropped %d), want %q", back, dropped, msgs)
		}
		// The input itself, taken as a message, survives framing with
		// console text around it.
		if len(data) <= fuzzMaxPacket {
			p, err := EncodePacket(data)
			if err != nil {
				t.Fatal(err)
			}
			framed := append(append([]byte("[00:00:01] <inf> log\n"), p...), "uart:~$ "...)
			got, dropped := decodeStream(t, bytes.NewReader(framed))
			if len(got) != 1 || !bytes.Equal(got[0], data) || dropped != 29 {
				t.Fatalf("framed input decodes to %q (dropped %d), want %q", got, dropped, data)
			}
		}
	})
}

func FuzzMessage(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		if h, err := UnmarshalHeader(data); err == nil {
			b, err := h.MarshalBinary()
			if err != nil {
				t.Fatalf("MarshalBinary of decoded header: %v", err)
			}
			if !bytes.Equal(b, data[:HeaderSize]) {
				t.Fatalf("header round trip: % x, want % x", b, data[:HeaderSize])
			}
		} else if !errors.Is(err, ErrHeader) {
			t.Fatalf("UnmarshalHeader error %v is not ErrHeader", err)
		}
		m, err := UnmarshalMessage(data)
		if err != nil {
			if !errors.Is(err, ErrHeader) && !errors.Is(err, ErrLength) {
				t.Fatalf("UnmarshalMessage error %v is not ErrHeader or ErrLength", err)
			}
			return
		}
		b, err := m.MarshalBinary()
		if err != nil {
			t.Fatalf("MarshalBinary of decoded message: %v", err)
		}
		if !bytes.Equal(b, data) {
			t.Fatalf("message round trip: % x, want % x", b, data)
		}
	})
}

func FuzzDecodeResponse(f *testing.F) {
	f.Fuzz(func(t *testing.T, body []byte) {
		var v any
		err := DecodeResponse(body, &v)
		var e *Error
		switch {
		case err == nil:
			if ResponseError(body) != nil {
				t.Fatal("ResponseError disagrees with DecodeResponse")
			}
		case errors.As(err, &e):
			if e.RC == 0 || e.Error() == "" {
				t.Fatalf("bad device error %#v", e)
			}
			// Re-encode the error object: it must decode to the same error.
			var obj map[string]any
			if e.Version == V2 {
				obj = map[string]any{"err": map[string]any{"group": e.Group, "rc": e.RC}}
			} else {
				obj = map[string]any{"rc": e.RC}
			}
			var e2 *Error
			if err := ResponseError(mustCBOR(t, obj)); !errors.As(err, &e2) || *e2 != *e {
				t.Fatalf("re-encoded %#v decodes to %v", e, err)
			}
		case errors.Is(err, ErrBody):
		default:
			t.Fatalf("error %v is neither *Error nor ErrBody", err)
		}
	})
}
