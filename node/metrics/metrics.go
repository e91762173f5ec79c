package metrics

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"carenode/crdt"
)

// Metrics is one node's set of collectors, in a registry of its own (no
// global registry, so two nodes in one test process do not collide).
type Metrics struct {
	Registry *prometheus.Registry

	writes        prometheus.Counter
	commits       prometheus.Counter
	commitSeconds prometheus.Histogram
	batchSize     prometheus.Histogram
	logLength     prometheus.Gauge
	remoteApplied prometheus.Counter
	remoteDups    prometheus.Counter
	applySeconds  prometheus.Histogram
	skewEvents    prometheus.Counter
	skewAhead     prometheus.Gauge
	httpRequests  *prometheus.CounterVec
	httpSeconds   *prometheus.HistogramVec
}

// New makes the collectors and registers them, with Go runtime and process
// collectors beside them.
func New() *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		writes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "carenode_store_writes_total", Help: "Local writes committed durably.",
		}),
		commits: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "carenode_store_commits_total", Help: "Group-commit transactions of local writes.",
		}),
		commitSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "carenode_store_commit_seconds", Help: "Time to commit one group of local writes, fsync included.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
		}),
		batchSize: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "carenode_store_commit_batch_writes", Help: "Local writes gathered into one transaction.",
			Buckets: prometheus.ExponentialBuckets(1, 2, 11),
		}),
		logLength: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "carenode_store_change_log_length", Help: "Changes held in the change log.",
		}),
		remoteApplied: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "carenode_store_remote_changes_applied_total", Help: "Changes from other nodes stored.",
		}),
		remoteDups: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "carenode_store_remote_changes_duplicate_total", Help: "Changes from other nodes already held, skipped.",
		}),
		applySeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "carenode_store_remote_apply_seconds", Help: "Time to apply one batch of remote changes.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
		}),
		skewEvents: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "carenode_clock_skew_events_total", Help: "Remote changes stamped further ahead than the clock may follow (kept, clock not moved).",
		}),
		skewAhead: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "carenode_clock_skew_last_ahead_seconds", Help: "How far ahead of local time the last over-skewed remote stamp was.",
		}),
		httpRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "carenode_http_requests_total", Help: "HTTP requests served, by route and status code.",
		}, []string{"route", "code"}),
		httpSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "carenode_http_request_seconds", Help: "HTTP request latency by route.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
		}, []string{"route"}),
	}
	m.Registry.MustRegister(m.writes, m.commits, m.commitSeconds, m.batchSize, m.logLength,
		m.remoteApplied, m.remoteDups, m.applySeconds, m.skewEvents, m.skewAhead, m.httpRequests, m.httpSeconds,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Committed implements store.Observer.
func (m *Metrics) Committed(n int, d time.Duration) {
	m.writes.Add(float64(n))
	m.commits.Inc()
	m.batchSize.Observe(float64(n))
	m.commitSeconds.Observe(d.Seconds())
}

// Applied implements store.Observer.
func (m *Metrics) Applied(applied, dups int, d time.Duration) {
	m.remoteApplied.Add(float64(applied))
	m.remoteDups.Add(float64(dups))
	m.applySeconds.Observe(d.Seconds())
}

// LogLength implements store.Observer.
func (m *Metrics) LogLength(n uint64) { m.logLength.Set(float64(n)) }

// ClockSkew implements store.Observer.
func (m *Metrics) ClockSkew(ev crdt.SkewEvent) {
	m.skewEvents.Inc()
	m.skewAhead.Set(ev.Ahead.Seconds())
}

// SetLogLength sets the gauge at start, before any commit.
func (m *Metrics) SetLogLength(n uint64) { m.logLength.Set(float64(n)) }

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{Registry: m.Registry})
}

// Instrument wraps h, counting requests and timing them under route (a
// route pattern, not the raw path, so label values stay few).
func (m *Metrics) Instrument(route string, h http.Handler) http.Handler {
	seconds := m.httpSeconds.WithLabelValues(route)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, code: http.StatusOK}
		h.ServeHTTP(rec, r)
		seconds.Observe(time.Since(start).Seconds())
		m.httpRequests.WithLabelValues(route, strconv.Itoa(rec.code)).Inc()
	})
}

type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.code = code
	s.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }
