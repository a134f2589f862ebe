package device

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/latchkey/latchkey/internal/smp"
)

// SerialOverhead is what the SMP serial transport adds to a message inside
// the unit's receive buffer: Zephyr reassembles a packet's 2-byte length and
// 2-byte CRC16 into the same buf_size buffer as the SMP message
// (mcumgr_serial_process_frag: the length is pulled off the front and the
// CRC checked and removed only once the whole packet is in), so the largest
// request a unit accepts is buf_size - 4.
const SerialOverhead = 4

// MaxRequest returns the largest SMP message (8-byte header and CBOR body)
// a unit advertising bufSize accepts over the serial transport.
func MaxRequest(bufSize int) int { return bufSize - SerialOverhead }

// bstrHead is the size of the CBOR head of a byte string of n bytes
// (RFC 8949 section 3: the length in the initial byte up to 23, then in 1,
// 2 or 4 following bytes).
func bstrHead(n int) int {
	switch {
	case n < 24:
		return 1
	case n < 1<<8:
		return 2
	case n < 1<<16:
		return 3
	}
	return 5
}

// ChunkSize returns how many data bytes fit in a request to a unit with
// bufSize, given emptyBody, the length of the request's CBOR body encoded
// with an empty "data" byte string. The empty string's 1-byte head is
// replaced by the head of n bytes, so the chunk is the largest n with
//
//	HeaderSize + (emptyBody - 1) + bstrHead(n) + n <= bufSize - SerialOverhead
//
// It returns 0 or less if not even one byte fits.
func ChunkSize(bufSize, emptyBody int) int {
	budget := MaxRequest(bufSize) - smp.HeaderSize - (emptyBody - 1)
	n := budget - 1
	for n > 0 && n+bstrHead(n) > budget {
		n--
	}
	return n
}

// chunkFor fills req's data with as much of data[off:] as fits in bufSize,
// computed from the actual encoding of req (whose other fields are set), and
// returns the encoded body.
func chunkFor(bufSize int, data []byte, off int, setData func([]byte), req any) ([]byte, int, error) {
	setData([]byte{})
	empty, err := smp.EncodeCBOR(req)
	if err != nil {
		return nil, 0, err
	}
	n := min(ChunkSize(bufSize, len(empty)), len(data)-off)
	if n <= 0 {
		return nil, 0, fmt.Errorf("the unit's buffer (%d bytes) is too small to carry any data", bufSize)
	}
	setData(data[off : off+n])
	body, err := smp.EncodeCBOR(req)
	if err != nil {
		return nil, 0, err
	}
	if smp.HeaderSize+len(body) > MaxRequest(bufSize) { // a bug in ChunkSize, never the unit's doing
		return nil, 0, fmt.Errorf("chunk of %d bytes overflows buf_size %d", smp.HeaderSize+len(body), bufSize)
	}
	return body, n, nil
}

// chunkBufSize is the buffer size chunks are cut for: the unit's buf_size,
// capped where the SMP header's 16-bit length would overflow, so a unit
// advertising a huge buffer gets large chunks, not an error.
func chunkBufSize(p smp.Params) int {
	return int(min(p.BufSize, uint32(smp.MaxBody+smp.HeaderSize+SerialOverhead)))
}

// maxStalls is how many answers in a row may leave the offset where it was
// before an upload gives up on a unit that never takes the data.
const maxStalls = 4

// maxChunksInFlight is how many upload chunks are sent ahead of the answers
// (never more than the unit's buf_count). Two hide the turnaround (the unit
// decodes, writes flash and answers while the next chunk is already on the
// wire), which is all a serial line gains: more would only be sent in vain
// after a rewind. Zephyr's UART transport also holds two packets by default
// (CONFIG_UART_MCUMGR_RX_BUF_COUNT=2).
const maxChunksInFlight = 2

// writtenPoll is how often startChunk looks whether its request went out.
const writtenPoll = 100 * time.Microsecond

// chunkCall is one upload request in flight.
type chunkCall struct {
	off, n int
	rsp    ImageUploadResponse
	err    error
	done   chan struct{} // closed when rsp and err are set
}

