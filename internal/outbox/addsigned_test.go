package outbox_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/journal"
	"github.com/latchkey/latchkey/internal/outbox"
	"github.com/latchkey/latchkey/internal/record"
)

// unitKey plays a unit countersigning records in these tests.
var unitKey = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{9}, ed25519.SeedSize))

// twoSigned returns a record of kind signed by testKey and countersigned by
// unitKey, with its header's journal set to ref (nil leaves it out).
func twoSigned(t *testing.T, kind record.Kind, id string, ref *record.JournalRef) record.Envelope {
	t.Helper()
	p := payload(id)
	if ref != nil {
		p["journal"] = ref
	}
	env, err := record.Sign(kind, p, testKey, record.KeyID(testKey.Public().(ed25519.PublicKey)))
	if err != nil {
		t.Fatal(err)
	}
	if err := env.Countersign(unitKey, record.KeyID(unitKey.Public().(ed25519.PublicKey))); err != nil {
		t.Fatal(err)
	}
	return env
}

func TestAddSigned(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	ob := newOutbox(t, st)
	j := newJournal(st)
	// The caller journals first and signs over that head.
	head, err := j.Record(ctx, journal.Entry{Action: "consent.signing", Job: "job-1"})
	if err != nil {
		t.Fatal(err)
	}
	ref := head.Ref()
	env := twoSigned(t, record.KindConsent, "rec-signed", &ref)
	var e outbox.Entry
	err = st.Tx(ctx, func(tx *sql.Tx) error {
		var err error
		e, err = ob.AddSigned(ctx, tx, env)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if e.ID != "rec-signed" || e.Kind != record.KindConsent || e.State != outbox.Queued || e.Seq == 0 {
		t.Errorf("entry = %+v", e)
	}
	// Queued exactly as signed: both signatures, byte for byte.
	got, err := ob.Get(ctx, "rec-signed")
	if err != nil {
		t.Fatal(err)
	}
	want, _ := json.Marshal(env)
	if !bytes.Equal(got.EnvelopeJSON(), want) {
		t.Errorf("queued envelope changed:\n got %s\nwant %s", got.EnvelopeJSON(), want)
	}
	es, err := j.List(ctx, journal.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if last := es[len(es)-1]; last.Action != journal.ActionRecordQueued || last.Record != "rec-signed" || last.Detail != "consent" {
		t.Errorf("last journal entry = %+v, want record.queued of the consent", last)
	}
}

func TestAddSignedRefuses(t *testing.T) {
	ctx := context.Background()
	ref := &record.JournalRef{Seq: 1, Hash: strings.Repeat("ab", 32)}
	otherKey := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{4}, ed25519.SeedSize))
	tests := []struct {
		name string
		env  func(t *testing.T) record.Envelope
		want error
	}{
		{"no journal reference", func(t *testing.T) record.Envelope {
			return twoSigned(t, record.KindConsent, "rec-a", nil)
		}, record.ErrHeader},
		{"unknown kind", func(t *testing.T) record.Envelope {
			env := twoSigned(t, record.KindConsent, "rec-b", ref)
			env.PayloadType = "application/vnd.latchkey.bogus+json"
			return env
		}, record.ErrPayloadType},
		{"bad header", func(t *testing.T) record.Envelope {
			p := payload("rec c") // a space is not allowed in an id
			p["journal"] = ref
			env, err := record.Sign(record.KindConsent, p, testKey, record.KeyID(testKey.Public().(ed25519.PublicKey)))
			if err != nil {
				t.Fatal(err)
			}
			return env
		}, record.ErrHeader},
		{"payload changed after signing", func(t *testing.T) record.Envelope {
			env := twoSigned(t, record.KindConsent, "rec-d", ref)
			body, _ := env.Body()
			env.Payload = base64.StdEncoding.EncodeToString(bytes.Replace(body, []byte("record rec-d"), []byte("record rec-e"), 1))
			return env
		}, record.ErrBadSignature},
		{"not signed by this user", func(t *testing.T) record.Envelope {
			p := payload("rec-f")
			p["journal"] = ref
			env, err := record.Sign(record.KindConsent, p, otherKey, record.KeyID(otherKey.Public().(ed25519.PublicKey)))
			if err != nil {
				t.Fatal(err)
			}
			return env
		}, record.ErrUnknownKey},
		{"too large", func(t *testing.T) record.Envelope {
			p := payload("rec-g")
			p["journal"] = ref
			p["note"] = strings.Repeat("x", record.MaxEnvelope)
			env, err := record.Sign(record.KindConsent, p, testKey, record.KeyID(testKey.Public().(ed25519.PublicKey)))
			if err != nil {
				t.Fatal(err)
			}
			return env
		}, outbox.ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := openStore(t)
			ob := newOutbox(t, st)
			env := tt.env(t)
			err := st.Tx(ctx, func(tx *sql.Tx) error {
				_, err := ob.AddSigned(ctx, tx, env)
				return err
			})
			if !errors.Is(err, tt.want) {
				t.Fatalf("AddSigned = %v, want %v", err, tt.want)
			}
			if c, err := ob.Counts(ctx); err != nil || c.Queued != 0 {
				t.Errorf("counts after a refusal = %+v, %v", c, err)
			}
		})
	}

	t.Run("duplicate", func(t *testing.T) {
		st := openStore(t)
		ob := newOutbox(t, st)
		env := twoSigned(t, record.KindConsent, "rec-h", ref)
		add := func() error {
			return st.Tx(ctx, func(tx *sql.Tx) error {
				_, err := ob.AddSigned(ctx, tx, env)
				return err
			})
		}
		if err := add(); err != nil {
			t.Fatal(err)
		}
		if err := add(); !errors.Is(err, outbox.ErrDuplicate) {
			t.Errorf("second AddSigned = %v, want ErrDuplicate", err)
		}
	})
}
