//go:build !unix

package serialport

// noModemControl reports whether err means the device has no modem lines.
// Outside Unix there are no pseudo-terminals to excuse.
func noModemControl(error) bool { return false }
