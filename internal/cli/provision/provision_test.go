package provision_test

// Pairing and burning through the command line as an installer runs them,
// against the virtual unit on a pty and the back office on loopback, with
// real crypto throughout: genuine units are paired and burned; every kind of
// counterfeit is refused before any key moves; a second burn returns the
// stored receipts; a slot holding another key quarantines the unit.

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/hub"
	"github.com/latchkey/latchkey/internal/provision"
	"github.com/latchkey/latchkey/internal/sim"
	"github.com/latchkey/latchkey/internal/testutil/clitest"
	"github.com/latchkey/latchkey/internal/testutil/hubtest"
	"github.com/latchkey/latchkey/internal/testutil/simtest"
)

// bench is an office, an installer's laptop that trusts a test factory, and
// a way to start units from that factory.
type bench struct {
	t       testing.TB
	office  *hubtest.Office
	sam     *clitest.Machine
	factory string
	seed    uint64
}

func newBench(t testing.TB) *bench {
	t.Helper()
	b := &bench{t: t, office: hubtest.Start(t), factory: filepath.Join(t.TempDir(), "factory"), seed: 100}
	b.sam = b.office.Join("sam", "installer")
	if _, err := (sim.DirFactory{Dir: b.factory}).RootDER(); err != nil {
		t.Fatal(err)
	}
	b.sam.MustRun("trust", "add", "--allow-test-root", filepath.Join(b.factory, "root.pem"))
	return b
}

// job creates a job for sam with doors and pulls it; it returns the job id.
func (b *bench) job(doors string) string {
	b.t.Helper()
	id := b.office.MustHub("job", "create", "--building", "Elm Court", "--address", "12 Elm St", "--doors", doors, "--installer", "sam")
	b.sam.MustRun("jobs", "pull")
	// The survey, from the template made for the job: go with conditions
	// once pairing measures the signal.
	file := filepath.Join(b.t.TempDir(), "survey.yaml")
	if err := os.WriteFile(file, []byte(b.sam.MustRun("survey", "template", "--job", id).Stdout), 0o600); err != nil {
		b.t.Fatal(err)
	}
	b.sam.MustRun("survey", "new", "--job", id, "--from", file)
	return id
}

// unit is a running unit and where it keeps its state.
type unit struct {
	*simtest.Sim
	dir string
}

// slots reads what the unit holds, keys included, from its state.
func (u unit) slots(t *testing.T) []sim.SlotSummary {
	t.Helper()
	in, err := sim.Inspect(u.dir, sim.InspectOptions{RevealSecrets: true})
	if err != nil {
		t.Fatal(err)
	}
	return in.Slots
}

// unit starts a new unit of the factory, of the given kind.
func (b *bench) unit(kind sim.Counterfeit) unit { return b.unitWith(kind, nil) }

// unitWith starts a new unit provisioned with an operator key.
func (b *bench) unitWith(kind sim.Counterfeit, operator ed25519.PublicKey) unit {
	b.t.Helper()
	b.seed++
	dir := b.t.TempDir()
	u, err := sim.Open(sim.Config{Seed: b.seed, Dir: dir})
	if err != nil {
		b.t.Fatal(err)
	}
	lk := sim.NewLatchkey(sim.LatchkeyConfig{Seed: b.seed, Chain: sim.DirFactory{Dir: b.factory}, Unseal: provision.OpenKey, Counterfeit: kind, OperatorKey: operator})
	return unit{Sim: simtest.Start(b.t, sim.Options{Unit: u, Extensions: []sim.Extension{lk.Extension()}}, simtest.Config{}), dir: dir}
}

func (b *bench) label(s unit) string {
	b.t.Helper()
	var st struct {
		Identity struct {
			Label string `json:"label"`
		} `json:"identity"`
	}
	b.sam.JSON(&st, "diag", "status", "--port", s.Link)
	if st.Identity.Label == "" {
		b.t.Fatal("diag status shows no label code")
	}
	return st.Identity.Label
}

