package provision

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/x509"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/google/uuid"

	"github.com/latchkey/latchkey/internal/device"
	"github.com/latchkey/latchkey/internal/identity"
	"github.com/latchkey/latchkey/internal/journal"
	"github.com/latchkey/latchkey/internal/outbox"
	"github.com/latchkey/latchkey/internal/packet"
	"github.com/latchkey/latchkey/internal/record"
	"github.com/latchkey/latchkey/internal/smp"
	"github.com/latchkey/latchkey/internal/store"
)

// Errors of pairing and burning that callers branch on. Attestation's own
// are in attest.go.
var (
	// ErrDenied: the back office put the unit on its denylist.
	ErrDenied = errors.New("the back office has denied this unit")
	// ErrLabel: the installer did not confirm the label code.
	ErrLabel = errors.New("the label code was not confirmed")
	// ErrUnanswered: the label question got no answer either way (the
	// installer left, the input ended). A confirm func wraps it; the
	// pairing stops without recording a rejection of the unit.
	ErrUnanswered = errors.New("the label question was not answered")
	// ErrNotPaired: burning needs the job's unit paired first.
	ErrNotPaired = errors.New("no unit is paired for this job")
	// ErrOtherUnit: the unit on the cable is not the one paired for the job.
	ErrOtherUnit = errors.New("this is not the unit paired for the job")
	// ErrQuarantined: a slot held the wrong key once; the unit gets no more.
	ErrQuarantined = errors.New("the unit is quarantined")
	// ErrTooManyDoors: the job has more doors than the unit has slots.
	ErrTooManyDoors = errors.New("the job has more doors than the unit has key slots")
)

// attestTries is how many fresh challenges are sent when answers are lost.
const attestTries = 3

// RecordLifetime is how long pairing and receipt records may wait in an
// outbox before the back office refuses them as expired.
const RecordLifetime = 180 * 24 * time.Hour

// Unit is what pairing and burning ask of a unit (device.Unit has it).
type Unit interface {
	Identity(ctx context.Context) (device.Identity, error)
	Attest(ctx context.Context, nonce []byte) (device.Attestation, error)
	Slots(ctx context.Context) ([]device.Slot, error)
	Burn(ctx context.Context, req device.BurnRequest) (device.Receipt, error)
	Receipt(ctx context.Context, slot uint8) (device.Receipt, error)
}

// Jobs is where the job's signed, sealed packet and the denylist come from
// (install.Jobs).
type Jobs interface {
	Packet(ctx context.Context, ref string) ([]byte, error)
	Denied(ctx context.Context, serial string) (reason string, denied bool, err error)
}

// Queue puts a signed record in the outbox inside a transaction.
type Queue interface {
	Add(ctx context.Context, tx *sql.Tx, kind record.Kind, payload any) (outbox.Entry, error)
}

// Journal records what was done to which unit.
type Journal interface {
	Append(ctx context.Context, tx *sql.Tx, e journal.Entry) (journal.Head, error)
	Record(ctx context.Context, e journal.Entry) (journal.Head, error)
}

// Service pairs units with jobs and burns the jobs' keys into them.
type Service struct {
	Store   *store.Store
	Jobs    Jobs
	Queue   Queue
	Journal Journal
	// Roots are the trusted manufacturer roots (TrustStore.Roots).
	Roots func() ([]*x509.Certificate, error)
	// HubKey is the back office's key pinned at login; packets must be
	// signed by it.
	HubKey ed25519.PublicKey
	// Identity opens job packets (they are sealed to its X25519 key).
	Identity func() (identity.Identity, error)
	Now      func() time.Time
	Rand     io.Reader
}

