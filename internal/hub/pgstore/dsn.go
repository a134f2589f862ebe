package pgstore

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
)

// ErrServiceFile: the DSN (or PGSERVICE) takes its settings from a
// PostgreSQL service file, which Hosts refuses: what it names can change
// between the check and the connection.
var ErrServiceFile = errors.New("connection service files are not accepted here")

// connKeys are the settings pgconn (pgx v5) reads itself rather than
// passing to the server as run-time parameters, less service and
// servicefile, with the spellings ssl (URL form) and dbname.
var connKeys = []string{
	"host", "port", "database", "dbname", "user", "password", "passfile", "connect_timeout",
	"sslmode", "ssl", "sslkey", "sslcert", "sslcertmode", "sslrootcert", "sslnegotiation", "sslpassword", "sslsni",
	"krbspn", "krbsrvname", "target_session_attrs", "min_protocol_version", "max_protocol_version",
	"channel_binding", "require_auth",
}

// Hosts returns the hosts a connection to dsn goes to, as pgx itself reads
// the DSN (pgconn.ParseConfig: the host and every fallback host, in the
// order pgx tries them, each once): the DSN's, or PGHOST's when it names
// none, or pgx's default (a Unix socket directory, else localhost). A Unix
// socket is its directory, an absolute path. A DSN or environment that
// names a service file (service=, servicefile=, PGSERVICE,
// PGSERVICEFILE) is refused with ErrServiceFile.
//
// It is for checks such as "the server is on this machine", which must see
// what the connection will use: net/url reads a DSN differently from pgx
// (a '#', a repeated ?host=, an empty host), so its answer is not one.
func Hosts(dsn string) ([]string, error) {
	for _, env := range []string{"PGSERVICE", "PGSERVICEFILE"} {
		if os.Getenv(env) != "" {
			return nil, fmt.Errorf("%w: %s is set", ErrServiceFile, env)
		}
	}
	cfg, err := pgconn.ParseConfig(dsn)
	if err != nil {
		if strings.Contains(err.Error(), "failed to read service") {
			return nil, fmt.Errorf("%w: %s names one", ErrServiceFile, Redacted(dsn))
		}
		return nil, fmt.Errorf("read %s: %w", Redacted(dsn), err)
	}
	// pgconn gives every setting it does not read itself to the server as
	// a run-time parameter; service and servicefile it reads. So a parse
	// allowing exactly the DSN's run-time parameters and the settings pgx
	// reads, less those two, fails when the DSN has either, in whatever
	// spelling or position pgx found it.
	allowed := append(slices.Collect(maps.Keys(cfg.RuntimeParams)), connKeys...)
	if _, err := pgconn.ParseConfigWithOptions(dsn, pgconn.ParseConfigOptions{ConnStringAllowedKeys: allowed}); err != nil {
		if strings.Contains(err.Error(), `"service`) {
			return nil, fmt.Errorf("%w: %s names one", ErrServiceFile, Redacted(dsn))
		}
		return nil, fmt.Errorf("read %s: %w", Redacted(dsn), err)
	}
	var hosts []string
	add := func(h string) {
		if !slices.Contains(hosts, h) {
			hosts = append(hosts, h)
		}
	}
	add(cfg.Host)
	for _, fb := range cfg.Fallbacks {
		add(fb.Host)
	}
	return hosts, nil
}

// WithSearchPath returns the postgres:// URL dsn with search_path set to
// schema, replacing any search_path it had, so a store opened on it keeps
// its tables there. The rest of the URL is kept byte for byte: re-encoding
// it (net/url's Query().Encode()) would turn %20 into '+', which pgx, as
// libpq, does not read as a space (options=-c%20work_mem%3D64MB).
func WithSearchPath(dsn, schema string) (string, error) {
	scheme := ""
	for _, p := range []string{"postgres://", "postgresql://"} {
		if strings.HasPrefix(dsn, p) {
			scheme = p
		}
	}
	if scheme == "" {
		return "", fmt.Errorf("%s is not a postgres:// URL", Redacted(dsn))
	}
	// As pgx reads a URL: user information up to an '@' that comes before
	// any '/', then hosts, path and query from the first '?' after it.
	rest := dsn[len(scheme):]
	head := scheme
	if i := strings.IndexAny(rest, "@/"); i >= 0 && rest[i] == '@' {
		head += rest[:i+1]
		rest = rest[i+1:]
	}
	base, query, _ := strings.Cut(rest, "?")
	var keep []string
	for pair := range strings.SplitSeq(query, "&") {
		if pair == "" {
			continue
		}
		k, _, _ := strings.Cut(pair, "=")
		if key, err := uriDecode(k); err == nil && key == "search_path" {
			continue
		}
		keep = append(keep, pair)
	}
	keep = append(keep, "search_path="+uriEncode(schema))
	out := head + base + "?" + strings.Join(keep, "&")
	if _, err := pgconn.ParseConfig(out); err != nil {
		return "", fmt.Errorf("set search_path in %s: %w", Redacted(dsn), err)
	}
	return out, nil
}

// uriDecode decodes %XX escapes and trims ASCII spaces, as pgx (and libpq)
// decode a URL's query keys.
func uriDecode(s string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			b.WriteByte(s[i])
			continue
		}
		if i+2 >= len(s) || unhex(s[i+1]) < 0 || unhex(s[i+2]) < 0 {
			return "", errors.New("bad % escape")
		}
		b.WriteByte(byte(unhex(s[i+1])<<4 | unhex(s[i+2])))
		i += 2
	}
	return strings.Trim(b.String(), " "), nil
}

func unhex(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'a' <= c && c <= 'f':
		return int(c-'a') + 10
	case 'A' <= c && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// uriEncode escapes every byte but letters, digits and -._~ as %XX.
func uriEncode(s string) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '.', c == '_', c == '~':
			b.WriteByte(c)
		default:
			b.WriteByte('%')
			b.WriteByte(hexDigits[c>>4])
			b.WriteByte(hexDigits[c&15])
		}
	}
	return b.String()
}
