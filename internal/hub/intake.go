package hub

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/latchkey/latchkey/internal/hubapi"
	"github.com/latchkey/latchkey/internal/record"
)

// ErrBadBatch is a batch request body that is not a BatchRequest the hub
// takes: not JSON, unknown fields, no records or too many.
var ErrBadBatch = errors.New("bad batch request")

// item is one record on its way through intake. Decoding fills env to
// digest, or refusal; checking against the signer fills rec or refusal.
type item struct {
	raw     []byte
	env     record.Envelope
	kind    record.Kind
	header  record.Header
	digest  string
	rec     *Record
	refusal *Refusal
}

func (it *item) refuse(code, reason string) {
	it.refusal = &Refusal{ID: it.header.ID, Kind: string(it.kind), Digest: it.digest, Code: code, Reason: reason}
}

// decodeItem reads one record without storage or keys: a strict DSSE
// envelope, a latchkey payload type, a payload whose common header is
// complete, and at least one signature. The digest is taken over the
// payload as sent; Verify later insists it is canonical.
func decodeItem(raw []byte) item {
	it := item{raw: raw}
	env, err := record.Decode(raw)
	if err != nil {
		it.refuse(hubapi.CodeMalformed, err.Error())
		return it
	}
	it.env = env
	body, err := env.Body()
	if err != nil {
		it.refuse(hubapi.CodeMalformed, err.Error())
		return it
	}
	it.digest = hashHex(body)
	kind, err := env.Kind()
	if err != nil {
		it.refuse(hubapi.CodePayloadType, err.Error())
		return it
	}
	it.kind = kind
	h, err := record.ParseHeader(body)
	if err != nil {
		it.refuse(hubapi.CodeMalformed, err.Error())
		return it
	}
	it.header = h
	if len(env.Signatures) == 0 {
		it.refuse(hubapi.CodeUnsigned, "the record has no signature")
	}
	return it
}

// decodeBatch reads a batch request body: a BatchRequest, strictly (its
// one field spelled exactly and given once, nothing after it, as
// record.Decode reads envelopes), with 1 to hubapi.MaxBatch records.
// Errors wrap ErrBadBatch.
func decodeBatch(body []byte) ([]json.RawMessage, error) {
	recs, err := batchRecords(body)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadBatch, err)
	}
	return recs, nil
}

func batchRecords(body []byte) ([]json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, errors.New("want a JSON object")
	}
	var recs []json.RawMessage
	seen := false
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, err
		}
		switch name, _ := t.(string); {
		case name != "records":
			return nil, fmt.Errorf("unknown field %q", name)
		case seen:
			return nil, errors.New(`field "records" given twice`)
		}
		seen = true
		if err := dec.Decode(&recs); err != nil {
			return nil, fmt.Errorf("records: %v", err)
		}
	}
	if _, err := dec.Token(); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("data after the JSON object")
	}
	switch n := len(recs); {
	case n == 0:
		return nil, errors.New("no records")
	case n > hubapi.MaxBatch:
		return nil, fmt.Errorf("%d records, at most %d per request", n, hubapi.MaxBatch)
	}
	return recs, nil
}

// check applies the intake rules to a decoded item signed, as far as the
// hub knows, by the users in signers (by key id; absent: no such user).
// Order matters only for which code a record with several faults gets; the
// cheap checks come before the signature.
func (it *item) check(signers map[string]*User, caller User, now time.Time) {
	if it.refusal != nil {
		return
	}
	var signer *User
	for _, s := range it.env.Signatures {
		u := signers[s.KeyID]
		if u != nil && (signer == nil || u.Name == caller.Name && signer.Name != caller.Name) {
			signer = u
		}
	}
	switch {
	case signer == nil:
		it.refuse(hubapi.CodeUnknownSigner, "signed by no enrolled user")
		return
	case signer.Revoked():
		it.refuse(hubapi.CodeRevokedSigner, fmt.Sprintf("signed by %s with a key revoked at %s", signer.Name, signer.RevokedAt.UTC().Format(time.RFC3339)))
		return
	case signer.Name != caller.Name:
		it.refuse(hubapi.CodeSignerMismatch, fmt.Sprintf("signed by %s, sent by %s", signer.Name, caller.Name))
		return
	case !MayMake(signer.Role, it.kind):
		it.refuse(hubapi.CodeForbiddenKind, fmt.Sprintf("a %s user may not make %s records", signer.Role, it.kind))
		return
	}
	verified, err := record.Verify(it.env, map[string]ed25519.PublicKey{signer.KeyID: signer.SignKey})
	if err != nil {
		it.refuse(verifyCode(err), err.Error())
		return
	}
	if now.After(it.header.ExpiresAt) {
		it.refuse(hubapi.CodeExpired, "expired at "+it.header.ExpiresAt.UTC().Format(time.RFC3339))
		return
	}
	it.rec = &Record{
		ID: it.header.ID, Kind: string(it.kind), Signer: signer.Name, KeyIDs: verified,
		Digest: it.digest, Job: it.header.Job, Unit: it.header.Unit,
		CreatedAt: it.header.CreatedAt, ReceivedAt: now, Envelope: it.raw,
	}
	if j := it.header.Journal; j != nil {
		it.rec.JournalSeq, it.rec.JournalHash = j.Seq, j.Hash
	}
}

