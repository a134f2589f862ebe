// Package humantime reads dates and times as people type them on the command
// line and in forms: calendar dates, local times, ages ("7d") and offsets
// ("+2w"). It is shared by the commands and the screens.
package humantime

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ParseTime reads a moment as people type it on the command line: RFC 3339
// ("2026-11-25T14:30:00+01:00"), "2026-11-25 14:30" or "2026-11-25" in local
// time, "now", or an age before now ("3d", "2w", "12h").
func ParseTime(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "now" {
		return now, nil
	}
	if d, ok := parseAge(s); ok {
		return now.Add(-d), nil
	}
	for _, layout := range []string{time.RFC3339, "2006-01-02 15:04", "2006-01-02T15:04", "2006-01-02"} {
		loc := now.Location()
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a time: use 2026-11-25, '2026-11-25 14:30', RFC 3339, or an age like 7d", s)
}

// ParseDate reads a calendar date: "2026-12-01", "today", "tomorrow", or a
// number of days or weeks ahead ("+3d", "+2w"). It returns YYYY-MM-DD.
func ParseDate(s string, now time.Time) (string, error) {
	s = strings.TrimSpace(s)
	switch s {
	case "":
		return "", nil
	case "today":
		return now.Format("2006-01-02"), nil
	case "tomorrow":
		return now.AddDate(0, 0, 1).Format("2006-01-02"), nil
	}
	if strings.HasPrefix(s, "+") && len(s) > 2 {
		n, err := strconv.Atoi(s[1 : len(s)-1])
		if err == nil && n >= 0 && n <= 3650 {
			switch s[len(s)-1] {
			case 'd':
				return now.AddDate(0, 0, n).Format("2006-01-02"), nil
			case 'w':
				return now.AddDate(0, 0, 7*n).Format("2006-01-02"), nil
			}
		}
	}
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		return "", fmt.Errorf("%q is not a date: use 2026-12-01, today, tomorrow, +3d or +2w", s)
	}
	return t.Format("2006-01-02"), nil
}

// EndOfDay turns a date-only --until into the start of the next day, so the
// whole day is included.
func EndOfDay(s string, t time.Time) time.Time {
	if _, err := time.Parse("2006-01-02", strings.TrimSpace(s)); err == nil {
		return t.AddDate(0, 0, 1)
	}
	return t
}

func parseAge(s string) (time.Duration, bool) {
	if len(s) < 2 {
		return 0, false
	}
	n, err := strconv.Atoi(s[:len(s)-1])
	if err != nil || n < 0 {
		return 0, false
	}
	switch s[len(s)-1] {
	case 'h':
		return time.Duration(n) * time.Hour, true
	case 'd':
		return time.Duration(n) * 24 * time.Hour, true
	case 'w':
		return time.Duration(n) * 7 * 24 * time.Hour, true
	}
	return 0, false
}
