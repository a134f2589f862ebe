package provision

import (
	"context"
	"crypto/ed25519"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/latchkey/latchkey/internal/device"
	"github.com/latchkey/latchkey/internal/journal"
	"github.com/latchkey/latchkey/internal/record"
)

// ErrBadDecommission is a decommission record that does not verify with the
// unit's key or does not answer the request.
var ErrBadDecommission = errors.New("the unit's decommission record does not verify")

// Decommissioner is what decommissioning asks of a unit.
type Decommissioner interface {
	Attester
	DecommissionToken(ctx context.Context) (device.DecommissionToken, error)
	Decommission(ctx context.Context, token, auth []byte) (device.DecommissionRecord, error)
}

// DecommissionRecord is the signed record of a unit wiped for good.
type DecommissionRecord struct {
	record.Header
	Serial      string `json:"serial"`
	Counter     uint64 `json:"counter"`
	Wiped       uint8  `json:"wiped"`
	Token       string `json:"token"`        // base64
	UnitKey     string `json:"unit_key"`     // base64 Ed25519 public key
	Signature   string `json:"signature"`    // base64, over signed_bytes
	SignedBytes string `json:"signed_bytes"` // base64 of device.DecommissionRecord.SignedBytes()
	Authorised  bool   `json:"authorised"`   // the request carried the operator's signature
}

// Decommissioned is what a decommission did.
type Decommissioned struct {
	Serial     string `json:"serial"`
	Wiped      uint8  `json:"wiped"`
	Counter    uint64 `json:"counter"`
	Record     string `json:"record"`
	Authorised bool   `json:"authorised"`
}

// Decommission wipes every key slot of the unit on the cable for good. The
// unit hands out a single-use token; authorise (the back office, as the
// operator whose key units are provisioned with) signs it, and the unit
// wipes and answers a record signed with its own key. The record is checked
// against the unit's key, queued and journalled in one transaction.
// authorise may return (nil, nil) to send the request unsigned, which only a
// unit provisioned without an operator key accepts.
func (s *Service) Decommission(ctx context.Context, u Decommissioner, authorise func(ctx context.Context, serial string, token []byte) ([]byte, error)) (Decommissioned, error) {
	// The unit proves who it is first, so the wipe record is checked
	// against its certified key, not one it merely names.
	id, _, a, _, err := s.attestUnit(ctx, u, "", false)
	if err != nil {
		return Decommissioned{}, err
	}
	tok, err := u.DecommissionToken(ctx)
	if err != nil {
		return Decommissioned{}, fmt.Errorf("ask unit %s for a decommission token: %w", id.Serial, err)
	}
	auth, err := authorise(ctx, id.Serial, tok.Token)
	if err != nil {
		s.journalFailure(ctx, "unit.decommission_refused", id.Serial, "", err.Error())
		return Decommissioned{}, err
	}
	rec, err := u.Decommission(ctx, tok.Token, auth)
	if err != nil {
		s.journalFailure(ctx, "unit.decommission_refused", id.Serial, "", err.Error())
		return Decommissioned{}, fmt.Errorf("decommission unit %s: %w", id.Serial, err)
	}
	if rec.Serial != a.Serial || string(rec.Token) != string(tok.Token) || !ed25519.Verify(a.SignKey, rec.SignedBytes(), rec.Sig) {
		s.journalFailure(ctx, "unit.decommission_unverified", id.Serial, "", "the unit's decommission record does not verify with its certified key")
		return Decommissioned{}, fmt.Errorf("unit %s: %w; it may not have wiped its keys: call support", id.Serial, ErrBadDecommission)
	}
	now := s.Now().UTC()
	out := Decommissioned{Serial: id.Serial, Wiped: rec.Wiped, Counter: rec.Counter, Authorised: auth != nil,
		Record: fmt.Sprintf("decommission.%s.%d", id.Serial, rec.Counter)}
	payload := DecommissionRecord{
		Header: record.Header{ID: out.Record, CreatedAt: now, ExpiresAt: now.Add(RecordLifetime), Unit: id.Serial},
		Serial: id.Serial, Counter: rec.Counter, Wiped: rec.Wiped, Token: b64(rec.Token), UnitKey: b64(a.SignKey),
		Signature: b64(rec.Sig), SignedBytes: b64(rec.SignedBytes()), Authorised: auth != nil,
	}
	ctx = context.WithoutCancel(ctx) // the unit is wiped: record it whatever happens
	err = s.Store.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := s.Queue.Add(ctx, tx, record.KindDecommission, payload); err != nil {
			return err
		}
		_, err := s.Journal.Append(ctx, tx, journal.Entry{Action: "unit.decommissioned", Unit: id.Serial, Record: out.Record,
			Outcome: journal.OK, Detail: fmt.Sprintf("%d slots wiped, record counter %d, token %s", rec.Wiped, rec.Counter, hex.EncodeToString(rec.Token[:4]))})
		return err
	})
	if err != nil {
		return out, fmt.Errorf("unit %s is wiped, but saving its record failed: %w", id.Serial, err)
	}
	return out, nil
}
