package trust

import (
	"context"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"time"

	"carenode/crdt"
	"carenode/node/identity"
	"carenode/node/store"
)

// RevocationCollection holds one record per revoked node, its id the node
// ID. The hub writes it; it travels to every node like any other data, and
// each node refuses a revoked peer as soon as the record has reached it.
// A record counts only if its signature verifies with the pinned CA's key,
// so no node but the hub can revoke another.
const RevocationCollection = "revocations"

// Fields of a revocation record; values are JSON.
const (
	revSig    = "sig"    // base64 Ed25519 signature by the CA over revocationMessage
	revReason = "reason" // free text
	revAt     = "at"     // RFC 3339
)

func revocationMessage(id identity.ID) []byte {
	return []byte("carenode revocation v1\x00" + string(id))
}

// RecordGetter reads a record; node/store's Store implements it. Called
// from TLS handshakes, concurrently.
type RecordGetter interface {
	Get(coll, id string) (store.RecordView, error)
}

// RecordWriter makes a local write; node/store's Store implements it.
type RecordWriter interface {
	Write(ctx context.Context, req store.WriteRequest) (store.WriteResult, error)
}

// Revocations says whether a node is revoked, from the synced records.
type Revocations struct {
	records RecordGetter
	ca      ed25519.PublicKey
}

// NewRevocations reads revocations from records, trusting only those
// signed by ca.
func NewRevocations(records RecordGetter, ca *x509.Certificate) *Revocations {
	pub, _ := ca.PublicKey.(ed25519.PublicKey)
	return &Revocations{records: records, ca: pub}
}

// Revoked reports whether id has a revocation signed by the CA.
func (r *Revocations) Revoked(id identity.ID) bool {
	v, err := r.records.Get(RevocationCollection, string(id))
	if err != nil || v.Deleted {
		return false
	}
	f, ok := v.Fields[revSig]
	if !ok {
		return false
	}
	var sig []byte
	if json.Unmarshal(f.Value, &sig) != nil {
		return false
	}
	return identity.Verify(r.ca, revocationMessage(id), sig)
}

// Revoke writes the CA-signed revocation of id into w (the hub's store),
// from where it syncs to every node.
func (ca *CA) Revoke(ctx context.Context, w RecordWriter, id identity.ID, reason string, now time.Time) error {
	if hub, ok := ca.Cert.PublicKey.(ed25519.PublicKey); !ok || len(hub) == 0 {
		return fmt.Errorf("revoke: CA key is not Ed25519")
	}
	sig, _ := json.Marshal(ed25519.Sign(ca.key, revocationMessage(id)))
	why, _ := json.Marshal(reason)
	at, _ := json.Marshal(now.UTC().Format(time.RFC3339))
	_, err := w.Write(ctx, store.WriteRequest{Collection: RevocationCollection, Record: string(id), Edits: []store.Edit{
		{Kind: crdt.MutSet, Field: revSig, Value: sig, SeenCurrent: true},
		{Kind: crdt.MutSet, Field: revReason, Value: why, SeenCurrent: true},
		{Kind: crdt.MutSet, Field: revAt, Value: at, SeenCurrent: true},
	}})
	if err != nil {
		return fmt.Errorf("revoke %s: %w", id, err)
	}
	return nil
}
