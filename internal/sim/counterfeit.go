package sim

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/latchkey/latchkey/internal/device"
)

// Counterfeit is a way a virtual unit can be fake, so that training and
// tests can see latchkey refuse it (provision.VerifyAttestation's job, not
// the unit's). A counterfeit unit otherwise behaves like a genuine one: it
// answers identity, status, self-tests and the rest.
//
// The mode is chosen when the unit is made and kept in its state, as a fake
// unit's certificates and firmware are fixed when it is built.
type Counterfeit string

// Counterfeit modes. Each describes what the unit presents, not how a
// client should catch it.
const (
	// Genuine is a unit as the factory made it.
	Genuine Counterfeit = ""
	// CounterfeitUnknownRoot presents a chain from a throwaway root of its
	// own, with the same names as a test factory's, instead of the
	// factory's.
	CounterfeitUnknownRoot Counterfeit = "unknown-root"
	// CounterfeitExpired presents a unit certificate from the real factory
	// whose validity ended a day before the unit was made.
	CounterfeitExpired Counterfeit = "expired"
	// CounterfeitCloned presents the serial, certificate and public
	// identity keys of another genuine unit of the same factory (the
	// victim) but holds only its own private keys, so its attestation
	// signature does not verify with the certificate's key and seals made
	// to the certificate's key do not open.
	CounterfeitCloned Counterfeit = "cloned"
	// CounterfeitReplayed answers every attestation with the signature of
	// a challenge captured once (a fixed nonce, signed when the unit was
	// made) instead of one over the current nonce.
	CounterfeitReplayed Counterfeit = "replayed"
	// CounterfeitSerialMismatch presents a genuine certificate for its own
	// keys that names a different serial than its identity reports.
	CounterfeitSerialMismatch Counterfeit = "serial-mismatch"
)

// CounterfeitModes lists the counterfeit modes, for help text and flag
// completion.
var CounterfeitModes = []Counterfeit{CounterfeitUnknownRoot, CounterfeitExpired, CounterfeitCloned, CounterfeitReplayed, CounterfeitSerialMismatch}

// ParseCounterfeit returns the mode named s; "" is Genuine.
func ParseCounterfeit(s string) (Counterfeit, error) {
	if s == "" {
		return Genuine, nil
	}
	for _, m := range CounterfeitModes {
		if string(m) == s {
			return m, nil
		}
	}
	names := make([]string, len(CounterfeitModes))
	for i, m := range CounterfeitModes {
		names[i] = string(m)
	}
	return Genuine, fmt.Errorf("unknown counterfeit mode %q (one of %s)", s, strings.Join(names, ", "))
}

// lkReplay is the captured attestation a replaying unit answers with.
type lkReplay struct {
	Nonce []byte `json:"nonce"`
	Sig   []byte `json:"sig"`
}

// otherSerial derives a serial in the factory's format that differs from
// serial, for a clone's victim or a mismatched certificate.
func otherSerial(seed uint64, purpose, serial string) string {
	n := binary.BigEndian.Uint64(deriveKey(seed, purpose, serial)) % 1e10
	s := fmt.Sprintf("LK%010d", n)
	if s == serial {
		s = fmt.Sprintf("LK%010d", (n+1)%1e10)
	}
	return s
}

// expiredValidity is the validity of an expired counterfeit's certificate:
// a year that ended a day before now.
func expiredValidity(now time.Time) (time.Time, time.Time) {
	na := now.Add(-24 * time.Hour).UTC().Truncate(time.Second)
	return na.Add(-365 * 24 * time.Hour), na
}

