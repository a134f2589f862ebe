package notice

import (
	"errors"
	"reflect"
	"testing"
)

func TestParseHours(t *testing.T) {
	tests := []struct {
		in   string
		want []Window
	}{
		{"", []Window{{0x7f, 0, 1440}}},
		{"24/7", []Window{{0x7f, 0, 1440}}},
		{"Mo-Fr 08:00-20:00", []Window{{0x1f, 480, 1200}}},
		{"Mon-Sat 08:00-20:00", []Window{{0x3f, 480, 1200}}},
		{"Mo-Fr 08:00-12:00,13:00-18:00; Sa 09:00-13:00", []Window{{0x1f, 480, 720}, {0x1f, 780, 1080}, {0x20, 540, 780}}},
		{"Sa-Mo 10:00-16:00", []Window{{0x61, 600, 960}}},
		{"09:00-17:00", []Window{{0x7f, 540, 1020}}},
	}
	for _, tt := range tests {
		got, err := ParseHours(tt.in)
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseHours(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{"weekdays", "Mo-Fr 20:00-08:00", "Xx 08:00-10:00", "Mo-Fr 8-20", "Mo-Fr 08:00-20:00 extra"} {
		if _, err := ParseHours(bad); !errors.Is(err, ErrHours) {
			t.Errorf("ParseHours(%q) = %v, want ErrHours", bad, err)
		}
	}
}
