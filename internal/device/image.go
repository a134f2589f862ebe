package device

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
)

// MCUboot image format (docs.mcuboot.com/design.html "Image format"): a
// 32-byte little-endian header, the image, an optional protected TLV area
// (counted in the header) and the TLV area, which holds the SHA-256 of
// header, image and protected TLVs. That hash is what a unit's image state
// reports for the image, so it is how an upload is verified.
const (
	imageMagic       = 0x96f3b83d
	imageHeaderSize  = 32
	tlvInfoMagic     = 0x6907
	tlvProtInfoMagic = 0x6908
	tlvSHA256        = 0x10
	tlvInfoSize      = 4
	tlvEntryHead     = 4
)

// ErrImage marks a file that is not a valid MCUboot image.
var ErrImage = errors.New("not a valid MCUboot image")

// ImageInfo describes an MCUboot image.
type ImageInfo struct {
	// Version is major.minor.revision+build, as image state reports it.
	Version string
	// Hash is the image's SHA-256 TLV, checked against its contents.
	Hash []byte
	// Size is the length of header and image, without TLVs.
	Size int
}

// ParseImage checks that img is a well-formed MCUboot image whose SHA-256
// TLV matches its contents, and returns what it says about itself.
func ParseImage(img []byte) (ImageInfo, error) {
	if len(img) < imageHeaderSize {
		return ImageInfo{}, fmt.Errorf("%w: %d bytes is shorter than the header", ErrImage, len(img))
	}
	le := binary.LittleEndian
	if m := le.Uint32(img); m != imageMagic {
		return ImageInfo{}, fmt.Errorf("%w: header magic %#08x, want %#08x", ErrImage, m, imageMagic)
	}
	hdr := int(le.Uint16(img[8:]))
	prot := int(le.Uint16(img[10:]))
	size := int(le.Uint32(img[12:]))
	if hdr < imageHeaderSize {
		return ImageInfo{}, fmt.Errorf("%w: header size %d", ErrImage, hdr)
	}
	end := hdr + size // no overflow: both are at most 32 bits wide in a 64-bit int
	if end+prot+tlvInfoSize > len(img) {
		return ImageInfo{}, fmt.Errorf("%w: header says %d bytes of image, the file has %d", ErrImage, end+prot, len(img))
	}
	if prot > 0 {
		if m, tot := le.Uint16(img[end:]), int(le.Uint16(img[end+2:])); m != tlvProtInfoMagic || tot != prot {
			return ImageInfo{}, fmt.Errorf("%w: protected TLV area does not match the header", ErrImage)
		}
	}
	at := end + prot
	if m := le.Uint16(img[at:]); m != tlvInfoMagic {
		return ImageInfo{}, fmt.Errorf("%w: TLV magic %#04x, want %#04x", ErrImage, m, tlvInfoMagic)
	}
	tot := int(le.Uint16(img[at+2:]))
	if tot < tlvInfoSize || at+tot > len(img) {
		return ImageInfo{}, fmt.Errorf("%w: TLV area of %d bytes runs past the file", ErrImage, tot)
	}
	var hash []byte
	for p := at + tlvInfoSize; p < at+tot; {
		if p+tlvEntryHead > at+tot {
			return ImageInfo{}, fmt.Errorf("%w: truncated TLV entry", ErrImage)
		}
		typ, n := le.Uint16(img[p:]), int(le.Uint16(img[p+2:]))
		p += tlvEntryHead
		if p+n > at+tot {
			return ImageInfo{}, fmt.Errorf("%w: TLV entry of %d bytes runs past the TLV area", ErrImage, n)
		}
		if typ == tlvSHA256 {
			if n != sha256.Size {
				return ImageInfo{}, fmt.Errorf("%w: SHA-256 TLV of %d bytes", ErrImage, n)
			}
			hash = img[p : p+n : p+n]
		}
		p += n
	}
	if hash == nil {
		return ImageInfo{}, fmt.Errorf("%w: no SHA-256 TLV", ErrImage)
	}
	if sum := sha256.Sum256(img[:end+prot]); !bytes.Equal(sum[:], hash) {
		return ImageInfo{}, fmt.Errorf("%w: contents do not match the SHA-256 TLV (damaged file?)", ErrImage)
	}
	v := img[20:28]
	return ImageInfo{
		Version: fmt.Sprintf("%d.%d.%d+%d", v[0], v[1], le.Uint16(v[2:]), le.Uint32(v[4:])),
		Hash:    bytes.Clone(hash),
		Size:    end,
	}, nil
}
