package readings

import (
	"encoding/json"
	"testing"
)

// FuzzDecode feeds stored values from anywhere (a peer sends them) to the
// decoders of a reading's message and review decision: they never panic,
// and what they accept encodes and decodes to the same thing.
func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"v":1,"device":"d","format":"hl7","received":"2026-03-01T02:15:00Z","observations":[{"ref":"OBR 1 OBX 4","kind":"bp-systolic","loinc":"8480-6","value":120,"unit":"mm[Hg]","rawValue":"120","rawUnit":"mmHg","slot":"ab"}],"retracts":["cd"],"raw":"+QAAAA=="}`))
	f.Add([]byte(`{"state":"attached","patient":"p1","by":"nurse.li","at":"2026-03-01T02:15:00Z"}`))
	f.Add([]byte(`{"state":"discarded","by":"x","reason":"+Q=="}`))
	f.Add([]byte(`{"v":2}`))
	f.Add([]byte(`{"v":1,"observations":[{"value":1e999}]}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, b []byte) {
		if m, err := decodeMessage(b); err == nil {
			again, err := json.Marshal(m)
			if err != nil {
				t.Fatalf("re-encode accepted message: %v", err)
			}
			if _, err := decodeMessage(again); err != nil {
				t.Fatalf("accepted message does not decode again: %v\n%s", err, again)
			}
		}
		if d, err := decodeDecision(b); err == nil {
			if (d.State == StateAttached || d.State == StateBound) && d.Patient == "" {
				t.Fatalf("decision binds to no patient: %+v", d)
			}
		}
	})
}
