package hub

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/latchkey/latchkey/internal/hubapi"
	"github.com/latchkey/latchkey/internal/record"
)

// metrics are one Server's Prometheus metrics, in a registry of its own so
// that two servers in one process (tests, the demo) do not collide.
type metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	records  *prometheus.CounterVec
	rejects  *prometheus.CounterVec
	replays  prometheus.Counter
}

func newMetrics() *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "latchkey_hub_http_requests_total",
			Help: "HTTP requests answered, by route and status.",
		}, []string{"route", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "latchkey_hub_http_request_duration_seconds",
			Help:    "Time to answer an HTTP request, by route and status.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route", "status"}),
		records: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "latchkey_hub_intake_records_total",
			Help: "Records taken in, by kind and outcome (stored or rejected); replayed answers are not counted again.",
		}, []string{"kind", "outcome"}),
		rejects: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "latchkey_hub_intake_rejects_total",
			Help: "Records rejected, by code.",
		}, []string{"code"}),
		replays: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "latchkey_hub_idempotent_replays_total",
			Help: "Intake requests answered from an earlier request with the same idempotency key.",
		}),
	}
	m.reg.MustRegister(m.requests, m.latency, m.records, m.rejects, m.replays,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return m
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

func (m *metrics) observeRequest(route string, status int, d time.Duration) {
	s := strconv.Itoa(status)
	m.requests.WithLabelValues(route, s).Inc()
	m.latency.WithLabelValues(route, s).Observe(d.Seconds())
}

// observeIntake counts the results of one intake request that was not a
// replay. Labels come from fixed sets (record kinds, hubapi codes), never
// from what a client wrote, so a hostile client cannot blow up the series.
func (m *metrics) observeIntake(rs []hubapi.RecordResult) {
	for _, r := range rs {
		kind := "unknown"
		if record.Kind(r.Kind).Valid() {
			kind = r.Kind
		}
		m.records.WithLabelValues(kind, r.Status).Inc()
		if r.Status == hubapi.StatusRejected {
			m.rejects.WithLabelValues(r.Code).Inc()
		}
	}
}
