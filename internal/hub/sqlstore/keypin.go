package sqlstore

import (
	"context"
	"crypto/ed25519"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/latchkey/latchkey/internal/hub"
)

var _ hub.KeyPin = (*Store)(nil)

// PinKey records pub as the hub's signing key, or checks it against the
// recorded one (see hub.KeyPin), in one write transaction.
func (s *Store) PinKey(ctx context.Context, pub ed25519.PublicKey) error {
	if err := hub.CheckPin(pub, pub); err != nil {
		return err
	}
	var pinned []byte
	err := s.st.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO hub_key (id, public_key, pinned_at) VALUES (1, ?, ?)
			ON CONFLICT (id) DO NOTHING`, []byte(pub), formatTime(time.Now())); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, `SELECT public_key FROM hub_key WHERE id = 1`).Scan(&pinned)
	})
	if err != nil {
		return fmt.Errorf("pin hub key: %w", err)
	}
	return hub.CheckPin(pub, pinned)
}

// PinnedKey returns the recorded signing key (hub.ErrNotFound when none is).
func (s *Store) PinnedKey(ctx context.Context) (ed25519.PublicKey, error) {
	var pinned []byte
	err := s.st.DB().QueryRowContext(ctx, `SELECT public_key FROM hub_key WHERE id = 1`).Scan(&pinned)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("pinned hub key: %w", hub.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("pinned hub key: %w", s.st.Check(err))
	}
	return ed25519.PublicKey(pinned), nil
}