type burnResult struct {
	Serial string `json:"serial"`
	Slots  []struct {
		Slot    int             `json:"slot"`
		Door    string          `json:"door"`
		Outcome string          `json:"outcome"`
		KCV     string          `json:"kcv"`
		Receipt json.RawMessage `json:"receipt"`
	} `json:"slots"`
}

func TestPairAndBurn(t *testing.T) {
	b := newBench(t)
	job := b.job("lobby,garage")
	u := b.unit(sim.Genuine)
	label := b.label(u)

	// Without a terminal the label code must be given, and must be right.
	if r := b.sam.Run("pair", "--job", job, "--port", u.Link); r.Code != 2 || !strings.Contains(r.Stderr, "--confirm-label") {
		t.Errorf("pair without a terminal or label = %d %q", r.Code, r.Stderr)
	}
	if r := b.sam.Run("pair", "--job", job, "--port", u.Link, "--confirm-label", "0000-0000"); r.Code != 1 || !strings.Contains(r.Stderr, "is not this unit") && !strings.Contains(r.Stderr, "but this unit's is") {
		t.Errorf("pair with the wrong label = %d %q", r.Code, r.Stderr)
	}
	// Burning before pairing is refused.
	if r := b.sam.Run("burn", "--job", job, "--port", u.Link); r.Code != 1 || !strings.Contains(r.Stderr, "pair the unit") {
		t.Errorf("burn before pair = %d %q", r.Code, r.Stderr)
	}
	r := b.sam.MustRun("pair", "--job", job[:6], "--port", u.Link, "--confirm-label", strings.ToLower(label))
	b.sam.MustRun("install", "selftest", "--job", job[:6], "--port", u.Link)
	if !strings.Contains(r.Stdout, "paired unit LK") {
		t.Errorf("pair = %q", r.Stdout)
	}

	var first burnResult
	b.sam.JSON(&first, "burn", "--job", job, "--port", u.Link)
	if len(first.Slots) != 2 || first.Slots[0].Outcome != provision.Burned || first.Slots[1].Door != "garage" {
		t.Fatalf("burn = %+v", first)
	}
	// The unit holds exactly the keys of the job, one per slot.
	for i, s := range u.slots(t) {
		if i < 2 && s.State != "written" {
			t.Errorf("unit slot %d is %s after the burn", i, s.State)
		}
	}
	// A second burn returns the stored receipts byte for byte, and writes
	// nothing (it does not even need the unit).
	var second burnResult
	b.sam.JSON(&second, "burn", "--job", job, "--port", filepath.Join(t.TempDir(), "no-unit-here"))
	for i := range first.Slots {
		if second.Slots[i].Outcome != provision.Stored || !bytes.Equal(second.Slots[i].Receipt, first.Slots[i].Receipt) {
			t.Errorf("slot %d second burn = %s %s, want the stored receipt %s", i, second.Slots[i].Outcome, second.Slots[i].Receipt, first.Slots[i].Receipt)
		}
	}
	// The pairing and both receipts are queued, signed, and journalled.
	var rows []struct {
		Kind string `json:"kind"`
		Unit string `json:"unit"`
	}
	b.sam.JSON(&rows, "outbox", "list")
	var kinds []string
	for _, r := range rows {
		kinds = append(kinds, r.Kind+":"+r.Unit)
	}
	want := "survey: pairing:%[1]s survey:%[1]s receipt:%[1]s receipt:%[1]s"
	if got := strings.Join(kinds, " "); got != fmt.Sprintf(want, first.Serial) {
		t.Errorf("outbox = %s, want the survey, the pairing, the survey with the signal, and two receipts", got)
	}
	if r := b.sam.MustRun("journal", "list"); !strings.Contains(r.Stdout, "unit.paired") || strings.Count(r.Stdout, "slot.burned") != 2 {
		t.Errorf("journal list =\n%s", r.Stdout)
	}
	// The back office takes the pairing and the receipts.
	if r := b.sam.MustRun("sync"); !strings.Contains(r.Stdout, "sent 5, refused 0") {
		t.Errorf("sync = %q", r.Stdout)
	}
}

