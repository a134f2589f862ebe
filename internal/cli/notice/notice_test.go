package notice_test

// The tenant notice and the courier gate through the command line, as an
// installer and the back office run them: the virtual unit on a pty, the
// back office on loopback, real records. The consent is signed with
// `consent sign` and countersigned by the unit; one test forges a consent
// by hand (a consents row and a record signed by the installer alone) to
// show the back office refuses it.

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/cli"
	noticecmd "github.com/latchkey/latchkey/internal/cli/notice"
	"github.com/latchkey/latchkey/internal/cli/unitopt"
	"github.com/latchkey/latchkey/internal/consent"
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

// job creates a job for sam, pulls it, surveys it, pairs the unit, runs
// its self-test and burns its keys, as an install does before the consent;
// it returns the job id and the unit's serial.
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
	b.sam.MustRun("burn", "--job", id, "--port", b.unit.Link)
	return id, st.Identity.Serial
}

// due is a tenant notice date six days after the laptop's clock.
func (b *bench) due() string { return b.sam.Now.UTC().AddDate(0, 0, 6).Format(time.DateOnly) }

// consent has the manager sign the job's consent with `consent sign`, the
// unit on the cable countersigning it; it returns the consent's record id.
func (b *bench) consent(job, due string) string {
	b.t.Helper()
	var s struct {
		Record   string `json:"record"`
		NoticeBy string `json:"notice_by"`
	}
	b.sam.JSON(&s, "consent", "sign", "--job", job, "--port", b.unit.Link,
		"--signer-name", "María Ortiz", "--signer-title", "Property manager", "--authority", "managing-agent",
		"--tenant-notice-by", due, "--operator", "Parcelway Inc.", "--retention-days", "30",
		"--revoke-contact", "call 212-555-0100", "--agree")
	if s.Record == "" || s.NoticeBy != due {
		b.t.Fatalf("consent sign = %+v", s)
	}
	return s.Record
}

