// Package demo is `latchkey demo`: the whole install on a laptop with no
// hardware and no network. It starts a back office on loopback and a virtual
// unit on a pseudo-terminal, enrolls an installer, issues a job, trusts the
// virtual unit's test factory, and opens the install wizard against them.
package demo

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/latchkey/latchkey/internal/cli/cmdutil"
	configcmd "github.com/latchkey/latchkey/internal/cli/config"
	installcmd "github.com/latchkey/latchkey/internal/cli/install"
	jobscmd "github.com/latchkey/latchkey/internal/cli/jobs"
	logincmd "github.com/latchkey/latchkey/internal/cli/login"
	trustcmd "github.com/latchkey/latchkey/internal/cli/trust"
	"github.com/latchkey/latchkey/internal/hub"
	"github.com/latchkey/latchkey/internal/hub/sqlstore"
	"github.com/latchkey/latchkey/internal/hubapi"
	"github.com/latchkey/latchkey/internal/provision"
	"github.com/latchkey/latchkey/internal/sim"
	"github.com/latchkey/latchkey/internal/tui/wizard"
)

// The demo's cast and job.
const (
	installer = "demo-installer"
	building  = "Elm Court"
	address   = "12 Elm St, Springfield"
	incentive = "gift-card:100:USD"
	stateFile = "demo.json"
)

var doors = []string{"lobby", "garage"}

// settings the installer's laptop gets, so the consent and notice screens
// start filled in.
var settings = [][2]string{
	{"notice.operator", "Parcelway Inc. (demo)"},
	{"notice.contact-name", "Parcelway tenant line"},
	{"notice.contact-phone", "212-555-0100"},
	{"notice.contact-email", "tenants@parcelway.example"},
	{"notice.policy-url", "https://parcelway.example/privacy"},
}

// state is what a kept demo directory remembers between runs.
type state struct {
	Job      string `json:"job"`
	Seed     uint64 `json:"seed"`
	HubAddr  string `json:"hub_addr"`
	Created  string `json:"created"`
	Finished bool   `json:"finished"`
}

// Options are the demo's flags.
type Options struct {
	Keep   string
	Tour   bool
	Plain  bool
	Resume bool
	// StallBurn (hidden, for tests) makes the virtual unit go deaf at the
	// second key write for this long, so a test can kill the demo mid-burn.
	StallBurn time.Duration
	Baud      int
}

// NewCmdDemo is `latchkey demo`.
func NewCmdDemo(f *cmdutil.Factory) *cobra.Command {
	o := &Options{}
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Try a whole install against a virtual unit and a local back office",
		Long: `Walk through a whole install with nothing plugged in and no network: the
demo starts a back office on this machine (loopback only) with a temporary
data directory, enrolls an installer, issues a job for "Elm Court" with two
doors and a building incentive (so the consent discloses it), starts a
virtual unit on a pseudo-terminal and trusts its test factory, then opens
the install wizard: survey, pair, self-test, burn, consent, notice, upload.

On exit it stops the back office and the unit and says where the records
and the printed notices are. Without --keep, everything is in a temporary
directory that is removed then; with --keep DIR the data stays in DIR, and
running 'latchkey demo --keep DIR' again continues that demo where it
stopped (--resume goes straight to the unfinished install).

Nothing the demo does touches your own latchkey data, login or settings.`,
		Example: "  latchkey demo --tour\n  latchkey demo --keep ~/latchkey-demo\n  latchkey demo --keep ~/latchkey-demo --resume\n  latchkey demo --plain",
		Args:    cmdutil.NoArgs("the demo takes only flags"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return run(cmd.Context(), f, o)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&o.Keep, "keep", "", "keep the demo's data in this directory (and continue a demo kept there)")
	fl.BoolVar(&o.Tour, "tour", false, "show a short hint on each screen for a new installer")
	fl.BoolVar(&o.Plain, "plain", false, "ask line by line, without a full screen (screen readers, dumb terminals)")
	fl.BoolVar(&o.Resume, "resume", false, "continue the unfinished install of a demo kept with --keep")
	fl.IntVar(&o.Baud, "baud", 115200, "the virtual unit's line speed, as a USB serial unit's")
	fl.DurationVar(&o.StallBurn, "stall-burn", 0, "make the unit stop answering at the second key write for this long (for testing a kill mid-burn)")
	_ = fl.MarkHidden("stall-burn")
	_ = cmd.MarkFlagDirname("keep")
	return cmd
}

