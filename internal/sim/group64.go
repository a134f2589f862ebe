package sim

import (
	"bytes"
	"context"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/hpke"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/fxamacker/cbor/v2"

	"github.com/latchkey/latchkey/internal/device"
	"github.com/latchkey/latchkey/internal/provision"
	"github.com/latchkey/latchkey/internal/smp"
)

// This file is the unit side of latchkey's own SMP group, 64, as
// docs/protocol.md section 4 specifies it, with the schemas of
// internal/device/proto.go. It plugs into [Serve] as an [Extension]:
//
//	lk := sim.NewLatchkey(sim.LatchkeyConfig{Seed: seed})
//	sim.Serve(ctx, sim.Options{Unit: u, Extensions: []sim.Extension{lk.Extension()}, …})
//
// What a unit keeps in flash (identity keys, certificate chain, counter,
// key slots and receipts, door configuration, decommissioned state) lives
// in State.Ext["latchkey"] and is changed only through Unit.Update, so it
// is written crash-safely with the rest of the unit's memory. What a unit
// keeps in RAM (attestation nonces seen, the countersign message, the
// decommission token) is dropped at every boot, as docs/protocol.md says.

// extKey names the group's entry in State.Ext.
const extKey = "latchkey"

// lkFormat is the version of the persistent data below.
const lkFormat = 1

// unitSlots is how many key slots the virtual unit has: the protocol's
// maximum.
const unitSlots = device.MaxSlots

// attestMemory is how many attestation nonces the unit remembers since
// boot; docs/protocol.md 4.2 asks for at least 64.
const attestMemory = 256

// defaultTokenTTL is how long a decommission token is valid
// (docs/protocol.md 4.9: 60 s by default).
const defaultTokenTTL = 60 * time.Second

// Simulated readings: a unit on a 12 V intercom supply with good LTE.
const (
	simSupplyMV = 12040
	simRSSI     = -71
	simRSRP     = -98
	simCoilMA   = 85
)

// Unsealer opens the sealed key of a burn request with the unit's X25519
// key. serial is the unit's own; the sealer binds it and the request's
// slot, job and nonce into the seal, so a seal made for another unit, slot,
// job or nonce must not open. It returns the plaintext key, or an error if
// the seal does not open.
type Unsealer func(kex *ecdh.PrivateKey, serial string, req device.BurnRequest) ([]byte, error)

// errNoUnsealer is why a unit configured without an Unsealer answers
// every burn SEAL_INVALID.
var errNoUnsealer = errors.New("no unsealer configured")

// LatchkeyConfig configures the latchkey group of a virtual unit.
type LatchkeyConfig struct {
	// Seed, with the unit's serial, derives its identity keys when the
	// unit is first made (the sim's --seed). Later starts load the keys
	// from the unit's state.
	Seed uint64
	// Chain issues the certificate chain when the unit is first made; nil
	// means SeededFactory{Seed}. A source that returns no certificates
	// makes a unit without a factory certificate, which answers
	// ATTEST_KEY_MISSING.
	Chain ChainSource
	// Unseal opens sealed keys for burns: provision.OpenKey opens the
	// seals latchkey makes (docs/protocol.md leaves the HPKE suite and
	// info to internal/provision), and `latchkey sim` and
	// simtest.LatchkeyConfig use it. nil answers every burn of an empty
	// slot SEAL_INVALID, a unit that never pretends to have stored a key.
	Unseal Unsealer
	// OperatorKey, if set, is the operator decommission key a unit is
	// provisioned with: decommission then requires its signature over
	// device.DecommissionAuthMessage.
	OperatorKey ed25519.PublicKey
	// TokenTTL is how long a decommission token is valid; zero means 60 s.
	TokenTTL time.Duration
	// Counterfeit makes a new unit a fake of this kind (see [Counterfeit]).
	// It applies when the unit is first made; the mode is then kept in its
	// state, and Init refuses a different non-empty mode for a unit made
	// earlier.
	Counterfeit Counterfeit
}

// Latchkey is the latchkey group of one virtual unit. It is safe for
// concurrent use; create it with [NewLatchkey].
type Latchkey struct {
	cfg LatchkeyConfig

	mu     sync.Mutex
	unit   *Unit
	ram    lkRAM
	tamper bool // the enclosure switch: physical, so it survives a reset

	// tokenRand makes decommission tokens; nil means crypto/rand. Fuzz
	// tests set a fixed source so that a seed can carry a valid token.
	tokenRand io.Reader
}

// lkRAM is what the unit forgets at every boot.
type lkRAM struct {
	boots    uint64 // the boot the rest belongs to
	nonces   [][device.NonceSize]byte
	cs       csSession
	token    []byte
	tokenExp time.Time
}

type csSession struct {
	active bool
	size   int
	sha    []byte
	data   []byte
	sig    []byte // once the message is complete and signed
}