// issueCounterfeit fills in lk's chain (and what else the mode needs) for
// a unit with these keys and the serial in st, which a clone changes to
// its victim's.
func (l *Latchkey) issueCounterfeit(st *State, lk *lkState, k unitKeys, now time.Time) error {
	serial := st.Identity.Serial
	var err error
	switch l.cfg.Counterfeit {
	case Genuine:
		lk.Chain, err = l.cfg.Chain.Issue(serial, k.signPub(), k.kex.PublicKey())
	case CounterfeitUnknownRoot:
		var ca *factoryCA
		if ca, err = newFactoryCA(rand.Reader, now); err == nil {
			lk.Chain, err = ca.issue(serial, k.signPub(), k.kex.PublicKey(), now)
		}
	case CounterfeitExpired:
		vi, ok := l.cfg.Chain.(validityIssuer)
		if !ok {
			return fmt.Errorf("counterfeit %s: the chain source %T cannot issue a certificate with a chosen validity", l.cfg.Counterfeit, l.cfg.Chain)
		}
		nb, na := expiredValidity(now)
		lk.Chain, err = vi.issueValid(serial, k.signPub(), k.kex.PublicKey(), nb, na)
	case CounterfeitCloned:
		victim := otherSerial(l.cfg.Seed, "clone victim", serial)
		vSign, vKex, err := newUnitKeys(l.cfg.Seed, victim)
		if err != nil {
			return err
		}
		vk, err := loadUnitKeys(vSign, vKex)
		clear(vSign)
		clear(vKex)
		if err != nil {
			return err
		}
		if lk.Chain, err = l.cfg.Chain.Issue(victim, vk.signPub(), vk.kex.PublicKey()); err != nil {
			return fmt.Errorf("issue certificate chain: %w", err)
		}
		// Only the victim's public keys are kept: the clone cannot sign
		// or open seals as the victim.
		lk.PresentSign, lk.PresentKex = vk.signPub(), vk.kex.PublicKey().Bytes()
		st.Identity.Serial = victim
		for i, e := range st.Events {
			if e.Kind == "factory" {
				st.Events[i].Detail = strings.ReplaceAll(e.Detail, serial, victim)
			}
		}
	case CounterfeitReplayed:
		lk.Chain, err = l.cfg.Chain.Issue(serial, k.signPub(), k.kex.PublicKey())
		n := deriveKey(l.cfg.Seed, "captured attestation nonce", serial)
		lk.Replay = &lkReplay{Nonce: n, Sig: ed25519.Sign(k.sign, device.AttestationMessage(n, serial))}
	case CounterfeitSerialMismatch:
		lk.Chain, err = l.cfg.Chain.Issue(otherSerial(l.cfg.Seed, "mismatched serial", serial), k.signPub(), k.kex.PublicKey())
	default:
		_, err = ParseCounterfeit(string(l.cfg.Counterfeit))
		return err
	}
	if err != nil {
		return fmt.Errorf("issue certificate chain: %w", err)
	}
	lk.Counterfeit = l.cfg.Counterfeit
	return nil
}

// checkCounterfeit validates a state's counterfeit data.
func (st lkState) checkCounterfeit() error {
	switch st.Counterfeit {
	case Genuine, CounterfeitUnknownRoot, CounterfeitExpired, CounterfeitSerialMismatch:
		if st.PresentSign != nil || st.PresentKex != nil || st.Replay != nil {
			return errors.New("counterfeit data on a unit that is not cloned or replaying")
		}
	case CounterfeitCloned:
		if len(st.PresentSign) != ed25519.PublicKeySize || len(st.PresentKex) != 32 {
			return errors.New("cloned unit without the keys it presents")
		}
	case CounterfeitReplayed:
		if st.Replay == nil || len(st.Replay.Nonce) != device.NonceSize || len(st.Replay.Sig) != ed25519.SignatureSize {
			return errors.New("replaying unit without its captured attestation")
		}
	default:
		return fmt.Errorf("unknown counterfeit mode %q", st.Counterfeit)
	}
	return nil
}

// publicKeys returns the identity keys the unit presents: its own, or a
// clone's victim's.
func (st lkState) publicKeys(k unitKeys) (ed25519.PublicKey, []byte) {
	if st.Counterfeit == CounterfeitCloned {
		return ed25519.PublicKey(st.PresentSign), st.PresentKex
	}
	return k.signPub(), k.kex.PublicKey().Bytes()
}
