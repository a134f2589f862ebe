package device

import (
	"bytes"
	"crypto/sha256"
	"encoding/base32"
	"encoding/binary"
	"fmt"
)

// This file is the wire schema of docs/protocol.md as Go types: the CBOR map
// of every request and response latchkey sends or reads, with the map keys
// in the `cbor` tags. The client (this package) and the virtual unit
// (internal/sim) both encode and decode with these types, so a change here
// is a protocol change: update docs/protocol.md in the same commit, and bump
// ProtoVersion if an old unit or client would misread the new form.

// GroupLatchkey is latchkey's custom SMP management group ([protocol]
// "Management Group ID's": 64 is the first group for applications).
const GroupLatchkey uint16 = 64

// ProtoVersion is the version of group 64 described here, reported by a unit
// in [Identity.Proto].
const ProtoVersion = 1

// Command ids of group 64. Where one id has a read and a write form, the op
// tells them apart, as in the standard settings group.
const (
	CmdIdentity     uint8 = 0  // read
	CmdAttest       uint8 = 1  // read
	CmdCert         uint8 = 2  // read
	CmdStatus       uint8 = 3  // read
	CmdSelfTests    uint8 = 4  // read: list; write: run
	CmdSlots        uint8 = 5  // read
	CmdBurn         uint8 = 6  // write
	CmdReceipt      uint8 = 7  // read
	CmdEvents       uint8 = 8  // read
	CmdCountersign  uint8 = 9  // write
	CmdDoor         uint8 = 10 // read: get; write: set
	CmdDecommission uint8 = 11 // read: token; write: wipe
)

// Limits of group 64 (docs/protocol.md "Limits"). A unit refuses requests
// beyond them; the client refuses answers beyond them.
const (
	// MinBufSize is the smallest buf_size a latchkey unit may advertise:
	// with the limits below every group-64 answer fits in 1024 bytes at its
	// worst case (docs/protocol.md "Why 2048 and 4"), and the answers that
	// carry lists (attestation chain, events) are paged to buf_size.
	MinBufSize = 1024
	// DefaultBufSize and DefaultBufCount are the MCUmgr parameters latchkey
	// firmware is built with (docs/protocol.md "Unit parameters").
	DefaultBufSize  = 2048
	DefaultBufCount = 4

	NonceSize     = 32 // attestation and burn nonces
	SigSize       = 64 // Ed25519 signatures
	KeySize       = 32 // Ed25519 and X25519 public keys
	TokenSize     = 16 // decommission confirm token
	MaxSerial     = 32 // bytes of a serial number
	MaxText       = 64 // bytes of model, hardware and firmware strings
	MaxJob        = 40 // bytes of a job id (a UUID is 36)
	MaxCertSize   = 960
	MaxChain      = 4 // certificates, unit first, root excluded
	MaxSlots      = 8
	MaxSealed     = 192 // bytes of a sealed key (HPKE enc ‖ ciphertext)
	MaxKCV        = 8
	MaxEventKind  = 32
	MaxEventMsg   = 96
	MaxSelfTests  = 8
	MaxTestName   = 16
	MaxTestText   = 64 // bytes of a self-test description or detail
	MaxHours      = 8  // access windows in a door configuration
	MaxTZ         = 48
	MinPulseMS    = 100
	MaxPulseMS    = 10000
	MaxCountersig = 64 << 10 // bytes of a message to countersign
)

// Context strings that start every message a unit signs, so a signature
// made for one purpose can never be taken for another. Each ends in a NUL
// byte. A countersigned message must start with DSSEPrefix instead, which
// none of these do.
const (
	AttestContext       = "latchkey attestation v1\x00"
	ReceiptContext      = "latchkey receipt v1\x00"
	DecommissionContext = "latchkey decommission v1\x00"
	// DecommissionAuthContext starts the message an operator key signs to
	// authorise a decommission, on units provisioned with such a key.
	DecommissionAuthContext = "latchkey decommission request v1\x00"
	labelContext            = "latchkey label v1\x00"
	// DSSEPrefix starts a DSSE pre-authentication encoding ("DSSEv1 " then
	// the payload type's length); the unit countersigns nothing else.
	DSSEPrefix = "DSSEv1 "
	// DSSETypePrefix is the payload type every countersigned envelope must
	// have: application/vnd.latchkey.<kind>+json.
	DSSETypePrefix = "application/vnd.latchkey."
)

