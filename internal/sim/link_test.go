package sim

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/serialport"
	"github.com/latchkey/latchkey/internal/smp"
)

// The tests here run the sim on a real pseudo-terminal and talk to it as
// latchkey does: serialport.Open on the link path and an smp.Client.

type harness struct {
	t     *testing.T
	unit  *Unit
	link  string
	ups   chan LinkInfo
	stop  context.CancelFunc
	done  chan error
	mu    sync.Mutex
	port  *serialport.Port
	cl    *smp.Client
	clOpt smp.ClientOptions
}

func startSim(t *testing.T, opts Options) *harness {
	t.Helper()
	if opts.Unit == nil {
		u, err := Open(Config{Seed: 1})
		if err != nil {
			t.Fatal(err)
		}
		opts.Unit = u
	}
	if opts.Link == "" {
		opts.Link = filepath.Join(t.TempDir(), "tty")
	}
	if opts.ResetDelay == 0 {
		opts.ResetDelay = 50 * time.Millisecond
	}
	h := &harness{t: t, unit: opts.Unit, link: opts.Link, ups: make(chan LinkInfo, 16), done: make(chan error, 1)}
	opts.OnLink = func(li LinkInfo) { h.ups <- li }
	ctx, cancel := context.WithCancel(context.Background())
	h.stop = cancel
	go func() { h.done <- Serve(ctx, opts) }()
	t.Cleanup(func() {
		h.disconnect()
		cancel()
		select {
		case err := <-h.done:
			if err != nil {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(3 * time.Second):
			t.Error("Serve did not return after its context ended")
		}
		if _, err := os.Lstat(h.link); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("link %s left behind after Serve (%v)", h.link, err)
		}
	})
	return h
}

// connect waits for the port's up-th appearance and opens a client on it.
func (h *harness) connect(up int) *smp.Client {
	h.t.Helper()
	for {
		select {
		case li := <-h.ups:
			if li.Up < up {
				continue
			}
			if li.Link != h.link {
				h.t.Fatalf("link %q, want %q", li.Link, h.link)
			}
			h.disconnect()
			p, err := serialport.Open(h.link, serialport.Options{})
			if err != nil {
				h.t.Fatalf("open %s: %v", h.link, err)
			}
			opts := h.clOpt
			if opts.Timeout == 0 {
				opts.Timeout = 2 * time.Second
			}
			c := smp.NewClient(p, opts)
			h.mu.Lock()
			h.port, h.cl = p, c
			h.mu.Unlock()
			return c
		case <-time.After(5 * time.Second):
			h.t.Fatalf("port did not come up a %d. time", up)
		}
	}
}

func (h *harness) disconnect() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.cl != nil {
		_ = h.cl.Close()
		_ = h.port.Close()
		h.cl, h.port = nil, nil
	}
}

type imageList struct {
	Images []struct {
		Slot      int    `cbor:"slot"`
		Version   string `cbor:"version"`
		Hash      []byte `cbor:"hash"`
		Pending   bool   `cbor:"pending"`
		Confirmed bool   `cbor:"confirmed"`
		Active    bool   `cbor:"active"`
		Permanent bool   `cbor:"permanent"`
	} `cbor:"images"`
}

// slots renders an image list compactly: "0:1.0.0 AC 1:2.0.0 P" (Active,
// Confirmed, Pending, permanent = T).
func (l imageList) String() string {
	var parts []string
	for _, im := range l.Images {
		f := ""
		for _, x := range []struct {
			on bool
			c  string
		}{{im.Active, "A"}, {im.Confirmed, "C"}, {im.Pending, "P"}, {im.Permanent, "T"}} {
			if x.on {
				f += x.c
			}
		}
		parts = append(parts, strings.TrimSpace(string(rune('0'+im.Slot))+":"+im.Version+" "+f))
	}
	return strings.Join(parts, " ")
}

func readState(t *testing.T, c *smp.Client) imageList {
	t.Helper()
	rsp, err := c.Do(context.Background(), smp.Request{Op: smp.OpRead, Group: groupImage, ID: imgState})
	if err != nil {
		t.Fatalf("image state: %v", err)
	}
	var l imageList
	if err := rsp.Decode(&l); err != nil {
		t.Fatal(err)
	}
	return l
}

