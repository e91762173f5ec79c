package transport_test

import (
	"context"
	"strings"
	"testing"

	"carenode/node/nodeconf"
	"carenode/sync/session"
	"carenode/sync/transport"
)

// TestTriggerReportsProgress: a running desk asked to sync with the hub
// (as `carenode sync` does when the node is serving) reports how the
// session advances while it runs, then its summary; a failed session is
// an error with the running node's reason.
func TestTriggerReportsProgress(t *testing.T) {
	hub, ca, tokens := newHub(t)
	hubURL := serve(t, hub, ca, tokens)
	desk := join(t, hubURL, tokens, hub, "desk", nodeconf.RoleClinic)
	deskURL := serve(t, desk, nil, nil)
	hub.write(t, 3000) // several batches each way
	ctx := context.Background()

	var seen []session.Progress
	sum, err := transport.TriggerWith(ctx, desk.m, strings.TrimPrefix(deskURL, "https://"), hubURL, hub.id.ID,
		func(p session.Progress) { seen = append(seen, p) })
	if err != nil {
		t.Fatal(err)
	}
	if sum.Received != 3000 || sum.Peer != hub.id.ID || sum.Idle {
		t.Errorf("summary %+v, want 3000 changes received from the hub", sum)
	}
	t.Logf("%d progress reports", len(seen))
	if len(seen) == 0 {
		t.Fatal("no progress reported")
	}
	if last := seen[len(seen)-1]; last.Received != 3000 || last.BytesReceived == 0 {
		t.Errorf("last progress %+v, want all 3000 received", last)
	}
	for i := 1; i < len(seen); i++ {
		if seen[i].Received < seen[i-1].Received {
			t.Errorf("progress went back: %+v after %+v", seen[i], seen[i-1])
		}
	}

	// Idle the second time; the plain Trigger (no callback) still works.
	if sum, err := transport.Trigger(ctx, desk.m, strings.TrimPrefix(deskURL, "https://"), hubURL, hub.id.ID); err != nil || !sum.Idle {
		t.Errorf("second sync: %+v %v, want idle", sum, err)
	}
	// Asking for the wrong node at the hub's address fails, with the
	// running node's reason.
	_, err = transport.TriggerWith(ctx, desk.m, strings.TrimPrefix(deskURL, "https://"), hubURL, desk.id.ID, nil)
	if err == nil || !strings.Contains(err.Error(), "running node at") {
		t.Errorf("sync with the wrong node: %v, want the running node's error", err)
	}
}
