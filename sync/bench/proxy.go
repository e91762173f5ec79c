package bench

import (
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Link is what a proxied connection crosses. The zero Link is loopback
// as it is.
type Link struct {
	Name string
	// Rate is the bytes per second each way; 0 means unlimited.
	Rate int
	// Delay is the one-way latency added to every byte (half the round
	// trip).
	Delay time.Duration
	// Buffer is how many bytes a direction holds in flight before it stops
	// reading from its sender (a modem's buffer); 0 means 64 KiB.
	Buffer int
}

// Loopback is the link as it is.
func Loopback() Link { return Link{Name: "loopback"} }

// Slow2G is issue 5's rural link: 32 kbit/s each way, 600 ms round trip.
func Slow2G() Link { return Link{Name: "2g", Rate: 32_000 / 8, Delay: 300 * time.Millisecond} }

func (l Link) String() string {
	if l.Rate == 0 && l.Delay == 0 {
		return "loopback"
	}
	return fmt.Sprintf("%d kbit/s, %s RTT", l.Rate*8/1000, 2*l.Delay)
}

// Counts is what crossed a proxy: TCP payload bytes each way (TLS records,
// HTTP framing and all) and connections accepted.
type Counts struct {
	Up    int64 `json:"up"`   // client to server
	Down  int64 `json:"down"` // server to client
	Conns int64 `json:"conns"`
}

// Sub returns c minus an earlier reading.
func (c Counts) Sub(before Counts) Counts {
	return Counts{c.Up - before.Up, c.Down - before.Down, c.Conns - before.Conns}
}

// Proxy forwards TCP connections from a loopback port to a target through
// a Link, counting the bytes that cross each way.
type Proxy struct {
	ln     net.Listener
	target string

	up, down, conns atomic.Int64
	active          atomic.Int64 // directions still running

	mu     sync.Mutex
	link   Link // for connections accepted from now on
	open   map[net.Conn]struct{}
	closed bool
	wg     sync.WaitGroup
}

// NewProxy listens on a free loopback port and forwards to target.
func NewProxy(target string, link Link) (*Proxy, error) {
	if err := link.check(); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("proxy listen: %w", err)
	}
	p := &Proxy{ln: ln, target: target, link: link.withDefaults(), open: map[net.Conn]struct{}{}}
	p.wg.Add(1)
	go p.accept()
	return p, nil
}

func (l Link) check() error {
	if l.Rate < 0 || l.Delay < 0 || l.Buffer < 0 {
		return fmt.Errorf("proxy link %+v: negative rate, delay or buffer", l)
	}
	return nil
}

func (l Link) withDefaults() Link {
	if l.Buffer == 0 {
		l.Buffer = 64 << 10
	}
	return l
}

// SetLink makes new connections cross link and, when it differs from the
// current one, cuts every open connection. The proxy keeps its address,
// which matters to PouchDB: its replication checkpoints are named after
// the remote URL.
func (p *Proxy) SetLink(link Link) error {
	if err := link.check(); err != nil {
		return err
	}
	link = link.withDefaults()
	p.mu.Lock()
	if p.link == link {
		p.mu.Unlock()
		return nil
	}
	p.link = link
	for c := range p.open {
		c.Close()
	}
	p.mu.Unlock()
	p.WaitIdle(5 * time.Second)
	return nil
}

// Addr is the proxy's address (127.0.0.1:port).
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Counts returns what crossed so far.
func (p *Proxy) Counts() Counts {
	return Counts{Up: p.up.Load(), Down: p.down.Load(), Conns: p.conns.Load()}
}

// WaitIdle returns once every connection has ended both ways, or false
// after timeout.
func (p *Proxy) WaitIdle(timeout time.Duration) bool {
	for end := time.Now().Add(timeout); p.active.Load() > 0; {
		if time.Now().After(end) {
			return false
		}
		time.Sleep(2 * time.Millisecond)
	}
	return true
}

