package hub

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/latchkey/latchkey/internal/cli/cmdutil"
	"github.com/latchkey/latchkey/internal/hub/pgstore"
)

// withSearchPath returns the PostgreSQL URL dsn with search_path set to
// schema (replacing any it had), so a store opened on it keeps its tables
// there.
func withSearchPath(dsn, schema string) (string, error) {
	u, err := url.Parse(dsn)
	if err != nil {
		return "", fmt.Errorf("%s is not a URL", pgstore.Redacted(dsn))
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// loopbackOnly refuses a PostgreSQL URL whose server is not on this
// machine: the bench writes a schema full of test records and loads the
// server as hard as it can.
func loopbackOnly(dsn string) error {
	u, err := url.Parse(dsn)
	if err != nil {
		return cmdutil.Usagef("--database: %s is not a URL", pgstore.Redacted(dsn))
	}
	var hosts []string
	for _, h := range strings.Split(u.Host, ",") {
		hosts = append(hosts, hostOf(h))
	}
	if q := u.Query().Get("host"); q != "" {
		hosts = strings.Split(q, ",")
	}
	for _, h := range hosts {
		if !localHost(h) {
			return cmdutil.WithHint(&cmdutil.UsageError{Err: fmt.Errorf("--database names host %q: the bench runs only against a PostgreSQL server on this machine", h)},
				"give a loopback address or a Unix socket, e.g. postgres://postgres@127.0.0.1:5432/latchkey (scripts/postgres starts a test server)")
		}
	}
	return nil
}

// hostOf strips the port of a URL host, brackets and all.
func hostOf(hostport string) string {
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		return h
	}
	return strings.Trim(hostport, "[]")
}

// localHost reports whether a PostgreSQL host is this machine: empty (the
// default socket), a socket directory, localhost or a loopback address.
func localHost(h string) bool {
	switch {
	case h == "", strings.HasPrefix(h, "/"), strings.EqualFold(h, "localhost"):
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
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
