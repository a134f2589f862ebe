package smp

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"io"
)

// Serial framing constants from [transport] "UART/serial and console".
const (
	// MaxFrame is the largest frame MCUmgr sends or accepts, counting the
	// 2-byte marker and the terminating newline.
	MaxFrame = 127
	// maxFrameText is the base64 text one frame can hold (MTU - 3).
	maxFrameText = MaxFrame - 3
	// maxFrameRaw is the raw bytes that text carries: N = (MTU-3)/4*3 = 93.
	maxFrameRaw = maxFrameText / 4 * 3
	// DefaultMaxPacket is the default limit on a decoded SMP message. It is
	// well above Zephyr's default mcumgr buffer (384 bytes) and usual upload
	// chunk sizes, yet small enough that a lying length field cannot cost
	// much memory.
	DefaultMaxPacket = 8192
	// MaxMessage is the largest SMP message the 16-bit total-length field
	// can describe once the 2 CRC bytes are counted in it.
	MaxMessage = 0xffff - crcSize

	lenSize = 2
	crcSize = 2
)

// Frame markers. They are control characters, so they do not occur in the
// console text a unit may print on the same port.
const (
	startByte0, startByte1 = 0x06, 0x09 // initial and initial-final frames
	contByte0, contByte1   = 0x04, 0x14 // partial and partial-final frames
)

// EncodePacket frames one SMP message (header and data) for the serial
// transport and returns all frames concatenated.
//
// The packet is the 2-byte big-endian total length (message size + 2 for the
// CRC; the length field does not count itself), the message, and the CRC16 of
// the message alone, big-endian ([transport] "Frame formats", "CRC Details").
// That packet is cut into 93-byte pieces, each base64-encoded on its own into
// at most 124 characters and sent as marker + text + '\n', 127 bytes at most.
// Because 93 is a multiple of 3, only the last frame carries '=' padding, so
// the output is also exactly the base64 of the whole packet split every 124
// characters: peers that decode frame by frame and peers that join the text
// first both read it.
func EncodePacket(msg []byte) ([]byte, error) {
	if len(msg) > MaxMessage {
		return nil, fmt.Errorf("%w: message of %d bytes, serial transport allows %d", ErrTooLarge, len(msg), MaxMessage)
	}
	raw := make([]byte, 0, lenSize+len(msg)+crcSize)
	raw = binary.BigEndian.AppendUint16(raw, uint16(len(msg)+crcSize))
	raw = append(raw, msg...)
	raw = binary.BigEndian.AppendUint16(raw, crc16(msg))

	frames := (len(raw) + maxFrameRaw - 1) / maxFrameRaw
	out := make([]byte, 0, frames*3+base64.StdEncoding.EncodedLen(len(raw)))
	for i := 0; len(raw) > 0; i++ {
		n := min(len(raw), maxFrameRaw)
		if i == 0 {
			out = append(out, startByte0, startByte1)
		} else {
			out = append(out, contByte0, contByte1)
		}
		out = base64.StdEncoding.AppendEncode(out, raw[:n])
		out = append(out, '\n')
		raw = raw[n:]
	}
	return out, nil
}

// Discard describes input the [Decoder] dropped.
type Discard struct {
	// Err says why, and wraps one of ErrNotFrame (console text or noise,
	// reported once per line), ErrFrame, ErrCRC, ErrTooLarge, ErrLength or
	// ErrIncomplete.
	Err error
	// Bytes is the number of input bytes dropped, including the frames of a
	// partial packet given up.
	Bytes int
}

// Stats counts what a [Decoder] has seen.
type Stats struct {
	Packets        int // messages returned
	Frames         int // well-formed frames, including those of dropped packets
	Discards       int // Discard events
	DiscardedBytes int // input bytes dropped
}

// DecoderOptions configures a [Decoder]. The zero value is ready to use.
type DecoderOptions struct {
	// MaxPacket is the largest SMP message accepted; a packet whose length
	// field announces more is dropped before any buffer is sized by it.
	// Zero means DefaultMaxPacket; values over MaxMessage are capped.
	MaxPacket int
	// OnDiscard, if set, is called synchronously from Next for every piece
	// of input dropped, e.g. to log "skipped 40 bytes of console text".
	OnDiscard func(Discard)
}

// Decoder reassembles SMP messages from a serial byte stream that may also
// carry console output and line noise. It is not safe for concurrent use.
type Decoder struct {
	r         io.Reader
	max       int
	onDiscard func(Discard)
	stats     Stats

	buf      [512]byte
	pos, end int
	rerr     error // sticky error from r, returned once buf is drained
	done     bool  // rerr has been reported and wrapped

	garbage int  // bytes of console text not yet reported
	pending byte // first marker byte seen while hunting, or 0

	inFrame bool
	first   bool // current frame started with the initial-frame marker
	cr      bool // a '\r' ended the frame text; only '\n' may follow
	text    [maxFrameText]byte
	ntext   int
	ftext   int // bytes of the current frame on the wire so far

	pkt     []byte // packet data after the length field, cap = want
	want    int    // announced packet size (message + CRC); 0 when idle
	pktWire int    // wire bytes of the frames of pkt
}

