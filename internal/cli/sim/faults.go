package sim

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/latchkey/latchkey/internal/cli/campaign"
	"github.com/latchkey/latchkey/internal/cli/cmdutil"
	"github.com/latchkey/latchkey/internal/hub"
	"github.com/latchkey/latchkey/internal/identity"
	"github.com/latchkey/latchkey/internal/install"
	"github.com/latchkey/latchkey/internal/packet"
	"github.com/latchkey/latchkey/internal/sim"
	"github.com/latchkey/latchkey/internal/store"
)

// BurnCampaign burns jobs into virtual units with faults: the cable pulled
// right after the unit wrote a slot (so its answer is lost), the unit
// rebooting instead of answering, line noise and lost bytes, and `latchkey
// burn` itself killed with SIGKILL at random moments. Each burn is resumed
// until it finishes. Then every unit is read: each door's slot must hold
// exactly the job's key, written once.
type BurnCampaign struct {
	Binary string
	Dir    string
	Rounds int
	Seed   uint64
	Log    io.Writer
}

// BurnCampaignResult is what a burn campaign found. PartialBurns,
// WrongKeys and DuplicateWrites must be 0.
type BurnCampaignResult struct {
	Seed            uint64 `json:"seed"`
	Burns           int    `json:"burns"`
	Slots           int    `json:"slots"`
	Faults          int    `json:"faults_injected"`
	Kills           int    `json:"kills"`
	Attempts        int    `json:"burn_attempts"`
	PartialBurns    int    `json:"partial_burns"`
	WrongKeys       int    `json:"wrong_keys"`
	DuplicateWrites int    `json:"duplicate_writes"`
	Seconds         string `json:"seconds"`
}

// ErrBurnCampaignFailed means a burn was left partial, wrote a wrong key or
// wrote a slot twice.
var ErrBurnCampaignFailed = errors.New("burn campaign found a partial burn, a wrong key or a duplicate write")

const installer = "campaign-installer"

// Run runs the campaign.
func (c *BurnCampaign) Run(ctx context.Context) (BurnCampaignResult, error) {
	start := time.Now()
	res := BurnCampaignResult{Seed: c.Seed}
	rng := mrand.New(mrand.NewPCG(c.Seed, c.Seed^0x5bd1e995))
	hubData := filepath.Join(c.Dir, "hub")
	home := filepath.Join(c.Dir, "laptop")
	factory := filepath.Join(c.Dir, "factory")
	for _, d := range []string{hubData, home} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return res, err
		}
	}
	h := &campaign.Hub{Binary: c.Binary, Data: hubData, LogPath: filepath.Join(c.Dir, "hub.log")}
	if err := h.Start(ctx, "127.0.0.1:0"); err != nil {
		return res, err
	}
	defer h.Stop()
	run := func(args ...string) ([]byte, error) { return campaign.Run(ctx, c.Binary, home, args...) }
	code, err := run("hub", "enroll", "--data", hubData, "--name", installer, "--role", "installer")
	if err != nil {
		return res, err
	}
	if _, err := run("login", "--hub", h.URL, "--code", strings.TrimSpace(string(code))); err != nil {
		return res, err
	}
	if _, err := (sim.DirFactory{Dir: factory}).RootDER(); err != nil {
		return res, err
	}
	if _, err := run("trust", "add", "--allow-test-root", filepath.Join(factory, "root.pem")); err != nil {
		return res, err
	}
	hubKey, err := hub.LoadKeys(hubData)
	if err != nil {
		return res, err
	}

	for round := 1; round <= c.Rounds; round++ {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		if err := c.round(ctx, rng, round, home, hubData, factory, hubKey.Public().Sign, &res); err != nil {
			return res, fmt.Errorf("round %d: %w", round, err)
		}
	}
	res.Seconds = fmt.Sprintf("%.1f", time.Since(start).Seconds())
	if res.PartialBurns > 0 || res.WrongKeys > 0 || res.DuplicateWrites > 0 {
		return res, fmt.Errorf("%w: %d partial, %d wrong keys, %d duplicate writes", ErrBurnCampaignFailed, res.PartialBurns, res.WrongKeys, res.DuplicateWrites)
	}
	return res, nil
}

var labelLine = regexp.MustCompile(`label code: (\S+)`)

