package device

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/latchkey/latchkey/internal/smp"
)

// Identity reads who the unit says it is. Nothing in it is proven until
// Attest's signature and chain are verified.
func (u *Unit) Identity(ctx context.Context) (Identity, error) {
	body, err := u.call(ctx, u.opts.Timeout, smp.OpRead, GroupLatchkey, CmdIdentity, nil)
	if err != nil {
		return Identity{}, fmt.Errorf("read unit identity: %w", err)
	}
	id, err := decodeIdentity(body)
	if err != nil {
		return Identity{}, fmt.Errorf("read unit identity: %w", err)
	}
	return id, nil
}

// Attestation is a unit's answer to a challenge: its certificate chain
// (unit certificate first, manufacturer root not included) and its
// signature over AttestationMessage(Nonce, serial).
type Attestation struct {
	Nonce []byte
	Chain [][]byte
	Sig   []byte
}

// Attest sends nonce (NonceSize fresh random bytes) and returns the unit's
// signature and its whole certificate chain, reading the certificates that
// did not fit in the first answer one by one.
func (u *Unit) Attest(ctx context.Context, nonce []byte) (Attestation, error) {
	if len(nonce) != NonceSize {
		return Attestation{}, fmt.Errorf("attest: nonce of %d bytes, want %d", len(nonce), NonceSize)
	}
	body, err := u.call(ctx, u.opts.Timeout, smp.OpRead, GroupLatchkey, CmdAttest, AttestRequest{Nonce: nonce})
	if err != nil {
		return Attestation{}, fmt.Errorf("attest: %w", err)
	}
	rsp, err := decodeAttest(body)
	if err != nil {
		return Attestation{}, fmt.Errorf("attest: %w", err)
	}
	chain := rsp.Chain
	for i := len(chain); i < int(rsp.Count); i++ {
		der, err := u.Cert(ctx, uint8(i))
		if err != nil {
			return Attestation{}, fmt.Errorf("attest: %w", err)
		}
		chain = append(chain, der)
	}
	return Attestation{Nonce: bytes.Clone(nonce), Chain: chain, Sig: rsp.Sig}, nil
}

// Cert reads certificate index of the unit's chain (0 = the unit's own).
func (u *Unit) Cert(ctx context.Context, index uint8) ([]byte, error) {
	body, err := u.call(ctx, u.opts.Timeout, smp.OpRead, GroupLatchkey, CmdCert, CertRequest{Index: index})
	if err != nil {
		return nil, fmt.Errorf("read certificate %d: %w", index, err)
	}
	der, err := decodeCert(body, index)
	if err != nil {
		return nil, fmt.Errorf("read certificate %d: %w", index, err)
	}
	return der, nil
}

// Status reads the unit's live state: relay, tamper, supply, modem, slots.
func (u *Unit) Status(ctx context.Context) (Status, error) {
	body, err := u.call(ctx, u.opts.Timeout, smp.OpRead, GroupLatchkey, CmdStatus, nil)
	if err != nil {
		return Status{}, fmt.Errorf("read unit status: %w", err)
	}
	s, err := decodeStatus(body)
	if err != nil {
		return Status{}, fmt.Errorf("read unit status: %w", err)
	}
	return s, nil
}

// SelfTests lists the unit's self-tests.
func (u *Unit) SelfTests(ctx context.Context) ([]SelfTest, error) {
	body, err := u.call(ctx, u.opts.Timeout, smp.OpRead, GroupLatchkey, CmdSelfTests, nil)
	if err != nil {
		return nil, fmt.Errorf("list self-tests: %w", err)
	}
	t, err := decodeSelfTests(body)
	if err != nil {
		return nil, fmt.Errorf("list self-tests: %w", err)
	}
	return t, nil
}

// RunSelfTest runs the named self-test, or all of them if name is "". A
// test that pulses the relay opens the door: it runs only with relay set,
// and asked for by name without it fails with ErrRelayNotAllowed; when all
// tests run without relay, relay tests come back skipped.
func (u *Unit) RunSelfTest(ctx context.Context, name string, relay bool) ([]SelfTestResult, error) {
	what := "run self-tests"
	if name != "" {
		what = fmt.Sprintf("run self-test %q", name)
	}
	body, err := u.call(ctx, u.opts.SlowTimeout, smp.OpWrite, GroupLatchkey, CmdSelfTests, RunSelfTestRequest{Name: name, Relay: relay})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	r, err := decodeSelfTestResults(body)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return r, nil
}

