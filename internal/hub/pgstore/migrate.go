package pgstore

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/latchkey/latchkey/internal/hub"
	"github.com/latchkey/latchkey/internal/hub/sqlstore"
)

// Errors of Migrate.
var (
	// ErrNotEmpty: the PostgreSQL hub already holds rows; Migrate copies
	// only into an empty one and names the first table with rows.
	ErrNotEmpty = errors.New("the PostgreSQL hub database is not empty")
	// ErrMismatch: after the copy a table's row count or digest differs
	// between the two databases; nothing was kept.
	ErrMismatch = errors.New("the PostgreSQL copy differs from the SQLite hub")
)

// TableReport is what Migrate did to one table.
type TableReport struct {
	Table string
	Rows  int
	// SourceDigest and TargetDigest are hex SHA-256 digests of the table's
	// rows as read from SQLite and, after the copy, from PostgreSQL, each
	// in primary key order and in one canonical encoding of the values
	// (see digestRow); Migrate succeeds only when they are equal.
	SourceDigest, TargetDigest string
}

// Source is the SQLite hub Migrate copies from: a *sqlstore.Store, or a
// *sqlstore.ReadOnly (sqlstore.OpenReadOnly), which `hub migrate` uses so
// that the file is only read.
type Source interface {
	// Dump reads every table of sqlstore.Tables in one transaction (see
	// sqlstore.Store.Dump).
	Dump(ctx context.Context, table func(t sqlstore.Table, rows int) error, row func(values []any) error) error
	// Path names the file, for messages.
	Path() string
}

// pinTable is the table of the hub's pinned signing key (hub.KeyPin). It is
// copied and verified like the others, but the target may hold a row
// already: an instance or admin command started on the new database pins
// its key before anything else is there. That row must then be the
// source's key (otherwise the copy is refused with hub.ErrKeyMismatch); it
// is replaced by the source's row, or kept when the source has none.
const pinTable = "hub_key"

// copyChunk and copyChunkBytes bound what goes to PostgreSQL in one COPY,
// and so what Migrate holds in memory: at most copyChunk rows, and the rows
// buffered once they reach copyChunkBytes of values (an envelope may be
// 1 MiB, so 2000 rows alone could be 2 GiB).
const (
	copyChunk      = 2000
	copyChunkBytes = 32 << 20
)

// Migrate copies every row of the SQLite hub src into the PostgreSQL hub
// dst, which must be empty (ErrNotEmpty otherwise; the pinned hub key
// excepted, see pinTable), in one PostgreSQL
// transaction, then verifies it: for each table the row count and the
// digest of the rows must be equal on both sides (ErrMismatch, naming the
// table, otherwise). Any error rolls the whole copy back; dst is then as
// empty as before. progress, when not nil, is called as each table starts
// and as rows are copied, with the table's name, the rows copied and its
// row count.
//
// The SQLite file is read in one transaction that holds its write lock, so
// the copy is consistent; stop `hub serve` on it first all the same. The
// PostgreSQL tables are locked against writes (reads go on) until the copy
// commits, and the transaction runs without a statement timeout: ctx bounds
// it. courier_decisions keeps its ids, and its identity continues after the
// highest.
func Migrate(ctx context.Context, src Source, dst *Store, progress func(table string, done, total int)) ([]TableReport, error) {
	return migrate(ctx, src, dst, progress, copyChunk, copyChunkBytes)
}