// lkState is the group's persistent data, State.Ext["latchkey"].
type lkState struct {
	Format int `json:"format"`
	// SignSeed is the Ed25519 private key seed, KexKey the X25519 private
	// key: the unit's identity. secret keeps them out of any printout.
	SignSeed secret `json:"sign_seed"`
	KexKey   secret `json:"kex_key"`
	// Chain is the factory certificate chain, unit certificate first, root
	// excluded; empty for a unit without one.
	Chain [][]byte `json:"chain,omitempty"`
	// Counter is the persistent counter of docs/protocol.md 6.6.
	Counter        uint64            `json:"counter"`
	Slots          []lkSlot          `json:"slots"`
	Door           device.DoorConfig `json:"door"`
	Decommissioned bool              `json:"decommissioned,omitempty"`
	// Decommission is the record the unit signed when it was wiped.
	Decommission *device.DecommissionRecord `json:"decommission,omitempty"`
	// Counterfeit is the kind of fake this unit is; "" for a genuine one.
	Counterfeit Counterfeit `json:"counterfeit,omitempty"`
	// PresentSign and PresentKex are the public keys a cloned unit
	// presents (its victim's); it holds no private half of them.
	PresentSign []byte `json:"present_sign_key,omitempty"`
	PresentKex  []byte `json:"present_kex_key,omitempty"`
	// Replay is the attestation a replaying unit answers with.
	Replay *lkReplay `json:"replay,omitempty"`
}

type lkSlot struct {
	State string `json:"state"`
	// Key is the building key in a written slot.
	Key secret `json:"key,omitempty"`
	// Receipt is kept exactly as signed at burn time (command 7).
	Receipt *device.Receipt `json:"receipt,omitempty"`
}

// NewLatchkey returns the latchkey group for a unit; register it with
// [Latchkey.Extension].
func NewLatchkey(cfg LatchkeyConfig) *Latchkey {
	if cfg.Chain == nil {
		cfg.Chain = SeededFactory{Seed: cfg.Seed}
	}
	if cfg.TokenTTL <= 0 {
		cfg.TokenTTL = defaultTokenTTL
	}
	return &Latchkey{cfg: cfg}
}

// UnitInfo is the public identity of a unit: what its box and its
// identity answer show.
type UnitInfo struct {
	Serial  string
	Label   string // device.LabelCode of SignKey, as printed on the box
	SignKey ed25519.PublicKey
	KexKey  []byte
	// Chain is the factory certificate chain, unit first, root excluded.
	Chain [][]byte
	// Counterfeit is the kind of fake the unit is; "" for a genuine one.
	Counterfeit Counterfeit
}

// Init makes sure unit u has its identity keys and certificate chain,
// creating them on the unit's first start, and returns its public
// identity. [Latchkey.Extension] does the same when the group is
// registered; call Init first to see an error or print the label.
func (l *Latchkey) Init(u *Unit) (UnitInfo, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.bind(u)
	v, err := l.load(u)
	if err != nil {
		return UnitInfo{}, err
	}
	if l.cfg.Counterfeit != Genuine && l.cfg.Counterfeit != v.lk.Counterfeit {
		was := "genuine"
		if v.lk.Counterfeit != Genuine {
			was = "counterfeit " + string(v.lk.Counterfeit)
		}
		return UnitInfo{}, fmt.Errorf("sim: unit %s was made %s; a counterfeit mode applies only to a unit made fresh (use a new state directory)", v.id.Serial, was)
	}
	k, err := v.keys()
	if err != nil {
		return UnitInfo{}, err
	}
	sign, kex := v.lk.publicKeys(k)
	return UnitInfo{
		Serial: v.id.Serial, Label: device.LabelCode(sign), SignKey: sign,
		KexKey: kex, Chain: v.lk.Chain, Counterfeit: v.lk.Counterfeit,
	}, nil
}

// Label returns the unit's label code (docs/protocol.md 6.5), as printed on
// its box: device.LabelCode of the signing key it presents. It is "" for a
// unit whose latchkey identity was never made (the group was never
// registered) or cannot be read.
func (u *Unit) Label() string {
	var lk lkState
	err := errors.New("no latchkey identity")
	u.View(func(st State) {
		if raw, ok := st.Ext[extKey]; ok {
			lk, err = decodeLK(raw)
		}
	})
	if err != nil {
		return ""
	}
	k, err := loadUnitKeys(lk.SignSeed, lk.KexKey)
	if err != nil {
		return ""
	}
	sign, _ := lk.publicKeys(k)
	return device.LabelCode(sign)
}

// SetTamper opens (true) or closes the unit's enclosure switch, as a test
// or a trainer would by hand; the unit logs tamper.open or tamper.close.
func (l *Latchkey) SetTamper(open bool) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.unit == nil {
		return errors.New("sim: latchkey group not registered with a unit")
	}
	if l.tamper == open {
		return nil
	}
	l.tamper = open
	if open {
		return l.unit.LogEvent("tamper.open", "enclosure opened")
	}
	return l.unit.LogEvent("tamper.close", "enclosure closed")
}

// Extension returns the [Extension] that registers group 64 on a server.
// It also maps group-64 errors to their legacy codes for SMP version 1
// requests (device.Translate), keeping the server's translation for the
// other groups.
func (l *Latchkey) Extension() Extension {
	return func(u *Unit, s *smp.Server) {
		l.mu.Lock()
		l.bind(u)
		_, _ = l.load(u) // create the identity now; a failure answers per request
		l.mu.Unlock()
		l.register(u, s)
	}
}

// bind attaches the group to u; a different unit starts with empty RAM.
func (l *Latchkey) bind(u *Unit) {
	if l.unit != u {
		l.unit, l.ram, l.tamper = u, lkRAM{}, false
	}
}

// lkView is what a handler reads: the group's data and the unit's
// identity, copied under the unit's lock.
type lkView struct {
	lk    lkState
	id    Identity
	fw    string
	boots uint64
}

func (v lkView) keys() (unitKeys, error) { return loadUnitKeys(v.lk.SignSeed, v.lk.KexKey) }

