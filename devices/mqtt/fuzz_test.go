package mqtt

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"unicode/utf8"
)

// FuzzDecode: any payload gives a batch that keeps the bytes as received,
// and a reason whenever it could not be read; a JSON document that was
// read accounts for every one of its readings, mapped or not.
func FuzzDecode(f *testing.F) {
	f.Add([]byte(thermoJSON))
	f.Add([]byte(`{"id":"g1","readings":[{"loinc":"14743-9","value":"90","unit":"mg/dL"}]}`))
	f.Add([]byte("MSH|^~\\&|x||||20240101||ORU^R01|C1|P|2.6\rOBR|1\rOBX|1|NM|150456^X^MDC||97|%||||||F"))
	f.Add([]byte("GLU 5.4"))
	samples, _ := filepath.Glob("testdata/payloads/*.json")
	for _, s := range samples {
		if b, err := os.ReadFile(s); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		b, err := Decode(payload, "dev")
		if !bytes.Equal(b.Raw, payload) || b.DeviceID != "dev" {
			t.Fatalf("raw %q device %q", b.Raw, b.DeviceID)
		}
		if err != nil {
			if len(b.Unmapped) != 1 || len(b.Observations) != 0 {
				t.Fatalf("error %v with batch %+v", err, b)
			}
			return
		}
		if b.Format == "json" {
			if b.ControlID == "" || utf8.RuneCountInString(b.ControlID) > MaxMessageID {
				t.Fatalf("control id %q accepted", b.ControlID)
			}
			for _, o := range b.Observations {
				if o.LOINC == "" || o.Unit == "" {
					t.Fatalf("observation without LOINC or UCUM: %+v", o)
				}
			}
		}
	})
}
