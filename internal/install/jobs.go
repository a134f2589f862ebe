package install

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/latchkey/latchkey/internal/hubapi"
	"github.com/latchkey/latchkey/internal/packet"
	"github.com/latchkey/latchkey/internal/store"
)

// Errors callers branch on.
var (
	// ErrJobNotFound: no pulled job has that id (or id prefix).
	ErrJobNotFound = errors.New("job not found")
	// ErrAmbiguous: an id prefix matches more than one job.
	ErrAmbiguous = errors.New("job id prefix matches more than one job")
)

// minPrefix is the shortest id prefix a person may type for a job.
const minPrefix = 4

// Jobs keeps the jobs an installer pulled and the unit denylist that came
// with them, in the laptop's store. Packets are stored exactly as the hub
// signed them, still sealed.
type Jobs struct {
	st  *store.Store
	now func() time.Time
}

// NewJobs returns the job list over st.
func NewJobs(st *store.Store, now func() time.Time) *Jobs {
	return &Jobs{st: st, now: now}
}

// PullResult says what a pull changed.
type PullResult struct {
	New       int `json:"new"`
	Updated   int `json:"updated"`
	Unchanged int `json:"unchanged"`
	// Refused are packets that failed verification, kept out of the store.
	Refused []string `json:"refused,omitempty"`
	// Denied is the number of units on the denylist now.
	Denied int `json:"denied"`
}

// Save verifies every packet of a pull and its denylist with the hub's key
// (pinned at login) and stores them, in one transaction. A packet that does
// not verify (altered, signed by another key, expired, not for
// installerKeyID) is refused and named in the result, never stored, as is
// one older than the packet of that job already held. A denylist that does
// not verify, or is older than the one held, fails the whole pull: nothing
// is stored, and the list held stays.
func (j *Jobs) Save(ctx context.Context, hubKey ed25519.PublicKey, installerKeyID string, resp hubapi.JobsResponse) (PullResult, error) {
	now := j.now().UTC()
	deny, err := packet.VerifyDenylist(resp.Denylist, hubKey)
	if err != nil {
		return PullResult{}, fmt.Errorf("pulled denylist: %w", err)
	}
	type good struct {
		job packet.Job
		raw []byte
	}
	var res PullResult
	var goods []good
	for i, raw := range resp.Packets {
		job, err := packet.Verify(raw, hubKey, now)
		if err == nil && job.InstallerKeyID != installerKeyID {
			err = fmt.Errorf("packet is for key %s, not yours", short(job.InstallerKeyID))
		}
		if err != nil {
			name := fmt.Sprintf("packet %d", i+1)
			if job.ID != "" {
				name = "job " + job.ID
			}
			res.Refused = append(res.Refused, fmt.Sprintf("%s: %v", name, err))
			continue
		}
		goods = append(goods, good{job, []byte(raw)})
	}
	stamp := now.Format(time.RFC3339Nano)
	err = j.st.Tx(ctx, func(tx *sql.Tx) error {
		var held string
		err := tx.QueryRowContext(ctx, `SELECT issued_at FROM denylist_issue`).Scan(&held)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if held != "" {
			heldAt, perr := time.Parse(time.RFC3339Nano, held)
			if perr != nil {
				return fmt.Errorf("denylist issue time %q: %w", held, perr)
			}
			if deny.IssuedAt.Before(heldAt) {
				return fmt.Errorf("%w: issued %s, the one held %s", packet.ErrStale,
					deny.IssuedAt.Format(time.RFC3339), heldAt.Format(time.RFC3339))
			}
		}
		for _, g := range goods {
			var old []byte
			var oldIssued string
			err := tx.QueryRowContext(ctx, `SELECT packet, issued_at FROM jobs WHERE id = ?`, g.job.ID).Scan(&old, &oldIssued)
			switch {
			case errors.Is(err, sql.ErrNoRows):
				res.New++
			case err != nil:
				return err
			case bytes.Equal(old, g.raw):
				res.Unchanged++
				continue
			default:
				if t, perr := time.Parse(time.RFC3339Nano, oldIssued); perr == nil && g.job.IssuedAt.Before(t) {
					res.Refused = append(res.Refused, fmt.Sprintf("job %s: the packet is older than the one held (issued %s, held %s)",
						g.job.ID, g.job.IssuedAt.Format(time.RFC3339), t.Format(time.RFC3339)))
					continue
				}
				res.Updated++
			}
			doors, err := json.Marshal(g.job.Doors)
			if err != nil {
				return err
			}
			_, err = tx.ExecContext(ctx, `INSERT INTO jobs
				(id, installer, installer_key_id, building, address, doors, access_hours, incentive, terms, issued_at, expires_at, packet, pulled_at)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
				ON CONFLICT (id) DO UPDATE SET installer = excluded.installer, installer_key_id = excluded.installer_key_id, building = excluded.building,
				address = excluded.address, doors = excluded.doors, access_hours = excluded.access_hours,
				incentive = excluded.incentive, terms = excluded.terms, issued_at = excluded.issued_at,
				expires_at = excluded.expires_at, packet = excluded.packet, pulled_at = excluded.pulled_at`,
				g.job.ID, g.job.Installer, g.job.InstallerKeyID, g.job.Building, g.job.Address, string(doors), g.job.AccessHours,
				g.job.Incentive, g.job.Terms, g.job.IssuedAt.UTC().Format(time.RFC3339Nano),
				g.job.ExpiresAt.UTC().Format(time.RFC3339Nano), g.raw, stamp)
			if err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM denied_units`); err != nil {
			return err
		}
		for _, d := range deny.Units {
			_, err := tx.ExecContext(ctx, `INSERT INTO denied_units (serial, reason, denied_at, pulled_at) VALUES (?, ?, ?, ?)
				ON CONFLICT (serial) DO UPDATE SET reason = excluded.reason, denied_at = excluded.denied_at`,
				d.Serial, d.Reason, d.DeniedAt.UTC().Format(time.RFC3339Nano), stamp)
			if err != nil {
				return err
			}
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO denylist_issue (only_row, issued_at) VALUES (1, ?)
			ON CONFLICT (only_row) DO UPDATE SET issued_at = excluded.issued_at`, deny.IssuedAt.UTC().Format(time.RFC3339Nano))
		if err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, `SELECT count(*) FROM denied_units`).Scan(&res.Denied)
	})
	if err != nil {
		return PullResult{}, fmt.Errorf("save pulled jobs: %w", err)
	}
	return res, nil
}