func writeState(c *smp.Client, hash []byte, confirm bool) error {
	body := map[string]any{"confirm": confirm}
	if hash != nil {
		body["hash"] = hash
	}
	_, err := c.Do(context.Background(), smp.Request{Op: smp.OpWrite, Group: groupImage, ID: imgState, Body: body})
	return err
}

func reset(t *testing.T, c *smp.Client) {
	t.Helper()
	if _, err := c.Do(context.Background(), smp.Request{Op: smp.OpWrite, Group: groupOS, ID: smp.OSReset}); err != nil {
		t.Fatalf("reset: %v", err)
	}
}

// uploadFrom sends img in chunks from offset start, following the offset
// the unit reports, and returns the offset reached. The first request
// (off 0) carries len and sha, as the spec asks of every off-0 request.
func uploadFrom(ctx context.Context, c *smp.Client, img []byte, chunk, start int) (int, error) {
	sum := sha256.Sum256(img)
	off := start
	for off < len(img) {
		n := min(chunk, len(img)-off)
		body := map[string]any{"off": off, "data": img[off : off+n]}
		if off == 0 {
			body["len"] = len(img)
			body["sha"] = sum[:]
		}
		rsp, err := c.Do(ctx, smp.Request{Op: smp.OpWrite, Group: groupImage, ID: imgUpload, Body: body})
		if err != nil {
			return off, err
		}
		var v struct {
			Off *int `cbor:"off"`
		}
		if err := rsp.Decode(&v); err != nil || v.Off == nil {
			return off, errors.New("upload response without off")
		}
		off = *v.Off
	}
	return off, nil
}

func testImage(v Version, n int, fill byte) []byte {
	p := bytes.Repeat([]byte{fill, fill + 1, fill + 2}, n/3+1)[:n]
	return BuildImage(v, p)
}

func imageHash(t *testing.T, img []byte) []byte {
	t.Helper()
	info, err := VerifyImage(img)
	if err != nil {
		t.Fatal(err)
	}
	return info.Hash
}

func TestEchoParamsAndOS(t *testing.T) {
	t.Parallel()
	h := startSim(t, Options{})
	c := h.connect(1)
	ctx := context.Background()
	if r, err := c.Echo(ctx, "hello unit"); err != nil || r != "hello unit" {
		t.Fatalf("Echo = %q, %v", r, err)
	}
	p, err := c.Params(ctx)
	if err != nil || p.BufSize != DefaultBufSize || p.BufCount != DefaultBufCount {
		t.Fatalf("Params = %+v, %v; want 2048/4", p, err)
	}

	rsp, err := c.Do(ctx, smp.Request{Op: smp.OpRead, Group: groupOS, ID: smp.OSInfo, Body: map[string]string{"format": "sv"}})
	if err != nil {
		t.Fatal(err)
	}
	var info struct {
		Output string `cbor:"output"`
	}
	if err := rsp.Decode(&info); err != nil || info.Output != "Zephyr latchkey-1.0.0" {
		t.Errorf("info sv = %q, %v", info.Output, err)
	}
	_, err = c.Do(ctx, smp.Request{Op: smp.OpRead, Group: groupOS, ID: smp.OSInfo, Version: smp.V2, Body: map[string]string{"format": "sq"}})
	if want := (&smp.Error{Version: smp.V2, Group: groupOS, RC: osErrInvalidFormat}); !errors.Is(err, want) {
		t.Errorf("info with a bad format: %v, want %v", err, want)
	}

	set := "2031-05-06T07:08:09.000000+00:00"
	if _, err := c.Do(ctx, smp.Request{Op: smp.OpWrite, Group: groupOS, ID: smp.OSDateTime, Body: map[string]string{"datetime": set}}); err != nil {
		t.Fatal(err)
	}
	rsp, err = c.Do(ctx, smp.Request{Op: smp.OpRead, Group: groupOS, ID: smp.OSDateTime})
	if err != nil {
		t.Fatal(err)
	}
	var dt struct {
		DateTime string `cbor:"datetime"`
	}
	if err := rsp.Decode(&dt); err != nil || !strings.HasPrefix(dt.DateTime, "2031-05-06T07:08") {
		t.Errorf("datetime = %q, %v", dt.DateTime, err)
	}

	rsp, err = c.Do(ctx, smp.Request{Op: smp.OpRead, Group: groupOS, ID: smp.OSTaskStats})
	if err != nil {
		t.Fatal(err)
	}
	var ts struct {
		Tasks map[string]map[string]uint64 `cbor:"tasks"`
	}
	if err := rsp.Decode(&ts); err != nil || len(ts.Tasks) < 3 || ts.Tasks["mcumgr"]["stksiz"] == 0 {
		t.Errorf("task stats = %v, %v", ts.Tasks, err)
	}

	// A request larger than buf_size is answered EMSGSIZE, not dropped.
	_, err = c.Do(ctx, smp.Request{Op: smp.OpWrite, Group: groupOS, ID: smp.OSEcho, Body: map[string]string{"d": strings.Repeat("x", 3000)}})
	if !errors.Is(err, smp.MgmtMsgSize) {
		t.Errorf("oversized echo: %v, want EMSGSIZE", err)
	}
	if r, err := c.Echo(ctx, "still here"); err != nil || r != "still here" {
		t.Fatalf("Echo after an oversized request = %q, %v", r, err)
	}
}

