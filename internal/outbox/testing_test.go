package outbox_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/hubapi"
	"github.com/latchkey/latchkey/internal/journal"
	"github.com/latchkey/latchkey/internal/outbox"
	"github.com/latchkey/latchkey/internal/record"
	"github.com/latchkey/latchkey/internal/store"
)

// testNow is the fixed clock of these tests.
var testNow = time.Date(2026, 11, 25, 15, 0, 0, 0, time.UTC)

// testKey signs every record in these tests.
var testKey = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{3}, ed25519.SeedSize))

func goodSigner() (ed25519.PrivateKey, error) { return testKey, nil }

// seeded is a deterministic, goroutine-safe stand-in for crypto/rand.
type seeded struct {
	mu sync.Mutex
	r  *rand.ChaCha8
}

func newSeeded(s string) *seeded {
	var k [32]byte
	copy(k[:], s)
	return &seeded{r: rand.NewChaCha8(k)}
}

func (s *seeded) Read(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.r.Read(p)
}

// openStore opens a new store in a temporary directory.
func openStore(tb testing.TB) *store.Store {
	tb.Helper()
	return openStoreAt(tb, filepath.Join(tb.TempDir(), "latchkey.db"))
}

func openStoreAt(tb testing.TB, p string) *store.Store {
	tb.Helper()
	st, err := store.Open(context.Background(), p)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	return st
}

func newOutbox(tb testing.TB, st *store.Store) *outbox.Outbox {
	tb.Helper()
	return outbox.New(st, goodSigner, func() time.Time { return testNow }, newSeeded(tb.Name()), newJournal(st))
}

// newJournal returns the journal in st, signed by testKey.
func newJournal(st *store.Store) *journal.Journal {
	return journal.New(st, goodSigner, func() time.Time { return testNow })
}

// payload is a minimal record with a valid header.
func payload(id string) map[string]any {
	return map[string]any{
		"id":         id,
		"created_at": testNow.Add(-time.Hour).Format(time.RFC3339),
		"expires_at": testNow.Add(24 * time.Hour).Format(time.RFC3339),
		"note":       "record " + id,
	}
}

func recID(i int) string { return fmt.Sprintf("rec-%05d", i) }

// addN queues records recID(from)…recID(from+n-1) in one transaction.
func addN(tb testing.TB, st *store.Store, ob *outbox.Outbox, from, n int) {
	tb.Helper()
	ctx := context.Background()
	err := st.Tx(ctx, func(tx *sql.Tx) error {
		for i := from; i < from+n; i++ {
			if _, err := ob.Add(ctx, tx, record.KindVisit, payload(recID(i))); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
}

// call is one batch request the test sender saw.
type call struct {
	key  string
	ids  []string
	envs [][]byte
}

// answerFunc scripts the hub: it gets the call number (from 0) and the
// request, and returns the answer.
type answerFunc func(n int, c call) ([]hubapi.RecordResult, error)

// testSender is the network peer: it records each request and answers as
// scripted, by default storing every record.
type testSender struct {
	mu     sync.Mutex
	calls  []call
	answer answerFunc
}

func (s *testSender) SendBatch(_ context.Context, key string, envs [][]byte) ([]hubapi.RecordResult, error) {
	c := call{key: key, envs: make([][]byte, len(envs))}
	for i, e := range envs {
		c.envs[i] = bytes.Clone(e)
		c.ids = append(c.ids, headerOf(e).ID)
	}
	s.mu.Lock()
	n := len(s.calls)
	s.calls = append(s.calls, c)
	answer := s.answer
	s.mu.Unlock()
	if answer == nil {
		return storeAll(c), nil
	}
	return answer(n, c)
}

func (s *testSender) Calls() []call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]call(nil), s.calls...)
}

// storeAll is the answer of a hub that stores every record of c.
func storeAll(c call) []hubapi.RecordResult {
	out := make([]hubapi.RecordResult, len(c.envs))
	for i, e := range c.envs {
		out[i] = hubapi.RecordResult{ID: c.ids[i], Kind: string(record.KindVisit), Status: hubapi.StatusStored, Digest: digestOf(e)}
	}
	return out
}

func headerOf(env []byte) record.Header {
	e, err := record.Decode(env)
	if err != nil {
		panic(err)
	}
	h, err := e.Header()
	if err != nil {
		panic(err)
	}
	return h
}

// digestOf is what the hub computes: hex SHA-256 of the payload body.
func digestOf(env []byte) string {
	e, err := record.Decode(env)
	if err != nil {
		panic(err)
	}
	body, err := e.Body()
	if err != nil {
		panic(err)
	}
	sum := sha256.Sum256(body)
	return hex.EncodeToString(sum[:])
}

// sleeper records the waits it is asked for and returns at once.
type sleeper struct {
	mu    sync.Mutex
	waits []time.Duration
}

func (s *sleeper) Sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.waits = append(s.waits, d)
	s.mu.Unlock()
	return ctx.Err()
}

func (s *sleeper) Waits() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.waits...)
}

// uploader returns an Uploader over ob with sender and a recording sleeper.
func uploader(tb testing.TB, ob *outbox.Outbox, sender outbox.Sender, sl *sleeper) *outbox.Uploader {
	return &outbox.Uploader{Outbox: ob, Sender: sender, Sleep: sl.Sleep, Rand: newSeeded("jitter " + tb.Name())}
}

func counts(tb testing.TB, ob *outbox.Outbox) outbox.Counts {
	tb.Helper()
	c, err := ob.Counts(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

func readFile(tb testing.TB, p string) []byte {
	tb.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func writeFile(tb testing.TB, p string, b []byte) {
	tb.Helper()
	if err := os.WriteFile(p, b, 0o600); err != nil {
		tb.Fatal(err)
	}
}
