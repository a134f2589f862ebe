package sales

import (
	"context"
	"database/sql"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/latchkey/latchkey/internal/ids"
	"github.com/latchkey/latchkey/internal/incentive"
)

// CSVHeader is the header row of an export, and what an import expects.
func CSVHeader() []string {
	return []string{"id", "revision", "recorded_at", "visited_at", "rep",
		"building_name", "building_address", "building_city", "building_units",
		"contact_name", "contact_role", "contact_phone", "contact_email",
		"outcome", "objections", "objection_notes", "incentive", "follow_up", "notes"}
}

// objectionSep separates objections inside one CSV cell; a semicolon keeps
// spreadsheets from splitting the cell.
const objectionSep = ";"

// WriteCSV writes visits with CSVHeader.
func WriteCSV(w io.Writer, visits []Visit) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(CSVHeader()); err != nil {
		return err
	}
	for _, v := range visits {
		objections := make([]string, len(v.Objections))
		for i, o := range v.Objections {
			objections[i] = string(o)
		}
		rec := []string{v.ID, strconv.Itoa(v.Revision), v.RecordedAt.UTC().Format(time.RFC3339), v.VisitedAt.UTC().Format(time.RFC3339), cell(v.Rep),
			cell(v.Building.Name), cell(v.Building.Address), cell(v.Building.City), strconv.Itoa(v.Building.Units),
			cell(v.Contact.Name), string(v.Contact.Role), cell(v.Contact.Phone), cell(v.Contact.Email),
			string(v.Outcome), strings.Join(objections, objectionSep), cell(v.ObjectionNotes), v.Incentive.String(), v.FollowUp, cell(v.Notes)}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// formulaStart are the first characters that make a spreadsheet run a cell
// as a formula (OWASP's CSV injection list).
const formulaStart = "=+-@\t\r"

// cell guards free text for spreadsheets: a cell that would run as a formula
// gets a leading apostrophe, which spreadsheets show as text and import
// removes again (uncell).
func cell(s string) string {
	if s != "" && strings.ContainsRune(formulaStart, rune(s[0])) {
		return "'" + s
	}
	return s
}

// uncell undoes cell.
func uncell(s string) string {
	if len(s) > 1 && s[0] == '\'' && strings.ContainsRune(formulaStart, rune(s[1])) {
		return s[1:]
	}
	return s
}

// WriteJSON writes visits as one indented JSON array.
func WriteJSON(w io.Writer, visits []Visit) error {
	if visits == nil {
		visits = []Visit{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(visits)
}

// ImportRow is one visit read from a file, with the line it started on and
// any cells that did not parse (Import reports them with everything else).
type ImportRow struct {
	Line     int
	Visit    Visit
	Problems []Problem
}

// RowError is why one line of an import file was refused.
type RowError struct {
	Line   int    `json:"line"`
	Reason string `json:"reason"`
}

// ImportError lists every refused line; when it is returned nothing was
// imported.
type ImportError struct {
	File string
	Rows []RowError
}

// ErrImportRejected is wrapped by every ImportError.
var ErrImportRejected = errors.New("import refused, nothing was imported")

func (e *ImportError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d bad row(s) in %s, nothing was imported", len(e.Rows), e.File)
	for i, r := range e.Rows {
		if i == 5 {
			fmt.Fprintf(&b, "; and %d more", len(e.Rows)-5)
			break
		}
		fmt.Fprintf(&b, "; line %d: %s", r.Line, r.Reason)
	}
	return b.String()
}

// Unwrap lets errors.Is(err, ErrImportRejected) match.
func (e *ImportError) Unwrap() error { return ErrImportRejected }

// ReadCSV parses an export-format CSV file. Columns may come in any order but
// must all be known, and id, revision and recorded_at may be left out or
// blank (an id is then derived from the row's content, so importing the same
// file twice still names the same visits). Every bad row is reported.
func ReadCSV(r io.Reader, file string) ([]ImportRow, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if err == io.EOF {
		return nil, &ImportError{File: file, Rows: []RowError{{Line: 1, Reason: "the file is empty; it needs the header of `latchkey visit export --format csv`"}}}
	}
	if err != nil {
		return nil, &ImportError{File: file, Rows: []RowError{{Line: lineOf(err, 1), Reason: err.Error()}}}
	}
	col := map[string]int{}
	known := map[string]bool{}
	for _, h := range CSVHeader() {
		known[h] = true
	}
	for i, h := range header {
		h = strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))
		if !known[h] {
			return nil, &ImportError{File: file, Rows: []RowError{{Line: 1, Reason: fmt.Sprintf("unknown column %q (expected the header of `latchkey visit export --format csv`)", h)}}}
		}
		if _, dup := col[h]; dup {
			return nil, &ImportError{File: file, Rows: []RowError{{Line: 1, Reason: fmt.Sprintf("column %q appears twice", h)}}}
		}
		col[h] = i
	}
	optional := map[string]bool{"id": true, "revision": true, "recorded_at": true}
	var missing []string
	for _, h := range CSVHeader() {
		if _, ok := col[h]; !ok && !optional[h] {
			missing = append(missing, h)
		}
	}
	if len(missing) > 0 {
		return nil, &ImportError{File: file, Rows: []RowError{{Line: 1, Reason: "missing column(s) " + strings.Join(missing, ", ")}}}
	}
	var rows []ImportRow
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			// FieldPos is only valid after a successful Read; a parse error
			// carries its own line.
			var pe *csv.ParseError
			if !errors.As(err, &pe) {
				return nil, &ImportError{File: file, Rows: []RowError{{Line: 1, Reason: err.Error()}}}
			}
			// A quoting error can swallow the rest of the file; report it and stop.
			rows = append(rows, ImportRow{Line: pe.StartLine, Problems: []Problem{{Field: "row", Message: pe.Err.Error()}}})
			if !errors.Is(err, csv.ErrFieldCount) {
				break
			}
			continue
		}
		line, _ := cr.FieldPos(0)
		if len(rec) != len(header) {
			rows = append(rows, ImportRow{Line: line, Problems: []Problem{{Field: "row", Message: fmt.Sprintf("has %d fields, the header has %d", len(rec), len(header))}}})
			continue
		}
		get := func(h string) string {
			if i, ok := col[h]; ok {
				return uncell(strings.TrimSpace(rec[i]))
			}
			return ""
		}
		v, problems := visitFromCSV(get)
		rows = append(rows, ImportRow{Line: line, Visit: v, Problems: problems})
	}
	return rows, nil
}