// migrate is Migrate with the chunk bounds given.
func migrate(ctx context.Context, src Source, dst *Store, progress func(table string, done, total int),
	chunkRows, chunkBytes int) ([]TableReport, error) {
	if progress == nil {
		progress = func(string, int, int) {}
	}
	tables := sqlstore.Tables()
	var reports []TableReport
	err := pgx.BeginFunc(ctx, dst.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SET LOCAL statement_timeout = 0`); err != nil {
			return err
		}
		names := make([]string, len(tables))
		for i, t := range tables {
			names[i] = pgx.Identifier{t.Name}.Sanitize()
		}
		if _, err := tx.Exec(ctx, `LOCK TABLE `+strings.Join(names, ", ")+` IN EXCLUSIVE MODE`); err != nil {
			return fmt.Errorf("lock the PostgreSQL tables: %w", err)
		}
		var targetPin []byte
		for i, t := range tables {
			if t.Name == pinTable {
				err := tx.QueryRow(ctx, `SELECT public_key FROM hub_key WHERE id = 1`).Scan(&targetPin)
				if err != nil && !errors.Is(err, pgx.ErrNoRows) {
					return fmt.Errorf("table %s: %w", t.Name, err)
				}
				if _, err := tx.Exec(ctx, `DELETE FROM hub_key`); err != nil {
					return fmt.Errorf("table %s: %w", t.Name, err)
				}
				continue
			}
			var rows bool
			if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM `+names[i]+`)`).Scan(&rows); err != nil {
				return fmt.Errorf("table %s: %w", t.Name, err)
			}
			if rows {
				return fmt.Errorf("table %s holds rows: %w", t.Name, ErrNotEmpty)
			}
		}

		c := &copier{ctx: ctx, tx: tx, progress: progress, chunkRows: chunkRows, chunkBytes: chunkBytes}
		if err := src.Dump(ctx, c.table, c.row); err != nil {
			return err
		}
		if err := c.flush(); err != nil {
			return err
		}
		if len(c.reports) != len(tables) {
			return fmt.Errorf("the SQLite dump gave %d tables, want %d", len(c.reports), len(tables))
		}
		for i := range c.reports {
			r := &c.reports[i]
			n, digest, err := tableDigest(ctx, tx, tables[i])
			if err != nil {
				return fmt.Errorf("verify table %s: %w", r.Table, err)
			}
			r.TargetDigest = digest
			if n != r.Rows || r.TargetDigest != r.SourceDigest {
				return fmt.Errorf("table %s: %d rows, digest %s in SQLite; %d rows, digest %s in PostgreSQL: %w",
					r.Table, r.Rows, r.SourceDigest, n, r.TargetDigest, ErrMismatch)
			}
		}
		if targetPin != nil {
			var copied []byte
			err := tx.QueryRow(ctx, `SELECT public_key FROM hub_key WHERE id = 1`).Scan(&copied)
			switch {
			case errors.Is(err, pgx.ErrNoRows):
				// The SQLite hub pinned no key: keep the one the
				// PostgreSQL database's instances sign with.
				at, ns := splitTime(time.Now())
				if _, err := tx.Exec(ctx, `INSERT INTO hub_key (id, public_key, pinned_at, pinned_at_ns) VALUES (1, $1, $2, $3)`,
					targetPin, at, ns); err != nil {
					return fmt.Errorf("keep the pinned hub key: %w", err)
				}
			case err != nil:
				return fmt.Errorf("read the copied hub key: %w", err)
			default:
				if err := hub.CheckPin(copied, targetPin); err != nil {
					return fmt.Errorf("the SQLite hub signs with another key than the PostgreSQL database was started with: %w", err)
				}
			}
		}
		// The identity goes on after the copied ids.
		if _, err := tx.Exec(ctx, `SELECT setval(pg_get_serial_sequence('courier_decisions', 'id'), m)
			FROM (SELECT max(id) AS m FROM courier_decisions) AS copied WHERE m IS NOT NULL`); err != nil {
			return fmt.Errorf("continue the courier_decisions ids: %w", err)
		}
		reports = c.reports
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("migrate %s to PostgreSQL: %w", src.Path(), err)
	}
	return reports, nil
}

// copier takes sqlstore.Store.Dump's rows into PostgreSQL, a chunk at a
// time, and digests them as they pass.
type copier struct {
	ctx      context.Context
	tx       pgx.Tx
	progress func(string, int, int)
	// chunkRows and chunkBytes bound a chunk (copyChunk, copyChunkBytes).
	chunkRows, chunkBytes int

	reports []TableReport
	t       sqlstore.Table
	columns []string // t's columns in PostgreSQL
	total   int
	done    int
	buf     [][]any
	size    int // rowSize of buf's rows
	sum     hash.Hash
}

// table ends the table before and starts t.
func (c *copier) table(t sqlstore.Table, rows int) error {
	if err := c.flush(); err != nil {
		return err
	}
	c.t, c.columns, c.total, c.done, c.sum = t, pgColumns(t), rows, 0, sha256.New()
	c.reports = append(c.reports, TableReport{Table: t.Name})
	c.progress(t.Name, 0, rows)
	return nil
}

