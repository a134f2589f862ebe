package install_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/provision"
	"github.com/latchkey/latchkey/internal/sim"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/testutil/clitest"
	"github.com/latchkey/latchkey/internal/testutil/hubtest"
	"github.com/latchkey/latchkey/internal/testutil/simtest"
)

// TestPlainWizardInstall runs `latchkey install --plain` through a whole
// install on the real flow: a back office on loopback, a virtual unit on a
// pty, answers typed line by line. Then it runs the wizard again for the same
// job: everything is done, nothing is asked or sent twice.
// bench is a back office, an installer's laptop with a pulled two-door job
// whose survey waits for the signal, and a virtual unit of a trusted test
// factory.
type bench struct {
	office *hubtest.Office
	sam    *clitest.Machine
	job    string
	unit   *simtest.Sim
}

func newBench(t *testing.T) bench {
	t.Helper()
	office := hubtest.Start(t)
	sam := office.Join("sam", "installer")
	factory := filepath.Join(t.TempDir(), "factory")
	if _, err := (sim.DirFactory{Dir: factory}).RootDER(); err != nil {
		t.Fatal(err)
	}
	sam.MustRun("trust", "add", "--allow-test-root", filepath.Join(factory, "root.pem"))
	for _, kv := range [][2]string{
		{"notice.operator", "Parcelway Inc."}, {"notice.contact-name", "Parcelway tenant line"},
		{"notice.contact-phone", "212-555-0100"}, {"notice.policy-url", "https://parcelway.example/privacy"},
	} {
		sam.MustRun("config", "set", kv[0], kv[1])
	}
	job := office.MustHub("job", "create", "--building", "Elm Court", "--address", "12 Elm St", "--doors", "lobby,garage",
		"--installer", "sam", "--incentive", "gift-card:100:USD")
	sam.MustRun("jobs", "pull")
	// The survey from the job's template (a command and the wizard mix):
	// pending the signal until the unit is paired.
	file := filepath.Join(t.TempDir(), "survey.yaml")
	if err := os.WriteFile(file, []byte(sam.MustRun("survey", "template", "--job", job).Stdout), 0o600); err != nil {
		t.Fatal(err)
	}
	sam.MustRun("survey", "new", "--job", job, "--from", file)

	dir := t.TempDir()
	u, err := sim.Open(sim.Config{Seed: 7, Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	lk := sim.NewLatchkey(sim.LatchkeyConfig{Seed: 7, Chain: sim.DirFactory{Dir: factory}, Unseal: provision.OpenKey})
	unit := simtest.Start(t, sim.Options{Unit: u, Extensions: []sim.Extension{lk.Extension()}}, simtest.Config{})

	return bench{office: office, sam: sam, job: job, unit: unit}
}

func TestPlainWizardInstall(t *testing.T) {
	b := newBench(t)
	office, sam, job, unit := b.office, b.sam, b.job, b.unit
	answers := []string{
		"", "y", // pair: connected; the label matches
		"n",                    // self-test without the relay
		"", "", "", "", "", "", // consent: the defaults
		"Ana Ruiz", "Property manager", // the signer
		"managing-agent", "y",
		"ana  ruiz", "y", // typed name (case and spaces do not matter), agrees
		"", "", "", "", "", // notice: the defaults
		"emailed", "", "24", "", // given: emailed now to 24 households
		"y", // send now
	}
	r := sam.RunIn(strings.Join(answers, "\n")+"\n", "install", "--plain", "--job", job[:6], "--port", unit.Link)
	if r.Code != 0 {
		t.Fatalf("install --plain: exit %d\n%s\n%s", r.Code, r.Stdout, r.Stderr)
	}
	for _, want := range []string{
		"Step 3 of 8: pair", "is genuine", "Every self-test passed", "slot 1 (garage): burned",
		"gift card", "Signed: consent", "Tenant notice written", "Install finished", "Sent ",
		"install of job " + job[:8] + " finished and sent",
	} {
		if !strings.Contains(strings.ToLower(r.Stdout), strings.ToLower(want)) {
			t.Errorf("the transcript lacks %q:\n%s", want, r.Stdout)
		}
	}
	t.Logf("transcript:\n%s", r.Stdout)
	if strings.ContainsRune(r.Stdout, 0x1b) {
		t.Error("plain mode wrote an escape sequence")
	}

	// What the wizard did is what the commands see.
	var st struct {
		Finished bool `json:"finished"`
		Steps    []struct{ Step, State string }
	}
	sam.JSON(&st, "install", "status", "--job", job)
	if !st.Finished {
		t.Errorf("install status: not finished: %+v", st)
	}
	for _, s := range st.Steps {
		if s.State != "done" {
			t.Errorf("step %s is %s", s.Step, s.State)
		}
	}
	records := office.MustHub("records", "list", "--job", job)
	for _, kind := range []string{"survey", "pairing", "receipt", "consent", "notice", "install-report"} {
		if !strings.Contains(records, kind) {
			t.Errorf("the back office has no %s record of the job:\n%s", kind, records)
		}
	}

	// Started again for the same job, the wizard finds every step done.
	again := sam.RunIn("y\n", "install", "--plain", "--job", job[:6], "--port", unit.Link)
	if again.Code != 0 || strings.Contains(again.Stdout, "Step 3 of 8: pair\nConnect") {
		t.Fatalf("second run: exit %d\n%s\n%s", again.Code, again.Stdout, again.Stderr)
	}
	if after := office.MustHub("records", "list", "--job", job); after != records {
		t.Errorf("the second run changed the back office's records:\n%s\nthen\n%s", records, after)
	}
}

// TestPlainWizardLabel: answering no to the label question records the
// unit as rejected; walking away from the question (the input ends) records
// nothing and pairs nothing.
func TestPlainWizardLabel(t *testing.T) {
	b := newBench(t)
	left := b.sam.RunIn("\n", "install", "--plain", "--job", b.job, "--port", b.unit.Link)
	if left.Code == 0 {
		t.Fatalf("input ended at the label question, yet exit 0:\n%s", left.Stdout)
	}
	if j := b.sam.MustRun("journal", "list", "--job", b.job).Stdout; strings.Contains(j, "label_rejected") || strings.Contains(j, "unit.paired") {
		t.Errorf("leaving at the label question was journalled:\n%s", j)
	}
	no := b.sam.RunIn("\nn\nq\n", "install", "--plain", "--job", b.job, "--port", b.unit.Link)
	if no.Code == 0 || !strings.Contains(no.Stdout, "do not install a unit whose code does not match") {
		t.Fatalf("answered no: exit %d\n%s\n%s", no.Code, no.Stdout, no.Stderr)
	}
	if j := b.sam.MustRun("journal", "list", "--job", b.job).Stdout; !strings.Contains(j, "unit.label_rejected") || strings.Contains(j, "unit.paired") {
		t.Errorf("a rejected label is not journalled as such:\n%s", j)
	}
}

// TestResumeLastWorked: --resume continues the install worked on last, not
// the one furthest along.
func TestResumeLastWorked(t *testing.T) {
	b := newBench(t)
	other := b.office.MustHub("job", "create", "--building", "Oak House", "--address", "3 Oak Rd", "--doors", "lobby", "--installer", "sam")
	b.sam.MustRun("jobs", "pull")
	resumed := func() string {
		t.Helper()
		r := b.sam.RunIn("", "install", "--plain", "--resume", "--port", b.unit.Link)
		for _, id := range []string{b.job, other} {
			if strings.Contains(r.Stdout, "Job "+id[:8]) {
				return id
			}
		}
		t.Fatalf("--resume named no job:\n%s\n%s", r.Stdout, r.Stderr)
		return ""
	}
	// The first job's survey was saved in newBench: it is the one started.
	if got := resumed(); got != b.job {
		t.Errorf("--resume with one install started = %s, want %s", got, b.job)
	}
	// Then the other job is surveyed: it was worked on last.
	file := filepath.Join(t.TempDir(), "survey.yaml")
	if err := os.WriteFile(file, []byte(b.sam.MustRun("survey", "template", "--job", other).Stdout), 0o600); err != nil {
		t.Fatal(err)
	}
	b.sam.MustRun("survey", "new", "--job", other, "--from", file)
	if got := resumed(); got != other {
		t.Errorf("--resume after working on %s = %s", other, got)
	}
}

// TestResumeFinishedInstall: an install finished with its records left
// queued is resumed to send them; once a record of it is refused, sending
// again would change nothing, and it is not resumed.
func TestResumeFinishedInstall(t *testing.T) {
	b := newBench(t)
	answers := []string{"", "y", "n", "", "", "", "", "", "", "Ana Ruiz", "Property manager", "managing-agent", "y", "Ana Ruiz", "y",
		"", "", "", "", "", "emailed", "", "24", "", "n"} // the last: leave the records queued
	r := b.sam.RunIn(strings.Join(answers, "\n")+"\n", "install", "--plain", "--job", b.job, "--port", b.unit.Link)
	if r.Code != 0 || !strings.Contains(r.Stdout, "its records are queued") {
		t.Fatalf("install leaving the records queued: exit %d\n%s\n%s", r.Code, r.Stdout, r.Stderr)
	}
	if got := b.sam.RunIn("", "install", "--plain", "--resume", "--port", b.unit.Link); !strings.Contains(got.Stdout, "Resuming the unfinished install of job "+b.job[:8]) {
		t.Errorf("--resume with the records queued:\n%s", got.Stdout)
	}
	st, err := store.Open(context.Background(), filepath.Join(b.sam.Home, "data", "latchkey.db"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = st.DB().Exec(`UPDATE outbox SET state = 'rejected', reject_code = 'test', reject_reason = 'refused for the test'
		WHERE seq = (SELECT min(seq) FROM outbox WHERE job = ?)`, b.job)
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	if got := b.sam.RunIn("", "install", "--plain", "--resume", "--port", b.unit.Link); !strings.Contains(got.Stdout, "There is no unfinished install to resume") {
		t.Errorf("--resume with a refused record:\n%s", got.Stdout)
	}
}
