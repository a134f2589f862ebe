package consent_test

// The consent step through the command line as an installer runs it,
// against the virtual unit on a pty and the back office on loopback, with
// real crypto throughout: a job surveyed, paired and burned; the manager
// signs; the unit countersigns; the record verifies, exports, fails on one
// changed byte, and is revoked (with the unit wiped).

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/cli"
	consentcmd "github.com/latchkey/latchkey/internal/cli/consent"
	"github.com/latchkey/latchkey/internal/device"
	"github.com/latchkey/latchkey/internal/provision"
	"github.com/latchkey/latchkey/internal/sim"
	"github.com/latchkey/latchkey/internal/testutil/clitest"
	"github.com/latchkey/latchkey/internal/testutil/hubtest"
	"github.com/latchkey/latchkey/internal/testutil/simtest"
)

// run runs one command line on m as cli.Run does, with the consent group in
// the tree whether or not the root registers it yet. tty makes the streams
// a terminal, answering with stdin.
func run(m *clitest.Machine, stdin string, tty bool, args ...string) clitest.Result {
	f, out, errOut := m.Factory(stdin)
	if tty {
		f.IO.InTTY, f.IO.OutTTY, f.IO.ErrTTY, f.IO.Width = true, true, true, 100
	}
	root := cli.NewCmdRoot(f)
	has := false
	for _, c := range root.Commands() {
		has = has || c.Name() == "consent"
	}
	if !has {
		root.AddCommand(consentcmd.NewCmdConsent(f))
	}
	root.SetArgs(args)
	root.SetIn(f.IO.In)
	root.SetOut(f.IO.Out)
	root.SetErr(f.IO.ErrOut)
	_, err := root.ExecuteContextC(context.Background())
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	code := cli.ExitOK
	if err != nil {
		code = cli.PrintError(f.IO.ErrOut, err)
	}
	return clitest.Result{Code: code, Stdout: out.String(), Stderr: errOut.String()}
}

// bench is an office, an installer's laptop that trusts a test factory, and
// a way to start units from that factory.
type bench struct {
	t       *testing.T
	office  *hubtest.Office
	sam     *clitest.Machine
	factory string
	seed    uint64
}

func newBench(t *testing.T) *bench {
	t.Helper()
	b := &bench{t: t, office: hubtest.Start(t), factory: filepath.Join(t.TempDir(), "factory"), seed: 300}
	b.sam = b.office.Join("sam", "installer")
	if _, err := (sim.DirFactory{Dir: b.factory}).RootDER(); err != nil {
		t.Fatal(err)
	}
	b.sam.MustRun("trust", "add", "--allow-test-root", filepath.Join(b.factory, "root.pem"))
	return b
}

// run runs a consent (or any) command on sam's laptop without a terminal.
func (b *bench) run(args ...string) clitest.Result {
	b.t.Helper()
	return run(b.sam, "", false, args...)
}

