package mqtt

import (
	"bytes"
	"testing"
)

// FuzzDecode: any payload gives a batch that keeps the bytes as received,
// and a reason whenever it could not be read.
func FuzzDecode(f *testing.F) {
	f.Add([]byte(thermoJSON))
	f.Add([]byte(`{"id":"g1","readings":[{"loinc":"14743-9","value":"90","unit":"mg/dL"}]}`))
	f.Add([]byte("MSH|^~\\&|x||||20240101||ORU^R01|C1|P|2.6\rOBR|1\rOBX|1|NM|150456^X^MDC||97|%||||||F"))
	f.Add([]byte("GLU 5.4"))
	f.Fuzz(func(t *testing.T, payload []byte) {
		b, err := Decode(payload, "dev")
		if !bytes.Equal(b.Raw, payload) || b.DeviceID != "dev" {
			t.Fatalf("raw %q device %q", b.Raw, b.DeviceID)
		}
		if err != nil && (len(b.Unmapped) != 1 || len(b.Observations) != 0) {
			t.Fatalf("error %v with batch %+v", err, b)
		}
	})
}
