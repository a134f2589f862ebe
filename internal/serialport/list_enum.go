//go:build !(darwin && !cgo)

package serialport

import "go.bug.st/serial/enumerator"

func listPorts(units []USBID) ([]port, error) {
	details, err := enumerator.GetDetailedPortsList(probeFilter(units))
	if err != nil {
		return nil, err
	}
	out := make([]port, 0, len(details))
	for _, d := range details {
		out = append(out, port{
			path: d.Name, usb: d.IsUSB, vid: d.VID, pid: d.PID,
			serial: d.SerialNumber, product: d.Product,
		})
	}
	return out, nil
}
