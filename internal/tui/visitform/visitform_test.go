package visitform

import (
	"reflect"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/incentive"
	"github.com/latchkey/latchkey/internal/sales"
)

func TestDraftRoundTrip(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 25, 15, 0, 0, 0, time.UTC)
	v := sales.Visit{
		Rep:        "Dana",
		Building:   sales.Building{Name: "Elm Court", Address: "12 Elm St", City: "Springfield", Units: 24},
		Contact:    sales.Contact{Name: "Ana", Role: sales.Manager, Phone: "+1 555 010 2000", Email: "ana@elm.example"},
		Outcome:    sales.FollowUp,
		Objections: []sales.Objection{sales.Privacy, sales.Cost},
		Incentive:  incentive.Offer{Kind: incentive.GiftCard, Cents: 10050, Currency: "USD"},
		FollowUp:   "2026-12-01",
		Notes:      "two\nlines",
	}
	var back sales.Visit
	back.Rep = v.Rep
	if err := FromVisit(v).Apply(&back, now); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, v) {
		t.Fatalf("round trip\n got %+v\nwant %+v", back, v)
	}
	// The form's relative dates become calendar dates.
	d := FromVisit(v)
	d.FollowUp = "+1w"
	if err := d.Apply(&back, now); err != nil || back.FollowUp != "2026-12-02" {
		t.Fatalf("+1w: %q %v", back.FollowUp, err)
	}
	for name, change := range map[string]func(*Draft){
		"units":     func(d *Draft) { d.Units = "lots" },
		"incentive": func(d *Draft) { d.Incentive = "gift-card:x:USD" },
		"follow-up": func(d *Draft) { d.FollowUp = "someday" },
	} {
		d := FromVisit(v)
		change(&d)
		if err := d.Apply(&back, now); err == nil {
			t.Errorf("bad %s accepted", name)
		}
	}
}
