package survey

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/record"
)

func TestRecord(t *testing.T) {
	t.Parallel()
	s := sample()
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	p, err := Record(s, now)
	if err != nil {
		t.Fatal(err)
	}
	h, err := Hash(s)
	if err != nil {
		t.Fatal(err)
	}
	if want := "survey.job-42." + h[:16]; p.ID != want {
		t.Errorf("id %q, want %q", p.ID, want)
	}
	if !p.CreatedAt.Equal(s.UpdatedAt) || !p.ExpiresAt.Equal(s.UpdatedAt.Add(180*24*time.Hour)) {
		t.Errorf("created %v expires %v", p.CreatedAt, p.ExpiresAt)
	}
	if p.Job != "job-42" || p.Unit != "LK1-000123" || p.SurveyHash != h || p.Verdict.Outcome != Go {
		t.Errorf("payload %+v", p)
	}
	// The payload is what the outbox signs: canonical JSON whose header the
	// back office reads without knowing surveys.
	body, err := record.Canonical(p)
	if err != nil {
		t.Fatal(err)
	}
	hd, err := record.ParseHeader(body)
	if err != nil || hd.ID != p.ID {
		t.Fatalf("ParseHeader %+v %v", hd, err)
	}
	var back struct {
		Survey  json.RawMessage `json:"survey"`
		Verdict Verdict         `json:"verdict"`
	}
	if err := json.Unmarshal(body, &back); err != nil {
		t.Fatal(err)
	}
	got, err := Parse(back.Survey, FormatJSON)
	if err != nil {
		t.Fatal(err)
	}
	if h2, _ := Hash(got); h2 != h {
		t.Error("the survey in the record does not hash as the survey")
	}

	// Same survey, later: same record. Changed survey: a new one.
	p2, _ := Record(s, now.Add(time.Hour))
	if p2.ID != p.ID || !p2.CreatedAt.Equal(p.CreatedAt) {
		t.Errorf("recording again gave %s at %v", p2.ID, p2.CreatedAt)
	}
	s.Notes = "changed"
	if p3, _ := Record(s, now); p3.ID == p.ID {
		t.Error("a changed survey kept its record id")
	}

	// Unsaved survey: created now; pending: no unit.
	s.UpdatedAt, s.Signal = time.Time{}, nil
	p4, err := Record(s, now)
	if err != nil {
		t.Fatal(err)
	}
	if !p4.CreatedAt.Equal(now) || p4.Unit != "" || p4.Verdict.Outcome != PendingSignal {
		t.Errorf("pending record %+v", p4.Header)
	}

	// A long job id still gives a header id within bounds.
	s.Job = strings.Repeat("j", 128)
	p5, err := Record(s, now)
	if err != nil || len(p5.ID) > 128 || p5.Job != s.Job {
		t.Errorf("long job: %q %v", p5.ID, err)
	}
}

func TestRecordRefusesInvalid(t *testing.T) {
	t.Parallel()
	s := sample()
	s.Building.Floors = 0
	if _, err := Record(s, time.Now()); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "building.floors") {
		t.Errorf("error %v", err)
	}
}