func TestCounterfeitUnitsRefused(t *testing.T) {
	b := newBench(t)
	job := b.job("lobby")
	tests := []struct {
		kind sim.Counterfeit
		want string // what the installer reads
	}{
		{sim.Counterfeit("unknown-root"), "manufacturer"},
		{sim.Counterfeit("expired"), "expired"},
		{sim.Counterfeit("cloned"), "clone"},
		{sim.Counterfeit("replayed"), "replay"},
		{sim.Counterfeit("serial-mismatch"), "serial"},
	}
	for _, tt := range tests {
		t.Run(string(tt.kind), func(t *testing.T) {
			u := b.unit(tt.kind)
			r := b.sam.Run("pair", "--job", job, "--port", u.Link, "--confirm-label", b.label(u))
			if r.Code != 1 || !strings.Contains(r.Stderr, "failed attestation") || !strings.Contains(strings.ToLower(r.Stderr), tt.want) {
				t.Errorf("pair with a %s unit = %d %q, want exit 1 saying %q", tt.kind, r.Code, r.Stderr, tt.want)
			}
			for _, s := range u.slots(t) {
				if s.State != "empty" {
					t.Errorf("a key reached the %s unit: slot %d %s", tt.kind, s.Slot, s.State)
				}
			}
			// Burning is refused too: no pairing was saved.
			if r := b.sam.Run("burn", "--job", job, "--port", u.Link); r.Code != 1 {
				t.Errorf("burn after a refused pairing = %d %q", r.Code, r.Stderr)
			}
		})
	}
	var rows []struct{ Kind string }
	b.sam.JSON(&rows, "outbox", "list")
	if len(rows) != 1 || rows[0].Kind != "survey" {
		t.Errorf("outbox after refused pairings = %+v, want only the job's survey", rows)
	}
	if r := b.sam.MustRun("journal", "list"); strings.Count(r.Stdout, "unit.attestation_failed") != len(tests) {
		t.Errorf("journal does not record each refusal:\n%s", r.Stdout)
	}
}

func TestDeniedUnitRefused(t *testing.T) {
	b := newBench(t)
	job := b.job("lobby")
	u := b.unit(sim.Genuine)
	var st struct {
		Identity struct{ Serial string } `json:"identity"`
	}
	b.sam.JSON(&st, "diag", "status", "--port", u.Link)
	b.office.MustHub("units", "deny", st.Identity.Serial, "--reason", "reported stolen")
	b.sam.MustRun("jobs", "pull")
	r := b.sam.Run("pair", "--job", job, "--port", u.Link, "--confirm-label", b.label(u))
	if r.Code != 1 || !strings.Contains(r.Stderr, "denied") || !strings.Contains(r.Stderr, "reported stolen") {
		t.Errorf("pair of a denied unit = %d %q", r.Code, r.Stderr)
	}
}

