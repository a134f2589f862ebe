//go:build darwin && !cgo

package serialport

import "go.bug.st/serial"

// listPorts falls back to plain port names: go.bug.st/serial's enumerator
// reads USB details through IOKit, which needs cgo, and release builds for
// macOS are cross-compiled with CGO_ENABLED=0. No port is then a unit by
// VID:PID; callers must name the port.
func listPorts([]USBID) ([]port, error) {
	names, err := serial.GetPortsList()
	if err != nil {
		return nil, err
	}
	out := make([]port, 0, len(names))
	for _, n := range names {
		out = append(out, port{path: n})
	}
	return out, nil
}
