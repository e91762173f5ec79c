package chart_test

import (
	"context"
	"testing"

	"carenode/crdt"
	"carenode/node/care"
	"carenode/node/chart"
	"carenode/node/store"
)

// A patient record whose name is not sealed (written raw, or by a faulty
// peer) is left out of search, counted, and does not keep the other charts
// locked.
func TestUnlockSkipsADamagedRecord(t *testing.T) {
	sealer := newSealer(t)
	n := newNode(t, "N1", sealer, chart.Config{})
	register(t, n.svc, care.PatientInput{Name: "王秀英", Sex: "female", BirthDate: "1950-01-01", Phones: []string{"13800000001"}})
	if _, err := n.st.Write(context.Background(), store.WriteRequest{Collection: chart.Collection, Record: "raw1", Create: true,
		Edits: []store.Edit{{Kind: crdt.MutSet, Field: "name", Value: []byte(`"明文"`)}}}); err != nil {
		t.Fatal(err)
	}
	restarted := startNode(t, n.st, sealer, chart.Config{})
	if got := restarted.svc.Unreadable(); got != 1 {
		t.Fatalf("Unreadable() = %d, want 1", got)
	}
	if ids := searchIDs(t, restarted.svc, desk, "wxy"); len(ids) != 1 {
		t.Fatalf("search after unlock with a damaged record: %v", ids)
	}
}
