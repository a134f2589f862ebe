package device

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/latchkey/latchkey/internal/smp"
)

// Options configures a [Unit]. Zero values take the defaults below; every
// timeout is an upper bound on one request, within the caller's context.
type Options struct {
	// Timeout bounds an ordinary request. Default 5 s.
	Timeout time.Duration
	// SlowTimeout bounds requests the unit may take long over: running
	// self-tests (a modem test waits for the network), burning a key,
	// decommissioning, erasing an image slot. Default 60 s.
	SlowTimeout time.Duration
	// FirstChunkTimeout bounds the first image upload chunk, during which
	// a unit erases the slot (Zephyr erases a whole slot there unless it
	// erases progressively). Default 60 s.
	FirstChunkTimeout time.Duration
	// ChunkTimeout bounds every later upload chunk. Default 5 s.
	ChunkTimeout time.Duration
	// ChunkRetries is how many times an upload or countersign chunk that
	// got no answer is sent again before the upload fails. Chunks carry
	// their offset, so sending one twice is harmless. Default 2; negative
	// means none.
	ChunkRetries int
	// Retries is how many times a request that is safe to repeat (see
	// [RepeatOf]: reads, and writes whose second arrival changes nothing)
	// is sent again, with a fresh sequence number, when no answer came
	// within its timeout; a request may so take its timeout × (Retries+1).
	// A typed error from the unit is never retried. Default 2; negative
	// means none.
	Retries int
	// RetryBackoff is the pause before each resend. Default 100 ms;
	// negative means none.
	RetryBackoff time.Duration
	// Reconnect, if set, is called when the link dropped (smp.ErrDisconnected)
	// under a request that is safe to repeat: it waits for the port to come
	// back and returns a client on it, which the Unit uses from then on, and
	// the request is sent again. dead is the client that failed, so a link
	// another request already reopened is not reopened twice. Nil means a
	// dropped link fails the request.
	Reconnect func(ctx context.Context, dead *smp.Client) (*smp.Client, error)
	// Log receives a debug line for each resend and reconnect; nil
	// discards them.
	Log *slog.Logger
}

func (o Options) withDefaults() Options {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.Timeout, 5*time.Second)
	def(&o.SlowTimeout, 60*time.Second)
	def(&o.FirstChunkTimeout, 60*time.Second)
	def(&o.ChunkTimeout, 5*time.Second)
	count := func(n *int) {
		switch {
		case *n == 0:
			*n = 2
		case *n < 0:
			*n = 0
		}
	}
	count(&o.ChunkRetries)
	count(&o.Retries)
	switch {
	case o.RetryBackoff == 0:
		o.RetryBackoff = 100 * time.Millisecond
	case o.RetryBackoff < 0:
		o.RetryBackoff = 0
	}
	return o
}

// Unit is a latchkey unit (or any SMP device, for the standard calls) at the
// other end of an smp.Client. It is safe for concurrent use, though a unit
// handles one upload or countersign session at a time.
type Unit struct {
	// c is replaced only by a reconnect under a request that is safe to
	// repeat, never while an upload or countersign session runs (their
	// chunks are not such requests); read it with client() elsewhere.
	c    *smp.Client
	opts Options

	mu     sync.Mutex
	params *smp.Params
}

// client returns the client requests go through now.
func (u *Unit) client() *smp.Client {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.c
}

// retrier returns the wrapper a request with policy rp goes through.
func (u *Unit) retrier(rp Repeat) retrier {
	if rp != RepeatSafe {
		return retrier{}
	}
	r := retrier{retries: u.opts.Retries, backoff: u.opts.RetryBackoff, log: u.opts.Log}
	if u.opts.Reconnect != nil {
		r.reconnect = u.reconnect
	}
	return r
}

// reconnect swaps in the client Options.Reconnect returns for the one that
// dropped. The new link may lead to another firmware (a reset), so the
// cached parameters go.
func (u *Unit) reconnect(ctx context.Context) error {
	dead := u.client()
	c, err := u.opts.Reconnect(ctx, dead)
	if err != nil {
		return err
	}
	u.mu.Lock()
	u.c, u.params = c, nil
	u.mu.Unlock()
	return nil
}

// New returns a Unit that talks through c. The caller keeps ownership of c.
func New(c *smp.Client, opts Options) *Unit {
	return &Unit{c: c, opts: opts.withDefaults()}
}

// call sends one request with timeout d and returns the response body.
// Group-64 requests go as SMP version 2, so group errors come back as
// {"err": {"group": 64, "rc": N}}; the standard groups go as version 1,
// which every MCUmgr server speaks.
//
// Whether a request that got no answer is sent again is the command's
// [RepeatOf] policy; callRepeat decides it per request instead.
func (u *Unit) call(ctx context.Context, d time.Duration, op smp.Op, group uint16, id uint8, body any) ([]byte, error) {
	return u.callRepeat(ctx, RepeatOf(group, id, op), d, op, group, id, body)
}