func decodeLK(raw json.RawMessage) (lkState, error) {
	var st lkState
	if err := json.Unmarshal(raw, &st); err != nil {
		return lkState{}, fmt.Errorf("%w: latchkey data: %v", ErrCorrupt, err)
	}
	if st.Format != lkFormat {
		return lkState{}, fmt.Errorf("%w: latchkey data format %d, this build reads %d", ErrCorrupt, st.Format, lkFormat)
	}
	if len(st.Slots) != unitSlots {
		return lkState{}, fmt.Errorf("%w: latchkey data has %d key slots, want %d", ErrCorrupt, len(st.Slots), unitSlots)
	}
	if _, err := loadUnitKeys(st.SignSeed, st.KexKey); err != nil {
		return lkState{}, fmt.Errorf("%w: latchkey identity: %v", ErrCorrupt, err)
	}
	if err := st.checkCounterfeit(); err != nil {
		return lkState{}, fmt.Errorf("%w: latchkey identity: %v", ErrCorrupt, err)
	}
	for i, s := range st.Slots {
		ok := false
		switch s.State {
		case device.SlotEmpty, device.SlotWiped:
			ok = s.Key == nil && s.Receipt == nil
		case device.SlotWritten:
			ok = (len(s.Key) == 16 || len(s.Key) == 32) && s.Receipt != nil && s.Receipt.Slot == uint8(i)
		}
		if !ok {
			return lkState{}, fmt.Errorf("%w: latchkey key slot %d is inconsistent", ErrCorrupt, i)
		}
	}
	if st.Door.Hours == nil {
		st.Door.Hours = []device.AccessWindow{}
	}
	return st, nil
}

// load returns the group's data, making the unit's identity on its first
// start: keys from the seed and serial, the chain from the chain source.
func (l *Latchkey) load(u *Unit) (lkView, error) {
	var v lkView
	var err error
	missing := false
	u.View(func(st State) {
		v.id, v.boots = st.Identity, st.Boots
		v.fw = st.Slots[0].Version
		raw, ok := st.Ext[extKey]
		if !ok {
			missing = true
			return
		}
		v.lk, err = decodeLK(raw)
	})
	if err != nil || !missing {
		l.syncRAM(v.boots)
		return v, err
	}
	err = u.Update(func(st *State) error {
		if _, ok := st.Ext[extKey]; ok {
			return nil // made meanwhile
		}
		lk, err := l.factory(st, u.now())
		if err != nil {
			return err
		}
		raw, err := json.Marshal(lk)
		if err != nil {
			return err
		}
		if st.Ext == nil {
			st.Ext = map[string]json.RawMessage{}
		}
		st.Ext[extKey] = raw
		u.logLocked("factory", "identity keys and certificate chain")
		return nil
	})
	if err != nil {
		return lkView{}, fmt.Errorf("sim: make unit identity: %w", err)
	}
	return l.load(u)
}

// factory makes a new unit's group data; a counterfeit clone also takes
// its victim's serial in st.
func (l *Latchkey) factory(st *State, now time.Time) (lkState, error) {
	signSeed, kexPriv, err := newUnitKeys(l.cfg.Seed, st.Identity.Serial)
	if err != nil {
		return lkState{}, err
	}
	k, err := loadUnitKeys(signSeed, kexPriv)
	if err != nil {
		return lkState{}, err
	}
	var lk lkState
	if err := l.issueCounterfeit(st, &lk, k, now); err != nil {
		return lkState{}, err
	}
	chain := lk.Chain
	if len(chain) > device.MaxChain {
		return lkState{}, fmt.Errorf("issue certificate chain: %d certificates, the protocol carries %d", len(chain), device.MaxChain)
	}
	for i, c := range chain {
		if len(c) == 0 || len(c) > device.MaxCertSize {
			return lkState{}, fmt.Errorf("issue certificate chain: certificate %d is %d bytes, the protocol carries 1 to %d", i, len(c), device.MaxCertSize)
		}
	}
	lk.Format, lk.SignSeed, lk.KexKey = lkFormat, signSeed, kexPriv
	lk.Slots = make([]lkSlot, unitSlots)
	// A new unit lets no courier in (docs/protocol.md 4.8).
	lk.Door = device.DoorConfig{Courier: false, Hours: []device.AccessWindow{}, PulseMS: 500, Mode: device.FailSecure, TZ: "UTC0"}
	for i := range lk.Slots {
		lk.Slots[i].State = device.SlotEmpty
	}
	return lk, nil
}

// syncRAM drops the RAM state when the unit has booted since it was made.
func (l *Latchkey) syncRAM(boots uint64) {
	if l.ram.boots != boots {
		l.ram = lkRAM{boots: boots}
	}
}

// update changes the group's data through fn and saves it with the rest of
// the unit's memory, atomically; fn may log events with u.logLocked. If fn
// or the save fails nothing changes.
func (l *Latchkey) update(u *Unit, fn func(st *lkState) error) error {
	return u.Update(func(st *State) error {
		lk, err := decodeLK(st.Ext[extKey])
		if err != nil {
			return err
		}
		if err := fn(&lk); err != nil {
			return err
		}
		raw, err := json.Marshal(lk)
		if err != nil {
			return err
		}
		st.Ext[extKey] = raw
		return nil
	})
}

func lkFail(c device.ErrorCode) (any, error) { return nil, c.SMP() }

// lkCall is one request as a handler sees it.
type lkCall struct {
	u   *Unit
	v   lkView
	req smp.Message
	buf int // the server's buf_size
}

// fits reports whether body, CBOR-encoded, makes a response message of at
// most buf_size bytes (docs/protocol.md 2.1).
func (c *lkCall) fits(body any) bool {
	b, err := smp.EncodeCBOR(body)
	return err == nil && smp.HeaderSize+len(b) <= c.buf
}

