package notice

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// ErrHours is access hours that cannot be read as a weekly schedule.
var ErrHours = errors.New("access hours are not a schedule latchkey can set on a unit")

// Window is one weekly access window: Days a bit mask (bit 0 Monday to bit
// 6 Sunday), From and To minutes after local midnight, From < To.
type Window struct {
	Days     uint8
	From, To uint16
}

var dayCodes3 = []string{"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"}

// ParseHours reads access hours as the consent and the notice write them:
// "" or "24/7" (always: every day, all day), or rules separated by ";",
// each "[DAYS] TIMES", DAYS a comma list of days or day ranges ("Mo-Fr",
// "Sa", "Mon-Sat"), TIMES a comma list of "HH:MM-HH:MM" within one day. The
// unit enforces exactly these windows, so anything else is refused rather
// than guessed at.
func ParseHours(s string) ([]Window, error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "24/7" {
		return []Window{{Days: 0x7f, From: 0, To: 1440}}, nil
	}
	var out []Window
	for rule := range strings.SplitSeq(s, ";") {
		fields := strings.Fields(rule)
		var days uint8 = 0x7f
		var times string
		switch len(fields) {
		case 1:
			times = fields[0]
		case 2:
			d, err := parseDays(fields[0])
			if err != nil {
				return nil, fmt.Errorf("%w: %q: %v", ErrHours, s, err)
			}
			days, times = d, fields[1]
		default:
			return nil, fmt.Errorf("%w: %q: want DAYS HH:MM-HH:MM", ErrHours, strings.TrimSpace(rule))
		}
		for part := range strings.SplitSeq(times, ",") {
			from, to, ok := strings.Cut(part, "-")
			f, fok := minutes(from)
			t, tok := minutes(to)
			if !ok || !fok || !tok || f >= t {
				return nil, fmt.Errorf("%w: %q: want HH:MM-HH:MM with the start before the end (a window over midnight is two rules)", ErrHours, part)
			}
			out = append(out, Window{Days: days, From: f, To: t})
		}
	}
	return out, nil
}

func dayIndex(s string) int {
	if i := slices.Index(dayCodes, s); i >= 0 {
		return i
	}
	return slices.Index(dayCodes3, s)
}

func parseDays(s string) (uint8, error) {
	var mask uint8
	for part := range strings.SplitSeq(s, ",") {
		from, to, isRange := strings.Cut(part, "-")
		i := dayIndex(from)
		if i < 0 {
			return 0, fmt.Errorf("unknown day %q (Mo Tu We Th Fr Sa Su)", from)
		}
		j := i
		if isRange {
			if j = dayIndex(to); j < 0 {
				return 0, fmt.Errorf("unknown day %q (Mo Tu We Th Fr Sa Su)", to)
			}
		}
		for k := i; ; k = (k + 1) % 7 {
			mask |= 1 << k
			if k == j {
				break
			}
		}
	}
	return mask, nil
}

func minutes(s string) (uint16, bool) {
	if !clock(s) {
		return 0, false
	}
	h, _ := strconv.Atoi(s[:2])
	m, _ := strconv.Atoi(s[3:])
	return uint16(h*60 + m), true
}