func (c *copier) row(values []any) error {
	if err := digestRow(c.sum, c.t.Columns, values); err != nil {
		return fmt.Errorf("row %d: %w", c.done+len(c.buf)+1, err)
	}
	c.buf = append(c.buf, toPG(c.t.Columns, values))
	c.size += rowSize(values)
	if len(c.buf) >= c.chunkRows || c.size >= c.chunkBytes {
		return c.flush()
	}
	return nil
}

// flush copies the buffered rows and updates the table's report.
func (c *copier) flush() error {
	if c.sum == nil {
		return nil
	}
	if len(c.buf) > 0 {
		n, err := c.tx.CopyFrom(c.ctx, pgx.Identifier{c.t.Name}, c.columns, pgx.CopyFromRows(c.buf))
		if err != nil {
			return fmt.Errorf("copy into table %s (rows %d-%d): %w", c.t.Name, c.done+1, c.done+len(c.buf), err)
		}
		c.done += int(n)
		clear(c.buf) // let the copied values go
		c.buf, c.size = c.buf[:0], 0
		c.progress(c.t.Name, c.done, c.total)
	}
	r := &c.reports[len(c.reports)-1]
	r.Rows, r.SourceDigest = c.done, hex.EncodeToString(c.sum.Sum(nil))
	return nil
}

// rowSize is about how many bytes a dumped row's values hold: the length
// of its text, bytes and lists, 8 for anything else.
func rowSize(values []any) int {
	n := 0
	for _, v := range values {
		switch v := v.(type) {
		case string:
			n += len(v)
		case []byte:
			n += len(v)
		case []string:
			for _, s := range v {
				n += len(s) + 8
			}
		default:
			n += 8
		}
	}
	return n
}

// pgColumns are t's columns in PostgreSQL: a time is two (see
// migrations/0001_hub.sql).
func pgColumns(t sqlstore.Table) []string {
	var out []string
	for _, c := range t.Columns {
		out = append(out, c.Name)
		if c.Type == sqlstore.Time {
			out = append(out, c.Name+"_ns")
		}
	}
	return out
}

// toPG turns a dumped row into values for pgColumns.
func toPG(cols []sqlstore.Column, values []any) []any {
	out := make([]any, 0, len(values)+4)
	for i, c := range cols {
		if c.Type != sqlstore.Time {
			out = append(out, values[i])
			continue
		}
		t := values[i].(time.Time)
		if c.Nullable {
			us, ns := splitNullTime(t)
			out = append(out, us, ns)
		} else {
			us, ns := splitTime(t)
			out = append(out, us, ns)
		}
	}
	return out
}

// tableDigest reads t back from PostgreSQL in primary key order and
// returns its row count and digest, in the form Dump gives.
func tableDigest(ctx context.Context, tx pgx.Tx, t sqlstore.Table) (int, string, error) {
	keys := make([]string, len(t.Key))
	for i, k := range t.Key {
		keys[i] = pgx.Identifier{k}.Sanitize()
	}
	rows, err := tx.Query(ctx, `SELECT `+strings.Join(pgColumns(t), ", ")+` FROM `+pgx.Identifier{t.Name}.Sanitize()+
		` ORDER BY `+strings.Join(keys, ", "))
	if err != nil {
		return 0, "", err
	}
	defer rows.Close()
	sum := sha256.New()
	n := 0
	for rows.Next() {
		n++
		values, err := fromPG(rows, t.Columns)
		if err != nil {
			return 0, "", fmt.Errorf("row %d: %w", n, err)
		}
		if err := digestRow(sum, t.Columns, values); err != nil {
			return 0, "", fmt.Errorf("row %d: %w", n, err)
		}
	}
	if err := rows.Err(); err != nil {
		return 0, "", err
	}
	return n, hex.EncodeToString(sum.Sum(nil)), nil
}

