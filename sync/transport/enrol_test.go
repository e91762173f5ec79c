package transport_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"carenode/node/nodeconf"
	"carenode/sync/transport"
	"carenode/sync/trust"
)

// TestEnrolDeliversGossipKey: the enrolment answer carries the hub's LAN
// gossip key, which the joined node stores owner-only and reads back with
// its trust files; every node of the network gets the same key.
func TestEnrolDeliversGossipKey(t *testing.T) {
	hub, ca, tokens := newHub(t)
	url := serve(t, hub, ca, tokens)
	want, err := trust.ReadGossipKey(hub.dir)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(ca.GossipKey, want) {
		t.Fatalf("LoadCA key %x, file %x", ca.GossipKey, want)
	}
	for _, role := range []nodeconf.Role{nodeconf.RoleClinic, nodeconf.RoleKiosk, nodeconf.RoleNurse} {
		tok, err := tokens.Issue("n-"+string(role), role, time.Hour, trust.FingerprintOf(hub.m.CA))
		if err != nil {
			t.Fatal(err)
		}
		dir, id := newIdentity(t)
		en, err := transport.Join(context.Background(), url, tok, id)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(en.GossipKey, want) {
			t.Fatalf("%s got gossip key %x, want the hub's %x", role, en.GossipKey, want)
		}
		if err := trust.SaveEnrolment(dir, en.CA, en.Cert, en.Hub); err != nil {
			t.Fatal(err)
		}
		m, err := trust.Load(dir, id)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := m.GossipKey(); !errors.Is(err, trust.ErrNoGossipKey) {
			t.Errorf("before saving the key: %v, want ErrNoGossipKey", err)
		}
		if err := trust.SaveGossipKey(dir, en.GossipKey); err != nil {
			t.Fatal(err)
		}
		info, err := os.Stat(trust.PathsOf(dir).GossipKey())
		if err != nil {
			t.Fatal(err)
		}
		if info.Mode().Perm() != 0o600 {
			t.Errorf("stored key mode %04o, want 0600", info.Mode().Perm())
		}
		got, err := m.GossipKey()
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s reads back %x, %v; want %x", role, got, err, want)
		}
	}
}

// TestEnrolWithoutGossipKey: a hub whose CA carries no key (made in memory)
// still enrols; the node gets no key, and so will not gossip.
func TestEnrolWithoutGossipKey(t *testing.T) {
	hub, ca, tokens := newHub(t)
	keyless := *ca
	keyless.GossipKey = nil
	url := serve(t, hub, &keyless, tokens)
	tok, err := tokens.Issue("desk", nodeconf.RoleClinic, time.Hour, trust.FingerprintOf(hub.m.CA))
	if err != nil {
		t.Fatal(err)
	}
	_, id := newIdentity(t)
	en, err := transport.Join(context.Background(), url, tok, id)
	if err != nil {
		t.Fatal(err)
	}
	if en.GossipKey != nil {
		t.Errorf("got key %x from a keyless hub", en.GossipKey)
	}
}