// register adds the group's handlers to s.
func (l *Latchkey) register(u *Unit, s *smp.Server) {
	prev := s.Translate
	s.Translate = func(group uint16, rc int) smp.MgmtErr {
		if group == device.GroupLatchkey {
			return device.Translate(group, rc)
		}
		if prev != nil {
			return prev(group, rc)
		}
		return smp.MgmtUnknown
	}
	buf := s.BufSize
	if buf <= 0 {
		buf = smp.DefaultBufSize
	}
	h := func(id uint8, op smp.Op, fn func(*lkCall) (any, error)) {
		s.Handle(device.GroupLatchkey, id, op, func(_ context.Context, req smp.Message) (any, error) {
			l.mu.Lock()
			defer l.mu.Unlock()
			l.bind(u)
			v, err := l.load(u)
			if err != nil {
				return lkFail(device.ErrUnknown)
			}
			if v.lk.Decommissioned && id != device.CmdIdentity {
				return lkFail(device.ErrDecommissioned)
			}
			return fn(&lkCall{u: u, v: v, req: req, buf: buf})
		})
	}
	h(device.CmdIdentity, smp.OpRead, l.identity)
	h(device.CmdAttest, smp.OpRead, l.attest)
	h(device.CmdCert, smp.OpRead, l.cert)
	h(device.CmdStatus, smp.OpRead, l.status)
	h(device.CmdSelfTests, smp.OpRead, l.selfTests)
	h(device.CmdSelfTests, smp.OpWrite, l.runSelfTests)
	h(device.CmdSlots, smp.OpRead, l.slots)
	h(device.CmdBurn, smp.OpWrite, l.burn)
	h(device.CmdReceipt, smp.OpRead, l.receipt)
	h(device.CmdEvents, smp.OpRead, l.events)
	h(device.CmdCountersign, smp.OpWrite, l.countersign)
	h(device.CmdDoor, smp.OpRead, l.doorRead)
	h(device.CmdDoor, smp.OpWrite, l.doorWrite)
	h(device.CmdDecommission, smp.OpRead, l.decommissionToken)
	h(device.CmdDecommission, smp.OpWrite, l.decommission)
}

// decodeReq decodes a request body into v after checking it is a CBOR map
// holding every member in required; anything else is EINVAL
// (docs/protocol.md 1.3). Pointer members in v tell absent from zero.
func decodeReq(body []byte, v any, required ...string) error {
	var m map[string]cbor.RawMessage
	if err := smp.DecodeCBOR(body, &m); err != nil {
		return smp.MgmtInval
	}
	for _, k := range required {
		if _, ok := m[k]; !ok {
			return smp.MgmtInval
		}
	}
	if v != nil {
		if err := smp.DecodeCBOR(body, v); err != nil {
			return smp.MgmtInval
		}
	}
	return nil
}

// validText is the protocol's rule for text a unit shows on a terminal:
// 1 to max bytes of UTF-8 without control characters.
func validText(s string, maxLen int) bool {
	if s == "" || len(s) > maxLen || !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return false
		}
	}
	return true
}

// cleanText makes s valid event text: control characters and invalid
// UTF-8 become '?', and it is cut to at most maxLen bytes on a rune
// boundary. Event details can hold what a client sent (a setting name).
func cleanText(s string, maxLen int) string {
	var b strings.Builder
	for _, r := range strings.ToValidUTF8(s, "?") {
		if unicode.IsControl(r) {
			r = '?'
		}
		if b.Len()+utf8.RuneLen(r) > maxLen {
			break
		}
		b.WriteRune(r)
	}
	return b.String()
}

func (l *Latchkey) identity(c *lkCall) (any, error) {
	if err := decodeReq(c.req.Body, nil); err != nil {
		return nil, err
	}
	k, err := c.v.keys()
	if err != nil {
		return lkFail(device.ErrUnknown)
	}
	state := device.StateNew
	switch {
	case c.v.lk.Decommissioned:
		state = device.StateDecommissioned
	case c.v.lk.written() > 0:
		state = device.StateProvisioned
	}
	sign, kex := c.v.lk.publicKeys(k)
	return device.Identity{
		Serial: c.v.id.Serial, Model: c.v.id.Model, Hardware: c.v.id.HWRev, Firmware: c.v.fw,
		SignKey: sign, KexKey: kex, Label: device.LabelCode(sign),
		State: state, Slots: unitSlots, Proto: device.ProtoVersion,
	}, nil
}

func (st lkState) written() int {
	n := 0
	for _, s := range st.Slots {
		if s.State == device.SlotWritten {
			n++
		}
	}
	return n
}

