package pgstore

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/latchkey/latchkey/internal/hub"
)

// DenyUnit adds a unit to the denylist; for a unit denied before it updates
// the reason and keeps the first DeniedAt. It runs in a READ COMMITTED
// transaction (see CreateEnrollment).
func (s *Store) DenyUnit(ctx context.Context, d hub.DeniedUnit) error {
	at, ns := splitTime(d.DeniedAt)
	err := s.inTx(ctx, pgx.ReadCommitted, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO denylist (serial, reason, denied_at, denied_at_ns) VALUES ($1, $2, $3, $4)
			ON CONFLICT (serial) DO UPDATE SET reason = excluded.reason`, d.Serial, d.Reason, at, ns)
		return err
	})
	if err != nil {
		return fmt.Errorf("deny unit %s: %w", d.Serial, err)
	}
	return nil
}

// Denylist lists denied units, by serial.
func (s *Store) Denylist(ctx context.Context) ([]hub.DeniedUnit, error) {
	rows, err := s.pool.Query(ctx, `SELECT serial, reason, denied_at, denied_at_ns FROM denylist ORDER BY serial`)
	if err != nil {
		return nil, fmt.Errorf("list denylist: %w", err)
	}
	defer rows.Close()
	var out []hub.DeniedUnit
	for rows.Next() {
		var d hub.DeniedUnit
		var at time.Time
		var ns int16
		if err := rows.Scan(&d.Serial, &d.Reason, &at, &ns); err != nil {
			return nil, fmt.Errorf("list denylist: %w", err)
		}
		d.DeniedAt = joinTime(at, ns)
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list denylist: %w", err)
	}
	return out, nil
}

// Units lists every unit named by a stored record or the denylist, by
// serial. A unit's last-seen time is its newest record's created_at: the
// newest microsecond from the GROUP BY, then the newest nanoseconds within
// it through the records_unit index.
func (s *Store) Units(ctx context.Context) ([]hub.Unit, error) {
	rows, err := s.pool.Query(ctx, `
		WITH seen AS (
			SELECT unit AS serial, count(*) AS n, max(created_at) AS last
			FROM records WHERE unit <> '' GROUP BY unit
		)
		SELECT all_units.serial, coalesce(seen.n, 0), seen.last,
			coalesce((SELECT max(r.created_at_ns) FROM records r
				WHERE r.unit <> '' AND r.unit = seen.serial AND r.created_at = seen.last), 0),
			d.serial IS NOT NULL, coalesce(d.reason, ''), d.denied_at, coalesce(d.denied_at_ns, 0)
		FROM (SELECT serial FROM seen UNION SELECT serial FROM denylist) AS all_units
		LEFT JOIN seen ON seen.serial = all_units.serial
		LEFT JOIN denylist d ON d.serial = all_units.serial
		ORDER BY all_units.serial`)
	if err != nil {
		return nil, fmt.Errorf("list units: %w", err)
	}
	defer rows.Close()
	var out []hub.Unit
	for rows.Next() {
		var u hub.Unit
		var last, denied *time.Time
		var lastNs, deniedNs int16
		if err := rows.Scan(&u.Serial, &u.Records, &last, &lastNs, &u.Denied, &u.Reason, &denied, &deniedNs); err != nil {
			return nil, fmt.Errorf("list units: %w", err)
		}
		u.LastSeen, u.DeniedAt = joinNullTime(last, lastNs), joinNullTime(denied, deniedNs)
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list units: %w", err)
	}
	return out, nil
}

// SetCourier adds a courier decision (hub.CourierLog), in a READ COMMITTED
// transaction (see CreateEnrollment).
func (s *Store) SetCourier(ctx context.Context, d hub.CourierDecision) error {
	at, ns := splitTime(d.At)
	err := s.inTx(ctx, pgx.ReadCommitted, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO courier_decisions (serial, enabled, job, consent, reason, decided_at, decided_at_ns)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`, d.Serial, d.Enabled, d.Job, d.Consent, d.Reason, at, ns)
		return err
	})
	if err != nil {
		return fmt.Errorf("keep courier decision of %s: %w", d.Serial, err)
	}
	return nil
}

// CourierDecisions returns the newest courier decision (highest id) of each
// unit, by serial (hub.CourierLog).
func (s *Store) CourierDecisions(ctx context.Context) ([]hub.CourierDecision, error) {
	rows, err := s.pool.Query(ctx, `SELECT DISTINCT ON (serial) serial, enabled, job, consent, reason, decided_at, decided_at_ns
		FROM courier_decisions ORDER BY serial, id DESC`)
	if err != nil {
		return nil, fmt.Errorf("courier decisions: %w", err)
	}
	defer rows.Close()
	var out []hub.CourierDecision
	for rows.Next() {
		var d hub.CourierDecision
		var at time.Time
		var ns int16
		if err := rows.Scan(&d.Serial, &d.Enabled, &d.Job, &d.Consent, &d.Reason, &at, &ns); err != nil {
			return nil, fmt.Errorf("courier decisions: %w", err)
		}
		d.At = joinTime(at, ns)
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("courier decisions: %w", err)
	}
	return out, nil
}
