package metrics

import "github.com/prometheus/client_golang/prometheus"

// Readings counts device messages (node/readings' Metrics): stored,
// delivered again, and stored to wait for review. Make it once per node
// with NewReadings, which registers its counters.
type Readings struct {
	stored *prometheus.CounterVec
	dups   *prometheus.CounterVec
	queued prometheus.Counter
}

// NewReadings registers the readings counters in m's registry.
func (m *Metrics) NewReadings() *Readings {
	r := &Readings{
		stored: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "carenode_readings_stored_total", Help: "Device messages stored durably, by format (hl7, json, nonin, and …).",
		}, []string{"format"}),
		dups: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "carenode_readings_duplicate_total", Help: "Device messages delivered again and already held (acknowledged, not stored twice).",
		}, []string{"format"}),
		queued: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "carenode_readings_queued_total", Help: "Device messages stored with no patient bound, waiting for review.",
		}),
	}
	m.Registry.MustRegister(r.stored, r.dups, r.queued)
	return r
}

// ReadingStored counts a new message.
func (r *Readings) ReadingStored(format string, queued bool) {
	r.stored.WithLabelValues(label(format)).Inc()
	if queued {
		r.queued.Inc()
	}
}

// ReadingDuplicate counts a message delivered again.
func (r *Readings) ReadingDuplicate(format string) { r.dups.WithLabelValues(label(format)).Inc() }

// label keeps the format label to the few values carenode writes, so a
// device cannot grow the label set.
func label(format string) string {
	switch format {
	case "hl7", "json", "nonin", "and", "accutorr":
		return format
	}
	return "other"
}
