package device

import (
	"fmt"
	"slices"
	"unicode"
	"unicode/utf8"

	"github.com/fxamacker/cbor/v2"

	"github.com/latchkey/latchkey/internal/smp"
)

// The decoders below turn a response body (already checked for an SMP error
// object by smp.Client.Do) into a schema value and check it against the
// limits of docs/protocol.md. They never panic and never trust a length the
// unit sent; each has a fuzz target.

// decodeInto decodes body into v and checks that every member named in
// required is present: CBOR decoding alone cannot tell an absent bool or
// number from a zero one, and a unit that leaves out "tamper" must not read
// as "not tampered".
func decodeInto(body []byte, v any, required ...string) error {
	var m map[string]cbor.RawMessage
	if err := smp.DecodeCBOR(body, &m); err != nil {
		return fmt.Errorf("%w: %w", ErrProtocol, err)
	}
	for _, k := range required {
		if _, ok := m[k]; !ok {
			return protoErr("answer has no %q", k)
		}
	}
	if err := smp.DecodeCBOR(body, v); err != nil {
		return fmt.Errorf("%w: %w", ErrProtocol, err)
	}
	return nil
}

// checkText refuses strings a unit could use to garble a terminal: invalid
// UTF-8 and control characters (escape sequences), as well as empty or
// over-long ones.
func checkText(name, s string, maxLen int, optional bool) error {
	switch {
	case s == "" && optional:
		return nil
	case s == "":
		return protoErr("%s is empty", name)
	case len(s) > maxLen:
		return protoErr("%s is %d bytes, the limit is %d", name, len(s), maxLen)
	case !utf8.ValidString(s):
		return protoErr("%s is not valid UTF-8", name)
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return protoErr("%s contains a control character", name)
		}
	}
	return nil
}

func checkLen(name string, b []byte, want int) error {
	if len(b) != want {
		return protoErr("%s is %d bytes, want %d", name, len(b), want)
	}
	return nil
}

func checkOneOf(name, s string, allowed ...string) error {
	if !slices.Contains(allowed, s) {
		return protoErr("%s %q is not one of %q", name, s, allowed)
	}
	return nil
}

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func decodeIdentity(body []byte) (Identity, error) {
	var v Identity
	if err := decodeInto(body, &v, "serial", "model", "hw", "fw", "sign_key", "kex_key", "label", "state", "slots", "proto"); err != nil {
		return Identity{}, err
	}
	err := firstErr(
		checkText("serial", v.Serial, MaxSerial, false),
		checkText("model", v.Model, MaxText, false),
		checkText("hardware revision", v.Hardware, MaxText, false),
		checkText("firmware version", v.Firmware, MaxText, false),
		checkLen("signing key", v.SignKey, KeySize),
		checkLen("key-agreement key", v.KexKey, KeySize),
		checkText("label code", v.Label, 16, false),
		checkOneOf("state", v.State, StateNew, StateProvisioned, StateDecommissioned),
	)
	if err == nil && (v.Slots == 0 || v.Slots > MaxSlots) {
		err = protoErr("%d key slots, want 1 to %d", v.Slots, MaxSlots)
	}
	if err == nil && v.Proto == 0 {
		err = protoErr("protocol version 0")
	}
	if err != nil {
		return Identity{}, err
	}
	return v, nil
}

func decodeAttest(body []byte) (AttestResponse, error) {
	var v AttestResponse
	if err := decodeInto(body, &v, "sig", "chain", "count"); err != nil {
		return AttestResponse{}, err
	}
	if err := checkLen("signature", v.Sig, SigSize); err != nil {
		return AttestResponse{}, err
	}
	if v.Count == 0 || v.Count > MaxChain {
		return AttestResponse{}, protoErr("chain of %d certificates, want 1 to %d", v.Count, MaxChain)
	}
	if len(v.Chain) > int(v.Count) {
		return AttestResponse{}, protoErr("%d certificates sent for a chain of %d", len(v.Chain), v.Count)
	}
	for i, c := range v.Chain {
		if len(c) == 0 || len(c) > MaxCertSize {
			return AttestResponse{}, protoErr("certificate %d is %d bytes, want 1 to %d", i, len(c), MaxCertSize)
		}
	}
	return v, nil
}