func (l *Latchkey) attest(c *lkCall) (any, error) {
	var r device.AttestRequest
	if err := decodeReq(c.req.Body, &r, "nonce"); err != nil || len(r.Nonce) != device.NonceSize {
		return nil, smp.MgmtInval
	}
	if len(c.v.lk.Chain) == 0 {
		return lkFail(device.ErrAttestKeyMissing)
	}
	nonce := [device.NonceSize]byte(r.Nonce)
	for _, n := range l.ram.nonces {
		if n == nonce {
			return lkFail(device.ErrNonceReused)
		}
	}
	k, err := c.v.keys()
	if err != nil {
		return lkFail(device.ErrUnknown)
	}
	if len(l.ram.nonces) == attestMemory {
		l.ram.nonces = l.ram.nonces[1:]
	}
	l.ram.nonces = append(l.ram.nonces, nonce)
	sig := ed25519.Sign(k.sign, device.AttestationMessage(r.Nonce, c.v.id.Serial))
	if c.v.lk.Replay != nil {
		// A replaying counterfeit: the signature over the nonce it
		// captured, whatever was asked.
		sig = bytes.Clone(c.v.lk.Replay.Sig)
	}
	rsp := device.AttestResponse{
		Sig:   sig,
		Chain: [][]byte{},
		Count: uint8(len(c.v.lk.Chain)),
	}
	// As many whole certificates as fit; the client reads the rest with
	// command 2 (docs/protocol.md 4.2).
	for _, der := range c.v.lk.Chain {
		try := rsp
		try.Chain = append(rsp.Chain[:len(rsp.Chain):len(rsp.Chain)], der)
		if !c.fits(try) {
			break
		}
		rsp = try
	}
	_ = c.u.LogEvent("attest", "")
	return rsp, nil
}

func (l *Latchkey) cert(c *lkCall) (any, error) {
	var r struct {
		Index uint64 `cbor:"index"`
	}
	if err := decodeReq(c.req.Body, &r, "index"); err != nil {
		return nil, err
	}
	switch {
	case len(c.v.lk.Chain) == 0:
		return lkFail(device.ErrAttestKeyMissing)
	case r.Index >= uint64(len(c.v.lk.Chain)):
		return lkFail(device.ErrCertMissing)
	}
	return device.CertResponse{Index: uint8(r.Index), DER: c.v.lk.Chain[r.Index]}, nil
}

func (c *lkCall) slotStates() []string {
	out := make([]string, len(c.v.lk.Slots))
	for i, s := range c.v.lk.Slots {
		out[i] = s.State
	}
	return out
}

func (l *Latchkey) status(c *lkCall) (any, error) {
	if err := decodeReq(c.req.Body, nil); err != nil {
		return nil, err
	}
	rssi, rsrp := int16(simRSSI), int16(simRSRP)
	t := c.u.clockNow().Unix()
	return device.Status{
		Relay: device.RelayOff, Tamper: l.tamper, SupplyMV: simSupplyMV,
		Modem: device.ModemRegistered, RSSI: &rssi, RSRP: &rsrp,
		Uptime: uint64(c.u.uptime() / time.Second), Time: uint64(max(t, 0)),
		Slots: c.slotStates(),
	}, nil
}

// clockNow is the unit's clock.
func (u *Unit) clockNow() time.Time {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.clockLocked()
}

// selfTestList is what docs/protocol.md 4.4 says a unit provides.
var selfTestList = []device.SelfTest{
	{Name: "tamper", Desc: "enclosure switch readable and closed"},
	{Name: "supply", Desc: "supply voltage within 10-28 V"},
	{Name: "modem", Desc: "SIM present, registered, signal read"},
	{Name: "flash", Desc: "key store readable, counters consistent"},
	{Name: "crypto", Desc: "sign and verify with the unit key, HPKE self-seal"},
	{Name: "relay", Desc: "pulse the door relay and read the coil current", Relay: true},
}

func (l *Latchkey) selfTests(c *lkCall) (any, error) {
	if err := decodeReq(c.req.Body, nil); err != nil {
		return nil, err
	}
	return device.SelfTestList{Tests: selfTestList}, nil
}

func (l *Latchkey) runSelfTests(c *lkCall) (any, error) {
	var r struct {
		Name  string `cbor:"name"`
		Relay bool   `cbor:"relay"`
	}
	if err := decodeReq(c.req.Body, &r, "relay"); err != nil {
		return nil, err
	}
	var run []device.SelfTest
	for _, t := range selfTestList {
		if r.Name == "" || r.Name == t.Name {
			run = append(run, t)
		}
	}
	if len(run) == 0 {
		return lkFail(device.ErrTestUnknown)
	}
	if r.Name != "" && run[0].Relay && !r.Relay {
		return lkFail(device.ErrRelayNotAllowed)
	}
	out := device.SelfTestResults{Results: []device.SelfTestResult{}}
	for _, t := range run {
		res := device.SelfTestResult{Name: t.Name}
		if t.Relay && !r.Relay {
			res.Result, res.Detail = device.TestSkipped, "relay flag not given"
		} else {
			res = l.runTest(c, t.Name)
		}
		out.Results = append(out.Results, res)
	}
	return out, nil
}

// runTest runs one self-test against the unit's simulated hardware.
func (l *Latchkey) runTest(c *lkCall, name string) device.SelfTestResult {
	res := func(ok bool, ms uint32, detail string) device.SelfTestResult {
		r := device.SelfTestResult{Name: name, Result: device.TestPass, Detail: detail, MS: ms}
		if !ok {
			r.Result = device.TestFail
		}
		return r
	}
	switch name {
	case "tamper":
		if l.tamper {
			return res(false, 2, "enclosure open")
		}
		return res(true, 2, "switch closed")
	case "supply":
		return res(true, 5, fmt.Sprintf("%.2f V", float64(simSupplyMV)/1000))
	case "modem":
		return res(true, 1840, fmt.Sprintf("registered, rssi %d dBm, rsrp %d dBm", simRSSI, simRSRP))
	case "flash":
		var maxCounter uint64
		for _, s := range c.v.lk.Slots {
			if s.Receipt != nil {
				maxCounter = max(maxCounter, s.Receipt.Counter)
			}
		}
		if maxCounter > c.v.lk.Counter {
			return res(false, 14, fmt.Sprintf("slot counter %d above unit counter %d", maxCounter, c.v.lk.Counter))
		}
		return res(true, 14, fmt.Sprintf("key store readable, counter %d", c.v.lk.Counter))
	case "crypto":
		if err := cryptoSelfTest(c.v); err != nil {
			return res(false, 31, cleanText(err.Error(), device.MaxTestText))
		}
		return res(true, 31, "ed25519 sign/verify and hpke self-seal ok")
	case "relay":
		// The pulse is not waited out: the answer reports the configured
		// length as the time taken.
		pulse := c.v.lk.Door.PulseMS
		c.u.Count("door", "relay_pulses", 1)
		_ = c.u.LogEvent("door.pulse", fmt.Sprintf("self-test pulse %d ms", pulse))
		return res(true, uint32(pulse), fmt.Sprintf("pulsed %d ms, coil %d mA", pulse, simCoilMA))
	}
	return res(false, 0, "not implemented")
}

