package mqtt

import (
	"context"
	"errors"
	"log/slog"

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

// SetOpts gives the hook a logger that demotes one message to DEBUG.
// mochi v2.7.9's bolt hook logs ERROR "failed to get data" when the $SYS
// info key is missing, and then StoredSysInfo itself takes that very error
// as "nothing stored yet" and carries on. The key is written only on a $SYS
// tick (hourly here), so it is missing on a fresh file and after any short
// run: not an error. Filtering beats seeding the key, which would mean
// writing mochi's file format ourselves. Every other error stays ERROR.
func (s sessionStore) SetOpts(l *slog.Logger, opts *mochi.HookOptions) {
	s.Hook.SetOpts(slog.New(missingKeyHandler{l.Handler()}), opts)
}

// missingKeyHandler demotes the bolt hook's "failed to get data" error to
// DEBUG when the error is only that the key is not there.
type missingKeyHandler struct{ slog.Handler }

func (h missingKeyHandler) Handle(ctx context.Context, r slog.Record) error {
	if r.Level >= slog.LevelError && r.Message == "failed to get data" && keyNotFound(r) {
		if !h.Handler.Enabled(ctx, slog.LevelDebug) {
			return nil
		}
		r.Level = slog.LevelDebug
	}
	return h.Handler.Handle(ctx, r)
}

func (h missingKeyHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return missingKeyHandler{h.Handler.WithAttrs(as)}
}

func (h missingKeyHandler) WithGroup(name string) slog.Handler {
	return missingKeyHandler{h.Handler.WithGroup(name)}
}

// keyNotFound reports whether r's "error" is the bolt hook's ErrKeyNotFound.
func keyNotFound(r slog.Record) bool {
	found := false
	r.Attrs(func(a slog.Attr) bool {
		if err, ok := a.Value.Any().(error); ok && a.Key == "error" {
			found = errors.Is(err, boltstore.ErrKeyNotFound)
			return false
		}
		return true
	})
	return found
}