// An image goes through upload, test, reset (swap), reset (revert), test
// again, reset, confirm, reset: MCUboot's swap-with-revert life cycle.
func TestImageLifeCycle(t *testing.T) {
	t.Parallel()
	h := startSim(t, Options{})
	c := h.connect(1)
	ctx := context.Background()
	if got := readState(t, c).String(); got != "0:1.0.0 AC" {
		t.Fatalf("factory state %q", got)
	}
	img := testImage(Version{Major: 2, Minor: 1, Revision: 3}, 10000, 7)
	hash := imageHash(t, img)
	if off, err := uploadFrom(ctx, c, img, 1500, 0); err != nil || off != len(img) {
		t.Fatalf("upload: off %d, %v", off, err)
	}
	if got := readState(t, c).String(); got != "0:1.0.0 AC 1:2.1.3" {
		t.Fatalf("after upload %q", got)
	}
	if err := writeState(c, hash, false); err != nil {
		t.Fatal(err)
	}
	if got := readState(t, c).String(); got != "0:1.0.0 AC 1:2.1.3 P" {
		t.Fatalf("after test %q", got)
	}
	reset(t, c)
	c = h.connect(2)
	if got := readState(t, c).String(); got != "0:2.1.3 A 1:1.0.0 C" {
		t.Fatalf("after the test swap %q, want the new image active and unconfirmed", got)
	}
	reset(t, c)
	c = h.connect(3)
	if got := readState(t, c).String(); got != "0:1.0.0 AC 1:2.1.3" {
		t.Fatalf("after the revert %q", got)
	}
	if err := writeState(c, hash, false); err != nil {
		t.Fatal(err)
	}
	reset(t, c)
	c = h.connect(4)
	if err := writeState(c, nil, true); err != nil {
		t.Fatalf("confirm: %v", err)
	}
	if got := readState(t, c).String(); got != "0:2.1.3 AC 1:1.0.0" {
		t.Fatalf("after confirm %q", got)
	}
	reset(t, c)
	c = h.connect(5)
	if got := readState(t, c).String(); got != "0:2.1.3 AC 1:1.0.0" {
		t.Fatalf("a confirmed image must stay: %q", got)
	}
	// Testing the running image is refused.
	if err := writeState(c, hash, false); err == nil {
		t.Error("test of the active image was accepted")
	}
}

