package sqlstore

import (
	"context"
	"fmt"

	"github.com/latchkey/latchkey/internal/hub"
)

var _ hub.CourierLog = (*Store)(nil)

// SetCourier adds a courier decision (hub.CourierLog).
func (s *Store) SetCourier(ctx context.Context, d hub.CourierDecision) error {
	enabled := 0
	if d.Enabled {
		enabled = 1
	}
	_, err := s.st.DB().ExecContext(ctx, `INSERT INTO courier_decisions (serial, enabled, job, consent, reason, decided_at)
		VALUES (?, ?, ?, ?, ?, ?)`, d.Serial, enabled, d.Job, d.Consent, d.Reason, formatTime(d.At))
	if err != nil {
		return fmt.Errorf("keep courier decision of %s: %w", d.Serial, s.st.Check(err))
	}
	return nil
}

// CourierDecisions returns the newest courier decision of each unit, by
// serial (hub.CourierLog).
func (s *Store) CourierDecisions(ctx context.Context) ([]hub.CourierDecision, error) {
	rows, err := s.st.DB().QueryContext(ctx, `SELECT serial, enabled, job, consent, reason, decided_at FROM courier_decisions
		WHERE id IN (SELECT max(id) FROM courier_decisions GROUP BY serial) ORDER BY serial`)
	if err != nil {
		return nil, fmt.Errorf("courier decisions: %w", s.st.Check(err))
	}
	defer rows.Close()
	var out []hub.CourierDecision
	for rows.Next() {
		var d hub.CourierDecision
		var enabled int
		var at string
		if err := rows.Scan(&d.Serial, &enabled, &d.Job, &d.Consent, &d.Reason, &at); err != nil {
			return nil, fmt.Errorf("courier decisions: %w", s.st.Check(err))
		}
		d.Enabled = enabled == 1
		if d.At, err = parseTime(at); err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("courier decisions: %w", s.st.Check(err))
	}
	return out, nil
}
