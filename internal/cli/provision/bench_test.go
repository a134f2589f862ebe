package provision_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/provision"
	"github.com/latchkey/latchkey/internal/sim"
	"github.com/latchkey/latchkey/internal/testutil/simtest"
)

// BenchmarkScriptedInstall times a scripted install (the step commands, no
// wizard) against the virtual unit at 115200 baud: pair → self-test → burn
// (two doors) → consent (signed, countersigned by the unit) → queued.
// Target: < 2 s of machine time. Job, survey and unit are set up outside
// the clock; the hub is on loopback.
func BenchmarkScriptedInstall(b *testing.B) {
	var total time.Duration
	n := 0
	for b.Loop() {
		b.StopTimer()
		bn := newBench(b)
		job := bn.job("lobby,garage")
		bn.seed++
		u, err := sim.Open(sim.Config{Seed: bn.seed, Dir: b.TempDir()})
		if err != nil {
			b.Fatal(err)
		}
		lk := sim.NewLatchkey(sim.LatchkeyConfig{Seed: bn.seed, Chain: sim.DirFactory{Dir: bn.factory}, Unseal: provision.OpenKey})
		s := simtest.Start(b, sim.Options{Unit: u, Baud: 115200, Extensions: []sim.Extension{lk.Extension()}}, simtest.Config{})
		label := u.Label()
		notice := time.Now().AddDate(0, 0, 14).Format("2006-01-02")
		b.StartTimer()
		start := time.Now()
		bn.sam.MustRun("pair", "--job", job, "--port", s.Link, "--confirm-label", label)
		bn.sam.MustRun("install", "selftest", "--job", job, "--port", s.Link)
		bn.sam.MustRun("burn", "--job", job, "--port", s.Link)
		bn.sam.MustRun("consent", "sign", "--job", job, "--port", s.Link, "--signer-name", "Ana Ruiz", "--signer-title", "Property manager",
			"--authority", "managing-agent", "--tenant-notice-by", notice, "--agree",
			"--operator", "Parcelway Inc.", "--revoke-contact", "call 212-555-0100")
		total += time.Since(start)
		n++
	}
	avg := total / time.Duration(max(n, 1))
	b.ReportMetric(avg.Seconds(), "s/install")
	fmt.Printf("scripted install at 115200 baud (pair, self-test, burn 2 doors, consent, queued): %.2f s (target < 2 s)\n", avg.Seconds())
}