func (b *bench) mustRun(args ...string) clitest.Result {
	b.t.Helper()
	r := b.run(args...)
	if r.Code != 0 {
		b.t.Fatalf("latchkey %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.Code, r.Stdout, r.Stderr)
	}
	return r
}

func (b *bench) json(v any, args ...string) {
	b.t.Helper()
	r := b.mustRun(append(args, "--json")...)
	if err := json.Unmarshal([]byte(r.Stdout), v); err != nil {
		b.t.Fatalf("latchkey %s --json: %v\n%s", strings.Join(args, " "), err, r.Stdout)
	}
}

// unit is a running unit and where it keeps its state.
type unit struct {
	*simtest.Sim
	dir string
}

func (u unit) inspect(t *testing.T) sim.Inspection {
	t.Helper()
	in, err := sim.Inspect(u.dir, sim.InspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return in
}

// surveyedJob creates a job for sam with a survey from its template, and
// a new genuine unit paired with it; it returns the job id and the unit.
func (b *bench) pairedJob(doors string) (string, unit) {
	b.t.Helper()
	id := b.office.MustHub("job", "create", "--building", "Maple Court", "--address", "12 Maple St, Brooklyn, NY 11201",
		"--doors", doors, "--installer", "sam", "--hours", "Mon-Sat 08:00-20:00", "--incentive", "gift-card:100:USD")
	b.sam.MustRun("jobs", "pull")
	file := filepath.Join(b.t.TempDir(), "survey.yaml")
	if err := os.WriteFile(file, []byte(b.sam.MustRun("survey", "template", "--job", id).Stdout), 0o600); err != nil {
		b.t.Fatal(err)
	}
	b.sam.MustRun("survey", "new", "--job", id, "--from", file)

	b.seed++
	dir := b.t.TempDir()
	su, err := sim.Open(sim.Config{Seed: b.seed, Dir: dir})
	if err != nil {
		b.t.Fatal(err)
	}
	lk := sim.NewLatchkey(sim.LatchkeyConfig{Seed: b.seed, Chain: sim.DirFactory{Dir: b.factory}, Unseal: provision.OpenKey})
	u := unit{Sim: simtest.Start(b.t, sim.Options{Unit: su, Extensions: []sim.Extension{lk.Extension()}}, simtest.Config{}), dir: dir}
	b.sam.MustRun("pair", "--job", id, "--port", u.Link, "--confirm-label", u.inspect(b.t).Label)
	b.sam.MustRun("install", "selftest", "--job", id, "--port", u.Link)
	return id, u
}

// signFlags are the flags of a consent signed without a terminal.
func signFlags(job, port string) []string {
	return []string{"consent", "sign", "--job", job, "--port", port,
		"--signer-name", "María Ortiz", "--signer-title", "Property manager", "--authority", "managing-agent",
		"--tenant-notice-by", "2026-12-02", "--operator", "Parcelway Inc.",
		"--revoke-contact", "call 212-555-0100", "--agree"}
}

type signed struct {
	Record      string `json:"record"`
	Job         string `json:"job"`
	Unit        string `json:"unit"`
	TermsSHA256 string `json:"terms_sha256"`
	NoticeBy    string `json:"notice_by"`
}

func outboxKinds(t *testing.T, b *bench) []string {
	t.Helper()
	var rows []struct {
		Kind string `json:"kind"`
		ID   string `json:"id"`
	}
	b.sam.JSON(&rows, "outbox", "list")
	var kinds []string
	for _, r := range rows {
		kinds = append(kinds, r.Kind+":"+r.ID)
	}
	return kinds
}

func TestSignWithoutTerminalNeedsEveryFlag(t *testing.T) {
	m := clitest.New(t, "consent-flags")
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"none", nil, []string{"--job", "--signer-name", "--signer-title", "--authority", "--tenant-notice-by", "--operator", "--revoke-contact", "--agree"}},
		{"all but agree", signFlags("7Q2M", "/dev/null")[2 : len(signFlags("7Q2M", "/dev/null"))-1], []string{"--agree"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := run(m, "", false, append([]string{"consent", "sign"}, tt.args...)...)
			if r.Code != cli.ExitUsage {
				t.Fatalf("exit %d, want %d\n%s", r.Code, cli.ExitUsage, r.Stderr)
			}
			for _, w := range tt.want {
				if !strings.Contains(r.Stderr, w) {
					t.Errorf("stderr does not name %s: %q", w, r.Stderr)
				}
			}
			if strings.Contains(r.Stderr, "--lang") {
				t.Errorf("--lang has a default, yet it is named missing: %q", r.Stderr)
			}
		})
	}
	if r := run(m, "", false, "consent", "sign", "--job", "7Q2M", "--authority", "janitor"); r.Code != cli.ExitUsage {
		t.Errorf("a bad --authority = %d %q", r.Code, r.Stderr)
	}
}

