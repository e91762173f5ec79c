package transport_test

import (
	"context"
	"errors"
	"testing"

	"carenode/node/nodeconf"
	"carenode/sync/session"
)

// TestLinkIdleBytes: over a kept connection a repeated idle sync is one
// request and one response in under 1 KB on the wire; after the connection
// is closed the link dials again. Every session verifies the peer: a link
// expecting another node is refused.
func TestLinkIdleBytes(t *testing.T) {
	hub, ca, tokens := newHub(t)
	url := serve(t, hub, ca, tokens)
	a := join(t, url, tokens, hub, "desk-a", nodeconf.RoleClinic)
	a.write(t, 30)
	hub.write(t, 30)
	p := newCountingProxy(t, url[len("https://"):])
	purl := "https://" + p.ln.Addr().String()
	ctx := context.Background()
	l := client(t, a).Link(purl, hub.id.ID)
	defer l.Close()

	var first int64
	up, down := p.measure(func() {
		res, peer, err := l.Sync(ctx)
		if err != nil || res.Sent != 30 || res.Received != 30 || peer.ID != hub.id.ID {
			t.Fatalf("first sync: %+v peer %s err %v", res, peer.ID, err)
		}
		l.Close()
	})
	first = up + down
	if _, _, err := l.Sync(ctx); err != nil { // a fresh connection, kept
		t.Fatal(err)
	}
	kup, kdown := p.measure(func() {
		res, _, err := l.Sync(ctx)
		if err != nil || !res.Idle {
			t.Fatalf("idle sync over the kept connection: idle %v err %v", res.Idle, err)
		}
		l.Close() // counted: GOAWAY and TLS close_notify
	})
	nup, ndown := p.measure(func() {
		res, _, err := l.Sync(ctx)
		if err != nil || !res.Idle {
			t.Fatalf("idle sync on a new connection after Close: idle %v err %v", res.Idle, err)
		}
		l.Close()
	})
	t.Logf("first sync %d B; idle over the kept connection %d up %d down %d together (with its close); on a new connection %d up %d down %d together",
		first, kup, kdown, kup+kdown, nup, ndown, nup+ndown)
	if kup+kdown >= 1000 {
		t.Errorf("idle sync over a kept connection took %d bytes, want under 1,000", kup+kdown)
	}
	if nup+ndown <= kup+kdown {
		t.Errorf("a new connection (%d bytes) cost no more than a kept one (%d): was the connection kept?", nup+ndown, kup+kdown)
	}

	other := client(t, a).Link(purl, a.id.ID)
	defer other.Close()
	if _, _, err := other.Sync(ctx); !errors.Is(err, session.ErrWrongPeer) {
		t.Errorf("link to the wrong node: %v, want ErrWrongPeer", err)
	}
}
