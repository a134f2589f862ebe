package fw

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/latchkey/latchkey/internal/cli/cmdutil"
)

func parseFactory() *cmdutil.Factory {
	ios, _, _, _ := cmdutil.Test()
	return &cmdutil.Factory{IO: ios, Now: time.Now, Log: slog.New(slog.DiscardHandler)}
}

func execute(cmd *cobra.Command, args string) error {
	cmd.SetArgs(strings.Fields(args))
	cmd.SetOut(&bytes.Buffer{})
	cmd.SetErr(&bytes.Buffer{})
	return cmd.Execute()
}

// errWanted checks err against want: an error containing it if want is
// not "", else none. It reports whether an error was wanted, which ends the
// case.
func errWanted(t *testing.T, err error, want string) bool {
	t.Helper()
	if want != "" {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("error %v, want %q", err, want)
		}
		return true
	}
	if err != nil {
		t.Fatal(err)
	}
	return false
}

func TestNewCmdUpload(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args    string
		wantErr string
		check   func(*testing.T, *UploadOptions)
	}{
		{args: "app.bin", check: func(t *testing.T, o *UploadOptions) {
			if o.File != "app.bin" || o.Test || o.Confirm || o.Resume || o.Unit.Wait || o.Unit.WaitFor != 2*time.Minute || o.Unit.Port != "" {
				t.Errorf("defaults %+v", o)
			}
		}},
		{args: "app.bin --test --resume --wait --wait-for 30s --port /dev/ttyACM0 --timeout 2s", check: func(t *testing.T, o *UploadOptions) {
			if !o.Test || o.Confirm || !o.Resume || !o.Unit.Wait || o.Unit.WaitFor != 30*time.Second || o.Unit.Port != "/dev/ttyACM0" || o.Unit.Timeout != 2*time.Second {
				t.Errorf("options %+v", o)
			}
		}},
		{args: "app.bin --confirm -p /tmp/unit", check: func(t *testing.T, o *UploadOptions) {
			if !o.Confirm || o.Test || o.Unit.Port != "/tmp/unit" {
				t.Errorf("options %+v", o)
			}
		}},
		{args: "", wantErr: "takes one image file"},
		{args: "a.bin b.bin", wantErr: "takes one image file"},
		{args: "app.bin --test --confirm", wantErr: "cannot be used together"},
		{args: "app.bin --wait-for 0s", wantErr: "--wait-for must be more than 0"},
	}
	for _, tt := range tests {
		t.Run(tt.args, func(t *testing.T) {
			t.Parallel()
			var got *UploadOptions
			cmd := NewCmdUpload(parseFactory(), func(_ context.Context, o *UploadOptions) error { got = o; return nil })
			if errWanted(t, execute(cmd, tt.args), tt.wantErr) {
				return
			}
			tt.check(t, got)
		})
	}
}

func TestNewCmdTestAndConfirm(t *testing.T) {
	t.Parallel()
	tests := []struct {
		confirm bool
		args    string
		wantErr string
		hash    string
		slot    int
	}{
		{args: "--slot 1", slot: 1},
		{args: "3F9C2A1B7D0E", hash: "3f9c2a1b7d0e", slot: -1},
		{args: "", wantErr: "name the image"},
		{args: "3f9c --slot 1", wantErr: "not both"},
		{args: "3f9c", wantErr: "not an image hash"},
		{args: "zzzzzzzzzz", wantErr: "not an image hash"},
		{args: "--slot -2", wantErr: "--slot must be 0 or more"},
		{args: "aaaaaaaa bbbbbbbb", wantErr: "at most one image hash"},
		{confirm: true, args: "", slot: -1},
		{confirm: true, args: "--slot 0", slot: 0},
		{confirm: true, args: "abcdef0123", hash: "abcdef0123", slot: -1},
	}
	for _, tt := range tests {
		name := "test " + tt.args
		if tt.confirm {
			name = "confirm " + tt.args
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var got *StateOptions
			runF := func(_ context.Context, o *StateOptions) error { got = o; return nil }
			cmd := NewCmdTest(parseFactory(), runF)
			if tt.confirm {
				cmd = NewCmdConfirm(parseFactory(), runF)
			}
			if errWanted(t, execute(cmd, tt.args), tt.wantErr) {
				return
			}
			if got.Hash != tt.hash || got.Slot != tt.slot {
				t.Errorf("hash %q slot %d, want %q %d", got.Hash, got.Slot, tt.hash, tt.slot)
			}
		})
	}
}

func TestNewCmdListAndReset(t *testing.T) {
	t.Parallel()
	var lo *ListOptions
	if err := execute(NewCmdList(parseFactory(), func(_ context.Context, o *ListOptions) error { lo = o; return nil }), "--port /tmp/u --wait"); err != nil {
		t.Fatal(err)
	}
	if lo.Unit.Port != "/tmp/u" || !lo.Unit.Wait {
		t.Errorf("list options %+v", lo)
	}
	if err := execute(NewCmdList(parseFactory(), func(context.Context, *ListOptions) error { return nil }), "extra"); err == nil || !strings.Contains(err.Error(), "takes no arguments") {
		t.Errorf("list with an argument: %v", err)
	}
	var ro *ResetOptions
	if err := execute(NewCmdReset(parseFactory(), func(_ context.Context, o *ResetOptions) error { ro = o; return nil }), "--force"); err != nil {
		t.Fatal(err)
	}
	if !ro.Force {
		t.Errorf("reset options %+v", ro)
	}
}
