package readings_test

import (
	"bytes"
	"context"
	"os"
	"slices"
	"testing"

	"carenode/node/readings"
)

// TestStolenFile stores device messages on a locked node, stops it, and
// searches the bbolt file as a thief would: the patient's name and
// identifier from PID-5 and PID-3, and a discard reason, must not be
// there; the LOINC code and the device id, which are not sealed, must be
// (otherwise the search proves nothing). Then the node restarts, unlocks,
// and reads everything back.
func TestStolenFile(t *testing.T) {
	ctx := context.Background()
	n := newNode(t, "nodeA", "locked")
	n.patients.setLocked(true)
	msgs := []string{
		bpMessage(t, "S1", "789567", "120", "R"),
		sample(t, "valid-oximeter-continua-wan.hl7v2"),
		sample(t, "valid-thermometer-continua-wan.hl7v2"),
	}
	for _, m := range msgs {
		n.store1(t, batch(t, m, t0))
	}
	q := ids(n.review(t))
	if len(q) != 3 {
		t.Fatalf("queue %v", q)
	}
	// A discard needs no data key either: its reason is sealed the same way.
	const why = "患者王小明拒绝测量"
	if _, err := n.svc.Discard(ctx, q[0], why, "nurse.li"); err != nil {
		t.Fatal(err)
	}
	n.svc.Close()
	if err := n.store.Close(); err != nil {
		t.Fatal(err)
	}
	file, err := os.ReadFile(n.path)
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"Doe^John", "Joseph", "789567", "Imaginary Hospital", "王小明", "PID|"} {
		if bytes.Contains(file, []byte(secret)) {
			t.Errorf("the database file shows %q", secret)
		}
	}
	for _, public := range []string{"8480-6", "0123456789ABCDEF^EUI-64", "266560^MDC_DIM_FAHR^MDC"} {
		if !bytes.Contains(file, []byte(public)) {
			t.Errorf("the database file does not show %q, which is stored readable: the search is broken", public)
		}
	}

	n.store = openStore(t, n.path, "nodeA")
	n.open(t)
	if err := n.svc.Unlock(ctx, dropBox(t)); err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, id := range q {
		r, err := n.svc.Reading(id)
		if err != nil {
			t.Fatal(err)
		}
		if r.Sealed || !bytes.Contains([]byte(r.Raw), []byte("PID|||789567^^^Imaginary Hospital^PI ||Doe^John^Joseph")) {
			t.Fatalf("reading %s unlocked: sealed %v, raw %q", id, r.Sealed, r.Raw)
		}
		if !slices.Equal(r.Identifiers, []string{"789567"}) {
			t.Fatalf("identifiers %v", r.Identifiers)
		}
		for _, d := range r.Decisions {
			found = found || (d.State == readings.StateDiscarded && d.Reason == why)
		}
	}
	if !found {
		t.Fatal("the discard reason did not come back")
	}
}