func TestConsentSignVerifyExportRevoke(t *testing.T) {
	b := newBench(t)
	job, u := b.pairedJob("lobby,side gate")

	// Before the keys are burned there is nothing to consent to.
	if r := b.run(signFlags(job, u.Link)...); r.Code != 1 || !strings.Contains(r.Stderr, "latchkey burn --job") {
		t.Fatalf("sign before burn = %d %q", r.Code, r.Stderr)
	}
	if got := outboxKinds(t, b); strings.Contains(strings.Join(got, " "), "consent:") {
		t.Fatalf("a consent was queued before the burn: %v", got)
	}
	b.sam.MustRun("burn", "--job", job, "--port", u.Link)

	var s signed
	b.json(&s, signFlags(job, u.Link)...)
	if s.Job != job || s.NoticeBy != "2026-12-02" || len(s.TermsSHA256) != 64 || !strings.HasPrefix(s.Unit, "LK") {
		t.Errorf("sign = %+v", s)
	}
	// Queued, journalled, and the same job cannot be consented twice.
	if got := strings.Join(outboxKinds(t, b), " "); !strings.Contains(got, "consent:"+s.Record) {
		t.Errorf("outbox = %s, want the consent %s", got, s.Record)
	}
	if r := b.sam.MustRun("journal", "list", "--job", job); !strings.Contains(r.Stdout, "consent.signing") || !strings.Contains(r.Stdout, "consent.signed") {
		t.Errorf("journal list =\n%s", r.Stdout)
	}
	if r := b.run(signFlags(job, u.Link)...); r.Code != 1 || !strings.Contains(r.Stderr, "consent already") {
		t.Errorf("second sign = %d %q", r.Code, r.Stderr)
	}

	var shown struct {
		Record  string `json:"record"`
		State   string `json:"state"`
		Payload struct {
			Signer struct {
				Name   string `json:"name"`
				Intent string `json:"intent"`
			} `json:"signer"`
			Doors    []struct{ Name, Hours string } `json:"doors"`
			Captured string                         `json:"captured"`
			Journal  *struct{ Seq int64 }           `json:"journal"`
		} `json:"payload"`
	}
	b.json(&shown, "consent", "show", "--job", job)
	p := shown.Payload
	if shown.Record != s.Record || shown.State != "in-force" || p.Signer.Name != "María Ortiz" || !strings.Contains(p.Signer.Intent, s.TermsSHA256) ||
		len(p.Doors) != 2 || p.Doors[1].Hours != "Mon-Sat 08:00-20:00" || p.Captured != "flags" || p.Journal == nil || p.Journal.Seq < 1 {
		t.Errorf("show = %+v", shown)
	}

	// The manager's copy, and the signed record that verifies.
	dir := t.TempDir()
	pdf, envFile := filepath.Join(dir, "copy.pdf"), filepath.Join(dir, "consent.json")
	b.mustRun("consent", "export", "--job", job, "-o", pdf)
	if got, err := os.ReadFile(pdf); err != nil || !strings.HasPrefix(string(got), "%PDF") || !strings.Contains(string(got), s.Record) {
		t.Errorf("export pdf: %v, starts %.8q, holds the record id: %v", err, got, strings.Contains(string(got), s.Record))
	}
	b.mustRun("consent", "export", "--job", job, "--format", "json", "-o", envFile)
	r := b.mustRun("consent", "verify", envFile)
	if !strings.Contains(r.Stdout, "verified: consent "+s.Record) {
		t.Errorf("verify = %q", r.Stdout)
	}

	// One byte changed fails: in the payload's encoding, in the payload
	// itself (re-encoded, so only the signatures can tell), or in a
	// signature.
	env, err := os.ReadFile(envFile)
	if err != nil {
		t.Fatal(err)
	}
	var e struct {
		PayloadType string `json:"payloadType"`
		Payload     string `json:"payload"`
		Signatures  []struct {
			KeyID string `json:"keyid"`
			Sig   string `json:"sig"`
		} `json:"signatures"`
	}
	if err := json.Unmarshal(env, &e); err != nil {
		t.Fatal(err)
	}
	body, err := base64.StdEncoding.DecodeString(e.Payload)
	if err != nil || !strings.Contains(string(body), `"retention_days":30`) {
		t.Fatalf("payload %s: %v", body, err)
	}
	flip := func(s string, at int) string {
		c := byte('A')
		if s[at] == 'A' {
			c = 'B'
		}
		return s[:at] + string(c) + s[at+1:]
	}
	for name, change := range map[string]func(string) string{
		"payload byte": func(s string) string {
			return strings.Replace(s, e.Payload, flip(e.Payload, 200), 1)
		},
		"retention 30 to 31": func(s string) string {
			b31 := base64.StdEncoding.EncodeToString([]byte(strings.Replace(string(body), `"retention_days":30`, `"retention_days":31`, 1)))
			return strings.Replace(s, e.Payload, b31, 1)
		},
		"unit signature byte": func(s string) string {
			return strings.Replace(s, e.Signatures[1].Sig, flip(e.Signatures[1].Sig, 10), 1)
		},
	} {
		bad := change(string(env))
		if bad == string(env) {
			t.Fatalf("%s: nothing changed", name)
		}
		badFile := filepath.Join(dir, "changed.json")
		if err := os.WriteFile(badFile, []byte(bad), 0o600); err != nil {
			t.Fatal(err)
		}
		if r := b.run("consent", "verify", badFile); r.Code != 1 || !strings.Contains(r.Stderr, "does not verify") {
			t.Errorf("verify with a changed %s = %d %q", name, r.Code, r.Stderr)
		}
	}
	// The wrong unit key fails too.
	if r := b.run("consent", "verify", envFile, "--unit-key", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="); r.Code != 1 || !strings.Contains(r.Stderr, "does not verify") {
		t.Errorf("verify with another unit key = %d %q", r.Code, r.Stderr)
	}

	// Revoking queues a signed revocation and marks the consent.
	var rv struct {
		Consent    string `json:"consent"`
		Revocation string `json:"revocation"`
	}
	b.json(&rv, "consent", "revoke", "--job", job, "--reason", "the board withdrew consent", "--by", "Ana Ruiz", "--role", "board", "--yes")
	if rv.Consent != s.Record || rv.Revocation == "" {
		t.Errorf("revoke = %+v", rv)
	}
	if got := strings.Join(outboxKinds(t, b), " "); !strings.Contains(got, "revocation:"+rv.Revocation) {
		t.Errorf("outbox = %s, want the revocation %s", got, rv.Revocation)
	}
	b.json(&shown, "consent", "show", "--job", job)
	if shown.State != "revoked" {
		t.Errorf("state after revoke = %s", shown.State)
	}
	if r := b.run("consent", "revoke", "--job", job, "--reason", "again", "--yes"); r.Code != 1 || !strings.Contains(r.Stderr, "revoked") {
		t.Errorf("second revoke = %d %q", r.Code, r.Stderr)
	}
	// Without a terminal a revocation needs --yes.
	if r := b.run("consent", "revoke", "--job", job, "--reason", "x"); r.Code != cli.ExitUsage {
		t.Errorf("revoke without --yes = %d %q", r.Code, r.Stderr)
	}
	// The back office takes every record, the two-signature consent included.
	if r := b.sam.MustRun("sync"); !strings.Contains(r.Stdout, "refused 0") {
		t.Errorf("sync = %q", r.Stdout)
	}
}

