package smp

import (
	"bytes"
	"errors"
	"testing"
)

func TestHeaderRoundTrip(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		h    Header
		wire []byte
	}{
		{
			name: "v1 read os echo",
			h:    Header{Op: OpRead, Version: V1, Length: 6, Group: 0, Seq: 1, ID: 0},
			wire: []byte{0x00, 0x00, 0x00, 0x06, 0x00, 0x00, 0x01, 0x00},
		},
		{
			name: "v2 write",
			h:    Header{Op: OpWrite, Version: V2, Length: 6, Seq: 0x42},
			wire: []byte{0x0a, 0x00, 0x00, 0x06, 0x00, 0x00, 0x42, 0x00},
		},
		{
			name: "v2 write rsp user group big endian fields",
			h:    Header{Op: OpWriteRsp, Version: V2, Flags: 0x80, Length: 0x1234, Group: 0x0040, Seq: 0xff, ID: 7},
			wire: []byte{0x0b, 0x80, 0x12, 0x34, 0x00, 0x40, 0xff, 0x07},
		},
		{
			name: "v1 read rsp max values",
			h:    Header{Op: OpReadRsp, Length: 0xffff, Group: 0xffff, Seq: 0xff, ID: 0xff},
			wire: []byte{0x01, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := tt.h.MarshalBinary()
			if err != nil {
				t.Fatalf("MarshalBinary: %v", err)
			}
			if !bytes.Equal(got, tt.wire) {
				t.Errorf("MarshalBinary = % x, want % x", got, tt.wire)
			}
			h, err := UnmarshalHeader(tt.wire)
			if err != nil {
				t.Fatalf("UnmarshalHeader: %v", err)
			}
			if h != tt.h {
				t.Errorf("UnmarshalHeader = %+v, want %+v", h, tt.h)
			}
		})
	}
}

func TestUnmarshalHeaderErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   []byte
	}{
		{"empty", nil},
		{"short", []byte{0, 0, 0, 0, 0, 0, 0}},
		{"reserved bits", []byte{0x20, 0, 0, 0, 0, 0, 0, 0}},
		{"reserved version 0b10", []byte{0x10, 0, 0, 0, 0, 0, 0, 0}},
		{"reserved version 0b11", []byte{0x18, 0, 0, 0, 0, 0, 0, 0}},
		{"undefined op", []byte{0x04, 0, 0, 0, 0, 0, 0, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if _, err := UnmarshalHeader(tt.in); !errors.Is(err, ErrHeader) {
				t.Errorf("UnmarshalHeader(% x) error = %v, want ErrHeader", tt.in, err)
			}
		})
	}
}

func TestMarshalHeaderErrors(t *testing.T) {
	t.Parallel()
	for _, h := range []Header{{Op: 4}, {Version: 2}} {
		if _, err := h.MarshalBinary(); !errors.Is(err, ErrHeader) {
			t.Errorf("MarshalBinary(%+v) error = %v, want ErrHeader", h, err)
		}
	}
}

func TestOp(t *testing.T) {
	t.Parallel()
	tests := []struct {
		op   Op
		name string
		rsp  Op
		isR  bool
	}{
		{OpRead, "read", OpReadRsp, false},
		{OpReadRsp, "read-rsp", OpReadRsp, true},
		{OpWrite, "write", OpWriteRsp, false},
		{OpWriteRsp, "write-rsp", OpWriteRsp, true},
		{Op(6), "op(6)", Op(7), false},
	}
	for _, tt := range tests {
		if got := tt.op.String(); got != tt.name {
			t.Errorf("Op(%d).String() = %q, want %q", tt.op, got, tt.name)
		}
		if got := tt.op.Response(); got != tt.rsp {
			t.Errorf("Op(%d).Response() = %v, want %v", tt.op, got, tt.rsp)
		}
		if got := tt.op.IsResponse(); got != tt.isR {
			t.Errorf("Op(%d).IsResponse() = %v, want %v", tt.op, got, tt.isR)
		}
	}
}
