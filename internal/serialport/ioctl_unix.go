//go:build unix

package serialport

import (
	"errors"

	"golang.org/x/sys/unix"
)

// noModemControl reports whether err means the device has no modem lines,
// as a pseudo-terminal answers TIOCMGET/TIOCMSET with ENOTTY ("inappropriate
// ioctl for device") and some drivers with EINVAL.
func noModemControl(err error) bool {
	return errors.Is(err, unix.ENOTTY) || errors.Is(err, unix.EINVAL)
}