func TestUploadResumesAfterCablePull(t *testing.T) {
	t.Parallel()
	h := startSim(t, Options{Faults: Faults{Pull: Trigger{Op: "upload", Nth: 3}, PullFor: 100 * time.Millisecond}})
	h.clOpt.Timeout = time.Second
	c := h.connect(1)
	img := testImage(Version{Major: 3}, 6000, 1)
	const chunk = 1000
	off, err := uploadFrom(context.Background(), c, img, chunk, 0)
	if err == nil {
		t.Fatalf("upload finished (off %d) through a pulled cable", off)
	}
	if off != 2*chunk {
		t.Fatalf("client saw offset %d when the cable went, want %d", off, 2*chunk)
	}
	c = h.connect(2)
	// Start again as a client does after reconnecting: off 0 with len and
	// sha. The unit answers with its own offset: the third chunk reached
	// flash before the cable went.
	sum := sha256.Sum256(img)
	rsp, err := c.Do(context.Background(), smp.Request{Op: smp.OpWrite, Group: groupImage, ID: imgUpload,
		Body: map[string]any{"off": 0, "len": len(img), "sha": sum[:], "data": img[:chunk]}})
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		Off int `cbor:"off"`
	}
	if err := rsp.Decode(&v); err != nil || v.Off != 3*chunk {
		t.Fatalf("resume offset %d (%v), want %d", v.Off, err, 3*chunk)
	}
	if off, err := uploadFrom(context.Background(), c, img, chunk, v.Off); err != nil || off != len(img) {
		t.Fatalf("resumed upload: off %d, %v", off, err)
	}
	if got := readState(t, c).String(); got != "0:1.0.0 AC 1:3.0.0" {
		t.Fatalf("after resumed upload %q", got)
	}
}

func TestCorruptImageRefused(t *testing.T) {
	t.Parallel()
	h := startSim(t, Options{})
	c := h.connect(1)
	img := testImage(Version{Major: 4}, 3000, 9)
	img[ImageHeaderSize+100] ^= 0xff // payload no longer matches the TLV
	_, err := uploadFrom(context.Background(), c, img, 1000, 0)
	if !errors.Is(err, smp.MgmtInval) {
		t.Fatalf("upload of a corrupt image: %v, want EINVAL (IMG_MGMT_ERR_INVALID_HASH, translated)", err)
	}
	if got := readState(t, c).String(); got != "0:1.0.0 AC" {
		t.Fatalf("a refused image is listed: %q", got)
	}
	// The same with SMP version 2 shows the group error.
	good := testImage(Version{Major: 4}, 3000, 9)
	bad := append([]byte(nil), good...)
	bad[0] ^= 1
	_, err = c.Do(context.Background(), smp.Request{Op: smp.OpWrite, Version: smp.V2, Group: groupImage, ID: imgUpload,
		Body: map[string]any{"off": 0, "len": len(bad), "data": bad[:500]}})
	if want := (&smp.Error{Version: smp.V2, Group: groupImage, RC: imgErrInvalidImageHeaderMagic}); !errors.Is(err, want) {
		t.Fatalf("bad magic: %v, want %v", err, want)
	}
	// And a good image still goes in afterwards.
	if off, err := uploadFrom(context.Background(), c, good, 1000, 0); err != nil || off != len(good) {
		t.Fatalf("good upload after refusals: %d, %v", off, err)
	}
}

// retry repeats fn with a short timeout until it succeeds, as a client on
// a noisy line does.
func retry[T any](t *testing.T, tries int, fn func(ctx context.Context) (T, error)) T {
	t.Helper()
	var err error
	for range tries {
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		var v T
		v, err = fn(ctx)
		cancel()
		if err == nil {
			return v
		}
	}
	t.Fatalf("no good answer in %d tries: %v", tries, err)
	var zero T
	return zero
}

func TestNoiseDropsAndChatter(t *testing.T) {
	t.Parallel()
	h := startSim(t, Options{Seed: 7, Faults: Faults{Noise: 0.001, Drop: 0.001, Chatter: 0.5, ChatterEvery: 20 * time.Millisecond}})
	c := h.connect(1)
	for i := range 15 {
		want := strings.Repeat(string(rune('a'+i)), 20+i)
		got := retry(t, 30, func(ctx context.Context) (string, error) { return c.Echo(ctx, want) })
		if got != want {
			t.Fatalf("echo %d = %q, want %q", i, got, want)
		}
	}
	p := retry(t, 30, func(ctx context.Context) (smp.Params, error) { return c.Params(ctx) })
	if p.BufSize != DefaultBufSize {
		t.Fatalf("params %+v", p)
	}
	st := c.Stats()
	if st.Decoder.Discards == 0 {
		t.Errorf("client saw no chatter or damage: %+v", st)
	}
	t.Logf("client stats: %+v", st)
}