// Pairing is what pairing a unit for a job established.
type Pairing struct {
	Job        string    `json:"job"`
	Record     string    `json:"record"`
	Serial     string    `json:"serial"`
	Model      string    `json:"model"`
	Firmware   string    `json:"firmware"`
	Label      string    `json:"label"`
	UnitCert   string    `json:"unit_cert"`
	Root       string    `json:"root"`
	CertExpiry time.Time `json:"cert_expiry"`
	PairedAt   time.Time `json:"paired_at"`
	SignKey    []byte    `json:"sign_key"`
	KexKey     []byte    `json:"kex_key"`
	Nonce      []byte    `json:"nonce"`
}

// PairingRecord is the signed record of a pairing: everything needed to
// check the attestation again, later and elsewhere.
type PairingRecord struct {
	record.Header
	Serial      string   `json:"serial"`
	Model       string   `json:"model"`
	Firmware    string   `json:"firmware"`
	Label       string   `json:"label"`
	SignKey     string   `json:"sign_key"` // base64
	KexKey      string   `json:"kex_key"`  // base64
	UnitCert    string   `json:"unit_cert"`
	Root        string   `json:"root"`
	Nonce       string   `json:"nonce"` // base64, the challenge
	Signature   string   `json:"signature"`
	Chain       []string `json:"chain"` // base64 DER, unit certificate first
	LabelByFlag bool     `json:"label_by_flag"`
}

// attest runs the challenge: a fresh nonce, the unit's answer, and its
// verification against the trusted roots. A failure is journalled and
// returned; nothing else happens.
func (s *Service) attest(ctx context.Context, u Attester, job string) (device.Identity, device.Attestation, Attested, []byte, error) {
	return s.attestUnit(ctx, u, job, true)
}

// Attester is what attestation asks of a unit.
type Attester interface {
	Identity(ctx context.Context) (device.Identity, error)
	Attest(ctx context.Context, nonce []byte) (device.Attestation, error)
}

// attestUnit is attest; withDenylist false skips the denylist (a denied
// unit may still be decommissioned).
func (s *Service) attestUnit(ctx context.Context, u Attester, job string, withDenylist bool) (device.Identity, device.Attestation, Attested, []byte, error) {
	id, err := u.Identity(ctx)
	if err != nil {
		return device.Identity{}, device.Attestation{}, Attested{}, nil, fmt.Errorf("read the unit's identity: %w", err)
	}
	if withDenylist {
		reason, denied, err := s.Jobs.Denied(ctx, id.Serial)
		if err != nil {
			return id, device.Attestation{}, Attested{}, nil, err
		}
		if denied {
			s.journalFailure(ctx, "unit.denied", id.Serial, job, reason)
			return id, device.Attestation{}, Attested{}, nil, fmt.Errorf("unit %s: %w (%s); do not install it, and tell the office", id.Serial, ErrDenied, reason)
		}
	}
	roots, err := s.Roots()
	if err != nil {
		return id, device.Attestation{}, Attested{}, nil, err
	}
	// A challenge is never sent twice (the unit refuses a nonce it has
	// seen); a challenge whose answer was lost on a noisy line is replaced
	// by a fresh one, a few times.
	var nonce []byte
	var att device.Attestation
	for try := 1; ; try++ {
		if nonce, err = NewNonce(s.Rand); err != nil {
			return id, device.Attestation{}, Attested{}, nil, err
		}
		att, err = u.Attest(ctx, nonce)
		if err == nil {
			break
		}
		if !errors.Is(err, smp.ErrTimeout) || try == attestTries {
			return id, device.Attestation{}, Attested{}, nil, fmt.Errorf("ask unit %s to attest: %w", id.Serial, err)
		}
	}
	a, err := VerifyAttestation(id, att, nonce, roots, s.Now())
	if err != nil {
		s.journalFailure(ctx, "unit.attestation_failed", id.Serial, job, err.Error())
		return id, att, Attested{}, nil, fmt.Errorf("unit %s failed attestation: %w", id.Serial, err)
	}
	return id, att, a, nonce, nil
}

