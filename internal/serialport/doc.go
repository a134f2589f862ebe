// Package serialport owns latchkey's access to serial ports: opening a port
// for the SMP transport (8N1, raw, a read timeout so readers can stop) and
// enumerating ports with their USB identity, marking which ones are units by
// VID:PID. It speaks no protocol; internal/smp reads and writes the bytes.
//
// It is built on go.bug.st/serial. Pseudo-terminals, as the virtual unit
// uses, are ordinary ports here: the modem-control ioctls they reject are
// tolerated.
package serialport