func lineOf(err error, fallback int) int {
	var pe *csv.ParseError
	if errors.As(err, &pe) && pe.Line > 0 {
		return pe.Line
	}
	return fallback
}

// visitFromCSV converts the cells of one row; field validation comes later,
// in Import, with everything else.
func visitFromCSV(get func(string) string) (Visit, []Problem) {
	var reasons []Problem
	add := func(field, format string, args ...any) {
		reasons = append(reasons, Problem{Field: field, Message: fmt.Sprintf(format, args...)})
	}
	v := Visit{
		ID: strings.ToLower(get("id")), Rep: get("rep"),
		Building: Building{Name: get("building_name"), Address: get("building_address"), City: get("building_city")},
		Contact:  Contact{Name: get("contact_name"), Role: Role(get("contact_role")), Phone: get("contact_phone"), Email: get("contact_email")},
		Outcome:  Outcome(get("outcome")), ObjectionNotes: get("objection_notes"), FollowUp: get("follow_up"), Notes: get("notes"),
	}
	if v.ID != "" && !ids.Valid(v.ID) {
		add("id", "%q is not a visit id (leave it blank for new visits)", v.ID)
	}
	if s := get("revision"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			add("revision", "%q is not a whole number from 1", s)
		}
		v.Revision = n
	}
	if s := get("recorded_at"); s != "" {
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			add("recorded_at", "%q is not a time like 2026-11-25T14:00:00Z", s)
		}
		v.RecordedAt = t
	}
	if s := get("visited_at"); s != "" {
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			add("visited_at", "%q is not a time like 2026-11-25T14:00:00Z", s)
		}
		v.VisitedAt = t
	}
	if s := get("building_units"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			add("building.units", "%q is not a whole number", s)
		}
		v.Building.Units = n
	}
	for _, o := range strings.Split(get("objections"), objectionSep) {
		if o = strings.TrimSpace(o); o != "" {
			v.Objections = append(v.Objections, Objection(o))
		}
	}
	offer, err := incentive.Parse(get("incentive"))
	if err != nil {
		add("incentive", "%v", err)
	}
	v.Incentive = offer
	return v, reasons
}

// ReadJSON parses the array `visit export --format json` writes. Line numbers
// are the array positions, counted from 1.
func ReadJSON(r io.Reader, file string) ([]ImportRow, error) {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	var vs []Visit
	if err := dec.Decode(&vs); err != nil {
		return nil, &ImportError{File: file, Rows: []RowError{{Line: 1, Reason: "not a JSON array of visits: " + err.Error()}}}
	}
	rows := make([]ImportRow, len(vs))
	for i, v := range vs {
		rows[i] = ImportRow{Line: i + 1, Visit: v}
	}
	return rows, nil
}