func (s *Service) journalFailure(ctx context.Context, action, serial, job, detail string) {
	// Best effort: the refusal itself must not wait on the journal.
	_, _ = s.Journal.Record(context.WithoutCancel(ctx), journal.Entry{Action: action, Unit: serial, Job: job, Outcome: journal.Refused, Detail: detail})
}

// Pair proves the unit on the cable genuine and records it as the job's
// unit. confirm is shown the label code (as printed on the unit's box) and
// returns nil only when the installer confirmed it matches; byFlag says the
// code was given on the command line rather than compared on screen.
func (s *Service) Pair(ctx context.Context, u Unit, jobID string, confirm func(label string) error, byFlag bool) (Pairing, error) {
	if _, err := s.Jobs.Packet(ctx, jobID); err != nil {
		return Pairing{}, err
	}
	id, att, a, nonce, err := s.attest(ctx, u, jobID)
	if err != nil {
		return Pairing{}, err
	}
	// A job's keys go into one unit. Once any went into another, pairing
	// this one would leave the job split between two units.
	rows, err := s.rows(ctx, jobID)
	if err != nil {
		return Pairing{}, err
	}
	for slot, r := range rows {
		if r.serial != a.Serial {
			s.journalFailure(ctx, "unit.pairing_refused", a.Serial, jobID, fmt.Sprintf("slot %d of this job went to unit %s", slot, r.serial))
			return Pairing{}, fmt.Errorf("job %s: %w: its keys already went (in part) to unit %s; a job's keys go into one unit: finish with that unit, or ask the office to issue the job again",
				jobID, ErrOtherUnit, r.serial)
		}
	}
	if err := confirm(a.Label); err != nil {
		if errors.Is(err, ErrUnanswered) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			// Walking away is not rejecting the unit: nothing to journal.
			return Pairing{}, fmt.Errorf("pairing of unit %s stopped before its label code was confirmed: %w", a.Serial, err)
		}
		s.journalFailure(ctx, "unit.label_rejected", a.Serial, jobID, err.Error())
		return Pairing{}, fmt.Errorf("%w: %w", ErrLabel, err)
	}
	now := s.Now().UTC()
	p := Pairing{Job: jobID, Record: "pairing-" + uuid.Must(uuid.NewRandomFromReader(s.Rand)).String(),
		Serial: a.Serial, Model: id.Model, Firmware: id.Firmware, Label: a.Label, UnitCert: a.UnitCert, Root: a.Root,
		CertExpiry: a.NotAfter.UTC(), PairedAt: now, SignKey: bytes.Clone(a.SignKey), KexKey: bytes.Clone(a.KexKey), Nonce: nonce}
	rec := PairingRecord{
		Header: record.Header{ID: p.Record, CreatedAt: now, ExpiresAt: now.Add(RecordLifetime), Job: jobID, Unit: a.Serial},
		Serial: a.Serial, Model: id.Model, Firmware: id.Firmware, Label: a.Label,
		SignKey: b64(a.SignKey), KexKey: b64(a.KexKey), UnitCert: a.UnitCert, Root: a.Root,
		Nonce: b64(nonce), Signature: b64(att.Sig), LabelByFlag: byFlag,
	}
	for _, der := range att.Chain {
		rec.Chain = append(rec.Chain, b64(der))
	}
	err = s.Store.Tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO pairings
			(job, record_id, serial, model, firmware, sign_key, kex_key, label, unit_cert, root, cert_expiry, nonce, paired_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (job) DO UPDATE SET record_id = excluded.record_id, serial = excluded.serial, model = excluded.model,
			firmware = excluded.firmware, sign_key = excluded.sign_key, kex_key = excluded.kex_key, label = excluded.label,
			unit_cert = excluded.unit_cert, root = excluded.root, cert_expiry = excluded.cert_expiry, nonce = excluded.nonce,
			paired_at = excluded.paired_at`,
			p.Job, p.Record, p.Serial, p.Model, p.Firmware, p.SignKey, p.KexKey, p.Label, p.UnitCert, p.Root,
			p.CertExpiry.Format(time.RFC3339Nano), p.Nonce, p.PairedAt.Format(time.RFC3339Nano))
		if err != nil {
			return err
		}
		if _, err := s.Queue.Add(ctx, tx, record.KindPairing, rec); err != nil {
			return err
		}
		_, err = s.Journal.Append(ctx, tx, journal.Entry{Action: "unit.paired", Unit: p.Serial, Job: jobID, Record: p.Record,
			Outcome: journal.OK, Detail: "attested to root " + short(a.Root) + ", label " + a.Label})
		return err
	})
	if err != nil {
		return Pairing{}, fmt.Errorf("save the pairing of unit %s: %w", p.Serial, err)
	}
	return p, nil
}

// Paired returns the job's pairing (ErrNotPaired).
func (s *Service) Paired(ctx context.Context, jobID string) (Pairing, error) {
	var p Pairing
	var expiry, at string
	err := s.Store.DB().QueryRowContext(ctx, `SELECT job, record_id, serial, model, firmware, sign_key, kex_key, label,
		unit_cert, root, cert_expiry, nonce, paired_at FROM pairings WHERE job = ?`, jobID).Scan(
		&p.Job, &p.Record, &p.Serial, &p.Model, &p.Firmware, &p.SignKey, &p.KexKey, &p.Label, &p.UnitCert, &p.Root,
		&expiry, &p.Nonce, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return Pairing{}, fmt.Errorf("job %s: %w; run 'latchkey pair --job %s' first", jobID, ErrNotPaired, jobID)
	}
	if err != nil {
		return Pairing{}, s.Store.Check(err)
	}
	if p.CertExpiry, err = time.Parse(time.RFC3339Nano, expiry); err != nil {
		return Pairing{}, err
	}
	if p.PairedAt, err = time.Parse(time.RFC3339Nano, at); err != nil {
		return Pairing{}, err
	}
	return p, nil
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

func short(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}

// ReceiptRecord is the signed record of one burned slot: the unit's receipt
// with everything needed to verify it by hand.
type ReceiptRecord struct {
	record.Header
	Serial      string `json:"serial"`
	Slot        uint8  `json:"slot"`
	Door        string `json:"door"`
	Counter     uint64 `json:"counter"`
	Nonce       string `json:"nonce"` // base64
	KCV         string `json:"kcv"`   // hex
	KCVAlg      string `json:"kcv_alg"`
	UnitKey     string `json:"unit_key"`     // base64 Ed25519 public key
	Signature   string `json:"signature"`    // base64, over signed_bytes
	SignedBytes string `json:"signed_bytes"` // base64 of device.Receipt.SignedBytes()
}

// SlotResult is what happened to one door's slot.
type SlotResult struct {
	Slot    uint8           `json:"slot"`
	Door    string          `json:"door"`
	Outcome string          `json:"outcome"` // burned, already, stored
	KCV     string          `json:"kcv"`
	Counter uint64          `json:"counter"`
	Receipt json.RawMessage `json:"receipt"`
}

// Slot outcomes.
const (
	Burned  = "burned"  // written now
	Already = "already" // the unit held this key already (an earlier run wrote it)
	Stored  = "stored"  // finished before; the stored receipt
)

// BurnResult is a burn run's outcome.
type BurnResult struct {
	Job    string       `json:"job"`
	Serial string       `json:"serial"`
	Slots  []SlotResult `json:"slots"`
}

// burnRow is a job slot's saved progress.
type burnRow struct {
	door    string
	serial  string
	state   string
	kcv     []byte
	nonce   []byte
	receipt []byte
}

func (s *Service) rows(ctx context.Context, jobID string) (map[uint8]burnRow, error) {
	rs, err := s.Store.DB().QueryContext(ctx, `SELECT slot, door, serial, state, kcv, nonce, receipt FROM burns WHERE job = ?`, jobID)
	if err != nil {
		return nil, s.Store.Check(err)
	}
	defer rs.Close()
	out := map[uint8]burnRow{}
	for rs.Next() {
		var slot uint8
		var r burnRow
		if err := rs.Scan(&slot, &r.door, &r.serial, &r.state, &r.kcv, &r.nonce, &r.receipt); err != nil {
			return nil, err
		}
		out[slot] = r
	}
	return out, s.Store.Check(rs.Err())
}

// Finished returns the stored receipts of a job whose every door is burned,
// exactly as they were stored, and false when something is missing.
func (s *Service) Finished(ctx context.Context, jobID string) (BurnResult, bool, error) {
	b, err := s.Jobs.Packet(ctx, jobID)
	if err != nil {
		return BurnResult{}, false, err
	}
	job, err := packet.Verify(b, s.HubKey, s.Now())
	if err != nil && !errors.Is(err, packet.ErrExpired) {
		return BurnResult{}, false, err
	}
	if err != nil {
		// An expired packet can no longer be burned, but what it burned
		// stays burned: read the job without the expiry.
		if job, err = packet.Verify(b, s.HubKey, time.Time{}); err != nil {
			return BurnResult{}, false, err
		}
	}
	rows, err := s.rows(ctx, jobID)
	if err != nil {
		return BurnResult{}, false, err
	}
	res := BurnResult{Job: jobID}
	for i, door := range job.Doors {
		r, ok := rows[uint8(i)]
		if !ok || r.state != "done" || (res.Serial != "" && r.serial != res.Serial) {
			return BurnResult{}, false, nil
		}
		var rc device.Receipt
		if err := json.Unmarshal(r.receipt, &rc); err != nil {
			return BurnResult{}, false, fmt.Errorf("stored receipt of job %s slot %d: %w", jobID, i, err)
		}
		res.Serial = r.serial
		res.Slots = append(res.Slots, SlotResult{Slot: uint8(i), Door: door, Outcome: Stored, KCV: hex.EncodeToString(r.kcv),
			Counter: rc.Counter, Receipt: json.RawMessage(r.receipt)})
	}
	return res, true, nil
}

// Burned returns the job's slots burned so far, in slot order, with their
// stored receipts: after a kill or a pulled cable, what the next burn keeps.
func (s *Service) Burned(ctx context.Context, jobID string) ([]SlotResult, error) {
	rows, err := s.rows(ctx, jobID)
	if err != nil {
		return nil, err
	}
	b, err := s.Jobs.Packet(ctx, jobID)
	if err != nil {
		return nil, err
	}
	// The doors only: what was burned stays burned after the packet expires.
	job, err := packet.Verify(b, s.HubKey, time.Time{})
	if err != nil {
		return nil, err
	}
	var out []SlotResult
	for i, door := range job.Doors {
		r, ok := rows[uint8(i)]
		if !ok || r.state != "done" {
			continue
		}
		var rc device.Receipt
		if err := json.Unmarshal(r.receipt, &rc); err != nil {
			return nil, fmt.Errorf("stored receipt of job %s slot %d: %w", jobID, i, err)
		}
		out = append(out, SlotResult{Slot: uint8(i), Door: door, Outcome: Stored, KCV: hex.EncodeToString(r.kcv),
			Counter: rc.Counter, Receipt: json.RawMessage(r.receipt)})
	}
	return out, nil
}

// quarantined reports whether serial is quarantined, and why.
func (s *Service) quarantined(ctx context.Context, serial string) (string, bool, error) {
	var reason string
	err := s.Store.DB().QueryRowContext(ctx, `SELECT reason FROM quarantine WHERE serial = ?`, serial).Scan(&reason)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	return reason, err == nil, s.Store.Check(err)
}

// quarantine marks the unit and returns the error that stops the burn.
func (s *Service) quarantine(ctx context.Context, serial, jobID, reason string) error {
	ctx = context.WithoutCancel(ctx)
	now := s.Now().UTC().Format(time.RFC3339Nano)
	err := s.Store.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO quarantine (serial, job, reason, at) VALUES (?, ?, ?, ?)
			ON CONFLICT (serial) DO NOTHING`, serial, jobID, reason, now); err != nil {
			return err
		}
		_, err := s.Journal.Append(ctx, tx, journal.Entry{Action: "unit.quarantined", Unit: serial, Job: jobID, Outcome: journal.Failed, Detail: reason})
		return err
	})
	if err != nil {
		return fmt.Errorf("quarantine unit %s: %w (reason: %s)", serial, err, reason)
	}
	return fmt.Errorf("unit %s: %w: %s; stop, do not install it, and call support", serial, ErrQuarantined, reason)
}