func (u *Unit) callRepeat(ctx context.Context, rp Repeat, d time.Duration, op smp.Op, group uint16, id uint8, body any) ([]byte, error) {
	ver := smp.V1
	if group == GroupLatchkey {
		ver = smp.V2
	}
	req := smp.Request{Op: op, Group: group, ID: id, Version: ver, Body: body}
	var rsp smp.Response
	err := u.retrier(rp).do(ctx, d, group, id, func(ctx context.Context) (err error) {
		rsp, err = u.client().Do(ctx, req)
		return err
	})
	if err != nil {
		return nil, unitError(group, err)
	}
	return rsp.Body, nil
}

// Echo sends s to the unit's echo command and returns the unit's reply.
func (u *Unit) Echo(ctx context.Context, s string) (string, error) {
	var out string
	err := u.retrier(RepeatOf(smp.GroupOS, smp.OSEcho, smp.OpWrite)).do(ctx, u.opts.Timeout, smp.GroupOS, smp.OSEcho, func(ctx context.Context) (err error) {
		out, err = u.client().Echo(ctx, s)
		return err
	})
	return out, err
}

// Params returns the unit's MCUmgr parameters, read once and then cached,
// and raises the client's requests in flight to the unit's buf_count. A
// device without the parameters command (ENOTSUP) is taken to have Zephyr's
// defaults, buf_size 384 and buf_count 1, as Zephyr clients do.
func (u *Unit) Params(ctx context.Context) (smp.Params, error) {
	u.mu.Lock()
	if u.params != nil {
		p := *u.params
		u.mu.Unlock()
		return p, nil
	}
	u.mu.Unlock()
	var p smp.Params
	err := u.retrier(RepeatOf(smp.GroupOS, smp.OSParams, smp.OpRead)).do(ctx, u.opts.Timeout, smp.GroupOS, smp.OSParams, func(ctx context.Context) (err error) {
		p, err = u.client().Params(ctx)
		return err
	})
	switch {
	case errors.Is(err, smp.MgmtNotSup):
		p = smp.Params{BufSize: smp.DefaultBufSize, BufCount: 1}
	case err != nil:
		return smp.Params{}, err
	}
	u.mu.Lock()
	u.params = &p
	c := u.c
	u.mu.Unlock()
	c.SetMaxInFlight(int(p.BufCount))
	return p, nil
}

// OSInfo returns the unit's OS/application information for format (Zephyr
// "uname" letters, e.g. "a" for all; "" lets the unit choose).
func (u *Unit) OSInfo(ctx context.Context, format string) (string, error) {
	body, err := u.call(ctx, u.opts.Timeout, smp.OpRead, smp.GroupOS, smp.OSInfo, OSInfoRequest{Format: format})
	if err != nil {
		return "", fmt.Errorf("os info: %w", err)
	}
	out, err := decodeOSInfo(body)
	if err != nil {
		return "", fmt.Errorf("os info: %w", err)
	}
	return out, nil
}

// dateTimeLayouts are the forms of Zephyr's "yyyy-MM-dd'T'HH:mm:ss.SSSSSSZZZZZ"
// seen in practice: with or without fraction and zone.
var dateTimeLayouts = []string{
	"2006-01-02T15:04:05.999999999Z07:00",
	"2006-01-02T15:04:05.999999999",
}

// DateTime returns the unit's clock. A clock without a zone is taken as
// UTC, which latchkey units keep (docs/protocol.md).
func (u *Unit) DateTime(ctx context.Context) (time.Time, error) {
	body, err := u.call(ctx, u.opts.Timeout, smp.OpRead, smp.GroupOS, smp.OSDateTime, nil)
	if err != nil {
		return time.Time{}, fmt.Errorf("read unit clock: %w", err)
	}
	s, err := decodeDateTime(body)
	if err != nil {
		return time.Time{}, fmt.Errorf("read unit clock: %w", err)
	}
	for _, l := range dateTimeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("read unit clock: %w", protoErr("date-time %q is not in the SMP format", s))
}

// SetDateTime sets the unit's clock to t, sent as UTC without a zone
// (Zephyr's parser accepts that form in every version).
func (u *Unit) SetDateTime(ctx context.Context, t time.Time) error {
	req := DateTime{DateTime: t.UTC().Format("2006-01-02T15:04:05.000000")}
	if _, err := u.call(ctx, u.opts.Timeout, smp.OpWrite, smp.GroupOS, smp.OSDateTime, req); err != nil {
		return fmt.Errorf("set unit clock: %w", err)
	}
	return nil
}

