package transport_test

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"carenode/node/nodeconf"
)

// countingProxy forwards loopback TCP connections to target and counts the
// bytes each way.
type countingProxy struct {
	ln       net.Listener
	up, down atomic.Int64 // client to server, server to client
	active   atomic.Int64 // pipes running; a connection counts before any byte crosses it
	mu       sync.Mutex
	conns    []net.Conn
}

func newCountingProxy(t *testing.T, target string) *countingProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &countingProxy{ln: ln}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			p.active.Add(2)
			p.mu.Lock()
			p.conns = append(p.conns, c, s)
			p.mu.Unlock()
			pipe := func(dst, src net.Conn, n *atomic.Int64) {
				defer p.active.Add(-1)
				io.Copy(countingWriter{dst, n}, src)
				dst.Close()
				src.Close()
			}
			go pipe(s, c, &p.up)
			go pipe(c, s, &p.down)
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		p.mu.Lock()
		for _, c := range p.conns {
			c.Close()
		}
		p.mu.Unlock()
		p.wait()
	})
	return p
}

// wait returns once every connection is closed, or after 5 s (a client
// connection the server keeps open costs nothing more while it idles).
func (p *countingProxy) wait() {
	for end := time.Now().Add(5 * time.Second); p.active.Load() > 0 && time.Now().Before(end); {
		time.Sleep(time.Millisecond)
	}
}

// measure returns the bytes each way of what fn does through the proxy,
// once every connection it opened is closed.
func (p *countingProxy) measure(fn func()) (up, down int64) {
	u0, d0 := p.up.Load(), p.down.Load()
	fn()
	p.wait()
	return p.up.Load() - u0, p.down.Load() - d0
}

// TestIdleSyncBytes measures an idle sync between a clinic desk and the hub
// on the wire (TCP payload: TLS 1.3 handshake with the certificates,
// HTTP/2 preface, settings and headers, the session's frames), and the
// handshake alone, for docs/BENCHMARKS.md.
func TestIdleSyncBytes(t *testing.T) {
	hub, ca, tokens := newHub(t)
	url := serve(t, hub, ca, tokens)
	a := join(t, url, tokens, hub, "desk-a", nodeconf.RoleClinic)
	a.write(t, 30)
	hub.write(t, 30)
	ctx := context.Background()
	if _, _, err := client(t, a).Sync(ctx, url, hub.id.ID); err != nil {
		t.Fatal(err)
	}
	p := newCountingProxy(t, url[len("https://"):])
	purl := "https://" + p.ln.Addr().String()
	c := client(t, a)
	up, down := p.measure(func() {
		res, _, err := c.Sync(ctx, purl, hub.id.ID)
		if err != nil || !res.Idle {
			t.Fatalf("idle sync: idle %v err %v", res.Idle, err)
		}
		t.Logf("session bytes: sent %d received %d", res.BytesSent, res.BytesReceived)
	})
	// Sync closes its connection when it returns; one left open would hold
	// a socket on both nodes until the peer's idle timeout (2 minutes).
	if n := p.active.Load(); n != 0 {
		t.Errorf("%d connections still open 5 s after Sync returned", n)
	}
	hup, hdown := p.measure(func() {
		conn, err := tls.Dial("tcp", p.ln.Addr().String(), &tls.Config{MinVersion: tls.VersionTLS13,
			InsecureSkipVerify: true, NextProtos: []string{"h2"}, Certificates: []tls.Certificate{a.m.ClientCertificate()}})
		if err != nil {
			t.Fatal(err)
		}
		conn.Close()
	})
	t.Logf("idle sync on the wire: %d bytes up, %d down, %d together; TLS handshake alone: %d up, %d down, %d together",
		up, down, up+down, hup, hdown, hup+hdown)
	if up+down > 16<<10 {
		t.Errorf("idle sync took %d bytes on the wire", up+down)
	}
}

// countingWriter counts the bytes written as they cross.
type countingWriter struct {
	w io.Writer
	n *atomic.Int64
}

func (c countingWriter) Write(b []byte) (int, error) {
	k, err := c.w.Write(b)
	c.n.Add(int64(k))
	return k, err
}
