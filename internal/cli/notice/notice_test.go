package notice_test

// The tenant notice and the courier gate through the command line, as an
// installer and the back office run them: the virtual unit on a pty, the
// back office on loopback, real records. The consent is put in the laptop's
// store by hand (its command comes with another change): a consents row and
// a signed consent record in the outbox, as consent signing leaves them.

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/cli"
	noticecmd "github.com/latchkey/latchkey/internal/cli/notice"
	"github.com/latchkey/latchkey/internal/cli/unitopt"
	"github.com/latchkey/latchkey/internal/consent/notice"
	"github.com/latchkey/latchkey/internal/device"
	"github.com/latchkey/latchkey/internal/provision"
	"github.com/latchkey/latchkey/internal/record"
	"github.com/latchkey/latchkey/internal/sim"
	"github.com/latchkey/latchkey/internal/testutil/clitest"
	"github.com/latchkey/latchkey/internal/testutil/hubtest"
	"github.com/latchkey/latchkey/internal/testutil/simtest"
)

// bench is an office, an installer's laptop that trusts a test factory, and
// one unit of that factory (the pattern of internal/cli/provision's tests).
type bench struct {
	t       *testing.T
	office  *hubtest.Office
	sam     *clitest.Machine
	factory string
	unit    *simtest.Sim
	unitDir string
}

func newBench(t *testing.T) *bench {
	t.Helper()
	b := &bench{t: t, office: hubtest.Start(t), factory: filepath.Join(t.TempDir(), "factory")}
	b.sam = b.office.Join("sam", "installer")
	if _, err := (sim.DirFactory{Dir: b.factory}).RootDER(); err != nil {
		t.Fatal(err)
	}
	b.sam.MustRun("trust", "add", "--allow-test-root", filepath.Join(b.factory, "root.pem"))
	b.unitDir = t.TempDir()
	u, err := sim.Open(sim.Config{Seed: 301, Dir: b.unitDir})
	if err != nil {
		t.Fatal(err)
	}
	lk := sim.NewLatchkey(sim.LatchkeyConfig{Seed: 301, Chain: sim.DirFactory{Dir: b.factory}, Unseal: provision.OpenKey})
	b.unit = simtest.Start(t, sim.Options{Unit: u, Extensions: []sim.Extension{lk.Extension()}}, simtest.Config{})
	return b
}

// job creates a job for sam, pulls it, surveys it and pairs the unit; it
// returns the job id and the unit's serial.
func (b *bench) job() (string, string) {
	b.t.Helper()
	id := b.office.MustHub("job", "create", "--building", "Elm Court", "--address", "12 Elm St, Springfield", "--doors", "lobby",
		"--hours", "Mo-Fr 08:00-20:00", "--installer", "sam")
	b.sam.MustRun("jobs", "pull")
	file := filepath.Join(b.t.TempDir(), "survey.yaml")
	if err := os.WriteFile(file, []byte(b.sam.MustRun("survey", "template", "--job", id).Stdout), 0o600); err != nil {
		b.t.Fatal(err)
	}
	b.sam.MustRun("survey", "new", "--job", id, "--from", file)
	var st struct {
		Identity struct{ Serial, Label string } `json:"identity"`
	}
	b.sam.JSON(&st, "diag", "status", "--port", b.unit.Link)
	b.sam.MustRun("pair", "--job", id, "--port", b.unit.Link, "--confirm-label", st.Identity.Label)
	b.sam.MustRun("install", "selftest", "--job", id, "--port", b.unit.Link)
	return id, st.Identity.Serial
}