// Job is a pulled job as listed: the packet's job, never its keys.
type Job struct {
	packet.Job
	PulledAt time.Time `json:"pulled_at"`
}

// Expired reports whether the job's packet expired at now.
func (j Job) Expired(now time.Time) bool { return !now.Before(j.ExpiresAt) }

const jobColumns = `id, installer, installer_key_id, building, address, doors, access_hours, incentive, terms, issued_at, expires_at, pulled_at`

// List returns the pulled jobs, newest first.
func (j *Jobs) List(ctx context.Context) ([]Job, error) {
	rows, err := j.st.DB().QueryContext(ctx, `SELECT `+jobColumns+` FROM jobs ORDER BY issued_at DESC, id`)
	if err != nil {
		return nil, j.st.Check(err)
	}
	defer rows.Close()
	var out []Job
	for rows.Next() {
		job, err := scanJob(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, job)
	}
	return out, j.st.Check(rows.Err())
}

// Get finds a job by id or by a unique prefix of at least four characters.
func (j *Jobs) Get(ctx context.Context, ref string) (Job, error) {
	id, err := j.resolve(ctx, ref)
	if err != nil {
		return Job{}, err
	}
	return scanJob(j.st.DB().QueryRowContext(ctx, `SELECT `+jobColumns+` FROM jobs WHERE id = ?`, id))
}

