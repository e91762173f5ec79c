package outbox_test

import (
	"context"
	"testing"

	"carenode/node/outbox"
)

// A desk PC with the modem (nodeA, the clinic's sender) and a nurse's
// laptop (nodeB) both queue the same reminder while apart. Only the desk
// sends it, once, and after sync there is one message, sent, on both.
func TestTwoNodesQueueOneKeyWhileApartOnlyTheSenderSends(t *testing.T) {
	a := newBox(t, "nodeA", withSenderNode("nodeA"))
	b := newBox(t, "nodeB", withSenderNode("nodeA"))
	m := reminder("reminder/a1/day-before", "p1")
	a.queue(t, m)
	b.queue(t, m)
	if rep := b.tick(t, at(0, 9, 0)); rep.Sent != 0 {
		t.Fatalf("the laptop sent: %+v", rep)
	}
	if rep := a.tick(t, at(0, 9, 0)); rep.Sent != 1 {
		t.Fatalf("the desk did not send: %+v", rep)
	}
	exchange(t, a.store, b.store)
	a.tick(t, at(0, 9, 5))
	b.tick(t, at(0, 9, 5))
	if n := len(a.sender.Sent()) + len(b.sender.Sent()); n != 1 {
		t.Fatalf("%d sends in all, want exactly one", n)
	}
	for _, n := range []*box{a, b} {
		page, err := n.svc.List(outbox.Query{})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Messages) != 1 || page.Messages[0].Status != outbox.StatusSent || page.Messages[0].Sender != "nodeA" {
			t.Fatalf("%s: %+v, want one message, sent by nodeA", n.node, page.Messages)
		}
	}
}

// A message queued on the laptop alone reaches the sending node by sync
// and is sent there.
func TestMessageQueuedElsewhereIsSentAfterSync(t *testing.T) {
	a := newBox(t, "nodeA", withSenderNode("nodeA"))
	b := newBox(t, "nodeB", withSenderNode("nodeA"))
	b.queue(t, reminder("k", "p2"))
	a.tick(t, at(0, 9, 0))
	b.tick(t, at(0, 9, 0))
	if len(a.sender.Sent())+len(b.sender.Sent()) != 0 {
		t.Fatal("sent before the sending node had it")
	}
	exchange(t, a.store, b.store)
	if rep := a.tick(t, at(0, 9, 1)); rep.Sent != 1 {
		t.Fatalf("desk after sync: %+v", rep)
	}
	exchange(t, a.store, b.store)
	if v := b.get(t, "k"); v.Status != outbox.StatusSent || v.To != "+86*******1111" {
		t.Fatalf("laptop sees %+v, want sent with a masked number", v)
	}
}

// Without a configured sender each node names itself. After sync every
// node agrees on one (the least id), and only that one sends.
func TestWithoutSenderNodeTheLeastNodeSends(t *testing.T) {
	a := newBox(t, "nodeA")
	b := newBox(t, "nodeB")
	m := reminder("k", "p1")
	b.queue(t, m)
	a.clock.Set(at(0, 9, 0).Add(1))
	a.queue(t, m)
	exchange(t, a.store, b.store)
	b.tick(t, at(0, 9, 1))
	a.tick(t, at(0, 9, 1))
	if len(b.sender.Sent()) != 0 || len(a.sender.Sent()) != 1 {
		t.Fatalf("sends: nodeA %d, nodeB %d; want nodeA alone", len(a.sender.Sent()), len(b.sender.Sent()))
	}
	if va, vb := a.get(t, "k"), b.get(t, "k"); va.Sender != "nodeA" || vb.Sender != "nodeA" {
		t.Fatalf("responsible: %s on nodeA, %s on nodeB", va.Sender, vb.Sender)
	}
}

// A cancel made on the laptop while the desk was sending: both facts are
// kept, and every node shows sent, since a message cannot be unsent.
func TestConcurrentCancelAndSendConvergeOnSent(t *testing.T) {
	a := newBox(t, "nodeA", withSenderNode("nodeA"))
	b := newBox(t, "nodeB", withSenderNode("nodeA"))
	a.queue(t, reminder("k", "p1"))
	exchange(t, a.store, b.store)
	a.tick(t, at(0, 9, 0))
	if _, err := b.svc.Cancel(context.Background(), outbox.RecordID("k"), "nurse1"); err != nil {
		t.Fatal(err)
	}
	if v := b.get(t, "k"); v.Status != outbox.StatusCancelled {
		t.Fatalf("laptop before sync: %s", v.Status)
	}
	exchange(t, a.store, b.store)
	va, vb := a.get(t, "k"), b.get(t, "k")
	if va.Status != outbox.StatusSent || vb.Status != outbox.StatusSent {
		t.Fatalf("after sync: nodeA %s, nodeB %s; want sent on both", va.Status, vb.Status)
	}
}

// A retry made on the laptop for a message the desk failed reaches the
// desk by sync and makes it send.
func TestRetryFromAnotherNode(t *testing.T) {
	a := newBox(t, "nodeA", withSenderNode("nodeA"))
	b := newBox(t, "nodeB", withSenderNode("nodeA"))
	a.queue(t, reminder("k", "p1"))
	a.sender.failNext(outbox.Permanent(errModem))
	a.tick(t, at(0, 9, 0))
	exchange(t, a.store, b.store)
	if v := b.get(t, "k"); v.Status != outbox.StatusFailed {
		t.Fatalf("laptop sees %s, want failed", v.Status)
	}
	if _, err := b.svc.Retry(context.Background(), outbox.RecordID("k"), "nurse1"); err != nil {
		t.Fatal(err)
	}
	exchange(t, a.store, b.store)
	if rep := a.tick(t, at(0, 9, 30)); rep.Sent != 1 {
		t.Fatalf("desk after the retry synced: %+v", rep)
	}
	if b.tick(t, at(0, 9, 30)).Sent != 0 || len(b.sender.Sent()) != 0 {
		t.Fatal("the laptop sent")
	}
}