// Slots lists the unit's key slots and, for written ones, what they hold.
func (u *Unit) Slots(ctx context.Context) ([]Slot, error) {
	body, err := u.call(ctx, u.opts.Timeout, smp.OpRead, GroupLatchkey, CmdSlots, nil)
	if err != nil {
		return nil, fmt.Errorf("list key slots: %w", err)
	}
	s, err := decodeSlots(body)
	if err != nil {
		return nil, fmt.Errorf("list key slots: %w", err)
	}
	return s, nil
}

// Burn writes a sealed key into an empty slot and returns the unit's signed
// receipt. The receipt is checked to answer this request (slot, job, nonce);
// its signature and key check value are for the caller to verify. A slot
// already written fails with ErrSlotWritten: read its receipt with Receipt.
func (u *Unit) Burn(ctx context.Context, req BurnRequest) (Receipt, error) {
	what := fmt.Sprintf("burn slot %d", req.Slot)
	switch {
	case len(req.Nonce) != NonceSize:
		return Receipt{}, fmt.Errorf("%s: nonce of %d bytes, want %d", what, len(req.Nonce), NonceSize)
	case len(req.Sealed) == 0 || len(req.Sealed) > MaxSealed:
		return Receipt{}, fmt.Errorf("%s: %w (sealed key of %d bytes, want 1 to %d)", what, ErrMessageTooLarge, len(req.Sealed), MaxSealed)
	case req.Job == "" || len(req.Job) > MaxJob:
		return Receipt{}, fmt.Errorf("%s: job id of %d bytes, want 1 to %d", what, len(req.Job), MaxJob)
	case req.Slot >= MaxSlots:
		return Receipt{}, fmt.Errorf("%s: %w", what, ErrSlotInvalid)
	}
	body, err := u.call(ctx, u.opts.SlowTimeout, smp.OpWrite, GroupLatchkey, CmdBurn, req)
	if err != nil {
		return Receipt{}, fmt.Errorf("%s: %w", what, err)
	}
	r, err := decodeReceipt(body)
	if err != nil {
		return Receipt{}, fmt.Errorf("%s: %w", what, err)
	}
	if r.Slot != req.Slot || r.Job != req.Job || !bytes.Equal(r.Nonce, req.Nonce) {
		return Receipt{}, fmt.Errorf("%s: %w", what, protoErr("receipt is for slot %d, job %q and another nonce, not this request", r.Slot, r.Job))
	}
	return r, nil
}

// Receipt reads the stored receipt of a written slot, exactly as the unit
// signed it when the slot was burned: how a burn whose answer was lost (a
// cable pulled mid-burn) is finished without writing again.
func (u *Unit) Receipt(ctx context.Context, slot uint8) (Receipt, error) {
	body, err := u.call(ctx, u.opts.Timeout, smp.OpRead, GroupLatchkey, CmdReceipt, ReceiptRequest{Slot: slot})
	if err != nil {
		return Receipt{}, fmt.Errorf("read receipt of slot %d: %w", slot, err)
	}
	r, err := decodeReceipt(body)
	if err != nil {
		return Receipt{}, fmt.Errorf("read receipt of slot %d: %w", slot, err)
	}
	if r.Slot != slot {
		return Receipt{}, fmt.Errorf("read receipt of slot %d: %w", slot, protoErr("got the receipt of slot %d", r.Slot))
	}
	return r, nil
}

// Events reads one page of the event log: events with sequence number >=
// since, as many as fit in one answer or maxEvents if that is smaller (0: no cap).
// Read the next page from page.Next while page.More.
func (u *Unit) Events(ctx context.Context, since uint64, maxEvents uint16) (EventPage, error) {
	body, err := u.call(ctx, u.opts.Timeout, smp.OpRead, GroupLatchkey, CmdEvents, EventsRequest{Since: since, Max: maxEvents})
	if err != nil {
		return EventPage{}, fmt.Errorf("read events since %d: %w", since, err)
	}
	p, err := decodeEvents(body, since)
	if err != nil {
		return EventPage{}, fmt.Errorf("read events since %d: %w", since, err)
	}
	if maxEvents > 0 && len(p.Events) > int(maxEvents) {
		return EventPage{}, fmt.Errorf("read events since %d: %w", since, protoErr("asked for %d events, got %d", maxEvents, len(p.Events)))
	}
	return p, nil
}

// AllEvents reads events from since to the end of the log, page by page,
// stopping after limit events if limit > 0. It returns the cursor to read
// from next time.
func (u *Unit) AllEvents(ctx context.Context, since uint64, limit int) ([]Event, uint64, error) {
	var out []Event
	for {
		p, err := u.Events(ctx, since, 0)
		if err != nil {
			return out, since, err
		}
		for _, e := range p.Events {
			if limit > 0 && len(out) == limit {
				return out, e.Seq, nil
			}
			out = append(out, e)
		}
		since = p.Next
		if !p.More {
			return out, since, nil
		}
	}
}

