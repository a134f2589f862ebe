package sim

import (
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"time"

	"github.com/latchkey/latchkey/internal/device"
)

// ErrNoState is returned by [Inspect] for a directory that holds no unit.
var ErrNoState = errors.New("sim: no virtual unit")

// Inspection is what [Inspect] reads from a unit's state directory. It is
// the stable JSON form of `latchkey sim inspect --json`; hex strings
// throughout for bytes.
type Inspection struct {
	Dir      string `json:"dir"`
	Serial   string `json:"serial"`
	Model    string `json:"model"`
	Hardware string `json:"hw"`
	Firmware string `json:"fw"`
	Boots    uint64 `json:"boots"`
	// Label and the rest are empty for a unit whose latchkey identity was
	// never made (it was never served with group 64).
	Label       string        `json:"label,omitempty"`
	State       string        `json:"state,omitempty"`
	SignKey     string        `json:"sign_key,omitempty"`
	KexKey      string        `json:"kex_key,omitempty"`
	Counterfeit Counterfeit   `json:"counterfeit,omitempty"`
	Counter     uint64        `json:"counter"`
	Chain       []CertSummary `json:"chain"`
	Slots       []SlotSummary `json:"slots"`
	// SecretsRevealed says Slots carry their keys.
	SecretsRevealed bool `json:"secrets_revealed,omitempty"`
}

// CertSummary describes one certificate of a unit's chain.
type CertSummary struct {
	Subject   string    `json:"subject"`
	Issuer    string    `json:"issuer"`
	NotBefore time.Time `json:"not_before"`
	NotAfter  time.Time `json:"not_after"`
	// Error is set, and the rest empty, if the certificate does not parse.
	Error string `json:"error,omitempty"`
}

// SlotSummary describes one key slot.
type SlotSummary struct {
	Slot    uint8  `json:"slot"`
	State   string `json:"state"`
	Job     string `json:"job,omitempty"`
	Counter uint64 `json:"counter,omitempty"`
	KCV     string `json:"kcv,omitempty"`
	KCVAlg  string `json:"kcv_alg,omitempty"`
	// Key is the building key in hex, only when asked for with
	// InspectOptions.RevealSecrets. A real unit never reveals it.
	Key string `json:"key,omitempty"`
}

// InspectOptions configure [Inspect].
type InspectOptions struct {
	// RevealSecrets puts the slot keys into the result. Only a virtual
	// unit can do this; a real unit never gives a key back.
	RevealSecrets bool
}

// Inspect reads the state directory dir of a virtual unit without running
// it: nothing is written, so it works whether or not a sim is serving the
// unit. A dir that does not exist or holds no unit is [ErrNoState]; a
// damaged one [ErrCorrupt].
func Inspect(dir string, o InspectOptions) (Inspection, error) {
	fi, err := os.Stat(dir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return Inspection{}, fmt.Errorf("%w: %s does not exist", ErrNoState, dir)
		}
		return Inspection{}, fmt.Errorf("sim: %w", err)
	}
	if !fi.IsDir() {
		return Inspection{}, fmt.Errorf("%w: %s is not a directory", ErrNoState, dir)
	}
	// No slot size limit: inspect reads what any sim wrote.
	u := &Unit{dir: dir, slotSize: math.MaxInt}
	ok, err := u.load()
	if err != nil {
		return Inspection{}, err
	}
	if !ok {
		return Inspection{}, fmt.Errorf("%w: %s holds no %s", ErrNoState, dir, filepath.Join(dir, stateFile))
	}
	st := u.st
	out := Inspection{
		Dir: dir, Serial: st.Identity.Serial, Model: st.Identity.Model, Hardware: st.Identity.HWRev,
		Firmware: st.Slots[0].Version, Boots: st.Boots, Chain: []CertSummary{}, Slots: []SlotSummary{},
	}
	raw, ok := st.Ext[extKey]
	if !ok {
		return out, nil
	}
	lk, err := decodeLK(raw)
	if err != nil {
		return Inspection{}, fmt.Errorf("%w (in %s)", err, filepath.Join(dir, stateFile))
	}
	k, err := loadUnitKeys(lk.SignSeed, lk.KexKey)
	if err != nil {
		return Inspection{}, err
	}
	sign, kex := lk.publicKeys(k)
	out.Label, out.SignKey, out.KexKey = device.LabelCode(sign), hex.EncodeToString(sign), hex.EncodeToString(kex)
	out.Counterfeit, out.Counter = lk.Counterfeit, lk.Counter
	switch {
	case lk.Decommissioned:
		out.State = device.StateDecommissioned
	case lk.written() > 0:
		out.State = device.StateProvisioned
	default:
		out.State = device.StateNew
	}
	for _, der := range lk.Chain {
		c, err := x509.ParseCertificate(der)
		if err != nil {
			out.Chain = append(out.Chain, CertSummary{Error: err.Error()})
			continue
		}
		out.Chain = append(out.Chain, CertSummary{Subject: c.Subject.String(), Issuer: c.Issuer.String(), NotBefore: c.NotBefore.UTC(), NotAfter: c.NotAfter.UTC()})
	}
	out.SecretsRevealed = o.RevealSecrets
	for i, s := range lk.Slots {
		ss := SlotSummary{Slot: uint8(i), State: s.State}
		if r := s.Receipt; r != nil {
			ss.Job, ss.Counter, ss.KCV, ss.KCVAlg = r.Job, r.Counter, hex.EncodeToString(r.KCV), r.KCVAlg
		}
		if o.RevealSecrets && len(s.Key) > 0 {
			ss.Key = hex.EncodeToString([]byte(s.Key))
		}
		out.Slots = append(out.Slots, ss)
	}
	return out, nil
}
