package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
)

// ColumnType says what Go value Dump gives for a column.
type ColumnType int

// Column types of the hub's schema.
const (
	// Text is a string.
	Text ColumnType = iota
	// Int is an int64.
	Int
	// Bool is a bool (stored as 0 or 1).
	Bool
	// Bytes is a []byte, byte for byte as stored (never nil).
	Bytes
	// Time is a time.Time in UTC; a NULL time is the zero time.
	Time
	// Strings is a []string read from a JSON array; JSON null is a nil
	// slice, [] an empty one.
	Strings
	// JSON is a string holding a JSON document exactly as stored.
	JSON
)

// String names the type, for error messages.
func (c ColumnType) String() string {
	switch c {
	case Text:
		return "text"
	case Int:
		return "int"
	case Bool:
		return "bool"
	case Bytes:
		return "bytes"
	case Time:
		return "time"
	case Strings:
		return "strings"
	case JSON:
		return "json"
	}
	return fmt.Sprintf("ColumnType(%d)", int(c))
}

// Column is one column of a table as Dump reads it.
type Column struct {
	Name     string
	Type     ColumnType
	Nullable bool // NULL allowed (only times here: NULL is the zero time)
}

// Table is one table of the hub's schema as Dump reads it: its columns in
// the order Dump gives them, and its primary key, whose order (byte order
// for text) Dump reads the rows in.
type Table struct {
	Name    string
	Columns []Column
	Key     []string
}

// tables is the hub's schema after migrations 0001-0004, parents before
// the tables that refer to them. A migration that adds a table or a column
// must add it here too; TestDumpCoversSchema checks.
var tables = []Table{
	{Name: "enrollments", Key: []string{"code_hash"}, Columns: []Column{
		{Name: "code_hash"}, {Name: "name"}, {Name: "role"},
		{Name: "created_at", Type: Time}, {Name: "expires_at", Type: Time},
		{Name: "redeemed_at", Type: Time, Nullable: true},
	}},
	{Name: "users", Key: []string{"id"}, Columns: []Column{
		{Name: "id"}, {Name: "name"}, {Name: "key_id"}, {Name: "token_hash"},
		{Name: "revoked_at", Type: Time, Nullable: true},
	}},
	{Name: "user_keys", Key: []string{"key_id"}, Columns: []Column{
		{Name: "key_id"}, {Name: "user_id"}, {Name: "role"},
		{Name: "sign_key", Type: Bytes}, {Name: "kex_key", Type: Bytes}, {Name: "fingerprint"},
		{Name: "enrolled_at", Type: Time}, {Name: "replaced_at", Type: Time, Nullable: true},
	}},
	{Name: "jobs", Key: []string{"id"}, Columns: []Column{
		{Name: "id"}, {Name: "building"}, {Name: "address"}, {Name: "doors", Type: Strings},
		{Name: "access_hours"}, {Name: "incentive"}, {Name: "terms"}, {Name: "installer"},
		{Name: "created_at", Type: Time}, {Name: "expires_at", Type: Time}, {Name: "packet", Type: Bytes},
	}},
	{Name: "records", Key: []string{"id"}, Columns: []Column{
		{Name: "id"}, {Name: "kind"}, {Name: "signer"}, {Name: "key_ids", Type: Strings}, {Name: "digest"},
		{Name: "job"}, {Name: "unit"}, {Name: "created_at", Type: Time}, {Name: "received_at", Type: Time},
		{Name: "envelope", Type: Bytes}, {Name: "journal_seq", Type: Int}, {Name: "journal_hash"},
	}},
	{Name: "idempotency", Key: []string{"user_name", "key"}, Columns: []Column{
		{Name: "user_name"}, {Name: "key"}, {Name: "request_digest"}, {Name: "results", Type: JSON},
		{Name: "created_at", Type: Time}, {Name: "expires_at", Type: Time},
	}},
	{Name: "denylist", Key: []string{"serial"}, Columns: []Column{
		{Name: "serial"}, {Name: "reason"}, {Name: "denied_at", Type: Time},
	}},
	{Name: "courier_decisions", Key: []string{"id"}, Columns: []Column{
		{Name: "id", Type: Int}, {Name: "serial"}, {Name: "enabled", Type: Bool}, {Name: "job"},
		{Name: "consent"}, {Name: "reason"}, {Name: "decided_at", Type: Time},
	}},
	{Name: "hub_key", Key: []string{"id"}, Columns: []Column{
		{Name: "id", Type: Int}, {Name: "public_key", Type: Bytes}, {Name: "pinned_at", Type: Time},
	}},
}