// startChunk sends the chunk of img at off and returns once the request is
// written (or failed), so the next chunk follows it on the wire: the unit
// takes only the chunk at its own offset and answers any other with that
// offset, so chunks must arrive in order.
func (u *Unit) startChunk(ctx context.Context, bufSize int, img, sha []byte, off int) (*chunkCall, error) {
	req := ImageUploadRequest{Off: uint32(off)}
	timeout := u.opts.ChunkTimeout
	if off == 0 {
		req.Len, req.SHA = uint32(len(img)), sha
		timeout = u.opts.FirstChunkTimeout
	}
	body, n, err := chunkFor(bufSize, img, off, func(b []byte) { req.Data = b }, &req)
	if err != nil {
		return nil, err
	}
	c := &chunkCall{off: off, n: n, done: make(chan struct{})}
	sent := u.c.Stats().Sent
	go func() {
		defer close(c.done)
		rb, err := u.call(ctx, timeout, smp.OpWrite, GroupImage, ImgUpload, body)
		if err == nil {
			c.rsp, err = decodeUpload(rb)
		}
		c.err = err
	}()
	// smp.Client orders writes by who gets its write lock first, so wait
	// until this request is on the wire before the next one may race it.
	t := time.NewTicker(writtenPoll)
	defer t.Stop()
	for u.c.Stats().Sent == sent {
		select {
		case <-c.done:
			return c, nil
		case <-t.C:
		}
	}
	return c, nil
}

// ImageUpload sends an MCUboot image to the unit's secondary slot (image 0)
// and checks that the unit now lists an image with img's SHA-256 TLV.
//
// Chunks are sized from the unit's buf_size (see ChunkSize). The first
// request names the upload by the SHA-256 of img; a unit holding part of
// that upload (after a cable pull or reset) answers with the offset it has,
// and the upload goes on from there. After that first answer up to
// maxChunksInFlight chunks (at most buf_count) are sent ahead, in order, at
// the offsets the unit will expect if it takes each one; whenever an answer
// reports another offset than that, the chunks still in flight are let run
// out (the unit takes none of them) and sending goes on from the offset the
// unit reported, never one counted here. The first chunk waits up to
// Options.FirstChunkTimeout, as the unit erases the slot then; later ones
// Options.ChunkTimeout, each sent again (from the unit's last offset) up to
// Options.ChunkRetries times when no answer comes. progress, if not nil, is
// called with the bytes the unit has acknowledged.
func (u *Unit) ImageUpload(ctx context.Context, img []byte, progress func(sent, total int)) error {
	info, err := ParseImage(img)
	if err != nil {
		return fmt.Errorf("upload image: %w", err)
	}
	if len(img) > 1<<32-1 {
		return fmt.Errorf("upload image: %d bytes is too large", len(img))
	}
	p, err := u.Params(ctx)
	if err != nil {
		return fmt.Errorf("upload image: %w", err)
	}
	window := max(1, min(maxChunksInFlight, int(p.BufCount)))
	sum := sha256.Sum256(img)
	var queue []*chunkCall
	drain := func() {
		for _, c := range queue {
			<-c.done
		}
		queue = nil
	}
	defer drain()
	off, next, stalls, retries := 0, 0, 0, 0
	var match *bool
	for off < len(img) {
		// Until the unit answered the first chunk its offset is unknown
		// (it may resume), so that chunk goes alone.
		for next < len(img) && (len(queue) == 0 || (off > 0 && len(queue) < window)) {
			c, err := u.startChunk(ctx, chunkBufSize(p), img, sum[:], next)
			if err != nil {
				return fmt.Errorf("upload image: %w", err)
			}
			queue = append(queue, c)
			next = c.off + c.n
		}
		c := queue[0]
		<-c.done
		queue = queue[1:]
		if errors.Is(c.err, smp.ErrTimeout) && retries < u.opts.ChunkRetries && ctx.Err() == nil {
			retries++
			drain()
			next = off
			continue
		}
		if c.err != nil {
			return fmt.Errorf("upload image at byte %d of %d: %w", c.off, len(img), c.err)
		}
		retries = 0
		rsp := c.rsp
		if rsp.Off > uint64(len(img)) {
			return fmt.Errorf("upload image: %w", protoErr("unit reports offset %d in an image of %d bytes", rsp.Off, len(img)))
		}
		if int(rsp.Off) <= off {
			if stalls++; stalls >= maxStalls {
				return fmt.Errorf("upload image: the unit keeps asking for byte %d and does not take the data", rsp.Off)
			}
		} else {
			stalls = 0
		}
		off, match = int(rsp.Off), rsp.Match
		if progress != nil {
			progress(off, len(img))
		}
		if off != c.off+c.n {
			// The unit did not take this chunk as predicted, so it takes
			// none of those sent after it: go on from its offset.
			drain()
			next = off
		}
	}
	if match != nil && !*match {
		return fmt.Errorf("upload image: %w: the unit says the data does not match the image's SHA-256", ErrVerify)
	}
	return u.verifyImage(ctx, info)
}