// Burn writes the job's door keys into the paired unit, one slot per door in
// the job's order, and returns the unit's receipts. It re-attests the unit
// with a fresh nonce first (after a reboot or a cable pull too), opens the
// job packet in memory only, seals each key to the unit's attested X25519
// key, and saves its progress before every step, so a rerun after any
// interruption finishes exactly what is missing. A slot already holding the
// key sealed for it is not written again; a slot holding another key, or one
// that reads back wrong, quarantines the unit.
func (s *Service) Burn(ctx context.Context, u Unit, jobID string, progress func(SlotResult)) (BurnResult, error) {
	if res, done, err := s.Finished(ctx, jobID); err != nil || done {
		return res, err
	}
	p, err := s.Paired(ctx, jobID)
	if err != nil {
		return BurnResult{}, err
	}
	if reason, q, err := s.quarantined(ctx, p.Serial); err != nil {
		return BurnResult{}, err
	} else if q {
		return BurnResult{}, fmt.Errorf("unit %s: %w: %s; call support", p.Serial, ErrQuarantined, reason)
	}
	id, _, a, _, err := s.attest(ctx, u, jobID)
	if err != nil {
		return BurnResult{}, err
	}
	if a.Serial != p.Serial || !bytes.Equal(a.SignKey, p.SignKey) || !bytes.Equal(a.KexKey, p.KexKey) {
		return BurnResult{}, fmt.Errorf("unit %s on the cable, unit %s paired: %w; connect unit %s or pair again",
			a.Serial, p.Serial, ErrOtherUnit, p.Serial)
	}
	pkt, err := s.Jobs.Packet(ctx, jobID)
	if err != nil {
		return BurnResult{}, err
	}
	me, err := s.Identity()
	if err != nil {
		return BurnResult{}, err
	}
	job, keys, err := packet.Open(pkt, s.HubKey, me, s.Now())
	if err != nil {
		return BurnResult{}, fmt.Errorf("open the job packet: %w", err)
	}
	defer keys.Wipe()
	if len(job.Doors) > int(id.Slots) {
		return BurnResult{}, fmt.Errorf("job %s has %d doors, unit %s has %d slots: %w", jobID, len(job.Doors), a.Serial, id.Slots, ErrTooManyDoors)
	}
	rows, err := s.rows(ctx, jobID)
	if err != nil {
		return BurnResult{}, err
	}
	res := BurnResult{Job: jobID, Serial: a.Serial}
	for i, k := range keys {
		slot := uint8(i)
		r, err := s.burnSlot(ctx, u, a, job, slot, k, rows[slot])
		if err != nil {
			return res, err
		}
		res.Slots = append(res.Slots, r)
		if progress != nil {
			progress(r)
		}
	}
	return res, nil
}