// fromPG scans a row of pgColumns into the values Dump would give.
func fromPG(rows pgx.Rows, cols []sqlstore.Column) ([]any, error) {
	type timePair struct {
		us *time.Time
		ns int16
	}
	var dest []any
	for _, c := range cols {
		switch c.Type {
		case sqlstore.Text:
			dest = append(dest, new(string))
		case sqlstore.Int:
			dest = append(dest, new(int64))
		case sqlstore.Bool:
			dest = append(dest, new(bool))
		case sqlstore.Bytes, sqlstore.JSON:
			dest = append(dest, new([]byte))
		case sqlstore.Strings:
			dest = append(dest, new([]string))
		case sqlstore.Time:
			p := new(timePair)
			dest = append(dest, &p.us, &p.ns)
		default:
			return nil, fmt.Errorf("column %s: unknown type %v", c.Name, c.Type)
		}
	}
	if err := rows.Scan(dest...); err != nil {
		return nil, err
	}
	values := make([]any, len(cols))
	j := 0
	for i, c := range cols {
		switch c.Type {
		case sqlstore.Text:
			values[i] = *dest[j].(*string)
		case sqlstore.Int:
			values[i] = *dest[j].(*int64)
		case sqlstore.Bool:
			values[i] = *dest[j].(*bool)
		case sqlstore.Bytes:
			values[i] = nonNil(*dest[j].(*[]byte))
		case sqlstore.JSON:
			values[i] = string(*dest[j].(*[]byte))
		case sqlstore.Strings:
			values[i] = *dest[j].(*[]string)
		case sqlstore.Time:
			values[i] = joinNullTime(*dest[j].(**time.Time), *dest[j+1].(*int16))
			j++
		}
		j++
	}
	return values, nil
}

// digestTime is the canonical form of a time: RFC 3339 in UTC with nine
// fraction digits, equal for two times exactly when they are the same
// instant.
const digestTime = "2006-01-02T15:04:05.000000000Z07:00"

// digestRow writes one row to h in a canonical encoding: for each value a
// type tag, then for text and bytes a length and the bytes, for a number
// eight bytes, for a time its digestTime form, for a list its length (or
// "nil") and its strings, for JSON the document decoded and encoded again
// (so key order and spacing, which jsonb does not keep, do not count).
func digestRow(h hash.Hash, cols []sqlstore.Column, values []any) error {
	if len(values) != len(cols) {
		return fmt.Errorf("%d values for %d columns", len(values), len(cols))
	}
	var buf []byte
	str := func(tag byte, s []byte) {
		buf = append(buf, tag)
		buf = binary.AppendUvarint(buf, uint64(len(s)))
		buf = append(buf, s...)
	}
	for i, c := range cols {
		bad := func() error {
			return fmt.Errorf("column %s: %T is not a %v value", c.Name, values[i], c.Type)
		}
		switch c.Type {
		case sqlstore.Text:
			v, ok := values[i].(string)
			if !ok {
				return bad()
			}
			str('s', []byte(v))
		case sqlstore.Int:
			v, ok := values[i].(int64)
			if !ok {
				return bad()
			}
			buf = binary.BigEndian.AppendUint64(append(buf, 'i'), uint64(v))
		case sqlstore.Bool:
			v, ok := values[i].(bool)
			if !ok {
				return bad()
			}
			b := byte(0)
			if v {
				b = 1
			}
			buf = append(buf, 'b', b)
		case sqlstore.Bytes:
			v, ok := values[i].([]byte)
			if !ok {
				return bad()
			}
			str('x', v)
		case sqlstore.Time:
			v, ok := values[i].(time.Time)
			if !ok {
				return bad()
			}
			str('t', []byte(v.UTC().Format(digestTime)))
		case sqlstore.Strings:
			v, ok := values[i].([]string)
			if !ok {
				return bad()
			}
			if v == nil {
				buf = append(buf, 'n')
				break
			}
			buf = binary.AppendUvarint(append(buf, 'l'), uint64(len(v)))
			for _, s := range v {
				str('s', []byte(s))
			}
		case sqlstore.JSON:
			v, ok := values[i].(string)
			if !ok {
				return bad()
			}
			canon, err := canonicalJSON(v)
			if err != nil {
				return fmt.Errorf("column %s: %w", c.Name, err)
			}
			str('j', canon)
		default:
			return bad()
		}
	}
	_, err := h.Write(buf)
	return err
}

// canonicalJSON decodes a JSON document and encodes it again: object keys
// sorted, no spaces, numbers as written.
func canonicalJSON(s string) ([]byte, error) {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("bad JSON: %w", err)
	}
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}
