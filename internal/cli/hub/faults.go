package hub

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/latchkey/latchkey/internal/cli/campaign"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// Campaign is a fault campaign: real latchkey processes (a hub and a
// laptop), with `kill -9` of the client at random moments during `sync` and
// of the hub during intake, round after round; at the end, one clean sync,
// and the check that the hub holds every queued record exactly once with
// the digest the laptop signed, and the laptop holds nothing unsent.
type Campaign struct {
	// Binary is the latchkey executable to run.
	Binary string
	// Dir is the working directory: the hub's data and the laptop's home.
	Dir string
	// Rounds and Seed drive the random choices; the same seed makes the
	// same choices (timings still vary with the machine).
	Rounds int
	Seed   uint64
	// PerRound is how many visits the laptop queues each round.
	PerRound int
	// Log receives one line per round.
	Log io.Writer
}

// CampaignResult is what a campaign found.
type CampaignResult struct {
	Seed         uint64 `json:"seed"`
	Rounds       int    `json:"rounds"`
	Queued       int    `json:"queued"`
	ClientKills  int    `json:"client_kills"`
	HubKills     int    `json:"hub_kills"`
	HubRecords   int    `json:"hub_records"`
	Missing      int    `json:"missing"`
	Duplicates   int    `json:"duplicates"`
	WrongDigest  int    `json:"wrong_digest"`
	Unsent       int    `json:"unsent"`
	Seconds      string `json:"seconds"`
	ExactlyOnce  bool   `json:"exactly_once"`
	FinalSyncOut string `json:"-"`
}

// ErrCampaignFailed means the hub did not end up with every record exactly
// once.
var ErrCampaignFailed = errors.New("fault campaign found lost, duplicated or altered records")

// Run runs the campaign.
func (c *Campaign) Run(ctx context.Context) (CampaignResult, error) {
	start := time.Now()
	res := CampaignResult{Seed: c.Seed, Rounds: c.Rounds}
	rng := rand.New(rand.NewPCG(c.Seed, c.Seed^0x9e3779b97f4a7c15))
	hubData := filepath.Join(c.Dir, "hub")
	home := filepath.Join(c.Dir, "laptop")
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

	// Enroll a sales rep and log the laptop in.
	var enrolled struct {
		Code string `json:"code"`
	}
	out, err := c.run(ctx, home, "hub", "enroll", "--data", hubData, "--name", "campaign-rep", "--role", "sales", "--json")
	if err != nil {
		return res, err
	}
	if err := json.Unmarshal(out, &enrolled); err != nil || enrolled.Code == "" {
		return res, fmt.Errorf("hub enroll printed %q: %v", out, err)
	}
	if _, err := c.run(ctx, home, "login", "--hub", h.URL, "--code", enrolled.Code); err != nil {
		return res, err
	}

	// est is how long an undisturbed sync of one round takes here; kills
	// are drawn within it, so they land while records are in flight.
	est := 50 * time.Millisecond
	for round := 1; round <= c.Rounds; round++ {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		if err := c.queue(ctx, home, round); err != nil {
			return res, err
		}
		res.Queued += c.PerRound
		window := max(est*5/4, 5*time.Millisecond)
		killClient := rng.IntN(4) != 0 // most rounds
		killHub := rng.IntN(3) == 0
		clientDelay := time.Duration(rng.Int64N(int64(window)))
		hubDelay := time.Duration(rng.Int64N(int64(window)))

		started := time.Now()
		sync := exec.CommandContext(ctx, c.Binary, "sync", "--json")
		sync.Env = campaign.Env(home)
		if err := sync.Start(); err != nil {
			return res, fmt.Errorf("start sync: %w", err)
		}
		done := make(chan error, 1)
		go func() { done <- sync.Wait() }()

		var events []string
		var clientTimer, hubTimer <-chan time.Time
		if killClient {
			clientTimer = time.After(clientDelay)
		}
		if killHub {
			hubTimer = time.After(hubDelay)
		}
		finished, disturbed := false, false
		for !finished {
			select {
			case <-done:
				finished = true
			case <-clientTimer:
				clientTimer = nil
				if sync.Process.Signal(os.Kill) == nil {
					res.ClientKills++
					disturbed = true
					events = append(events, fmt.Sprintf("sync killed at %v", clientDelay.Round(time.Millisecond)))
				}
			case <-hubTimer:
				// The hub dies mid-intake and comes back on the same
				// address, as a supervisor would restart it; the sync
				// still running retries into the new process.
				hubTimer = nil
				if err := h.Kill(); err != nil {
					return res, err
				}
				res.HubKills++
				disturbed = true
				events = append(events, fmt.Sprintf("hub killed at %v", hubDelay.Round(time.Millisecond)))
				if err := h.Start(ctx, h.Addr); err != nil {
					return res, err
				}
			}
		}
		if !disturbed {
			est = (est + time.Since(started)) / 2
		}
		if len(events) == 0 {
			events = append(events, "no fault landed")
		}
		fmt.Fprintf(c.Log, "round %d/%d: queued %d, %s\n", round, c.Rounds, c.PerRound, strings.Join(events, ", "))
	}

	// One clean sync, then count.
	out, err = c.run(ctx, home, "sync", "--json")
	res.FinalSyncOut = string(out)
	if err != nil {
		return res, fmt.Errorf("final sync: %w", err)
	}
	if err := c.check(ctx, home, hubData, &res); err != nil {
		return res, err
	}
	res.Seconds = fmt.Sprintf("%.1f", time.Since(start).Seconds())
	res.ExactlyOnce = res.Missing == 0 && res.Duplicates == 0 && res.WrongDigest == 0 && res.Unsent == 0 && res.HubRecords == res.Queued
	if !res.ExactlyOnce {
		return res, fmt.Errorf("%w: queued %d, hub holds %d (missing %d, duplicated %d, altered %d), laptop unsent %d",
			ErrCampaignFailed, res.Queued, res.HubRecords, res.Missing, res.Duplicates, res.WrongDigest, res.Unsent)
	}
	return res, nil
}

