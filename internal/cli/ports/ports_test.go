package ports

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/serialport"
	"github.com/latchkey/latchkey/internal/sim"
)

func TestCollect(t *testing.T) {
	t.Parallel()
	unit := serialport.USBID{VID: 0x1209, PID: 0x0001}
	infos := []serialport.Info{
		{Path: "/dev/ttyS0"},
		{Path: "/dev/ttyUSB0", USB: true, ID: serialport.USBID{VID: 0x0403, PID: 0x6001}, Product: "FT232R"},
		{Path: "/dev/ttyACM0", USB: true, ID: unit, SerialNumber: "LK-0001", Product: "latchkey unit", Unit: true},
	}
	sims := []sim.Running{{Link: "/tmp/unit", PTY: "/dev/pts/3", PID: 42, Serial: "SIM-7"}}
	for _, tt := range []struct {
		name string
		all  bool
		want []Port
	}{
		{"usb only", false, []Port{
			{Path: "/dev/ttyACM0", Kind: KindUnit, USBID: "1209:0001", Serial: "LK-0001", Product: "latchkey unit"},
			{Path: "/tmp/unit", Kind: KindVirtual, Serial: "SIM-7", Product: "latchkey sim (/dev/pts/3)", PID: 42},
			{Path: "/dev/ttyUSB0", Kind: KindUSB, USBID: "0403:6001", Product: "FT232R"},
		}},
		{"all", true, []Port{
			{Path: "/dev/ttyACM0", Kind: KindUnit, USBID: "1209:0001", Serial: "LK-0001", Product: "latchkey unit"},
			{Path: "/tmp/unit", Kind: KindVirtual, Serial: "SIM-7", Product: "latchkey sim (/dev/pts/3)", PID: 42},
			{Path: "/dev/ttyUSB0", Kind: KindUSB, USBID: "0403:6001", Product: "FT232R"},
			{Path: "/dev/ttyS0", Kind: KindSerial},
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var asked serialport.USBID
			opts := &Options{All: tt.all,
				UnitID: func() (serialport.USBID, error) { return unit, nil },
				List:   func(u serialport.USBID) ([]serialport.Info, error) { asked = u; return infos, nil },
				Sims:   func() ([]sim.Running, error) { return sims, nil },
			}
			got, err := Collect(opts)
			if err != nil {
				t.Fatal(err)
			}
			if asked != unit {
				t.Fatalf("listed with unit id %v, want %v", asked, unit)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

// TestListRunning announces sims in a real cache directory: a live one (this
// test's own process) is listed, a dead one's file is removed, a broken file
// is skipped, and one whose link is gone (a pulled cable) is not listed.
func TestListRunning(t *testing.T) {
	t.Parallel()
	cache := t.TempDir()
	link := filepath.Join(t.TempDir(), "tty")
	if err := os.WriteFile(link, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	live := sim.Running{Link: link, PTY: "/dev/pts/9", PID: os.Getpid(), Serial: "SIM-1", Started: time.Unix(0, 0).UTC()}
	if err := sim.Announce(sim.DiscoveryFile(cache, live.PID), live); err != nil {
		t.Fatal(err)
	}
	dead := sim.DiscoveryFile(cache, 1<<22+12345) // above Linux's pid_max
	if err := sim.Announce(dead, sim.Running{Link: link, PID: 1<<22 + 12345}); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(cache, "sims", "junk.json"), []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := sim.ListRunning(cache)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || !reflect.DeepEqual(got[0], live) {
		t.Fatalf("ListRunning = %+v, want only %+v", got, live)
	}
	if _, err := os.Stat(dead); !os.IsNotExist(err) {
		t.Fatalf("dead sim's file kept: %v", err)
	}
	if err := os.Remove(link); err != nil {
		t.Fatal(err)
	}
	if got, _ := sim.ListRunning(cache); len(got) != 0 {
		t.Fatalf("listed a sim whose link is gone: %+v", got)
	}
	if got, err := sim.ListRunning(t.TempDir()); err != nil || got != nil {
		t.Fatalf("empty cache: %v %v", got, err)
	}
}
