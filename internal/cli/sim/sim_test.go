package sim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/cli/cmdutil"
	"github.com/latchkey/latchkey/internal/serialport"
	"github.com/latchkey/latchkey/internal/sim"
	"github.com/latchkey/latchkey/internal/smp"
	"github.com/latchkey/latchkey/internal/testutil/simtest"
)

func testFactory(t *testing.T) (*cmdutil.Factory, *bytes.Buffer, *bytes.Buffer) {
	t.Helper()
	home := t.TempDir()
	ios, _, out, errOut := cmdutil.Test()
	return &cmdutil.Factory{
		IO:     ios,
		Now:    time.Now,
		Getenv: func(k string) string { return map[string]string{"LATCHKEY_HOME": home}[k] },
		GOOS:   runtime.GOOS,
		Log:    slog.New(slog.DiscardHandler),
	}, out, errOut
}

func TestNewCmdSim(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args    string
		wantErr string
		check   func(*testing.T, *Options)
	}{
		{args: "", check: func(t *testing.T, o *Options) {
			if o.BufSize != 2048 || o.BufCount != 4 || o.Baud != 0 || o.Seed != 1 {
				t.Errorf("defaults %+v", o)
			}
		}},
		{args: "--link /tmp/u --state /tmp/s --baud 115200 --buf-size 384 --buf-count 2 --seed 9", check: func(t *testing.T, o *Options) {
			if o.Link != "/tmp/u" || o.State != "/tmp/s" || o.Baud != 115200 || o.BufSize != 384 || o.BufCount != 2 || o.Seed != 9 {
				t.Errorf("options %+v", o)
			}
		}},
		{args: "--noise 0.01 --drop 0.02 --chatter 0.5 --chatter-every 1s --stall upload#2 --stall-for 5s --reboot-at 30 --pull-at 64:1 --pull-after-bytes 4096 --pull-for 1s", check: func(t *testing.T, o *Options) {
			f := o.Faults
			if f.Noise != 0.01 || f.Drop != 0.02 || f.Chatter != 0.5 || f.ChatterEvery != time.Second ||
				f.Stall != (sim.Trigger{Op: "upload", Nth: 2}) || f.StallFor != 5*time.Second ||
				f.Reboot != (sim.Trigger{After: 30}) || f.Pull != (sim.Trigger{Op: "64:1", Nth: 1}) ||
				f.PullAfterBytes != 4096 || f.PullFor != time.Second {
				t.Errorf("faults %+v", f)
			}
		}},
		{args: "--factory /tmp/f --counterfeit cloned", check: func(t *testing.T, o *Options) {
			if o.Factory != "/tmp/f" || o.Counterfeit != sim.CounterfeitCloned {
				t.Errorf("options %+v", o)
			}
		}},
		{args: "--counterfeit forged", wantErr: "--counterfeit: unknown counterfeit mode"},
		{args: "--noise 2", wantErr: "--noise must be a probability"},
		{args: "--stall fly", wantErr: "--stall: trigger"},
		{args: "--buf-size 10", wantErr: "--buf-size"},
		{args: "extra", wantErr: "takes flags only"},
	}
	for _, tt := range tests {
		t.Run(tt.args, func(t *testing.T) {
			t.Parallel()
			f, _, _ := testFactory(t)
			var got *Options
			cmd := newCmdSim(f, func(_ context.Context, o *Options) error { got = o; return nil })
			cmd.SetArgs(strings.Fields(tt.args))
			cmd.SetOut(&bytes.Buffer{})
			cmd.SetErr(&bytes.Buffer{})
			err := cmd.Execute()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, got)
		})
	}
}

// TestSimRun starts the command, reads {"link","pty"} from its JSON
// output, talks to the unit through the link, checks the discovery file,
// and stops it as SIGINT would.
func TestSimRun(t *testing.T) {
	t.Parallel()
	f, _, _ := testFactory(t)
	state := t.TempDir()
	out := &simtest.Buffer{}
	ios := *f.IO
	ios.Out, ios.ErrOut = out, &simtest.Buffer{}
	opts := &Options{
		IO: &ios, JSON: func() bool { return true }, Dirs: f.Dirs, Log: func() *slog.Logger { return f.Log },
		Now: time.Now, Getpid: func() int { return 4242 },
		State: state, Seed: 5, ResetDelay: 50 * time.Millisecond,
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- simRun(ctx, opts) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("simRun: %v", err)
		}
		d, _ := f.Dirs()
		if _, err := os.Stat(filepath.Join(d.Cache, "sims", "4242.json")); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("discovery file left behind: %v", err)
		}
	}()
	var run sim.Running
	deadline := time.Now().Add(3 * time.Second)
	for {
		if err := json.Unmarshal(out.Bytes(), &run); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no JSON on stdout: %q", out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if run.Link != filepath.Join(state, "tty") || !strings.HasPrefix(run.PTY, "/dev/") || run.PID != 4242 {
		t.Fatalf("start output %+v", run)
	}
	d, _ := f.Dirs()
	b, err := os.ReadFile(filepath.Join(d.Cache, "sims", "4242.json"))
	if err != nil || !bytes.Contains(b, []byte(run.Link)) {
		t.Fatalf("discovery file: %s, %v", b, err)
	}
	p, err := serialport.Open(run.Link, serialport.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	c := smp.NewClient(p, smp.ClientOptions{Timeout: 2 * time.Second})
	defer c.Close()
	if r, err := c.Echo(context.Background(), "cli"); err != nil || r != "cli" {
		t.Fatalf("echo through the command's link: %q, %v", r, err)
	}
}

