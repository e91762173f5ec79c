package transport_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"carenode/crdt"
	"carenode/node/nodeconf"
	"carenode/node/store"
	"carenode/sync/scope"
	"carenode/sync/session"
	"carenode/sync/transport"
	"carenode/sync/trust"
	"carenode/sync/wire"
)

// reopen closes n's store and engine (when open) and opens them again as a
// replica of scope s, as syncnode does: marks in the store.
func (n *tnode) reopen(t *testing.T, s wire.Scope) {
	t.Helper()
	if n.st != nil {
		n.eng.Close()
		if err := n.st.Close(); err != nil {
			t.Fatal(err)
		}
	}
	opts := store.DefaultOptions(filepath.Join(n.dir, "db"), crdt.NodeID(n.id.ID))
	opts.Create, opts.NoSync, opts.Logger = true, true, quiet
	st, err := store.Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	cfg := session.DefaultConfig(crdt.NodeID(n.id.ID), st)
	cfg.Logger, cfg.Scope = quiet, s
	eng, err := session.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(eng.Close)
	n.st, n.eng = st, eng
}

// scoped returns the transport configuration syncnode builds: policies
// from the store, marks in the store.
func scoped(n *tnode) transport.Config {
	p := &scope.Policies{Records: n.st}
	st := n.st
	return transport.Config{Material: n.m, Engine: n.eng, Logger: quiet, Policy: p.For,
		Marks: func(peer crdt.NodeID) session.Marks { return scope.StoreMarks{Store: st, Peer: peer} }}
}

func scopedClient(t *testing.T, n *tnode) *transport.Client {
	t.Helper()
	c, err := transport.NewClient(scoped(n))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// serveScoped runs n's sync listener with scope policies.
func serveScoped(t *testing.T, n *tnode, ca *trust.CA, tokens *trust.Tokens) string {
	t.Helper()
	cfg := scoped(n)
	cfg.CA, cfg.Tokens = ca, tokens
	srv, err := transport.NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln, 5*time.Second) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return "https://" + ln.Addr().String()
}

func put(t *testing.T, st *store.Store, coll, rec string, edits ...store.Edit) {
	t.Helper()
	if _, err := st.Write(context.Background(), store.WriteRequest{Collection: coll, Record: rec, Edits: edits}); err != nil {
		t.Fatal(err)
	}
}

func set(field, value string) store.Edit {
	return store.Edit{Kind: crdt.MutSet, Field: field, Value: fmt.Appendf(nil, "%q", value)}
}

// secret is the stand-in for a patient's sealed name: bytes that must never
// reach a replica outside the patient's scope.
func secret(pid string) string { return "SEALED-" + pid + "-7f3a9c" }

// clinicData writes, on st, 12 patients (every third assigned to nurse-li,
// p04 to nurse-wang), an audit day for each, staff accounts, a revocation
// record and a visit of each patient.
func clinicData(t *testing.T, st *store.Store) (assigned, other []string) {
	t.Helper()
	put(t, st, "staff", "nurse-li", set("role", "nurse"))
	put(t, st, "staff", "dr-zhang", set("role", "doctor"))
	put(t, st, trust.RevocationCollection, "SOMENODE", set("reason", "lost"))
	for i := range 12 {
		pid := fmt.Sprintf("p%02d", i)
		edits := []store.Edit{set("name", secret(pid)), set("sex", "F")}
		switch {
		case i%3 == 0:
			edits = append(edits, store.Edit{Kind: crdt.MutAdd, Field: "assignees", Elem: "nurse-li"})
			assigned = append(assigned, pid)
		case i == 4:
			edits = append(edits, store.Edit{Kind: crdt.MutAdd, Field: "assignees", Elem: "nurse-wang"})
			other = append(other, pid)
		default:
			other = append(other, pid)
		}
		put(t, st, "patients", pid, edits...)
		put(t, st, "audit", pid+".20250301", store.Edit{Kind: crdt.MutFact, Field: "events", FactID: "e" + pid,
			Value: fmt.Appendf(nil, `{"action":"read","who":%q}`, secret(pid))})
		put(t, st, "visits", pid+"-v1", set("note", secret(pid)))
	}
	return assigned, other
}

// records returns the ids of coll held by st.
func records(t *testing.T, st *store.Store, coll string) []string {
	t.Helper()
	vs, err := st.List(coll, "", 1000)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, v := range vs {
		ids = append(ids, v.ID)
	}
	return ids
}

