package notice

import (
	"fmt"
	"time"
)

// CourierAllowed is the courier gate: whether couriers may open a unit's
// doors now. The laptop applies it before it writes a door configuration
// with courier access on, and the back office before it lets `hub` enable
// courier access; both call this one function so they agree.
//
// Couriers are allowed only when all of these hold:
//
//   - a notice record exists for the unit (noticeRecorded);
//   - the notice was given: its given_at is set and not after now;
//   - the consent's "tenant notice by" date (noticeBy) is set and has
//     passed: now is at or after it.
//
// Otherwise the answer is false, with the reason in plain words for the
// installer and for `hub units list` ("awaiting tenant notice: no notice
// recorded", "tenant notice period runs until 2026-12-10"). A missing date
// counts as not passed: the gate fails closed. When allowed, the reason says
// why, for the audit trail.
func CourierAllowed(noticeRecorded bool, noticeGivenAt, noticeBy, now time.Time) (bool, string) {
	switch {
	case !noticeRecorded:
		return false, "awaiting tenant notice: no notice recorded"
	case noticeGivenAt.IsZero():
		return false, "awaiting tenant notice: the notice record has no date it was given"
	case noticeGivenAt.After(now):
		return false, fmt.Sprintf("awaiting tenant notice: the notice is recorded as given %s, which is still to come",
			stamp(noticeGivenAt))
	case noticeBy.IsZero():
		return false, "awaiting tenant notice: the consent sets no tenant notice date"
	case now.Before(noticeBy):
		return false, fmt.Sprintf("tenant notice period runs until %s", stamp(noticeBy))
	}
	return true, fmt.Sprintf("tenant notice given %s; notice period ended %s", stamp(noticeGivenAt), stamp(noticeBy))
}

// stamp prints t as a date when it is midnight in its own location (a
// "by" date is usually a day), else as a date and time with its zone.
func stamp(t time.Time) string {
	if h, m, s := t.Clock(); h == 0 && m == 0 && s == 0 && t.Nanosecond() == 0 {
		return t.Format(time.DateOnly)
	}
	return t.Format("2006-01-02 15:04 MST")
}
