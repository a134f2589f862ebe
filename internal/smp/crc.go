package smp

// crc16 returns the CRC-16/XMODEM (also called CRC-16/CCITT with zero
// initial value) of data: polynomial 0x1021, initial value 0, no input or
// output reflection, no final XOR. Its check value over "123456789" is 0x31C3.
//
// [transport] "CRC Details": the CRC16 of a serial packet is computed over
// the raw SMP message only (header and data). It does not cover the 2-byte
// total-length field that precedes the message in the first frame, nor the
// base64 text, nor the frame markers. The CRC itself follows the message in
// big-endian order.
func crc16(data []byte) uint16 {
	var crc uint16
	for _, b := range data {
		crc ^= uint16(b) << 8
		for range 8 {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
	}
	return crc
}
