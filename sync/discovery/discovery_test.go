package discovery

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/memberlist"

	"carenode/internal/logbuf"
	"carenode/node/identity"
)

// fastConfig is memberlist's local profile tuned so that tests see joins
// and leaves within a second or two. Joins spread by gossip and push-pull,
// leaves (Leave) by broadcast: neither waits for failure detection, which
// keeps the local profile's patience. Probes of 50 ms and a suspicion of
// 100 ms declared live members dead on a loaded machine under -race, and
// they came back as joined: the tests would see members flap.
func fastConfig() *memberlist.Config {
	c := memberlist.DefaultLocalConfig()
	c.ProbeInterval = time.Second
	c.ProbeTimeout = 500 * time.Millisecond
	c.GossipInterval = 20 * time.Millisecond
	c.PushPullInterval = 200 * time.Millisecond
	c.SuspicionMult = 4
	c.TCPTimeout = time.Second
	// Uncompressed, so that what encryption hides is the only thing that
	// keeps a capture from being read (TestGossipNotInClear).
	c.EnableCompression = false
	return c
}

func testID(t *testing.T, seed byte) identity.ID {
	t.Helper()
	pub := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{seed}, ed25519.SeedSize)).Public().(ed25519.PublicKey)
	return identity.IDFromPublicKey(pub)
}

// watcher records the peers a node reports, from its events.
type watcher struct {
	mu     sync.Mutex
	peers  map[identity.ID]Peer
	events []Event
}

func (w *watcher) on(e Event) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.events = append(w.events, e)
	switch e.Kind {
	case Joined, Updated:
		w.peers[e.Peer.ID] = e.Peer
	case Left:
		delete(w.peers, e.Peer.ID)
	}
}

// history returns the events reported so far, in order.
func (w *watcher) history() []Event {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]Event(nil), w.events...)
}

func (w *watcher) snapshot() map[identity.ID]Peer {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make(map[identity.ID]Peer, len(w.peers))
	for k, v := range w.peers {
		out[k] = v
	}
	return out
}

type member struct {
	node *Node
	w    *watcher
	peer Peer
	logs *logbuf.Buffer
}

// netKey is the test network's gossip key; otherKey another network's.
var (
	netKey   = bytes.Repeat([]byte{0x5a}, 32)
	otherKey = bytes.Repeat([]byte{0xa5}, 32)
)