// queue logs PerRound new visits on the laptop with one import (one
// transaction, PerRound outbox rows).
func (c *Campaign) queue(ctx context.Context, home string, round int) error {
	type building struct {
		Name    string `json:"name"`
		Address string `json:"address"`
		City    string `json:"city"`
		Units   int    `json:"units"`
	}
	type visit struct {
		VisitedAt string   `json:"visited_at"`
		Rep       string   `json:"rep"`
		Building  building `json:"building"`
		Outcome   string   `json:"outcome"`
		Notes     string   `json:"notes"`
	}
	visits := make([]visit, c.PerRound)
	at := time.Now().UTC().Add(-time.Hour).Truncate(time.Second).Format(time.RFC3339)
	for i := range visits {
		visits[i] = visit{
			VisitedAt: at,
			Rep:       "campaign-rep",
			Building:  building{Name: fmt.Sprintf("Block %d-%d", round, i), Address: fmt.Sprintf("%d Fault St", i+1), City: "Springfield", Units: 10 + i},
			Outcome:   "no-answer",
			Notes:     fmt.Sprintf("campaign %d round %d visit %d", c.Seed, round, i),
		}
	}
	b, err := json.Marshal(visits)
	if err != nil {
		return err
	}
	file := filepath.Join(c.Dir, fmt.Sprintf("round-%03d.json", round))
	if err := os.WriteFile(file, b, 0o600); err != nil {
		return err
	}
	_, err = c.run(ctx, home, "visit", "import", file)
	return err
}

// check compares the laptop's outbox with the hub's records.
func (c *Campaign) check(ctx context.Context, home, hubData string, res *CampaignResult) error {
	type row struct {
		ID     string `json:"id"`
		Digest string `json:"digest"`
		State  string `json:"state"`
	}
	out, err := c.run(ctx, home, "outbox", "list", "--all", "--json")
	if err != nil {
		return err
	}
	var local []row
	if err := json.Unmarshal(out, &local); err != nil {
		return fmt.Errorf("read outbox list: %w", err)
	}
	out, err = c.run(ctx, home, "hub", "records", "list", "--data", hubData, "--json")
	if err != nil {
		return err
	}
	var remote []row
	if err := json.Unmarshal(out, &remote); err != nil {
		return fmt.Errorf("read hub records: %w", err)
	}
	res.HubRecords = len(remote)
	seen := map[string]int{}
	digest := map[string]string{}
	for _, r := range remote {
		seen[r.ID]++
		digest[r.ID] = r.Digest
	}
	for _, n := range seen {
		if n > 1 {
			res.Duplicates += n - 1
		}
	}
	for _, l := range local {
		if l.State != "sent" {
			res.Unsent++
		}
		switch d, ok := digest[l.ID]; {
		case !ok:
			res.Missing++
		case d != l.Digest:
			res.WrongDigest++
		}
	}
	if len(local) != res.Queued {
		return fmt.Errorf("%w: the laptop's outbox holds %d records, %d were queued", ErrCampaignFailed, len(local), res.Queued)
	}
	return nil
}

func (c *Campaign) run(ctx context.Context, home string, args ...string) ([]byte, error) {
	return campaign.Run(ctx, c.Binary, home, args...)
}