// Reset asks the unit to restart. force overrides a unit that refused with
// EBUSY. The unit answers before it restarts; the link then drops, so the
// caller should expect the client to fail with smp.ErrDisconnected.
func (u *Unit) Reset(ctx context.Context, force bool) error {
	var req ResetRequest
	if force {
		req.Force = 1
	}
	if _, err := u.call(ctx, u.opts.Timeout, smp.OpWrite, smp.GroupOS, smp.OSReset, req); err != nil {
		return fmt.Errorf("reset: %w", err)
	}
	u.mu.Lock()
	u.params = nil // new firmware may advertise other parameters
	u.mu.Unlock()
	return nil
}

// ImageState lists the images the unit holds.
func (u *Unit) ImageState(ctx context.Context) ([]ImageSlot, error) {
	body, err := u.call(ctx, u.opts.Timeout, smp.OpRead, GroupImage, ImgState, nil)
	if err != nil {
		return nil, fmt.Errorf("read image state: %w", err)
	}
	s, err := decodeImageState(body)
	if err != nil {
		return nil, fmt.Errorf("read image state: %w", err)
	}
	return s, nil
}

// ImageTest marks the image with hash (its MCUboot SHA-256) to be tried on
// the next reset; it reverts unless confirmed after that reset.
func (u *Unit) ImageTest(ctx context.Context, hash []byte) ([]ImageSlot, error) {
	if len(hash) == 0 {
		return nil, errors.New("test image: no image hash given")
	}
	return u.setImageState(ctx, ImageStateRequest{Hash: hash}, "test image")
}

// ImageConfirm makes an image permanent: the one with hash, or the running
// image if hash is nil.
func (u *Unit) ImageConfirm(ctx context.Context, hash []byte) ([]ImageSlot, error) {
	return u.setImageState(ctx, ImageStateRequest{Hash: hash, Confirm: true}, "confirm image")
}

func (u *Unit) setImageState(ctx context.Context, req ImageStateRequest, what string) ([]ImageSlot, error) {
	// Marking an image named by its hash twice is marking it once; "the
	// running image" may be another one after a reset in between.
	rp := RepeatNever
	if len(req.Hash) > 0 {
		rp = RepeatSafe
	}
	body, err := u.callRepeat(ctx, rp, u.opts.Timeout, smp.OpWrite, GroupImage, ImgState, req)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	s, err := decodeImageState(body)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return s, nil
}

// ImageErase erases an image slot (slot 1, the secondary, when slot is 0
// as Zephyr's default).
func (u *Unit) ImageErase(ctx context.Context, slot uint32) error {
	if _, err := u.call(ctx, u.opts.SlowTimeout, smp.OpWrite, GroupImage, ImgErase, ImageEraseRequest{Slot: slot}); err != nil {
		return fmt.Errorf("erase image slot: %w", err)
	}
	return nil
}

// StatsList returns the names of the unit's statistics groups.
func (u *Unit) StatsList(ctx context.Context) ([]string, error) {
	body, err := u.call(ctx, u.opts.Timeout, smp.OpRead, GroupStats, StatsList, nil)
	if err != nil {
		return nil, fmt.Errorf("list statistics: %w", err)
	}
	l, err := decodeStatsList(body)
	if err != nil {
		return nil, fmt.Errorf("list statistics: %w", err)
	}
	return l, nil
}

// StatsRead returns the counters of one statistics group.
func (u *Unit) StatsRead(ctx context.Context, name string) (StatsGroup, error) {
	body, err := u.call(ctx, u.opts.Timeout, smp.OpRead, GroupStats, StatsRead, StatsReadRequest{Name: name})
	if err != nil {
		return StatsGroup{}, fmt.Errorf("read statistics %q: %w", name, err)
	}
	g, err := decodeStatsGroup(body)
	if err != nil {
		return StatsGroup{}, fmt.Errorf("read statistics %q: %w", name, err)
	}
	return g, nil
}

// SettingsRead returns the raw value of one setting.
func (u *Unit) SettingsRead(ctx context.Context, name string) ([]byte, error) {
	body, err := u.call(ctx, u.opts.Timeout, smp.OpRead, GroupSettings, SettingsReadWrite, SettingsReadRequest{Name: name})
	if err != nil {
		return nil, fmt.Errorf("read setting %q: %w", name, err)
	}
	v, err := decodeSettingsRead(body)
	if err != nil {
		return nil, fmt.Errorf("read setting %q: %w", name, err)
	}
	return v.Val, nil
}

// SettingsWrite sets one setting to val.
func (u *Unit) SettingsWrite(ctx context.Context, name string, val []byte) error {
	if strings.TrimSpace(name) == "" {
		return errors.New("write setting: no name given")
	}
	if _, err := u.call(ctx, u.opts.Timeout, smp.OpWrite, GroupSettings, SettingsReadWrite, SettingsWriteRequest{Name: name, Val: val}); err != nil {
		return fmt.Errorf("write setting %q: %w", name, err)
	}
	return nil
}