// verifyCode is the refusal code of a record.Verify error.
func verifyCode(err error) string {
	switch {
	case errors.Is(err, record.ErrBadSignature):
		return hubapi.CodeBadSignature
	case errors.Is(err, record.ErrUnsigned):
		return hubapi.CodeUnsigned
	case errors.Is(err, record.ErrUnknownKey):
		return hubapi.CodeUnknownSigner
	case errors.Is(err, record.ErrPayloadType):
		return hubapi.CodePayloadType
	default: // ErrNotCanonical, ErrMalformed
		return hubapi.CodeMalformed
	}
}

// parallel runs f(0) … f(n-1) on GOMAXPROCS workers. Ed25519 verification
// and RFC 8785 checks are CPU-bound: a batch of 500 on one core takes
// ~25 ms, which alone would cap intake near 20,000 records/s/core.
func parallel(n int, f func(i int)) {
	workers := min(runtime.GOMAXPROCS(0), n)
	if workers <= 1 {
		for i := range n {
			f(i)
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				f(i)
			}
		})
	}
	wg.Wait()
}

// intakeRequest is one request's records for intake.
type intakeRequest struct {
	caller User
	key    string // Idempotency-Key
	body   []byte // the request body, for its digest
	raws   []json.RawMessage
}

// intake decodes, checks and verifies the records of req and stores them
// with one Storage.Intake call. Refused records are stored as refusals
// under the key too, so a retry gets the same answer.
func (s *Server) intake(ctx context.Context, req intakeRequest) (IntakeResult, error) {
	now := s.now().UTC()
	items := make([]item, len(req.raws))
	parallel(len(items), func(i int) { items[i] = decodeItem(req.raws[i]) })

	signers := make(map[string]*User)
	for i := range items {
		if items[i].refusal != nil {
			continue
		}
		for _, sig := range items[i].env.Signatures {
			if _, seen := signers[sig.KeyID]; seen {
				continue
			}
			u, err := s.store.UserByKeyID(ctx, sig.KeyID)
			switch {
			case errors.Is(err, ErrNotFound):
				signers[sig.KeyID] = nil
			case err != nil:
				return IntakeResult{}, fmt.Errorf("intake: find signer: %w", err)
			default:
				signers[sig.KeyID] = &u
			}
		}
	}
	parallel(len(items), func(i int) { items[i].check(signers, req.caller, now) })

	sreq := IntakeRequest{
		User: req.caller.Name, Key: req.key, RequestDigest: hashHex(req.body),
		Items: make([]IntakeItem, len(items)), Now: now, ExpiresAt: now.Add(hubapi.IdempotencyTTL),
	}
	for i, it := range items {
		sreq.Items[i] = IntakeItem{Record: it.rec, Refused: it.refusal}
	}
	res, err := s.store.Intake(ctx, sreq)
	if err != nil {
		return IntakeResult{}, fmt.Errorf("intake: %w", err)
	}
	if len(res.Results) != len(items) {
		return IntakeResult{}, fmt.Errorf("intake: store answered %d results for %d records", len(res.Results), len(items))
	}
	return res, nil
}

// recordResult is the wire form of what happened to one record.
func recordResult(r ItemResult) hubapi.RecordResult {
	rr := hubapi.RecordResult{ID: r.ID, Kind: r.Kind, Digest: r.Digest, Status: hubapi.StatusRejected}
	switch r.Outcome {
	case OutcomeStored:
		rr.Status = hubapi.StatusStored
	case OutcomeDuplicate:
		rr.Code, rr.Reason = hubapi.CodeReplayed, "this record is already stored"
	case OutcomeConflict:
		rr.Code, rr.Reason = hubapi.CodeConflict, "a record with this id and other content is stored"
	default:
		rr.Code, rr.Reason = r.Code, r.Reason
		if rr.Code == "" {
			rr.Code = hubapi.CodeInternal
		}
	}
	return rr
}
