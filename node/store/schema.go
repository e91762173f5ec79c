package store

import (
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// SchemaVersion is the layout this build writes.
const SchemaVersion = 2

var (
	bucketMeta    = []byte("meta")
	bucketVector  = []byte("vector")
	bucketLog     = []byte("log")
	bucketRecords = []byte("records")
	bucketMerges  = []byte("merges")
	bucketIndex   = []byte("index")
	bucketCounts  = []byte("counts")
	// bucketUnfolded lists the remote batches whose changes are in the log
	// but not yet folded into their records (pending.go).
	bucketUnfolded = []byte("unfolded")

	keySchema = []byte("schema")
	keyNode   = []byte("node")
	keyOrigin = []byte("origin")
	keyClock  = []byte("clock")
	keyLogLen = []byte("loglen")
)

// migration moves a store from version to-1 to version to, inside one
// transaction: a crash mid-migration leaves the old version intact.
type migration struct {
	to    uint64
	about string
	apply func(tx *bolt.Tx) error
}

// migrations lists every step from an empty file to SchemaVersion. A new
// layout appends a step; steps are never edited once released.
func migrations() []migration {
	return []migration{
		{to: 1, about: "initial layout", apply: func(tx *bolt.Tx) error {
			for _, name := range [][]byte{bucketMeta, bucketVector, bucketLog, bucketRecords, bucketMerges} {
				if _, err := tx.CreateBucketIfNotExists(name); err != nil {
					return fmt.Errorf("create bucket %s: %w", name, err)
				}
			}
			idx, err := tx.CreateBucketIfNotExists(bucketIndex)
			if err != nil {
				return fmt.Errorf("create bucket %s: %w", bucketIndex, err)
			}
			if _, err := idx.CreateBucketIfNotExists(bucketCounts); err != nil {
				return fmt.Errorf("create bucket index/%s: %w", bucketCounts, err)
			}
			return nil
		}},
		{to: 2, about: "remote batches folded into records later (bucket unfolded); sync marks (index/marks, made on first use before)", apply: func(tx *bolt.Tx) error {
			if _, err := tx.CreateBucketIfNotExists(bucketUnfolded); err != nil {
				return fmt.Errorf("create bucket %s: %w", bucketUnfolded, err)
			}
			if _, err := tx.Bucket(bucketIndex).CreateBucketIfNotExists(bucketMarks); err != nil {
				return fmt.Errorf("create bucket index/%s: %w", bucketMarks, err)
			}
			return nil
		}},
	}
}

// schemaVersion reads the stored version; 0 means a file with no carenode
// data yet.
func schemaVersion(tx *bolt.Tx) uint64 {
	meta := tx.Bucket(bucketMeta)
	if meta == nil {
		return 0
	}
	return getU64(meta.Get(keySchema))
}

// migrate brings tx's file to SchemaVersion.
func migrate(tx *bolt.Tx) (from uint64, err error) {
	from = schemaVersion(tx)
	if from > SchemaVersion {
		return from, fmt.Errorf("%w: file has schema %d, this build knows up to %d", ErrSchemaTooNew, from, SchemaVersion)
	}
	for _, m := range migrations() {
		if m.to <= from {
			continue
		}
		if err := m.apply(tx); err != nil {
			return from, fmt.Errorf("migrate schema to %d (%s): %w", m.to, m.about, err)
		}
		if err := tx.Bucket(bucketMeta).Put(keySchema, u64(m.to)); err != nil {
			return from, fmt.Errorf("record schema %d: %w", m.to, err)
		}
	}
	return from, nil
}
