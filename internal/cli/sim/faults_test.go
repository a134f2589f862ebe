package sim_test

import (
	"context"
	"strings"
	"testing"
	"time"

	simcmd "github.com/latchkey/latchkey/internal/cli/sim"
	"github.com/latchkey/latchkey/internal/testutil/proc"
)

// TestBurnFaultCampaign runs 20 seeded rounds of the burn campaign with the
// real binary: cable pulls after writes, reboots, noise, lost bytes and
// SIGKILLed burns, each resumed; no burn may end partial, with a wrong key
// or with a slot written twice. The closing note of issue 6 reports a run
// of 200 (latchkey sim faults --count 200).
func TestBurnFaultCampaign(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs processes")
	}
	var log strings.Builder
	c := &simcmd.BurnCampaign{Binary: proc.Build(t), Dir: t.TempDir(), Rounds: 20, Seed: 20261125, Log: &log}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	res, err := c.Run(ctx)
	t.Logf("campaign:\n%s%+v", log.String(), res)
	if err != nil {
		t.Fatalf("campaign: %v", err)
	}
	if res.Burns != 20 || res.PartialBurns != 0 || res.WrongKeys != 0 || res.DuplicateWrites != 0 {
		t.Errorf("campaign result %+v", res)
	}
	if res.Faults == 0 || res.Kills == 0 {
		t.Errorf("no faults injected (%d) or no kills (%d): the campaign tested nothing", res.Faults, res.Kills)
	}
}