func TestBaudPacing(t *testing.T) {
	t.Parallel()
	const baud = 57600
	h := startSim(t, Options{Baud: baud})
	c := h.connect(1)
	img := testImage(Version{Major: 5}, 4096-ImageHeaderSize-40, 3)
	start := time.Now()
	if off, err := uploadFrom(context.Background(), c, img, 1800, 0); err != nil || off != len(img) {
		t.Fatalf("upload: %d, %v", off, err)
	}
	took := time.Since(start)
	// The payload alone is 4 KiB on the line; framing only adds to it.
	min := time.Duration(len(img)) * 10 * time.Second / baud
	if took < min {
		t.Fatalf("4 KiB at %d baud took %v, a UART needs at least %v", baud, took, min)
	}
	t.Logf("%d bytes at %d baud: %v (line minimum %v)", len(img), baud, took, min)
}

func TestStallAndReboot(t *testing.T) {
	t.Parallel()
	h := startSim(t, Options{Faults: Faults{
		Stall: Trigger{Op: "echo", Nth: 2}, StallFor: 300 * time.Millisecond,
		Reboot: Trigger{After: 5},
	}})
	c := h.connect(1)
	ctx := context.Background()
	if _, err := c.Echo(ctx, "one"); err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 150*time.Millisecond)
	_, err := c.Echo(short, "two")
	cancel()
	if !errors.Is(err, smp.ErrTimeout) {
		t.Fatalf("echo during a stall: %v, want a timeout", err)
	}
	time.Sleep(300 * time.Millisecond)
	if r, err := c.Echo(ctx, "three"); err != nil || r != "three" {
		t.Fatalf("echo after the stall: %q, %v", r, err)
	}
	// Request 4 is answered; request 5 reboots the unit unanswered.
	if _, err := c.Echo(ctx, "four"); err != nil {
		t.Fatal(err)
	}
	short, cancel = context.WithTimeout(ctx, time.Second)
	_, err = c.Echo(short, "five")
	cancel()
	if err == nil {
		t.Fatal("request 5 was answered through a reboot")
	}
	c = h.connect(2)
	if r, err := c.Echo(ctx, "after"); err != nil || r != "after" {
		t.Fatalf("echo after reboot: %q, %v", r, err)
	}
}

func TestCablePullAfterBytes(t *testing.T) {
	t.Parallel()
	h := startSim(t, Options{Faults: Faults{PullAfterBytes: 300, PullFor: 50 * time.Millisecond}})
	c := h.connect(1)
	// Each echo puts about 120 bytes on the line; a timeout under load is
	// no proof of a pull, so go on until the port itself is gone.
	var err error
	for i := 0; i < 20 && !errors.Is(err, smp.ErrDisconnected); i++ {
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		_, err = c.Echo(ctx, strings.Repeat("z", 30))
		cancel()
	}
	if !errors.Is(err, smp.ErrDisconnected) {
		t.Fatalf("20 echoes through a cable pulled after 300 bytes; last error %v", err)
	}
	c = h.connect(2)
	if r, err := c.Echo(context.Background(), "back"); err != nil || r != "back" {
		t.Fatalf("echo after the cable came back: %q, %v", r, err)
	}
}

func TestLinkPath(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	regular := filepath.Join(dir, "file")
	if err := os.WriteFile(regular, []byte("keep"), 0o600); err != nil {
		t.Fatal(err)
	}
	u, _ := Open(Config{})
	err := Serve(context.Background(), Options{Unit: u, Link: regular})
	if err == nil || !strings.Contains(err.Error(), "not a symlink") {
		t.Fatalf("Serve over a regular file: %v", err)
	}
	if b, _ := os.ReadFile(regular); string(b) != "keep" {
		t.Fatal("the regular file was changed")
	}
	stale := filepath.Join(dir, "stale")
	if err := os.Symlink("/dev/pts/does-not-exist", stale); err != nil {
		t.Fatal(err)
	}
	h := startSim(t, Options{Link: stale})
	c := h.connect(1)
	if _, err := c.Echo(context.Background(), "x"); err != nil {
		t.Fatalf("echo through a replaced stale link: %v", err)
	}
}