// Unit states in [Identity.State].
const (
	StateNew            = "new"            // no slot written yet
	StateProvisioned    = "provisioned"    // at least one slot written
	StateDecommissioned = "decommissioned" // wiped; answers identity only
)

// Identity is the answer to CmdIdentity (read, empty request).
type Identity struct {
	Serial   string `cbor:"serial"`
	Model    string `cbor:"model"`
	Hardware string `cbor:"hw"`
	Firmware string `cbor:"fw"`
	// SignKey is the unit's Ed25519 public key: it signs attestations,
	// receipts, countersignatures and decommission records.
	SignKey []byte `cbor:"sign_key"`
	// KexKey is the unit's X25519 public key, the HPKE recipient key that
	// building keys are sealed to.
	KexKey []byte `cbor:"kex_key"`
	// Label is the code printed on the unit's box: LabelCode(SignKey).
	Label string `cbor:"label"`
	State string `cbor:"state"`
	// Slots is the number of key slots, 1 to MaxSlots.
	Slots uint8 `cbor:"slots"`
	// Proto is the group-64 protocol version the unit speaks.
	Proto uint16 `cbor:"proto"`
}

// AttestRequest is the request of CmdAttest (read).
type AttestRequest struct {
	Nonce []byte `cbor:"nonce"`
}

// AttestResponse is the answer to CmdAttest. Sig is the unit key's Ed25519
// signature over AttestationMessage(nonce, serial). Chain holds the first
// certificates of the unit's chain that fit in one response, unit
// certificate first; Count is the length of the whole chain, the rest of
// which the client reads with CmdCert.
type AttestResponse struct {
	Sig   []byte   `cbor:"sig"`
	Chain [][]byte `cbor:"chain"`
	Count uint8    `cbor:"count"`
}

// CertRequest and CertResponse read certificate Index (0 = the unit's own)
// of the unit's chain, as DER.
type (
	CertRequest struct {
		Index uint8 `cbor:"index"`
	}
	CertResponse struct {
		Index uint8  `cbor:"index"`
		DER   []byte `cbor:"der"`
	}
)

// AttestationMessage returns the bytes a unit signs for CmdAttest:
// AttestContext ‖ nonce (32 bytes) ‖ serial (UTF-8, no terminator).
func AttestationMessage(nonce []byte, serial string) []byte {
	b := make([]byte, 0, len(AttestContext)+len(nonce)+len(serial))
	b = append(b, AttestContext...)
	b = append(b, nonce...)
	return append(b, serial...)
}

// Relay states in [Status.Relay].
const (
	RelayOff = "off" // door release not driven
	RelayOn  = "on"  // door release driven (a pulse in progress)
)

// Modem states in [Status.Modem].
const (
	ModemOff        = "off"
	ModemNoSIM      = "no-sim"
	ModemSearching  = "searching"
	ModemRegistered = "registered"
	ModemRoaming    = "roaming"
	ModemDenied     = "denied"
	ModemError      = "error"
)

// Slot states in [Status.Slots] and [Slot.State].
const (
	SlotEmpty   = "empty"
	SlotWritten = "written"
	SlotWiped   = "wiped"
)

// Status is the answer to CmdStatus (read, empty request).
type Status struct {
	Relay    string `cbor:"relay"`
	Tamper   bool   `cbor:"tamper"`
	SupplyMV uint32 `cbor:"supply_mv"`
	Modem    string `cbor:"modem"`
	// RSSI and RSRP are the cellular signal in dBm, absent when the modem
	// has no cell (off, no SIM, searching).
	RSSI *int16 `cbor:"rssi,omitempty"`
	RSRP *int16 `cbor:"rsrp,omitempty"`
	// Uptime is seconds since the unit booted.
	Uptime uint64 `cbor:"uptime"`
	// Time is the unit's clock in Unix seconds, 0 if it was never set.
	Time uint64 `cbor:"time"`
	// Slots is the state of each key slot, by slot number.
	Slots []string `cbor:"slots"`
}

