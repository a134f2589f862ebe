package diag_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/cli"
	diagcmd "github.com/latchkey/latchkey/internal/cli/diag"
	"github.com/latchkey/latchkey/internal/device"
	"github.com/latchkey/latchkey/internal/diag"
	"github.com/latchkey/latchkey/internal/sim"
	"github.com/latchkey/latchkey/internal/testutil/clitest"
	"github.com/latchkey/latchkey/internal/testutil/simtest"
)

func machine(t *testing.T) *clitest.Machine { return clitest.New(t, "diag") }

// TestFlags checks what each command refuses before it touches a port:
// every case names a port that does not exist, so reaching the unit would
// fail with exit 1, not 2.
func TestFlags(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		tty  bool
		code int
		want string
	}{
		{"relay without tty or yes", []string{"diag", "selftest", "--relay"}, false, 2, "--yes"},
		{"named relay without tty or yes", []string{"diag", "selftest", "relay", "--relay"}, false, 2, "--yes"},
		{"yes without relay", []string{"diag", "selftest", "--yes"}, false, 2, "--relay"},
		{"two test names", []string{"diag", "selftest", "a", "b"}, false, 2, "at most one"},
		{"bundle without -o", []string{"diag", "bundle"}, false, 2, "-o FILE"},
		{"status with an argument", []string{"diag", "status", "x"}, false, 2, "takes no arguments"},
		{"events bad interval", []string{"diag", "events", "--interval", "1ms"}, false, 2, "--interval"},
		{"watch without a terminal", []string{"diag", "watch"}, false, 2, "needs a terminal"},
		{"unknown verb", []string{"diag", "stauts"}, false, 2, "did you mean status"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m := machine(t)
			args := tt.args
			if tt.args[1] != "stauts" {
				args = append(args, "--port", filepath.Join(t.TempDir(), "no-such-port"))
			}
			var r clitest.Result
			if tt.tty {
				r = m.RunTTY("", args...)
			} else {
				r = m.Run(args...)
			}
			if r.Code != tt.code || !strings.Contains(r.Stderr, tt.want) {
				t.Errorf("exit %d, stderr %q; want exit %d and %q", r.Code, r.Stderr, tt.code, tt.want)
			}
		})
	}
}

