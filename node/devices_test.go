package node

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"carenode/devices/hl7"
	"carenode/devices/mllp"
	"carenode/devices/readingsink"
	"carenode/devices/runner"
	"carenode/node/auth"
	"carenode/node/nodeconf"
	"carenode/node/readings"
	"carenode/node/vault"
)

func openTestNode(t *testing.T) *Node {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "desk1")
	if _, err := Init(InitOptions{Dir: dir, Name: "Test clinic", Role: nodeconf.RoleClinic}); err != nil {
		t.Fatal(err)
	}
	n, err := Open(Config{Dir: dir, FastHashes: true, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestDevicesThroughTheNode runs an HL7 monitor over a real TCP connection
// to the MLLP listener of devices/runner, storing through
// devices/readingsink into a real node: the ACK is AA only once the
// reading is in the node's store, and the review queue of the node's API
// lists it. The front ends are stopped by the node's Close before its
// store closes.
func TestDevicesThroughTheNode(t *testing.T) {
	n := openTestNode(t)
	closed := false
	t.Cleanup(func() {
		if !closed {
			n.Close()
		}
	})
	// The staff directory hands the drop box at unlock once node.go wires
	// it; here the test does.
	dk, err := vault.NewDataKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	box, err := vault.NewDropBox(dk)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.unlockReadings(box); err != nil {
		t.Fatal(err)
	}
	mc := mllp.DefaultConfig("127.0.0.1:0")
	r, err := runner.Start(runner.Config{MLLP: &mc, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))},
		readingsink.New(n.Readings), nil)
	if err != nil {
		t.Fatal(err)
	}
	stopped := make(chan bool, 1)
	n.AttachDevices(func() error {
		// The store must still be open while the front ends stop.
		_, err := n.Store.Get(readings.KeyCollection, "dropbox")
		stopped <- err == nil
		return r.Close()
	})

	raw, err := os.ReadFile(filepath.Join("readings", "testdata", "valid-bp-continua-wan.hl7v2"))
	if err != nil {
		t.Fatal(err)
	}
	msg := bytes.ReplaceAll(bytes.TrimSpace(raw), []byte("\n"), []byte("\r"))
	frame, err := hl7.AppendFrame(nil, msg)
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("tcp", r.MLLPAddr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := c.Write(frame); err != nil {
		t.Fatal(err)
	}
	b, err := hl7.NewReader(c, hl7.DefaultMaxFrame).ReadFrame()
	if err != nil {
		t.Fatal(err)
	}
	ack, err := hl7.ParseACK(b)
	if err != nil || ack.Code != hl7.AA || ack.ControlID != "MSGID1234" {
		t.Fatalf("ACK %+v, %v", ack, err)
	}
	vs, err := n.Store.List(readings.Collection, "", 10)
	if err != nil || len(vs) != 1 {
		t.Fatalf("after AA the store holds %d readings (%v)", len(vs), err)
	}

	// The review queue, through the node's own handler and a signed-in nurse.
	if _, err := n.Staff.Add(context.Background(), "admin", auth.RoleAdmin, []byte("admin-password")); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(n.Handler())
	defer srv.Close()
	login, _ := json.Marshal(map[string]string{"name": "admin", "password": "admin-password"})
	res, err := http.Post(srv.URL+"/api/v1/auth/login", "application/json", bytes.NewReader(login))
	if err != nil {
		t.Fatal(err)
	}
	var tok struct{ Token string }
	json.NewDecoder(res.Body).Decode(&tok)
	res.Body.Close()
	req, _ := http.NewRequest("GET", srv.URL+"/api/v1/readings/review", nil)
	req.Header.Set("Authorization", "Bearer "+tok.Token)
	res, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.Contains(string(body), `"loinc":"8480-6"`) || !strings.Contains(string(body), `"rawUnit":"266016^MDC_DIM_MMHG^MDC"`) {
		t.Fatalf("review: %d %s", res.StatusCode, body)
	}

	closed = true
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	if ok := <-stopped; !ok {
		t.Fatal("the device front ends were stopped after the store closed")
	}
	// Stopped: the listener is gone.
	if c2, err := net.DialTimeout("tcp", r.MLLPAddr(), time.Second); err == nil {
		c2.Close()
		t.Fatal("MLLP listener still accepting after Close")
	}
	if _, err := n.Store.Get(readings.Collection, vs[0].ID); err == nil {
		t.Fatal("store still open after Close")
	}
}