// DoorConfig reads the door configuration.
func (u *Unit) DoorConfig(ctx context.Context) (DoorConfig, error) {
	body, err := u.call(ctx, u.opts.Timeout, smp.OpRead, GroupLatchkey, CmdDoor, nil)
	if err != nil {
		return DoorConfig{}, fmt.Errorf("read door configuration: %w", err)
	}
	c, err := decodeDoor(body)
	if err != nil {
		return DoorConfig{}, fmt.Errorf("read door configuration: %w", err)
	}
	return c, nil
}

// SetDoorConfig replaces the door configuration and returns it as the unit
// stored it.
func (u *Unit) SetDoorConfig(ctx context.Context, c DoorConfig) (DoorConfig, error) {
	if err := c.Validate(); err != nil {
		return DoorConfig{}, fmt.Errorf("set door configuration: %w", err)
	}
	if c.Hours == nil {
		c.Hours = []AccessWindow{} // an empty array, not null, on the wire
	}
	body, err := u.call(ctx, u.opts.Timeout, smp.OpWrite, GroupLatchkey, CmdDoor, c)
	if err != nil {
		return DoorConfig{}, fmt.Errorf("set door configuration: %w", err)
	}
	got, err := decodeDoor(body)
	if err != nil {
		return DoorConfig{}, fmt.Errorf("set door configuration: %w", err)
	}
	return got, nil
}

// DecommissionToken asks the unit for a fresh confirmation token, the first
// step of a decommission.
func (u *Unit) DecommissionToken(ctx context.Context) (DecommissionToken, error) {
	body, err := u.call(ctx, u.opts.Timeout, smp.OpRead, GroupLatchkey, CmdDecommission, nil)
	if err != nil {
		return DecommissionToken{}, fmt.Errorf("decommission: %w", err)
	}
	t, err := decodeDecommissionToken(body)
	if err != nil {
		return DecommissionToken{}, fmt.Errorf("decommission: %w", err)
	}
	return t, nil
}

// Decommission wipes every key slot of the unit, which afterwards answers
// only Identity. token comes from DecommissionToken; auth is the operator's
// signature over DecommissionAuthMessage, or nil for units that do not
// require one. It returns the unit's signed record of the wipe.
func (u *Unit) Decommission(ctx context.Context, token, auth []byte) (DecommissionRecord, error) {
	if len(token) != TokenSize {
		return DecommissionRecord{}, fmt.Errorf("decommission: %w (token of %d bytes)", ErrTokenInvalid, len(token))
	}
	body, err := u.call(ctx, u.opts.SlowTimeout, smp.OpWrite, GroupLatchkey, CmdDecommission, DecommissionRequest{Token: token, Auth: auth})
	if err != nil {
		return DecommissionRecord{}, fmt.Errorf("decommission: %w", err)
	}
	r, err := decodeDecommissionRecord(body)
	if err != nil {
		return DecommissionRecord{}, fmt.Errorf("decommission: %w", err)
	}
	if !bytes.Equal(r.Token, token) {
		return DecommissionRecord{}, fmt.Errorf("decommission: %w", protoErr("record names another token"))
	}
	return r, nil
}

// Detection is what Detect found at the other end of the link.
type Detection struct {
	// Latchkey is true for a unit that answers latchkey's group 64.
	Latchkey bool
	// Identity is the unit's identity when Latchkey is true.
	Identity Identity
	// Reason says, in words for the support screen, why a device is not
	// taken for a latchkey unit.
	Reason string
}

// Detect tells a latchkey unit from another SMP device, for `diag status`:
// a device that answers the identity command ENOTSUP (or refuses SMP
// version 2) does not implement group 64 and is not one of ours. Any other
// failure (no answer, a malformed identity) is returned as an error, since
// it says nothing about what the device is.
func (u *Unit) Detect(ctx context.Context) (Detection, error) {
	id, err := u.Identity(ctx)
	switch {
	case errors.Is(err, ErrNotLatchkey):
		return Detection{Reason: "it is an SMP device but does not answer latchkey's commands (group 64)"}, nil
	case err != nil:
		return Detection{}, err
	case id.Proto > ProtoVersion:
		return Detection{Latchkey: true, Identity: id, Reason: fmt.Sprintf("it speaks latchkey protocol %d; this latchkey knows %d, so update latchkey", id.Proto, ProtoVersion)}, nil
	}
	return Detection{Latchkey: true, Identity: id}, nil
}
