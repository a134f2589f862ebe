package sim

import (
	"context"
	"crypto/sha256"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/smp"
)

// server is a unit's handlers without a link, for tests of the unit's
// rules; the link tests run the same handlers over a pty.
func server(u *Unit) *smp.Server {
	s := &smp.Server{BufSize: DefaultBufSize, Translate: translate}
	u.Register(s, Params{})
	return s
}

// call sends one SMP version 2 request to s and returns the decoded
// response body or the device error.
func call(t *testing.T, s *smp.Server, op smp.Op, group uint16, id uint8, body any) (map[string]any, error) {
	t.Helper()
	b, err := smp.EncodeCBOR(body)
	if err != nil {
		t.Fatal(err)
	}
	rsp, ok := s.Dispatch(context.Background(), smp.Message{Header: smp.Header{Op: op, Version: smp.V2, Group: group, ID: id, Length: uint16(len(b))}, Body: b})
	if !ok {
		t.Fatal("no answer")
	}
	if err := smp.ResponseError(rsp.Body); err != nil {
		return nil, err
	}
	var m map[string]any
	if err := smp.DecodeCBOR(rsp.Body, &m); err != nil {
		t.Fatal(err)
	}
	return m, nil
}

func chunk(t *testing.T, s *smp.Server, body map[string]any) (int, error) {
	t.Helper()
	m, err := call(t, s, smp.OpWrite, groupImage, imgUpload, body)
	if err != nil {
		return -1, err
	}
	off, ok := m["off"].(uint64)
	if !ok {
		t.Fatalf("upload answer without off: %v", m)
	}
	return int(off), nil
}

func imgErr(rc int) error { return &smp.Error{Version: smp.V2, Group: groupImage, RC: rc} }

func TestIdentityFromSeed(t *testing.T) {
	t.Parallel()
	a, _ := Open(Config{Seed: 42})
	b, _ := Open(Config{Seed: 42})
	c, _ := Open(Config{Seed: 43})
	if a.Identity() != b.Identity() {
		t.Errorf("same seed, different identity: %+v, %+v", a.Identity(), b.Identity())
	}
	if a.Identity() == c.Identity() {
		t.Errorf("seeds 42 and 43 gave the same identity %+v", a.Identity())
	}
	if id := a.Identity(); !strings.HasPrefix(id.Serial, "LK") || id.Model == "" || id.HWRev == "" {
		t.Errorf("identity %+v", id)
	}
}