// Packet returns a job's signed, sealed packet as pulled, for opening at
// burn time.
func (j *Jobs) Packet(ctx context.Context, ref string) ([]byte, error) {
	id, err := j.resolve(ctx, ref)
	if err != nil {
		return nil, err
	}
	var b []byte
	if err := j.st.DB().QueryRowContext(ctx, `SELECT packet FROM jobs WHERE id = ?`, id).Scan(&b); err != nil {
		return nil, j.st.Check(err)
	}
	return b, nil
}

func (j *Jobs) resolve(ctx context.Context, ref string) (string, error) {
	ref = strings.TrimSpace(ref)
	var n int
	if err := j.st.DB().QueryRowContext(ctx, `SELECT count(*) FROM jobs WHERE id = ?`, ref).Scan(&n); err != nil {
		return "", j.st.Check(err)
	}
	if n == 1 {
		return ref, nil
	}
	if len(ref) < minPrefix {
		return "", fmt.Errorf("%w: %q (type the id, or at least %d of its first characters)", ErrJobNotFound, ref, minPrefix)
	}
	rows, err := j.st.DB().QueryContext(ctx, `SELECT id FROM jobs WHERE substr(id, 1, ?) = ? LIMIT 2`, len(ref), ref)
	if err != nil {
		return "", j.st.Check(err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return "", err
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return "", j.st.Check(err)
	}
	switch len(ids) {
	case 0:
		return "", fmt.Errorf("%w: %q", ErrJobNotFound, ref)
	case 1:
		return ids[0], nil
	}
	return "", fmt.Errorf("%w: %q", ErrAmbiguous, ref)
}

type scanner interface{ Scan(dest ...any) error }

func scanJob(r scanner) (Job, error) {
	var job Job
	var doors, issued, expires, pulled string
	err := r.Scan(&job.ID, &job.Installer, &job.InstallerKeyID, &job.Building, &job.Address, &doors, &job.AccessHours,
		&job.Incentive, &job.Terms, &issued, &expires, &pulled)
	if errors.Is(err, sql.ErrNoRows) {
		return Job{}, ErrJobNotFound
	}
	if err != nil {
		return Job{}, store.Classify(err)
	}
	if err := json.Unmarshal([]byte(doors), &job.Doors); err != nil {
		return Job{}, fmt.Errorf("job %s: doors: %w", job.ID, err)
	}
	for _, t := range []struct {
		s   string
		dst *time.Time
	}{{issued, &job.IssuedAt}, {expires, &job.ExpiresAt}, {pulled, &job.PulledAt}} {
		if *t.dst, err = time.Parse(time.RFC3339Nano, t.s); err != nil {
			return Job{}, fmt.Errorf("job %s: %w", job.ID, err)
		}
	}
	return job, nil
}

// Denylist returns the units the back office refuses, as last pulled.
func (j *Jobs) Denylist(ctx context.Context) ([]hubapi.DeniedUnit, error) {
	rows, err := j.st.DB().QueryContext(ctx, `SELECT serial, reason, denied_at FROM denied_units ORDER BY serial`)
	if err != nil {
		return nil, j.st.Check(err)
	}
	defer rows.Close()
	var out []hubapi.DeniedUnit
	for rows.Next() {
		var d hubapi.DeniedUnit
		var at string
		if err := rows.Scan(&d.Serial, &d.Reason, &at); err != nil {
			return nil, err
		}
		if d.DeniedAt, err = time.Parse(time.RFC3339Nano, at); err != nil {
			return nil, fmt.Errorf("denied unit %s: %w", d.Serial, err)
		}
		out = append(out, d)
	}
	return out, j.st.Check(rows.Err())
}

// Denied reports whether the last pulled denylist names serial, and why.
func (j *Jobs) Denied(ctx context.Context, serial string) (string, bool, error) {
	var reason string
	err := j.st.DB().QueryRowContext(ctx, `SELECT reason FROM denied_units WHERE serial = ?`, serial).Scan(&reason)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, j.st.Check(err)
	}
	return reason, true, nil
}

func short(keyID string) string {
	if len(keyID) > 12 {
		return keyID[:12]
	}
	return keyID
}