// NewDecoder returns a decoder reading from r.
func NewDecoder(r io.Reader, opts DecoderOptions) *Decoder {
	limit := opts.MaxPacket
	if limit <= 0 {
		limit = DefaultMaxPacket
	}
	return &Decoder{r: r, max: min(limit, MaxMessage), onDiscard: opts.OnDiscard}
}

// Stats returns the decoder's counters.
func (d *Decoder) Stats() Stats { return d.stats }

// Reset drops any partial frame or packet, e.g. after the caller gave up on
// a response. Bytes already read from r but not yet examined are kept.
func (d *Decoder) Reset() {
	if d.inFrame {
		d.dropFrame(fmt.Errorf("%w: reset mid-frame", ErrIncomplete))
	}
	d.dropPacket(fmt.Errorf("%w: reset mid-packet", ErrIncomplete), 0)
	d.flushGarbage()
}

// Next returns the next complete SMP message (header and data), without the
// length field and CRC. The caller owns the returned slice.
//
// Next calls Read on the underlying reader at most once per call. If the
// input buffered from earlier calls and that one Read do not complete a
// packet, Next returns (nil, ErrNoData) and keeps its state: the caller
// checks its deadline or context and calls Next again. This keeps Next from
// spinning on a port with a read timeout, where an idle Read returns 0 bytes
// and a nil error (go.bug.st/serial), and from running past a deadline while
// a unit prints console text.
//
// Bad frames, bad packets and console text are dropped and reported through
// OnDiscard; they never end the stream. Next returns io.EOF when the stream
// ends between packets, an error wrapping io.ErrUnexpectedEOF when it ends
// inside one, and any other read error wrapped; after that it keeps
// returning the same error.
func (d *Decoder) Next() ([]byte, error) {
	read := false
	for {
		for d.pos < d.end {
			consumed, msg := d.step(d.buf[d.pos])
			if consumed {
				d.pos++
			}
			if msg != nil {
				return msg, nil
			}
		}
		if d.rerr != nil {
			return nil, d.finish()
		}
		if read {
			return nil, ErrNoData
		}
		n, err := d.r.Read(d.buf[:])
		read = true
		d.pos, d.end = 0, max(0, min(n, len(d.buf)))
		if err != nil {
			d.rerr = err
			continue
		}
		if n == 0 {
			// An idle read ends whatever console line was being printed.
			d.flushGarbage()
			return nil, ErrNoData
		}
	}
}

// finish reports what was in progress when the reader failed and returns the
// error Next gives for it from now on.
func (d *Decoder) finish() error {
	if d.done {
		return d.rerr
	}
	d.done = true
	mid := d.inFrame || d.want != 0
	if d.pending != 0 {
		d.pending = 0
		d.garbage++
	}
	if d.inFrame {
		d.dropFrame(fmt.Errorf("%w: stream ended mid-frame", ErrIncomplete))
	}
	d.dropPacket(fmt.Errorf("%w: stream ended mid-packet", ErrIncomplete), 0)
	d.flushGarbage()
	switch {
	case d.rerr == io.EOF && mid:
		d.rerr = fmt.Errorf("smp: stream ended mid-packet: %w", io.ErrUnexpectedEOF)
	case d.rerr != io.EOF:
		d.rerr = fmt.Errorf("smp: read: %w", d.rerr)
	}
	return d.rerr
}

// step feeds one input byte to the frame scanner. It reports whether the byte
// was used; a byte that ends a frame abnormally is left for the hunting state
// to examine again, since it may start the next frame. Every unconsumed
// return leaves a state in which the same byte is consumed.
func (d *Decoder) step(b byte) (consumed bool, msg []byte) {
	if d.inFrame {
		return d.frameByte(b)
	}
	if d.pending != 0 {
		p := d.pending
		d.pending = 0
		if p == startByte0 && b == startByte1 || p == contByte0 && b == contByte1 {
			d.flushGarbage()
			d.inFrame, d.first = true, p == startByte0
			d.ntext, d.ftext, d.cr = 0, 2, false
			return true, nil
		}
		d.garbage++ // the lone first byte; b is examined afresh
		return false, nil
	}
	if b == startByte0 || b == contByte0 {
		d.pending = b
		return true, nil
	}
	d.garbage++
	if b == '\n' {
		d.flushGarbage()
	}
	return true, nil
}