// Tables lists the hub's tables as Dump reads them, parents (users) before
// the tables that refer to them (user_keys). The slices are copies.
func Tables() []Table {
	out := make([]Table, len(tables))
	for i, t := range tables {
		out[i] = Table{Name: t.Name, Columns: append([]Column(nil), t.Columns...), Key: append([]string(nil), t.Key...)}
	}
	return out
}

// Dump reads every row of every table, in the order of Tables, in one
// transaction holding the file's write lock: a consistent copy even if
// another process has the file open, whose writes wait (up to their busy
// timeout) until Dump returns; stop `hub serve` first all the same. For
// each table it calls table with the table and its row count, then row with
// each row's values in column order (see ColumnType), in primary key order.
// An error from either callback stops the dump and comes back wrapped.
func (s *Store) Dump(ctx context.Context, table func(t Table, rows int) error, row func(values []any) error) error {
	err := s.st.Tx(ctx, func(tx *sql.Tx) error {
		for _, t := range Tables() {
			if err := dumpTable(ctx, tx, t, table, row); err != nil {
				return fmt.Errorf("table %s: %w", t.Name, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("dump hub database %s: %w", s.Path(), err)
	}
	return nil
}

func dumpTable(ctx context.Context, tx *sql.Tx, t Table, table func(Table, int) error, row func([]any) error) error {
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM `+t.Name).Scan(&n); err != nil {
		return err
	}
	if err := table(t, n); err != nil {
		return err
	}
	names := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		names[i] = c.Name
	}
	rows, err := tx.QueryContext(ctx, `SELECT `+strings.Join(names, ", ")+` FROM `+t.Name+
		` ORDER BY `+strings.Join(t.Key, ", "))
	if err != nil {
		return err
	}
	defer rows.Close()
	raw := make([]any, len(t.Columns))
	for i, c := range t.Columns {
		switch c.Type {
		case Int, Bool:
			raw[i] = new(int64)
		case Bytes:
			raw[i] = new([]byte)
		default:
			raw[i] = new(sql.NullString)
		}
	}
	for r := 1; rows.Next(); r++ {
		if err := rows.Scan(raw...); err != nil {
			return err
		}
		values := make([]any, len(t.Columns))
		for i, c := range t.Columns {
			v, err := dumpValue(c, raw[i])
			if err != nil {
				return fmt.Errorf("row %d, column %s: %w", r, c.Name, err)
			}
			values[i] = v
		}
		if err := row(values); err != nil {
			return err
		}
	}
	return rows.Err()
}

// dumpValue turns a scanned column into the Go value its type promises.
func dumpValue(c Column, raw any) (any, error) {
	switch c.Type {
	case Int:
		return *raw.(*int64), nil
	case Bool:
		switch v := *raw.(*int64); v {
		case 0, 1:
			return v == 1, nil
		default:
			return nil, fmt.Errorf("bad boolean %d in database", v)
		}
	case Bytes:
		return nonNil(*raw.(*[]byte)), nil
	}
	s := *raw.(*sql.NullString)
	if !s.Valid && !(c.Type == Time && c.Nullable) {
		return nil, errors.New("NULL in a column that may not hold one")
	}
	switch c.Type {
	case Time:
		t, err := parseNullTime(s)
		return t.UTC(), err
	case Strings:
		return decodeStrings(s.String)
	}
	return s.String, nil
}