// SelfTest describes one self-test in the answer to CmdSelfTests (read).
type SelfTest struct {
	Name string `cbor:"name"`
	Desc string `cbor:"desc"`
	// Relay is true for a test that pulses the door relay, which opens the
	// door: it runs only when asked for with RunSelfTestRequest.Relay.
	Relay bool `cbor:"relay"`
}

// SelfTestList is the answer to CmdSelfTests (read, empty request).
type SelfTestList struct {
	Tests []SelfTest `cbor:"tests"`
}

// RunSelfTestRequest is the request of CmdSelfTests (write). An empty Name
// runs every test, skipping relay tests unless Relay is set.
type RunSelfTestRequest struct {
	Name  string `cbor:"name,omitempty"`
	Relay bool   `cbor:"relay"`
}

// Self-test outcomes in [SelfTestResult.Result].
const (
	TestPass    = "pass"
	TestFail    = "fail"
	TestSkipped = "skipped"
)

// SelfTestResult is one test's outcome.
type SelfTestResult struct {
	Name   string `cbor:"name"`
	Result string `cbor:"result"`
	Detail string `cbor:"detail"`
	MS     uint32 `cbor:"ms"`
}

// SelfTestResults is the answer to CmdSelfTests (write).
type SelfTestResults struct {
	Results []SelfTestResult `cbor:"results"`
}

// Slot is one key slot in the answer to CmdSlots. The members after State
// are present only for a written slot.
type Slot struct {
	Slot    uint8  `cbor:"slot"`
	State   string `cbor:"state"`
	Job     string `cbor:"job,omitempty"`
	KCV     []byte `cbor:"kcv,omitempty"`
	KCVAlg  string `cbor:"kcv_alg,omitempty"`
	Counter uint64 `cbor:"counter,omitempty"`
}

// SlotList is the answer to CmdSlots (read, empty request).
type SlotList struct {
	Slots []Slot `cbor:"slots"`
}

// BurnRequest is the request of CmdBurn (write): write the key sealed in
// Sealed into empty slot Slot. Sealed is opaque to this protocol; its format
// (HPKE to the unit's KexKey, info binding serial, slot, job and nonce) is
// defined by internal/provision. Nonce is fresh from the client and appears
// in the receipt.
type BurnRequest struct {
	Slot   uint8  `cbor:"slot"`
	Job    string `cbor:"job"`
	Nonce  []byte `cbor:"nonce"`
	Sealed []byte `cbor:"sealed"`
}

// KCVCMAC is the key check value method latchkey units use: the leftmost 3
// bytes of AES-CMAC(key, 16 zero bytes).
const KCVCMAC = "aes-cmac-3"

// Receipt is the answer to CmdBurn and CmdReceipt: the unit's signed
// statement that slot Slot holds the key with check value KCV, written for
// Job as its Counter-th burn, in answer to Nonce. Sig is the unit key's
// Ed25519 signature over SignedBytes().
type Receipt struct {
	Serial  string `cbor:"serial"`
	Slot    uint8  `cbor:"slot"`
	Job     string `cbor:"job"`
	Counter uint64 `cbor:"counter"`
	Nonce   []byte `cbor:"nonce"`
	KCV     []byte `cbor:"kcv"`
	KCVAlg  string `cbor:"kcv_alg"`
	Sig     []byte `cbor:"sig"`
}

// SignedBytes returns the bytes the unit signs for a receipt:
//
//	ReceiptContext ‖ u8 slot ‖ u64be counter ‖ nonce (32) ‖
//	u8 len ‖ kcv_alg ‖ u8 len ‖ kcv ‖ u8 len ‖ job ‖ u8 len ‖ serial
//
// Every variable-length field carries a one-byte length, so no two receipts
// share an encoding.
func (r Receipt) SignedBytes() []byte {
	b := make([]byte, 0, 128)
	b = append(b, ReceiptContext...)
	b = append(b, r.Slot)
	b = binary.BigEndian.AppendUint64(b, r.Counter)
	b = append(b, r.Nonce...)
	for _, f := range []string{r.KCVAlg, string(r.KCV), r.Job, r.Serial} {
		b = append(b, byte(len(f)))
		b = append(b, f...)
	}
	return b
}