// frameByte handles a byte inside a frame.
func (d *Decoder) frameByte(b byte) (bool, []byte) {
	switch {
	case b == '\n':
		d.ftext++
		d.inFrame = false
		return true, d.endFrame()
	case d.cr:
		d.dropFrame(fmt.Errorf("%w: stray carriage return", ErrFrame))
		return false, nil
	case b == '\r':
		// A tty in cooked mode turns "\n" into "\r\n"; the '\r' is not part
		// of the frame and does not count toward MaxFrame.
		d.cr = true
		d.ftext++
		return true, nil
	case !isBase64(b):
		d.dropFrame(fmt.Errorf("%w: byte %#02x inside frame", ErrFrame, b))
		return false, nil
	case d.ntext == len(d.text):
		d.dropFrame(fmt.Errorf("%w: longer than %d bytes", ErrFrame, MaxFrame))
		return false, nil
	}
	d.text[d.ntext] = b
	d.ntext++
	d.ftext++
	return true, nil
}

func isBase64(b byte) bool {
	return 'A' <= b && b <= 'Z' || 'a' <= b && b <= 'z' || '0' <= b && b <= '9' ||
		b == '+' || b == '/' || b == '='
}

// dropFrame abandons the current frame and, since the packet it belonged to
// can no longer be completed, any partial packet.
func (d *Decoder) dropFrame(err error) {
	d.inFrame = false
	wire := d.ftext
	if d.want != 0 {
		d.dropPacket(err, wire)
		return
	}
	d.discard(err, wire)
}

// dropPacket abandons a partial packet, reporting it with extra wire bytes
// of the frame that ended it.
func (d *Decoder) dropPacket(err error, extra int) {
	if d.want == 0 {
		if extra > 0 {
			d.discard(err, extra)
		}
		return
	}
	wire := d.pktWire + extra
	d.pkt, d.want, d.pktWire = nil, 0, 0
	d.discard(err, wire)
}

// endFrame decodes a complete frame and adds it to the packet. Each frame's
// text is decoded on its own: [transport] defines every frame body as the
// base64 encoding of that frame's data and sizes a frame's payload as
// (MTU-3)/4*3 bytes, so text is never split inside a base64 quantum.
func (d *Decoder) endFrame() []byte {
	var raw [maxFrameRaw]byte
	n, err := base64.StdEncoding.Decode(raw[:], d.text[:d.ntext])
	if err != nil {
		d.dropFrame(fmt.Errorf("%w: bad base64: %w", ErrFrame, err))
		return nil
	}
	data := raw[:n]
	wire := d.ftext
	d.stats.Frames++

	if d.first {
		if d.want != 0 {
			d.dropPacket(fmt.Errorf("%w: new packet started before the last one ended", ErrIncomplete), 0)
		}
		if len(data) < lenSize {
			d.discard(fmt.Errorf("%w: initial frame without length field", ErrFrame), wire)
			return nil
		}
		want := int(binary.BigEndian.Uint16(data))
		data = data[lenSize:]
		switch {
		case want < crcSize:
			d.discard(fmt.Errorf("%w: packet length %d is shorter than its crc", ErrLength, want), wire)
			return nil
		case want-crcSize > d.max:
			d.discard(fmt.Errorf("%w: packet announces %d bytes, limit %d", ErrTooLarge, want-crcSize, d.max), wire)
			return nil
		}
		d.want, d.pkt, d.pktWire = want, make([]byte, 0, want), 0
	} else if d.want == 0 {
		d.discard(fmt.Errorf("%w: continuation frame without an initial frame", ErrFrame), wire)
		return nil
	}

	d.pktWire += wire
	if len(d.pkt)+len(data) > d.want {
		d.dropPacket(fmt.Errorf("%w: packet data exceeds its length field of %d", ErrLength, d.want), 0)
		return nil
	}
	d.pkt = append(d.pkt, data...)
	if len(d.pkt) < d.want {
		return nil
	}

	n = d.want - crcSize
	msg := d.pkt[:n:n] // capped so a caller's append cannot reach the CRC
	got := binary.BigEndian.Uint16(d.pkt[n:])
	if sum := crc16(msg); sum != got {
		d.dropPacket(fmt.Errorf("%w: packet says %#04x, computed %#04x", ErrCRC, got, sum), 0)
		return nil
	}
	d.pkt, d.want, d.pktWire = nil, 0, 0
	d.stats.Packets++
	return msg
}

func (d *Decoder) flushGarbage() {
	if d.garbage > 0 {
		n := d.garbage
		d.garbage = 0
		d.discard(ErrNotFrame, n)
	}
}

func (d *Decoder) discard(err error, n int) {
	d.stats.Discards++
	d.stats.DiscardedBytes += n
	if d.onDiscard != nil {
		d.onDiscard(Discard{Err: err, Bytes: n})
	}
}