func run(ctx context.Context, f *cmdutil.Factory, o *Options) error {
	if !o.Plain && !f.IO.CanPrompt() {
		return cmdutil.Usagef("the demo's wizard needs a terminal: run it in one, or pass --plain to answer line by line")
	}
	dir, cleanup, err := demoDir(o.Keep)
	if err != nil {
		return err
	}
	defer cleanup()
	if o.Resume && o.Keep == "" {
		return cmdutil.Usagef("--resume continues a demo kept with --keep DIR: give the same --keep")
	}
	st, fresh, err := loadState(dir, f)
	if err != nil {
		return err
	}
	if o.Resume && fresh {
		return cmdutil.Usagef("there is no demo in %s to resume: run 'latchkey demo --keep %s' to start one", dir, o.Keep)
	}
	say := func(format string, args ...any) {
		if !f.Global.JSON {
			fmt.Fprintf(f.IO.ErrOut, format+"\n", args...)
		}
	}
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	if fresh {
		// Until the demo's state is saved, a failure leaves nothing
		// behind: a half-made demo in --keep's directory could not be
		// continued, nor would the directory take a new one.
		saved := false
		defer func() {
			if !saved {
				emptyDir(dir)
			}
		}()
		defer func() { saved = saved || fileExists(filepath.Join(dir, stateFile)) }()
	}

	// The back office, on loopback.
	office, err := startHub(ctx, filepath.Join(dir, "hub"), st.HubAddr)
	if err != nil {
		return err
	}
	defer office.stop()
	st.HubAddr = office.addr

	// The installer's laptop: its own LATCHKEY_HOME inside the demo.
	laptop := filepath.Join(dir, "laptop")
	lf := laptopFactory(f, laptop)
	defer lf.Close()

	if fresh {
		say("latchkey demo: setting up in %s", dir)
		if err := setUp(ctx, f, lf, office, dir, &st); err != nil {
			return err
		}
	} else {
		say("latchkey demo: continuing the demo in %s", dir)
		// The back office may listen on another port than last time.
		if err := repoint(lf, office.url); err != nil {
			return err
		}
	}
	if err := saveState(dir, st); err != nil {
		return err
	}

	// The virtual unit, on a pseudo-terminal.
	unit, err := startUnit(ctx, dir, st.Seed, o)
	if err != nil {
		return err
	}
	defer unit.stop()
	say("back office on %s; virtual unit %s on %s (label code %s)", office.url, unit.serial, unit.link, unit.label)

	wo := installcmd.WizardOptions{Job: st.Job, Resume: o.Resume, Plain: o.Plain, Tour: o.Tour, Demo: true, BoxLabel: unit.label}
	wo.Unit.Port = unit.link
	wo.Unit.Wait = true
	res, werr := installcmd.RunWizard(ctx, lf, wo)
	if res.Finished {
		st.Finished = true
		_ = saveState(dir, st)
	}
	stop()
	unit.stop()
	office.stop()
	report(f, dir, o.Keep != "", office, res)
	if errors.Is(werr, wizard.ErrQuit) {
		if o.Keep != "" {
			say("continue it with: latchkey demo --keep %s --resume", o.Keep)
		}
		return nil
	}
	return werr
}

// emptyDir removes everything in dir, keeping dir.
func emptyDir(dir string) {
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		_ = os.RemoveAll(filepath.Join(dir, e.Name()))
	}
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// demoDir is --keep DIR (made if missing) or a new temporary directory that
// cleanup removes.
func demoDir(keep string) (string, func(), error) {
	if keep != "" {
		abs, err := filepath.Abs(keep)
		if err != nil {
			return "", nil, err
		}
		if err := os.MkdirAll(abs, 0o700); err != nil {
			return "", nil, cmdutil.WithHint(fmt.Errorf("make the demo directory: %w", err), "give --keep a directory you may write")
		}
		return abs, func() {}, nil
	}
	dir, err := os.MkdirTemp("", "latchkey-demo-")
	if err != nil {
		return "", nil, err
	}
	return dir, func() { _ = os.RemoveAll(dir) }, nil
}

// loadState reads a kept demo's state, or starts a new one.
func loadState(dir string, f *cmdutil.Factory) (state, bool, error) {
	b, err := os.ReadFile(filepath.Join(dir, stateFile))
	if errors.Is(err, os.ErrNotExist) {
		entries, _ := os.ReadDir(dir)
		if len(entries) > 0 {
			return state{}, false, cmdutil.WithHint(fmt.Errorf("%s is not empty and holds no demo", dir), "give --keep a new or empty directory")
		}
		var seed [8]byte
		if _, err := io.ReadFull(f.Rand, seed[:]); err != nil {
			return state{}, false, err
		}
		return state{Seed: binary.LittleEndian.Uint64(seed[:]) | 1, Created: f.Now().UTC().Format(time.RFC3339)}, true, nil
	}
	if err != nil {
		return state{}, false, err
	}
	var st state
	if err := json.Unmarshal(b, &st); err != nil || st.Job == "" {
		return state{}, false, cmdutil.WithHint(fmt.Errorf("%s: not a demo state file", filepath.Join(dir, stateFile)), "start a new demo in another directory")
	}
	return st, false, nil
}