// ReceiptRequest is the request of CmdReceipt (read): the stored receipt of
// a written slot, byte for byte as it was signed when the slot was burned.
type ReceiptRequest struct {
	Slot uint8 `cbor:"slot"`
}

// EventsRequest is the request of CmdEvents (read): events with sequence
// number >= Since, at most Max of them (0: as many as fit).
type EventsRequest struct {
	Since uint64 `cbor:"since"`
	Max   uint16 `cbor:"max,omitempty"`
}

// Event is one entry of the unit's event log.
type Event struct {
	Seq uint64 `cbor:"seq"`
	// Time is Unix seconds, 0 if the clock was not set; Up is the uptime in
	// seconds when the event happened, which orders events of one boot.
	Time uint64 `cbor:"t"`
	Up   uint64 `cbor:"up"`
	Kind string `cbor:"kind"`
	Msg  string `cbor:"msg,omitempty"`
}

// EventPage is the answer to CmdEvents. Next is the cursor for the next
// request; More says whether events at or after Next exist.
type EventPage struct {
	Events []Event `cbor:"events"`
	Next   uint64  `cbor:"next"`
	More   bool    `cbor:"more"`
}

// CountersignRequest is one chunk of CmdCountersign (write), in the manner
// of an image upload: the first chunk (Off 0) carries Len and SHA (the
// SHA-256 of the whole message); later chunks only Off and Data.
type CountersignRequest struct {
	Off  uint32 `cbor:"off"`
	Len  uint32 `cbor:"len,omitempty"`
	SHA  []byte `cbor:"sha,omitempty"`
	Data []byte `cbor:"data"`
}

// CountersignResponse answers a chunk: Off is the offset the unit expects
// next. The answer to the chunk that completes the message also carries
// Sig, the unit key's Ed25519 signature over exactly the message's bytes.
type CountersignResponse struct {
	Off uint32 `cbor:"off"`
	Sig []byte `cbor:"sig,omitempty"`
}

// Door modes in [DoorConfig.Mode]: what the door's lock does without power,
// which sets how the relay drives it.
const (
	FailSecure = "fail-secure" // locked without power (electric strike)
	FailSafe   = "fail-safe"   // open without power (maglock)
)

// AccessWindow is a weekly time window in which couriers may open the door.
// Days is a bit mask, bit 0 Monday to bit 6 Sunday; From and To are minutes
// after local midnight, 0 <= From < To <= 1440.
type AccessWindow struct {
	Days uint8  `cbor:"days"`
	From uint16 `cbor:"from"`
	To   uint16 `cbor:"to"`
}

// DoorConfig is the door configuration: the answer to CmdDoor (read) and
// both request and answer of CmdDoor (write), which replaces it whole.
type DoorConfig struct {
	// Courier says whether couriers may open the door at all.
	Courier bool           `cbor:"courier"`
	Hours   []AccessWindow `cbor:"hours"`
	PulseMS uint16         `cbor:"pulse_ms"`
	Mode    string         `cbor:"mode"`
	// TZ is the POSIX TZ string the unit interprets Hours in, e.g.
	// "CET-1CEST,M3.5.0,M10.5.0/3".
	TZ string `cbor:"tz"`
}

// DecommissionToken is the answer to CmdDecommission (read): a fresh
// single-use token, valid for TTL seconds, that the write must carry.
type DecommissionToken struct {
	Token []byte `cbor:"token"`
	TTL   uint16 `cbor:"ttl"`
}

// DecommissionRequest is the request of CmdDecommission (write). Auth is an
// operator's Ed25519 signature over DecommissionAuthMessage, required only
// by units provisioned with an operator key.
type DecommissionRequest struct {
	Token []byte `cbor:"token"`
	Auth  []byte `cbor:"auth,omitempty"`
}