func decodeCert(body []byte, index uint8) ([]byte, error) {
	var v CertResponse
	if err := decodeInto(body, &v, "index", "der"); err != nil {
		return nil, err
	}
	if v.Index != index {
		return nil, protoErr("asked for certificate %d, got %d", index, v.Index)
	}
	if len(v.DER) == 0 || len(v.DER) > MaxCertSize {
		return nil, protoErr("certificate %d is %d bytes, want 1 to %d", index, len(v.DER), MaxCertSize)
	}
	return v.DER, nil
}

func decodeStatus(body []byte) (Status, error) {
	var v Status
	if err := decodeInto(body, &v, "relay", "tamper", "supply_mv", "modem", "uptime", "time", "slots"); err != nil {
		return Status{}, err
	}
	err := firstErr(
		checkOneOf("relay", v.Relay, RelayOff, RelayOn),
		checkOneOf("modem", v.Modem, ModemOff, ModemNoSIM, ModemSearching, ModemRegistered, ModemRoaming, ModemDenied, ModemError),
	)
	if err != nil {
		return Status{}, err
	}
	for name, p := range map[string]*int16{"rssi": v.RSSI, "rsrp": v.RSRP} {
		if p != nil && (*p < -200 || *p > 0) {
			return Status{}, protoErr("%s %d dBm is out of range", name, *p)
		}
	}
	if len(v.Slots) > MaxSlots {
		return Status{}, protoErr("%d slots, the limit is %d", len(v.Slots), MaxSlots)
	}
	for i, s := range v.Slots {
		if err := checkOneOf(fmt.Sprintf("slot %d", i), s, SlotEmpty, SlotWritten, SlotWiped); err != nil {
			return Status{}, err
		}
	}
	return v, nil
}

func decodeSelfTests(body []byte) ([]SelfTest, error) {
	var v SelfTestList
	if err := decodeInto(body, &v, "tests"); err != nil {
		return nil, err
	}
	if len(v.Tests) > MaxSelfTests {
		return nil, protoErr("%d self-tests, the limit is %d", len(v.Tests), MaxSelfTests)
	}
	for _, t := range v.Tests {
		if err := firstErr(checkText("test name", t.Name, MaxTestName, false), checkText("test description", t.Desc, MaxTestText, true)); err != nil {
			return nil, err
		}
	}
	return v.Tests, nil
}

func decodeSelfTestResults(body []byte) ([]SelfTestResult, error) {
	var v SelfTestResults
	if err := decodeInto(body, &v, "results"); err != nil {
		return nil, err
	}
	if len(v.Results) > MaxSelfTests {
		return nil, protoErr("%d results, the limit is %d", len(v.Results), MaxSelfTests)
	}
	for _, r := range v.Results {
		err := firstErr(
			checkText("test name", r.Name, MaxTestName, false),
			checkOneOf("result of "+r.Name, r.Result, TestPass, TestFail, TestSkipped),
			checkText("test detail", r.Detail, MaxTestText, true),
		)
		if err != nil {
			return nil, err
		}
	}
	return v.Results, nil
}

