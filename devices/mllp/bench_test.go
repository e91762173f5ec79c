package mllp

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"carenode/devices"
	"carenode/devices/hl7"
	"carenode/devices/internal/storesink"
	"carenode/node/store"
)

// Benchmarks: readings per second ingested over MLLP, and the latency from
// a monitor's send to its ACK, which is written only once the message is
// durably stored (fsynced) in a real store. Run:
//
//	go test -run '^$' -bench . -count 5 ./devices/mllp

func benchStore(b *testing.B) *store.Store {
	b.Helper()
	opts := store.DefaultOptions(filepath.Join(b.TempDir(), "node.db"), "nodeA")
	opts.Create = true
	opts.Logger = slog.New(slog.DiscardHandler)
	st, err := store.Open(opts)
	if err != nil {
		b.Fatal(err)
	}
	return st
}

// benchServer serves MLLP on a loopback port into a real store.
func benchServer(b *testing.B) (*Server, string) {
	b.Helper()
	st := benchStore(b)
	cfg := DefaultConfig("127.0.0.1:0")
	cfg.MaxConns = 256
	cfg.Logger = slog.New(slog.DiscardHandler)
	s, err := New(cfg, storesink.New(st))
	if err != nil {
		b.Fatal(err)
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	b.Cleanup(func() {
		cancel()
		if err := <-done; !errors.Is(err, ErrServerClosed) {
			b.Error(err)
		}
		st.Close()
	})
	return s, ln.Addr().String()
}

// monitor is one connection sending the blood-pressure sample with a
// fresh control id each time.
type monitor struct {
	c    net.Conn
	w    *hl7.Writer
	r    *hl7.Reader
	tmpl []byte
	n    int
}

func newMonitor(b *testing.B, addr string, i int) *monitor {
	b.Helper()
	tmpl, err := os.ReadFile("../hl7/testdata/valid-bp-continua-wan.hl7v2")
	if err != nil {
		b.Fatal(err)
	}
	tmpl = bytes.ReplaceAll(tmpl, []byte("\n"), []byte("\r"))
	c, err := net.Dial("tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	return &monitor{c: c, w: hl7.NewWriter(c), r: hl7.NewReader(bufio.NewReader(c), 1<<16),
		tmpl: bytes.Replace(tmpl, []byte("|MSGID1234|"), fmt.Appendf(nil, "|M%d-{n}|", i), 1)}
}

// send sends one message and waits for its ACK, which must be AA.
func (m *monitor) send() error {
	m.n++
	if err := m.w.WriteFrame(bytes.Replace(m.tmpl, []byte("{n}"), fmt.Append(nil, m.n), 1)); err != nil {
		return err
	}
	ack, err := m.r.ReadFrame()
	if err != nil {
		return err
	}
	res, err := hl7.ParseACK(ack)
	if err != nil {
		return err
	}
	if res.Code != hl7.AA {
		return fmt.Errorf("ACK %s: %s", res.Code, ack)
	}
	return nil
}

// BenchmarkMLLPIngest: monitors each send a message and wait for its ACK
// before the next, as HL7 over MLLP requires. Reports readings (messages;
// each carries a blood-pressure panel) stored per second.
func BenchmarkMLLPIngest(b *testing.B) {
	for _, conns := range []int{8, 32, 128} {
		b.Run(fmt.Sprintf("monitors=%d", conns), func(b *testing.B) {
			s, addr := benchServer(b)
			mons := make([]*monitor, conns)
			for i := range mons {
				mons[i] = newMonitor(b, addr, i)
			}
			b.ResetTimer()
			start := time.Now()
			var wg sync.WaitGroup
			for i, m := range mons {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for n := i; n < b.N; n += conns {
						if err := m.send(); err != nil {
							b.Error(err)
							return
						}
					}
				}()
			}
			wg.Wait()
			b.StopTimer()
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "readings/s")
			if st := s.Stats(); st.Accepted != uint64(b.N) {
				b.Fatalf("accepted %d of %d", st.Accepted, b.N)
			}
		})
	}
}

// BenchmarkMLLPLatency100PerSecond: 4 monitors send 100 messages a second
// in all, paced; reports the p50 and p99 of send-to-ACK (the ACK leaves
// only after the message is fsynced). Use -benchtime 500x or more for a
// p99 worth reading.
func BenchmarkMLLPLatency100PerSecond(b *testing.B) {
	const conns = 4
	_, addr := benchServer(b)
	mons := make([]*monitor, conns)
	locks := make([]sync.Mutex, conns)
	for i := range mons {
		mons[i] = newMonitor(b, addr, i)
	}
	lat := make([]time.Duration, b.N)
	var wg sync.WaitGroup
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	b.ResetTimer()
	for n := range b.N {
		<-tick.C
		i := n % conns
		wg.Add(1)
		go func() {
			defer wg.Done()
			t0 := time.Now()
			locks[i].Lock() // one message in flight per connection; waiting counts
			defer locks[i].Unlock()
			if err := mons[i].send(); err != nil {
				b.Error(err)
				return
			}
			lat[n] = time.Since(t0)
		}()
	}
	wg.Wait()
	b.StopTimer()
	reportLatency(b, lat)
}

// BenchmarkSinkLatency100PerSecond is the floor of the one above: the
// same message, parsed in the benchmark, stored straight into the sink at
// 100 a second with no network and no MLLP. The difference between the
// two is what the listener adds; the rest is the disk.
func BenchmarkSinkLatency100PerSecond(b *testing.B) {
	tmpl, err := os.ReadFile("../hl7/testdata/valid-bp-continua-wan.hl7v2")
	if err != nil {
		b.Fatal(err)
	}
	tmpl = bytes.ReplaceAll(tmpl, []byte("\n"), []byte("\r"))
	st := benchStore(b)
	b.Cleanup(func() { st.Close() })
	sink := storesink.New(st)
	lat := make([]time.Duration, b.N)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	b.ResetTimer()
	for n := range b.N {
		<-tick.C
		m, err := hl7.Parse(bytes.Replace(tmpl, []byte("|MSGID1234|"), fmt.Appendf(nil, "|S-%d|", n), 1))
		if err != nil {
			b.Fatal(err)
		}
		t0 := time.Now()
		if err := sink.Store(context.Background(), devices.BatchFromHL7(m, "")); err != nil {
			b.Fatal(err)
		}
		lat[n] = time.Since(t0)
	}
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