// TestSimRunFactory starts the command with --factory and --counterfeit
// and checks what it prints on stderr: the root to trust and the label.
func TestSimRunFactory(t *testing.T) {
	t.Parallel()
	f, _, _ := testFactory(t)
	factory := filepath.Join(t.TempDir(), "factory")
	out, errOut := &simtest.Buffer{}, &simtest.Buffer{}
	ios := *f.IO
	ios.Out, ios.ErrOut = out, errOut
	opts := &Options{
		IO: &ios, JSON: func() bool { return true }, Dirs: f.Dirs, Log: func() *slog.Logger { return f.Log },
		Now: time.Now, Getpid: func() int { return 4343 },
		Seed: 5, ResetDelay: 50 * time.Millisecond, Factory: factory, Counterfeit: sim.CounterfeitExpired,
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- simRun(ctx, opts) }()
	deadline := time.Now().Add(3 * time.Second)
	for !strings.Contains(errOut.String(), "virtual unit ") {
		if time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(factory, "root.pem")
	if _, err := os.Stat(root); err != nil {
		t.Fatalf("factory root not made: %v", err)
	}
	u, err := sim.Open(sim.Config{Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	info, err := sim.NewLatchkey(sim.LatchkeyConfig{Seed: 5}).Init(u)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"test factory root: " + root + " (trust it with: latchkey trust add --allow-test-root " + root + ")\n",
		"label code: " + info.Label + " (serial " + info.Serial + ")\n",
		"counterfeit unit: expired\n",
	} {
		if !strings.Contains(errOut.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut.String())
		}
	}
}

func TestNewCmdInspect(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args    string
		want    InspectOptions
		wantErr string
	}{
		{args: "--state /tmp/s", want: InspectOptions{State: "/tmp/s"}},
		{args: "--state /tmp/s --reveal-secrets", want: InspectOptions{State: "/tmp/s", RevealSecrets: true}},
		{args: "", wantErr: "--state is required"},
		{args: "--state /tmp/s extra", wantErr: "takes flags only"},
	}
	for _, tt := range tests {
		t.Run(tt.args, func(t *testing.T) {
			t.Parallel()
			f, _, _ := testFactory(t)
			var got *InspectOptions
			cmd := newCmdInspect(f, func(_ context.Context, o *InspectOptions) error { got = o; return nil })
			cmd.SetArgs(strings.Fields(tt.args))
			cmd.SetOut(&bytes.Buffer{})
			cmd.SetErr(&bytes.Buffer{})
			err := cmd.Execute()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.State != tt.want.State || got.RevealSecrets != tt.want.RevealSecrets {
				t.Errorf("options %+v, want %+v", got, tt.want)
			}
		})
	}
}

// TestInspectRun runs `latchkey sim inspect` on the state directory of a
// unit that is not running: text, JSON, the key only with --reveal-secrets,
// and a clear refusal of a missing directory.
func TestInspectRun(t *testing.T) {
	t.Parallel()
	state := t.TempDir()
	u, err := sim.Open(sim.Config{Dir: state, Seed: 6})
	if err != nil {
		t.Fatal(err)
	}
	info, err := sim.NewLatchkey(sim.LatchkeyConfig{Seed: 6}).Init(u)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		args    []string
		json    bool
		want    []string
		notWant []string
		wantErr string
	}{
		{name: "text", args: []string{"--state", state}, want: []string{"serial:      " + info.Serial, "label:       " + info.Label, "cert 0:", "SLOT\tSTATE", "0\tempty"}, notWant: []string{"KEY"}},
		{name: "json", args: []string{"--state", state}, json: true, want: []string{`"serial": "` + info.Serial + `"`, `"label": "` + info.Label + `"`, `"state": "empty"`}, notWant: []string{`"key"`, "secrets_revealed"}},
		{name: "reveal", args: []string{"--state", state, "--reveal-secrets"}, want: []string{"SLOT\tSTATE\tJOB\tCOUNTER\tKCV\tKEY"}},
		{name: "missing", args: []string{"--state", filepath.Join(state, "nope")}, wantErr: "does not exist"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f, out, _ := testFactory(t)
			f.Global.JSON = tt.json
			cmd := newCmdInspect(f, nil)
			cmd.SetArgs(tt.args)
			cmd.SetOut(&bytes.Buffer{})
			cmd.SetErr(&bytes.Buffer{})
			err := cmd.Execute()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tt.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(out.String(), w) {
					t.Errorf("output has %q:\n%s", w, out)
				}
			}
		})
	}
}