// Close stops accepting, cuts every connection and waits for its
// goroutines.
func (p *Proxy) Close() error {
	err := p.ln.Close()
	p.mu.Lock()
	p.closed = true
	for c := range p.open {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
	return err
}

// track notes c and s as open and returns the link they cross.
func (p *Proxy) track(c, s net.Conn) (Link, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return Link{}, false
	}
	p.open[c] = struct{}{}
	p.open[s] = struct{}{}
	return p.link, true
}

func (p *Proxy) forget(c net.Conn) {
	p.mu.Lock()
	delete(p.open, c)
	p.mu.Unlock()
	c.Close()
}

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.conns.Add(1)
		s, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		link, ok := p.track(c, s)
		if !ok {
			c.Close()
			s.Close()
			return
		}
		// Both directions count as active before either moves a byte, so
		// WaitIdle cannot return between accept and the first read.
		p.active.Add(2)
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			var both sync.WaitGroup
			both.Add(2)
			// A new TCP connection costs its client a round trip (SYN,
			// SYN-ACK) before its first byte can leave.
			opened := time.Now().Add(2 * link.Delay)
			go func() { defer both.Done(); p.pipe(s, c, link, opened, &p.up) }()
			go func() { defer both.Done(); p.pipe(c, s, link, time.Time{}, &p.down) }()
			both.Wait()
			p.forget(c)
			p.forget(s)
		}()
	}
}

// pipe copies src to dst through the link, counting bytes as they are
// delivered. When src ends, dst's write side is closed; when a write
// fails, both connections are closed so the other direction ends too.
func (p *Proxy) pipe(dst, src net.Conn, link Link, notBefore time.Time, n *atomic.Int64) {
	defer p.active.Add(-1)
	var err error
	if link.Rate == 0 && link.Delay == 0 {
		_, err = io.CopyBuffer(countingWriter{dst, n}, src, make([]byte, 64<<10))
	} else {
		err = shaped(dst, src, link, notBefore, n)
	}
	if err != nil {
		dst.Close()
		src.Close()
		return
	}
	if tc, ok := dst.(*net.TCPConn); ok {
		tc.CloseWrite()
	} else {
		dst.Close()
	}
}

// chunk is bytes read from the sender, due at the receiver at due.
type chunk struct {
	b   []byte
	due time.Time
}

// shaped delivers what src sends at the link's rate and after its delay.
// A chunk of n bytes occupies the link for n/Rate after the previous one
// left it (and not before notBefore), then arrives Delay later; the reader
// stops once Buffer bytes are in flight, so the sender feels the link as
// TCP would.
func shaped(dst, src net.Conn, link Link, notBefore time.Time, n *atomic.Int64) error {
	const mtu = 1460
	q := make(chan chunk, max(1, link.Buffer/mtu))
	readErr := make(chan error, 1)
	go func() {
		defer close(q)
		free := notBefore // when the link is free again
		for {
			b := make([]byte, mtu)
			k, err := src.Read(b)
			if k > 0 {
				now := time.Now()
				if free.Before(now) {
					free = now
				}
				if link.Rate > 0 {
					free = free.Add(time.Duration(k) * time.Second / time.Duration(link.Rate))
				}
				q <- chunk{b[:k], free.Add(link.Delay)}
			}
			if err != nil {
				if errors.Is(err, io.EOF) {
					err = nil
				}
				readErr <- err
				return
			}
		}
	}()
	var werr error
	for c := range q {
		if werr != nil {
			continue // drain so the reader can finish
		}
		if d := time.Until(c.due); d > 0 {
			time.Sleep(d)
		}
		k, err := dst.Write(c.b)
		n.Add(int64(k))
		if err != nil {
			werr = err
			src.Close()
		}
	}
	if werr != nil {
		return werr
	}
	return <-readErr
}

// countingWriter counts the bytes written through it.
type countingWriter struct {
	w io.Writer
	n *atomic.Int64
}

func (c countingWriter) Write(b []byte) (int, error) {
	k, err := c.w.Write(b)
	c.n.Add(int64(k))
	return k, err
}
