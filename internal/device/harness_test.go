package device

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"errors"
	"math/big"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/serialport"
	"github.com/latchkey/latchkey/internal/smp"
	"github.com/latchkey/latchkey/internal/testutil/ptytest"
)

// The tests run a Unit over a real pseudo-terminal: the unit end (the pty
// master) is served by smp.Server with the handlers of fakeUnit below, which
// implement docs/protocol.md just far enough to check the client against
// it; the client opens the slave with serialport.Open, as a USB port.

// openPTY opens the pty the unit side is served on (see ptytest.Open).
func openPTY(t *testing.T) (master *os.File, path string) { return ptytest.Open(t) }

// serve runs srv on a new pty and returns a Unit on its other end.
func serve(t *testing.T, srv *smp.Server, opts Options) *Unit {
	t.Helper()
	master, path := openPTY(t)
	port, err := serialport.Open(path, serialport.Options{})
	if err != nil {
		t.Fatalf("serialport.Open(%s): %v", path, err)
	}
	c := smp.NewClient(port, smp.ClientOptions{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, master) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(2 * time.Second):
			t.Error("Serve did not return after its context was cancelled")
		}
		_ = c.Close()
		_ = port.Close()
	})
	return New(c, opts)
}

// fakeUnit is the unit side of the tests. Its zero value is not usable;
// newFakeUnit builds one with a fresh key and certificate chain.
type fakeUnit struct {
	t       *testing.T
	bufSize int
	serial  string
	priv    ed25519.PrivateKey
	kex     []byte
	chain   [][]byte

	mu             sync.Mutex
	maxReq         int      // largest request message seen, header included
	uploadReqs     []uint32 // offsets of the upload requests, in order
	upload         uploadSession
	stored         []byte // image completed, for image state
	stateHash      []byte // overrides the hash image state reports
	uploadDelay    func(n int) time.Duration
	uploadRewindAt int // after this many chunks, report a smaller offset once
	cs             csSession
	slots          map[uint8]Receipt
	counter        uint64
	events         []Event
	door           DoorConfig
	token          []byte
	decommissioned bool
	sigReply       map[uint8]any // canned bodies by group-64 command id
	statusErr      ErrorCode     // status answers this error if not 0
}

// fakeView is a copy of what the fake unit saw, safe to read in a test
// while the server runs.
type fakeView struct {
	stored, cs []byte
	maxReq     int
	uploadReqs []uint32
}

func (f *fakeUnit) view() fakeView {
	f.mu.Lock()
	defer f.mu.Unlock()
	return fakeView{stored: bytes.Clone(f.stored), cs: bytes.Clone(f.cs.data), maxReq: f.maxReq, uploadReqs: append([]uint32(nil), f.uploadReqs...)}
}

func (f *fakeUnit) setStatusError(c ErrorCode) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.statusErr = c
}

type uploadSession struct {
	sha  []byte
	size int
	data []byte
}

type csSession struct {
	sha  []byte
	size int
	data []byte
}

