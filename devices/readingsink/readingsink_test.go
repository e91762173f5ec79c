package readingsink

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"carenode/devices"
	"carenode/devices/hl7"
)

func bp(t *testing.T, edit func(string) string) devices.Batch {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "hl7", "testdata", "valid-bp-continua-wan.hl7v2"))
	if err != nil {
		t.Fatal(err)
	}
	msg := edit(strings.ReplaceAll(strings.TrimSpace(string(b)), "\n", "\r"))
	m, err := hl7.Parse([]byte(msg))
	if err != nil {
		t.Fatal(err)
	}
	return devices.BatchFromHL7(m, "")
}

func TestMessage(t *testing.T) {
	same := func(s string) string { return s }
	m := Message(bp(t, same))
	if !slices.Equal(m.Identifiers, []string{"789567"}) || len(m.Retracts) != 0 {
		t.Fatalf("identifiers %v, retracts %v", m.Identifiers, m.Retracts)
	}
	if len(m.Observations) != 3 {
		t.Fatalf("%d observations", len(m.Observations))
	}
	slots := map[string]bool{}
	for _, o := range m.Observations {
		if o.Slot == "" || slots[o.Slot] || o.Name == "" || o.NameZh == "" {
			t.Fatalf("observation %+v", o)
		}
		slots[o.Slot] = true
	}
	// A correction of the same order and code has the same slot; a
	// deletion names it in Retracts.
	del := Message(bp(t, func(s string) string {
		return strings.Replace(s, "|120|266016^MDC_DIM_MMHG^MDC|||||R", "||266016^MDC_DIM_MMHG^MDC|||||D", 1)
	}))
	if len(del.Retracts) != 1 || del.Retracts[0] != m.Observations[0].Slot {
		t.Fatalf("deletion retracts %v, want the systolic slot %s", del.Retracts, m.Observations[0].Slot)
	}
	// Another device's order with the same number is another slot.
	other := bp(t, same)
	other.DeviceID = "another-monitor"
	if o := Message(other); o.Observations[0].Slot == m.Observations[0].Slot {
		t.Fatal("two devices share a slot")
	}
	// A message that names no order cannot be corrected.
	none := Message(bp(t, func(s string) string {
		return strings.Replace(s, "OBR|1|AB12345^AcmeAHDInc^ACDE48234567ABCD^EUI-64|CD12345^AcmeAHDInc^ACDE48234567ABCD^EUI-64|", "OBR|1|||", 1)
	}))
	for _, o := range none.Observations {
		if o.Slot != "" {
			t.Fatalf("slot %q without an order number", o.Slot)
		}
	}
}
