package sim

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
)

// MCUboot image format (mcu-tools/mcuboot docs/design.md "Image format" and
// boot/bootutil/include/bootutil/image.h). All fields are little-endian.
const (
	// ImageMagic is ih_magic, the first word of every MCUboot image.
	ImageMagic uint32 = 0x96f3b83d
	// ImageHeaderSize is sizeof(struct image_header).
	ImageHeaderSize = 32
	// tlvInfoMagic starts the unprotected TLV area, tlvProtMagic the
	// protected one; struct image_tlv_info is {magic u16, total u16} and
	// total counts the info header itself.
	tlvInfoMagic  uint16 = 0x6907
	tlvProtMagic  uint16 = 0x6908
	tlvInfoSize          = 4
	tlvHeaderSize        = 4 // struct image_tlv: type u16, len u16
	// tlvSHA256 is IMAGE_TLV_SHA256: the SHA-256 of header, image and
	// protected TLV area.
	tlvSHA256 uint16 = 0x10
)

// ErrImage marks bytes that are not a well-formed MCUboot image.
var ErrImage = errors.New("not a valid mcuboot image")

// Version is an MCUboot image version (struct image_version).
type Version struct {
	Major    uint8
	Minor    uint8
	Revision uint16
	Build    uint32
}

// String formats v as Zephyr's img_mgmt_ver_str does: major.minor.revision,
// with .build appended when it is not zero.
func (v Version) String() string {
	s := fmt.Sprintf("%d.%d.%d", v.Major, v.Minor, v.Revision)
	if v.Build != 0 {
		s += fmt.Sprintf(".%d", v.Build)
	}
	return s
}

// Less reports whether v is an older version than w, build number included.
func (v Version) Less(w Version) bool {
	a := [4]uint32{uint32(v.Major), uint32(v.Minor), uint32(v.Revision), v.Build}
	b := [4]uint32{uint32(w.Major), uint32(w.Minor), uint32(w.Revision), w.Build}
	for i := range a {
		if a[i] != b[i] {
			return a[i] < b[i]
		}
	}
	return false
}

// ImageInfo is what the unit learns from a verified image.
type ImageInfo struct {
	Version Version
	// Hash is the IMAGE_TLV_SHA256 value, the image's identity in the
	// image management group.
	Hash []byte
	Size int // header + image + TLVs
}

// imageError is a verification failure with the image group error code
// Zephyr's img_mgmt reports for it.
type imageError struct {
	code int
	msg  string
}

func (e *imageError) Error() string { return "mcuboot image: " + e.msg }
func (e *imageError) Unwrap() error { return ErrImage }

// VerifyImage checks that b is a complete MCUboot image whose SHA-256 TLV
// matches the hash of its header, body and protected TLVs, and returns its
// version and hash. Signatures are not checked: the sim has no keys.
func VerifyImage(b []byte) (ImageInfo, error) {
	bad := func(code int, format string, args ...any) (ImageInfo, error) {
		return ImageInfo{}, &imageError{code: code, msg: fmt.Sprintf(format, args...)}
	}
	if len(b) < ImageHeaderSize {
		return bad(imgErrInvalidImageHeader, "%d bytes is shorter than a header", len(b))
	}
	le := binary.LittleEndian
	if m := le.Uint32(b); m != ImageMagic {
		return bad(imgErrInvalidImageHeaderMagic, "magic %#08x, want %#08x", m, ImageMagic)
	}
	hdrSize := int(le.Uint16(b[8:]))
	protSize := int(le.Uint16(b[10:]))
	imgSize := int(le.Uint32(b[12:]))
	ver := Version{Major: b[20], Minor: b[21], Revision: le.Uint16(b[22:]), Build: le.Uint32(b[24:])}
	if hdrSize < ImageHeaderSize {
		return bad(imgErrInvalidImageHeader, "header size %d", hdrSize)
	}
	end := hdrSize + imgSize // where the TLV areas start; no overflow: both are bounded
	if end > len(b) {
		return bad(imgErrInvalidImageHeader, "header says %d bytes of image, file has %d", end, len(b))
	}
	hashed := end
	tlvs := b[end:]
	var prot []byte
	if protSize > 0 {
		if protSize < tlvInfoSize || protSize > len(tlvs) || le.Uint16(tlvs) != tlvProtMagic || int(le.Uint16(tlvs[2:])) != protSize {
			return bad(imgErrInvalidTLV, "bad protected tlv area")
		}
		prot = tlvs[tlvInfoSize:protSize]
		hashed += protSize
		tlvs = tlvs[protSize:]
	}
	if len(tlvs) < tlvInfoSize || le.Uint16(tlvs) != tlvInfoMagic {
		return bad(imgErrNoTLVs, "no tlv area after the image")
	}
	total := int(le.Uint16(tlvs[2:]))
	if total < tlvInfoSize || total > len(tlvs) {
		return bad(imgErrTLVInvalidSize, "tlv area of %d bytes, %d present", total, len(tlvs))
	}
	var hash []byte
	for _, area := range [][]byte{prot, tlvs[tlvInfoSize:total]} {
		for len(area) > 0 {
			if len(area) < tlvHeaderSize {
				return bad(imgErrInvalidTLV, "truncated tlv")
			}
			typ, n := le.Uint16(area), int(le.Uint16(area[2:]))
			if tlvHeaderSize+n > len(area) {
				return bad(imgErrTLVInvalidSize, "tlv %#x of %d bytes overruns its area", typ, n)
			}
			if typ == tlvSHA256 {
				if hash != nil {
					return bad(imgErrTLVMultipleHashes, "two sha-256 tlvs")
				}
				if n != sha256.Size {
					return bad(imgErrTLVInvalidSize, "sha-256 tlv of %d bytes", n)
				}
				hash = area[tlvHeaderSize : tlvHeaderSize+n]
			}
			area = area[tlvHeaderSize+n:]
		}
	}
	if hash == nil {
		return bad(imgErrHashNotFound, "no sha-256 tlv")
	}
	sum := sha256.Sum256(b[:hashed])
	if !bytes.Equal(sum[:], hash) {
		return bad(imgErrInvalidHash, "sha-256 tlv does not match the image")
	}
	return ImageInfo{Version: ver, Hash: bytes.Clone(hash), Size: len(b) - len(tlvs) + total}, nil
}

// BuildImage returns a minimal MCUboot image around payload: a 32-byte
// header with version v, the payload, and an unprotected TLV area holding
// only the SHA-256 TLV. Tests and the unit's factory image use it; real
// images come from imgtool.
func BuildImage(v Version, payload []byte) []byte {
	le := binary.LittleEndian
	b := make([]byte, ImageHeaderSize, ImageHeaderSize+len(payload)+tlvInfoSize+tlvHeaderSize+sha256.Size)
	le.PutUint32(b, ImageMagic)
	le.PutUint16(b[8:], ImageHeaderSize)
	le.PutUint32(b[12:], uint32(len(payload)))
	b[20], b[21] = v.Major, v.Minor
	le.PutUint16(b[22:], v.Revision)
	le.PutUint32(b[24:], v.Build)
	b = append(b, payload...)
	sum := sha256.Sum256(b)
	b = le.AppendUint16(b, tlvInfoMagic)
	b = le.AppendUint16(b, tlvInfoSize+tlvHeaderSize+sha256.Size)
	b = le.AppendUint16(b, tlvSHA256)
	b = le.AppendUint16(b, sha256.Size)
	return append(b, sum[:]...)
}
