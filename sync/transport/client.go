package transport

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"carenode/node/identity"
	"carenode/sync/session"
	"carenode/sync/trust"
)

// Client opens sync sessions with peers.
type Client struct {
	cfg      Config
	verifier *trust.Verifier
}

// NewClient returns a client for cfg (CA and Tokens are not used).
func NewClient(cfg Config) (*Client, error) {
	cfg.defaults()
	if cfg.Material == nil || cfg.Engine == nil {
		return nil, errors.New("sync transport: no trust material or engine")
	}
	return &Client{cfg: cfg, verifier: cfg.Material.Verifier(cfg.Now, cfg.Revoked)}, nil
}

// tlsConfig checks the server's chain against the pinned CA with
// trust.Verifier rather than by host name: peers are named by node ID, and
// a clinic's address is whatever the LAN gave it. want, when set, is the
// only node accepted.
func (c *Client) tlsConfig(want identity.ID) *tls.Config {
	return &tls.Config{
		MinVersion:         tls.VersionTLS13,
		Certificates:       []tls.Certificate{c.cfg.Material.ClientCertificate()},
		InsecureSkipVerify: true, // verified in VerifyConnection, against the pinned CA
		Time:               c.cfg.Now,
		VerifyConnection: func(cs tls.ConnectionState) error {
			_, err := c.verify(cs.PeerCertificates, want)
			return err
		},
	}
}

// verify checks a peer's certificate chain, and that it is want's when want
// is set.
func (c *Client) verify(chain []*x509.Certificate, want identity.ID) (trust.Peer, error) {
	p, err := c.verifier.Verify(chain)
	if err != nil {
		return trust.Peer{}, err
	}
	if want != "" && p.ID != want {
		return trust.Peer{}, fmt.Errorf("%w: expected node %s, got %s", session.ErrWrongPeer, want, p.ID)
	}
	return p, nil
}

// Sync runs one session with the node at peerURL (https://host:port) as
// initiator. want, when not empty, is the node ID the caller expects there.
func (c *Client) Sync(ctx context.Context, peerURL string, want identity.ID) (session.Result, trust.Peer, error) {
	return c.SyncWith(ctx, peerURL, want, nil)
}

// SyncWith is Sync telling progress (when not nil) how the session
// advances; see session.Options.Progress.
func (c *Client) SyncWith(ctx context.Context, peerURL string, want identity.ID, progress func(session.Progress)) (session.Result, trust.Peer, error) {
	res, peer, err := c.sync(ctx, peerURL, want, progress)
	if peer.ID == "" {
		peer.ID = want
	}
	c.cfg.ended(Ended{Peer: peer, URL: peerURL, Result: res, Err: err})
	return res, peer, err
}

// sync is a Link used once: the same session, on a connection that is
// closed when it returns.
func (c *Client) sync(ctx context.Context, peerURL string, want identity.ID, progress func(session.Progress)) (session.Result, trust.Peer, error) {
	l := c.Link(peerURL, want)
	defer l.Close()
	return l.sync(ctx, progress)
}

type roundTrip struct {
	resp *http.Response
	err  error
}

// requeue puts a round trip that was taken early back for responseBody.
func requeue(rt roundTrip) chan roundTrip {
	c := make(chan roundTrip, 1)
	c <- rt
	return c
}

// errNoPeer: the answer came before the connection's peer was reported.
var errNoPeer = errors.New("no peer reported for the connection")

// responseBody reads the response once the round trip has returned it, so
// that the session can be started (and write its hello into the request
// body) before the peer has answered.
type responseBody struct {
	done   <-chan roundTrip
	cancel context.CancelFunc
	pr     *io.PipeReader

	once sync.Once
	body io.ReadCloser
	err  error
}

func (b *responseBody) wait() {
	rt := <-b.done
	switch {
	case rt.err != nil:
		b.err = rt.err
	case rt.resp.StatusCode != http.StatusOK:
		msg, _ := io.ReadAll(io.LimitReader(rt.resp.Body, 1024))
		rt.resp.Body.Close()
		b.err = fmt.Errorf("%w: %s: %s", ErrRefused, rt.resp.Status, strings.TrimSpace(string(msg)))
		b.pr.CloseWithError(b.err)
	default:
		b.body = rt.resp.Body
	}
}

// refusedOr returns the peer's refusal instead of err when the round trip
// ended with one. A session's first write can fail before it reads the
// answer: the HTTP transport closes the request body as soon as a refusal
// arrives, and the refusal, not "closed pipe", says why. It waits for the
// answer a short while at most.
func (b *responseBody) refusedOr(err error) error {
	got := make(chan struct{})
	go func() { b.once.Do(b.wait); close(got) }()
	select {
	case <-got:
	case <-time.After(2 * time.Second):
		return err
	}
	if errors.Is(b.err, ErrRefused) {
		return b.err
	}
	return err
}

func (b *responseBody) Read(p []byte) (int, error) {
	b.once.Do(b.wait)
	if b.err != nil {
		return 0, b.err
	}
	return b.body.Read(p)
}

// Close ends the exchange without waiting for the peer: it cancels the
// request, which also ends the response body.
func (b *responseBody) Close() error {
	b.cancel()
	b.pr.Close()
	return nil
}

// connSet remembers the connections one Sync dialled, to close them after.
type connSet struct {
	mu    sync.Mutex
	conns []net.Conn
}

func (c *connSet) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	d := net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}
	conn, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.conns = append(c.conns, conn)
	c.mu.Unlock()
	return conn, nil
}

func (c *connSet) closeAll() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, conn := range c.conns {
		conn.Close()
	}
	c.conns = nil
}
