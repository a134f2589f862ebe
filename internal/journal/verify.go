package journal

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"time"
)

// Problem is one thing Verify found wrong, at the entry with seq Seq.
type Problem struct {
	Seq  int64  `json:"seq"`
	What string `json:"what"`
}

func (p Problem) String() string { return fmt.Sprintf("entry %d: %s", p.Seq, p.What) }

// Report is what Verify found. Its JSON form is stable for scripts.
type Report struct {
	// Entries is how many entries the journal holds.
	Entries int `json:"entries"`
	// Head is the newest entry as stored (seq 0, Genesis when empty).
	Head Head `json:"head"`
	// Acked is the acknowledged head checked against, nil when none.
	Acked *Head `json:"acked,omitempty"`
	// Problems lists what is wrong, by seq; empty when the journal is intact.
	Problems []Problem `json:"problems"`
}

// OK reports whether Verify found nothing wrong.
func (r Report) OK() bool { return len(r.Problems) == 0 }

// Verify reads the whole journal and checks, for every entry, that its hash
// is the hash of its contents, that its prev is the hash of the entry
// before it (Genesis for the first), that seq runs 1, 2, 3, … without a gap,
// and that its signature verifies with its actor's key, which must be in
// keys (by record.KeyID). With acked (the newest head the back office
// acknowledged), the entry at acked.Seq must exist with acked.Hash: that
// catches the deletion of the newest entries, which leaves a chain that is
// intact but short, and an acknowledged entry rewritten with a valid key.
//
// Problems are in the Report; when there are any the error wraps
// ErrTampered. Other errors are the store's.
func (j *Journal) Verify(ctx context.Context, keys map[string]ed25519.PublicKey, acked *Head) (Report, error) {
	rows, err := j.rows(ctx, `SELECT `+rowColumns+` FROM journal ORDER BY seq`)
	if err != nil {
		return Report{}, fmt.Errorf("verify journal: %w", err)
	}
	rep := Report{Entries: len(rows), Head: Head{Hash: Genesis}, Problems: []Problem{}}
	if acked != nil {
		a := *acked
		rep.Acked = &a
	}
	add := func(seq int64, format string, args ...any) {
		rep.Problems = append(rep.Problems, Problem{Seq: seq, What: fmt.Sprintf(format, args...)})
	}
	want := Head{Hash: Genesis} // the entry before: seq and stored hash
	for _, r := range rows {
		if r.seq != want.Seq+1 { // rows come by seq, so only a gap is possible
			add(r.seq, "follows entry %d: %d %s before it missing", want.Seq, r.seq-want.Seq-1,
				plural(int(r.seq-want.Seq-1), "entry is", "entries are"))
		}
		if r.prev != want.Hash {
			if want.Seq == 0 {
				add(r.seq, "prev is %s, want %s for the first entry: entries before it were removed", short(r.prev), short(Genesis))
			} else {
				add(r.seq, "prev does not match the hash of entry %d: an entry was removed, inserted or moved", want.Seq)
			}
		}
		if d, err := r.digest(); err != nil || d != r.hash {
			add(r.seq, "contents do not match its hash: the entry was edited")
		}
		if _, err := time.Parse(time.RFC3339Nano, r.at); err != nil {
			add(r.seq, "time %q is not RFC 3339", r.at)
		}
		pub, known := keys[r.actor]
		msg, err := message(r.hash)
		switch {
		case !known:
			add(r.seq, "signed by key %s, which is not yours", short(r.actor))
		case err != nil:
			add(r.seq, "%v", err)
		case len(pub) != ed25519.PublicKeySize || len(r.sig) != ed25519.SignatureSize || !ed25519.Verify(pub, msg, r.sig):
			add(r.seq, "signature does not verify: the entry or its signature was altered")
		}
		want = Head{Seq: r.seq, Hash: r.hash}
	}
	if len(rows) > 0 {
		rep.Head = want
	}
	if acked != nil && acked.Seq > 0 {
		found := false
		for _, r := range rows {
			if r.seq != acked.Seq {
				continue
			}
			found = true
			if r.hash != acked.Hash {
				add(r.seq, "hash %s differs from %s, which the back office acknowledged: the entry was rewritten", short(r.hash), short(acked.Hash))
			}
			break
		}
		if !found {
			add(acked.Seq, "missing, though the back office acknowledged it (the journal ends at entry %d): the newest entries were deleted", rep.Head.Seq)
		}
	}
	if !rep.OK() {
		return rep, fmt.Errorf("verify journal: %w: %d %s", ErrTampered, len(rep.Problems), plural(len(rep.Problems), "problem", "problems"))
	}
	return rep, nil
}

// short abbreviates a hash or key id for messages.
func short(h string) string {
	if len(h) > 12 {
		return h[:12] + "…"
	}
	return h
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
