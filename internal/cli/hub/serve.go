package hub

import (
	"crypto/sha256"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/spf13/cobra"

	"github.com/latchkey/latchkey/internal/cli/cmdutil"
	hubsvc "github.com/latchkey/latchkey/internal/hub"
)

func newCmdServe(f *cmdutil.Factory) *cobra.Command {
	var w where
	var addr, cert, key string
	var shutdown time.Duration
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the back office's HTTP API",
		Long: `Run the back office's HTTP API (docs/api.md) until interrupted (Ctrl-C or
SIGTERM), then stop taking connections and let requests in flight finish.

It listens on loopback unless told otherwise. Anywhere else, give it a
certificate: with --tls-cert and --tls-key it speaks HTTPS, and latchkey
clients refuse plain HTTP to a host that is not loopback unless told
--insecure. Each request is logged as one JSON line on stderr (never a token
or a record); /healthz, /readyz and /metrics (Prometheus) are for monitoring.

With --database postgres://… several instances can serve one database
behind a load balancer: each keeps its own connection pool, and a request
retried on another instance (same Idempotency-Key) gets the first answer,
never a second copy. Start them with the same hub.key (the same --data, or a
copy of the file): they sign job packets and denylists with it, and clients
check every packet against the key they pinned at login. The database
remembers the key the first instance (or admin command) opened it with: one
started with another hub.key refuses to start, and one whose --data has no
hub.key does not make a new one. On PostgreSQL the listening line shows the
start of the key's SHA-256 ('hub key' prints it whole).

The first line on stderr says where it listens:
  latchkey hub: listening on http://127.0.0.1:8470`,
		Example: `  latchkey hub serve
  latchkey hub serve --addr 127.0.0.1:0 --data ./hub-data
  latchkey hub serve --addr :8443 --tls-cert hub.crt --tls-key hub.key
  latchkey hub serve --addr 10.0.0.11:8470 --tls-cert hub.crt --tls-key tls.key \
      --data /etc/latchkey-hub --database postgres://hub@db.internal/latchkey`,
		Args: cmdutil.NoArgs("configure it with flags"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if (cert == "") != (key == "") {
				return cmdutil.Usagef("--tls-cert and --tls-key go together")
			}
			if _, _, err := net.SplitHostPort(addr); err != nil {
				return cmdutil.Usagef("--addr %q: want HOST:PORT, e.g. 127.0.0.1:8470", addr)
			}
			b, err := w.open(cmd.Context(), f)
			if err != nil {
				return err
			}
			defer b.Close()
			log := slog.New(slog.NewJSONHandler(f.IO.ErrOut, nil))
			srv, err := hubsvc.NewServer(hubsvc.ServerConfig{Store: b.store, Signer: b.key.Sign, Now: f.Now, Rand: f.Rand, Logger: log})
			if err != nil {
				return err
			}
			scheme := "http"
			if cert != "" {
				scheme = "https"
			}
			err = hubsvc.Serve(cmd.Context(), hubsvc.ServeConfig{
				Addr: addr, TLSCert: cert, TLSKey: key, Handler: srv, Logger: log,
				ShutdownTimeout: shutdown, Sweep: srv.Sweep,
				OnListen: func(a net.Addr) {
					if b.db.postgres() {
						// Instances behind one balancer must print the same key.
						sum := sha256.Sum256(b.key.Public().Sign)
						fmt.Fprintf(f.IO.ErrOut, "latchkey hub: listening on %s://%s (database %s, key %x in %s)\n", scheme, a, b.db, sum[:6], b.dir)
						return
					}
					fmt.Fprintf(f.IO.ErrOut, "latchkey hub: listening on %s://%s (data in %s)\n", scheme, a, b.dir)
				},
			})
			if err != nil {
				return cmdutil.WithHint(err, "pick another --addr if the port is taken")
			}
			return nil
		},
	}
	w.flags(cmd)
	fl := cmd.Flags()
	fl.StringVar(&addr, "addr", "127.0.0.1:8470", "address to listen on, HOST:PORT (port 0 picks a free one)")
	fl.StringVar(&cert, "tls-cert", "", "certificate file (PEM): serve HTTPS")
	fl.StringVar(&key, "tls-key", "", "private key file (PEM) of --tls-cert")
	fl.DurationVar(&shutdown, "shutdown-timeout", 0, "how long requests in flight may take to finish on shutdown (default 10s)")
	return cmd
}