// TestOtherKeyInSlotQuarantines burns one job into a unit, then tries a
// second job on the same unit: its first slot holds the other job's key, so
// the burn stops and the unit is quarantined for good.
func TestOtherKeyInSlotQuarantines(t *testing.T) {
	b := newBench(t)
	jobA, jobB := b.job("lobby"), b.job("lobby,garage")
	u := b.unit(sim.Genuine)
	label := b.label(u)
	b.sam.MustRun("pair", "--job", jobA, "--port", u.Link, "--confirm-label", label)
	b.sam.MustRun("install", "selftest", "--job", jobA, "--port", u.Link)
	b.sam.MustRun("burn", "--job", jobA, "--port", u.Link)
	b.sam.MustRun("pair", "--job", jobB, "--port", u.Link, "--confirm-label", label)
	b.sam.MustRun("install", "selftest", "--job", jobB, "--port", u.Link)
	r := b.sam.Run("burn", "--job", jobB, "--port", u.Link)
	if r.Code != 1 || !strings.Contains(r.Stderr, "quarantined") || !strings.Contains(r.Stderr, "different key") {
		t.Fatalf("burn into a slot with another key = %d %q", r.Code, r.Stderr)
	}
	if s := u.slots(t); s[1].State != "empty" {
		t.Errorf("slot 1 was written after the quarantine: %+v", s[1])
	}
	if r := b.sam.Run("burn", "--job", jobB, "--port", u.Link); r.Code != 1 || !strings.Contains(r.Stderr, "quarantined") {
		t.Errorf("burn of a quarantined unit = %d %q", r.Code, r.Stderr)
	}
	if r := b.sam.MustRun("journal", "list"); !strings.Contains(r.Stdout, "unit.quarantined") {
		t.Errorf("journal has no quarantine:\n%s", r.Stdout)
	}
}

// TestDecommission wipes a burned unit provisioned with the hub's key as its
// operator key: only with the hub's authorisation, asked by an installer.
func TestDecommission(t *testing.T) {
	b := newBench(t)
	job := b.job("lobby,garage")
	key, err := hub.LoadKeys(b.office.Data)
	if err != nil {
		t.Fatal(err)
	}
	u := b.unitWith(sim.Genuine, key.Public().Sign)
	b.sam.MustRun("pair", "--job", job, "--port", u.Link, "--confirm-label", b.label(u))
	b.sam.MustRun("install", "selftest", "--job", job, "--port", u.Link)
	b.sam.MustRun("burn", "--job", job, "--port", u.Link)

	if r := b.sam.Run("unit", "decommission", "--port", u.Link); r.Code != 2 || !strings.Contains(r.Stderr, "--yes") {
		t.Errorf("decommission without --yes and no terminal = %d %q", r.Code, r.Stderr)
	}
	// Unsigned, the unit refuses: it was provisioned with an operator key.
	if r := b.sam.Run("unit", "decommission", "--port", u.Link, "--yes", "--offline"); r.Code != 1 || !strings.Contains(r.Stderr, "authorisation") {
		t.Errorf("decommission without the hub's signature = %d %q", r.Code, r.Stderr)
	}
	// A sales rep cannot get the hub's signature.
	dana := b.office.Join("dana", "sales")
	dana.MustRun("trust", "add", "--allow-test-root", filepath.Join(b.factory, "root.pem"))
	if r := dana.Run("unit", "decommission", "--port", u.Link, "--yes"); r.Code != 1 || !strings.Contains(r.Stderr, "only installers and support") {
		t.Errorf("decommission by a sales rep = %d %q", r.Code, r.Stderr)
	}
	for i, s := range u.slots(t)[:2] {
		if s.State != "written" {
			t.Fatalf("slot %d is %s after refused decommissions", i, s.State)
		}
	}
	var res struct {
		Serial     string `json:"serial"`
		Wiped      int    `json:"wiped"`
		Authorised bool   `json:"authorised"`
	}
	b.sam.JSON(&res, "unit", "decommission", "--port", u.Link, "--yes")
	if res.Wiped != 2 || !res.Authorised {
		t.Errorf("decommission = %+v, want 2 slots wiped with the hub's authorisation", res)
	}
	for i, s := range u.slots(t) {
		if s.State == "written" || s.Key != "" {
			t.Errorf("slot %d after decommission: %+v", i, s)
		}
	}
	var rows []struct {
		Kind string `json:"kind"`
		Unit string `json:"unit"`
	}
	b.sam.JSON(&rows, "outbox", "list")
	if last := rows[len(rows)-1]; last.Kind != "decommission" || last.Unit != res.Serial {
		t.Errorf("outbox ends with %+v, want the decommission record", last)
	}
	if r := b.sam.MustRun("sync"); !strings.Contains(r.Stdout, "refused 0") {
		t.Errorf("sync = %q", r.Stdout)
	}
	if r := b.sam.MustRun("journal", "list"); !strings.Contains(r.Stdout, "unit.decommissioned") || !strings.Contains(r.Stdout, "unit.decommission_refused") {
		t.Errorf("journal:\n%s", r.Stdout)
	}
}

