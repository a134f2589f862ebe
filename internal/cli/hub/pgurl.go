package hub

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/latchkey/latchkey/internal/cli/cmdutil"
	"github.com/latchkey/latchkey/internal/hub/pgstore"
)

// withSearchPath returns the PostgreSQL URL dsn with search_path set to
// schema (replacing any it had), so a store opened on it keeps its tables
// there; the rest of the URL is kept as written (pgstore.WithSearchPath).
func withSearchPath(dsn, schema string) (string, error) {
	return pgstore.WithSearchPath(dsn, schema)
}

// lookupHost resolves a host name; tests replace it.
var lookupHost = net.DefaultResolver.LookupHost

// loopbackOnly refuses a PostgreSQL DSN whose server is not on this
// machine: the bench writes a schema full of test records and loads the
// server as hard as it can. It checks the hosts pgx itself will connect to
// (pgstore.Hosts: the DSN's as pgx reads it, PGHOST, the fallbacks; no
// service files): each must be a Unix socket directory or a name or
// address that resolves only to loopback addresses.
func loopbackOnly(ctx context.Context, dsn string) error {
	refuse := func(err error) error {
		return cmdutil.WithHint(&cmdutil.UsageError{Err: err},
			"give a loopback address or a Unix socket, e.g. postgres://postgres@127.0.0.1:5432/latchkey (scripts/postgres starts a test server)")
	}
	hosts, err := pgstore.Hosts(dsn)
	if errors.Is(err, pgstore.ErrServiceFile) {
		return refuse(fmt.Errorf("--database: %w: the bench runs only against a PostgreSQL server on this machine, named in the URL", err))
	}
	if err != nil {
		return cmdutil.Usagef("--database: %v", err)
	}
	for _, h := range hosts {
		if err := localHost(ctx, h); err != nil {
			return refuse(fmt.Errorf("--database connects to %q, %v: the bench runs only against a PostgreSQL server on this machine", h, err))
		}
	}
	return nil
}

// localHost says why a PostgreSQL host is not this machine (nil when it
// is): a socket directory, or a name or address all of whose addresses are
// loopback ones.
func localHost(ctx context.Context, h string) error {
	if strings.HasPrefix(h, "/") {
		return nil
	}
	addrs := []string{h}
	if net.ParseIP(h) == nil {
		ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		var err error
		if addrs, err = lookupHost(ctx, h); err != nil {
			return fmt.Errorf("which does not resolve here (%v)", err)
		}
	}
	if len(addrs) == 0 {
		return errors.New("which resolves to no address")
	}
	for _, a := range addrs {
		if ip := net.ParseIP(a); ip == nil || !ip.IsLoopback() {
			if a == h {
				return errors.New("which is not a loopback address")
			}
			return fmt.Errorf("which resolves to %s, not a loopback address", a)
		}
	}
	return nil
}

// dropSchema drops the schema of dsn's search_path with everything in it.
// pgstore keeps pgx to itself, so the store does it, when it can.
func dropSchema(ctx context.Context, dsn string) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	st, err := pgstore.Open(ctx, dsn)
	if err != nil {
		return err
	}
	defer st.Close()
	d, ok := any(st).(interface{ DropSchema(context.Context) error })
	if !ok {
		return errors.New("this build's PostgreSQL store cannot drop schemas")
	}
	return d.DropSchema(ctx)
}