// round makes a job, a new unit with this round's faults, pairs and burns
// until done, and checks what the unit holds.
func (c *BurnCampaign) round(ctx context.Context, rng *mrand.Rand, round int, home, hubData, factory string, hubKey ed25519.PublicKey, res *BurnCampaignResult) error {
	run := func(args ...string) ([]byte, error) { return campaign.Run(ctx, c.Binary, home, args...) }
	began := time.Now()
	lap := func(what string) {
		if os.Getenv("LATCHKEY_CAMPAIGN_TRACE") != "" {
			fmt.Fprintf(c.Log, "  %6.2fs %s\n", time.Since(began).Seconds(), what)
		}
	}
	doors := make([]string, 1+rng.IntN(4))
	for i := range doors {
		doors[i] = fmt.Sprintf("door-%d", i+1)
	}
	out, err := run("hub", "job", "create", "--data", hubData, "--building", fmt.Sprintf("Block %d", round),
		"--address", fmt.Sprintf("%d Fault St", round), "--doors", strings.Join(doors, ","), "--installer", installer)
	if err != nil {
		return err
	}
	job := strings.TrimSpace(string(out))
	if _, err := run("jobs", "pull"); err != nil {
		return err
	}
	tmpl, err := run("survey", "template", "--job", job)
	if err != nil {
		return err
	}
	surveyFile := filepath.Join(c.Dir, fmt.Sprintf("survey-%03d.yaml", round))
	if err := os.WriteFile(surveyFile, tmpl, 0o600); err != nil {
		return err
	}
	if _, err := run("survey", "new", "--job", job, "--from", surveyFile); err != nil {
		return err
	}

	// The unit, with this round's faults on the line and in the unit.
	state := filepath.Join(c.Dir, fmt.Sprintf("unit-%03d", round))
	args := []string{"sim", "--state", state, "--factory", factory, "--seed", fmt.Sprint(c.Seed*1000 + uint64(round)),
		"--pull-for", "200ms", "--reset-delay", "200ms"}
	var faults []string
	burnOp := func() string { return fmt.Sprintf("64:6#%d", 1+rng.IntN(len(doors))) }
	switch rng.IntN(5) {
	case 0:
		args = append(args, "--pull-at", burnOp())
		faults = append(faults, "cable pulled after a write")
	case 1:
		args = append(args, "--reboot-at", burnOp())
		faults = append(faults, "reboot instead of a write's answer")
	case 2:
		args = append(args, "--noise", "0.0002")
		faults = append(faults, "line noise")
	case 3:
		args = append(args, "--drop", "0.0001")
		faults = append(faults, "lost bytes")
	}
	res.Faults += len(faults)
	u := exec.CommandContext(ctx, c.Binary, args...)
	u.Env = campaign.Env(filepath.Join(c.Dir, "unit-home"))
	stderr, err := u.StderrPipe()
	if err != nil {
		return err
	}
	if err := u.Start(); err != nil {
		return fmt.Errorf("start the unit: %w", err)
	}
	stopped := false
	defer func() {
		if !stopped {
			u.Process.Signal(os.Kill)
			u.Wait()
		}
	}()
	label, err := readLabel(stderr)
	if err != nil {
		return err
	}
	go io.Copy(io.Discard, stderr)
	lap("unit up")
	port := filepath.Join(state, "tty")
	unitArgs := []string{"--port", port, "--wait", "--wait-for", "10s", "--timeout", "500ms"}

	// Pair; a noisy line may take more than one go.
	var pairErr error
	for try := 0; try < 5; try++ {
		if _, pairErr = run(append([]string{"pair", "--job", job, "--confirm-label", label}, unitArgs...)...); pairErr == nil {
			break
		}
		lap("pair failed: " + pairErr.Error())
	}
	if pairErr != nil {
		return pairErr
	}
	lap("paired")
	var testErr error
	for try := 0; try < 5; try++ {
		if _, testErr = run(append([]string{"install", "selftest", "--job", job}, unitArgs...)...); testErr == nil {
			break
		}
	}
	if testErr != nil {
		return testErr
	}

	// Burn, killing it at random moments, until it says it is done.
	done := false
	for attempt := 0; attempt < 40 && !done; attempt++ {
		res.Attempts++
		cmd := exec.CommandContext(ctx, c.Binary, append([]string{"burn", "--job", job}, unitArgs...)...)
		cmd.Env = campaign.Env(home)
		var burnErr bytes.Buffer
		cmd.Stderr = &burnErr
		if err := cmd.Start(); err != nil {
			return err
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		var kill <-chan time.Time
		if rng.IntN(2) == 0 {
			kill = time.After(time.Duration(rng.IntN(150)) * time.Millisecond)
		}
		select {
		case err := <-exited:
			done = err == nil
			lap(fmt.Sprintf("burn exited: %v %s", err, strings.TrimSpace(burnErr.String())))
		case <-kill:
			cmd.Process.Signal(os.Kill)
			<-exited
			res.Kills++
			res.Faults++
			faults = append(faults, "burn killed")
		}
	}
	if !done {
		return fmt.Errorf("burn of job %s did not finish in 40 attempts", job)
	}
	res.Burns++
	res.Slots += len(doors)

	// Stop the unit and read it.
	u.Process.Signal(os.Interrupt)
	u.Wait()
	stopped = true
	lap("unit stopped")
	keys, err := c.expectedKeys(ctx, home, job, hubKey)
	if err != nil {
		return err
	}
	defer keys.Wipe()
	in, err := sim.Inspect(state, sim.InspectOptions{RevealSecrets: true})
	if err != nil {
		return err
	}
	partial, wrong := false, 0
	for i, k := range keys {
		if i >= len(in.Slots) || in.Slots[i].State != "written" {
			partial = true
			continue
		}
		if in.Slots[i].Key != hex.EncodeToString(k.Key) || in.Slots[i].Job != job {
			wrong++
		}
	}
	written := 0
	for _, s := range in.Slots {
		if s.State == "written" {
			written++
		}
	}
	if partial {
		res.PartialBurns++
	}
	res.WrongKeys += wrong
	// The unit's counter counts its writes (a reboot does not move it):
	// one per door, never more.
	if in.Counter > uint64(len(doors)) || written > len(doors) {
		res.DuplicateWrites += int(in.Counter) - len(doors)
	}
	if len(faults) == 0 {
		faults = append(faults, "no fault")
	}
	fmt.Fprintf(c.Log, "round %d: %d doors, %s; unit holds %d keys, counter %d\n", round, len(doors), strings.Join(faults, ", "), written, in.Counter)
	return nil
}

func readLabel(r io.Reader) (string, error) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		if m := labelLine.FindStringSubmatch(sc.Text()); m != nil {
			return m[1], nil
		}
	}
	return "", errors.New("the unit did not print its label code")
}