// TestJobStaysWithItsUnit: once any of a job's keys went into a unit, the
// job cannot be paired with another one (its keys would end up split).
func TestJobStaysWithItsUnit(t *testing.T) {
	b := newBench(t)
	job := b.job("lobby,garage")
	a, other := b.unit(sim.Genuine), b.unit(sim.Genuine)
	b.sam.MustRun("pair", "--job", job, "--port", a.Link, "--confirm-label", b.label(a))
	b.sam.MustRun("install", "selftest", "--job", job, "--port", a.Link)
	b.sam.MustRun("burn", "--job", job, "--port", a.Link)
	r := b.sam.Run("pair", "--job", job, "--port", other.Link, "--confirm-label", b.label(other))
	if r.Code != 1 || !strings.Contains(r.Stderr, "already went") {
		t.Fatalf("pairing a burned job with another unit = %d %q", r.Code, r.Stderr)
	}
	for _, s := range other.slots(t) {
		if s.State != "empty" {
			t.Errorf("the other unit got a key: %+v", s)
		}
	}
	if r := b.sam.MustRun("journal", "list"); !strings.Contains(r.Stdout, "unit.pairing_refused") || !strings.Contains(r.Stdout, "slot.writing") {
		t.Errorf("journal:\n%s", r.Stdout)
	}
}

// TestSurveyGatesBurn: a survey whose verdict is no-go stops the burn before
// any key moves; fixing the survey (survey edit) lets it go on. The survey
// commands are exercised on the way.
func TestSurveyGatesBurn(t *testing.T) {
	b := newBench(t)
	job := b.job("lobby")
	u := b.unit(sim.Genuine)
	b.sam.MustRun("pair", "--job", job, "--port", u.Link, "--confirm-label", b.label(u))
	b.sam.MustRun("install", "selftest", "--job", job, "--port", u.Link)

	file := filepath.Join(t.TempDir(), "survey.yaml")
	tmpl := b.sam.MustRun("survey", "template", "--job", job).Stdout
	noPower := strings.Replace(tmpl, "source: mains", "source: none", 1)
	if noPower == tmpl {
		t.Fatal("template has no 'source: mains' to change")
	}
	if err := os.WriteFile(file, []byte(noPower), 0o600); err != nil {
		t.Fatal(err)
	}
	if r := b.sam.Run("survey", "new", "--job", job, "--from", file); r.Code != 2 || !strings.Contains(r.Stderr, "survey edit") {
		t.Errorf("survey new on a job that has one = %d %q", r.Code, r.Stderr)
	}
	if r := b.sam.MustRun("survey", "validate", "--from", file, "--job", job); !strings.Contains(r.Stdout, "NO-GO") {
		t.Errorf("survey validate = %q, want NO-GO", r.Stdout)
	}
	b.sam.MustRun("survey", "edit", "--job", job, "--from", file)
	r := b.sam.Run("burn", "--job", job, "--port", u.Link)
	if r.Code != 1 || !strings.Contains(r.Stderr, "not burning") || !strings.Contains(r.Stderr, "no-go") {
		t.Fatalf("burn with a no-go survey = %d %q", r.Code, r.Stderr)
	}
	for _, s := range u.slots(t) {
		if s.State != "empty" {
			t.Fatalf("a key reached the unit despite the no-go survey: %+v", s)
		}
	}
	// The signal measured at pairing was kept through the edit.
	var saved struct {
		Survey struct {
			Signal *struct {
				RSSI int `json:"rssi_dbm"`
			} `json:"signal"`
		} `json:"survey"`
	}
	b.sam.JSON(&saved, "survey", "show", "--job", job)
	if saved.Survey.Signal == nil || saved.Survey.Signal.RSSI == 0 {
		t.Errorf("survey after edit has no signal: %+v", saved)
	}
	// Fixed, the burn goes ahead.
	if err := os.WriteFile(file, []byte(tmpl), 0o600); err != nil {
		t.Fatal(err)
	}
	b.sam.MustRun("survey", "edit", "--job", job, "--from", file)
	if r := b.sam.MustRun("burn", "--job", job, "--port", u.Link); !strings.Contains(r.Stdout, "burned") {
		t.Errorf("burn after the survey was fixed = %q", r.Stdout)
	}
	// A file with a typo is refused with the line.
	bad := strings.Replace(tmpl, "address:", "adress:", 1)
	if err := os.WriteFile(file, []byte(bad), 0o600); err != nil {
		t.Fatal(err)
	}
	if r := b.sam.Run("survey", "validate", "--from", file); r.Code != 1 || !strings.Contains(r.Stderr, "adress") || !strings.Contains(r.Stderr, "line") {
		t.Errorf("survey validate of a typo = %d %q", r.Code, r.Stderr)
	}
}