// DecommissionAuthMessage returns the bytes an operator key signs to
// authorise a decommission: DecommissionAuthContext ‖ token ‖ serial.
func DecommissionAuthMessage(token []byte, serial string) []byte {
	b := append([]byte(DecommissionAuthContext), token...)
	return append(b, serial...)
}

// DecommissionRecord is the answer to CmdDecommission (write): the unit's
// signed statement that it wiped Wiped slots. Sig is over SignedBytes().
type DecommissionRecord struct {
	Serial  string `cbor:"serial"`
	Token   []byte `cbor:"token"`
	Counter uint64 `cbor:"counter"`
	Wiped   uint8  `cbor:"wiped"`
	Sig     []byte `cbor:"sig"`
}

// SignedBytes returns the bytes the unit signs for a decommission record:
// DecommissionContext ‖ token (16) ‖ u64be counter ‖ u8 wiped ‖ serial.
func (d DecommissionRecord) SignedBytes() []byte {
	b := append([]byte(DecommissionContext), d.Token...)
	b = binary.BigEndian.AppendUint64(b, d.Counter)
	b = append(b, d.Wiped)
	return append(b, d.Serial...)
}

// crockford is Crockford's base32 alphabet: no I, L, O or U, so a code read
// off a box is not misread.
var crockford = base32.NewEncoding("0123456789ABCDEFGHJKMNPQRSTVWXYZ").WithPadding(base32.NoPadding)

// LabelCode returns the code printed on a unit's box for its Ed25519 public
// key: the first 5 bytes of SHA-256(labelContext ‖ key) in Crockford base32,
// as two groups of four ("7KQ2-M9XD").
func LabelCode(signKey []byte) string {
	h := sha256.Sum256(append([]byte(labelContext), signKey...))
	s := crockford.EncodeToString(h[:5])
	return s[:4] + "-" + s[4:]
}

// Standard group schemas: the parts of Zephyr's OS, image, statistics and
// settings groups latchkey uses (smp_groups/smp_group_{0,1,2,3}.rst).

// Standard group ids and the command ids latchkey uses beyond those in
// internal/smp.
const (
	GroupImage    uint16 = 1
	GroupStats    uint16 = 2
	GroupSettings uint16 = 3

	ImgState  uint8 = 0
	ImgUpload uint8 = 1
	ImgErase  uint8 = 5

	StatsRead uint8 = 0
	StatsList uint8 = 1

	SettingsReadWrite uint8 = 0
)

// OSInfoRequest and OSInfoResponse are OS command 7.
type (
	OSInfoRequest struct {
		Format string `cbor:"format,omitempty"`
	}
	OSInfoResponse struct {
		Output string `cbor:"output"`
	}
)

// DateTime is the body of OS command 4 (read answer, write request).
type DateTime struct {
	DateTime string `cbor:"datetime"`
}

// ResetRequest is the request of OS command 5.
type ResetRequest struct {
	Force uint8 `cbor:"force,omitempty"`
}

// ImageSlot is one entry of the image state list.
type ImageSlot struct {
	Image     uint32 `cbor:"image,omitempty"`
	Slot      uint32 `cbor:"slot"`
	Version   string `cbor:"version"`
	Hash      []byte `cbor:"hash,omitempty"`
	Bootable  bool   `cbor:"bootable,omitempty"`
	Pending   bool   `cbor:"pending,omitempty"`
	Confirmed bool   `cbor:"confirmed,omitempty"`
	Active    bool   `cbor:"active,omitempty"`
	Permanent bool   `cbor:"permanent,omitempty"`
}

// ImageState is the answer to image command 0 (read and write).
type ImageState struct {
	Images []ImageSlot `cbor:"images"`
}

// ImageStateRequest is the request of image command 0 (write): test the
// image with Hash, or confirm it (Hash optional: the running image).
type ImageStateRequest struct {
	Hash    []byte `cbor:"hash,omitempty"`
	Confirm bool   `cbor:"confirm"`
}

