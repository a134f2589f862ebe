package hub_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/hub"
	"github.com/latchkey/latchkey/internal/hubapi"
	"github.com/latchkey/latchkey/internal/record"
)

// syncBuffer is a log sink safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// serve runs Serve in the background and returns its address and result.
func serve(t *testing.T, ctx context.Context, cfg hub.ServeConfig) (string, <-chan error) {
	t.Helper()
	addrs := make(chan net.Addr, 1)
	cfg.OnListen = func(a net.Addr) { addrs <- a }
	done := make(chan error, 1)
	go func() { done <- hub.Serve(ctx, cfg) }()
	select {
	case a := <-addrs:
		return a.String(), done
	case err := <-done:
		t.Fatalf("Serve: %v", err)
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not listen")
	}
	return "", nil
}

func TestServeGracefulShutdown(t *testing.T) {
	t.Parallel()
	gate := newGate()
	h := newHub(t, withStore(func(s hub.Storage) hub.Storage { gate.Storage = s; return gate }))
	sales := h.enroll("sam", hubapi.RoleSales)
	var logs syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addr, done := serve(t, ctx, hub.ServeConfig{
		Addr: "127.0.0.1:0", Handler: h.srv, ShutdownTimeout: 5 * time.Second,
		Logger: slog.New(slog.NewJSONHandler(&logs, nil)),
	})
	base := "http://" + addr
	client := &http.Client{Timeout: 10 * time.Second}

	var wg sync.WaitGroup
	var status int
	var body []byte
	wg.Go(func() {
		status, body = doURL(t, client, base, http.MethodPost, hubapi.PathRecords, sales.token, "k1",
			sign(t, record.KindVisit, newRec("v1"), sales.id.Sign))
	})
	<-gate.entered
	cancel()
	select {
	case err := <-done:
		t.Fatalf("Serve returned %v with a request in flight", err)
	case <-time.After(100 * time.Millisecond):
	}
	close(gate.release)
	wg.Wait()
	if status != 201 {
		t.Errorf("in-flight request: %d %s, want 201", status, body)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Serve = %v, want nil after a graceful shutdown", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return after shutdown")
	}
	if _, err := client.Get(base + hubapi.PathHealth); err == nil {
		t.Error("server still answers after shutdown")
	}

	var line map[string]any
	for l := range strings.Lines(logs.String()) {
		var m map[string]any
		if json.Unmarshal([]byte(l), &m) == nil && m["msg"] == "request" {
			line = m
		}
	}
	if line == nil {
		t.Fatalf("no request line in the log:\n%s", logs.String())
	}
	if line["method"] != "POST" || line["route"] != hubapi.PathRecords || line["status"] != float64(201) || line["user"] != "sam" || line["duration"] == nil {
		t.Errorf("request log line = %v", line)
	}
	if strings.Contains(logs.String(), sales.token) || strings.Contains(logs.String(), "v1") && strings.Contains(logs.String(), "payload") {
		t.Error("the log holds a token or a body")
	}
}

func TestServeTLS(t *testing.T) {
	t.Parallel()
	h := newHub(t)
	certFile, keyFile, pool := selfSigned(t)
	ctx, cancel := context.WithCancel(context.Background())
	addr, done := serve(t, ctx, hub.ServeConfig{
		Addr: "127.0.0.1:0", TLSCert: certFile, TLSKey: keyFile, Handler: h.srv,
		Logger: slog.New(slog.DiscardHandler),
	})
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}, Timeout: 5 * time.Second}
	if status, body := doURL(t, client, "https://"+addr, http.MethodGet, hubapi.PathHealth, "", "", nil); status != 200 {
		t.Errorf("healthz over TLS: %d %s", status, body)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Serve = %v", err)
	}

	err := hub.Serve(context.Background(), hub.ServeConfig{Addr: "127.0.0.1:0", TLSCert: certFile, Handler: h.srv})
	if err == nil || !strings.Contains(err.Error(), "TLS") {
		t.Errorf("Serve with a certificate and no key = %v", err)
	}
}

// selfSigned writes a certificate for 127.0.0.1 and its key.
func selfSigned(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

func TestServeSweeps(t *testing.T) {
	t.Parallel()
	swept := make(chan struct{}, 1)
	ctx, cancel := context.WithCancel(context.Background())
	_, done := serve(t, ctx, hub.ServeConfig{
		Addr: "127.0.0.1:0", Handler: http.NotFoundHandler(), Logger: slog.New(slog.DiscardHandler),
		SweepInterval: time.Millisecond,
		Sweep: func(context.Context) (int, error) {
			select {
			case swept <- struct{}{}:
			default:
			}
			return 0, nil
		},
	})
	select {
	case <-swept:
	case <-time.After(5 * time.Second):
		t.Error("Serve never swept")
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Serve = %v", err)
	}
}

func TestServeListenError(t *testing.T) {
	t.Parallel()
	err := hub.Serve(context.Background(), hub.ServeConfig{Addr: "256.0.0.1:0", Handler: http.NotFoundHandler(), Logger: slog.New(slog.DiscardHandler)})
	if err == nil {
		t.Error("Serve on a bad address = nil")
	}
}

func TestLoadKeys(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "hub")
	a, err := hub.LoadKeys(dir)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, hub.KeyFile))
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o600 {
		t.Errorf("hub.key mode %04o, want 0600", perm)
	}
	b, err := hub.LoadKeys(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !a.Sign.Equal(b.Sign) {
		t.Error("second LoadKeys made new keys")
	}
	if _, err := hub.LoadKeys(""); !errors.Is(err, hub.ErrInvalid) {
		t.Errorf("LoadKeys(\"\") = %v, want ErrInvalid", err)
	}
}