// TestInstallSession follows `install status` through the steps run so far
// and checks `install finish` refuses while consent and notice are missing.
func TestInstallSession(t *testing.T) {
	b := newBench(t)
	job := b.job("lobby")
	u := b.unit(sim.Genuine)
	type status struct {
		Steps []struct {
			Step  string `json:"step"`
			State string `json:"state"`
		} `json:"steps"`
		Next     string `json:"next"`
		Finished bool   `json:"finished"`
	}
	state := func() (map[string]string, string) {
		var st status
		b.sam.JSON(&st, "install", "status", "--job", job)
		m := map[string]string{}
		for _, s := range st.Steps {
			m[s.Step] = s.State
		}
		return m, st.Next
	}
	m, next := state()
	if m["survey"] != "partial" || m["pair"] != "todo" || !strings.Contains(next, "latchkey pair") {
		t.Errorf("after the survey: %v, next %q", m, next)
	}
	b.sam.MustRun("pair", "--job", job, "--port", u.Link, "--confirm-label", b.label(u))
	m, next = state()
	if m["survey"] != "done" || m["pair"] != "done" || !strings.Contains(next, "install selftest") {
		t.Errorf("after pairing: %v, next %q", m, next)
	}
	if r := b.sam.Run("burn", "--job", job, "--port", u.Link); r.Code != 1 || !strings.Contains(r.Stderr, "self-test") {
		t.Errorf("burn before the self-test = %d %q", r.Code, r.Stderr)
	}
	if r := b.sam.MustRun("install", "selftest", "--job", job, "--port", u.Link); !strings.Contains(r.Stdout, "relay") {
		t.Errorf("install selftest = %q", r.Stdout)
	}
	b.sam.MustRun("burn", "--job", job, "--port", u.Link)
	m, next = state()
	if m["self-test"] != "done" || m["burn"] != "done" || !strings.Contains(next, "consent sign") {
		t.Errorf("after the burn: %v, next %q", m, next)
	}
	r := b.sam.Run("install", "finish", "--job", job)
	if r.Code != 1 || !strings.Contains(r.Stderr, "consent") || !strings.Contains(r.Stderr, "notice") {
		t.Errorf("install finish without consent and notice = %d %q", r.Code, r.Stderr)
	}
}