func decodeSlots(body []byte) ([]Slot, error) {
	var v SlotList
	if err := decodeInto(body, &v, "slots"); err != nil {
		return nil, err
	}
	if len(v.Slots) > MaxSlots {
		return nil, protoErr("%d slots, the limit is %d", len(v.Slots), MaxSlots)
	}
	for _, s := range v.Slots {
		if s.Slot >= MaxSlots {
			return nil, protoErr("slot number %d, the limit is %d", s.Slot, MaxSlots-1)
		}
		if err := checkOneOf(fmt.Sprintf("slot %d state", s.Slot), s.State, SlotEmpty, SlotWritten, SlotWiped); err != nil {
			return nil, err
		}
		if s.State != SlotWritten {
			continue
		}
		err := firstErr(
			checkText("job", s.Job, MaxJob, false),
			checkText("kcv method", s.KCVAlg, 16, false),
		)
		if err == nil && (len(s.KCV) == 0 || len(s.KCV) > MaxKCV) {
			err = protoErr("slot %d key check value is %d bytes", s.Slot, len(s.KCV))
		}
		if err != nil {
			return nil, err
		}
	}
	return v.Slots, nil
}

func decodeReceipt(body []byte) (Receipt, error) {
	var v Receipt
	if err := decodeInto(body, &v, "serial", "slot", "job", "counter", "nonce", "kcv", "kcv_alg", "sig"); err != nil {
		return Receipt{}, err
	}
	err := firstErr(
		checkText("serial", v.Serial, MaxSerial, false),
		checkText("job", v.Job, MaxJob, false),
		checkLen("nonce", v.Nonce, NonceSize),
		checkText("kcv method", v.KCVAlg, 16, false),
		checkLen("signature", v.Sig, SigSize),
	)
	if err == nil && v.Slot >= MaxSlots {
		err = protoErr("slot number %d, the limit is %d", v.Slot, MaxSlots-1)
	}
	if err == nil && (len(v.KCV) == 0 || len(v.KCV) > MaxKCV) {
		err = protoErr("key check value is %d bytes", len(v.KCV))
	}
	if err != nil {
		return Receipt{}, err
	}
	return v, nil
}

func decodeEvents(body []byte, since uint64) (EventPage, error) {
	var v EventPage
	if err := decodeInto(body, &v, "events", "next", "more"); err != nil {
		return EventPage{}, err
	}
	prev := since
	for i, e := range v.Events {
		if e.Seq < prev || (i > 0 && e.Seq == prev) {
			return EventPage{}, protoErr("event %d is out of order", e.Seq)
		}
		prev = e.Seq
		if err := firstErr(checkText("event kind", e.Kind, MaxEventKind, false), checkText("event message", e.Msg, MaxEventMsg, true)); err != nil {
			return EventPage{}, err
		}
	}
	if v.Next < since || (len(v.Events) > 0 && v.Next <= prev) {
		return EventPage{}, protoErr("next cursor %d does not follow the events read", v.Next)
	}
	if v.More && len(v.Events) == 0 && v.Next == since {
		return EventPage{}, protoErr("unit reports more events but sent none")
	}
	return v, nil
}

func decodeCountersign(body []byte) (CountersignResponse, error) {
	var v CountersignResponse
	if err := decodeInto(body, &v, "off"); err != nil {
		return CountersignResponse{}, err
	}
	if v.Sig != nil {
		if err := checkLen("signature", v.Sig, SigSize); err != nil {
			return CountersignResponse{}, err
		}
	}
	return v, nil
}

func decodeDoor(body []byte) (DoorConfig, error) {
	var v DoorConfig
	if err := decodeInto(body, &v, "courier", "hours", "pulse_ms", "mode", "tz"); err != nil {
		return DoorConfig{}, err
	}
	if err := v.Validate(); err != nil {
		return DoorConfig{}, fmt.Errorf("%w: %w", ErrProtocol, err)
	}
	return v, nil
}

