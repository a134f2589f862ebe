package store

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Environment of a helper process started by TestTwoProcesses.
const (
	helperEnv   = "LATCHKEY_STORE_HELPER"
	helperDB    = "LATCHKEY_STORE_HELPER_DB"
	helperName  = "LATCHKEY_STORE_HELPER_NAME"
	helperTxs   = "LATCHKEY_STORE_HELPER_TXS"
	helperReady = "ready"
)

// TestHelperProcess is not a test: it is the body of a child process that
// TestTwoProcesses starts by running this test binary again. It says it is
// ready, waits for its stdin to close (the starting gun, fired at both
// children at once), opens the database and writes its transactions.
func TestHelperProcess(t *testing.T) {
	if os.Getenv(helperEnv) != "1" {
		return
	}
	fail := func(format string, args ...any) {
		fmt.Fprintf(os.Stderr, "helper %s: %s\n", os.Getenv(helperName), fmt.Sprintf(format, args...))
		os.Exit(1)
	}
	p, name := os.Getenv(helperDB), os.Getenv(helperName)
	n, err := strconv.Atoi(os.Getenv(helperTxs))
	if err != nil || p == "" || name == "" {
		fail("bad environment: db %q name %q txs %q", p, name, os.Getenv(helperTxs))
	}
	fmt.Println(helperReady)
	if _, err := io.Copy(io.Discard, os.Stdin); err != nil {
		fail("wait for start: %v", err)
	}

	ctx := context.Background()
	s, err := Open(ctx, p)
	if err != nil {
		fail("open: %v", err)
	}
	var v int
	if err := s.DB().QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil || v != SchemaVersion() {
		fail("user_version after Open = %d, %v; want %d", v, err, SchemaVersion())
	}
	var slowest time.Duration
	for i := range n {
		id := fmt.Sprintf("%s-%04d", name, i)
		began := time.Now()
		err := s.Tx(ctx, func(tx *sql.Tx) error {
			if err := insertRevision(ctx, tx, id, 1); err != nil {
				return err
			}
			return insertNote(ctx, tx, id)
		})
		if err != nil {
			fail("transaction %d: %v", i, err)
		}
		slowest = max(slowest, time.Since(began))
	}
	fmt.Printf("slowest transaction %v\n", slowest.Round(time.Millisecond))
	if err := s.Close(); err != nil {
		fail("close: %v", err)
	}
	os.Exit(0)
}

type child struct {
	name   string
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	mu     sync.Mutex
	output bytes.Buffer // stderr and anything after the ready line
	copied chan struct{}
}

// startChild starts a helper process and waits until it is ready.
func startChild(t *testing.T, p, name string, txs int) *child {
	t.Helper()
	c := &child{name: name, copied: make(chan struct{})}
	c.cmd = exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1")
	c.cmd.Env = append(os.Environ(),
		helperEnv+"=1",
		helperDB+"="+p,
		helperName+"="+name,
		helperTxs+"="+strconv.Itoa(txs),
	)
	var err error
	if c.stdin, err = c.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	stdout, err := c.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	c.cmd.Stderr = lockedWriter{mu: &c.mu, buf: &c.output}
	if err := c.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	t.Cleanup(func() {
		if c.cmd.ProcessState == nil {
			c.cmd.Process.Kill()
			c.cmd.Wait()
		}
	})
	r := bufio.NewReader(stdout)
	line, err := r.ReadString('\n')
	if strings.TrimSpace(line) != helperReady {
		c.stdin.Close()
		rest, _ := io.ReadAll(r)
		c.cmd.Wait()
		t.Fatalf("%s did not get ready: %q %v\n%s%s", name, line, err, rest, c.output.String())
	}
	go func() {
		io.Copy(lockedWriter{mu: &c.mu, buf: &c.output}, r)
		close(c.copied)
	}()
	return c
}

// TestTwoProcesses runs two latchkey processes against one database file at
// once: both open it at the same moment (racing to create the directory, the
// file, WAL mode and the migrations) and then write as fast as they can.
// Every transaction must wait its turn rather than fail with SQLITE_BUSY.
func TestTwoProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes")
	}
	t.Parallel()
	const txs = 300
	tests := []struct {
		name  string
		setup func(t *testing.T, p string)
	}{
		{"fresh file in a missing directory", func(*testing.T, string) {}},
		{"existing database", func(t *testing.T, p string) {
			s, err := Open(context.Background(), p)
			if err != nil {
				t.Fatal(err)
			}
			s.Close()
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "home", "latchkey", "latchkey.db")
			tt.setup(t, p)

			children := []*child{startChild(t, p, "a", txs), startChild(t, p, "b", txs)}
			start := time.Now()
			for _, c := range children {
				c.stdin.Close() // go
			}
			for _, c := range children {
				err := c.cmd.Wait()
				<-c.copied
				out := c.output.String()
				if err != nil {
					t.Errorf("child %s: %v\n%s", c.name, err, out)
				} else {
					t.Logf("child %s: %s", c.name, strings.TrimSpace(out))
				}
				for _, bad := range []string{"locked", "busy", "BUSY"} {
					if strings.Contains(out, bad) {
						t.Errorf("child %s reported %q:\n%s", c.name, bad, out)
					}
				}
			}
			t.Logf("2 processes × %d transactions in %v", txs, time.Since(start).Round(time.Millisecond))

			s, err := Open(context.Background(), p)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if got := userVersionOf(t, s.DB()); got != SchemaVersion() {
				t.Errorf("user_version = %d, want %d", got, SchemaVersion())
			}
			for _, table := range []string{"visit_revisions", "test_notes"} {
				if n := countRows(t, s.DB(), table); n != 2*txs {
					t.Errorf("%s has %d rows, want %d", table, n, 2*txs)
				}
			}
			// How often the writer changed, in commit order: more than once
			// means the two processes really did write at the same time.
			var switches int
			if err := s.DB().QueryRow(`SELECT count(*) FROM (SELECT substr(id, 1, 1) AS who,
				lag(substr(id, 1, 1)) OVER (ORDER BY rowid) AS prev FROM test_notes) WHERE who <> prev`).Scan(&switches); err != nil {
				t.Fatal(err)
			}
			t.Logf("writer changed %d times in commit order", switches)
			var distinct int
			if err := s.DB().QueryRow("SELECT count(DISTINCT substr(visit_id, 1, 1)) FROM visit_revisions").Scan(&distinct); err != nil || distinct != 2 {
				t.Errorf("rows from %d processes (%v), want 2", distinct, err)
			}
		})
	}
}

// lockedWriter lets exec's stderr copier and our stdout copier share a buffer.
type lockedWriter struct {
	mu  *sync.Mutex
	buf *bytes.Buffer
}

func (w lockedWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Write(b)
}