// cryptoSelfTest signs and verifies with the unit key and seals a message
// to the unit's X25519 key with HPKE (DHKEM(X25519), HKDF-SHA256,
// ChaCha20-Poly1305) and opens it again.
func cryptoSelfTest(v lkView) error {
	k, err := v.keys()
	if err != nil {
		return err
	}
	msg := []byte("latchkey self-test v1\x00" + v.id.Serial)
	if !ed25519.Verify(k.signPub(), msg, ed25519.Sign(k.sign, msg)) {
		return errors.New("ed25519 signature does not verify")
	}
	pk, err := hpke.NewDHKEMPublicKey(k.kex.PublicKey())
	if err != nil {
		return err
	}
	sk, err := hpke.NewDHKEMPrivateKey(k.kex)
	if err != nil {
		return err
	}
	ct, err := hpke.Seal(pk, hpke.HKDFSHA256(), hpke.ChaCha20Poly1305(), msg, msg)
	if err != nil {
		return err
	}
	pt, err := hpke.Open(sk, hpke.HKDFSHA256(), hpke.ChaCha20Poly1305(), msg, ct)
	if err != nil || !bytes.Equal(pt, msg) {
		return errors.New("hpke self-seal does not open")
	}
	return nil
}

func (l *Latchkey) slots(c *lkCall) (any, error) {
	if err := decodeReq(c.req.Body, nil); err != nil {
		return nil, err
	}
	out := device.SlotList{Slots: make([]device.Slot, 0, len(c.v.lk.Slots))}
	for i, s := range c.v.lk.Slots {
		sl := device.Slot{Slot: uint8(i), State: s.State}
		if s.State == device.SlotWritten {
			r := s.Receipt
			sl.Job, sl.KCV, sl.KCVAlg, sl.Counter = r.Job, r.KCV, r.KCVAlg, r.Counter
		}
		out.Slots = append(out.Slots, sl)
	}
	return out, nil
}

// burn follows docs/protocol.md 4.5 step by step.
func (l *Latchkey) burn(c *lkCall) (any, error) {
	var r struct {
		Slot   uint64  `cbor:"slot"`
		Job    *string `cbor:"job"`
		Nonce  []byte  `cbor:"nonce"`
		Sealed []byte  `cbor:"sealed"`
	}
	if err := decodeReq(c.req.Body, &r, "slot", "job", "nonce", "sealed"); err != nil {
		return nil, err
	}
	if r.Job == nil || !validText(*r.Job, device.MaxJob) || len(r.Nonce) != device.NonceSize || len(r.Sealed) == 0 {
		return nil, smp.MgmtInval
	}
	// 1.
	switch {
	case r.Slot >= uint64(len(c.v.lk.Slots)):
		return lkFail(device.ErrSlotInvalid)
	case len(r.Sealed) > device.MaxSealed:
		return lkFail(device.ErrMessageTooLarge)
	}
	for _, s := range c.v.lk.Slots {
		if s.Receipt != nil && bytes.Equal(s.Receipt.Nonce, r.Nonce) {
			return lkFail(device.ErrNonceReused)
		}
	}
	slot := uint8(r.Slot)
	// 2.
	if c.v.lk.Slots[slot].State != device.SlotEmpty {
		return lkFail(device.ErrSlotWritten)
	}
	// 3.
	k, err := c.v.keys()
	if err != nil {
		return lkFail(device.ErrUnknown)
	}
	req := device.BurnRequest{Slot: slot, Job: *r.Job, Nonce: r.Nonce, Sealed: r.Sealed}
	var key []byte
	if l.cfg.Unseal == nil {
		err = errNoUnsealer
	} else {
		key, err = l.cfg.Unseal(k.kex, c.v.id.Serial, req)
	}
	defer clear(key)
	if err != nil {
		return lkFail(device.ErrSealInvalid)
	}
	if len(key) != 16 && len(key) != 32 {
		return lkFail(device.ErrKeyInvalid)
	}
	// 4.
	kcv, err := provision.KCV(key)
	if err != nil {
		return lkFail(device.ErrKeyInvalid)
	}
	// 5. One atomic write of key, receipt and counter, then a read-back.
	rc := device.Receipt{
		Serial: c.v.id.Serial, Slot: slot, Job: req.Job, Counter: c.v.lk.Counter + 1,
		Nonce: bytes.Clone(req.Nonce), KCV: kcv, KCVAlg: device.KCVCMAC,
	}
	rc.Sig = ed25519.Sign(k.sign, rc.SignedBytes())
	err = l.update(c.u, func(st *lkState) error {
		if st.Slots[slot].State != device.SlotEmpty || st.Counter+1 != rc.Counter {
			return errors.New("slot changed under the burn")
		}
		st.Counter = rc.Counter
		st.Slots[slot] = lkSlot{State: device.SlotWritten, Key: bytes.Clone(key), Receipt: &rc}
		c.u.logLocked("slot.burn", cleanText(fmt.Sprintf("slot %d, job %s, counter %d", slot, req.Job, rc.Counter), device.MaxEventMsg))
		return nil
	})
	if err != nil {
		return lkFail(device.ErrStorage)
	}
	back, err := l.load(c.u)
	if err != nil {
		return lkFail(device.ErrStorage)
	}
	got := back.lk.Slots[slot]
	if got.State != device.SlotWritten || !bytes.Equal(got.Key, key) || got.Receipt == nil || !bytes.Equal(got.Receipt.Sig, rc.Sig) {
		return lkFail(device.ErrStorage)
	}
	// 6. key is cleared by the deferred call.
	return rc, nil
}