// Validate checks c against the limits of docs/protocol.md; the unit applies
// the same checks and answers CONFIG_INVALID.
func (c DoorConfig) Validate() error {
	if len(c.Hours) > MaxHours {
		return fmt.Errorf("%d access windows, the limit is %d", len(c.Hours), MaxHours)
	}
	for i, w := range c.Hours {
		switch {
		case w.Days == 0 || w.Days > 0x7f:
			return fmt.Errorf("access window %d: days mask %#x, want bits 0 (Monday) to 6 (Sunday)", i+1, w.Days)
		case w.From >= w.To || w.To > 1440:
			return fmt.Errorf("access window %d: from minute %d to %d, want 0 <= from < to <= 1440", i+1, w.From, w.To)
		}
	}
	if c.PulseMS < MinPulseMS || c.PulseMS > MaxPulseMS {
		return fmt.Errorf("relay pulse %d ms, want %d to %d", c.PulseMS, MinPulseMS, MaxPulseMS)
	}
	if !slices.Contains([]string{FailSecure, FailSafe}, c.Mode) {
		return fmt.Errorf("door mode %q, want %q or %q", c.Mode, FailSecure, FailSafe)
	}
	if err := checkText("time zone", c.TZ, MaxTZ, false); err != nil {
		return err
	}
	return nil
}

func decodeDecommissionToken(body []byte) (DecommissionToken, error) {
	var v DecommissionToken
	if err := decodeInto(body, &v, "token", "ttl"); err != nil {
		return DecommissionToken{}, err
	}
	if err := checkLen("token", v.Token, TokenSize); err != nil {
		return DecommissionToken{}, err
	}
	if v.TTL == 0 {
		return DecommissionToken{}, protoErr("token valid for 0 seconds")
	}
	return v, nil
}

func decodeDecommissionRecord(body []byte) (DecommissionRecord, error) {
	var v DecommissionRecord
	if err := decodeInto(body, &v, "serial", "token", "counter", "wiped", "sig"); err != nil {
		return DecommissionRecord{}, err
	}
	err := firstErr(
		checkText("serial", v.Serial, MaxSerial, false),
		checkLen("token", v.Token, TokenSize),
		checkLen("signature", v.Sig, SigSize),
	)
	if err == nil && v.Wiped > MaxSlots {
		err = protoErr("%d slots wiped, the limit is %d", v.Wiped, MaxSlots)
	}
	if err != nil {
		return DecommissionRecord{}, err
	}
	return v, nil
}

func decodeImageState(body []byte) ([]ImageSlot, error) {
	var v ImageState
	if err := decodeInto(body, &v, "images"); err != nil {
		return nil, err
	}
	for _, s := range v.Images {
		if len(s.Hash) > 64 {
			return nil, protoErr("image hash of %d bytes", len(s.Hash))
		}
		if err := checkText("image version", s.Version, MaxText, true); err != nil {
			return nil, err
		}
	}
	return v.Images, nil
}

func decodeUpload(body []byte) (ImageUploadResponse, error) {
	var v ImageUploadResponse
	if err := decodeInto(body, &v, "off"); err != nil {
		return ImageUploadResponse{}, err
	}
	return v, nil
}

func decodeOSInfo(body []byte) (string, error) {
	var v OSInfoResponse
	if err := decodeInto(body, &v, "output"); err != nil {
		return "", err
	}
	return v.Output, nil
}

func decodeDateTime(body []byte) (string, error) {
	var v DateTime
	if err := decodeInto(body, &v, "datetime"); err != nil {
		return "", err
	}
	return v.DateTime, nil
}

func decodeStatsList(body []byte) ([]string, error) {
	var v StatsListResponse
	if err := decodeInto(body, &v, "stat_list"); err != nil {
		return nil, err
	}
	return v.List, nil
}

func decodeStatsGroup(body []byte) (StatsGroup, error) {
	var v StatsGroup
	if err := decodeInto(body, &v, "name", "fields"); err != nil {
		return StatsGroup{}, err
	}
	return v, nil
}

func decodeSettingsRead(body []byte) (SettingsReadResponse, error) {
	var v SettingsReadResponse
	if err := decodeInto(body, &v, "val"); err != nil {
		return SettingsReadResponse{}, err
	}
	return v, nil
}