// verifyImage checks that the unit lists an image with info's hash.
func (u *Unit) verifyImage(ctx context.Context, info ImageInfo) error {
	state, err := u.ImageState(ctx)
	if err != nil {
		return fmt.Errorf("verify upload: %w", err)
	}
	for _, s := range state {
		if bytes.Equal(s.Hash, info.Hash) {
			return nil
		}
	}
	return fmt.Errorf("verify upload: %w: no image with hash %s is listed", ErrVerify, hex.EncodeToString(info.Hash[:8]))
}

// Countersign has the unit sign msg with its Ed25519 key and returns the
// signature. msg must be a DSSE pre-authentication encoding of a latchkey
// record (DSSEPrefix, payload type application/vnd.latchkey.*), at most
// MaxCountersig bytes; it is sent in chunks sized like an image upload's,
// and the unit signs exactly the bytes it reassembled, after checking their
// SHA-256 against the one in the first chunk. The caller verifies the
// signature against the unit's attested key.
func (u *Unit) Countersign(ctx context.Context, msg []byte) ([]byte, error) {
	if len(msg) > MaxCountersig {
		return nil, fmt.Errorf("countersign: %w (%d bytes, the limit is %d)", ErrMessageTooLarge, len(msg), MaxCountersig)
	}
	if err := CheckPAE(msg); err != nil {
		return nil, fmt.Errorf("countersign: %w", err)
	}
	p, err := u.Params(ctx)
	if err != nil {
		return nil, fmt.Errorf("countersign: %w", err)
	}
	sha := sha256.Sum256(msg)
	off, stalls, retries := 0, 0, 0
	for {
		req := CountersignRequest{Off: uint32(off)}
		if off == 0 {
			req.Len, req.SHA = uint32(len(msg)), sha[:]
		}
		body, _, err := chunkFor(chunkBufSize(p), msg, off, func(b []byte) { req.Data = b }, &req)
		if err != nil {
			return nil, fmt.Errorf("countersign: %w", err)
		}
		rb, err := u.call(ctx, u.opts.Timeout, smp.OpWrite, GroupLatchkey, CmdCountersign, body)
		if errors.Is(err, smp.ErrTimeout) && retries < u.opts.ChunkRetries && ctx.Err() == nil {
			retries++
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("countersign at byte %d of %d: %w", off, len(msg), err)
		}
		retries = 0
		rsp, err := decodeCountersign(rb)
		if err != nil {
			return nil, fmt.Errorf("countersign: %w", err)
		}
		switch {
		case rsp.Off > uint32(len(msg)):
			return nil, fmt.Errorf("countersign: %w", protoErr("unit reports offset %d in a message of %d bytes", rsp.Off, len(msg)))
		case rsp.Sig != nil && rsp.Off == uint32(len(msg)):
			return rsp.Sig, nil
		case rsp.Sig != nil:
			return nil, fmt.Errorf("countersign: %w", protoErr("unit signed at offset %d of %d", rsp.Off, len(msg)))
		case rsp.Off == uint32(len(msg)):
			return nil, fmt.Errorf("countersign: %w", protoErr("unit took the whole message but sent no signature"))
		}
		if int(rsp.Off) <= off {
			if stalls++; stalls >= maxStalls {
				return nil, fmt.Errorf("countersign: the unit keeps asking for byte %d and does not take the data", rsp.Off)
			}
		} else {
			stalls = 0
		}
		off = int(rsp.Off)
	}
}