// expectedKeys opens the job's packet as the installer: the keys the unit
// must hold.
func (c *BurnCampaign) expectedKeys(ctx context.Context, home, job string, hubKey ed25519.PublicKey) (packet.Keys, error) {
	st, err := store.Open(ctx, filepath.Join(home, "data", "latchkey.db"))
	if err != nil {
		return nil, err
	}
	defer st.Close()
	raw, err := install.NewJobs(st, time.Now).Packet(ctx, job)
	if err != nil {
		return nil, err
	}
	id, _, _, err := identity.LoadOrCreate(&identity.File{Path: filepath.Join(home, "data", identity.FileName)}, rand.Reader)
	if err != nil {
		return nil, err
	}
	_, keys, err := packet.Open(raw, hubKey, id, time.Now())
	return keys, err
}

func newCmdFaults(f *cmdutil.Factory) *cobra.Command {
	var count int
	var seed uint64
	var dir string
	var keep bool
	cmd := &cobra.Command{
		Use:   "faults",
		Short: "Burn keys into virtual units through faults and check every slot",
		Long: `Run a key-burning fault campaign with real processes: a back office on
loopback, an installer's laptop that trusts a test factory, and a new virtual
unit each round. Each round creates a job of 1 to 4 doors, pairs the unit and
burns it while faults strike: the cable pulled right after the unit wrote a
slot (its answer lost), the unit rebooting instead of answering, line noise,
lost bytes, and 'latchkey burn' killed with SIGKILL at random moments. Every
burn is resumed until it finishes; then the unit is read and each door's slot
must hold exactly the job's key, written once.

It prints burns, faults injected, partial burns, wrong keys and duplicate
writes; the last three must be 0 (exit status 1 otherwise). The seed is
printed first; --seed repeats the same choices.`,
		Example: "  latchkey sim faults --count 200\n  latchkey sim faults --count 20 --seed 7 --json",
		Args:    cmdutil.NoArgs("set the rounds with --count"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if count < 1 {
				return cmdutil.Usagef("--count must be at least 1")
			}
			if !cmd.Flags().Changed("seed") {
				var b [8]byte
				if _, err := io.ReadFull(rand.Reader, b[:]); err != nil {
					return err
				}
				seed = binary.LittleEndian.Uint64(b[:]) >> 12
			}
			bin, err := os.Executable()
			if err != nil {
				return fmt.Errorf("find the latchkey binary: %w", err)
			}
			if dir == "" {
				if dir, err = os.MkdirTemp("", "latchkey-burn-faults-"); err != nil {
					return err
				}
				if !keep {
					defer os.RemoveAll(dir)
				}
			}
			fmt.Fprintf(f.IO.ErrOut, "burn fault campaign: seed %d, %d rounds, in %s\n", seed, count, dir)
			c := &BurnCampaign{Binary: bin, Dir: dir, Rounds: count, Seed: seed, Log: f.IO.ErrOut}
			res, err := c.Run(cmd.Context())
			if f.Global.JSON {
				if jerr := cmdutil.WriteJSON(f.IO.Out, res); jerr != nil {
					return jerr
				}
			} else {
				var b bytes.Buffer
				fmt.Fprintf(&b, "seed %d: burns %d (%d slots), faults injected %d (%d kills), burn attempts %d\n",
					res.Seed, res.Burns, res.Slots, res.Faults, res.Kills, res.Attempts)
				fmt.Fprintf(&b, "partial burns %d, wrong keys %d, duplicate writes %d (%ss)\n", res.PartialBurns, res.WrongKeys, res.DuplicateWrites, res.Seconds)
				f.IO.Out.Write(b.Bytes())
			}
			if err != nil {
				return cmdutil.WithHint(err, fmt.Sprintf("rerun with --seed %d --dir DIR --keep to look at the units, the hub log and the laptop", seed))
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.IntVar(&count, "count", 20, "rounds (burns) to run")
	fl.Uint64Var(&seed, "seed", 0, "seed for the random choices (default: a new one, printed)")
	fl.StringVar(&dir, "dir", "", "working directory (default: a temporary one, removed after)")
	fl.BoolVar(&keep, "keep", false, "keep the temporary working directory")
	return cmd
}