func saveState(dir string, st state) error {
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, stateFile), append(b, '\n'), 0o600)
}

// laptopFactory is f with LATCHKEY_HOME pointed at the demo's laptop and
// its keys and token in files there, so the demo never touches the user's
// own data, login, settings or keyring.
func laptopFactory(f *cmdutil.Factory, home string) *cmdutil.Factory {
	getenv := func(k string) string {
		switch {
		case k == "LATCHKEY_HOME":
			return home
		case strings.HasPrefix(k, "LATCHKEY_"), strings.HasPrefix(k, "XDG_"):
			return ""
		}
		return f.Getenv(k)
	}
	return &cmdutil.Factory{IO: f.IO, Build: f.Build, Now: f.Now, Rand: f.Rand, Getenv: getenv, GOOS: f.GOOS, Global: f.Global, Log: f.Log,
		FileKeys: true}
}

// office is the demo's back office.
type office struct {
	addr, url, data string
	store           *sqlstore.Store
	admin           *hub.Admin
	srv             *http.Server
	done            chan struct{}
}

// startHub serves the hub API on loopback, on addr when it is free (a
// continued demo keeps its port), else on any free port.
func startHub(ctx context.Context, data, addr string) (*office, error) {
	key, err := hub.LoadKeys(data)
	if err != nil {
		return nil, err
	}
	st, err := sqlstore.Open(ctx, filepath.Join(data, "hub.db"))
	if err != nil {
		return nil, err
	}
	admin, err := hub.NewAdmin(hub.AdminConfig{Store: st, Key: key})
	if err != nil {
		st.Close()
		return nil, err
	}
	srv, err := hub.NewServer(hub.ServerConfig{Store: st, Signer: key.Sign})
	if err != nil {
		st.Close()
		return nil, err
	}
	var ln net.Listener
	if addr != "" {
		ln, _ = net.Listen("tcp", addr)
	}
	if ln == nil {
		if ln, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
			st.Close()
			return nil, fmt.Errorf("start the demo back office: %w", err)
		}
	}
	o := &office{addr: ln.Addr().String(), url: "http://" + ln.Addr().String(), data: data, store: st, admin: admin,
		srv: &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second}, done: make(chan struct{})}
	go func() {
		defer close(o.done)
		_ = o.srv.Serve(ln)
	}()
	return o, nil
}

func (o *office) stop() {
	if o.srv == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = o.srv.Shutdown(ctx)
	<-o.done
	_ = o.store.Close()
	o.srv = nil
}

// setUp enrolls the installer, logs the laptop in, issues the job, pulls
// it and gives the laptop its settings and the test factory to trust.
func setUp(ctx context.Context, f, lf *cmdutil.Factory, o *office, dir string, st *state) error {
	code, _, err := o.admin.Enroll(ctx, installer, hubapi.RoleInstaller, time.Hour)
	if err != nil {
		return fmt.Errorf("enroll the demo installer: %w", err)
	}
	if err := quiet(ctx, lf, logincmd.NewCmdLogin(lf), "--hub", o.url, "--code", code); err != nil {
		return fmt.Errorf("log the demo laptop in: %w", err)
	}
	job, err := o.admin.CreateJob(ctx, hub.JobSpec{Building: building, Address: address, Doors: doors, Incentive: incentive, Installer: installer})
	if err != nil {
		return fmt.Errorf("issue the demo job: %w", err)
	}
	st.Job = job.ID
	if err := quiet(ctx, lf, jobscmd.NewCmdJobs(lf), "pull"); err != nil {
		return fmt.Errorf("pull the demo job: %w", err)
	}
	for _, kv := range settings {
		if err := quiet(ctx, lf, configcmd.NewCmdConfig(lf), "set", kv[0], kv[1]); err != nil {
			return fmt.Errorf("set %s: %w", kv[0], err)
		}
	}
	// The factory's root is made on its first use; trusting it is what an
	// installer does once for a training unit (--allow-test-root).
	factory := sim.DirFactory{Dir: filepath.Join(dir, "factory"), Now: f.Now}
	if _, err := factory.RootDER(); err != nil {
		return err
	}
	if err := quiet(ctx, lf, trustcmd.NewCmdTrust(lf), "add", "--allow-test-root", factory.RootPath()); err != nil {
		return fmt.Errorf("trust the demo factory: %w", err)
	}
	return nil
}