func newFakeUnit(t *testing.T, bufSize int) *fakeUnit {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	rootPub, rootPriv, _ := ed25519.GenerateKey(rand.Reader)
	root := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "test root"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	rootDER, err := x509.CreateCertificate(rand.Reader, root, root, rootPub, rootPriv)
	if err != nil {
		t.Fatal(err)
	}
	rootCert, _ := x509.ParseCertificate(rootDER)
	inter := &x509.Certificate{
		SerialNumber:          big.NewInt(2),
		Subject:               pkix.Name{CommonName: "test batch 1 with a long enough name to take some room"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	interPub, interPriv, _ := ed25519.GenerateKey(rand.Reader)
	interDER, err := x509.CreateCertificate(rand.Reader, inter, rootCert, interPub, rootPriv)
	if err != nil {
		t.Fatal(err)
	}
	interCert, _ := x509.ParseCertificate(interDER)
	leaf := &x509.Certificate{
		SerialNumber: big.NewInt(3),
		Subject:      pkix.Name{CommonName: "LK1-000042", SerialNumber: "LK1-000042", Organization: []string{"Latchkey test factory"}},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leaf, interCert, pub, interPriv)
	if err != nil {
		t.Fatal(err)
	}
	kex := make([]byte, KeySize)
	_, _ = rand.Read(kex)
	f := &fakeUnit{
		t: t, bufSize: bufSize, serial: "LK1-000042", priv: priv, kex: kex,
		chain: [][]byte{leafDER, interDER},
		slots: map[uint8]Receipt{},
		door:  DoorConfig{Courier: false, Hours: []AccessWindow{}, PulseMS: 500, Mode: FailSecure, TZ: "UTC0"},
	}
	for i := range 25 {
		f.events = append(f.events, Event{Seq: uint64(100 + i), Time: 1_700_000_000 + uint64(i), Up: uint64(i), Kind: "door.open", Msg: "courier opened the door with a parcel scan"})
	}
	return f
}

func (f *fakeUnit) pub() ed25519.PublicKey { return f.priv.Public().(ed25519.PublicKey) }

// fail is a group-64 error as a handler returns it.
func fail(c ErrorCode) (any, error) { return nil, c.SMP() }

// server returns an smp.Server with the fake unit's handlers. withGroup64
// false leaves group 64 out: another vendor's SMP device.
func (f *fakeUnit) server(withGroup64 bool) *smp.Server {
	s := &smp.Server{BufSize: f.bufSize, Translate: Translate}
	h := func(group uint16, id uint8, op smp.Op, fn func(req smp.Message) (any, error)) {
		s.Handle(group, id, op, func(_ context.Context, req smp.Message) (any, error) {
			f.mu.Lock()
			defer f.mu.Unlock()
			if n := smp.HeaderSize + len(req.Body); n > f.maxReq {
				f.maxReq = n
			}
			if group == GroupLatchkey && f.decommissioned && id != CmdIdentity {
				return fail(ErrDecommissioned)
			}
			if group == GroupLatchkey {
				if b, ok := f.sigReply[id]; ok {
					return b, nil
				}
			}
			return fn(req)
		})
	}
	decode := func(req smp.Message, v any) error {
		if err := smp.DecodeCBOR(req.Body, v); err != nil {
			return smp.MgmtInval
		}
		return nil
	}

	// Standard groups.
	echo := func(req smp.Message) (any, error) {
		var r smp.EchoRequest
		if err := decode(req, &r); err != nil {
			return nil, err
		}
		return smp.EchoResponse{R: r.D}, nil
	}
	h(smp.GroupOS, smp.OSEcho, smp.OpWrite, echo)
	h(smp.GroupOS, smp.OSParams, smp.OpRead, func(smp.Message) (any, error) {
		return smp.Params{BufSize: uint32(f.bufSize), BufCount: DefaultBufCount}, nil
	})
	h(smp.GroupOS, smp.OSInfo, smp.OpRead, func(req smp.Message) (any, error) {
		var r OSInfoRequest
		if err := decode(req, &r); err != nil {
			return nil, err
		}
		return OSInfoResponse{Output: "Zephyr latchkey-unit 3.7.0 format=" + r.Format}, nil
	})
	h(smp.GroupOS, smp.OSDateTime, smp.OpRead, func(smp.Message) (any, error) {
		return DateTime{DateTime: "2026-11-25T10:20:30.000000"}, nil
	})
	h(smp.GroupOS, smp.OSDateTime, smp.OpWrite, func(req smp.Message) (any, error) {
		var r DateTime
		if err := decode(req, &r); err != nil || r.DateTime == "" {
			return nil, smp.MgmtInval
		}
		return nil, nil
	})
	h(smp.GroupOS, smp.OSReset, smp.OpWrite, func(smp.Message) (any, error) { return nil, nil })
	h(GroupImage, ImgUpload, smp.OpWrite, f.handleUpload)
	h(GroupImage, ImgState, smp.OpRead, func(smp.Message) (any, error) { return f.imageState(), nil })
	h(GroupImage, ImgState, smp.OpWrite, func(req smp.Message) (any, error) {
		var r ImageStateRequest
		if err := decode(req, &r); err != nil {
			return nil, err
		}
		st := f.imageState()
		for i := range st.Images {
			if bytes.Equal(st.Images[i].Hash, r.Hash) {
				st.Images[i].Pending, st.Images[i].Permanent = true, r.Confirm
				return st, nil
			}
		}
		if r.Confirm && r.Hash == nil {
			return st, nil
		}
		return nil, smp.MgmtNoEnt
	})
	h(GroupImage, ImgErase, smp.OpWrite, func(smp.Message) (any, error) {
		f.stored, f.upload = nil, uploadSession{}
		return nil, nil
	})
	h(GroupStats, StatsList, smp.OpRead, func(smp.Message) (any, error) {
		return StatsListResponse{List: []string{"smp", "door"}}, nil
	})
	h(GroupStats, StatsRead, smp.OpRead, func(req smp.Message) (any, error) {
		var r StatsReadRequest
		if err := decode(req, &r); err != nil {
			return nil, err
		}
		if r.Name != "door" {
			return nil, smp.MgmtNoEnt
		}
		return StatsGroup{Name: "door", Fields: map[string]uint64{"opens": 12, "denied": 1}}, nil
	})
	settings := map[string][]byte{"door/pulse": {0x01, 0xf4}}
	h(GroupSettings, SettingsReadWrite, smp.OpRead, func(req smp.Message) (any, error) {
		var r SettingsReadRequest
		if err := decode(req, &r); err != nil {
			return nil, err
		}
		v, ok := settings[r.Name]
		if !ok {
			return nil, smp.MgmtNoEnt
		}
		return SettingsReadResponse{Val: v}, nil
	})
	h(GroupSettings, SettingsReadWrite, smp.OpWrite, func(req smp.Message) (any, error) {
		var r SettingsWriteRequest
		if err := decode(req, &r); err != nil {
			return nil, err
		}
		settings[r.Name] = r.Val
		return nil, nil
	})
	if !withGroup64 {
		return s
	}

	// Group 64.
	h(GroupLatchkey, CmdIdentity, smp.OpRead, func(smp.Message) (any, error) {
		state := StateNew
		switch {
		case f.decommissioned:
			state = StateDecommissioned
		case len(f.slots) > 0:
			state = StateProvisioned
		}
		return Identity{
			Serial: f.serial, Model: "LK1", Hardware: "B", Firmware: "1.4.2",
			SignKey: f.pub(), KexKey: f.kex, Label: LabelCode(f.pub()),
			State: state, Slots: 4, Proto: ProtoVersion,
		}, nil
	})
	h(GroupLatchkey, CmdAttest, smp.OpRead, func(req smp.Message) (any, error) {
		var r AttestRequest
		if err := decode(req, &r); err != nil || len(r.Nonce) != NonceSize {
			return nil, smp.MgmtInval
		}
		rsp := AttestResponse{Sig: ed25519.Sign(f.priv, AttestationMessage(r.Nonce, f.serial)), Chain: [][]byte{}, Count: uint8(len(f.chain))}
		// Whole certificates while the answer fits in buf_size.
		for _, c := range f.chain {
			try := rsp
			try.Chain = append(append([][]byte{}, rsp.Chain...), c)
			b, _ := smp.EncodeCBOR(try)
			if smp.HeaderSize+len(b) > f.bufSize {
				break
			}
			rsp = try
		}
		return rsp, nil
	})
	h(GroupLatchkey, CmdCert, smp.OpRead, func(req smp.Message) (any, error) {
		var r CertRequest
		if err := decode(req, &r); err != nil {
			return nil, err
		}
		if int(r.Index) >= len(f.chain) {
			return fail(ErrCertMissing)
		}
		return CertResponse{Index: r.Index, DER: f.chain[r.Index]}, nil
	})
	h(GroupLatchkey, CmdStatus, smp.OpRead, func(smp.Message) (any, error) {
		if f.statusErr != 0 {
			return fail(f.statusErr)
		}
		rssi, rsrp := int16(-71), int16(-98)
		slots := make([]string, 4)
		for i := range slots {
			slots[i] = SlotEmpty
			if _, ok := f.slots[uint8(i)]; ok {
				slots[i] = SlotWritten
			}
		}
		return Status{Relay: RelayOff, SupplyMV: 12040, Modem: ModemRegistered, RSSI: &rssi, RSRP: &rsrp, Uptime: 3600, Time: 1_764_000_000, Slots: slots}, nil
	})
	tests := []SelfTest{{Name: "tamper", Desc: "enclosure switch"}, {Name: "supply", Desc: "supply voltage in range"}, {Name: "relay", Desc: "pulse the door relay", Relay: true}}
	h(GroupLatchkey, CmdSelfTests, smp.OpRead, func(smp.Message) (any, error) { return SelfTestList{Tests: tests}, nil })
	h(GroupLatchkey, CmdSelfTests, smp.OpWrite, func(req smp.Message) (any, error) {
		var r RunSelfTestRequest
		if err := decode(req, &r); err != nil {
			return nil, err
		}
		var out []SelfTestResult
		for _, tc := range tests {
			if r.Name != "" && r.Name != tc.Name {
				continue
			}
			res := SelfTestResult{Name: tc.Name, Result: TestPass, MS: 12}
			if tc.Relay && !r.Relay {
				if r.Name != "" {
					return fail(ErrRelayNotAllowed)
				}
				res.Result, res.Detail = TestSkipped, "relay flag not given"
			}
			out = append(out, res)
		}
		if out == nil {
			return fail(ErrTestUnknown)
		}
		return SelfTestResults{Results: out}, nil
	})
	h(GroupLatchkey, CmdSlots, smp.OpRead, func(smp.Message) (any, error) {
		var l SlotList
		for i := range uint8(4) {
			s := Slot{Slot: i, State: SlotEmpty}
			if r, ok := f.slots[i]; ok {
				s = Slot{Slot: i, State: SlotWritten, Job: r.Job, KCV: r.KCV, KCVAlg: r.KCVAlg, Counter: r.Counter}
			}
			l.Slots = append(l.Slots, s)
		}
		return l, nil
	})
	h(GroupLatchkey, CmdBurn, smp.OpWrite, func(req smp.Message) (any, error) {
		var r BurnRequest
		if err := decode(req, &r); err != nil {
			return nil, err
		}
		switch {
		case r.Slot >= 4:
			return fail(ErrSlotInvalid)
		case len(r.Sealed) > MaxSealed:
			return fail(ErrMessageTooLarge)
		}
		if _, ok := f.slots[r.Slot]; ok {
			return fail(ErrSlotWritten)
		}
		// The test "seal" is the key itself; the KCV its first 3 bytes.
		f.counter++
		rc := Receipt{Serial: f.serial, Slot: r.Slot, Job: r.Job, Counter: f.counter, Nonce: r.Nonce, KCV: r.Sealed[:3], KCVAlg: KCVCMAC}
		rc.Sig = ed25519.Sign(f.priv, rc.SignedBytes())
		f.slots[r.Slot] = rc
		return rc, nil
	})
	h(GroupLatchkey, CmdReceipt, smp.OpRead, func(req smp.Message) (any, error) {
		var r ReceiptRequest
		if err := decode(req, &r); err != nil {
			return nil, err
		}
		rc, ok := f.slots[r.Slot]
		if !ok {
			return fail(ErrSlotEmpty)
		}
		return rc, nil
	})
	h(GroupLatchkey, CmdEvents, smp.OpRead, func(req smp.Message) (any, error) {
		var r EventsRequest
		if err := decode(req, &r); err != nil {
			return nil, err
		}
		page := EventPage{Events: []Event{}, Next: r.Since}
		for _, e := range f.events {
			if e.Seq < r.Since {
				continue
			}
			if r.Max > 0 && len(page.Events) == int(r.Max) {
				page.More = true
				break
			}
			try := page
			try.Events = append(append([]Event{}, page.Events...), e)
			try.Next = e.Seq + 1
			b, _ := smp.EncodeCBOR(try)
			if smp.HeaderSize+len(b) > f.bufSize {
				page.More = true
				break
			}
			page = try
		}
		return page, nil
	})
	h(GroupLatchkey, CmdCountersign, smp.OpWrite, f.handleCountersign)
	h(GroupLatchkey, CmdDoor, smp.OpRead, func(smp.Message) (any, error) { return f.door, nil })
	h(GroupLatchkey, CmdDoor, smp.OpWrite, func(req smp.Message) (any, error) {
		var c DoorConfig
		if err := decode(req, &c); err != nil {
			return nil, err
		}
		if c.Validate() != nil {
			return fail(ErrConfigInvalid)
		}
		f.door = c
		return c, nil
	})
	h(GroupLatchkey, CmdDecommission, smp.OpRead, func(smp.Message) (any, error) {
		f.token = make([]byte, TokenSize)
		_, _ = rand.Read(f.token)
		return DecommissionToken{Token: f.token, TTL: 60}, nil
	})
	h(GroupLatchkey, CmdDecommission, smp.OpWrite, func(req smp.Message) (any, error) {
		var r DecommissionRequest
		if err := decode(req, &r); err != nil {
			return nil, err
		}
		if f.token == nil || !bytes.Equal(r.Token, f.token) {
			return fail(ErrTokenInvalid)
		}
		f.counter++
		rec := DecommissionRecord{Serial: f.serial, Token: r.Token, Counter: f.counter, Wiped: uint8(len(f.slots))}
		rec.Sig = ed25519.Sign(f.priv, rec.SignedBytes())
		f.slots, f.token, f.decommissioned = map[uint8]Receipt{}, nil, true
		return rec, nil
	})
	return s
}

// handleUpload follows Zephyr's img_mgmt: a request at offset 0 with the
// hash of an upload in progress resumes it; any other offset than the one
// expected is answered with the expected one and not written.
func (f *fakeUnit) handleUpload(req smp.Message) (any, error) {
	var r ImageUploadRequest
	if err := smp.DecodeCBOR(req.Body, &r); err != nil {
		return nil, smp.MgmtInval
	}
	n := len(f.uploadReqs)
	f.uploadReqs = append(f.uploadReqs, r.Off)
	if f.uploadDelay != nil {
		if d := f.uploadDelay(n); d > 0 {
			f.mu.Unlock()
			time.Sleep(d)
			f.mu.Lock()
		}
	}
	u := &f.upload
	if r.Off == 0 {
		if u.sha != nil && bytes.Equal(u.sha, r.SHA) && len(u.data) > 0 {
			return ImageUploadResponse{Off: uint64(len(u.data))}, nil
		}
		if r.Len == 0 {
			return nil, smp.MgmtInval
		}
		*u = uploadSession{sha: r.SHA, size: int(r.Len)}
	}
	if u.sha == nil || int(r.Off) != len(u.data) {
		return ImageUploadResponse{Off: uint64(len(u.data))}, nil
	}
	u.data = append(u.data, r.Data...)
	if f.uploadRewindAt > 0 && n == f.uploadRewindAt {
		f.uploadRewindAt = 0
		u.data = u.data[:len(u.data)/2] // lost a write: ask again from there
		return ImageUploadResponse{Off: uint64(len(u.data))}, nil
	}
	rsp := ImageUploadResponse{Off: uint64(len(u.data))}
	if len(u.data) == u.size {
		sum := sha256.Sum256(u.data)
		ok := bytes.Equal(sum[:], u.sha)
		rsp.Match = &ok
		f.stored = u.data
	}
	return rsp, nil
}

func (f *fakeUnit) imageState() ImageState {
	st := ImageState{Images: []ImageSlot{{Slot: 0, Version: "1.4.2", Hash: bytes.Repeat([]byte{0xaa}, 32), Active: true, Confirmed: true, Bootable: true}}}
	if f.stored != nil {
		s := ImageSlot{Slot: 1, Version: "1.5.0", Bootable: true}
		if info, err := ParseImage(f.stored); err == nil {
			s.Hash = info.Hash
		}
		if f.stateHash != nil {
			s.Hash = f.stateHash
		}
		st.Images = append(st.Images, s)
	}
	return st
}

func (f *fakeUnit) handleCountersign(req smp.Message) (any, error) {
	var r CountersignRequest
	if err := smp.DecodeCBOR(req.Body, &r); err != nil {
		return nil, smp.MgmtInval
	}
	s := &f.cs
	if r.Off == 0 {
		if r.Len > MaxCountersig {
			return fail(ErrMessageTooLarge)
		}
		*s = csSession{sha: r.SHA, size: int(r.Len)}
	}
	if s.sha == nil || int(r.Off) != len(s.data) {
		return CountersignResponse{Off: uint32(len(s.data))}, nil
	}
	if len(s.data)+len(r.Data) > s.size {
		return fail(ErrMessageTooLarge)
	}
	s.data = append(s.data, r.Data...)
	rsp := CountersignResponse{Off: uint32(len(s.data))}
	if len(s.data) == s.size {
		if sum := sha256.Sum256(s.data); !bytes.Equal(sum[:], s.sha) {
			return fail(ErrMessageMismatch)
		}
		if err := CheckPAE(s.data); err != nil {
			return fail(ErrNotDSSE)
		}
		rsp.Sig = ed25519.Sign(f.priv, s.data)
	}
	return rsp, nil
}

// testImage builds an MCUboot image of n payload bytes with a correct
// SHA-256 TLV, version 1.5.0+0.
func testImage(t testing.TB, n int) []byte {
	t.Helper()
	le := binary.LittleEndian
	img := make([]byte, imageHeaderSize, imageHeaderSize+n+48)
	le.PutUint32(img, imageMagic)
	le.PutUint16(img[8:], imageHeaderSize)
	le.PutUint32(img[12:], uint32(n))
	img[20], img[21] = 1, 5
	body := make([]byte, n)
	for i := range body {
		body[i] = byte(i*7 + i>>8)
	}
	img = append(img, body...)
	sum := sha256.Sum256(img)
	img = le.AppendUint16(img, tlvInfoMagic)
	img = le.AppendUint16(img, tlvInfoSize+tlvEntryHead+32)
	img = le.AppendUint16(img, tlvSHA256)
	img = le.AppendUint16(img, 32)
	return append(img, sum[:]...)
}

// pae returns the DSSE pre-authentication encoding of a latchkey record.
func pae(kind string, body []byte) []byte {
	typ := "application/vnd.latchkey." + kind + "+json"
	var b bytes.Buffer
	b.WriteString(DSSEPrefix)
	b.WriteString(itoa(len(typ)) + " " + typ + " " + itoa(len(body)) + " ")
	b.Write(body)
	return b.Bytes()
}

func itoa(n int) string { return big.NewInt(int64(n)).String() }