func (s *Service) burnSlot(ctx context.Context, u Unit, a Attested, job packet.Job, slot uint8, k packet.DoorKey, row burnRow) (SlotResult, error) {
	kcv, err := KCV(k.Key)
	if err != nil {
		return SlotResult{}, err
	}
	if row.state != "" && row.serial != a.Serial {
		return SlotResult{}, fmt.Errorf("job %s slot %d: %w: it was written to unit %s", job.ID, slot, ErrOtherUnit, row.serial)
	}
	if row.state == "done" {
		var rc device.Receipt
		if err := json.Unmarshal(row.receipt, &rc); err != nil {
			return SlotResult{}, fmt.Errorf("stored receipt of slot %d: %w", slot, err)
		}
		return SlotResult{Slot: slot, Door: k.Door, Outcome: Stored, KCV: hex.EncodeToString(kcv), Counter: rc.Counter, Receipt: row.receipt}, nil
	}
	// Read the slot before every write.
	st, err := s.slot(ctx, u, slot)
	if err != nil {
		return SlotResult{}, err
	}
	switch {
	case st.State == device.SlotEmpty:
	case bytes.Equal(st.KCV, kcv) && st.KCVAlg == device.KCVCMAC && st.Job == job.ID:
		// The unit holds this very key already: an earlier run wrote it
		// and its answer was lost. No write; fetch the receipt, which must
		// answer the nonce saved before that write (or, when this laptop
		// kept no record of it, whichever nonce the unit signed).
		rc, err := u.Receipt(ctx, slot)
		if err != nil {
			return SlotResult{}, fmt.Errorf("read the receipt of slot %d: %w", slot, err)
		}
		want := row.nonce
		if row.state != "writing" {
			want = rc.Nonce
		}
		if err := VerifyReceipt(rc, a, slot, job.ID, want, kcv); err != nil {
			return SlotResult{}, s.quarantine(ctx, a.Serial, job.ID, fmt.Sprintf("slot %d: %v", slot, err))
		}
		return s.finish(ctx, a, job, slot, k.Door, kcv, rc, Already)
	default:
		return SlotResult{}, s.quarantine(ctx, a.Serial, job.ID,
			fmt.Sprintf("slot %d already holds a different key (check value %x, job %q)", slot, st.KCV, st.Job))
	}
	// Every write carries a fresh nonce: the unit refuses one it has seen,
	// and the receipt must answer this write and no other.
	nonce, err := NewNonce(s.Rand)
	if err != nil {
		return SlotResult{}, err
	}
	sealed, err := SealKey(a.KexKey, a.Serial, slot, job.ID, nonce, k.Key)
	if err != nil {
		return SlotResult{}, err
	}
	// Saved before the write: if the answer is lost, the rerun knows
	// which nonce the unit's receipt must carry and which check value.
	if err := s.saveWriting(ctx, job.ID, slot, k.Door, a.Serial, kcv, nonce); err != nil {
		return SlotResult{}, err
	}
	rc, err := u.Burn(ctx, device.BurnRequest{Slot: slot, Job: job.ID, Nonce: nonce, Sealed: sealed})
	if err != nil {
		return SlotResult{}, fmt.Errorf("burn slot %d (%s): %w; run burn again to finish", slot, k.Door, err)
	}
	if err := VerifyReceipt(rc, a, slot, job.ID, nonce, kcv); err != nil {
		return SlotResult{}, s.quarantine(ctx, a.Serial, job.ID, fmt.Sprintf("slot %d receipt: %v", slot, err))
	}
	// Read back: the slot must now hold exactly this key.
	st, err = s.slot(ctx, u, slot)
	if err != nil {
		return SlotResult{}, err
	}
	if st.State == device.SlotEmpty || !bytes.Equal(st.KCV, kcv) || st.KCVAlg != device.KCVCMAC || st.Job != job.ID {
		return SlotResult{}, s.quarantine(ctx, a.Serial, job.ID, fmt.Sprintf("slot %d reads back %s with check value %x after the write", slot, st.State, st.KCV))
	}
	return s.finish(ctx, a, job, slot, k.Door, kcv, rc, Burned)
}

