package discovery

import (
	"bytes"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// joinBound is how long a refused join may take at most: memberlist's
// TCPTimeout in fastConfig (1 s) with room for a slow, shared machine. It
// is a bound on hanging, not a performance target.
const joinBound = 10 * time.Second

// TestOtherKeyKeptOut: three nodes sharing the network's key find each
// other; a fourth with another network's key, and a plain memberlist
// without any key, are refused at once and never become members on
// either side.
func TestOtherKeyKeptOut(t *testing.T) {
	a := start(t, 1, nil)
	b := start(t, 2, []string{a.node.Addr()})
	c := start(t, 3, []string{a.node.Addr()})
	eventually(t, "a to see b and c", sees(a, b, c))
	eventually(t, "b to see a and c", sees(b, a, c))
	eventually(t, "c to see a and b", sees(c, a, b))

	began := time.Now()
	d, err := startKeyed(t, 4, otherKey, []string{a.node.Addr(), b.node.Addr()})
	took := time.Since(began)
	if err == nil {
		t.Fatal("a node with another network's key joined")
	}
	if took > joinBound {
		t.Errorf("the refused join took %v, more than %v", took, joinBound)
	}
	began = time.Now()
	plainErr := rawMember(t, string(testID(t, 5)), append([]byte{1}, "https://127.0.0.1:7445"...), nil, a.node.Addr())
	if plainErr == nil {
		t.Fatal("a member gossiping in clear joined")
	}
	if took := time.Since(began); took > joinBound {
		t.Errorf("the refused clear join took %v, more than %v", took, joinBound)
	}
	t.Logf("other key: %v (%v); in clear: %v", err, took, plainErr)

	// The refusals are logged on the keyed side with memberlist's reason.
	eventually(t, "a to log why it refused", func() bool {
		l := a.logs.String()
		return strings.Contains(l, "no installed keys could decrypt") &&
			strings.Contains(l, "remote state is not encrypted")
	})
	// Several gossip and push-pull rounds later, nobody has let anyone
	// in: d sees no one, and the three never reported anyone but each
	// other nor hold anyone else in their memberlists. (Not a count of
	// the three: one slow to answer a probe may be suspected for a while.)
	time.Sleep(time.Second)
	ours := map[string]bool{string(a.peer.ID): true, string(b.peer.ID): true, string(c.peer.ID): true}
	for _, m := range []*member{a, b, c} {
		for _, e := range m.w.history() {
			if !ours[string(e.Peer.ID)] || e.Peer.ID == m.peer.ID {
				t.Errorf("%s reported %+v, want only the two others of its network", m.peer.ID, e)
			}
		}
		for _, n := range m.node.ml.Members() {
			if !ours[n.Name] {
				t.Errorf("%s's memberlist holds %s (%s)", m.peer.ID, n.Name, n.Address())
			}
		}
	}
	if got := d.w.snapshot(); len(got) != 0 {
		t.Errorf("the stranger sees %v", got)
	}
	if n := d.node.ml.NumMembers(); n != 1 {
		t.Errorf("the stranger's memberlist has %d members, want itself only", n)
	}
}

// sniffer listens on a loopback port, TCP and UDP, and keeps every byte
// sent to it, answering nothing: a seed that records what a joining node
// puts on the wire.
type sniffer struct {
	tcp net.Listener
	udp net.PacketConn

	mu  sync.Mutex
	got bytes.Buffer
	wg  sync.WaitGroup
}

func newSniffer(t *testing.T) *sniffer {
	t.Helper()
	var s sniffer
	var err error
	if s.tcp, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	if s.udp, err = net.ListenPacket("udp", s.tcp.Addr().String()); err != nil {
		s.tcp.Close()
		t.Fatal(err)
	}
	s.wg.Go(func() {
		for {
			conn, err := s.tcp.Accept()
			if err != nil {
				return
			}
			s.wg.Go(func() {
				defer conn.Close()
				conn.SetReadDeadline(time.Now().Add(joinBound))
				io.Copy(&s, conn)
			})
		}
	})
	s.wg.Go(func() {
		buf := make([]byte, 64<<10)
		for {
			n, _, err := s.udp.ReadFrom(buf)
			if err != nil {
				return
			}
			s.Write(buf[:n])
		}
	})
	t.Cleanup(s.close)
	return &s
}

func (s *sniffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.got.Write(p)
}

func (s *sniffer) addr() string { return s.tcp.Addr().String() }

// close stops listening and returns what was captured.
func (s *sniffer) close() {
	s.tcp.Close()
	s.udp.Close()
	s.wg.Wait()
}

func (s *sniffer) bytes() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return bytes.Clone(s.got.Bytes())
}

// TestGossipNotInClear: what a keyed node sends when it joins a seed
// carries neither its sync URL nor its node ID in clear. The same capture
// of a node without a key shows both, so the sniffer does see the state a
// join sends.
func TestGossipNotInClear(t *testing.T) {
	const url = "https://127.0.0.1:7461"
	id := testID(t, 6)
	capture := func(join func(seed string)) []byte {
		s := newSniffer(t)
		join(s.addr())
		s.close()
		return s.bytes()
	}

	plain := capture(func(seed string) {
		if err := rawMember(t, string(id), append([]byte{1}, url...), nil, seed); err == nil {
			t.Error("a join to a seed that never answers succeeded")
		}
	})
	if !bytes.Contains(plain, []byte(url)) || !bytes.Contains(plain, []byte(id)) {
		t.Fatalf("control: a join in clear (%d bytes captured) does not show the URL and ID; the sniffer sees nothing useful", len(plain))
	}

	keyed := capture(func(seed string) {
		n, err := Start(Config{ID: id, SyncURL: url, SecretKey: netKey, Join: []string{seed}, Memberlist: fastConfig()})
		if n == nil {
			t.Fatal(err)
		}
		n.Close()
		if err == nil {
			t.Error("a join to a seed that never answers succeeded")
		}
	})
	if len(keyed) < len(url) {
		t.Fatalf("captured %d bytes of the keyed join; want its encrypted state", len(keyed))
	}
	for _, secret := range []string{url, "127.0.0.1:7461", string(id)} {
		if bytes.Contains(keyed, []byte(secret)) {
			t.Errorf("%q is readable on the wire", secret)
		}
	}
	t.Logf("captured %d bytes in clear, %d encrypted", len(plain), len(keyed))
}

// TestNoKeyRefused: Start without a key says so, in both languages.
func TestNoKeyRefused(t *testing.T) {
	_, err := Start(Config{ID: testID(t, 7), SyncURL: "https://127.0.0.1:7443", Memberlist: fastConfig()})
	if !errors.Is(err, ErrNoKey) {
		t.Fatalf("err = %v, want ErrNoKey", err)
	}
	if !strings.Contains(err.Error(), "unencrypted") || !strings.Contains(err.Error(), "明文") {
		t.Errorf("error %q is not bilingual", err)
	}
}
