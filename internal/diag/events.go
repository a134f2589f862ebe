package diag

import (
	"context"
	"time"

	"github.com/latchkey/latchkey/internal/device"
)

// Event is one entry of a unit's event log in its stable JSON form.
type Event struct {
	Seq uint64 `json:"seq"`
	// Time is the unit's clock at the event in RFC 3339 UTC, "" when its
	// clock was not set.
	Time    string `json:"time,omitempty"`
	UptimeS uint64 `json:"uptime_s"`
	Kind    string `json:"kind"`
	Msg     string `json:"msg,omitempty"`
}

func eventOf(e device.Event) Event {
	out := Event{Seq: e.Seq, UptimeS: e.Up, Kind: e.Kind, Msg: e.Msg}
	if e.Time != 0 {
		out.Time = unixUTC(e.Time)
	}
	return out
}

// EventPage is what one read of the log returned: the events and the cursor
// to read from next time (`diag events --since NEXT`).
type EventPage struct {
	Events []Event `json:"events"`
	Next   uint64  `json:"next"`
	// Gap is true when the first event is later than the cursor asked
	// for while the cursor was not 0: the unit's log is a ring and older
	// events were overwritten before they were read.
	Gap bool `json:"gap,omitempty"`
}

// ReadEvents reads every event with sequence number since or later.
func ReadEvents(ctx context.Context, u Unit, since uint64) (EventPage, error) {
	evs, next, err := u.AllEvents(ctx, since, 0)
	page := EventPage{Events: make([]Event, 0, len(evs)), Next: next}
	for _, e := range evs {
		page.Events = append(page.Events, eventOf(e))
	}
	page.Gap = since > 0 && len(evs) > 0 && evs[0].Seq > since
	return page, err
}

// Follow reads the log from since, hands each batch of new events to fn,
// then polls every interval until ctx ends (then it returns nil) or a read
// or fn fails. The first batch is handed over even when empty, so a caller
// can print a header.
func Follow(ctx context.Context, u Unit, since uint64, interval time.Duration, fn func(EventPage) error) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	first := true
	for {
		page, err := ReadEvents(ctx, u, since)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			return err
		}
		if first || len(page.Events) > 0 {
			if err := fn(page); err != nil {
				return err
			}
		}
		first = false
		since = page.Next
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