func TestSignOnTerminal(t *testing.T) {
	b := newBench(t)
	job, u := b.pairedJob("lobby")
	b.sam.MustRun("burn", "--job", job, "--port", u.Link)
	flags := signFlags(job, u.Link)
	flags = flags[:len(flags)-1] // no --agree: the signer is asked

	// A name typed wrong three times, or a "no", signs nothing.
	r := run(b.sam, "Maria\nM. Ortiz\nsomeone\n", true, flags...)
	if r.Code != 1 || !strings.Contains(r.Stderr, "does not match") {
		t.Errorf("sign with the wrong name typed = %d %q", r.Code, r.Stderr)
	}
	r = run(b.sam, "maría  ortiz\nn\n", true, flags...)
	if r.Code != 1 || !strings.Contains(r.Stderr, "did not agree") {
		t.Errorf("sign answered no = %d %q", r.Code, r.Stderr)
	}
	if got := strings.Join(outboxKinds(t, b), " "); strings.Contains(got, "consent:") {
		t.Fatalf("a consent was queued without agreement: %s", got)
	}
	// What is missing is asked for; the terms and the intent are shown.
	noTitle := []string{}
	for i := 0; i < len(flags); i++ {
		if flags[i] == "--signer-title" {
			i++
			continue
		}
		noTitle = append(noTitle, flags[i])
	}
	r = run(b.sam, "Property manager\nMaría Ortiz\ny\n", true, noTitle...)
	if r.Code != 0 {
		t.Fatalf("sign on a terminal = %d\n%s", r.Code, r.Stderr)
	}
	for _, want := range []string{"Signer's title", "Maple Court", "I have read the terms shown to me", "Do you agree"} {
		if !strings.Contains(r.Stderr, want) {
			t.Errorf("the terminal did not show %q:\n%s", want, r.Stderr)
		}
	}
	if got := strings.Join(outboxKinds(t, b), " "); !strings.Contains(got, "consent:"+strings.TrimSpace(r.Stdout)) {
		t.Errorf("outbox = %s, want consent %s", got, r.Stdout)
	}
}

func TestRevokeDecommissions(t *testing.T) {
	b := newBench(t)
	job, u := b.pairedJob("lobby")
	b.sam.MustRun("burn", "--job", job, "--port", u.Link)
	b.mustRun(signFlags(job, u.Link)...)
	if st := u.inspect(t).State; st != device.StateProvisioned {
		t.Fatalf("unit state before = %s", st)
	}

	var rv struct {
		Revocation     string `json:"revocation"`
		Decommissioned *struct {
			Serial string `json:"serial"`
			Wiped  int    `json:"wiped"`
		} `json:"decommissioned"`
	}
	b.json(&rv, "consent", "revoke", "--job", job, "--reason", "building sold", "--decommission", "--port", u.Link, "--yes")
	if rv.Decommissioned == nil || rv.Decommissioned.Wiped < 1 {
		t.Errorf("revoke --decommission = %+v", rv)
	}
	in := u.inspect(t)
	if in.State != device.StateDecommissioned {
		t.Errorf("unit state after = %s, want %s", in.State, device.StateDecommissioned)
	}
	for _, s := range in.Slots {
		if s.State == "written" {
			t.Errorf("slot %d still holds a key", s.Slot)
		}
	}
	got := strings.Join(outboxKinds(t, b), " ")
	if !strings.Contains(got, "revocation:"+rv.Revocation) || !strings.Contains(got, "decommission:") {
		t.Errorf("outbox = %s, want the revocation and the decommission record", got)
	}
}