// TestSurveyOverrideAndPhotos: a no-go survey goes ahead only with a
// written, signed reason; photos are kept by their hash, non-images refused.
func TestSurveyOverrideAndPhotos(t *testing.T) {
	b := newBench(t)
	job := b.job("lobby")
	u := b.unit(sim.Genuine)
	b.sam.MustRun("pair", "--job", job, "--port", u.Link, "--confirm-label", b.label(u))
	b.sam.MustRun("install", "selftest", "--job", job, "--port", u.Link)
	dir := t.TempDir()
	file := filepath.Join(dir, "survey.yaml")
	tmpl := b.sam.MustRun("survey", "template", "--job", job).Stdout
	if err := os.WriteFile(file, []byte(strings.Replace(tmpl, "source: mains", "source: none", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	png := filepath.Join(dir, "lobby.png")
	// A 1x1 PNG.
	pngBytes, _ := base64.StdEncoding.DecodeString("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")
	if err := os.WriteFile(png, pngBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	text := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(text, []byte("not a photo"), 0o600); err != nil {
		t.Fatal(err)
	}
	if r := b.sam.Run("survey", "edit", "--job", job, "--from", file, "--photo", text); r.Code != 1 || !strings.Contains(r.Stderr, "notes.txt") {
		t.Errorf("survey edit with a text file as photo = %d %q", r.Code, r.Stderr)
	}
	b.sam.MustRun("survey", "edit", "--job", job, "--from", file, "--photo", png+":lobby door from inside")
	var saved struct {
		Survey struct {
			Photos []struct {
				SHA256  string `json:"sha256"`
				Caption string `json:"caption"`
			} `json:"photos"`
		} `json:"survey"`
	}
	b.sam.JSON(&saved, "survey", "show", "--job", job)
	sum := sha256.Sum256(pngBytes)
	if len(saved.Survey.Photos) != 1 || saved.Survey.Photos[0].SHA256 != hex.EncodeToString(sum[:]) || saved.Survey.Photos[0].Caption != "lobby door from inside" {
		t.Errorf("photos = %+v", saved.Survey.Photos)
	}
	if r := b.sam.Run("burn", "--job", job, "--port", u.Link); r.Code != 1 || !strings.Contains(r.Stderr, "no-go") {
		t.Fatalf("burn on a no-go survey = %d %q", r.Code, r.Stderr)
	}
	if r := b.sam.Run("survey", "override", "--job", job, "--reason", "ok"); r.Code != 2 {
		t.Errorf("override with a one-word reason = %d %q", r.Code, r.Stderr)
	}
	b.sam.MustRun("survey", "override", "--job", job, "--reason", "Building runs a generator line to the lobby today, ticket 4411")
	if r := b.sam.MustRun("burn", "--job", job, "--port", u.Link); !strings.Contains(r.Stdout, "burned") {
		t.Errorf("burn after the override = %q", r.Stdout)
	}
	// The override carries through to the consent.
	b.sam.MustRun("install", "selftest", "--job", job, "--port", u.Link)
	b.sam.MustRun("consent", "sign", "--job", job, "--port", u.Link, "--signer-name", "Ana Ruiz", "--signer-title", "Property manager",
		"--authority", "managing-agent", "--tenant-notice-by", time.Now().AddDate(0, 0, 14).Format("2006-01-02"), "--agree",
		"--operator", "Parcelway Inc.", "--revoke-contact", "call 212-555-0100")
	if r := b.sam.Run("survey", "edit", "--job", job, "--from", file); r.Code != 1 || !strings.Contains(r.Stderr, "revoke it first") {
		t.Errorf("survey edit under a signed consent = %d %q", r.Code, r.Stderr)
	}
	if r := b.sam.MustRun("install", "status", "--job", job); !strings.Contains(r.Stdout, "overridden") {
		t.Errorf("install status does not show the override:\n%s", r.Stdout)
	}
	if r := b.sam.MustRun("journal", "list"); !strings.Contains(r.Stdout, "survey.override") {
		t.Errorf("journal has no override entry:\n%s", r.Stdout)
	}
}
