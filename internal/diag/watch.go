package diag

import (
	"context"
	"time"
)

// Snapshot is one refresh of `diag watch`.
type Snapshot struct {
	At     time.Time
	Report Report
	// Recent are the latest events, oldest first, at most the watcher's
	// keep count.
	Recent []Event
}

// Watcher reads snapshots of one unit, keeping an event cursor so each
// refresh reads only the events logged since the last.
type Watcher struct {
	u      Unit
	now    func() time.Time
	keep   int
	cursor uint64
	recent []Event
}

// NewWatcher returns a Watcher over u keeping the last keep events.
func NewWatcher(u Unit, now func() time.Time, keep int) *Watcher {
	return &Watcher{u: u, now: now, keep: keep}
}

// Next reads a snapshot. A failed event read is reported in the report's
// problems and the cursor stays, so the events come on a later refresh.
func (w *Watcher) Next(ctx context.Context) (Snapshot, error) {
	rep, err := Gather(ctx, w.u)
	if err != nil {
		return Snapshot{At: w.now()}, err
	}
	if rep.Latchkey && w.keep > 0 {
		page, err := ReadEvents(ctx, w.u, w.cursor)
		if err != nil {
			rep.Problems = append(rep.Problems, "events: "+err.Error())
		} else {
			w.cursor = page.Next
			w.recent = append(w.recent, page.Events...)
			if len(w.recent) > w.keep {
				w.recent = append([]Event(nil), w.recent[len(w.recent)-w.keep:]...)
			}
		}
	}
	return Snapshot{At: w.now(), Report: rep, Recent: append([]Event(nil), w.recent...)}, nil
}
