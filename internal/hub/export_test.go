package hub

import (
	"crypto/ed25519"
	"time"
)

// IntakeOffline runs the intake pipeline on a batch body without storage:
// decode, the rules for caller, verification against users, expiry at now.
// It is the target of FuzzIntakeDecode. Accepted records come back with
// OutcomeStored; ErrBadBatch is a request-level refusal.
func IntakeOffline(body []byte, users []User, caller User, now time.Time) ([]ItemResult, error) {
	raws, err := decodeBatch(body)
	if err != nil {
		return nil, err
	}
	signers := map[string]*User{}
	for i := range users {
		signers[users[i].KeyID] = &users[i]
	}
	out := make([]ItemResult, len(raws))
	for i, raw := range raws {
		it := decodeItem(raw)
		it.check(signers, caller, now)
		if f := it.refusal; f != nil {
			out[i] = ItemResult{ID: f.ID, Kind: f.Kind, Digest: f.Digest, Outcome: OutcomeRefused, Code: f.Code, Reason: f.Reason}
			continue
		}
		out[i] = ItemResult{ID: it.rec.ID, Kind: it.rec.Kind, Digest: it.rec.Digest, Outcome: OutcomeStored}
	}
	return out, nil
}

// PublicKey is the signing key of u, for tests.
func PublicKey(u User) ed25519.PublicKey { return u.SignKey }