// Upload robustness, after Zephyr MCUmgr's bug history: every bad request
// gets an error or the unit's offset, and the upload carries on afterwards.
func TestUploadRobustness(t *testing.T) {
	t.Parallel()
	u, _ := Open(Config{Seed: 3})
	s := server(u)
	img := testImage(Version{Major: 2}, 5000, 4)
	sum := sha256.Sum256(img)
	first := map[string]any{"off": 0, "len": len(img), "sha": sum[:], "data": img[:1000]}

	if _, err := chunk(t, s, map[string]any{"off": 0, "data": img[:1000]}); !errors.Is(err, imgErr(imgErrInvalidLength)) {
		t.Errorf("first chunk without len: %v", err)
	}
	if _, err := chunk(t, s, map[string]any{"off": 0, "len": DefaultSlotSize + 1, "data": img[:1000]}); !errors.Is(err, imgErr(imgErrImageTooLarge)) {
		t.Errorf("image larger than the slot: %v", err)
	}
	if _, err := chunk(t, s, map[string]any{"len": len(img), "data": img[:10]}); !errors.Is(err, smp.MgmtInval) {
		t.Errorf("chunk without off: %v", err)
	}
	if off, err := chunk(t, s, map[string]any{"off": 1000, "data": img[1000:2000]}); err != nil || off != 0 {
		t.Errorf("continuation with no upload: off %d, %v; want 0", off, err)
	}
	if off, err := chunk(t, s, first); err != nil || off != 1000 {
		t.Fatalf("first chunk: %d, %v", off, err)
	}
	// Out of order: answered with the unit's offset, nothing written.
	if off, err := chunk(t, s, map[string]any{"off": 3000, "data": img[3000:4000]}); err != nil || off != 1000 {
		t.Errorf("chunk ahead: off %d, %v; want 1000", off, err)
	}
	if off, err := chunk(t, s, map[string]any{"off": 500, "data": img[500:1500]}); err != nil || off != 1000 {
		t.Errorf("chunk behind: off %d, %v; want 1000", off, err)
	}
	// Overrun: one byte past len.
	if _, err := chunk(t, s, map[string]any{"off": 1000, "data": append(append([]byte{}, img[1000:]...), 0)}); !errors.Is(err, imgErr(imgErrImageDataOverrun)) {
		t.Errorf("overrun: %v", err)
	}
	// A failed flash write, then a write at the same offset: no damage.
	fail := true
	u.flashFault = func(int) error {
		if fail {
			return errors.New("flash says no")
		}
		return nil
	}
	if _, err := chunk(t, s, map[string]any{"off": 1000, "data": img[1000:2000]}); !errors.Is(err, imgErr(imgErrFlashWriteFailed)) {
		t.Errorf("failed write: %v", err)
	}
	fail = false
	if off, err := chunk(t, s, map[string]any{"off": 1000, "data": img[1000:2000]}); err != nil || off != 2000 {
		t.Errorf("write after a failed write: %d, %v", off, err)
	}
	// Resume by sha: off 0 with the same sha and len answers the offset.
	if off, err := chunk(t, s, first); err != nil || off != 2000 {
		t.Errorf("resume: %d, %v; want 2000", off, err)
	}
	for off := 2000; off < len(img); off += 1000 {
		end := min(off+1000, len(img))
		got, err := chunk(t, s, map[string]any{"off": off, "data": img[off:end]})
		if err != nil || got != end {
			t.Fatalf("chunk at %d: %d, %v", off, got, err)
		}
	}
	if u.st.Slots[1].Version != "2.0.0" || u.st.Upload.Active {
		t.Fatalf("slot 1 after upload: %+v", u.st.Slots[1])
	}

	// A sha that does not match the data: refused at the end, slot empty.
	other := testImage(Version{Major: 9}, 2000, 5)
	if _, err := chunk(t, s, map[string]any{"off": 0, "len": len(other), "sha": sum[:], "data": other}); !errors.Is(err, imgErr(imgErrInvalidHash)) {
		t.Errorf("sha mismatch: %v", err)
	}
	if !u.st.Slots[1].empty() || u.st.Upload.Active {
		t.Errorf("after a refused image: slot %+v upload %+v", u.st.Slots[1], u.st.Upload)
	}
	if off, err := chunk(t, s, map[string]any{"off": 1000, "data": other[:10]}); err != nil || off != 0 {
		t.Errorf("continuation after a refused image: %d, %v; want 0", off, err)
	}
}

