package readings_test

import (
	"context"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"carenode/devices/mqtt"
	"carenode/devices/readingsink"
	"carenode/node/readings"
)

// BenchmarkStore stores distinct device messages (an MQTT JSON thermometer
// reading each) from many goroutines, as a broker's clients do, each
// durably (fsync) before it returns. It reports readings per second.
func BenchmarkStore(b *testing.B) {
	n := newNode(b, "nodeA")
	var seq atomic.Int64
	ctx := context.Background()
	start := time.Now()
	b.SetParallelism(16)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := seq.Add(1)
			payload := fmt.Appendf(nil, `{"id":"m-%d","readings":[{"type":"body-temperature","value":"36.%d","unit":"Cel"}]}`, i, i%10)
			bb, err := mqtt.Decode(payload, fmt.Sprintf("thermo-%d", i%20))
			if err != nil {
				b.Fatal(err)
			}
			bt := readingsink.Message(bb)
			bt.Received = t0
			if err := n.svc.Store(ctx, bt); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "readings/s")
}

// BenchmarkStoreDuplicate measures a resend of a message already held.
func BenchmarkStoreDuplicate(b *testing.B) {
	n := newNode(b, "nodeA")
	bt := readings.Message{DeviceID: "thermo-1", Format: "json", ControlID: "m-1", Raw: []byte("{}"), Received: t0}
	n.store1(b, bt)
	for b.Loop() {
		if err := n.svc.Store(context.Background(), bt); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkStoreLatency100 stores one reading every 10 ms (100 readings a
// second, a busy clinic's devices together) and reports the median and
// 99th-percentile time from Store's call to its durable return.
func BenchmarkStoreLatency100(b *testing.B) {
	n := newNode(b, "nodeA")
	ctx := context.Background()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	var lat []time.Duration
	i := 0
	for b.Loop() {
		<-tick.C
		i++
		m := readings.Message{DeviceID: fmt.Sprintf("thermo-%d", i%20), Format: "json", ControlID: fmt.Sprintf("m-%d", i),
			Raw: fmt.Appendf(nil, `{"id":"m-%d"}`, i), Received: t0,
			Observations: []readings.Observation{{Ref: "readings[0]", Kind: "body-temperature", LOINC: "8310-5", Value: 36.6, Unit: "Cel", RawValue: "36.6", RawUnit: "Cel"}}}
		start := time.Now()
		if err := n.svc.Store(ctx, m); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(start))
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}
