// Package storesink is a devices.Sink for the device front ends' tests and
// benchmarks: it stores each batch durably (fsynced) as one record of a
// real node store, as the node's sink does in effect, without the readings
// service.
package storesink

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"

	"carenode/crdt"
	"carenode/devices"
	"carenode/node/store"
)

// Sink stores each batch as one record of collection "readings", keyed on
// device, control id and raw bytes, so a batch stored twice is one record.
// The record's fields are "device", "control" and "raw" (JSON strings) and
// "observations".
type Sink struct{ s *store.Store }

var _ devices.Sink = Sink{}

// New returns a Sink storing into s.
func New(s *store.Store) Sink { return Sink{s} }

// Store implements devices.Sink.
func (k Sink) Store(ctx context.Context, b devices.Batch) error {
	sum := sha256.Sum256([]byte(b.DeviceID + "\x00" + b.ControlID + "\x00" + string(b.Raw)))
	obs, err := json.Marshal(b.Observations)
	if err != nil {
		return err
	}
	str := func(s string) []byte { v, _ := json.Marshal(s); return v }
	_, err = k.s.Write(ctx, store.WriteRequest{Collection: "readings", Record: hex.EncodeToString(sum[:16]), Edits: []store.Edit{
		{Kind: crdt.MutSet, Field: "device", Value: str(b.DeviceID), SeenCurrent: true},
		{Kind: crdt.MutSet, Field: "control", Value: str(b.ControlID), SeenCurrent: true},
		{Kind: crdt.MutSet, Field: "raw", Value: str(string(b.Raw)), SeenCurrent: true},
		{Kind: crdt.MutSet, Field: "observations", Value: obs, SeenCurrent: true},
	}})
	return err
}