func start(t *testing.T, seed byte, join []string) *member {
	t.Helper()
	m, err := startKeyed(t, seed, netKey, join)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// startKeyed starts a member with key; a failure to join the seeds is
// returned with the running member.
func startKeyed(t *testing.T, seed byte, key []byte, join []string) (*member, error) {
	t.Helper()
	id := testID(t, seed)
	m := &member{w: &watcher{peers: map[identity.ID]Peer{}}, logs: &logbuf.Buffer{}}
	m.peer = Peer{ID: id, URL: fmt.Sprintf("https://127.0.0.1:%d", 7440+int(seed))}
	n, err := Start(Config{
		ID:         id,
		SyncURL:    m.peer.URL,
		BindAddr:   "127.0.0.1",
		Join:       join,
		SecretKey:  key,
		OnEvent:    m.w.on,
		Logger:     slog.New(slog.NewTextHandler(m.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Memberlist: fastConfig(),
	})
	if n == nil {
		t.Fatal(err)
	}
	m.node = n
	t.Cleanup(func() { n.Close() })
	return m, err
}

// eventually polls cond until it holds, failing after 30 s: a bound on
// hanging, generous for a shared machine under -race.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func sees(m *member, want ...*member) func() bool {
	return func() bool {
		got := m.w.snapshot()
		if len(got) != len(want) {
			return false
		}
		for _, o := range want {
			if got[o.peer.ID] != o.peer {
				return false
			}
		}
		return true
	}
}

func TestThreeNodesJoinAndLeave(t *testing.T) {
	a := start(t, 1, nil) // the seed, say the clinic desk
	b := start(t, 2, []string{a.node.Addr()})
	c := start(t, 3, []string{a.node.Addr()})

	eventually(t, "a to see b and c", sees(a, b, c))
	eventually(t, "b to see a and c", sees(b, a, c))
	eventually(t, "c to see a and b", sees(c, a, b))
	eventually(t, "b.Peers() to hold a and c", func() bool {
		got := b.node.Peers()
		return len(got) == 2 && slices.Contains(got, a.peer) && slices.Contains(got, c.peer)
	})

	if err := c.node.Leave(time.Second); err != nil {
		t.Fatal(err)
	}
	eventually(t, "a to see c leave", sees(a, b))
	eventually(t, "b to see c leave", sees(b, a))
	// The last word on c is its leave, with its peer. (Events about the
	// others may follow: a member slow to answer a probe can be suspected
	// and come back.)
	for _, m := range []*member{a, b} {
		var last Event
		for _, e := range m.w.history() {
			if e.Peer.ID == c.peer.ID {
				last = e
			}
		}
		if last != (Event{Left, c.peer}) {
			t.Errorf("%s: last event about c %+v, want %v left", m.peer.ID, last, c.peer)
		}
	}
}

// rawMember joins a cluster with memberlist directly, announcing whatever
// name and metadata a misbehaving peer might.
type rawMeta []byte

func (d rawMeta) NodeMeta(int) []byte           { return d }
func (rawMeta) NotifyMsg([]byte)                {}
func (rawMeta) GetBroadcasts(int, int) [][]byte { return nil }
func (rawMeta) LocalState(bool) []byte          { return nil }
func (rawMeta) MergeRemoteState([]byte, bool)   {}

// rawMember joins seed with memberlist directly under name, announcing
// meta, with the gossip key key (nil: in clear), and returns the join's
// error.
func rawMember(t *testing.T, name string, meta, key []byte, seed string) error {
	t.Helper()
	c := fastConfig()
	c.SecretKey = key
	c.Name = name
	c.BindAddr = "127.0.0.1"
	c.BindPort = 0
	c.AdvertisePort = 0
	c.LogOutput = io.Discard
	c.Delegate = rawMeta(meta)
	ml, err := memberlist.Create(c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ml.Shutdown() })
	_, err = ml.Join([]string{seed})
	return err
}

func TestMalformedPeersIgnored(t *testing.T) {
	a := start(t, 1, nil)
	good := start(t, 2, []string{a.node.Addr()})
	for _, r := range []struct {
		name string
		meta []byte
	}{
		{string(testID(t, 3)), append([]byte{1}, "http://127.0.0.1:7443"...)},
		{string(testID(t, 4)), []byte{9, 'x'}},
		{"not-a-node-id", append([]byte{1}, "https://127.0.0.1:7443"...)},
	} {
		if err := rawMember(t, r.name, r.meta, netKey, a.node.Addr()); err != nil {
			t.Fatal(err)
		}
	}

	eventually(t, "a to see the good peer", sees(a, good))
	eventually(t, "the reasons to be logged", func() bool {
		l := a.logs.String()
		return strings.Contains(l, "scheme must be https") &&
			strings.Contains(l, "version 9") &&
			strings.Contains(l, "member name is not a canonical node ID")
	})
	// The malformed members were never reported, not even for a while.
	for _, e := range a.w.history() {
		if e.Peer.ID != good.peer.ID {
			t.Errorf("a reported %+v, want events of %v only", e, good.peer)
		}
	}
}

func TestStartRefusesBadConfig(t *testing.T) {
	for _, cfg := range []Config{
		{ID: "nope", SyncURL: "https://127.0.0.1:7443", SecretKey: netKey},
		{ID: testID(t, 1), SyncURL: "http://127.0.0.1:7443", SecretKey: netKey},
		{ID: testID(t, 1), SyncURL: "https://127.0.0.1", SecretKey: netKey},
		{ID: testID(t, 1), SyncURL: "https://127.0.0.1:7443"},                         // no key
		{ID: testID(t, 1), SyncURL: "https://127.0.0.1:7443", SecretKey: netKey[:20]}, // bad key
	} {
		if n, err := Start(cfg); err == nil {
			n.Close()
			t.Errorf("Start(%+v) succeeded", cfg)
		}
	}
	if _, err := Start(Config{ID: testID(t, 1), SyncURL: "https://127.0.0.1:7443"}); !errors.Is(err, ErrNoKey) {
		t.Errorf("Start without a key: %v, want ErrNoKey", err)
	}
}