// TestNewCmdSelftest checks the options a command line produces.
func TestNewCmdSelftest(t *testing.T) {
	t.Parallel()
	m := machine(t)
	f, _, _ := m.Factory("")
	f.IO.InTTY, f.IO.OutTTY = true, true
	var got *diagcmd.SelftestOptions
	cmd := diagcmd.NewCmdSelftest(f, func(_ context.Context, o *diagcmd.SelftestOptions) error { got = o; return nil })
	cmd.SetArgs([]string{"relay", "--relay", "--port", "/dev/x", "--timeout", "2s"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if got.Name != "relay" || !got.Relay || got.Yes || got.Flags.Port != "/dev/x" || got.Flags.Timeout != 2*time.Second {
		t.Errorf("options %+v", got)
	}
}

func TestStatusNotLatchkey(t *testing.T) {
	t.Parallel()
	link := startSim(t, nil)
	m := machine(t)
	r := m.Run("diag", "status", "--port", link)
	if r.Code != 0 {
		t.Fatalf("exit %d: %s", r.Code, r.Stderr)
	}
	for _, want := range []string{"not a latchkey unit", "group 64", "Zephyr", "2048 bytes × 4", "1.0.0", "active,confirmed", "Counters", "boots="} {
		if !strings.Contains(r.Stdout, want) {
			t.Errorf("status lacks %q:\n%s", want, r.Stdout)
		}
	}
	var got diagcmd.StatusResult
	m.JSON(&got, "diag", "status", "--port", link, "--json")
	if got.Latchkey || got.Identity != nil || got.Status != nil || !strings.Contains(got.Note, diag.NotLatchkeyNote) {
		t.Errorf("json: latchkey %v identity %v status %v note %q", got.Latchkey, got.Identity, got.Status, got.Note)
	}
	if got.Port != link || got.Firmware.BufSize != 2048 || len(got.Firmware.Images) == 0 || len(got.Counters) == 0 {
		t.Errorf("json: %+v", got)
	}
}

func TestEventsNotLatchkey(t *testing.T) {
	t.Parallel()
	link := startSim(t, nil)
	r := machine(t).Run("diag", "events", "--port", link)
	if r.Code != 1 || !strings.Contains(r.Stderr, "not a latchkey unit") || !strings.Contains(r.Stderr, "diag status") {
		t.Errorf("exit %d, stderr %q", r.Code, r.Stderr)
	}
	r = machine(t).Run("diag", "selftest", "--port", link)
	if r.Code != 1 || !strings.Contains(r.Stderr, "not a latchkey unit") {
		t.Errorf("selftest: exit %d, stderr %q", r.Code, r.Stderr)
	}
}

// plantSecrets gives the unit settings that must not leave the building.
func plantSecrets(t *testing.T, u *sim.Unit) {
	t.Helper()
	err := u.Update(func(s *sim.State) error {
		s.Settings["modem/apn_password"] = []byte("hunter2-apn")
		s.Settings["lk/cloud/url"] = []byte("https://ops:s3cr3tpw@cloud.example/unit")
		s.Settings["lk/modem/band"] = []byte("-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIBa5\n-----END PRIVATE KEY-----")
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// readBundle checks the file's mode and returns its files.
func readBundle(t *testing.T, path string) map[string][]byte {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("bundle mode %v, want 0600", st.Mode().Perm())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	files, err := diag.ReadBundle(b)
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// noSecrets fails if any planted secret is anywhere in the bundle.
func noSecrets(t *testing.T, files map[string][]byte, secrets ...string) {
	t.Helper()
	for name, b := range files {
		for _, s := range secrets {
			if bytes.Contains(b, []byte(s)) {
				t.Errorf("%s contains the secret %q:\n%s", name, s, b)
			}
		}
	}
}

func TestBundleNotLatchkey(t *testing.T) {
	t.Parallel()
	u := simtest.NewUnit(t)
	plantSecrets(t, u)
	link := startSim(t, u)
	m := machine(t)
	out := filepath.Join(t.TempDir(), "unit.tar.gz")
	r := m.Run("diag", "bundle", "-o", out, "--port", link, "--setting", "lk/modem/band")
	if r.Code != 0 {
		t.Fatalf("exit %d: %s", r.Code, r.Stderr)
	}
	files := readBundle(t, out)
	var names []string
	for n := range files {
		names = append(names, n)
	}
	t.Logf("bundle holds %v", names)
	for _, want := range []string{"manifest.json", "status.json", "images.json", "stats.json", "settings.json"} {
		if files[want] == nil {
			t.Errorf("bundle lacks %s", want)
		}
	}
	if files["events.json"] != nil {
		t.Error("a device without group 64 got an events.json")
	}
	noSecrets(t, files, "hunter2", "s3cr3tpw", "MC4CAQAw")
	var settings []diag.Setting
	if err := json.Unmarshal(files["settings.json"], &settings); err != nil {
		t.Fatal(err)
	}
	got := map[string]diag.Setting{}
	for _, s := range settings {
		got[s.Name] = s
	}
	if s := got["modem/apn_password"]; s.Value != diag.Redacted || s.Why == "" {
		t.Errorf("modem/apn_password: %+v", s)
	}
	if s := got["lk/modem/band"]; s.Value != diag.Redacted {
		t.Errorf("lk/modem/band (key material under a harmless name): %+v", s)
	}
	if s := got["modem/apn"]; s.Value != "iot.example" {
		t.Errorf("modem/apn should be kept: %+v", s)
	}
	var man diag.Manifest
	if err := json.Unmarshal(files["manifest.json"], &man); err != nil {
		t.Fatal(err)
	}
	if man.Unit != diag.NotLatchkeyNote || len(man.Files) != len(files)-1 || len(man.Redactions) == 0 || man.Latchkey != "test" {
		t.Errorf("manifest %+v", man)
	}
	// The id printed is the bundle's hash.
	var res diagcmd.BundleResult
	m.JSON(&res, "diag", "bundle", "-o", out, "--port", link)
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if sum := sha256Hex(b); res.SHA256 != sum || res.ID != sum[:8] || !strings.Contains(r.Stdout, "id ") {
		t.Errorf("id %q sha %q, file sha %q; stdout %q", res.ID, res.SHA256, sum, r.Stdout)
	}
}

func TestStatusLatchkey(t *testing.T) {
	t.Parallel()
	g := newGroup64()
	g.tamper = true
	link := startSim(t, nil, g.ext)
	m := machine(t)
	r := m.Run("diag", "status", "--port", link)
	if r.Code != 0 {
		t.Fatalf("exit %d: %s", r.Code, r.Stderr)
	}
	for _, want := range []string{"LK0000004242 (LK1, hardware B)", device.LabelCode(g.key), "1.4.2", "OPEN", "12.04 V", "registered, RSSI -71 dBm, RSRP -98 dBm (fair)", "1h 2m 5s", "0 written, 1 empty", "Images", "Counters"} {
		if !strings.Contains(r.Stdout, want) {
			t.Errorf("status lacks %q:\n%s", want, r.Stdout)
		}
	}
	if strings.Contains(r.Stdout, diag.NotLatchkeyNote) {
		t.Errorf("a latchkey unit called not one:\n%s", r.Stdout)
	}
	var got diagcmd.StatusResult
	m.JSON(&got, "diag", "status", "--port", link, "--json")
	if !got.Latchkey || got.Identity == nil || got.Identity.Serial != "LK0000004242" || got.Status == nil || !got.Status.Tamper || got.Status.Clock != "2025-11-24T16:00:00Z" {
		t.Errorf("json %+v", got)
	}
}

func TestSelftestLatchkey(t *testing.T) {
	t.Parallel()
	g := newGroup64()
	link := startSim(t, nil, g.ext)
	m := machine(t)

	r := m.Run("diag", "selftest", "--port", link)
	if r.Code != 0 || !strings.Contains(r.Stdout, "tamper\tpass") || !strings.Contains(r.Stdout, "relay\tskipped") || !strings.Contains(r.Stderr, "only with --relay") {
		t.Errorf("all tests: exit %d\n%s\n%s", r.Code, r.Stdout, r.Stderr)
	}
	r = m.Run("diag", "selftest", "relay", "--port", link)
	if r.Code != 1 || !strings.Contains(r.Stderr, "--relay") {
		t.Errorf("relay by name without --relay: exit %d, %s", r.Code, r.Stderr)
	}
	r = m.Run("diag", "selftest", "nosuch", "--port", link)
	if r.Code != 1 || !strings.Contains(r.Stderr, "tamper, supply, relay") {
		t.Errorf("unknown test: exit %d, %s", r.Code, r.Stderr)
	}
	if n := g.relayPulses(); n != 0 {
		t.Fatalf("relay pulsed %d times without --relay", n)
	}
	r = m.RunTTY("n\n", "diag", "selftest", "relay", "--relay", "--port", link)
	if r.Code != 1 || !strings.Contains(r.Stderr, "door it controls will open") || g.relayPulses() != 0 {
		t.Errorf("answered no: exit %d, pulses %d, %s", r.Code, g.relayPulses(), r.Stderr)
	}
	r = m.RunTTY("y\n", "diag", "selftest", "relay", "--relay", "--port", link)
	if r.Code != 0 || g.relayPulses() != 1 || !strings.Contains(r.Stdout, "coil 182 mA") {
		t.Errorf("answered yes: exit %d, pulses %d\n%s\n%s", r.Code, g.relayPulses(), r.Stdout, r.Stderr)
	}
	var res diagcmd.SelftestResult
	m.JSON(&res, "diag", "selftest", "--relay", "--yes", "--port", link, "--json")
	if res.Passed != 3 || res.Failed != 0 || g.relayPulses() != 2 || res.Serial != "LK0000004242" {
		t.Errorf("--relay --yes: %+v, pulses %d", res, g.relayPulses())
	}
	g.mu.Lock()
	g.failing = "supply"
	g.mu.Unlock()
	r = m.Run("diag", "selftest", "supply", "--port", link)
	if r.Code != 1 || !strings.Contains(r.Stdout, "11.2 V measured") || !strings.Contains(r.Stderr, "self-tests failed") {
		t.Errorf("failing test: exit %d\n%s\n%s", r.Code, r.Stdout, r.Stderr)
	}
}

func TestEventsLatchkey(t *testing.T) {
	t.Parallel()
	u := simtest.NewUnit(t)
	for i := range 12 {
		if err := u.LogEvent("door.open", "courier "+string(rune('a'+i))); err != nil {
			t.Fatal(err)
		}
	}
	g := newGroup64()
	link := startSim(t, u, g.ext)
	m := machine(t)
	var all diag.EventPage
	m.JSON(&all, "diag", "events", "--port", link, "--json")
	if len(all.Events) < 13 || all.Next != all.Events[len(all.Events)-1].Seq+1 {
		t.Fatalf("events %+v", all)
	}
	since := all.Events[len(all.Events)-3].Seq
	r := m.Run("diag", "events", "--port", link, "--since", itoa(since))
	lines := strings.Split(strings.TrimSpace(r.Stdout), "\n")
	if r.Code != 0 || len(lines) != 4 || !strings.HasPrefix(lines[0], "SEQ\tTIME") || !strings.Contains(r.Stderr, "--since "+itoa(all.Next)) {
		t.Errorf("--since %d: exit %d\n%s\n%s", since, r.Code, r.Stdout, r.Stderr)
	}
}

func TestEventsFollow(t *testing.T) {
	t.Parallel()
	u := simtest.NewUnit(t)
	g := newGroup64()
	link := startSim(t, u, g.ext)
	m := machine(t)
	f, _, _ := m.Factory("")
	out, errOut := &simtest.Buffer{}, &simtest.Buffer{}
	f.IO.Out, f.IO.ErrOut = out, errOut
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan int, 1)
	go func() {
		done <- cli.Run(ctx, f, []string{"diag", "events", "--follow", "--json", "--interval", "100ms", "--port", link})
	}()
	waitFor(t, func() bool { return strings.Contains(errOut.String(), "following") })
	if err := u.LogEvent("tamper.open", "lid lifted"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return strings.Contains(out.String(), "lid lifted") })
	if err := u.LogEvent("tamper.close", "lid shut"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return strings.Contains(out.String(), "lid shut") })
	cancel() // Ctrl-C
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("exit %d after Ctrl-C: %s", code, errOut.String())
		}
	case <-time.After(5 * time.Second):
		t.Fatal("--follow did not stop on Ctrl-C")
	}
	// One JSON event per line, each new event once.
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	seen := map[uint64]bool{}
	for _, l := range lines {
		var e diag.Event
		if err := json.Unmarshal([]byte(l), &e); err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
		if seen[e.Seq] {
			t.Errorf("event %d printed twice", e.Seq)
		}
		seen[e.Seq] = true
	}
	if !strings.Contains(errOut.String(), "next: latchkey diag events --since") {
		t.Errorf("no cursor on stderr: %s", errOut.String())
	}
}

func TestBundleLatchkey(t *testing.T) {
	t.Parallel()
	u := simtest.NewUnit(t)
	plantSecrets(t, u)
	if err := u.LogEvent("config.door", "token=abcdef0123456789 set by installer"); err != nil {
		t.Fatal(err)
	}
	g := newGroup64()
	link := startSim(t, u, g.ext)
	m := machine(t)
	logs := filepath.Join(m.Home, "state", "logs")
	if err := os.MkdirAll(logs, 0o700); err != nil {
		t.Fatal(err)
	}
	logText := "time=2026-11-25T10:00:00Z level=INFO msg=\"pair\" port=/dev/ttyACM0\n" +
		"time=2026-11-25T10:00:01Z level=DEBUG msg=\"upload\" authorization=\"Bearer eyJhbGciOiJFZERTQSJ9.e30.c2ln\" api_key=k-29fj2k\n"
	if err := os.WriteFile(filepath.Join(logs, "latchkey.log"), []byte(logText), 0o600); err != nil {
		t.Fatal(err)
	}
	old := filepath.Join(logs, "old.log")
	if err := os.WriteFile(old, []byte("ancient\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_ = os.Chtimes(old, m.Now.Add(-30*24*time.Hour), m.Now.Add(-30*24*time.Hour))

	out := filepath.Join(t.TempDir(), "unit.tar.gz")
	r := m.Run("diag", "bundle", "-o", out, "--port", link)
	if r.Code != 0 {
		t.Fatalf("exit %d: %s", r.Code, r.Stderr)
	}
	files := readBundle(t, out)
	for _, want := range []string{"manifest.json", "status.json", "events.json", "stats.json", "settings.json", "images.json", "door.json", "logs/latchkey.log"} {
		if files[want] == nil {
			t.Errorf("bundle lacks %s", want)
		}
		if want != "manifest.json" && !strings.Contains(r.Stdout, want) {
			t.Errorf("listing lacks %s:\n%s", want, r.Stdout)
		}
	}
	if files["logs/old.log"] != nil {
		t.Error("a month-old log went into the bundle")
	}
	noSecrets(t, files, "hunter2", "s3cr3tpw", "MC4CAQAw", "abcdef0123456789", "eyJhbGciOiJFZERTQSJ9", "k-29fj2k")
	if !bytes.Contains(files["logs/latchkey.log"], []byte(`msg="pair" port=/dev/ttyACM0`)) {
		t.Errorf("harmless log text was changed:\n%s", files["logs/latchkey.log"])
	}
	if !bytes.Contains(files["status.json"], []byte("LK0000004242")) || !bytes.Contains(files["events.json"], []byte("config.door")) {
		t.Error("status or events missing from the bundle")
	}
	var man diag.Manifest
	if err := json.Unmarshal(files["manifest.json"], &man); err != nil {
		t.Fatal(err)
	}
	if man.Unit != "LK0000004242" || len(man.Problems) != 0 {
		t.Errorf("manifest %+v", man)
	}
	redacted := map[string]bool{}
	for _, rd := range man.Redactions {
		redacted[rd.File] = true
	}
	for _, f := range []string{"settings.json", "events.json", "logs/latchkey.log"} {
		if !redacted[f] {
			t.Errorf("manifest does not say %s was redacted: %+v", f, man.Redactions)
		}
	}
}

// TestAgainstLatchkeySim runs `latchkey sim` as a user would and the diag
// commands against it. Whether the sim answers group 64 depends on how far
// it is built; each command must then take the matching path.
func TestAgainstLatchkeySim(t *testing.T) {
	t.Parallel()
	link := filepath.Join(t.TempDir(), "unit")
	simMachine := machine(t)
	f, _, _ := simMachine.Factory("")
	f.IO.Out, f.IO.ErrOut = &simtest.Buffer{}, &simtest.Buffer{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() { done <- cli.Run(ctx, f, []string{"sim", "--link", link}) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Error("latchkey sim did not stop")
		}
	})
	waitFor(t, func() bool { _, err := os.Stat(link); return err == nil })

	m := machine(t)
	var st diagcmd.StatusResult
	m.JSON(&st, "diag", "status", "--port", link, "--json")
	if len(st.Firmware.Images) == 0 || st.Firmware.BufSize == 0 {
		t.Errorf("standard groups missing: %+v", st)
	}
	out := filepath.Join(t.TempDir(), "b.tar.gz")
	r := m.Run("diag", "bundle", "-o", out, "--port", link)
	if r.Code != 0 {
		t.Fatalf("bundle: exit %d: %s", r.Code, r.Stderr)
	}
	files := readBundle(t, out)
	ev := m.Run("diag", "events", "--port", link)
	sel := m.Run("diag", "selftest", "--port", link)
	if !st.Latchkey {
		t.Log("the sim does not answer group 64 yet: checked the non-latchkey path")
		if st.Identity != nil || ev.Code != 1 || sel.Code != 1 || files["events.json"] != nil {
			t.Errorf("non-latchkey sim: identity %v, events exit %d, selftest exit %d", st.Identity, ev.Code, sel.Code)
		}
		return
	}
	t.Log("the sim answers group 64: checked the latchkey path")
	if st.Identity == nil || st.Identity.Serial == "" || st.Status == nil || len(st.Status.Slots) == 0 {
		t.Errorf("latchkey sim status %+v", st)
	}
	if ev.Code != 0 || !strings.Contains(ev.Stdout, "boot") {
		t.Errorf("events: exit %d\n%s\n%s", ev.Code, ev.Stdout, ev.Stderr)
	}
	if sel.Code != 0 || !strings.Contains(sel.Stdout, "relay\tskipped") {
		t.Errorf("selftest: exit %d\n%s\n%s", sel.Code, sel.Stdout, sel.Stderr)
	}
	if files["events.json"] == nil || files["door.json"] == nil || !bytes.Contains(files["status.json"], []byte(st.Identity.Serial)) {
		t.Error("bundle of a latchkey sim lacks events, door or the serial")
	}
}
