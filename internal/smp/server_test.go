package smp

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"
)

func echoServer(bufSize int) *Server {
	s := &Server{BufSize: bufSize}
	echo := func(_ context.Context, req Message) (any, error) {
		var r EchoRequest
		if err := DecodeCBOR(req.Body, &r); err != nil {
			return nil, MgmtInval
		}
		return EchoResponse{R: r.D}, nil
	}
	s.Handle(GroupOS, OSEcho, OpRead, echo)
	s.Handle(GroupOS, OSEcho, OpWrite, echo)
	s.Handle(GroupOS, OSParams, OpRead, func(context.Context, Message) (any, error) {
		return Params{BufSize: uint32(s.bufSize()), BufCount: 4}, nil
	})
	s.Handle(64, 0, OpRead, func(_ context.Context, req Message) (any, error) {
		return req.Body, nil // raw bytes back, as a custom group may
	})
	return s
}

func reqMsg(t testing.TB, h Header, body any) []byte {
	t.Helper()
	b, err := requestBody(body)
	if err != nil {
		t.Fatal(err)
	}
	m, err := NewMessage(h, b)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := m.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func TestHandlePacket(t *testing.T) {
	t.Parallel()
	echo := Header{Op: OpWrite, Group: GroupOS, ID: OSEcho, Seq: 7}
	echoV2 := echo
	echoV2.Version = V2
	tests := []struct {
		name string
		pkt  []byte
		want []Message // Length is filled in
	}{
		{"echo", reqMsg(t, echo, EchoRequest{D: "hi"}),
			[]Message{{Header: Header{Op: OpWriteRsp, Group: 0, ID: 0, Seq: 7}, Body: mustCBOREncode(EchoResponse{R: "hi"})}}},
		{"echo v2", reqMsg(t, echoV2, EchoRequest{D: "hi"}),
			[]Message{{Header: Header{Op: OpWriteRsp, Version: V2, Seq: 7}, Body: mustCBOREncode(EchoResponse{R: "hi"})}}},
		{"raw custom group", reqMsg(t, Header{Op: OpRead, Group: 64, Seq: 1}, []byte{1, 2, 3}),
			[]Message{{Header: Header{Op: OpReadRsp, Group: 64, Seq: 1}, Body: []byte{1, 2, 3}}}},
		{"two requests in one packet", append(reqMsg(t, echo, EchoRequest{D: "a"}), reqMsg(t, Header{Op: OpRead, Seq: 8, ID: OSParams}, nil)...),
			[]Message{
				{Header: Header{Op: OpWriteRsp, Seq: 7}, Body: mustCBOREncode(EchoResponse{R: "a"})},
				{Header: Header{Op: OpReadRsp, Seq: 8, ID: OSParams}, Body: mustCBOREncode(Params{BufSize: DefaultBufSize, BufCount: 4})},
			}},
		{"length runs past the packet", reqMsg(t, echo, EchoRequest{D: "hi"})[:12],
			[]Message{{Header: Header{Op: OpWriteRsp, Seq: 7}, Body: errBody(MgmtCorrupt)}}},
		{"bad body is the handler's to reject", reqMsg(t, echo, []byte{0xff}),
			[]Message{{Header: Header{Op: OpWriteRsp, Seq: 7}, Body: errBody(MgmtInval)}}},
		{"response is not answered", reqMsg(t, Header{Op: OpReadRsp, Seq: 3}, nil), nil},
		{"bad header is not answered", []byte{0xe0, 0, 0, 0, 0, 0, 0, 0}, nil},
		{"short header is not answered", []byte{2, 0, 0}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := echoServer(0).handlePacket(context.Background(), tt.pkt)
			if len(got) != len(tt.want) {
				t.Fatalf("%d responses, want %d", len(got), len(tt.want))
			}
			for i, w := range tt.want {
				w.Length = uint16(len(w.Body))
				wb, err := w.MarshalBinary()
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got[i], wb) {
					t.Errorf("response %d = % x, want % x", i, got[i], wb)
				}
			}
		})
	}
}

func TestHandleRejectsMistakes(t *testing.T) {
	t.Parallel()
	for name, f := range map[string]func(){
		"response op": func() {
			new(Server).Handle(0, 0, OpReadRsp, func(context.Context, Message) (any, error) { return nil, nil })
		},
		"nil handler": func() { new(Server).Handle(0, 0, OpRead, nil) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			f()
		}()
	}
}

// pipeRW joins the read end of one pipe and the write end of another.
type pipeRW struct {
	io.Reader
	io.Writer
}

func TestServeOverPipes(t *testing.T) {
	t.Parallel()
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	s := echoServer(0)
	done := make(chan error, 1)
	go func() { done <- s.Serve(context.Background(), pipeRW{inR, outW}) }()

	go func() {
		_, _ = inW.Write([]byte("boot banner\r\n"))
		pkt, _ := EncodePacket(reqMsg(t, Header{Op: OpRead, ID: OSEcho, Seq: 42}, EchoRequest{D: strings.Repeat("z", 300)}))
		_, _ = inW.Write(pkt)
		_ = inW.Close()
	}()
	dec := NewDecoder(outR, DecoderOptions{})
	var b []byte
	var err error
	for b, err = dec.Next(); errors.Is(err, ErrNoData); b, err = dec.Next() {
	}
	if err != nil {
		t.Fatal(err)
	}
	m, err := UnmarshalMessage(b)
	if err != nil {
		t.Fatal(err)
	}
	var r EchoResponse
	if err := DecodeResponse(m.Body, &r); err != nil || m.Seq != 42 || r.R != strings.Repeat("z", 300) {
		t.Fatalf("response %+v %q, %v", m.Header, r.R, err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Serve at end of input: %v, want nil", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Serve did not return at end of input")
	}
}

func TestServeDropsOversizedRequests(t *testing.T) {
	t.Parallel()
	var reported []error
	s := echoServer(64)
	s.OnError = func(err error) { reported = append(reported, err) }
	var out bytes.Buffer
	pkt, _ := EncodePacket(reqMsg(t, Header{Op: OpRead, ID: OSEcho}, EchoRequest{D: strings.Repeat("z", 100)}))
	if err := s.Serve(context.Background(), pipeRW{bytes.NewReader(pkt), &out}); err != nil {
		t.Fatal(err)
	}
	// The continuation frames of the dropped packet are reported too.
	if out.Len() != 0 || len(reported) == 0 || !errors.Is(reported[0], ErrTooLarge) {
		t.Fatalf("wrote %q, reported %v; want nothing written and ErrTooLarge reported", out.String(), reported)
	}
}