func sameIDs(t *testing.T, what string, got, want []string) {
	t.Helper()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("%s: %v, want %v", what, got, want)
	}
}

// fileHolds reports whether the bytes of the store file at dir hold s.
func fileHolds(t *testing.T, dir, s string) bool {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "db"))
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Contains(b, []byte(s))
}

// TestNurseLaptopScope: a nurse laptop enrolled with role nurse syncs with
// a hub over real TLS and gets its assigned patients, their audit, staff and
// revocations, and nothing of any other patient; its own writes reach the
// hub; after a restart (stores closed and reopened) nothing already sent is
// sent again; a scope it is not enrolled for is refused.
func TestNurseLaptopScope(t *testing.T) {
	hub, ca, tokens := newHub(t)
	// A clinic desk writes half the data, the hub the other half, so the
	// nurse's scope spans two origins with gaps in both.
	url := serveScoped(t, hub, ca, tokens)
	desk := join(t, url, tokens, hub, "desk", nodeconf.RoleClinic)
	assigned, other := clinicData(t, desk.st)
	if _, _, err := scopedClient(t, desk).Sync(context.Background(), url, hub.id.ID); err != nil {
		t.Fatal(err)
	}
	put(t, hub.st, "patients", "p99", set("name", secret("p99")))
	put(t, hub.st, "patients", "p98", set("name", secret("p98")),
		store.Edit{Kind: crdt.MutAdd, Field: "assignees", Elem: "nurse-li"})
	assigned = append(assigned, "p98")
	other = append(other, "p99")

	nurse := join(t, url, tokens, hub, "nurse-li", nodeconf.RoleNurse)
	nurse.reopen(t, wire.Nurse("nurse-li"))
	ctx := context.Background()
	res, _, err := scopedClient(t, nurse).Sync(ctx, url, hub.id.ID)
	if err != nil {
		t.Fatal(err)
	}
	if res.Received == 0 || res.Sent != 0 {
		t.Errorf("first sync: received %d sent %d", res.Received, res.Sent)
	}
	want := append([]string(nil), assigned...)
	slices.Sort(want)
	sameIDs(t, "patients on the laptop", records(t, nurse.st, "patients"), want)
	var audit []string
	for _, p := range want {
		audit = append(audit, p+".20250301")
	}
	sameIDs(t, "audit on the laptop", records(t, nurse.st, "audit"), audit[:len(audit)-1]) // p98 has no audit day
	sameIDs(t, "staff on the laptop", records(t, nurse.st, "staff"), []string{"dr-zhang", "nurse-li"})
	sameIDs(t, "revocations on the laptop", records(t, nurse.st, trust.RevocationCollection), []string{"SOMENODE"})
	sameIDs(t, "visits on the laptop", records(t, nurse.st, "visits"), nil)
	// Nothing of another patient in any change held.
	page, err := nurse.st.ChangesAfter(crdt.Vector{}, 100000)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range page.Changes {
		for _, p := range other {
			if c.Record == p || c.Record == p+".20250301" {
				t.Errorf("the laptop holds %s/%s of unassigned %s", c.Collection, c.Record, p)
			}
		}
	}

	// The nurse writes on the laptop; the write reaches the hub. The second
	// sync sends only that.
	put(t, nurse.st, "patients", "p00", set("notes", "BP re-checked 12:10"))
	res, _, err = scopedClient(t, nurse).Sync(ctx, url, hub.id.ID)
	if err != nil {
		t.Fatal(err)
	}
	if res.Sent != 1 || res.Received != 0 {
		t.Errorf("second sync: sent %d received %d, want 1 0", res.Sent, res.Received)
	}
	if v, err := hub.st.Get("patients", "p00"); err != nil || string(v.Fields["notes"].Value) != `"BP re-checked 12:10"` {
		t.Errorf("the nurse's write on the hub: %+v %v", v.Fields["notes"], err)
	}
	res, _, err = scopedClient(t, nurse).Sync(ctx, url, hub.id.ID)
	if err != nil || !res.Idle || res.Sent+res.Received != 0 {
		t.Errorf("third sync: idle %v sent %d received %d err %v", res.Idle, res.Sent, res.Received, err)
	}

	// Restart the laptop: its marks are in its store, so it is not sent
	// again what it holds, even past the gaps in its vector.
	nurse.reopen(t, wire.Nurse("nurse-li"))
	res, _, err = scopedClient(t, nurse).Sync(ctx, url, hub.id.ID)
	if err != nil || res.Received != 0 || res.Sent != 0 {
		t.Errorf("after restart: sent %d received %d err %v, want nothing", res.Sent, res.Received, err)
	}
	if m, err := nurse.st.Mark(scope.MarkKey(crdt.NodeID(hub.id.ID), wire.Nurse("nurse-li"))); err != nil || len(m) == 0 {
		t.Errorf("mark after restart: %v %v", m, err)
	}

	// A laptop enrolled for nurse-li may not ask for nurse-wang's patients.
	nurse.reopen(t, wire.Nurse("nurse-wang"))
	_, _, err = scopedClient(t, nurse).Sync(ctx, url, hub.id.ID)
	var re *wire.RemoteError
	if !errors.As(err, &re) || re.Code != wire.CodeRefused {
		t.Errorf("another nurse's scope: %v, want refused", err)
	}
	nurse.eng.Close()
	if err := nurse.st.Close(); err != nil {
		t.Fatal(err)
	}
	for _, p := range other {
		if fileHolds(t, nurse.dir, secret(p)) {
			t.Errorf("the laptop's store file holds the sealed bytes of unassigned %s", p)
		}
	}
	if !fileHolds(t, nurse.dir, secret("p00")) {
		t.Error("the laptop's store file lacks its assigned patient p00 (the check above proves nothing)")
	}
}

