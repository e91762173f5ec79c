package readings_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"carenode/crdt"
	"carenode/devices"
	"carenode/devices/lineformat"
	"carenode/devices/mqtt"
	"carenode/devices/readingsink"
	"carenode/node/readings"
	"carenode/node/store"
)

// TestDuplicateDelivery: the same message delivered again — in sequence
// (a resend after a lost ACK) or by several goroutines at once — is one
// record, counted once as stored and otherwise as duplicate.
func TestDuplicateDelivery(t *testing.T) {
	n := newNode(t, "nodeA")
	msg := bpMessage(t, "D1", "", "120", "R")
	n.store1(t, batch(t, msg, t0))
	// The resend comes later and over another connection: same record.
	again := batch(t, msg, t0.Add(30*time.Second))
	again.Source = "mllp:127.0.0.1:50001"
	n.store1(t, again)

	const racers = 8
	race := bpMessage(t, "D2", "", "140", "R")
	var wg sync.WaitGroup
	errs := make(chan error, racers)
	for i := range racers {
		wg.Go(func() {
			errs <- n.svc.Store(context.Background(), batch(t, race, t0.Add(time.Duration(i)*time.Millisecond)))
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := countRecords(t, n.store, readings.Collection); got != 2 {
		t.Fatalf("%d reading records, want 2", got)
	}
	stored, _, dupes := n.metrics.get()
	if stored != 2 || dupes != 1+racers-1 {
		t.Fatalf("metrics: stored %d, duplicates %d; want 2 and %d", stored, dupes, racers)
	}
	if r := n.review(t); len(ids(r)) != 2 {
		t.Fatalf("review lists %d readings, want 2", len(ids(r)))
	}
}

// TestReusedControlID: the three shared samples all say MSGID1234 from one
// device; each is a different message and must be kept.
func TestReusedControlID(t *testing.T) {
	n := newNode(t, "nodeA")
	for _, name := range []string{"valid-bp-continua-wan.hl7v2", "valid-oximeter-continua-wan.hl7v2", "valid-thermometer-continua-wan.hl7v2"} {
		n.store1(t, batch(t, sample(t, name), t0))
	}
	if got := countRecords(t, n.store, readings.Collection); got != 3 {
		t.Fatalf("%d records for three messages sharing a control id", got)
	}
	r := n.review(t)
	temp := byLOINC(t, r, "8310-5")
	if temp.RawValue != "98.6" || temp.Unit != "Cel" || *temp.Value != 37 || temp.RawUnit != "266560^MDC_DIM_FAHR^MDC" {
		t.Fatalf("thermometer reading: %+v (value %v)", temp, *temp.Value)
	}
	spo2 := byLOINC(t, r, "59408-5")
	if spo2.Unit != "%" || spo2.Name == "" || spo2.NameZh == "" {
		t.Fatalf("SpO2 reading: %+v", spo2)
	}
}

// TestCorrectionAndDeletion: a C row for the same order and code replaces
// the earlier value; a D row retracts it; history keeps both.
func TestCorrectionAndDeletion(t *testing.T) {
	n := newNode(t, "nodeA")
	n.patients.ids = map[string][]string{"789567": {"p1"}}
	n.store1(t, batch(t, bpMessage(t, "C1", "789567", "120", "F"), t0))
	// The correction repeats every row of the order, each with status C.
	corr := strings.ReplaceAll(bpMessage(t, "C2", "789567", "125", "C"), "MDC|||||R", "MDC|||||C")
	n.store1(t, batch(t, corr, t0.Add(time.Minute)))
	obs := n.observations(t, false, "p1")
	sys := byLOINC(t, obs, "8480-6")
	if sys.RawValue != "125" || sys.Status != "C" || !sys.Current {
		t.Fatalf("after the correction: %+v", sys)
	}
	if dia := byLOINC(t, obs, "8462-4"); dia.Status != "C" {
		t.Fatalf("diastolic: %+v", dia)
	}
	hist := n.observations(t, true, "p1")
	var old *readings.Item
	for i, it := range hist {
		if it.LOINC == "8480-6" && it.RawValue == "120" {
			old = &hist[i]
		}
	}
	if old == nil || old.Current || old.ReplacedBy == "" {
		t.Fatalf("the corrected value in history: %+v", old)
	}

	// A deletion of the systolic row of that order: no systolic stands.
	del := bpMessage(t, "C3", "789567", "", "D")
	n.store1(t, batch(t, del, t0.Add(2*time.Minute)))
	for _, it := range n.observations(t, false, "p1") {
		if it.LOINC == "8480-6" {
			t.Fatalf("a retracted systolic is still listed: %+v", it)
		}
	}
	// Discarding the deletion message (sent by mistake) brings it back.
	rs := n.observations(t, true, "p1")
	var delID string
	for _, it := range rs {
		if it.Received.Equal(t0.Add(2 * time.Minute)) {
			delID = it.ID
		}
	}
	if delID == "" {
		t.Fatal("the deletion message is not listed")
	}
	n.patients.ids["p1"] = []string{"p1"}
	if _, err := n.svc.Discard(context.Background(), delID, "sent by mistake", "dr.zhou"); err != nil {
		t.Fatal(err)
	}
	if sys := byLOINC(t, n.observations(t, false, "p1"), "8480-6"); sys.RawValue != "125" {
		t.Fatalf("after discarding the deletion: %+v", sys)
	}
}

// TestClockDrift: a device clock more than 10 minutes off the node's is
// flagged; a zoneless clock is read in the node's location.
func TestClockDrift(t *testing.T) {
	n := newNode(t, "nodeA")
	cases := []struct {
		name   string
		device time.Time
		zoned  bool
		want   bool
	}{
		{"in step", t0.Add(-2 * time.Minute), true, false},
		{"11 minutes slow", t0.Add(-11 * time.Minute), true, true},
		{"9 minutes fast", t0.Add(9 * time.Minute), true, false},
		{"zoneless wall clock in step", t0.Add(-time.Minute), false, false},
	}
	for _, c := range cases {
		b := readings.Message{DeviceID: c.name, Format: "json", ControlID: c.name, Raw: []byte(c.name),
			DeviceTime: c.device, DeviceTimeZoned: c.zoned, Received: t0}
		n.store1(t, b)
		var got readings.Item
		for _, it := range n.review(t) {
			if it.Device == c.name {
				got = it
			}
		}
		if got.ClockDrift != c.want || got.DeviceTime == nil {
			t.Errorf("%s: drift flag %v (%d s), want %v", c.name, got.ClockDrift, got.DriftSeconds, c.want)
		}
	}
}

// TestLineAndJSONKeys: line devices cannot resend, so two equal lines at
// different times are two readings, while a retried Store of one batch is
// one; MQTT JSON is keyed on its "id".
func TestLineAndJSONKeys(t *testing.T) {
	n := newNode(t, "nodeA")
	l, err := lineformat.ParseAND([]byte("ST,GS,+0070.5kg"))
	if err != nil {
		t.Fatal(err)
	}
	first := readingsink.Message(devices.BatchFromLine(l, "scale-1", t0))
	n.store1(t, first)
	n.store1(t, first) // the port retried a Store that had failed
	n.store1(t, readingsink.Message(devices.BatchFromLine(l, "scale-1", t0.Add(time.Minute))))
	if got := countRecords(t, n.store, readings.Collection); got != 2 {
		t.Fatalf("%d records for two weighings and a retry", got)
	}
	w := byLOINC(t, n.review(t)[:1], "29463-7")
	if *w.Value != 70.5 || w.Unit != "kg" || w.Format != "and" {
		t.Fatalf("weight: %+v", w)
	}

	payload := []byte(`{"id":"msg-0042","time":"2026-03-01T10:15:02+08:00","readings":[{"type":"body-temperature","value":"99.5","unit":"°F"}]}`)
	jbb, err := mqtt.Decode(payload, "thermo-9")
	if err != nil {
		t.Fatal(err)
	}
	jb := readingsink.Message(jbb)
	jb.Received = t0.Add(2 * time.Minute)
	n.store1(t, jb)
	jb.Received = t0.Add(3 * time.Minute) // QoS 1 redelivery
	n.store1(t, jb)
	if got := countRecords(t, n.store, readings.Collection); got != 3 {
		t.Fatalf("%d records after a redelivered MQTT message, want 3", got)
	}
	// An unreadable payload is kept, raw, and can be reviewed.
	badb, err := mqtt.Decode([]byte("{not json"), "thermo-9")
	if err == nil {
		t.Fatal("garbage decoded")
	}
	bad := readingsink.Message(badb)
	bad.Received = t0.Add(4 * time.Minute)
	n.store1(t, bad)
	r := n.review(t)
	last := r[len(r)-1]
	if last.LOINC != "" || len(last.Unmapped) == 0 || last.Device != "thermo-9" {
		t.Fatalf("unreadable payload in review: %+v", last)
	}
}

// TestNeverUnlocked: with no drop box key the node refuses (the device
// resends later) and stores nothing; after the first unlock it stores.
func TestNeverUnlocked(t *testing.T) {
	n := newNode(t, "nodeA", "never-unlocked")
	b := batch(t, bpMessage(t, "N1", "789567", "120", "R"), t0)
	if err := n.svc.Store(context.Background(), b); !errors.Is(err, readings.ErrNoDropBox) {
		t.Fatalf("Store on a never-unlocked node: %v, want ErrNoDropBox", err)
	}
	if got := countRecords(t, n.store, readings.Collection); got != 0 {
		t.Fatalf("%d records stored without a key", got)
	}
	if err := n.svc.Unlock(context.Background(), dropBox(t)); err != nil {
		t.Fatal(err)
	}
	n.svc.Lock()
	n.store1(t, b)
	// A restarted, locked node reads the key from its store.
	n.reopen(t, "nodeA")
	n.store1(t, batch(t, bpMessage(t, "N2", "789567", "120", "R"), t0))
	if got := countRecords(t, n.store, readings.Collection); got != 2 {
		t.Fatalf("%d records, want 2", got)
	}
}

// TestKeyFromPeer: a node never unlocked itself stores once sync brought
// the key another node wrote at its first unlock.
func TestKeyFromPeer(t *testing.T) {
	a := newNode(t, "nodeA")
	b := newNode(t, "nodeB", "never-unlocked")
	msg := batch(t, bpMessage(t, "K1", "", "120", "R"), t0)
	if err := b.svc.Store(context.Background(), msg); !errors.Is(err, readings.ErrNoDropBox) {
		t.Fatalf("before sync: %v", err)
	}
	exchange(t, a.store, b.store)
	b.store1(t, msg)
}

// TestLargeMessage: a message larger than one stored value may be (an
// MLLP frame may be 1 MiB) is kept whole, sealed in chunks.
func TestLargeMessage(t *testing.T) {
	n := newNode(t, "nodeA")
	raw := []byte(strings.Repeat("OBX|9|NA|150452^MDC_PULS_OXIM_PLETH^MDC|1.0.0.1|1^2^3^4^5^6^7^8^9|\r", 14000))
	m := readings.Message{DeviceID: "oximeter-9", Format: "json", ControlID: "big-1", Raw: raw, Received: t0,
		Unmapped: []string{"payload: too long a pleth wave"}}
	n.store1(t, m)
	n.store1(t, m)
	if len(raw) < 3*256<<10 {
		t.Fatalf("test message of %d bytes is not large", len(raw))
	}
	id := ids(n.review(t))[0]
	r, err := n.svc.Reading(id)
	if err != nil {
		t.Fatal(err)
	}
	if r.Raw != string(raw) {
		t.Fatalf("raw message of %d bytes came back as %d bytes", len(raw), len(r.Raw))
	}
	if got := countRecords(t, n.store, readings.Collection); got != 1 {
		t.Fatalf("%d records", got)
	}
}

// TestDamagedFromPeer: a reading record a peer wrote badly is left out of
// the lists (and said to be damaged), and loses nothing else.
func TestDamagedFromPeer(t *testing.T) {
	n := newNode(t, "nodeA")
	n.store1(t, batch(t, bpMessage(t, "G1", "", "120", "R"), t0))
	for i, v := range []string{`{"v":1,"observations":[{"value":"x"}]}`, `not json`, `{"v":99}`} {
		_, err := n.store.Write(context.Background(), store.WriteRequest{Collection: readings.Collection, Record: fmt.Sprintf("rd-bad%d", i),
			Edits: []store.Edit{{Kind: crdt.MutFact, Field: "msg", FactID: "m", Value: []byte(v)}}})
		if err != nil {
			t.Fatal(err)
		}
	}
	if _, err := n.store.Write(context.Background(), store.WriteRequest{Collection: readings.Collection, Record: "rd-bad9",
		Edits: []store.Edit{{Kind: crdt.MutSet, Field: "review", Value: []byte(`{"state":"attached"}`)}}}); err != nil {
		t.Fatal(err)
	}
	if r := n.review(t); len(ids(r)) != 1 {
		t.Fatalf("review: %+v", r)
	}
	if _, err := n.svc.Reading("rd-bad1"); !errors.Is(err, readings.ErrDamaged) {
		t.Fatalf("damaged reading: %v", err)
	}
	// A restart indexes the same.
	n.reopen(t, "nodeA")
	if r := n.review(t); len(ids(r)) != 1 {
		t.Fatalf("review after restart: %+v", r)
	}
}
