package mqtt

import (
	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/hooks/storage"
	boltstore "github.com/mochi-mqtt/server/v2/hooks/storage/bolt"
	"github.com/mochi-mqtt/server/v2/packets"
)

// sessionStore is mochi's bolt storage hook, which keeps sessions in a
// file of their own, with one fix: mochi v2.7.9's hook stores every filter
// of a SUBSCRIBE, those the ACL refused too (return code 0x80), and
// restores them at start as granted subscriptions. A device refused
// another device's topic would receive it after a restart. Only granted
// subscriptions are stored here, and refused ones in an older file are
// dropped when read.
type sessionStore struct {
	*boltstore.Hook
}

func (s sessionStore) OnSubscribed(cl *mochi.Client, pk packets.Packet, reasonCodes []byte) {
	granted := pk
	granted.Filters = nil
	var codes []byte
	for i, f := range pk.Filters {
		if i < len(reasonCodes) && reasonCodes[i] < 0x80 {
			granted.Filters = append(granted.Filters, f)
			codes = append(codes, reasonCodes[i])
		}
	}
	if len(codes) > 0 {
		s.Hook.OnSubscribed(cl, granted, codes)
	}
}

func (s sessionStore) StoredSubscriptions() ([]storage.Subscription, error) {
	subs, err := s.Hook.StoredSubscriptions()
	kept := subs[:0]
	for _, sub := range subs {
		if sub.Qos < 0x80 {
			kept = append(kept, sub)
		}
	}
	return kept, err
}
