package smp

import (
	"errors"
	"strings"
	"testing"
)

func mustCBOR(t testing.TB, v any) []byte {
	t.Helper()
	b, err := EncodeCBOR(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDecodeResponse(t *testing.T) {
	t.Parallel()
	type echo struct {
		R string `cbor:"r"`
	}
	tests := []struct {
		name    string
		body    []byte
		want    echo
		err     error  // errors.Is target
		smpErr  *Error // expected typed error
		message string
	}{
		{name: "success", body: mustCBOR(t, map[string]any{"r": "hi"}), want: echo{R: "hi"}},
		{name: "success with rc 0", body: mustCBOR(t, map[string]any{"r": "hi", "rc": 0}), want: echo{R: "hi"}},
		{name: "empty map", body: []byte{0xa0}},
		{
			name: "indefinite-length map (zcbor)",
			body: []byte{0xbf, 0x61, 'r', 0x62, 'h', 'i', 0xff},
			want: echo{R: "hi"},
		},
		{
			name:    "v1 rc",
			body:    mustCBOR(t, map[string]any{"rc": 8}),
			err:     MgmtNotSup,
			smpErr:  &Error{Version: V1, RC: 8},
			message: "smp: device returned rc 8 (ENOTSUP: command not supported)",
		},
		{
			name:   "v1 user rc",
			body:   mustCBOR(t, map[string]any{"rc": 257}),
			smpErr: &Error{Version: V1, RC: 257},
		},
		{
			name:    "v2 group error",
			body:    mustCBOR(t, map[string]any{"err": map[string]any{"group": 1, "rc": 5}}),
			smpErr:  &Error{Version: V2, Group: 1, RC: 5},
			message: "smp: device returned group 1 error 5",
		},
		{
			name: "v2 err with rc 0 is success",
			body: mustCBOR(t, map[string]any{"r": "hi", "err": map[string]any{"group": 1, "rc": 0}}),
			want: echo{R: "hi"},
		},
		{
			name:   "err wins over rc",
			body:   mustCBOR(t, map[string]any{"rc": 3, "err": map[string]any{"group": 64, "rc": 2}}),
			smpErr: &Error{Version: V2, Group: 64, RC: 2},
		},
		{name: "empty body", body: nil, err: ErrBody},
		{name: "not a map", body: mustCBOR(t, []int{1, 2}), err: ErrBody},
		{name: "rc not an int", body: mustCBOR(t, map[string]any{"rc": "bad"}), err: ErrBody},
		{name: "err without group", body: mustCBOR(t, map[string]any{"err": map[string]any{"rc": 1}}), err: ErrBody},
		{name: "group out of range", body: mustCBOR(t, map[string]any{"err": map[string]any{"group": 70000, "rc": 1}}), err: ErrBody},
		{name: "rc out of range", body: mustCBOR(t, map[string]any{"rc": int64(1) << 40}), err: ErrBody},
		{name: "duplicate key", body: []byte{0xa2, 0x62, 'r', 'c', 0x01, 0x62, 'r', 'c', 0x00}, err: ErrBody},
		{name: "trailing data", body: []byte{0xa0, 0x00}, err: ErrBody},
		{name: "truncated", body: []byte{0xa1, 0x61, 'r'}, err: ErrBody},
		{name: "too deep", body: []byte(strings.Repeat("\x81", 20) + "\x00"), err: ErrBody},
		{name: "huge declared array", body: []byte{0xa1, 0x61, 'x', 0x9a, 0x7f, 0xff, 0xff, 0xff}, err: ErrBody},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var got echo
			err := DecodeResponse(tt.body, &got)
			if tt.err == nil && tt.smpErr == nil {
				if err != nil {
					t.Fatalf("DecodeResponse error = %v", err)
				}
				if got != tt.want {
					t.Errorf("decoded %+v, want %+v", got, tt.want)
				}
				return
			}
			if tt.err != nil && !errors.Is(err, tt.err) {
				t.Errorf("error = %v, want errors.Is %v", err, tt.err)
			}
			if tt.smpErr != nil {
				var e *Error
				if !errors.As(err, &e) || *e != *tt.smpErr {
					t.Errorf("error = %#v, want %#v", err, tt.smpErr)
				}
				if !errors.Is(err, tt.smpErr) {
					t.Errorf("errors.Is(err, equal *Error) = false")
				}
			}
			if tt.message != "" && err.Error() != tt.message {
				t.Errorf("message %q, want %q", err.Error(), tt.message)
			}
		})
	}
}

func TestErrorIs(t *testing.T) {
	t.Parallel()
	v1 := &Error{Version: V1, RC: int(MgmtBusy)}
	v2 := &Error{Version: V2, Group: 1, RC: int(MgmtBusy)}
	if !errors.Is(v1, MgmtBusy) {
		t.Error("v1 EBUSY does not match MgmtBusy")
	}
	if errors.Is(v1, MgmtNotSup) {
		t.Error("v1 EBUSY matches MgmtNotSup")
	}
	if errors.Is(v2, MgmtBusy) {
		t.Error("group-specific code 10 matches the SMP-level MgmtBusy")
	}
}

func TestMgmtErrNames(t *testing.T) {
	t.Parallel()
	tests := []struct {
		c    MgmtErr
		name string
	}{
		{MgmtOK, "EOK"}, {MgmtUnknown, "EUNKNOWN"}, {MgmtNoMem, "ENOMEM"}, {MgmtInval, "EINVAL"},
		{MgmtTimeout, "ETIMEOUT"}, {MgmtNoEnt, "ENOENT"}, {MgmtBadState, "EBADSTATE"},
		{MgmtMsgSize, "EMSGSIZE"}, {MgmtNotSup, "ENOTSUP"}, {MgmtCorrupt, "ECORRUPT"},
		{MgmtBusy, "EBUSY"}, {MgmtAccessDenied, "EACCESSDENIED"},
		{MgmtTooOld, "UNSUPPORTED_TOO_OLD"}, {MgmtTooNew, "UNSUPPORTED_TOO_NEW"},
		{MgmtPerUser + 2, "EPERUSER+2"}, {42, "E42"},
	}
	for _, tt := range tests {
		if got := tt.c.String(); got != tt.name {
			t.Errorf("MgmtErr(%d).String() = %q, want %q", int(tt.c), got, tt.name)
		}
		if msg := tt.c.Error(); !strings.HasPrefix(msg, "smp: ") || !strings.Contains(msg, tt.name) {
			t.Errorf("MgmtErr(%d).Error() = %q", int(tt.c), msg)
		}
	}
}

func TestEncodeCBORSorted(t *testing.T) {
	t.Parallel()
	got := mustCBOR(t, map[string]any{"off": 0, "data": []byte{1}, "len": 1})
	// Core deterministic order: shorter keys first, then bytewise.
	want := []byte{0xa3, 0x63, 'l', 'e', 'n', 0x01, 0x63, 'o', 'f', 'f', 0x00, 0x64, 'd', 'a', 't', 'a', 0x41, 0x01}
	if string(got) != string(want) {
		t.Errorf("EncodeCBOR = % x, want % x", got, want)
	}
}
