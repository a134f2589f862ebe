// Package campaign runs latchkey processes for the fault campaigns
// (`latchkey hub faults`, `latchkey sim faults`): one command line at a
// time in a LATCHKEY_HOME of its own, and a back office that can be killed
// and started again on the same address.
package campaign

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// Run runs latchkey with args in home and returns its stdout; a failure
// carries its stderr.
func Run(ctx context.Context, bin, home string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = Env(home)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return out, fmt.Errorf("latchkey %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}

// Env is this process's environment without LATCHKEY_* settings, with
// LATCHKEY_HOME=home and colour off.
func Env(home string) []string {
	var e []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "LATCHKEY_") {
			e = append(e, kv)
		}
	}
	return append(e, "LATCHKEY_HOME="+home, "NO_COLOR=1")
}

// Hub is a `latchkey hub serve` process.
type Hub struct {
	Binary, Data, LogPath string
	// Addr and URL are where it listens, once started.
	Addr, URL string

	cmd    *exec.Cmd
	exited chan struct{}
}

var listening = regexp.MustCompile(`listening on (https?://(\S+))`)

// Start starts the hub on addr ("127.0.0.1:0" picks a port) and waits until
// it listens.
func (h *Hub) Start(ctx context.Context, addr string) error {
	logf, err := os.OpenFile(h.LogPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	cmd := exec.Command(h.Binary, "hub", "serve", "--addr", addr, "--data", h.Data)
	cmd.Env = Env(filepath.Join(h.Data, "home"))
	cmd.Stdout = logf
	pr, pw := io.Pipe()
	cmd.Stderr = pw
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("start hub: %w", err)
	}
	h.cmd = cmd
	h.exited = make(chan struct{})
	go func() {
		cmd.Wait()
		pw.Close()
		close(h.exited)
	}()
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		sent := false
		for sc.Scan() {
			fmt.Fprintln(logf, sc.Text())
			if m := listening.FindStringSubmatch(sc.Text()); m != nil && !sent {
				found <- m[1]
				sent = true
			}
		}
		io.Copy(io.Discard, pr)
		logf.Close()
	}()
	select {
	case u := <-found:
		h.URL = u
		h.Addr = strings.TrimPrefix(strings.TrimPrefix(u, "http://"), "https://")
		return nil
	case <-h.exited:
		return fmt.Errorf("hub exited before listening; see %s", h.LogPath)
	case <-time.After(15 * time.Second):
		h.Kill()
		return fmt.Errorf("hub did not start listening within 15s; see %s", h.LogPath)
	case <-ctx.Done():
		h.Kill()
		return ctx.Err()
	}
}

// Running reports whether the hub process is alive.
func (h *Hub) Running() bool {
	if h.cmd == nil {
		return false
	}
	select {
	case <-h.exited:
		return false
	default:
		return true
	}
}

// Kill kills the hub with SIGKILL and waits for it to be gone.
func (h *Hub) Kill() error {
	if !h.Running() {
		return nil
	}
	if err := h.cmd.Process.Signal(os.Kill); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("kill hub: %w", err)
	}
	<-h.exited
	return nil
}

// Stop interrupts the hub and waits for a graceful shutdown (killing it
// after 10 s).
func (h *Hub) Stop() {
	if !h.Running() {
		return
	}
	h.cmd.Process.Signal(os.Interrupt)
	select {
	case <-h.exited:
	case <-time.After(10 * time.Second):
		h.Kill()
	}
}