// quiet runs one of the laptop's commands in-process, keeping its output
// unless it fails.
func quiet(ctx context.Context, lf *cmdutil.Factory, cmd *cobra.Command, args ...string) error {
	var out bytes.Buffer
	saved := lf.IO
	lf.IO = &cmdutil.IO{In: strings.NewReader(""), Out: &out, ErrOut: &out}
	defer func() { lf.IO = saved }()
	cmd.SetArgs(args)
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	if err := cmd.ExecuteContext(ctx); err != nil {
		return fmt.Errorf("%w (%s)", err, strings.TrimSpace(out.String()))
	}
	return nil
}

// repoint keeps a continued demo's login when its back office came back on
// another port.
func repoint(lf *cmdutil.Factory, url string) error {
	ss, err := lf.SessionStore()
	if err != nil {
		return err
	}
	sess, err := ss.Load()
	if err != nil {
		return fmt.Errorf("the kept demo's login: %w", err)
	}
	if sess.URL == url {
		return nil
	}
	sess.URL = url
	_, err = ss.Save(sess)
	return err
}

// unit is the demo's virtual unit.
type unit struct {
	link, serial, label string
	cancel              context.CancelFunc
	done                chan error
}

func startUnit(ctx context.Context, dir string, seed uint64, o *Options) (*unit, error) {
	state := filepath.Join(dir, "unit")
	u, err := sim.Open(sim.Config{Dir: state, Seed: seed})
	if err != nil {
		return nil, err
	}
	lk := sim.NewLatchkey(sim.LatchkeyConfig{Seed: seed, Unseal: provision.OpenKey,
		Chain: sim.DirFactory{Dir: filepath.Join(dir, "factory"), Now: time.Now}})
	ident, err := lk.Init(u)
	if err != nil {
		return nil, err
	}
	var faults sim.Faults
	if o.StallBurn > 0 {
		faults.Stall, err = sim.ParseTrigger("64:6#2")
		if err != nil {
			return nil, err
		}
		faults.StallFor = o.StallBurn
	}
	ctx, cancel := context.WithCancel(ctx)
	un := &unit{link: filepath.Join(state, "tty"), serial: ident.Serial, label: ident.Label, cancel: cancel, done: make(chan error, 1)}
	up := make(chan struct{}, 1)
	go func() {
		un.done <- sim.Serve(ctx, sim.Options{Unit: u, Link: un.link, Baud: o.Baud, Faults: faults, Seed: seed,
			Extensions: []sim.Extension{lk.Extension()},
			OnLink: func(sim.LinkInfo) {
				select {
				case up <- struct{}{}:
				default:
				}
			}})
	}()
	select {
	case <-up:
		return un, nil
	case err := <-un.done:
		cancel()
		return nil, fmt.Errorf("start the virtual unit: %w", err)
	case <-time.After(10 * time.Second):
		cancel()
		return nil, errors.New("the virtual unit did not come up in 10s")
	}
}

func (u *unit) stop() {
	if u.cancel == nil {
		return
	}
	u.cancel()
	<-u.done
	u.cancel = nil
}

// report says what the demo made and where it is.
func report(f *cmdutil.Factory, dir string, kept bool, o *office, res wizard.Result) {
	ctx := context.Background()
	st, err := sqlstore.Open(ctx, filepath.Join(o.data, "hub.db"))
	records := -1
	if err == nil {
		records, _ = st.CountRecords(ctx, hub.RecordFilter{})
		st.Close()
	}
	notices, _ := filepath.Glob(filepath.Join(dir, "laptop", "data", "notices", "*"))
	if f.Global.JSON {
		_ = cmdutil.WriteJSON(f.IO.Out, map[string]any{"dir": dir, "kept": kept, "job": res.Job, "finished": res.Finished,
			"hub_records": records, "notices": notices, "upload": res.Upload})
		return
	}
	w := f.IO.ErrOut
	fmt.Fprintln(w, "\nlatchkey demo: the back office and the virtual unit are stopped.")
	if res.Finished {
		fmt.Fprintf(w, "  install report %s\n", res.Report)
	}
	fmt.Fprintf(w, "  back office records: %d, in %s\n", records, filepath.Join(o.data, "hub.db"))
	fmt.Fprintf(w, "  installer's laptop:  %s (its outbox, journal and photos)\n", filepath.Join(dir, "laptop"))
	for _, n := range notices {
		fmt.Fprintf(w, "  printed notice:      %s\n", n)
	}
	if kept {
		fmt.Fprintf(w, "  see them with: LATCHKEY_HOME=%s latchkey install status --job %s\n", filepath.Join(dir, "laptop"), shortID(res.Job))
	} else {
		fmt.Fprintln(w, "  (removed now: run 'latchkey demo --keep DIR' to keep them)")
	}
}

func shortID(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}