func (s *Service) slot(ctx context.Context, u Unit, slot uint8) (device.Slot, error) {
	slots, err := u.Slots(ctx)
	if err != nil {
		return device.Slot{}, fmt.Errorf("read the unit's key slots: %w", err)
	}
	for _, st := range slots {
		if st.Slot == slot {
			return st, nil
		}
	}
	return device.Slot{}, fmt.Errorf("the unit did not report slot %d", slot)
}

func (s *Service) saveWriting(ctx context.Context, jobID string, slot uint8, door, serial string, kcv, nonce []byte) error {
	return s.Store.Tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO burns (job, slot, door, serial, state, kcv, nonce, updated_at)
			VALUES (?, ?, ?, ?, 'writing', ?, ?, ?)
			ON CONFLICT (job, slot) DO UPDATE SET door = excluded.door, serial = excluded.serial, state = 'writing',
			kcv = excluded.kcv, nonce = excluded.nonce, updated_at = excluded.updated_at WHERE burns.state <> 'done'`,
			jobID, slot, door, serial, kcv, nonce, s.Now().UTC().Format(time.RFC3339Nano))
		if err != nil {
			return err
		}
		// Journalled before the sealed key leaves: if the laptop dies
		// after sending it, the journal still says a key went to the unit.
		_, err = s.Journal.Append(ctx, tx, journal.Entry{Action: "slot.writing", Unit: serial, Job: jobID, Outcome: journal.OK,
			Detail: fmt.Sprintf("slot %d (%s), check value %x", slot, door, kcv)})
		return err
	})
}

// finish stores a verified receipt, queues its record and journals the
// burn, in one transaction.
func (s *Service) finish(ctx context.Context, a Attested, job packet.Job, slot uint8, door string, kcv []byte, rc device.Receipt, outcome string) (SlotResult, error) {
	raw, err := json.Marshal(rc)
	if err != nil {
		return SlotResult{}, err
	}
	now := s.Now().UTC()
	id := fmt.Sprintf("receipt.%s.%s.%d", job.ID, a.Serial, slot)
	rec := ReceiptRecord{
		Header: record.Header{ID: id, CreatedAt: now, ExpiresAt: now.Add(RecordLifetime), Job: job.ID, Unit: a.Serial},
		Serial: a.Serial, Slot: slot, Door: door, Counter: rc.Counter, Nonce: b64(rc.Nonce), KCV: hex.EncodeToString(rc.KCV),
		KCVAlg: rc.KCVAlg, UnitKey: b64(a.SignKey), Signature: b64(rc.Sig), SignedBytes: b64(rc.SignedBytes()),
	}
	// The receipt is stored and queued whatever the context says: the key
	// is in the unit now, and forgetting that would make the next run
	// quarantine a good unit.
	ctx = context.WithoutCancel(ctx)
	err = s.Store.Tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE burns SET state = 'done', receipt = ?, record_id = ?, updated_at = ?
			WHERE job = ? AND slot = ?`, raw, id, now.Format(time.RFC3339Nano), job.ID, slot)
		if err != nil {
			return err
		}
		if _, err := s.Queue.Add(ctx, tx, record.KindReceipt, rec); err != nil {
			return err
		}
		_, err = s.Journal.Append(ctx, tx, journal.Entry{Action: "slot.burned", Unit: a.Serial, Job: job.ID, Record: id,
			Outcome: journal.OK, Detail: fmt.Sprintf("slot %d (%s), check value %x, %s", slot, door, kcv, outcome)})
		return err
	})
	if err != nil {
		return SlotResult{}, fmt.Errorf("save the receipt of slot %d: %w", slot, err)
	}
	return SlotResult{Slot: slot, Door: door, Outcome: outcome, KCV: hex.EncodeToString(kcv), Counter: rc.Counter, Receipt: raw}, nil
}
