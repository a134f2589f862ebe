package serialport

import (
	"reflect"
	"testing"
)

func TestParseUSBID(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want USBID
		ok   bool
	}{
		{"1209:0001", USBID{0x1209, 0x0001}, true},
		{"2FE3:000a", USBID{0x2fe3, 0x000a}, true},
		{"1209", USBID{}, false},
		{"1209:", USBID{}, false},
		{"12345:0001", USBID{}, false},
		{"zzzz:0001", USBID{}, false},
		{"", USBID{}, false},
	}
	for _, tt := range tests {
		got, err := ParseUSBID(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParseUSBID(%q) = %v, %v", tt.in, got, err)
		}
	}
	if s := (USBID{0x1209, 1}).String(); s != "1209:0001" {
		t.Errorf("String() = %q", s)
	}
}

func TestClassify(t *testing.T) {
	t.Parallel()
	ports := []port{
		{path: "/dev/ttyS1"},
		{path: "/dev/ttyACM1", usb: true, vid: "0483", pid: "5740", product: "STM32 VCP"},
		{path: "/dev/ttyS0", vid: "1209", pid: "0001"}, // non-USB never a unit
		{path: "/dev/ttyACM0", usb: true, vid: "1209", pid: "0001", serial: "LK-0042", product: "latchkey unit"},
		{path: "COM7", usb: true, vid: "2FE3", pid: "0100"},
		{path: "/dev/ttyUSB9", usb: true, vid: "", pid: ""},
	}
	units := []USBID{DefaultUnitID, {0x2fe3, 0x0100}}
	got := classify(ports, units)
	want := []Info{
		{Path: "/dev/ttyACM0", USB: true, ID: USBID{0x1209, 1}, SerialNumber: "LK-0042", Product: "latchkey unit", Unit: true},
		{Path: "/dev/ttyACM1", USB: true, ID: USBID{0x0483, 0x5740}, Product: "STM32 VCP"},
		{Path: "/dev/ttyS0"},
		{Path: "/dev/ttyS1"},
		{Path: "/dev/ttyUSB9", USB: true},
		{Path: "COM7", USB: true, ID: USBID{0x2fe3, 0x0100}, Unit: true},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("classify =\n%+v\nwant\n%+v", got, want)
	}
	if u := Units(got); len(u) != 2 || u[0].Path != "/dev/ttyACM0" || u[1].Path != "COM7" {
		t.Errorf("Units = %+v", u)
	}
	if !probeFilter(units)("2fe3", "0100") || probeFilter(units)("0483", "5740") {
		t.Error("probe filter does not match exactly the unit ids")
	}
}

// List runs against this machine's real ports: whatever it finds, legacy
// ports are never units.
func TestListThisMachine(t *testing.T) {
	t.Parallel()
	infos, err := List()
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	for _, in := range infos {
		if in.Unit && !in.USB {
			t.Errorf("non-USB port %s marked as a unit", in.Path)
		}
	}
	t.Logf("%d ports, %d units", len(infos), len(Units(infos)))
}
