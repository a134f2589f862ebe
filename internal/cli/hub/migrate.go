package hub

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/latchkey/latchkey/internal/cli/cmdutil"
	hubsvc "github.com/latchkey/latchkey/internal/hub"
	"github.com/latchkey/latchkey/internal/hub/pgstore"
	"github.com/latchkey/latchkey/internal/hub/sqlstore"
)

// migrateView is one table of `hub migrate --json`.
type migrateView struct {
	Table        string `json:"table"`
	Rows         int    `json:"rows"`
	SourceDigest string `json:"source_digest"`
	TargetDigest string `json:"target_digest"`
	OK           bool   `json:"ok"`
}

func newCmdMigrate(f *cmdutil.Factory) *cobra.Command {
	var data, from, to string
	cmd := &cobra.Command{
		Use:   "migrate --to postgres://USER@HOST/DB",
		Short: "Import a SQLite hub's data into PostgreSQL and verify every table",
		Long: `Copy everything a SQLite hub holds (users, enrollments, jobs, records,
idempotency keys, the denylist, courier decisions, the pinned signing key)
into a PostgreSQL database, creating its tables first, then check each table:
the same number of rows and the same digest of their contents on both sides.
The SQLite file is opened read-only and nothing is written to it: a file
that is not a hub's database is refused, and so is a hub of an older version
(run 'latchkey hub serve' on it once to upgrade it, then migrate). The copy
goes in one transaction, so a failed or interrupted run leaves the target as
empty as it found it.

Stop 'hub serve' on the SQLite file first: the copy is a snapshot, and what
arrives after it is not copied. The target must be empty (a hub key pinned
there by an instance started on it is allowed if it is the SQLite hub's):
point --to at a new database, or at a new schema with ?search_path=NAME.
Afterwards run the hub on PostgreSQL with the same --data (its signing key
hub.key stays there) and --database set to the URL.

Exit status 1 when the source is not an up-to-date hub, the target is not
empty or a table differs after the copy.`,
		Example: `  latchkey hub migrate --to postgres://hub@127.0.0.1/latchkey
  latchkey hub migrate --from ./hub-data/hub.db --to 'postgres://hub@db.internal/latchkey?search_path=hub' --json
  latchkey hub serve --data ./hub-data --database postgres://hub@db.internal/latchkey`,
		Args: cmdutil.NoArgs("name the databases with --from and --to"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if to == "" {
				to = strings.TrimSpace(f.Getenv(EnvDatabase))
			}
			if to == "" {
				return cmdutil.Usagef("--to is required: the PostgreSQL database to copy into, postgres://USER@HOST/DB")
			}
			dst, err := parseDatabase("--to", to)
			if err != nil {
				return err
			}
			if !dst.postgres() {
				return cmdutil.Usagef("--to %q: want a PostgreSQL URL, postgres://USER@HOST/DB", to)
			}
			w := where{data: data}
			var src database
			if from != "" {
				if src, err = parseDatabase("--from", from); err != nil {
					return err
				}
				if src.postgres() {
					return cmdutil.Usagef("--from %s: want the SQLite hub, sqlite:PATH or a file path", src)
				}
			} else {
				dir, err := w.dataDir(f)
				if err != nil {
					return err
				}
				src = database{path: filepath.Join(dir, "hub.db")}
			}
			if fi, err := os.Stat(src.path); err != nil || fi.IsDir() {
				return cmdutil.WithHint(fmt.Errorf("no SQLite hub at %s", src.path),
					"name the hub's database with --from PATH, or its directory with --data DIR")
			}
			// Read-only: no migration, no journal mode switch, nothing
			// written to the file whatever it turns out to be.
			sst, err := sqlstore.OpenReadOnly(ctx, src.path)
			switch {
			case errors.Is(err, sqlstore.ErrNotHub):
				return cmdutil.WithHint(fmt.Errorf("the SQLite hub %s: %w", src.path, err),
					"name a hub's database (hub.db in its --data) with --from; the file was not changed")
			case errors.Is(err, sqlstore.ErrOldSchema):
				return cmdutil.WithHint(fmt.Errorf("the SQLite hub %s: %w", src.path, err),
					"latchkey hub serve --data DIR (or --database sqlite:PATH) upgrades it on start; stop it, then migrate. The file was not changed")
			case err != nil:
				return cmdutil.WithHint(fmt.Errorf("open the SQLite hub %s: %w", src.path, err), "check --from names a hub's database and that you may read it")
			}
			defer sst.Close()
			pst, err := pgstore.Open(ctx, dst.dsn)
			if err != nil {
				return cmdutil.WithHint(err, "check the URL, that the PostgreSQL server runs and that its user may connect and create tables")
			}
			defer pst.Close()

			fmt.Fprintf(f.IO.ErrOut, "copying %s into %s…\n", src.path, dst)
			progress := func(string, int, int) {}
			if f.IO.ErrTTY {
				progress = func(table string, done, total int) {
					fmt.Fprintf(f.IO.ErrOut, "\r\033[K%s: %d/%d", table, done, total)
					if done == total {
						fmt.Fprintln(f.IO.ErrOut)
					}
				}
			}
			reps, err := pgstore.Migrate(ctx, sst, pst, progress)
			switch {
			case errors.Is(err, hubsvc.ErrKeyMismatch):
				return cmdutil.WithHint(err, "the PostgreSQL database was started with another hub.key than the SQLite hub's: drop its tables (or use a new schema) and start its instances with the SQLite hub's hub.key; nothing was written")
			case errors.Is(err, pgstore.ErrNotEmpty):
				return cmdutil.WithHint(err, "copy into an empty database, or into a new schema: set search_path=NEW_SCHEMA in the --to URL; nothing was written")
			case errors.Is(err, pgstore.ErrMismatch):
				return cmdutil.WithHint(err, "nothing was kept in the target and the SQLite hub is unchanged; report this with both databases' versions")
			case err != nil:
				return cmdutil.WithHint(err, "nothing was kept in the target; fix the cause and run it again")
			}
			views := make([]migrateView, 0, len(reps))
			rows := make([][]string, 0, len(reps))
			total, bad := 0, 0
			for _, r := range reps {
				ok := r.SourceDigest == r.TargetDigest
				if !ok {
					bad++
				}
				total += r.Rows
				views = append(views, migrateView{Table: r.Table, Rows: r.Rows, SourceDigest: r.SourceDigest, TargetDigest: r.TargetDigest, OK: ok})
				verdict := "ok"
				if !ok {
					// Migrate refuses a copy that differs; this is a
					// second look at its answer.
					verdict = "MISMATCH (target " + short(r.TargetDigest) + ")"
				}
				rows = append(rows, []string{r.Table, strconv.Itoa(r.Rows), short(r.SourceDigest), verdict})
			}
			if f.Global.JSON {
				if err := cmdutil.WriteJSON(f.IO.Out, views); err != nil || bad == 0 {
					return err
				}
			} else if err := cmdutil.Table(f.IO, []string{"TABLE", "ROWS", "DIGEST", "CHECK"}, rows, 3); err != nil {
				return err
			}
			if bad > 0 {
				return cmdutil.WithHint(fmt.Errorf("%d %s differ after the copy: %w", bad, plural(bad, "table", "tables"), pgstore.ErrMismatch),
					"report this with both databases' versions; drop the target's tables before another try")
			}
			fmt.Fprintf(f.IO.Out, "copied %d rows in %d tables from %s to %s; every count and digest matches\n", total, len(reps), src.path, dst)
			fmt.Fprintf(f.IO.ErrOut, "next: latchkey hub serve --database URL, with the same --data (the signing key hub.key is there)\n")
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&data, "data", "", "the SQLite hub's data directory (default: hub/ in latchkey's data directory)")
	fl.StringVar(&from, "from", "", "the SQLite hub's database, sqlite:PATH or a file path (default: hub.db in --data)")
	fl.StringVar(&to, "to", "", "the PostgreSQL database to copy into, postgres://USER@HOST/DB (default: $"+EnvDatabase+")")
	_ = cmd.MarkFlagDirname("data")
	return cmd
}

// short is the first 12 characters of a hex digest.
func short(digest string) string {
	if len(digest) > 12 {
		return digest[:12]
	}
	return digest
}