func TestStatePersists(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	u, err := Open(Config{Dir: dir, Seed: 11})
	if err != nil {
		t.Fatal(err)
	}
	id := u.Identity()
	s := server(u)
	if _, err := call(t, s, smp.OpWrite, groupSettings, settingsRW, map[string]any{"name": "door/pulse_ms", "val": []byte("750")}); err != nil {
		t.Fatal(err)
	}
	img := testImage(Version{Major: 6}, 4000, 2)
	sum := sha256.Sum256(img)
	if _, err := chunk(t, s, map[string]any{"off": 0, "len": len(img), "sha": sum[:], "data": img[:1500]}); err != nil {
		t.Fatal(err)
	}

	// Power cycle: a new Unit on the same directory, another seed.
	u2, err := Open(Config{Dir: dir, Seed: 99})
	if err != nil {
		t.Fatal(err)
	}
	if u2.Identity() != id {
		t.Errorf("identity changed across restart: %+v, %+v", u2.Identity(), id)
	}
	s2 := server(u2)
	m, err := call(t, s2, smp.OpRead, groupSettings, settingsRW, map[string]any{"name": "door/pulse_ms"})
	if err != nil || string(m["val"].([]byte)) != "750" {
		t.Errorf("setting after restart: %v, %v", m, err)
	}
	if off, err := chunk(t, s2, map[string]any{"off": 0, "len": len(img), "sha": sum[:], "data": img[:1500]}); err != nil || off != 1500 {
		t.Fatalf("resume after restart: %d, %v; want 1500", off, err)
	}
	if off, err := chunk(t, s2, map[string]any{"off": 1500, "data": img[1500:]}); err != nil || off != len(img) {
		t.Fatalf("finish after restart: %d, %v", off, err)
	}
	if _, err := call(t, s2, smp.OpWrite, groupImage, imgState, map[string]any{"hash": imageHash(t, img), "confirm": false}); err != nil {
		t.Fatal(err)
	}
	// The next power-on swaps the pending image in.
	u3, err := Open(Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if v := u3.st.Slots[0].Version; v != "6.0.0" || u3.st.Slots[0].Confirmed {
		t.Errorf("after power-on with a test image pending: slot 0 %+v", u3.st.Slots[0])
	}
	if len(u3.Events(0)) < 5 {
		t.Errorf("event log: %+v", u3.Events(0))
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 3 { // unit.json, two slot images
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		t.Errorf("state directory holds %v", names)
	}

	// A corrupt state file is an error that names it.
	if err := os.WriteFile(filepath.Join(dir, stateFile), []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = Open(Config{Dir: dir})
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), filepath.Join(dir, stateFile)) {
		t.Errorf("corrupt state: %v", err)
	}
}

func TestStatsAndSettings(t *testing.T) {
	t.Parallel()
	u, _ := Open(Config{})
	s := server(u)
	m, err := call(t, s, smp.OpRead, groupStats, statList, map[string]any{})
	if err != nil || len(m["stat_list"].([]any)) < 3 {
		t.Fatalf("stat list: %v, %v", m, err)
	}
	m, err = call(t, s, smp.OpRead, groupStats, statRead, map[string]any{"name": "boot"})
	if err != nil || m["fields"].(map[any]any)["boots"] != uint64(1) {
		t.Errorf("boot stats: %v, %v", m, err)
	}
	if _, err := call(t, s, smp.OpRead, groupStats, statRead, map[string]any{"name": "nope"}); !errors.Is(err, &smp.Error{Version: smp.V2, Group: groupStats, RC: statErrInvalidGroup}) {
		t.Errorf("unknown stats group: %v", err)
	}
	if _, err := call(t, s, smp.OpRead, groupSettings, settingsRW, map[string]any{"name": "nope"}); !errors.Is(err, &smp.Error{Version: smp.V2, Group: groupSettings, RC: settingsErrKeyNotFound}) {
		t.Errorf("unknown setting: %v", err)
	}
	if _, err := call(t, s, smp.OpWrite, groupSettings, settingsRW, map[string]any{"name": strings.Repeat("k", 65), "val": []byte("x")}); err == nil {
		t.Error("a 65-byte key was accepted")
	}
	m, err = call(t, s, smp.OpRead, groupSettings, settingsRW, map[string]any{"name": "modem/apn", "max_size": 3})
	if err != nil || string(m["val"].([]byte)) != "iot" {
		t.Errorf("read with max_size: %v, %v", m, err)
	}
}

func TestParseTrigger(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want Trigger
		err  bool
	}{
		{"", Trigger{}, false},
		{"12", Trigger{After: 12}, false},
		{"upload", Trigger{Op: "upload", Nth: 1}, false},
		{"upload#3", Trigger{Op: "upload", Nth: 3}, false},
		{"64:2", Trigger{Op: "64:2", Nth: 1}, false},
		{"0", Trigger{}, true},
		{"upload#0", Trigger{}, true},
		{"fly", Trigger{}, true},
		{"64:300", Trigger{}, true},
	}
	for _, tt := range tests {
		got, err := ParseTrigger(tt.in)
		if (err != nil) != tt.err || (!tt.err && got != tt.want) {
			t.Errorf("ParseTrigger(%q) = %+v, %v", tt.in, got, err)
		}
		if !tt.err && got.String() != strings.TrimSuffix(tt.in, "#1") {
			t.Errorf("Trigger(%q).String() = %q", tt.in, got.String())
		}
	}
}

func TestVerifyImage(t *testing.T) {
	t.Parallel()
	good := testImage(Version{Major: 1, Minor: 2, Revision: 3, Build: 4}, 100, 0)
	info, err := VerifyImage(good)
	if err != nil || info.Version.String() != "1.2.3.4" || info.Size != len(good) {
		t.Fatalf("VerifyImage(good) = %+v, %v", info, err)
	}
	for name, mutate := range map[string]func([]byte) []byte{
		"short":      func(b []byte) []byte { return b[:20] },
		"magic":      func(b []byte) []byte { b[3] ^= 1; return b },
		"truncated":  func(b []byte) []byte { return b[:len(b)-10] },
		"payload":    func(b []byte) []byte { b[40] ^= 1; return b },
		"tlv magic":  func(b []byte) []byte { b[ImageHeaderSize+100] ^= 1; return b },
		"huge image": func(b []byte) []byte { b[15] = 0x7f; return b },
	} {
		if _, err := VerifyImage(mutate(append([]byte(nil), good...))); !errors.Is(err, ErrImage) {
			t.Errorf("%s: %v, want ErrImage", name, err)
		}
	}
}
