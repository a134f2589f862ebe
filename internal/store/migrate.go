package store

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

type migration struct {
	version int
	name    string
	sql     string
}

// migrations lists the embedded migrations in order. Files are named
// NNNN_name.sql; numbers start at 1 and have no gaps, which a test checks.
func migrations() []migration {
	migs, err := readMigrations(migrationFiles, "migrations")
	if err != nil {
		panic(err) // embedded at build time; cannot fail at run time
	}
	return migs
}

// readMigrations reads the NNNN_name.sql files of dir in fsys, in order.
// Numbers must start at 1 and have no gaps.
func readMigrations(fsys fs.FS, dir string) ([]migration, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("read migrations: %w", err)
	}
	var out []migration
	for _, e := range entries {
		num, name, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || !strings.HasSuffix(name, ".sql") {
			return nil, fmt.Errorf("badly named migration %s: want NNNN_name.sql", e.Name())
		}
		b, err := fs.ReadFile(fsys, path.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("read migrations: %w", err)
		}
		out = append(out, migration{version: v, name: strings.TrimSuffix(name, ".sql"), sql: string(b)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	for i, m := range out {
		if m.version != i+1 {
			return nil, fmt.Errorf("migration %04d_%s: want number %d (numbers start at 1, no gaps)", m.version, m.name, i+1)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no migrations in %s", dir)
	}
	return out, nil
}

// SchemaVersion is the newest schema this build knows.
func SchemaVersion() int { m := migrations(); return m[len(m)-1].version }

// migrate brings the schema up to date. The version lives in PRAGMA
// user_version. Each migration runs in its own immediate transaction that
// re-reads the version first, so two processes opening a new file at once
// apply each migration exactly once.
func (s *Store) migrate(ctx context.Context, migs []migration) error {
	current, err := s.userVersion(ctx, s.db)
	if err != nil {
		return err
	}
	latest := migs[len(migs)-1].version
	if current > latest {
		return fmt.Errorf("%w: schema version %d, this build knows up to %d", ErrTooNew, current, latest)
	}
	for _, m := range migs {
		if m.version <= current {
			continue
		}
		err := s.Tx(ctx, func(tx *sql.Tx) error {
			v, err := s.userVersion(ctx, tx)
			if err != nil {
				return err
			}
			if v >= m.version {
				return nil // another process got here first
			}
			if _, err := tx.ExecContext(ctx, m.sql); err != nil {
				return fmt.Errorf("apply migration %04d_%s: %w", m.version, m.name, err)
			}
			_, err = tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", m.version))
			return err
		})
		if err != nil {
			return err
		}
	}
	return nil
}

type queryer interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func (s *Store) userVersion(ctx context.Context, q queryer) (int, error) {
	var v int
	// Reading sqlite_master forces SQLite to parse the header and schema
	// pages, so a damaged file fails here rather than on some later query.
	var n int
	if err := q.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_master").Scan(&n); err != nil {
		return 0, Classify(err)
	}
	if err := q.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		return 0, Classify(err)
	}
	return v, nil
}