func (l *Latchkey) receipt(c *lkCall) (any, error) {
	var r struct {
		Slot uint64 `cbor:"slot"`
	}
	if err := decodeReq(c.req.Body, &r, "slot"); err != nil {
		return nil, err
	}
	if r.Slot >= uint64(len(c.v.lk.Slots)) {
		return lkFail(device.ErrSlotInvalid)
	}
	s := c.v.lk.Slots[r.Slot]
	if s.State != device.SlotWritten {
		return lkFail(device.ErrSlotEmpty)
	}
	return *s.Receipt, nil
}

// eventKinds maps the kinds the unit's core logs under to the protocol's
// names (docs/protocol.md 4.6); kinds not listed keep their names.
var eventKinds = map[string]string{
	"upload":  "fw.upload",
	"confirm": "fw.confirm",
	"pending": "fw.pending",
	"swap":    "fw.swap",
	"revert":  "fw.revert",
	"erase":   "fw.erase",
}

func protoEvent(e Event) device.Event {
	kind := e.Kind
	if k, ok := eventKinds[kind]; ok {
		kind = k
	}
	kind = cleanText(kind, device.MaxEventKind)
	if kind == "" {
		kind = "unknown"
	}
	t := e.Time.Unix()
	return device.Event{Seq: e.Seq, Time: uint64(max(t, 0)), Up: e.Up, Kind: kind, Msg: cleanText(e.Detail, device.MaxEventMsg)}
}

// cborHead is the length of a CBOR head for an argument of n.
func cborHead(n uint64) int {
	switch {
	case n < 24:
		return 1
	case n <= 0xff:
		return 2
	case n <= 0xffff:
		return 3
	case n <= 0xffffffff:
		return 5
	}
	return 9
}

func (l *Latchkey) events(c *lkCall) (any, error) {
	var r struct {
		Since uint64 `cbor:"since"`
		Max   uint64 `cbor:"max"`
	}
	if err := decodeReq(c.req.Body, &r, "since"); err != nil {
		return nil, err
	}
	var log []Event
	c.u.View(func(st State) {
		for _, e := range st.Events {
			if e.Seq >= r.Since {
				log = append(log, e)
			}
		}
	})
	page := device.EventPage{Events: []device.Event{}, Next: r.Since}
	// Sizes are added up rather than the page re-encoded per event:
	// a map of "events" (an array), "next" and "more".
	size, items := 0, 0
	for _, e := range log {
		if r.Max > 0 && uint64(items) == r.Max {
			page.More = true
			break
		}
		pe := protoEvent(e)
		b, err := smp.EncodeCBOR(pe)
		if err != nil {
			return lkFail(device.ErrUnknown)
		}
		next := pe.Seq + 1
		total := 1 + 7 + cborHead(uint64(items+1)) + size + len(b) + 5 + cborHead(next) + 5 + 1
		if smp.HeaderSize+total > c.buf {
			page.More = true
			break
		}
		size += len(b)
		items++
		page.Events = append(page.Events, pe)
		page.Next = next
	}
	if page.More && len(page.Events) == 0 {
		return nil, smp.MgmtMsgSize // buf_size below the protocol's floor
	}
	return page, nil
}

func (l *Latchkey) countersign(c *lkCall) (any, error) {
	var r struct {
		Off  uint64  `cbor:"off"`
		Len  *uint64 `cbor:"len"`
		SHA  []byte  `cbor:"sha"`
		Data []byte  `cbor:"data"`
	}
	if err := decodeReq(c.req.Body, &r, "off", "data"); err != nil {
		return nil, err
	}
	s := &l.ram.cs
	if r.Off == 0 {
		if r.Len == nil || len(r.SHA) != sha256.Size {
			return nil, smp.MgmtInval
		}
		*s = csSession{}
		if *r.Len > device.MaxCountersig {
			return lkFail(device.ErrMessageTooLarge)
		}
		*s = csSession{active: true, size: int(*r.Len), sha: bytes.Clone(r.SHA)}
	}
	answer := func() device.CountersignResponse {
		return device.CountersignResponse{Off: uint32(len(s.data)), Sig: s.sig}
	}
	if !s.active || r.Off != uint64(len(s.data)) {
		return answer(), nil // not stored; the client resends from here
	}
	if s.sig != nil && len(r.Data) == 0 {
		return answer(), nil
	}
	if len(r.Data) > s.size-len(s.data) {
		return lkFail(device.ErrMessageTooLarge)
	}
	s.data = append(s.data, r.Data...)
	if len(s.data) < s.size {
		return answer(), nil
	}
	if sum := sha256.Sum256(s.data); !bytes.Equal(sum[:], s.sha) {
		*s = csSession{}
		return lkFail(device.ErrMessageMismatch)
	}
	if err := device.CheckPAE(s.data); err != nil {
		*s = csSession{}
		return lkFail(device.ErrNotDSSE)
	}
	k, err := c.v.keys()
	if err != nil {
		return lkFail(device.ErrUnknown)
	}
	// Exactly the reassembled bytes, no prefix or hash of our own
	// (docs/protocol.md 4.7).
	s.sig = ed25519.Sign(k.sign, s.data)
	return answer(), nil
}

