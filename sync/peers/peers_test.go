package peers_test

import (
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"carenode/crdt"
	"carenode/node/identity"
	"carenode/node/nodeconf"
	"carenode/sync/peers"
	"carenode/sync/session"
	"carenode/sync/transport"
	"carenode/sync/trust"
)

func newID(t *testing.T) identity.ID {
	t.Helper()
	id, err := identity.Generate(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return id.ID
}

func TestBook(t *testing.T) {
	hub, deskID, kiosk := newID(t), newID(t), newID(t)
	path := filepath.Join(t.TempDir(), peers.FileName)
	at := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
	b := peers.Open(path)
	if err := b.Hub(hub, "https://10.0.0.1:7443"); err != nil {
		t.Fatal(err)
	}
	desk := trust.Peer{ID: deskID, Name: "desk1", Role: nodeconf.RoleClinic}
	ok := transport.Ended{Peer: desk, URL: "https://10.0.0.2:7443", At: at, Result: session.Result{
		Sent: 3, Received: 5, BytesSent: 300, BytesReceived: 500,
		Vector: crdt.Vector{"ME": 10, "DESK": 5}, PeerVector: crdt.Vector{"ME": 10, "DESK": 5}}}
	for _, e := range []transport.Ended{
		ok,
		{Peer: desk, Remote: "10.0.0.2:5555", At: at.Add(time.Minute), Err: errors.New("read from peer: cut"),
			Result: session.Result{BytesSent: 40}},
		{Peer: trust.Peer{}, At: at, Err: errors.New("tls: bad certificate")}, // unknown: not recorded
	} {
		if err := b.Ended(e); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Discovered(kiosk, "https://10.0.0.3:7443", at); err != nil {
		t.Fatal(err)
	}
	// A fresh process reads what the first wrote.
	list, self, _, err := peers.Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 3 {
		t.Fatalf("peers: %+v", list)
	}
	byID := map[identity.ID]peers.Peer{}
	for _, p := range list {
		byID[p.Node] = p
	}
	d := byID[deskID]
	if d.Name != "desk1" || d.Sessions != 2 || d.Failures != 1 || d.LastError == "" || !d.LastOK.Equal(at) ||
		!d.LastAttempt.Equal(at.Add(time.Minute)) || d.TotalSent != 340 || d.URL != ok.URL || d.Remote != "10.0.0.2:5555" {
		t.Errorf("desk: %+v", d)
	}
	if h, k := byID[hub], byID[kiosk]; !h.Hub || h.Role != nodeconf.RoleHub || k.Discovered.IsZero() {
		t.Errorf("hub %+v, kiosk %+v", h, k)
	}
	if self["ME"] != 10 {
		t.Errorf("self vector %v", self)
	}
	for _, tc := range []struct {
		ours, theirs crdt.Vector
		they, we     uint64
	}{
		{crdt.Vector{"A": 5, "B": 2}, crdt.Vector{"A": 3, "C": 4}, 4, 4},
		{crdt.Vector{"A": 5}, crdt.Vector{"A": 5}, 0, 0},
		{nil, crdt.Vector{"A": 1}, 0, 1},
	} {
		if they, we := peers.Lag(tc.ours, tc.theirs); they != tc.they || we != tc.we {
			t.Errorf("Lag(%v, %v) = %d, %d; want %d, %d", tc.ours, tc.theirs, they, we, tc.they, tc.we)
		}
	}
	// A damaged file is an empty record, not an error that stops serving.
	os.WriteFile(path, []byte("{"), 0o600)
	if err := peers.Open(path).Self(crdt.Vector{"ME": 1}, at); err != nil {
		t.Fatal(err)
	}
	if _, self, _, err := peers.Read(path); err != nil || self["ME"] != 1 {
		t.Fatalf("after a damaged file: %v %v", self, err)
	}
}
