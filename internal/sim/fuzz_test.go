package sim

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/smp"
)

// fuzzTargets are the handlers FuzzUnitDispatch drives, picked by the
// first input byte.
var fuzzTargets = []struct {
	group uint16
	id    uint8
	op    smp.Op
}{
	{groupOS, smp.OSEcho, smp.OpWrite},
	{groupOS, smp.OSTaskStats, smp.OpRead},
	{groupOS, smp.OSDateTime, smp.OpRead},
	{groupOS, smp.OSDateTime, smp.OpWrite},
	{groupOS, smp.OSReset, smp.OpWrite},
	{groupOS, smp.OSParams, smp.OpRead},
	{groupOS, smp.OSInfo, smp.OpRead},
	{groupImage, imgState, smp.OpRead},
	{groupImage, imgState, smp.OpWrite},
	{groupImage, imgUpload, smp.OpWrite},
	{groupImage, imgErase, smp.OpWrite},
	{groupImage, imgSlotInfo, smp.OpRead},
	{groupStats, statRead, smp.OpRead},
	{groupStats, statList, smp.OpRead},
	{groupSettings, settingsRW, smp.OpRead},
	{groupSettings, settingsRW, smp.OpWrite},
	{groupSettings, settingsDelete, smp.OpWrite},
}

// FuzzUnitDispatch sends two arbitrary CBOR bodies to two handlers of a
// fresh unit (two, so that state carried from one request to the next,
// such as an upload in progress, is exercised). Whatever arrives, no
// handler may panic, every answer must fit buf_size and be an SMP map, and
// the unit's memory must stay consistent.
func FuzzUnitDispatch(f *testing.F) {
	f.Fuzz(func(t *testing.T, sel1, sel2 uint8, body1, body2 []byte) {
		u, err := Open(Config{SlotSize: 64 << 10})
		if err != nil {
			t.Fatal(err)
		}
		s := &smp.Server{BufSize: 512, Translate: translate, OnError: func(err error) {
			if strings.Contains(err.Error(), "panicked") {
				t.Fatal(err)
			}
		}}
		u.Register(s, Params{BufSize: 512})
		for i, in := range []struct {
			sel  uint8
			body []byte
		}{{sel1, body1}, {sel2, body2}} {
			tg := fuzzTargets[int(in.sel)%len(fuzzTargets)]
			if len(in.body) > smp.MaxBody {
				return
			}
			req := smp.Message{Header: smp.Header{Op: tg.op, Version: smp.Version(in.sel >> 7), Group: tg.group, ID: tg.id, Seq: uint8(i), Length: uint16(len(in.body))}, Body: in.body}
			rsp, ok := s.Dispatch(context.Background(), req)
			if !ok {
				t.Fatal("request not answered")
			}
			if smp.HeaderSize+len(rsp.Body) > 512 {
				t.Fatalf("answer of %d bytes exceeds buf_size", len(rsp.Body))
			}
			var m map[string]any
			if err := smp.DecodeCBOR(rsp.Body, &m); err != nil {
				t.Fatalf("answer is not a cbor map: %v", err)
			}
			checkConsistent(t, u)
		}
	})
}

func checkConsistent(t *testing.T, u *Unit) {
	t.Helper()
	u.mu.Lock()
	defer u.mu.Unlock()
	up := u.st.Upload
	if up.Active {
		if up.Off < 0 || up.Off > up.Size || up.Size > u.slotSize || len(u.partial) != up.Size {
			t.Fatalf("upload state %+v with %d bytes of flash", up, len(u.partial))
		}
		if !u.st.Slots[1].empty() {
			t.Fatalf("upload in progress over a full slot 1: %+v", u.st.Slots[1])
		}
	}
	for i, sl := range u.st.Slots {
		if sl.empty() {
			continue
		}
		info, err := VerifyImage(u.images[i])
		if err != nil || !bytes.Equal(info.Hash, sl.Hash) {
			t.Fatalf("slot %d holds an image that does not verify: %v", i, err)
		}
	}
	if u.st.Slots[0].empty() {
		t.Fatal("no running image")
	}
}
