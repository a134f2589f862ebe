package pgstore

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/latchkey/latchkey/internal/hub"
)

var _ hub.KeyPin = (*Store)(nil)

// PinKey records pub as the hub's signing key, or checks it against the
// recorded one (see hub.KeyPin). READ COMMITTED: of two instances pinning
// at once, the second's INSERT … ON CONFLICT DO NOTHING waits for the
// first to commit, and its SELECT (a new statement) then sees the winner.
func (s *Store) PinKey(ctx context.Context, pub ed25519.PublicKey) error {
	if err := hub.CheckPin(pub, pub); err != nil {
		return err
	}
	at, ns := splitTime(time.Now())
	var pinned []byte
	err := s.inTx(ctx, pgx.ReadCommitted, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO hub_key (id, public_key, pinned_at, pinned_at_ns) VALUES (1, $1, $2, $3)
			ON CONFLICT (id) DO NOTHING`, []byte(pub), at, ns); err != nil {
			return err
		}
		return tx.QueryRow(ctx, `SELECT public_key FROM hub_key WHERE id = 1`).Scan(&pinned)
	})
	if err != nil {
		return fmt.Errorf("pin hub key: %w", err)
	}
	return hub.CheckPin(pub, pinned)
}

// PinnedKey returns the recorded signing key (hub.ErrNotFound when none is).
func (s *Store) PinnedKey(ctx context.Context) (ed25519.PublicKey, error) {
	var pinned []byte
	err := s.pool.QueryRow(ctx, `SELECT public_key FROM hub_key WHERE id = 1`).Scan(&pinned)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("pinned hub key: %w", hub.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("pinned hub key: %w", err)
	}
	return ed25519.PublicKey(pinned), nil
}
