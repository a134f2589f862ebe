package hub

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"
)

// Serve defaults.
const (
	DefaultShutdownTimeout = 10 * time.Second
	DefaultSweepInterval   = time.Hour
)

// ServeConfig says how to run a hub's HTTP server.
type ServeConfig struct {
	// Addr is the host:port to listen on ("127.0.0.1:0" picks a port);
	// ignored when Listener is set.
	Addr string
	// Listener, when set, is used instead of listening on Addr.
	Listener net.Listener
	// TLSCert and TLSKey are PEM files; with both set Serve speaks HTTPS.
	TLSCert, TLSKey string
	Handler         http.Handler // normally a *Server
	// Logger gets one JSON line per request (method, route, status,
	// duration, user) and the server's own events; nil logs JSON to stderr.
	Logger *slog.Logger
	// ShutdownTimeout bounds how long in-flight requests may take to
	// finish once ctx is cancelled (0: DefaultShutdownTimeout).
	ShutdownTimeout time.Duration
	// OnListen, when set, is called with the bound address before the
	// first request is served.
	OnListen func(addr net.Addr)
	// Sweep, when set, runs every SweepInterval (0: DefaultSweepInterval),
	// normally Server.Sweep.
	Sweep         func(ctx context.Context) (int, error)
	SweepInterval time.Duration
}

// Serve runs the HTTP(S) server until ctx is cancelled, then stops taking
// connections and lets requests in flight finish (up to ShutdownTimeout).
// It returns nil after a clean shutdown.
func Serve(ctx context.Context, cfg ServeConfig) error {
	if cfg.Handler == nil {
		return errors.New("serve: no handler")
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.NewJSONHandler(os.Stderr, nil))
	}
	if cfg.ShutdownTimeout <= 0 {
		cfg.ShutdownTimeout = DefaultShutdownTimeout
	}
	if cfg.SweepInterval <= 0 {
		cfg.SweepInterval = DefaultSweepInterval
	}
	var tlsConfig *tls.Config
	switch {
	case cfg.TLSCert != "" && cfg.TLSKey != "":
		cert, err := tls.LoadX509KeyPair(cfg.TLSCert, cfg.TLSKey)
		if err != nil {
			return fmt.Errorf("serve: load TLS certificate: %w", err)
		}
		tlsConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	case cfg.TLSCert != "" || cfg.TLSKey != "":
		return errors.New("serve: give both a TLS certificate and its key, or neither")
	}
	ln := cfg.Listener
	if ln == nil {
		var err error
		var lc net.ListenConfig
		if ln, err = lc.Listen(ctx, "tcp", cfg.Addr); err != nil {
			return fmt.Errorf("serve: %w", err)
		}
	}
	if tlsConfig != nil {
		ln = tls.NewListener(ln, tlsConfig)
	}
	srv := &http.Server{
		Handler:           logRequests(log, cfg.Handler),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       2 * time.Minute,
		WriteTimeout:      2 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		// Requests must outlive ctx: a cancelled ctx starts a graceful
		// shutdown, which lets them finish rather than fail.
		BaseContext: func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	scheme := "http"
	if tlsConfig != nil {
		scheme = "https"
	}
	log.LogAttrs(ctx, slog.LevelInfo, "hub listening", slog.String("addr", ln.Addr().String()), slog.String("scheme", scheme))
	if cfg.OnListen != nil {
		cfg.OnListen(ln.Addr())
	}

	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	sweepDone := make(chan struct{})
	sweepCtx, stopSweep := context.WithCancel(ctx)
	defer stopSweep()
	go func() {
		defer close(sweepDone)
		if cfg.Sweep != nil {
			sweep(sweepCtx, log, cfg.Sweep, cfg.SweepInterval)
		}
	}()

	select {
	case err := <-served:
		stopSweep()
		<-sweepDone
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.LogAttrs(context.Background(), slog.LevelInfo, "hub shutting down", slog.Duration("timeout", cfg.ShutdownTimeout))
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	err := srv.Shutdown(sctx)
	<-served
	<-sweepDone
	if err != nil {
		srv.Close()
		return fmt.Errorf("serve: shut down: %w", err)
	}
	return nil
}

// sweep calls f at once and then every interval until ctx is done, so a
// hub restarted often still forgets old keys.
func sweep(ctx context.Context, log *slog.Logger, f func(context.Context) (int, error), interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for first := true; ; first = false {
		if !first {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
		n, err := f(ctx)
		if err != nil {
			log.LogAttrs(ctx, slog.LevelWarn, "sweep failed", slog.String("error", err.Error()))
			continue
		}
		if n > 0 {
			log.LogAttrs(ctx, slog.LevelInfo, "swept idempotency keys", slog.Int("count", n))
		}
	}
}

// logRequests logs one line per request: method, route, status, duration
// and user, never the token, query or body.
func logRequests(log *slog.Logger, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		info := &requestInfo{}
		r = r.WithContext(context.WithValue(r.Context(), infoKey{}, info))
		sw := &statusWriter{ResponseWriter: w}
		h.ServeHTTP(sw, r)
		route := info.route
		if route == "" {
			route = "other"
		}
		log.LogAttrs(r.Context(), slog.LevelInfo, "request",
			slog.String("method", r.Method),
			slog.String("route", route),
			slog.Int("status", sw.code()),
			slog.Duration("duration", time.Since(start)),
			slog.String("user", info.user),
		)
	})
}
