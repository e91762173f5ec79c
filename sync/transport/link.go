package transport

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"strings"
	"sync"
	"time"

	"carenode/crdt"
	"carenode/node/identity"
	"carenode/sync/session"
	"carenode/sync/trust"
)

// Link syncs with one peer again and again over one kept HTTP/2
// connection, so that a repeated sync does not pay a TLS handshake with both
// certificates (about 4.3 KB of the 5.3 KB of an idle sync on a new
// connection, docs/BENCHMARKS.md). When the connection has gone (the
// peer's idle timeout, a broken link) the next sync dials again.
//
// TLS session resumption is not used: it was measured and saves no bytes
// here, because a Go server's session ticket carries the client's
// certificate chain, so the resuming ClientHello and the fresh ticket the
// server sends back cost as much as the certificates they replace.
//
// The peer is verified for every session, not once per connection: its
// certificate (kept with the connection, or restored from the session
// ticket) goes through trust.Verifier again, so a revocation that reached
// this node in the meantime ends the link's use. Client.Sync remains the
// one-shot form that leaves nothing open.
type Link struct {
	c    *Client
	url  string
	want identity.ID

	mu    sync.Mutex
	tr    *http.Transport // replaced by Close, so no later sync picks an old connection
	conns *connSet        // what tr dialled, closed by Close
}

// Link returns a link to the node at peerURL; want, when not empty, is the
// node ID expected there. Close it when done.
func (c *Client) Link(peerURL string, want identity.ID) *Link {
	l := &Link{c: c, url: strings.TrimRight(peerURL, "/"), want: want}
	l.tr, l.conns = l.newTransport()
	return l
}

func (l *Link) newTransport() (*http.Transport, *connSet) {
	// VerifyConnection runs in every handshake; the peer a session talks
	// to is verified again from the connection its request got.
	conns := &connSet{}
	return &http.Transport{
		TLSClientConfig:     l.c.tlsConfig(l.want),
		ForceAttemptHTTP2:   true,
		TLSHandshakeTimeout: 30 * time.Second,
		IdleConnTimeout:     10 * time.Minute, // the peer's own idle timeout usually comes first
		MaxIdleConnsPerHost: 1,
		DialContext:         conns.dial,
	}, conns
}

// Close closes the kept connection: an HTTP/2 stream ends asynchronously,
// so closing idle connections alone could leave it open; its connections
// are closed and the next Sync dials afresh with a new transport. The link
// stays usable.
func (l *Link) Close() {
	l.mu.Lock()
	tr, conns := l.tr, l.conns
	l.tr, l.conns = l.newTransport()
	l.mu.Unlock()
	tr.CloseIdleConnections()
	conns.closeAll()
}

func (l *Link) transport() *http.Transport {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.tr
}

// peerOf verifies the peer of the connection a request got.
func (l *Link) peerOf(info httptrace.GotConnInfo) (trust.Peer, error) {
	tc, ok := info.Conn.(*tls.Conn)
	if !ok {
		return trust.Peer{}, fmt.Errorf("sync link: connection is %T, not TLS", info.Conn)
	}
	return l.c.verify(tc.ConnectionState().PeerCertificates, l.want)
}

type gotPeer struct {
	p   trust.Peer
	err error
}

// Sync runs one session with the link's peer as initiator, over the kept
// connection when there is one, and reports its end as Client.SyncWith does.
func (l *Link) Sync(ctx context.Context) (session.Result, trust.Peer, error) {
	res, peer, err := l.sync(ctx, nil)
	if peer.ID == "" {
		peer.ID = l.want
	}
	l.c.cfg.ended(Ended{Peer: peer, URL: l.url, Result: res, Err: err})
	return res, peer, err
}

// sync runs the session; progress, when not nil, is told how it advances
// (session.Options.Progress).
func (l *Link) sync(ctx context.Context, progress func(session.Progress)) (session.Result, trust.Peer, error) {
	var res session.Result
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	got := make(chan gotPeer, 1)
	trace := &httptrace.ClientTrace{GotConn: func(info httptrace.GotConnInfo) {
		p, err := l.peerOf(info)
		select {
		case got <- gotPeer{p, err}:
		default:
		}
	}}
	pr, pw := io.Pipe()
	req, err := http.NewRequestWithContext(httptrace.WithClientTrace(ctx, trace), http.MethodPost, l.url+SessionPath, pr)
	if err != nil {
		return res, trust.Peer{}, err
	}
	req.Header.Set("Content-Type", contentType)
	done := make(chan roundTrip, 1)
	tr := l.transport()
	go func() {
		resp, err := tr.RoundTrip(req)
		if err != nil {
			pr.CloseWithError(err)
		}
		done <- roundTrip{resp, err}
	}()

	var peer trust.Peer
	select {
	case g := <-got:
		if g.err != nil {
			pr.CloseWithError(g.err)
			return res, trust.Peer{}, fmt.Errorf("sync with %s: %w", l.url, g.err)
		}
		peer = g.p
	case rt := <-done:
		// The answer can win the race with the connection's trace, which
		// came first: then the peer is known already, and the answer is
		// the session's.
		var g gotPeer
		select {
		case g = <-got:
		default:
			g.err = errNoPeer
		}
		if rt.err == nil && g.err == nil {
			peer, done = g.p, requeue(rt)
			break
		}
		if rt.err != nil {
			return res, trust.Peer{}, fmt.Errorf("sync with %s: %w", l.url, rt.err)
		}
		rt.resp.Body.Close()
		return res, trust.Peer{}, fmt.Errorf("sync with %s: %s", l.url, rt.resp.Status)
	case <-ctx.Done():
		return res, trust.Peer{}, ctx.Err()
	}
	body := &responseBody{done: done, cancel: cancel, pr: pr}
	opts := l.c.cfg.options(peer)
	opts.Progress = progress
	res, err = l.c.cfg.Engine.InitiateWith(ctx, body, pw, crdt.NodeID(peer.ID), opts)
	if err != nil {
		err = body.refusedOr(err)
	}
	pw.Close()
	if err == nil {
		// Read the response to its end, so that the stream closes cleanly
		// and the connection stays usable for the next session.
		io.Copy(io.Discard, io.LimitReader(body, 1<<20))
	}
	body.Close()
	if err != nil {
		// A failed session may leave the connection in any state: start
		// the next one afresh.
		if !errors.Is(err, context.Canceled) {
			l.Close()
		}
		return res, peer, fmt.Errorf("sync with %s (%s): %w", l.url, peer.ID, err)
	}
	return res, peer, nil
}
