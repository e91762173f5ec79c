package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"carenode/crdt"
	"carenode/node/nodeconf"
	"carenode/sync/peers"
	syncsession "carenode/sync/session"
)

func TestPeerRows(t *testing.T) {
	now := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
	list := []peers.Peer{
		{Node: "AAAAAAAAAAAAAA", Name: "县医院", Role: nodeconf.RoleHub, Hub: true, URL: "https://10.0.0.1:7443",
			Sessions: 3, LastOK: now.Add(-90 * time.Second), LastAttempt: now.Add(-90 * time.Second),
			Sent: 4, Received: 2, BytesSent: 2048, BytesReceived: 900,
			Vector: crdt.Vector{"ME": 8, "HUB": 5}},
		{Node: "BBBBBBBBBBBBBB", Name: "kiosk1", Role: nodeconf.RoleKiosk, Discovered: now, Remote: "10.0.0.7:5000",
			Sessions: 2, Failures: 1, LastError: "sync with https://10.0.0.7:7443: read from peer: connection reset",
			Vector: crdt.Vector{"ME": 2, "KIOSK": 1}},
		{Node: "CCCCCCCCCCCCCC", Discovered: now, URL: "https://10.0.0.8:7443"},
	}
	rows := peerRows(list, crdt.Vector{"ME": 10, "HUB": 4})
	for i, want := range []struct {
		known            string
		theyLack, weLack uint64
	}{{"hub,synced", 2, 1}, {"discovered,synced", 8 + 4, 1}, {"discovered", 0, 0}} {
		if got := strings.Join(rows[i].Known, ","); got != want.known || rows[i].TheyLack != want.theyLack || rows[i].WeLack != want.weLack {
			t.Errorf("row %d: known %q, lag %d/%d; want %q, %d/%d", i, got, rows[i].TheyLack, rows[i].WeLack, want.known, want.theyLack, want.weLack)
		}
	}
	var b bytes.Buffer
	printPeers(&b, rows, now)
	out := b.String()
	for _, want := range []string{"LAST SYNC 上次同步", "1m30s ago", "ok / 成功", "failed / 失败", "≤12", "never / 从未", "4/2 ch, 2.0 KiB/900 B", "?"} {
		if !strings.Contains(out, want) {
			t.Errorf("peers table lacks %q:\n%s", want, out)
		}
	}
	b.Reset()
	printPeers(&b, nil, now)
	if !strings.Contains(b.String(), "尚无") {
		t.Errorf("empty list: %q", b.String())
	}
}

func TestSyncLine(t *testing.T) {
	for _, tc := range []struct {
		p    syncsession.Progress
		want string
	}{
		{syncsession.Progress{}, "sync [##############################] 100% ↑ 0/0 0 B ↓ 0/0 0 B"},
		{syncsession.Progress{Sent: 250, ToSend: 500, Received: 0, ToReceive: 500, BytesSent: 3 << 10, BytesReceived: 300},
			"sync [#######.......................]  25% ↑ 250/500 3.0 KiB ↓ 0/500 300 B"},
		// A scope filtered some out: the bar does not pass 100%.
		{syncsession.Progress{Sent: 9, ToSend: 4}, "sync [##############################] 100% ↑ 9/4 0 B ↓ 0/0 0 B"},
	} {
		if got := syncLine("sync", tc.p); got != tc.want {
			t.Errorf("syncLine(%+v) =\n%q, want\n%q", tc.p, got, tc.want)
		}
	}
}