// forgeConsent leaves what signing a consent leaves, made by hand: a
// consents row with the notice date and a complete consent record queued
// for the back office, but signed by the installer alone (no unit
// countersigned it). It returns the record id.
func (b *bench) forgeConsent(job, serial, due string) string {
	b.t.Helper()
	ctx := context.Background()
	now := b.sam.Now.UTC().Truncate(time.Second)
	facts := consent.Facts{
		Job: job, Operator: "Parcelway Inc.", Installer: "sam",
		Building:  consent.Building{Name: "Elm Court", Address: "12 Elm St, Springfield"},
		Doors:     []consent.Door{{Name: "lobby", Hours: "Mo-Fr 08:00-20:00"}},
		Logging:   consent.Logging{Events: []string{consent.EventDoorOpen}, RetentionDays: 30},
		Notice:    consent.Notice{By: consent.NoticeByManager, How: []string{consent.NoticePosted}, Due: due},
		Incentive: "none", Revoke: "call 212-555-0100",
		Unit: consent.Unit{Serial: serial, Attestation: strings.Repeat("ab", 32),
			Nonce: base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32))},
		Receipts: []consent.Receipt{{Door: "lobby", Slot: 0, KCV: "a1b2c3"}},
		Survey:   strings.Repeat("cd", 32), Captured: consent.Flags,
	}
	terms, err := consent.TermsFor(consent.CurrentVersion, "en", facts)
	if err != nil {
		b.t.Fatal(err)
	}
	c, err := consent.Build(facts, consent.Signer{Name: "María Ortiz", Title: "Property manager", Authority: consent.ManagingAgent,
		Intent: terms.Intent, SignedAt: now.Add(-time.Minute)}, terms, now, rand.Reader)
	if err != nil {
		b.t.Fatal(err)
	}
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
	err = st.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := ob.Add(ctx, tx, record.KindConsent, c); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO consents (job, record_id, serial, envelope, terms_sha256, lang, notice_by, signed_at)
			SELECT job, record_id, unit, envelope, ?, 'en', ?, ? FROM outbox WHERE record_id = ?`,
			terms.SHA256, due, now.Format(time.RFC3339), c.ID)
		return err
	})
	if err != nil {
		b.t.Fatal(err)
	}
	return c.ID
}

// hubCourier is the unit's courier state in `hub units list --json`.
func (b *bench) hubCourier(serial string) map[string]any {
	b.t.Helper()
	var units []map[string]any
	if err := json.Unmarshal([]byte(b.office.MustHub("units", "list", "--json")), &units); err != nil {
		b.t.Fatal(err)
	}
	for _, u := range units {
		if u["serial"] == serial {
			c, _ := u["courier"].(map[string]any)
			return c
		}
	}
	b.t.Fatalf("hub units list has no %s", serial)
	return nil
}

// setClock sets the laptop's and the back office's clocks.
func (b *bench) setClock(t time.Time) { b.sam.Now, b.office.Admin.Now = t, t }

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
	job, _ := b.job()
	b.consent(job, b.due())

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
	b.consent(job, b.due())
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
		{"given tomorrow", []string{"--how", "mailed", "--recipients", "3", "--given-at", b.sam.Now.Add(24 * time.Hour).Format(time.RFC3339)}, 1, "after now"},
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
	on := func() clitest.Result {
		return b.sam.Run(append([]string{"unit", "courier", "on", "--job", job}, port...)...)
	}

	// No consent, no notice.
	if r := on(); r.Code != 1 || !strings.Contains(r.Stderr, "no notice recorded") {
		t.Errorf("courier on with no notice = %d %q", r.Code, r.Stderr)
	}
	signed := b.sam.Now
	b.setClock(signed)
	due := b.due() // six days after the consent
	id := b.consent(job, due)
	if r := on(); r.Code != 1 || !strings.Contains(r.Stderr, "no notice recorded") {
		t.Errorf("courier on with a consent but no notice = %d %q", r.Code, r.Stderr)
	}
	b.sam.MustRun("sync")
	if c := b.hubCourier(serial); c["consent"] != id || c["verified"] != true || c["state"] != "awaiting tenant notice" ||
		!strings.Contains(fmt.Sprint(c["reason"]), "no notice recorded") {
		t.Errorf("hub courier before the notice = %v", c)
	}
	if r := b.office.Hub("units", "courier", serial, "--enable"); r.Code != 1 || !strings.Contains(r.Stderr, "no notice recorded") {
		t.Errorf("hub enable before the notice = %d %q", r.Code, r.Stderr)
	}

	// Three hours on, the notice was posted an hour after the signing.
	b.setClock(signed.Add(3 * time.Hour))
	r := mustRun(t, b.sam, with("notice", "record", "--job", job, "--how", "posted", "--given-at", "2h",
		"--photo", photo(t), "--where", "lobby notice board")...)
	if !strings.Contains(r.Stderr, "tenant notice period runs until "+due) {
		t.Errorf("notice record = %q %q", r.Stdout, r.Stderr)
	}
	var list struct {
		Notices []struct {
			Consent string `json:"consent"`
		} `json:"notices"`
	}
	if err := json.Unmarshal([]byte(mustRun(t, b.sam, "notice", "list", "--job", job, "--json").Stdout), &list); err != nil ||
		len(list.Notices) != 1 || list.Notices[0].Consent != id {
		t.Errorf("notice list = %+v (%v), want one notice of consent %s", list, err, id)
	}
	// Before the notice date.
	if r := on(); r.Code != 1 || !strings.Contains(r.Stderr, "tenant notice period runs until "+due) {
		t.Errorf("courier on before the notice date = %d %q", r.Code, r.Stderr)
	}
	if c := b.doorConfig(); c.Courier {
		t.Fatal("the unit lets couriers in before the notice date")
	}
	b.sam.MustRun("sync")
	if c := b.hubCourier(serial); c["state"] != "awaiting tenant notice" || !strings.Contains(fmt.Sprint(c["reason"]), "runs until "+due) {
		t.Errorf("hub courier in the notice period = %v", c)
	}

	// After the notice date, on both sides.
	dueAt, err := time.Parse(time.DateOnly, due)
	if err != nil {
		t.Fatal(err)
	}
	b.setClock(dueAt.Add(9 * time.Hour))
	before := b.doorConfig()
	r = b.sam.MustRun(append([]string{"unit", "courier", "on", "--job", job}, port...)...)
	if !strings.Contains(r.Stdout, "courier access on on unit "+serial) {
		t.Errorf("courier on = %q", r.Stdout)
	}
	after := b.doorConfig()
	if !after.Courier || after.PulseMS != before.PulseMS || after.Mode != before.Mode || after.TZ != before.TZ {
		t.Errorf("door configuration %+v after courier on, was %+v", after, before)
	}
	// Couriers get the consent's hours (Mo-Fr 08:00-20:00), not all day.
	if want := []device.AccessWindow{{Days: 0x1f, From: 8 * 60, To: 20 * 60}}; !reflect.DeepEqual(after.Hours, want) {
		t.Errorf("door hours after courier on = %+v, want the consent's %+v", after.Hours, want)
	}
	if c := b.hubCourier(serial); c["state"] != "courier off" || c["allowed"] != true {
		t.Errorf("hub courier after the notice date = %v", c)
	}
	b.office.MustHub("units", "courier", serial, "--enable")
	if c := b.hubCourier(serial); c["state"] != "courier on" {
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

// TestHubRefusesForgedConsent: a consent record queued by hand, signed by
// the installer alone, with a notice recorded for it and its notice date
// passed, does not open the back office's courier gate: no unit
// countersigned it.
func TestHubRefusesForgedConsent(t *testing.T) {
	b := newBench(t)
	job, serial := b.job()
	signed := b.sam.Now
	b.setClock(signed)
	due := b.due()
	id := b.forgeConsent(job, serial, due)
	b.setClock(signed.Add(3 * time.Hour))
	mustRun(t, b.sam, with("notice", "record", "--job", job, "--how", "posted", "--given-at", "2h",
		"--photo", photo(t), "--where", "lobby notice board")...)
	b.sam.MustRun("sync")
	dueAt, err := time.Parse(time.DateOnly, due)
	if err != nil {
		t.Fatal(err)
	}
	b.setClock(dueAt.Add(9 * time.Hour))

	c := b.hubCourier(serial)
	reason := fmt.Sprint(c["reason"])
	if c["consent"] != id || c["verified"] != false || c["allowed"] != false || c["state"] != "courier off" ||
		!strings.HasPrefix(reason, "consent does not verify: ") || !strings.Contains(reason, "not signed by both the installer and the unit") {
		t.Errorf("hub courier of a consent signed by the installer alone = %v", c)
	}
	if out := b.office.MustHub("units", "list"); !strings.Contains(out, "consent does not verify") {
		t.Errorf("hub units list does not say why:\n%s", out)
	}
	r := b.office.Hub("units", "courier", serial, "--enable")
	if r.Code != 1 || !strings.Contains(r.Stderr, "consent does not verify") || !strings.Contains(r.Stderr, "countersigned by the paired unit") {
		t.Errorf("hub enable under a forged consent = %d %q", r.Code, r.Stderr)
	}
	if c := b.hubCourier(serial); c["state"] == "courier on" || c["enabled"] == true {
		t.Errorf("hub courier after a refused enable = %v", c)
	}
}

// TestNoticeCountsForItsConsent: a notice counts for the install only while
// the consent it was given for is in force; once that consent is revoked,
// install status no longer shows the notice step done.
func TestNoticeCountsForItsConsent(t *testing.T) {
	b := newBench(t)
	job, _ := b.job()
	signed := b.sam.Now
	b.setClock(signed)
	b.consent(job, b.due())
	b.setClock(signed.Add(3 * time.Hour))
	mustRun(t, b.sam, with("notice", "record", "--job", job, "--how", "posted", "--given-at", "2h",
		"--photo", photo(t), "--where", "lobby notice board")...)
	state := func() map[string]string {
		var st struct {
			Steps []struct{ Step, State string }
		}
		if err := json.Unmarshal([]byte(mustRun(t, b.sam, "install", "status", "--job", job, "--json").Stdout), &st); err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for _, s := range st.Steps {
			out[s.Step] = s.State
		}
		return out
	}
	if s := state(); s["notice"] != "done" || s["consent"] != "done" {
		t.Fatalf("before the revocation: %v", s)
	}
	mustRun(t, b.sam, "consent", "revoke", "--job", job, "--reason", "the board withdrew consent", "--by", "Ana Ruiz", "--role", "board", "--yes")
	if s := state(); s["notice"] != "todo" || s["consent"] != "blocked" {
		t.Errorf("after the revocation: %v, want the notice todo and the consent blocked", s)
	}
}