func (l *Latchkey) doorRead(c *lkCall) (any, error) {
	if err := decodeReq(c.req.Body, nil); err != nil {
		return nil, err
	}
	return c.v.lk.Door, nil
}

func (l *Latchkey) doorWrite(c *lkCall) (any, error) {
	// Wide types, so that a value out of range is CONFIG_INVALID rather
	// than a decode error.
	var r struct {
		Courier *bool `cbor:"courier"`
		Hours   []struct {
			Days *uint64 `cbor:"days"`
			From *uint64 `cbor:"from"`
			To   *uint64 `cbor:"to"`
		} `cbor:"hours"`
		PulseMS uint64 `cbor:"pulse_ms"`
		Mode    string `cbor:"mode"`
		TZ      string `cbor:"tz"`
	}
	if err := decodeReq(c.req.Body, &r, "courier", "hours", "pulse_ms", "mode", "tz"); err != nil || r.Courier == nil {
		return nil, smp.MgmtInval
	}
	cfg := device.DoorConfig{Courier: *r.Courier, Hours: []device.AccessWindow{}, Mode: r.Mode, TZ: r.TZ}
	if r.PulseMS > device.MaxPulseMS || len(r.Hours) > device.MaxHours {
		return lkFail(device.ErrConfigInvalid)
	}
	cfg.PulseMS = uint16(r.PulseMS)
	for _, w := range r.Hours {
		if w.Days == nil || w.From == nil || w.To == nil {
			return nil, smp.MgmtInval
		}
		if *w.Days > 0x7f || *w.From > 1440 || *w.To > 1440 {
			return lkFail(device.ErrConfigInvalid)
		}
		cfg.Hours = append(cfg.Hours, device.AccessWindow{Days: uint8(*w.Days), From: uint16(*w.From), To: uint16(*w.To)})
	}
	if cfg.Validate() != nil {
		return lkFail(device.ErrConfigInvalid)
	}
	err := l.update(c.u, func(st *lkState) error {
		st.Door = cfg
		courier := "off"
		if cfg.Courier {
			courier = "on"
		}
		c.u.logLocked("config.door", fmt.Sprintf("courier %s, %d windows, pulse %d ms, %s", courier, len(cfg.Hours), cfg.PulseMS, cfg.Mode))
		return nil
	})
	if err != nil {
		return lkFail(device.ErrStorage)
	}
	return cfg, nil
}

func (l *Latchkey) decommissionToken(c *lkCall) (any, error) {
	if err := decodeReq(c.req.Body, nil); err != nil {
		return nil, err
	}
	tok := make([]byte, device.TokenSize)
	src := l.tokenRand
	if src == nil {
		src = rand.Reader
	}
	if _, err := io.ReadFull(src, tok); err != nil {
		return lkFail(device.ErrUnknown)
	}
	l.ram.token, l.ram.tokenExp = tok, c.u.now().Add(l.cfg.TokenTTL)
	return device.DecommissionToken{Token: tok, TTL: uint16(min(max(l.cfg.TokenTTL/time.Second, 1), 0xffff))}, nil
}

func (l *Latchkey) decommission(c *lkCall) (any, error) {
	var r struct {
		Token []byte `cbor:"token"`
		Auth  []byte `cbor:"auth"`
	}
	if err := decodeReq(c.req.Body, &r, "token"); err != nil {
		return nil, err
	}
	if l.ram.token == nil || subtle.ConstantTimeCompare(r.Token, l.ram.token) != 1 || !c.u.now().Before(l.ram.tokenExp) {
		return lkFail(device.ErrTokenInvalid)
	}
	if l.cfg.OperatorKey != nil {
		if len(r.Auth) != ed25519.SignatureSize || !ed25519.Verify(l.cfg.OperatorKey, device.DecommissionAuthMessage(r.Token, c.v.id.Serial), r.Auth) {
			return lkFail(device.ErrNotAuthorised)
		}
	}
	k, err := c.v.keys()
	if err != nil {
		return lkFail(device.ErrUnknown)
	}
	l.ram.token = nil // single use
	rec := device.DecommissionRecord{Serial: c.v.id.Serial, Token: bytes.Clone(r.Token), Counter: c.v.lk.Counter + 1, Wiped: uint8(c.v.lk.written())}
	rec.Sig = ed25519.Sign(k.sign, rec.SignedBytes())
	// Wipe, counter and state in one atomic write: a reset cannot leave a
	// half-wiped unit (docs/protocol.md 4.9).
	err = l.update(c.u, func(st *lkState) error {
		for i := range st.Slots {
			clear(st.Slots[i].Key)
			st.Slots[i] = lkSlot{State: device.SlotWiped}
		}
		st.Counter = rec.Counter
		st.Decommissioned = true
		st.Decommission = &rec
		c.u.logLocked("decommission", fmt.Sprintf("wiped %d slots, counter %d", rec.Wiped, rec.Counter))
		return nil
	})
	if err != nil {
		return lkFail(device.ErrStorage)
	}
	return rec, nil
}
