package transport_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"carenode/node/nodeconf"
	"carenode/sync/transport"
)

// TestLoopWake: with the schedule an hour away, a wake syncs at once; wakes
// do not pile up (the channel holds one); every session that ends is
// reported to OnSession with what it moved.
func TestLoopWake(t *testing.T) {
	hub, ca, tokens := newHub(t)
	url := serve(t, hub, ca, tokens)
	desk := join(t, url, tokens, hub, "desk", nodeconf.RoleClinic)

	var mu sync.Mutex
	var ended []transport.Ended
	c, err := transport.NewClient(transport.Config{Material: desk.m, Engine: desk.eng, Logger: quiet,
		OnSession: func(e transport.Ended) {
			mu.Lock()
			ended = append(ended, e)
			mu.Unlock()
		}})
	if err != nil {
		t.Fatal(err)
	}
	sessions := func() []transport.Ended {
		mu.Lock()
		defer mu.Unlock()
		return append([]transport.Ended(nil), ended...)
	}
	wait := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out: %s", what)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}

	wake := make(chan struct{}, 1)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		c.LoopWake(ctx, url, hub.id.ID, transport.Schedule{Interval: time.Hour, MaxBackoff: time.Hour}, wake)
	}()
	wait("the first sync, at once", func() bool { return len(sessions()) == 1 })

	desk.write(t, 30)
	wake <- struct{}{}
	wait("the woken sync", func() bool { return hub.st.Vector()[desk.st.Node()] == 30 })
	wait("its report", func() bool { return len(sessions()) == 2 })
	s := sessions()[1]
	if s.Err != nil || s.Peer.ID != hub.id.ID || s.URL != url || s.Result.Sent != 30 || s.At.IsZero() {
		t.Fatalf("reported %+v", s)
	}

	// Two wakes while nothing happens: the channel holds one, so at most
	// two more sessions, one after the other.
	wake <- struct{}{}
	select {
	case wake <- struct{}{}:
	default:
	}
	wait("the next woken sync", func() bool { return len(sessions()) >= 3 })
	time.Sleep(300 * time.Millisecond)
	if n := len(sessions()); n > 4 {
		t.Fatalf("%d sessions after two wakes", n)
	}
	for i, e := range sessions() {
		if e.Err != nil {
			t.Errorf("session %d: %v", i, e.Err)
		}
	}
	cancel()
	<-done
}
