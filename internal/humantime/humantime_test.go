package humantime

import (
	"testing"
	"time"
)

var now = time.Date(2026, 11, 25, 15, 30, 0, 0, time.FixedZone("EST", -5*3600))

func TestParseTime(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    time.Time
		wantErr bool
	}{
		{in: "now", want: now},
		{in: "2h", want: now.Add(-2 * time.Hour)},
		{in: "7d", want: now.Add(-7 * 24 * time.Hour)},
		{in: "2w", want: now.Add(-14 * 24 * time.Hour)},
		{in: "2026-11-20", want: time.Date(2026, 11, 20, 0, 0, 0, 0, now.Location())},
		{in: "2026-11-20 14:05", want: time.Date(2026, 11, 20, 14, 5, 0, 0, now.Location())},
		{in: "2026-11-20T14:05", want: time.Date(2026, 11, 20, 14, 5, 0, 0, now.Location())},
		{in: "2026-11-20T14:05:00Z", want: time.Date(2026, 11, 20, 14, 5, 0, 0, time.UTC)},
		{in: " 3d ", want: now.Add(-3 * 24 * time.Hour)},
		{in: "yesterday-ish", wantErr: true},
		{in: "-3d", wantErr: true},
		{in: "3y", wantErr: true},
		{in: "2026-13-01", wantErr: true},
		{in: "", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			got, err := ParseTime(tt.in, now)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("ParseTime(%q) = %v, want an error", tt.in, got)
				}
				return
			}
			if err != nil || !got.Equal(tt.want) {
				t.Fatalf("ParseTime(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestParseDate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, want string
		wantErr  bool
	}{
		{in: "", want: ""},
		{in: "today", want: "2026-11-25"},
		{in: "tomorrow", want: "2026-11-26"},
		{in: "+3d", want: "2026-11-28"},
		{in: "+2w", want: "2026-12-09"},
		{in: "+0d", want: "2026-11-25"},
		{in: "2026-12-01", want: "2026-12-01"},
		{in: "2026-02-30", wantErr: true},
		{in: "+3m", wantErr: true},
		{in: "+99999d", wantErr: true},
		{in: "next week", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			got, err := ParseDate(tt.in, now)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Fatalf("ParseDate(%q) = %q, %v; want %q (error %v)", tt.in, got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestEndOfDay(t *testing.T) {
	t.Parallel()
	day := time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)
	if got := EndOfDay("2026-11-30", day); !got.Equal(day.AddDate(0, 0, 1)) {
		t.Fatalf("date: %v", got)
	}
	moment := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	if got := EndOfDay("2026-11-30 09:00", moment); !got.Equal(moment) {
		t.Fatalf("time: %v", got)
	}
}
