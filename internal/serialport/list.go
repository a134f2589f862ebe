package serialport

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// USBID is a USB vendor and product id pair.
type USBID struct {
	VID, PID uint16
}

// DefaultUnitID is the VID:PID a latchkey unit enumerates with until one is
// allocated: the pid.codes test pair 1209:0001.
var DefaultUnitID = USBID{VID: 0x1209, PID: 0x0001}

// ParseUSBID parses "VVVV:PPPP" in hexadecimal, as lsusb prints it.
func ParseUSBID(s string) (USBID, error) {
	v, p, ok := strings.Cut(s, ":")
	if ok {
		vid, err1 := strconv.ParseUint(v, 16, 16)
		pid, err2 := strconv.ParseUint(p, 16, 16)
		if err1 == nil && err2 == nil {
			return USBID{VID: uint16(vid), PID: uint16(pid)}, nil
		}
	}
	return USBID{}, fmt.Errorf("usb id %q: want VID:PID in hexadecimal, e.g. 1209:0001", s)
}

func (id USBID) String() string { return fmt.Sprintf("%04x:%04x", id.VID, id.PID) }

// Info describes one serial port.
type Info struct {
	// Path opens the port, e.g. /dev/ttyACM0 or COM3.
	Path string
	// USB is false for legacy ports (such as the 32 /dev/ttyS* nodes Linux
	// lists on machines without any) and wherever USB details are
	// unavailable (macOS builds without cgo).
	USB bool
	// ID is the USB VID:PID; zero unless USB.
	ID           USBID
	SerialNumber string
	Product      string
	// Unit marks a USB port whose VID:PID is one of the unit ids asked
	// for. A non-USB port is never a unit.
	Unit bool
}

// List returns the serial ports on this machine, sorted by path, marking as
// units those with one of the given VID:PIDs (DefaultUnitID if none given).
// Only units are actively probed for their product string, since probing
// can disturb other devices.
func List(units ...USBID) ([]Info, error) {
	if len(units) == 0 {
		units = []USBID{DefaultUnitID}
	}
	ports, err := listPorts(units)
	if err != nil {
		return nil, fmt.Errorf("list serial ports: %w", err)
	}
	return classify(ports, units), nil
}

// port is what the platform enumerators report.
type port struct {
	path            string
	usb             bool
	vid, pid        string // hexadecimal as the OS reports it, any case
	serial, product string
}

// classify turns enumerated ports into Info, marking units.
func classify(ports []port, units []USBID) []Info {
	out := make([]Info, 0, len(ports))
	for _, p := range ports {
		in := Info{Path: p.path}
		if p.usb {
			in.USB = true
			in.SerialNumber = p.serial
			in.Product = p.product
			if id, err := ParseUSBID(p.vid + ":" + p.pid); err == nil {
				in.ID = id
				in.Unit = slices.Contains(units, id)
			}
		}
		out = append(out, in)
	}
	slices.SortFunc(out, func(a, b Info) int { return strings.Compare(a.Path, b.Path) })
	return out
}

// Units returns the ports in infos that are units.
func Units(infos []Info) []Info {
	var out []Info
	for _, in := range infos {
		if in.Unit {
			out = append(out, in)
		}
	}
	return out
}

func probeFilter(units []USBID) func(vid, pid string) bool {
	return func(vid, pid string) bool {
		id, err := ParseUSBID(vid + ":" + pid)
		return err == nil && slices.Contains(units, id)
	}
}
