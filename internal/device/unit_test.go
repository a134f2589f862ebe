package device

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/smp"
)

func ctxT(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func nonce(t *testing.T) []byte {
	t.Helper()
	n := make([]byte, NonceSize)
	if _, err := rand.Read(n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestIdentityAndAttestation(t *testing.T) {
	t.Parallel()
	// At 2048 the whole chain fits in the attestation answer; at 1024
	// (MinBufSize) only the unit certificate does and the intermediate is
	// read with CmdCert.
	for _, tc := range []struct {
		bufSize   int
		wantCerts int // certificates fetched separately
	}{
		{DefaultBufSize, 0},
		{MinBufSize, 1},
	} {
		t.Run(itoa(tc.bufSize), func(t *testing.T) {
			t.Parallel()
			f := newFakeUnit(t, tc.bufSize)
			u := serve(t, f.server(true), Options{})
			ctx := ctxT(t)

			id, err := u.Identity(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if id.Serial != f.serial || !bytes.Equal(id.SignKey, f.pub()) || len(id.KexKey) != KeySize || id.Proto != ProtoVersion {
				t.Fatalf("identity %+v does not match the unit", id)
			}
			if id.Label != LabelCode(id.SignKey) || len(id.Label) != 9 || id.Label[4] != '-' {
				t.Fatalf("label %q, want %q", id.Label, LabelCode(id.SignKey))
			}

			n := nonce(t)
			att, err := u.Attest(ctx, n)
			if err != nil {
				t.Fatal(err)
			}
			if len(att.Chain) != len(f.chain) {
				t.Fatalf("chain of %d certificates, want %d", len(att.Chain), len(f.chain))
			}
			for i, der := range att.Chain {
				if !bytes.Equal(der, f.chain[i]) {
					t.Fatalf("certificate %d differs", i)
				}
				if _, err := x509.ParseCertificate(der); err != nil {
					t.Fatalf("certificate %d: %v", i, err)
				}
			}
			if !ed25519.Verify(id.SignKey, AttestationMessage(n, id.Serial), att.Sig) {
				t.Fatal("attestation signature does not verify over context ‖ nonce ‖ serial")
			}
			// The signed bytes are exactly context ‖ nonce ‖ serial.
			want := append(append([]byte("latchkey attestation v1\x00"), n...), "LK1-000042"...)
			if !bytes.Equal(AttestationMessage(n, id.Serial), want) {
				t.Fatalf("AttestationMessage = %q", AttestationMessage(n, id.Serial))
			}
			if _, err := u.Attest(ctx, n[:31]); err == nil {
				t.Fatal("a 31-byte nonce was accepted")
			}
		})
	}
}

// zephyrLenCRC is stated here independently of SerialOverhead: Zephyr's
// serial transport holds the packet's 2-byte length and 2-byte CRC in the
// buf_size buffer along with the SMP message.
const zephyrLenCRC = 4

func TestImageUploadChunkSizes(t *testing.T) {
	t.Parallel()
	for _, bufSize := range []int{384, 1024, 2048} {
		t.Run(itoa(bufSize), func(t *testing.T) {
			t.Parallel()
			f := newFakeUnit(t, bufSize)
			u := serve(t, f.server(false), Options{})
			img := testImage(t, 20_000+bufSize) // not a multiple of any chunk
			var calls []int
			if err := u.ImageUpload(ctxT(t), img, func(sent, total int) {
				if total != len(img) {
					t.Errorf("progress total %d, want %d", total, len(img))
				}
				calls = append(calls, sent)
			}); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(f.view().stored, img) {
				t.Fatal("the unit stored other bytes than the image")
			}
			// Never over buf_size less the serial length and CRC, and no
			// more than 2 bytes under it: chunk sizes are computed, not
			// guessed with a margin.
			if limit := bufSize - zephyrLenCRC; f.view().maxReq > limit || f.view().maxReq < limit-2 {
				t.Fatalf("largest request %d bytes, want %d-%d", f.view().maxReq, limit-2, limit)
			}
			if calls[len(calls)-1] != len(img) {
				t.Fatalf("last progress %d, want %d", calls[len(calls)-1], len(img))
			}
			wantChunks := (len(img) + ChunkSize(bufSize, 40) - 1) / ChunkSize(bufSize, 40)
			if len(f.view().uploadReqs) > wantChunks+1 {
				t.Fatalf("%d requests for %d bytes, want about %d", len(f.view().uploadReqs), len(img), wantChunks)
			}
		})
	}
}

func TestChunkSize(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		bufSize, empty int
	}{
		{384, 60}, {384, 14}, {2048, 60}, {2048, 14}, {64, 14}, {300, 40}, {65539, 20},
	} {
		n := ChunkSize(tc.bufSize, tc.empty)
		size := func(n int) int { return smp.HeaderSize + tc.empty - 1 + bstrHead(n) + n }
		if size(n) > MaxRequest(tc.bufSize) || size(n+1) <= MaxRequest(tc.bufSize) {
			t.Errorf("ChunkSize(%d, %d) = %d: message %d bytes, next would be %d, limit %d",
				tc.bufSize, tc.empty, n, size(n), size(n+1), MaxRequest(tc.bufSize))
		}
	}
}

func TestImageUploadResume(t *testing.T) {
	t.Parallel()
	img := testImage(t, 12_000)
	t.Run("from the unit's offset", func(t *testing.T) {
		t.Parallel()
		f := newFakeUnit(t, 1024)
		// The unit holds the first 5000 bytes of this upload (a cable was
		// pulled earlier).
		sum := sha256sum(img)
		f.upload = uploadSession{sha: sum, size: len(img), data: bytes.Clone(img[:5000])}
		u := serve(t, f.server(false), Options{})
		var first = -1
		if err := u.ImageUpload(ctxT(t), img, func(sent, _ int) {
			if first < 0 {
				first = sent
			}
		}); err != nil {
			t.Fatal(err)
		}
		if first != 5000 {
			t.Fatalf("first progress %d, want 5000 (resumed)", first)
		}
		if f.view().uploadReqs[0] != 0 || f.view().uploadReqs[1] != 5000 {
			t.Fatalf("request offsets start %v, want [0 5000 ...]", f.view().uploadReqs[:2])
		}
		if !bytes.Equal(f.view().stored, img) {
			t.Fatal("resumed upload stored other bytes")
		}
	})
	t.Run("unit rewinds", func(t *testing.T) {
		t.Parallel()
		f := newFakeUnit(t, 1024)
		f.uploadRewindAt = 4
		u := serve(t, f.server(false), Options{})
		if err := u.ImageUpload(ctxT(t), img, nil); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(f.view().stored, img) {
			t.Fatal("upload after a rewind stored other bytes")
		}
		rewound := false
		for i := 1; i < len(f.view().uploadReqs); i++ {
			if f.view().uploadReqs[i] < f.view().uploadReqs[i-1] {
				rewound = true
			}
		}
		if !rewound {
			t.Fatalf("offsets %v never went back to what the unit asked for", f.view().uploadReqs)
		}
	})
	t.Run("other upload in progress restarts", func(t *testing.T) {
		t.Parallel()
		f := newFakeUnit(t, 1024)
		f.upload = uploadSession{sha: bytes.Repeat([]byte{1}, 32), size: 99999, data: make([]byte, 3000)}
		u := serve(t, f.server(false), Options{})
		if err := u.ImageUpload(ctxT(t), img, nil); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(f.view().stored, img) {
			t.Fatal("upload stored other bytes")
		}
	})
}

func TestImageUploadTimeouts(t *testing.T) {
	t.Parallel()
	img := testImage(t, 6000)
	const slow = 800 * time.Millisecond
	for _, tc := range []struct {
		name    string
		delay   func(n int) time.Duration
		retries int
		wantErr bool
	}{
		// The first chunk erases the slot: a slow answer to it is fine.
		{"slow first chunk", func(n int) time.Duration {
			if n == 0 {
				return slow
			}
			return 0
		}, -1, false},
		// The same delay on a later chunk is past ChunkTimeout.
		{"slow later chunk", func(n int) time.Duration {
			if n == 2 {
				return slow
			}
			return 0
		}, -1, true},
		// ... unless the chunk may be sent again (the unit answers the
		// first copy late, then the second at once).
		{"slow later chunk retried", func(n int) time.Duration {
			if n == 2 {
				return slow
			}
			return 0
		}, 5, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeUnit(t, 1024)
			f.uploadDelay = tc.delay
			u := serve(t, f.server(false), Options{FirstChunkTimeout: 3 * time.Second, ChunkTimeout: 250 * time.Millisecond, ChunkRetries: tc.retries})
			err := u.ImageUpload(ctxT(t), img, nil)
			if tc.wantErr {
				if !errors.Is(err, smp.ErrTimeout) {
					t.Fatalf("err = %v, want a timeout", err)
				}
				if !strings.Contains(err.Error(), "upload image at byte") {
					t.Fatalf("error %q does not say where the upload stopped", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(f.view().stored, img) {
				t.Fatal("upload stored other bytes")
			}
		})
	}
}

func TestImageUploadVerify(t *testing.T) {
	t.Parallel()
	img := testImage(t, 3000)
	t.Run("unit lists another hash", func(t *testing.T) {
		t.Parallel()
		f := newFakeUnit(t, 2048)
		f.stateHash = bytes.Repeat([]byte{0xbb}, 32)
		u := serve(t, f.server(false), Options{})
		if err := u.ImageUpload(ctxT(t), img, nil); !errors.Is(err, ErrVerify) {
			t.Fatalf("err = %v, want ErrVerify", err)
		}
	})
	t.Run("not an MCUboot image", func(t *testing.T) {
		t.Parallel()
		bad := bytes.Clone(img)
		bad[100] ^= 1
		f := newFakeUnit(t, 2048)
		u := serve(t, f.server(false), Options{})
		if err := u.ImageUpload(ctxT(t), bad, nil); !errors.Is(err, ErrImage) {
			t.Fatalf("err = %v, want ErrImage", err)
		}
		if len(f.view().uploadReqs) != 0 {
			t.Fatal("a damaged image was sent")
		}
	})
}

func TestCountersign(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		bufSize, size int
	}{
		{1024, 10}, {1024, 5000}, {2048, 5000}, {2048, MaxCountersig - 200}, {384, 2000},
	} {
		t.Run(itoa(tc.bufSize)+"/"+itoa(tc.size), func(t *testing.T) {
			t.Parallel()
			f := newFakeUnit(t, tc.bufSize)
			u := serve(t, f.server(true), Options{})
			body := make([]byte, tc.size)
			_, _ = rand.Read(body)
			msg := pae("consent", body)
			sig, err := u.Countersign(ctxT(t), msg)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(f.view().cs, msg) {
				t.Fatalf("unit reassembled %d bytes, want the %d sent", len(f.view().cs), len(msg))
			}
			if !ed25519.Verify(f.pub(), msg, sig) {
				t.Fatal("signature does not verify over the message")
			}
			if f.view().maxReq > tc.bufSize-zephyrLenCRC {
				t.Fatalf("request of %d bytes, limit %d", f.view().maxReq, tc.bufSize-zephyrLenCRC)
			}
		})
	}
	f := newFakeUnit(t, 2048)
	u := serve(t, f.server(true), Options{})
	for _, tc := range []struct {
		name string
		msg  []byte
		want error
	}{
		{"too large", pae("consent", make([]byte, MaxCountersig)), ErrMessageTooLarge},
		{"not dsse", []byte("latchkey receipt v1\x00forged"), ErrNotDSSE},
		{"other type", []byte("DSSEv1 16 application/json 2 {}"), ErrNotDSSE},
		{"lying length", []byte("DSSEv1 40 application/vnd.latchkey.x+json 2 {}"), ErrNotDSSE},
	} {
		if _, err := u.Countersign(ctxT(t), tc.msg); !errors.Is(err, tc.want) {
			t.Errorf("%s: err = %v, want %v", tc.name, err, tc.want)
		}
	}
}

func sha256sum(b []byte) []byte {
	s := sha256.Sum256(b)
	return s[:]
}

func TestGroupErrorsMapToSentinels(t *testing.T) {
	t.Parallel()
	f := newFakeUnit(t, 2048)
	u := serve(t, f.server(true), Options{})
	ctx := ctxT(t)
	for _, code := range ErrorCodes() {
		t.Run(code.Name(), func(t *testing.T) {
			f.setStatusError(code)
			_, err := u.Status(ctx)
			if !errors.Is(err, code) {
				t.Fatalf("err = %v, want errors.Is %s", err, code.Name())
			}
			for _, other := range ErrorCodes() {
				if other != code && errors.Is(err, other) {
					t.Fatalf("err = %v also matches %s", err, other.Name())
				}
			}
			if !strings.Contains(err.Error(), code.Error()) || strings.Contains(code.Error(), "rc ") {
				t.Fatalf("message %q does not carry the installer's sentence %q", err, code.Error())
			}
			var se *smp.Error
			if !errors.As(err, &se) || se.Group != GroupLatchkey || se.RC != int(code) {
				t.Fatalf("smp error not kept in the chain: %v", err)
			}
			if Translate(GroupLatchkey, int(code)) == smp.MgmtOK {
				t.Fatal("no legacy code")
			}
		})
	}
	f.setStatusError(0)
	if _, err := u.Status(ctx); err != nil {
		t.Fatalf("status after the error cases: %v", err)
	}
	if got := ErrorCode(999).Error(); !strings.Contains(got, "999") {
		t.Fatalf("unknown code message %q", got)
	}
}

func TestWrongTypesGiveProtocolErrors(t *testing.T) {
	t.Parallel()
	good := func() Identity {
		return Identity{Serial: "S1", Model: "LK1", Hardware: "B", Firmware: "1", SignKey: make([]byte, 32), KexKey: make([]byte, 32), Label: "AAAA-BBBB", State: StateNew, Slots: 4, Proto: 1}
	}
	for _, tc := range []struct {
		name string
		cmd  uint8
		body any
		call func(context.Context, *Unit) error
		want string // in the error message
	}{
		{"serial is a number", CmdIdentity, func() map[string]any {
			b, _ := smp.EncodeCBOR(good())
			var m map[string]any
			_ = smp.DecodeCBOR(b, &m)
			m["serial"] = 42
			return m
		}(), idCall, "serial"},
		{"sign key missing", CmdIdentity, func() map[string]any {
			b, _ := smp.EncodeCBOR(good())
			var m map[string]any
			_ = smp.DecodeCBOR(b, &m)
			delete(m, "sign_key")
			return m
		}(), idCall, "sign_key"},
		{"short sign key", CmdIdentity, func() Identity { i := good(); i.SignKey = i.SignKey[:31]; return i }(), idCall, "signing key"},
		{"escape in model", CmdIdentity, func() Identity { i := good(); i.Model = "LK1\x1b[2J"; return i }(), idCall, "control character"},
		{"slots overflow", CmdIdentity, func() map[string]any {
			b, _ := smp.EncodeCBOR(good())
			var m map[string]any
			_ = smp.DecodeCBOR(b, &m)
			m["slots"] = 70000
			return m
		}(), idCall, "slots"},
		{"not a map", CmdIdentity, []byte{0x83, 1, 2, 3}, idCall, "cannot unmarshal"},
		{"tamper missing", CmdStatus, map[string]any{"relay": "off", "supply_mv": 1, "modem": "off", "uptime": 1, "time": 0, "slots": []string{}}, statusCall, "tamper"},
		{"tamper is text", CmdStatus, map[string]any{"relay": "off", "tamper": "no", "supply_mv": 1, "modem": "off", "uptime": 1, "time": 0, "slots": []string{}}, statusCall, "tamper"},
		{"signal out of range", CmdStatus, map[string]any{"relay": "off", "tamper": false, "supply_mv": 1, "modem": "registered", "rssi": 40, "uptime": 1, "time": 0, "slots": []string{}}, statusCall, "rssi"},
		{"attest sig short", CmdAttest, AttestResponse{Sig: make([]byte, 10), Chain: [][]byte{{1}}, Count: 1}, attestCall, "signature"},
		{"attest chain longer than count", CmdAttest, AttestResponse{Sig: make([]byte, 64), Chain: [][]byte{{1}, {2}}, Count: 1}, attestCall, "chain"},
		{"events out of order", CmdEvents, EventPage{Events: []Event{{Seq: 5, Kind: "a"}, {Seq: 4, Kind: "b"}}, Next: 6}, eventsCall, "out of order"},
		{"receipt nonce short", CmdReceipt, Receipt{Serial: "S", Job: "j", Nonce: []byte{1}, KCV: []byte{1, 2, 3}, KCVAlg: KCVCMAC, Sig: make([]byte, 64)}, receiptCall, "nonce"},
		{"door pulse zero", CmdDoor, DoorConfig{Hours: []AccessWindow{}, Mode: FailSafe, TZ: "UTC0"}, doorCall, "pulse"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeUnit(t, 2048)
			f.sigReply = map[uint8]any{tc.cmd: tc.body}
			u := serve(t, f.server(true), Options{})
			err := tc.call(ctxT(t), u)
			if !errors.Is(err, ErrProtocol) {
				t.Fatalf("err = %v, want ErrProtocol", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not mention %q", err, tc.want)
			}
		})
	}
}

func idCall(ctx context.Context, u *Unit) error { _, err := u.Identity(ctx); return err }
func statusCall(ctx context.Context, u *Unit) error {
	_, err := u.Status(ctx)
	return err
}
func attestCall(ctx context.Context, u *Unit) error {
	_, err := u.Attest(ctx, make([]byte, NonceSize))
	return err
}
func eventsCall(ctx context.Context, u *Unit) error { _, err := u.Events(ctx, 0, 0); return err }
func receiptCall(ctx context.Context, u *Unit) error {
	_, err := u.Receipt(ctx, 0)
	return err
}
func doorCall(ctx context.Context, u *Unit) error { _, err := u.DoorConfig(ctx); return err }

func TestDetect(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		group bool
		want  bool
	}{
		{"latchkey unit", true, true},
		{"other SMP device", false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeUnit(t, 2048)
			u := serve(t, f.server(tc.group), Options{})
			d, err := u.Detect(ctxT(t))
			if err != nil {
				t.Fatal(err)
			}
			if d.Latchkey != tc.want {
				t.Fatalf("Latchkey = %v, want %v (%s)", d.Latchkey, tc.want, d.Reason)
			}
			if !tc.want {
				if d.Reason == "" {
					t.Fatal("no reason for a foreign device")
				}
				// Its standard groups still work.
				if _, err := u.Echo(ctxT(t), "hi"); err != nil {
					t.Fatal(err)
				}
				if _, err := u.Status(ctxT(t)); !errors.Is(err, ErrNotLatchkey) {
					t.Fatalf("status on a foreign device: %v, want ErrNotLatchkey", err)
				}
			} else if d.Identity.Serial != f.serial {
				t.Fatalf("identity %+v", d.Identity)
			}
		})
	}
}

func TestBurnReceiptsAndSlots(t *testing.T) {
	t.Parallel()
	f := newFakeUnit(t, 1024)
	u := serve(t, f.server(true), Options{})
	ctx := ctxT(t)
	req := BurnRequest{Slot: 1, Job: "5b0f1e8c-2c1a-4d4e-9a57-6a3c1f0e7d21", Nonce: nonce(t), Sealed: bytes.Repeat([]byte{0x42}, MaxSealed)}
	r, err := u.Burn(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if !ed25519.Verify(f.pub(), r.SignedBytes(), r.Sig) {
		t.Fatal("receipt signature does not verify over SignedBytes")
	}
	if r.Serial != f.serial || r.Slot != 1 || r.Counter != 1 || !bytes.Equal(r.KCV, []byte{0x42, 0x42, 0x42}) {
		t.Fatalf("receipt %+v", r)
	}
	if _, err := u.Burn(ctx, req); !errors.Is(err, ErrSlotWritten) {
		t.Fatalf("second burn: %v, want ErrSlotWritten", err)
	}
	again, err := u.Receipt(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again.SignedBytes(), r.SignedBytes()) || !bytes.Equal(again.Sig, r.Sig) {
		t.Fatal("stored receipt differs from the one returned by burn")
	}
	if _, err := u.Receipt(ctx, 0); !errors.Is(err, ErrSlotEmpty) {
		t.Fatalf("receipt of an empty slot: %v", err)
	}
	if _, err := u.Burn(ctx, BurnRequest{Slot: 3, Job: "j", Nonce: nonce(t), Sealed: make([]byte, MaxSealed+1)}); !errors.Is(err, ErrMessageTooLarge) {
		t.Fatalf("oversized sealed key: %v", err)
	}
	slots, err := u.Slots(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(slots) != 4 || slots[1].State != SlotWritten || slots[0].State != SlotEmpty || !bytes.Equal(slots[1].KCV, r.KCV) {
		t.Fatalf("slots %+v", slots)
	}
	st, err := u.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Slots[1] != SlotWritten || st.RSRP == nil || *st.RSRP != -98 || st.SupplyMV != 12040 {
		t.Fatalf("status %+v", st)
	}
}

func TestReceiptSignedBytes(t *testing.T) {
	t.Parallel()
	r := Receipt{Serial: "S", Slot: 2, Job: "J1", Counter: 258, Nonce: bytes.Repeat([]byte{0xee}, 32), KCV: []byte{1, 2, 3}, KCVAlg: "aes-cmac-3"}
	want := []byte("latchkey receipt v1\x00")
	want = append(want, 2, 0, 0, 0, 0, 0, 0, 1, 2)
	want = append(want, bytes.Repeat([]byte{0xee}, 32)...)
	want = append(want, 10)
	want = append(want, "aes-cmac-3"...)
	want = append(want, 3, 1, 2, 3, 2, 'J', '1', 1, 'S')
	if got := r.SignedBytes(); !bytes.Equal(got, want) {
		t.Fatalf("SignedBytes =\n%x\nwant\n%x", got, want)
	}
}

func TestSelfTestsEventsDoorDecommission(t *testing.T) {
	t.Parallel()
	f := newFakeUnit(t, 1024)
	u := serve(t, f.server(true), Options{})
	ctx := ctxT(t)

	tests, err := u.SelfTests(ctx)
	if err != nil || len(tests) != 3 || !tests[2].Relay {
		t.Fatalf("self-tests %+v, %v", tests, err)
	}
	if _, err := u.RunSelfTest(ctx, "relay", false); !errors.Is(err, ErrRelayNotAllowed) {
		t.Fatalf("relay test without the flag: %v", err)
	}
	res, err := u.RunSelfTest(ctx, "", false)
	if err != nil || len(res) != 3 || res[2].Result != TestSkipped {
		t.Fatalf("all tests without relay: %+v, %v", res, err)
	}
	res, err = u.RunSelfTest(ctx, "relay", true)
	if err != nil || len(res) != 1 || res[0].Result != TestPass {
		t.Fatalf("relay test with the flag: %+v, %v", res, err)
	}
	if _, err := u.RunSelfTest(ctx, "nope", false); !errors.Is(err, ErrTestUnknown) {
		t.Fatalf("unknown test: %v", err)
	}

	// 25 events of ~90 bytes do not fit one 1024-byte answer: paged.
	p, err := u.Events(ctx, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !p.More || len(p.Events) == 0 || len(p.Events) == 25 {
		t.Fatalf("first page: %d events, more %v", len(p.Events), p.More)
	}
	all, next, err := u.AllEvents(ctx, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 25 || next != 125 || all[0].Seq != 100 || all[24].Seq != 124 {
		t.Fatalf("all events: %d, next %d", len(all), next)
	}
	if p, err := u.Events(ctx, 120, 2); err != nil || len(p.Events) != 2 || p.Next != 122 || !p.More {
		t.Fatalf("capped page %+v, %v", p, err)
	}

	cfg := DoorConfig{Courier: true, Hours: []AccessWindow{{Days: 0x1f, From: 8 * 60, To: 18 * 60}}, PulseMS: 800, Mode: FailSafe, TZ: "CET-1CEST,M3.5.0,M10.5.0/3"}
	got, err := u.SetDoorConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if again, err := u.DoorConfig(ctx); err != nil || again.PulseMS != 800 || !again.Courier || len(again.Hours) != 1 || got.Mode != FailSafe {
		t.Fatalf("door config %+v, %v", again, err)
	}
	if _, err := u.SetDoorConfig(ctx, DoorConfig{PulseMS: 50, Mode: FailSafe, TZ: "UTC0"}); err == nil {
		t.Fatal("a 50 ms pulse was accepted")
	}

	if _, err := u.Burn(ctx, BurnRequest{Slot: 0, Job: "j", Nonce: nonce(t), Sealed: []byte{1, 2, 3, 4}}); err != nil {
		t.Fatal(err)
	}
	if _, err := u.Decommission(ctx, make([]byte, TokenSize), nil); !errors.Is(err, ErrTokenInvalid) {
		t.Fatalf("decommission without a token: %v", err)
	}
	tok, err := u.DecommissionToken(ctx)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := u.Decommission(ctx, tok.Token, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Wiped != 1 || !ed25519.Verify(f.pub(), rec.SignedBytes(), rec.Sig) {
		t.Fatalf("decommission record %+v does not verify", rec)
	}
	if _, err := u.Status(ctx); !errors.Is(err, ErrDecommissioned) {
		t.Fatalf("status after decommission: %v", err)
	}
	id, err := u.Identity(ctx)
	if err != nil || id.State != StateDecommissioned {
		t.Fatalf("identity after decommission: %+v, %v", id, err)
	}
}

func TestStandardGroups(t *testing.T) {
	t.Parallel()
	f := newFakeUnit(t, 2048)
	u := serve(t, f.server(false), Options{})
	ctx := ctxT(t)
	if r, err := u.Echo(ctx, "ping"); err != nil || r != "ping" {
		t.Fatalf("echo %q, %v", r, err)
	}
	if p, err := u.Params(ctx); err != nil || p.BufSize != 2048 || p.BufCount != DefaultBufCount {
		t.Fatalf("params %+v, %v", p, err)
	}
	if s, err := u.OSInfo(ctx, "a"); err != nil || !strings.HasSuffix(s, "format=a") {
		t.Fatalf("os info %q, %v", s, err)
	}
	if tm, err := u.DateTime(ctx); err != nil || tm.Year() != 2026 || tm.Hour() != 10 {
		t.Fatalf("date-time %v, %v", tm, err)
	}
	if err := u.SetDateTime(ctx, time.Now()); err != nil {
		t.Fatal(err)
	}
	if l, err := u.StatsList(ctx); err != nil || len(l) != 2 {
		t.Fatalf("stats list %v, %v", l, err)
	}
	if g, err := u.StatsRead(ctx, "door"); err != nil || g.Fields["opens"] != 12 {
		t.Fatalf("stats %+v, %v", g, err)
	}
	if _, err := u.StatsRead(ctx, "nope"); !errors.Is(err, smp.MgmtNoEnt) {
		t.Fatalf("missing stats group: %v", err)
	}
	if err := u.SettingsWrite(ctx, "door/x", []byte("v")); err != nil {
		t.Fatal(err)
	}
	if v, err := u.SettingsRead(ctx, "door/x"); err != nil || string(v) != "v" {
		t.Fatalf("setting %q, %v", v, err)
	}
	img := testImage(t, 4000)
	if err := u.ImageUpload(ctx, img, nil); err != nil {
		t.Fatal(err)
	}
	info, _ := ParseImage(img)
	st, err := u.ImageTest(ctx, info.Hash)
	if err != nil || len(st) != 2 || !st[1].Pending {
		t.Fatalf("test image: %+v, %v", st, err)
	}
	if _, err := u.ImageConfirm(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if err := u.ImageErase(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if st, err := u.ImageState(ctx); err != nil || len(st) != 1 {
		t.Fatalf("state after erase: %+v, %v", st, err)
	}
	if err := u.Reset(ctx, false); err != nil {
		t.Fatal(err)
	}
}

func TestParseImage(t *testing.T) {
	t.Parallel()
	img := testImage(t, 1000)
	info, err := ParseImage(img)
	if err != nil {
		t.Fatal(err)
	}
	if info.Version != "1.5.0+0" || info.Size != 1032 || len(info.Hash) != 32 {
		t.Fatalf("info %+v", info)
	}
	for name, mutate := range map[string]func([]byte) []byte{
		"short":        func(b []byte) []byte { return b[:20] },
		"magic":        func(b []byte) []byte { b[0] ^= 1; return b },
		"size lies":    func(b []byte) []byte { b[14] = 0xff; return b },
		"body changed": func(b []byte) []byte { b[500] ^= 1; return b },
		"tlv cut":      func(b []byte) []byte { return b[:len(b)-10] },
		"tlv magic":    func(b []byte) []byte { b[1032] ^= 1; return b },
	} {
		if _, err := ParseImage(mutate(bytes.Clone(img))); !errors.Is(err, ErrImage) {
			t.Errorf("%s: err = %v, want ErrImage", name, err)
		}
	}
}

func TestChunkBufSizeCap(t *testing.T) {
	t.Parallel()
	// A unit advertising a 1 GiB buffer gets the largest chunk an SMP
	// header can describe, not an encoding error.
	req := ImageUploadRequest{Off: 70_000}
	body, n, err := chunkFor(chunkBufSize(smp.Params{BufSize: 1 << 30}), make([]byte, 200_000), 70_000, func(b []byte) { req.Data = b }, &req)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := smp.NewMessage(smp.Header{}, body); err != nil || n < 65_000 {
		t.Fatalf("chunk of %d data bytes in a %d-byte body: %v", n, len(body), err)
	}
}
