package smp

import (
	"bytes"
	"errors"
	"testing"
)

func TestMessageRoundTrip(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		h    Header
		body []byte
		wire []byte
	}{
		{
			name: "echo request",
			h:    Header{Op: OpWrite, Version: V2, Seq: 0x42},
			body: []byte{0xa1, 0x61, 0x64, 0x62, 0x68, 0x69},
			wire: echoMsg,
		},
		{
			name: "no body",
			h:    Header{Op: OpRead, Group: 64, ID: 3},
			wire: []byte{0x00, 0x00, 0x00, 0x00, 0x00, 0x40, 0x00, 0x03},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m, err := NewMessage(tt.h, tt.body)
			if err != nil {
				t.Fatal(err)
			}
			got, err := m.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, tt.wire) {
				t.Errorf("MarshalBinary = % x, want % x", got, tt.wire)
			}
			back, err := UnmarshalMessage(tt.wire)
			if err != nil {
				t.Fatal(err)
			}
			if back.Header != m.Header || !bytes.Equal(back.Body, tt.body) {
				t.Errorf("UnmarshalMessage = %+v, want %+v", back, m)
			}
		})
	}
}

func TestMessageErrors(t *testing.T) {
	t.Parallel()
	t.Run("marshal length mismatch", func(t *testing.T) {
		t.Parallel()
		m := Message{Header: Header{Length: 2}, Body: []byte{1}}
		if _, err := m.MarshalBinary(); !errors.Is(err, ErrLength) {
			t.Errorf("error = %v, want ErrLength", err)
		}
	})
	t.Run("new message too large", func(t *testing.T) {
		t.Parallel()
		if _, err := NewMessage(Header{}, make([]byte, MaxBody+1)); !errors.Is(err, ErrTooLarge) {
			t.Errorf("error = %v, want ErrTooLarge", err)
		}
	})
	unmarshal := []struct {
		name string
		in   []byte
		want error
	}{
		{"short header", []byte{0, 0, 0}, ErrHeader},
		{"length says more", []byte{0, 0, 0, 5, 0, 0, 0, 0, 1, 2}, ErrLength},
		{"length says less", []byte{0, 0, 0, 1, 0, 0, 0, 0, 1, 2}, ErrLength},
		{"reserved version", []byte{0x13, 0, 0, 0, 0, 0, 0, 0}, ErrHeader},
	}
	for _, tt := range unmarshal {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if _, err := UnmarshalMessage(tt.in); !errors.Is(err, tt.want) {
				t.Errorf("UnmarshalMessage(% x) error = %v, want %v", tt.in, err, tt.want)
			}
		})
	}
}
