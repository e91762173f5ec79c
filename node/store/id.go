package store

import (
	"crypto/rand"
	"encoding/base32"
	"time"
)

// idEncoding is base32 with the "extended hex" alphabet in lower case, which
// sorts in the same order as the bytes it encodes.
var idEncoding = base32.NewEncoding("0123456789abcdefghijklmnopqrstuv").WithPadding(base32.NoPadding)

// NewRecordID returns a record id: 21 characters encoding 48 bits of
// wall-clock milliseconds and 56 random bits. Ids made on different nodes
// offline do not collide, and ids sort by creation time, so new records go
// to the end of the B-tree instead of dirtying a random page each.
func NewRecordID(now time.Time) string {
	var b [13]byte
	ms := uint64(now.UnixMilli())
	for i := 5; i >= 0; i-- {
		b[i] = byte(ms)
		ms >>= 8
	}
	rand.Read(b[6:])
	return idEncoding.EncodeToString(b[:])
}

// NewShortID returns 12 random characters of the same alphabet (60 bits):
// ids of set elements and facts inside one record, where 60 bits keep two
// nodes from ever picking the same one.
func NewShortID() string {
	var b [8]byte
	rand.Read(b[:])
	return idEncoding.EncodeToString(b[:])[:12]
}