// consent leaves what signing a consent leaves: a consents row with the
// notice date, and the signed record queued for the back office.
func (b *bench) consent(job, serial, due string) {
	b.t.Helper()
	ctx := context.Background()
	f, _, _ := b.sam.Factory("")
	defer f.Close()
	st, err := f.Store(ctx)
	if err != nil {
		b.t.Fatal(err)
	}
	ob, err := f.Outbox(ctx)
	if err != nil {
		b.t.Fatal(err)
	}
	now := b.sam.Now.UTC().Truncate(time.Second)
	id := fmt.Sprintf("c0a5e47e-0000-4000-8000-%012d", now.Unix()%1e12)
	payload := map[string]any{
		"id": id, "created_at": now, "expires_at": now.AddDate(1, 0, 0), "job": job, "unit": serial,
		"operator": "Parcelway Inc.",
		"doors":    []map[string]string{{"name": "lobby", "hours": "Mo-Fr 08:00-20:00"}},
		"logging":  map[string]any{"events": []string{"door.open"}, "retention_days": 30},
		"notice":   map[string]any{"by": "manager", "how": []string{"posted"}, "due": due},
	}
	err = st.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := ob.Add(ctx, tx, record.KindConsent, payload); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO consents (job, record_id, serial, envelope, terms_sha256, lang, notice_by, signed_at)
			SELECT job, record_id, unit, envelope, ?, 'en', ?, ? FROM outbox WHERE record_id = ?`,
			strings.Repeat("0", 64), due, now.Format(time.RFC3339), id)
		return err
	})
	if err != nil {
		b.t.Fatal(err)
	}
}

// run runs a command line on m with `notice` in the tree, as cli.Run does
// once the root registers it.
func run(m *clitest.Machine, args ...string) clitest.Result {
	f, out, errOut := m.Factory("")
	root := cli.NewCmdRoot(f)
	if c, _, err := root.Find([]string{"notice"}); err != nil || c == root {
		root.AddCommand(noticecmd.NewCmdNotice(f))
	}
	root.SetArgs(args)
	root.SetOut(f.IO.Out)
	root.SetErr(f.IO.ErrOut)
	_, err := root.ExecuteContextC(context.Background())
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	code := 0
	if err != nil {
		code = cli.PrintError(f.IO.ErrOut, err)
	}
	return clitest.Result{Code: code, Stdout: out.String(), Stderr: errOut.String()}
}

func mustRun(t *testing.T, m *clitest.Machine, args ...string) clitest.Result {
	t.Helper()
	r := run(m, args...)
	if r.Code != 0 {
		t.Fatalf("latchkey %s: exit %d\n%s\n%s", strings.Join(args, " "), r.Code, r.Stdout, r.Stderr)
	}
	return r
}

var contact = []string{"--contact-name", "Parcelway tenant desk", "--contact-phone", "+1 555 0100",
	"--policy-url", "https://parcelway.example/policy"}

func with(args ...string) []string { return append(args, contact...) }

// photo writes a small PNG (its magic is all the kind check reads).
func photo(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "board.png")
	data := append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), bytes.Repeat([]byte{0}, 64)...)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// doorConfig reads the unit's door configuration over its link.
func (b *bench) doorConfig() device.DoorConfig {
	b.t.Helper()
	f, _, _ := b.sam.Factory("")
	defer f.Close()
	l, err := unitopt.Open(context.Background(), f, unitopt.Flags{Port: b.unit.Link})
	if err != nil {
		b.t.Fatal(err)
	}
	defer l.Close()
	c, err := l.Unit.DoorConfig(context.Background())
	if err != nil {
		b.t.Fatal(err)
	}
	return c
}

func TestNoticePrint(t *testing.T) {
	b := newBench(t)
	job, serial := b.job()
	b.consent(job, serial, "2026-12-01")

	// Without a contact, print names the flags to give.
	if r := run(b.sam, "notice", "print", "--job", job); r.Code != 1 || !strings.Contains(r.Stderr, "--contact-name") || !strings.Contains(r.Stderr, "--policy-url") {
		t.Errorf("print without a contact = %d %q", r.Code, r.Stderr)
	}
	for _, lang := range notice.Languages() {
		t.Run(lang, func(t *testing.T) {
			r := mustRun(t, b.sam, with("notice", "print", "--job", job[:6], "--lang", lang)...)
			if m := notice.Check(r.Stdout, lang); len(m) > 0 {
				t.Errorf("printed notice fails the content check: %v\n%s", m, r.Stdout)
			}
			// Facts from the consent, the job and the survey.
			for _, want := range []string{"Elm Court", "12 Elm St, Springfield", "Parcelway Inc.", "30 ", "lobby", "2026", "+1 555 0100"} {
				if !strings.Contains(r.Stdout, want) {
					t.Errorf("notice lacks %q:\n%s", want, r.Stdout)
				}
			}
			out := filepath.Join(t.TempDir(), "notice.pdf")
			mustRun(t, b.sam, with("notice", "print", "--job", job, "--lang", lang, "--format", "pdf", "-o", out)...)
			pdf, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.HasPrefix(pdf, []byte("%PDF")) {
				t.Errorf("PDF starts with %q", pdf[:min(8, len(pdf))])
			}
		})
	}
	if r := run(b.sam, with("notice", "print", "--job", job, "--lang", "fr")...); r.Code != 2 || !strings.Contains(r.Stderr, "--lang") {
		t.Errorf("print --lang fr = %d %q", r.Code, r.Stderr)
	}
}

func TestNoticeRecordValidation(t *testing.T) {
	b := newBench(t)
	job, _ := b.job()
	tests := []struct {
		name string
		args []string
		code int
		say  string
	}{
		{"posted without a photo", []string{"--how", "posted", "--given-at", "1h", "--where", "lobby"}, 2, "--photo"},
		{"posted without a place", []string{"--how", "posted", "--given-at", "1h", "--photo", photo(t)}, 2, "--where"},
		{"mailed without a count", []string{"--how", "mailed", "--given-at", "1h"}, 2, "--recipients"},
		{"unknown way", []string{"--how", "told", "--given-at", "1h"}, 2, "posted, mailed or emailed"},
		{"no time", []string{"--how", "mailed", "--recipients", "3"}, 2, "--given-at"},
		{"bad time", []string{"--how", "mailed", "--recipients", "3", "--given-at", "soon"}, 2, "not a time"},
		{"given tomorrow", []string{"--how", "mailed", "--recipients", "3", "--given-at", clitest.DefaultNow.Add(24 * time.Hour).Format(time.RFC3339)}, 1, "after now"},
		{"photo not a photo", []string{"--how", "posted", "--given-at", "1h", "--where", "lobby", "--photo", "notice_test.go"}, 1, "not a photo"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := run(b.sam, with(append([]string{"notice", "record", "--job", job, "--operator", "Parcelway Inc."}, tt.args...)...)...)
			if r.Code != tt.code || !strings.Contains(r.Stderr, tt.say) {
				t.Errorf("exit %d %q, want exit %d saying %q", r.Code, r.Stderr, tt.code, tt.say)
			}
		})
	}
	var list struct {
		Notices []json.RawMessage `json:"notices"`
	}
	r := mustRun(t, b.sam, "notice", "list", "--job", job, "--json")
	if err := json.Unmarshal([]byte(r.Stdout), &list); err != nil || len(list.Notices) != 0 {
		t.Errorf("notice list after refusals = %s (%v), want none", r.Stdout, err)
	}
}

// TestCourierGate walks the gate through the command line: refused with no
// notice, refused before the notice date, allowed after it; the unit's door
// configuration follows, and the back office shows the unit awaiting tenant
// notice, then enables it.
func TestCourierGate(t *testing.T) {
	b := newBench(t)
	job, serial := b.job()
	port := []string{"--port", b.unit.Link}
	hubUnit := func() map[string]any {
		t.Helper()
		var units []map[string]any
		if err := json.Unmarshal([]byte(b.office.MustHub("units", "list", "--json")), &units); err != nil {
			t.Fatal(err)
		}
		for _, u := range units {
			if u["serial"] == serial {
				c, _ := u["courier"].(map[string]any)
				return c
			}
		}
		t.Fatalf("hub units list has no %s", serial)
		return nil
	}
	on := func() clitest.Result {
		return b.sam.Run(append([]string{"unit", "courier", "on", "--job", job}, port...)...)
	}

	// No consent, no notice.
	if r := on(); r.Code != 1 || !strings.Contains(r.Stderr, "no notice recorded") {
		t.Errorf("courier on with no notice = %d %q", r.Code, r.Stderr)
	}
	b.consent(job, serial, "2026-12-01") // six days after the machine's clock
	if r := on(); r.Code != 1 || !strings.Contains(r.Stderr, "no notice recorded") {
		t.Errorf("courier on with a consent but no notice = %d %q", r.Code, r.Stderr)
	}
	b.sam.MustRun("sync")
	if c := hubUnit(); c["state"] != "awaiting tenant notice" || !strings.Contains(fmt.Sprint(c["reason"]), "no notice recorded") {
		t.Errorf("hub courier before the notice = %v", c)
	}
	if r := b.office.Hub("units", "courier", serial, "--enable"); r.Code != 1 || !strings.Contains(r.Stderr, "no notice recorded") {
		t.Errorf("hub enable before the notice = %d %q", r.Code, r.Stderr)
	}

	r := mustRun(t, b.sam, with("notice", "record", "--job", job, "--how", "posted", "--given-at", "2h",
		"--photo", photo(t), "--where", "lobby notice board")...)
	if !strings.Contains(r.Stderr, "tenant notice period runs until 2026-12-01") {
		t.Errorf("notice record = %q %q", r.Stdout, r.Stderr)
	}
	// Before the notice date.
	if r := on(); r.Code != 1 || !strings.Contains(r.Stderr, "tenant notice period runs until 2026-12-01") {
		t.Errorf("courier on before the notice date = %d %q", r.Code, r.Stderr)
	}
	if c := b.doorConfig(); c.Courier {
		t.Fatal("the unit lets couriers in before the notice date")
	}
	b.sam.MustRun("sync")
	if c := hubUnit(); c["state"] != "awaiting tenant notice" || !strings.Contains(fmt.Sprint(c["reason"]), "runs until 2026-12-01") {
		t.Errorf("hub courier in the notice period = %v", c)
	}

	// After the notice date, on both sides.
	b.sam.Now = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	b.office.Admin.Now = b.sam.Now
	before := b.doorConfig()
	r = b.sam.MustRun(append([]string{"unit", "courier", "on", "--job", job}, port...)...)
	if !strings.Contains(r.Stdout, "courier access on on unit "+serial) {
		t.Errorf("courier on = %q", r.Stdout)
	}
	after := b.doorConfig()
	if !after.Courier || after.PulseMS != before.PulseMS || after.Mode != before.Mode || after.TZ != before.TZ {
		t.Errorf("door configuration %+v after courier on, was %+v", after, before)
	}
	if c := hubUnit(); c["state"] != "courier off" || c["allowed"] != true {
		t.Errorf("hub courier after the notice date = %v", c)
	}
	b.office.MustHub("units", "courier", serial, "--enable")
	if c := hubUnit(); c["state"] != "courier on" {
		t.Errorf("hub courier after enable = %v", c)
	}
	if out := b.office.MustHub("units", "list"); !strings.Contains(out, "courier on") {
		t.Errorf("hub units list =\n%s", out)
	}

	// Off is always allowed.
	b.sam.MustRun(append([]string{"unit", "courier", "off", "--job", job}, port...)...)
	if b.doorConfig().Courier {
		t.Error("courier off left couriers in")
	}
	j := b.sam.MustRun("journal", "list").Stdout
	for _, want := range []string{"notice.recorded", "unit.courier_refused", "unit.courier_on", "unit.courier_off"} {
		if !strings.Contains(j, want) {
			t.Errorf("journal lacks %s:\n%s", want, j)
		}
	}
}
