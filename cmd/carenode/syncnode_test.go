package main

import (
	"sync/atomic"
	"testing"
	"time"

	"carenode/node/nodeconf"
	"carenode/node/store"
)

// TestSyncSoon: local commits wake every registered loop once after the
// debounce, however many there were; changes from peers wake nothing; a
// queued wake is not doubled; after stop nothing wakes.
func TestSyncSoon(t *testing.T) {
	const debounce = 50 * time.Millisecond
	// Each debouncer counts into its own counter: a stopped one's timer
	// may be past its stop check and count late.
	var k *syncSoon
	var fired *atomic.Int32
	var hub, peer <-chan struct{}
	fresh := func() {
		f := new(atomic.Int32)
		k, fired = newSyncSoon(debounce, func() { f.Add(1) }), f
		hub, peer = k.wake("HUB"), k.wake("PEER")
	}
	fresh()
	local := []store.Changed{{Collection: "visits", Record: "v1"}}
	remote := []store.Changed{{Collection: "visits", Record: "v2", Remote: true}}

	k.changed(remote)
	time.Sleep(150 * time.Millisecond)
	if len(hub) != 0 || fired.Load() != 0 {
		t.Fatal("a change from a peer woke the loops")
	}
	// A burst is writes that all come within the debounce of the first.
	// On a loaded machine the test can be held up longer than that in the
	// middle of its 20 writes, and then the timer rightly fires in
	// between; such a try proves nothing, so it starts over with a new
	// debouncer (the timer never fires early, so a burst timed shorter
	// than the debounce had all its writes in before it fired).
	for try := 1; ; try++ {
		start := time.Now()
		for range 20 {
			k.changed(local)
		}
		if time.Since(start) < debounce {
			break
		}
		k.stop()
		if try == 10 {
			t.Fatalf("10 tries at 20 writes within %s each took longer", debounce)
		}
		fresh()
	}
	waitFor(t, "local writes wake the loops", func() bool { return len(hub) == 1 && len(peer) == 1 && fired.Load() == 1 })
	time.Sleep(150 * time.Millisecond)
	if fired.Load() != 1 {
		t.Fatalf("20 writes in a burst fired %d times, want 1", fired.Load())
	}
	// The loops have not taken their wake yet: another burst queues none.
	k.changed(local)
	waitFor(t, "a second burst fires", func() bool { return fired.Load() == 2 })
	if len(hub) != 1 {
		t.Fatalf("wakes queued %d, want 1", len(hub))
	}
	<-hub
	k.drop("PEER")
	k.stop()
	k.changed(local)
	time.Sleep(150 * time.Millisecond)
	if len(hub) != 0 {
		t.Fatal("woke after stop")
	}
	if off := newSyncSoon(0, nil); off.wake("HUB") != nil {
		t.Fatal("debounce 0 gave a wake channel")
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out: %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestSyncOptionsFromConfig(t *testing.T) {
	c := nodeconf.SyncSection{Listen: "0.0.0.0:7443", Interval: nodeconf.Duration{Duration: 5 * time.Minute},
		Debounce: nodeconf.Duration{Duration: time.Second}, DiscoveryBind: "0.0.0.0:7946", DiscoveryJoin: "10.0.0.1:7946,10.0.0.2:7946",
		DiscoveryAdvertise: "10.0.0.5"}
	so := syncOptions{interval: time.Minute, debounce: 2 * time.Second, listen: "127.0.0.1:9"}
	so.fromConfig(c, func(f string) bool { return f == "sync-listen" || f == "sync-debounce" })
	if so.listen != "127.0.0.1:9" || so.debounce != 2*time.Second || so.interval != 5*time.Minute ||
		so.disc.bind != "0.0.0.0:7946" || len(so.disc.join) != 2 || so.disc.advertise != "10.0.0.5" {
		t.Errorf("flags over the file: %+v", so)
	}
}