// ImportResult counts what an import did.
type ImportResult struct {
	Added     int `json:"added"`     // visits new to this store
	Updated   int `json:"updated"`   // newer revisions of visits already here
	Unchanged int `json:"unchanged"` // revisions already here, identical
	Older     int `json:"older"`     // revisions older than what is here, kept as history
}

// Import validates every row and then stores them all in one transaction, or
// none: any bad row returns an *ImportError listing each one by line. A row
// whose id and revision are already stored with the same content changes
// nothing, so importing a file twice adds no duplicates; with different
// content it is refused, never overwritten. With dryRun everything is checked,
// against the store too, and the transaction is rolled back.
func (s *Service) Import(ctx context.Context, file string, rows []ImportRow, dryRun bool) (ImportResult, error) {
	now := s.now()
	var bad []RowError
	type key struct {
		id  string
		rev int
	}
	seen := map[key]int{}
	for i := range rows {
		v := &rows[i].Visit
		v.Normalize()
		v.Deleted = false
		if v.Revision == 0 {
			v.Revision = 1
		}
		if v.RecordedAt.IsZero() {
			v.RecordedAt = now
		}
		v.RecordedAt = v.RecordedAt.UTC().Truncate(time.Second)
		if problems := rowProblems(rows[i], now); len(problems) > 0 {
			// Name fields as the export's columns: building.units is building_units.
			for j := range problems {
				problems[j].Field = strings.ReplaceAll(problems[j].Field, ".", "_")
			}
			bad = append(bad, RowError{Line: rows[i].Line, Reason: (&ValidationError{Problems: problems}).Error()})
			continue
		}
		if v.ID == "" {
			v.ID = derivedID(*v)
		}
		k := key{v.ID, v.Revision}
		if first, dup := seen[k]; dup {
			bad = append(bad, RowError{Line: rows[i].Line, Reason: fmt.Sprintf("same visit and revision as line %d", rows[first].Line)})
			continue
		}
		seen[k] = i
	}
	if len(bad) > 0 {
		return ImportResult{}, &ImportError{File: file, Rows: bad}
	}
	var res ImportResult
	err := s.st.Tx(ctx, func(tx *sql.Tx) error {
		res = ImportResult{}
		for _, row := range rows {
			v := row.Visit
			stored, err := queryVisits(ctx, tx, `SELECT `+revisionColumns+` FROM visit_revisions r WHERE r.visit_id = ? AND r.revision = ?`, v.ID, v.Revision)
			if err != nil {
				return err
			}
			if len(stored) > 0 {
				if SameContent(stored[0], v) && !stored[0].Deleted {
					res.Unchanged++
				} else {
					bad = append(bad, RowError{Line: row.Line, Reason: fmt.Sprintf("visit %s revision %d is already stored with different content; export again to get the newest revision", short(v.ID), v.Revision)})
				}
				continue
			}
			head, err := latest(ctx, tx, v.ID)
			switch {
			case errors.Is(err, ErrNotFound):
				res.Added++
			case err != nil:
				return err
			case head.Revision > v.Revision:
				res.Older++
				if err := insertRevision(ctx, tx, v); err != nil {
					return err
				}
				if err := s.queue(ctx, tx, v); err != nil {
					return fmt.Errorf("line %d: %w", row.Line, err)
				}
				continue
			default:
				res.Updated++
			}
			if err := writeRevision(ctx, tx, v); err != nil {
				return err
			}
			if err := s.queue(ctx, tx, v); err != nil {
				return fmt.Errorf("line %d: %w", row.Line, err)
			}
		}
		if len(bad) > 0 {
			return &ImportError{File: file, Rows: bad}
		}
		if dryRun {
			return errDryRun
		}
		return nil
	})
	if err != nil && !errors.Is(err, errDryRun) {
		return ImportResult{}, err
	}
	return res, nil
}

// rowProblems is what is wrong with one imported row: the cells that did not
// parse, then what validation finds in the other fields.
func rowProblems(row ImportRow, now time.Time) []Problem {
	problems := append([]Problem(nil), row.Problems...)
	failed := map[string]bool{}
	for _, p := range problems {
		failed[p.Field] = true
	}
	if failed["row"] {
		return problems
	}
	var ve *ValidationError
	if err := row.Visit.Validate(now); errors.As(err, &ve) {
		for _, p := range ve.Problems {
			if !failed[p.Field] {
				problems = append(problems, p)
			}
		}
	}
	return problems
}

// errDryRun rolls back a dry-run import.
var errDryRun = errors.New("dry run")

// derivedID names a visit imported without an id by its content.
func derivedID(v Visit) string {
	v.ID, v.Revision, v.RecordedAt = "", 0, time.Time{}
	b, _ := json.Marshal(v) // a Visit always marshals
	return ids.Derived("visit", b)
}
