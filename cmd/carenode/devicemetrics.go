package main

import (
	"github.com/prometheus/client_golang/prometheus"

	"carenode/devices/runner"
)

// deviceCollector exports the device front ends' status as Prometheus
// metrics, read from runner.Status at each scrape: one series per serial
// port (connected, last reading, counts of stored batches and of each kind
// of error) and the MLLP listener's and MQTT broker's counts.
type deviceCollector struct {
	r *runner.Runner

	connected, lastReading, portEvents, listenerEvents *prometheus.Desc
}

func newDeviceCollector(r *runner.Runner) *deviceCollector {
	return &deviceCollector{r: r,
		connected: prometheus.NewDesc("carenode_device_port_connected",
			"1 when the serial port's device is connected.", []string{"device", "path"}, nil),
		lastReading: prometheus.NewDesc("carenode_device_port_last_reading_seconds",
			"Unix time of the serial port's last stored reading (0 before the first).", []string{"device", "path"}, nil),
		portEvents: prometheus.NewDesc("carenode_device_port_events_total",
			"Serial port events by kind: stored, open_error, read_error, parse_error, store_error, open.", []string{"device", "path", "kind"}, nil),
		listenerEvents: prometheus.NewDesc("carenode_device_listener_events_total",
			"MLLP listener and MQTT broker events by kind.", []string{"listener", "kind"}, nil),
	}
}

func (c *deviceCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.connected
	ch <- c.lastReading
	ch <- c.portEvents
	ch <- c.listenerEvents
}

func (c *deviceCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.r.Status()
	for _, p := range st.Serial {
		conn := 0.0
		if p.Connected {
			conn = 1
		}
		ch <- prometheus.MustNewConstMetric(c.connected, prometheus.GaugeValue, conn, p.DeviceID, p.Path)
		last := 0.0
		if !p.LastReading.IsZero() {
			last = float64(p.LastReading.UnixNano()) / 1e9
		}
		ch <- prometheus.MustNewConstMetric(c.lastReading, prometheus.GaugeValue, last, p.DeviceID, p.Path)
		for kind, n := range map[string]uint64{"stored": p.Stored, "open": p.Opens, "open_error": p.OpenErrors,
			"read_error": p.ReadErrors, "parse_error": p.ParseErrors, "store_error": p.StoreErrors} {
			ch <- prometheus.MustNewConstMetric(c.portEvents, prometheus.CounterValue, float64(n), p.DeviceID, p.Path, kind)
		}
	}
	if m := st.MQTT; m != nil {
		for kind, n := range map[string]uint64{"stored": m.Stored, "unreadable": m.Unreadable, "failed": m.Failed, "refused": m.Refused} {
			ch <- prometheus.MustNewConstMetric(c.listenerEvents, prometheus.CounterValue, float64(n), "mqtt", kind)
		}
	}
	if m := st.MLLP; m != nil {
		for kind, n := range map[string]uint64{"accepted": m.Accepted, "error": m.Errors, "rejected": m.Rejected,
			"bad_frame": m.BadFrames, "refused": m.Refused} {
			ch <- prometheus.MustNewConstMetric(c.listenerEvents, prometheus.CounterValue, float64(n), "mllp", kind)
		}
	}
}
