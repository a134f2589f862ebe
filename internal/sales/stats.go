package sales

import (
	"context"
	"fmt"
	"sort"
	"time"
)

// OutcomeCount is one step of the funnel.
type OutcomeCount struct {
	Outcome Outcome `json:"outcome"`
	Count   int     `json:"count"`
	Percent float64 `json:"percent"`
}

// ObjectionCount is how often an objection was raised.
type ObjectionCount struct {
	Objection Objection `json:"objection"`
	Count     int       `json:"count"`
}

// IncentiveTotal sums the incentives of one kind in one currency.
type IncentiveTotal struct {
	Kind     string `json:"kind"`
	Currency string `json:"currency"`
	Offers   int    `json:"offers"`
	Total    string `json:"total"` // in main units, e.g. "1250.50"
	cents    int64
}

// RepStats are the pipeline figures of one rep, or of everyone.
type RepStats struct {
	Rep          string           `json:"rep"` // empty for the overall figures
	Visits       int              `json:"visits"`
	Buildings    int              `json:"buildings"`
	Funnel       []OutcomeCount   `json:"funnel"`
	Objections   []ObjectionCount `json:"objections"`
	Incentives   []IncentiveTotal `json:"incentives"`
	FollowUpsDue int              `json:"follow_ups_due"`
}

// Stats are the figures of `visit stats`.
type Stats struct {
	AsOf    string     `json:"as_of"` // the date follow-ups were counted as due by
	Overall RepStats   `json:"overall"`
	Reps    []RepStats `json:"reps"`
}

// Stats computes the funnel, objections, incentive totals and follow-ups due
// over the newest revision of every live visit that f selects (f.Limit and
// f.DueBy are ignored). A follow-up is due when its date is on or before
// today and the visit did not end signed or not-interested.
func (s *Service) Stats(ctx context.Context, f Filter, today time.Time) (Stats, error) {
	f.Limit, f.DueBy = 0, ""
	visits, _, err := s.List(ctx, f)
	if err != nil {
		return Stats{}, fmt.Errorf("visit stats: %w", err)
	}
	asOf := today.Format(DateLayout)
	overall := newTally("")
	byRep := map[string]*tally{}
	for _, v := range visits {
		overall.add(v, asOf)
		t := byRep[v.Rep]
		if t == nil {
			t = newTally(v.Rep)
			byRep[v.Rep] = t
		}
		t.add(v, asOf)
	}
	st := Stats{AsOf: asOf, Overall: overall.result(), Reps: []RepStats{}}
	for _, t := range byRep {
		st.Reps = append(st.Reps, t.result())
	}
	sort.Slice(st.Reps, func(i, j int) bool { return st.Reps[i].Rep < st.Reps[j].Rep })
	return st, nil
}

type tally struct {
	rs         RepStats
	outcomes   map[Outcome]int
	objections map[Objection]int
	incentives map[[2]string]*IncentiveTotal
	buildings  map[string]bool
}

func newTally(rep string) *tally {
	return &tally{rs: RepStats{Rep: rep}, outcomes: map[Outcome]int{}, objections: map[Objection]int{},
		incentives: map[[2]string]*IncentiveTotal{}, buildings: map[string]bool{}}
}

func (t *tally) add(v Visit, asOf string) {
	t.rs.Visits++
	t.outcomes[v.Outcome]++
	t.buildings[v.Building.Address+"\x00"+v.Building.City] = true
	for _, o := range v.Objections {
		t.objections[o]++
	}
	if !v.Incentive.IsNone() {
		k := [2]string{string(v.Incentive.Kind), v.Incentive.Currency}
		it := t.incentives[k]
		if it == nil {
			it = &IncentiveTotal{Kind: k[0], Currency: k[1]}
			t.incentives[k] = it
		}
		it.Offers++
		it.cents += v.Incentive.Cents
	}
	if v.FollowUp != "" && v.FollowUp <= asOf && v.Outcome != Signed && v.Outcome != NotInterested {
		t.rs.FollowUpsDue++
	}
}

func (t *tally) result() RepStats {
	rs := t.rs
	rs.Buildings = len(t.buildings)
	rs.Funnel = []OutcomeCount{}
	for _, o := range Outcomes() {
		c := OutcomeCount{Outcome: o, Count: t.outcomes[o]}
		if rs.Visits > 0 {
			c.Percent = float64(int(1000*float64(c.Count)/float64(rs.Visits)+0.5)) / 10
		}
		rs.Funnel = append(rs.Funnel, c)
	}
	rs.Objections = []ObjectionCount{}
	for o, n := range t.objections {
		rs.Objections = append(rs.Objections, ObjectionCount{Objection: o, Count: n})
	}
	sort.Slice(rs.Objections, func(i, j int) bool {
		a, b := rs.Objections[i], rs.Objections[j]
		return a.Count > b.Count || (a.Count == b.Count && a.Objection < b.Objection)
	})
	rs.Incentives = []IncentiveTotal{}
	for _, it := range t.incentives {
		v := *it
		v.Total = fmt.Sprintf("%d.%02d", v.cents/100, v.cents%100)
		rs.Incentives = append(rs.Incentives, v)
	}
	sort.Slice(rs.Incentives, func(i, j int) bool {
		a, b := rs.Incentives[i], rs.Incentives[j]
		return a.Kind < b.Kind || (a.Kind == b.Kind && a.Currency < b.Currency)
	})
	return rs
}