// ImageUploadRequest is one chunk of image command 1. Len and SHA (the
// SHA-256 of the whole upload, which names the upload session so it can be
// resumed) are sent with Off 0 only.
type ImageUploadRequest struct {
	Image   uint32 `cbor:"image,omitempty"`
	Len     uint32 `cbor:"len,omitempty"`
	Off     uint32 `cbor:"off"`
	SHA     []byte `cbor:"sha,omitempty"`
	Data    []byte `cbor:"data"`
	Upgrade bool   `cbor:"upgrade,omitempty"`
}

// ImageUploadResponse answers a chunk: Off is the offset the unit expects
// next. Match, in the answer to the last chunk, says whether the upload
// matched SHA.
type ImageUploadResponse struct {
	Off   uint64 `cbor:"off"`
	Match *bool  `cbor:"match,omitempty"`
}

// ImageEraseRequest is the request of image command 5.
type ImageEraseRequest struct {
	Slot uint32 `cbor:"slot,omitempty"`
}

// StatsReadRequest and StatsGroup are statistics command 0.
type (
	StatsReadRequest struct {
		Name string `cbor:"name"`
	}
	StatsGroup struct {
		Name   string            `cbor:"name"`
		Fields map[string]uint64 `cbor:"fields"`
	}
)

// StatsListResponse is the answer to statistics command 1.
type StatsListResponse struct {
	List []string `cbor:"stat_list"`
}

// SettingsReadRequest, SettingsReadResponse and SettingsWriteRequest are
// settings command 0.
type (
	SettingsReadRequest struct {
		Name    string `cbor:"name"`
		MaxSize uint32 `cbor:"max_size,omitempty"`
	}
	SettingsReadResponse struct {
		Val     []byte `cbor:"val"`
		MaxSize uint32 `cbor:"max_size,omitempty"`
	}
	SettingsWriteRequest struct {
		Name string `cbor:"name"`
		Val  []byte `cbor:"val"`
	}
)

// CheckPAE reports whether msg is a DSSE pre-authentication encoding of a
// latchkey record, the only thing a unit countersigns:
//
//	"DSSEv1" SP LEN(type) SP type SP LEN(body) SP body
//
// with LEN an ASCII decimal without leading zeros and type starting with
// DSSETypePrefix. The error wraps ErrNotDSSE.
func CheckPAE(msg []byte) error {
	rest, ok := bytes.CutPrefix(msg, []byte(DSSEPrefix))
	if !ok {
		return fmt.Errorf("%w: no %q prefix", ErrNotDSSE, DSSEPrefix)
	}
	field := func(what string) ([]byte, error) {
		sp := bytes.IndexByte(rest, ' ')
		if sp <= 0 || sp > 7 || (rest[0] == '0' && sp > 1) {
			return nil, fmt.Errorf("%w: bad %s length", ErrNotDSSE, what)
		}
		n := 0
		for _, c := range rest[:sp] {
			if c < '0' || c > '9' {
				return nil, fmt.Errorf("%w: bad %s length", ErrNotDSSE, what)
			}
			n = n*10 + int(c-'0')
		}
		rest = rest[sp+1:]
		if n > len(rest) {
			return nil, fmt.Errorf("%w: %s length %d runs past the message", ErrNotDSSE, what, n)
		}
		f := rest[:n]
		rest = rest[n:]
		return f, nil
	}
	typ, err := field("payload type")
	if err != nil {
		return err
	}
	if !bytes.HasPrefix(typ, []byte(DSSETypePrefix)) {
		return fmt.Errorf("%w: payload type %q is not %s*", ErrNotDSSE, typ, DSSETypePrefix)
	}
	if len(rest) == 0 || rest[0] != ' ' {
		return fmt.Errorf("%w: no space after the payload type", ErrNotDSSE)
	}
	rest = rest[1:]
	if _, err := field("payload"); err != nil {
		return err
	}
	if len(rest) != 0 {
		return fmt.Errorf("%w: %d bytes after the payload", ErrNotDSSE, len(rest))
	}
	return nil
}
