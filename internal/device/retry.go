package device

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/latchkey/latchkey/internal/smp"
)

// This file is the retry wrapper of STYLE.md ("retry and journaling are
// wrappers, not branches inside the client"): smp.Client sends each request
// once; a request that is safe to repeat goes through a retrier, which sends
// it again, with a fresh sequence number, when no answer came in time, and
// (with Options.Reconnect, the command line's --wait) after the link
// dropped and came back.

// Repeat says whether a request may be sent again when its answer did not
// come: only when the unit doing it twice is the same as doing it once.
type Repeat uint8

const (
	// RepeatNever marks a request the unit must not get twice: a reset, a
	// self-test run (it may pulse the door relay), a burn, an attestation
	// (its nonce is refused the second time), a decommission.
	RepeatNever Repeat = iota
	// RepeatSafe marks a read, or a write whose second arrival changes
	// nothing (docs/protocol.md 4.1 "safe to repeat").
	RepeatSafe
	// RepeatByCaller marks a request whose caller resends it itself, from
	// the offset the unit reports: image upload and countersign chunks
	// (Options.ChunkRetries).
	RepeatByCaller
)

// command is one (group, command id, op) of the protocol.
type command struct {
	group uint16
	id    uint8
	op    smp.Op
}

// repeatPolicy is docs/protocol.md 4.1's "safe to repeat" column for group
// 64 and the same judgement for the standard groups. A command not listed
// is never repeated.
var repeatPolicy = map[command]Repeat{
	{smp.GroupOS, smp.OSEcho, smp.OpWrite}:     RepeatSafe,
	{smp.GroupOS, smp.OSDateTime, smp.OpRead}:  RepeatSafe,
	{smp.GroupOS, smp.OSDateTime, smp.OpWrite}: RepeatSafe, // sets the same absolute time again
	{smp.GroupOS, smp.OSReset, smp.OpWrite}:    RepeatNever,
	{smp.GroupOS, smp.OSParams, smp.OpRead}:    RepeatSafe,
	{smp.GroupOS, smp.OSInfo, smp.OpRead}:      RepeatSafe,
	{GroupImage, ImgState, smp.OpRead}:         RepeatSafe,
	// Image state writes name the image by hash and are repeatable then;
	// confirming "the running image" is not, as a reset in between may
	// have changed which image runs (Unit.setImageState decides).
	{GroupImage, ImgState, smp.OpWrite}:             RepeatNever,
	{GroupImage, ImgUpload, smp.OpWrite}:            RepeatByCaller,
	{GroupImage, ImgErase, smp.OpWrite}:             RepeatSafe,
	{GroupStats, StatsList, smp.OpRead}:             RepeatSafe,
	{GroupStats, StatsRead, smp.OpRead}:             RepeatSafe,
	{GroupSettings, SettingsReadWrite, smp.OpRead}:  RepeatSafe,
	{GroupSettings, SettingsReadWrite, smp.OpWrite}: RepeatSafe, // the same value again

	{GroupLatchkey, CmdIdentity, smp.OpRead}:      RepeatSafe,
	{GroupLatchkey, CmdAttest, smp.OpRead}:        RepeatNever,
	{GroupLatchkey, CmdCert, smp.OpRead}:          RepeatSafe,
	{GroupLatchkey, CmdStatus, smp.OpRead}:        RepeatSafe,
	{GroupLatchkey, CmdSelfTests, smp.OpRead}:     RepeatSafe,
	{GroupLatchkey, CmdSelfTests, smp.OpWrite}:    RepeatNever,
	{GroupLatchkey, CmdSlots, smp.OpRead}:         RepeatSafe,
	{GroupLatchkey, CmdBurn, smp.OpWrite}:         RepeatNever,
	{GroupLatchkey, CmdReceipt, smp.OpRead}:       RepeatSafe,
	{GroupLatchkey, CmdEvents, smp.OpRead}:        RepeatSafe,
	{GroupLatchkey, CmdCountersign, smp.OpWrite}:  RepeatByCaller,
	{GroupLatchkey, CmdDoor, smp.OpRead}:          RepeatSafe,
	{GroupLatchkey, CmdDoor, smp.OpWrite}:         RepeatSafe,
	{GroupLatchkey, CmdDecommission, smp.OpRead}:  RepeatSafe, // a new token each time; the last one answered is used
	{GroupLatchkey, CmdDecommission, smp.OpWrite}: RepeatNever,
}

// RepeatOf returns whether a request to group and id with op is resent
// when no answer comes (see [Repeat]).
func RepeatOf(group uint16, id uint8, op smp.Op) Repeat {
	return repeatPolicy[command{group, id, op}]
}

// maxReconnects bounds how often one request rides out a dropped link, so
// a flapping cable ends in an error rather than a loop.
const maxReconnects = 3

// AttemptsError is a request that got no answer however often it was sent.
// It wraps the last attempt's *smp.TimeoutError, so it matches
// smp.ErrTimeout and context.DeadlineExceeded.
type AttemptsError struct {
	Group    uint16
	ID       uint8
	Attempts int
	Timeout  time.Duration // each attempt's
	Err      error
}

func (e *AttemptsError) Error() string {
	return fmt.Sprintf("no answer to group %d command %d after %d attempts (%s each)", e.Group, e.ID, e.Attempts, e.Timeout)
}

func (e *AttemptsError) Unwrap() error { return e.Err }

// retrier sends one request through attempt, again after a timeout while
// attempts are left, and again after a dropped link once reconnect brought
// it back. Typed answers of the unit (an SMP or group-64 error) are final.
type retrier struct {
	retries   int           // resends after a timeout; 0 means none
	backoff   time.Duration // pause before a resend
	log       *slog.Logger
	reconnect func(ctx context.Context) error // nil: a dropped link is final
}

// do runs attempt, each time within timeout of its own (and ctx). group
// and id name the request in log lines and errors.
func (r retrier) do(ctx context.Context, timeout time.Duration, group uint16, id uint8, attempt func(ctx context.Context) error) error {
	attempts, reconnects := 0, 0
	for {
		actx, cancel := context.WithTimeout(ctx, timeout)
		err := attempt(actx)
		cancel()
		attempts++
		switch {
		case err == nil:
			return nil
		case ctx.Err() != nil:
			return err
		case errors.Is(err, smp.ErrTimeout):
			if attempts > r.retries {
				if attempts == 1 {
					return err
				}
				return &AttemptsError{Group: group, ID: id, Attempts: attempts, Timeout: timeout, Err: err}
			}
			r.logf("no answer, sending again", group, id, attempts, err)
		case errors.Is(err, smp.ErrDisconnected) && r.reconnect != nil && reconnects < maxReconnects:
			reconnects++
			r.logf("link dropped, reconnecting", group, id, attempts, err)
			if rerr := r.reconnect(ctx); rerr != nil {
				return errors.Join(err, rerr)
			}
			attempts = 0 // a new link: the request has its full count again
			continue
		default:
			return err
		}
		if r.backoff > 0 {
			t := time.NewTimer(r.backoff)
			select {
			case <-ctx.Done():
				t.Stop()
				return err
			case <-t.C:
			}
		}
	}
}

func (r retrier) logf(msg string, group uint16, id uint8, attempt int, err error) {
	if r.log != nil {
		r.log.Debug(msg, "group", group, "command", id, "attempt", attempt, "err", err)
	}
}
