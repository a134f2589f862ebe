package notice

import (
	"testing"
	"time"
)

func TestCourierAllowed(t *testing.T) {
	t.Parallel()
	by := time.Date(2026, 12, 10, 0, 0, 0, 0, time.UTC)
	given := time.Date(2026, 11, 3, 14, 5, 0, 0, time.UTC)
	tests := []struct {
		name              string
		recorded          bool
		givenAt, noticeBy time.Time
		now               time.Time
		want              bool
		reason            string
	}{
		{"no record", false, time.Time{}, by, by.Add(time.Hour), false,
			"awaiting tenant notice: no notice recorded"},
		{"no record, even with a date", false, given, by, by.Add(48 * time.Hour), false,
			"awaiting tenant notice: no notice recorded"},
		{"record without given date", true, time.Time{}, by, by.Add(time.Hour), false,
			"awaiting tenant notice: the notice record has no date it was given"},
		{"record, before the date", true, given, by, by.Add(-time.Second), false,
			"tenant notice period runs until 2026-12-10"},
		{"record, before a date with a time", true, given, by.Add(9 * time.Hour), by, false,
			"tenant notice period runs until 2026-12-10 09:00 UTC"},
		{"record, on the date", true, given, by, by, true,
			"tenant notice given 2026-11-03 14:05 UTC; notice period ended 2026-12-10"},
		{"record, after the date", true, given, by, by.Add(30 * 24 * time.Hour), true,
			"tenant notice given 2026-11-03 14:05 UTC; notice period ended 2026-12-10"},
		{"given in the future", true, by.Add(72 * time.Hour), by, by.Add(time.Hour), false,
			"awaiting tenant notice: the notice is recorded as given 2026-12-13, which is still to come"},
		{"no notice date in the consent", true, given, time.Time{}, by, false,
			"awaiting tenant notice: the consent sets no tenant notice date"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ok, reason := CourierAllowed(tt.recorded, tt.givenAt, tt.noticeBy, tt.now)
			if ok != tt.want || reason != tt.reason {
				t.Errorf("CourierAllowed = %v, %q; want %v, %q", ok, reason, tt.want, tt.reason)
			}
		})
	}
}
