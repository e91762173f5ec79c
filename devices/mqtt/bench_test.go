package mqtt

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"carenode/devices/internal/storesink"
	"carenode/node/store"
)

// Benchmarks: readings per second ingested over MQTT, and the latency from
// a device's send to its PUBACK, which the broker sends only once the
// reading is durably stored (fsynced) in a real store. Run:
//
//	go test -run '^$' -bench . -count 5 ./devices/mqtt

// benchBroker starts a broker over a real store with devices accounts
// named dev-0 … dev-(n-1), all with password benchPW.
func benchBroker(b *testing.B, devices int) (*Broker, *store.Store) {
	b.Helper()
	st := openStore(b, filepath.Join(b.TempDir(), "node.db"), "nodeA")
	book := openBook(b, st)
	for i := range devices {
		if err := book.Approve(context.Background(), fmt.Sprintf("dev-%d", i), benchPW, "admin"); err != nil {
			b.Fatal(err)
		}
	}
	cfg := DefaultConfig("127.0.0.1:0", "node1")
	cfg.Logger = slog.New(slog.DiscardHandler)
	cfg.Joins = book
	br, err := New(cfg, book, storesink.New(st))
	if err != nil {
		b.Fatal(err)
	}
	if err := br.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { br.Close() })
	return br, st
}

const benchPW = "bench-device-secret"

func benchDevice(b *testing.B, addr string, i int) paho.Client {
	b.Helper()
	id := fmt.Sprintf("dev-%d", i)
	opts := paho.NewClientOptions().AddBroker("tcp://" + addr).SetClientID(id).SetUsername(id).SetPassword(benchPW).
		SetCleanSession(false).SetProtocolVersion(4).SetAutoReconnect(false)
	c := paho.NewClient(opts)
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		b.Fatalf("connect %s: %v", id, tok.Error())
	}
	b.Cleanup(func() { c.Disconnect(50) })
	return c
}

func reading(device string, n int) []byte {
	return fmt.Appendf(nil, `{"id":"%s-%d","time":"2026-03-01T10:15:02+08:00","readings":[{"type":"body-temperature","value":"36.%d","unit":"Cel"}]}`,
		device, n, n%10)
}

// BenchmarkMQTTIngest: devices publish at QoS 1 as fast as their PUBACKs
// come back, each waiting for one before sending the next (as a device
// does: the broker reads a connection's packets one at a time, so one
// device has one reading in flight). Reports readings stored per second.
// The store commits the writes waiting at once in one transaction, so
// the rate grows with the devices sending together.
func BenchmarkMQTTIngest(b *testing.B) {
	for _, devices := range []int{8, 32, 128} {
		b.Run(fmt.Sprintf("devices=%d", devices), func(b *testing.B) { benchIngest(b, devices) })
	}
}

func benchIngest(b *testing.B, devices int) {
	br, _ := benchBroker(b, devices)
	clients := make([]paho.Client, devices)
	for i := range clients {
		clients[i] = benchDevice(b, br.Addr(), i)
	}
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for i, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := fmt.Sprintf("dev-%d", i)
			for n := i; n < b.N; n += devices {
				tok := c.Publish(Topic("node1", id), 1, false, reading(id, n))
				if !tok.WaitTimeout(30*time.Second) || tok.Error() != nil {
					b.Errorf("publish: %v", tok.Error())
					return
				}
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "readings/s")
	if st := br.Stats(); st.Stored != uint64(b.N) {
		b.Fatalf("stored %d of %d", st.Stored, b.N)
	}
}

// BenchmarkMQTTLatency100PerSecond: 4 devices send 100 readings a second
// in all, paced; reports the p50 and p99 of send-to-PUBACK (the PUBACK
// leaves the broker only after the reading is fsynced). Use -benchtime
// 500x or more for a p99 worth reading.
func BenchmarkMQTTLatency100PerSecond(b *testing.B) {
	const devices = 4
	br, _ := benchBroker(b, devices)
	clients := make([]paho.Client, devices)
	for i := range clients {
		clients[i] = benchDevice(b, br.Addr(), i)
	}
	lat := make([]time.Duration, b.N)
	var wg sync.WaitGroup
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	b.ResetTimer()
	for n := range b.N {
		<-tick.C
		i := n % devices
		id := fmt.Sprintf("dev-%d", i)
		wg.Add(1)
		go func() {
			defer wg.Done()
			t0 := time.Now()
			tok := clients[i].Publish(Topic("node1", id), 1, false, reading(id, n))
			if !tok.WaitTimeout(30*time.Second) || tok.Error() != nil {
				b.Errorf("publish: %v", tok.Error())
				return
			}
			lat[n] = time.Since(t0)
		}()
	}
	wg.Wait()
	b.StopTimer()
	reportLatency(b, lat)
}

func reportLatency(b *testing.B, lat []time.Duration) {
	slices.Sort(lat)
	q := func(p float64) float64 {
		return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))]) / float64(time.Millisecond)
	}
	b.ReportMetric(q(0.50), "p50-ms")
	b.ReportMetric(q(0.99), "p99-ms")
	b.ReportMetric(0, "ns/op") // paced: time per op is the pacing, not a cost
}
