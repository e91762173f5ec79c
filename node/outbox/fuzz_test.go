package outbox

import (
	"testing"
	"time"

	"carenode/crdt"
	"carenode/node/store"
)

// FuzzStoredMessage feeds the record reader what a peer could send: any
// bytes in any field and any event. It must return an error or a message
// whose status is one of the six, never panic.
func FuzzStoredMessage(f *testing.F) {
	f.Add([]byte(`"k"`), []byte(`"2026-03-10T09:00:00Z"`), []byte(`{"type":"start","at":"2026-03-10T09:00:00Z","node":"a"}`),
		[]byte(`{"type":"failed","attempt":"e1","final":true}`), "nodeA")
	f.Add([]byte(`7`), []byte(`null`), []byte(`{"type":"sent"}`), []byte(`{"type":"cancel"}`), "")
	f.Add([]byte{0xf8, 1, 2}, []byte(`"x"`), []byte(`[]`), []byte(`{"type":"retry"}`), "b")
	f.Fuzz(func(t *testing.T, key, expires, ev1, ev2 []byte, sender string) {
		v := store.RecordView{ID: "m1", View: crdt.View{
			Fields: map[string]crdt.FieldView{fieldKey: {Value: key}, fieldExpires: {Value: expires}, fieldText: {Value: key}},
			Sets:   map[string][]string{setSenders: {sender}},
			Facts: map[string][]crdt.FactView{factEvents: {
				{ID: "e1", Value: ev1}, {ID: "e2", Value: ev2},
			}},
		}}
		m, err := decodeStored(v)
		if err != nil {
			return
		}
		st := evaluate(m, time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC))
		if !validStatus(st.status) {
			t.Fatalf("status %q", st.status)
		}
		cfg := DefaultConfig("nodeA")
		_ = st.due(m, &cfg)
		_ = m.responsible()
	})
}
