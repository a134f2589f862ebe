package fw

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/cli/cmdutil"
	"github.com/latchkey/latchkey/internal/cli/unitopt"
	"github.com/latchkey/latchkey/internal/sim"
	"github.com/latchkey/latchkey/internal/testutil/simtest"
)

// The behaviour tests and the benchmark run the virtual unit on a real
// pseudo-terminal (sim.Serve) and the commands' run functions against it,
// through unitopt and a real serial port: never a mock of the port.

// simUnit is a virtual unit served for a test; flags reach it.
type simUnit struct{ *simtest.Sim }

// startSim serves a fresh virtual unit until the test ends and waits for its
// port to come up. A zero o.ResetDelay is 100ms here.
func startSim(tb testing.TB, o sim.Options) *simUnit {
	tb.Helper()
	if o.ResetDelay == 0 {
		o.ResetDelay = 100 * time.Millisecond
	}
	return &simUnit{simtest.Start(tb, o, simtest.Config{UpWithin: 10 * time.Second, StopWithin: 5 * time.Second})}
}

// testIO returns non-terminal streams; errOut may be written while the test
// reads it only after the run returns.
func testIO() (*cmdutil.IO, *bytes.Buffer, *bytes.Buffer) {
	ios, _, out, errOut := cmdutil.Test()
	return ios, out, errOut
}

// linkFlags are the unit flags a test passes: the sim's link and short
// timeouts, so a failure shows quickly.
func (s *simUnit) flags(wait bool) unitopt.Flags {
	return unitopt.Flags{Port: s.Link, Timeout: 3 * time.Second, Wait: wait, WaitFor: 15 * time.Second}
}

func openFor(ios *cmdutil.IO, fl *unitopt.Flags) opener {
	f := &cmdutil.Factory{IO: ios}
	return openWith(f, fl)
}

// writeImage builds an MCUboot image of exactly size bytes with version v
// and writes it to a file in a temporary directory.
func writeImage(tb testing.TB, v sim.Version, size int) (string, []byte) {
	tb.Helper()
	const overhead = sim.ImageHeaderSize + 4 + 4 + 32 // header, TLV info, SHA-256 TLV
	payload := make([]byte, size-overhead)
	for i := range payload {
		payload[i] = byte(i*7 + i>>8)
	}
	img := sim.BuildImage(v, payload)
	if len(img) != size {
		tb.Fatalf("image of %d bytes, want %d", len(img), size)
	}
	path := filepath.Join(tb.TempDir(), "app.signed.bin")
	if err := os.WriteFile(path, img, 0o600); err != nil {
		tb.Fatal(err)
	}
	return path, img
}

func uploadOpts(ios *cmdutil.IO, s *simUnit, file string, wait bool) *UploadOptions {
	o := &UploadOptions{IO: ios, JSON: func() bool { return true }, Now: time.Now, ReadFile: readImageFile, File: file, Unit: s.flags(wait)}
	o.Open = openFor(ios, &o.Unit)
	return o
}

func decodeJSON[T any](tb testing.TB, b []byte) T {
	tb.Helper()
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		tb.Fatalf("output is not JSON: %v\n%s", err, b)
	}
	return v
}