// TestKioskScope: a kiosk gets patients (the fields a kiosk holds), staff
// and revocations, no audit and no care records; a kiosk may not ask for a
// full scope.
func TestKioskScope(t *testing.T) {
	hub, ca, tokens := newHub(t)
	url := serveScoped(t, hub, ca, tokens)
	clinicData(t, hub.st)
	k := join(t, url, tokens, hub, "kiosk", nodeconf.RoleKiosk)
	k.reopen(t, wire.Kiosk())
	ctx := context.Background()
	if _, _, err := scopedClient(t, k).Sync(ctx, url, hub.id.ID); err != nil {
		t.Fatal(err)
	}
	if got := records(t, k.st, "patients"); len(got) != 12 {
		t.Errorf("patients on the kiosk: %v", got)
	}
	// Of each patient, only the fields a kiosk holds: the name and sex, not
	// the nurses assigned.
	for _, id := range records(t, k.st, "patients") {
		kv, err := k.st.Get("patients", id)
		if err != nil {
			t.Fatal(err)
		}
		hv, err := hub.st.Get("patients", id)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(kv.Fields["name"].Value, hv.Fields["name"].Value) || !bytes.Equal(kv.Fields["sex"].Value, hv.Fields["sex"].Value) ||
			len(kv.Sets) != 0 {
			t.Errorf("kiosk's %s: fields %v, sets %v; the hub's sets %v", id, kv.Fields, kv.Sets, hv.Sets)
		}
	}
	if hv, err := hub.st.Get("patients", "p00"); err != nil || len(hv.Sets["assignees"]) == 0 {
		t.Errorf("the hub's p00 has no assignees (the check above proves nothing): %v", err)
	}
	sameIDs(t, "staff on the kiosk", records(t, k.st, "staff"), []string{"dr-zhang", "nurse-li"})
	sameIDs(t, "revocations on the kiosk", records(t, k.st, trust.RevocationCollection), []string{"SOMENODE"})
	sameIDs(t, "audit on the kiosk", records(t, k.st, "audit"), nil)
	sameIDs(t, "visits on the kiosk", records(t, k.st, "visits"), nil)
	// A check-in made at the kiosk reaches the hub; the kiosk is then idle.
	put(t, k.st, "checkins", "p01.20250301", set("at", "09:12"))
	res, _, err := scopedClient(t, k).Sync(ctx, url, hub.id.ID)
	if err != nil || res.Sent != 1 || res.Received != 0 {
		t.Errorf("check-in sync: sent %d received %d err %v", res.Sent, res.Received, err)
	}
	if _, err := hub.st.Get("checkins", "p01.20250301"); err != nil {
		t.Errorf("check-in on the hub: %v", err)
	}
	k.reopen(t, wire.Full())
	_, _, err = scopedClient(t, k).Sync(ctx, url, hub.id.ID)
	var re *wire.RemoteError
	if !errors.As(err, &re) || re.Code != wire.CodeRefused {
		t.Errorf("a kiosk asking for everything: %v, want refused", err)
	}
}
