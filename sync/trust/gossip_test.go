package trust

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"carenode/node/atomicfile"
	"carenode/node/nodeconf"
)

func fileMode(t *testing.T, path string) os.FileMode {
	t.Helper()
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return info.Mode().Perm()
}

// TestHubGossipKey: a new hub has an owner-only 32-byte key that LoadCA
// and the hub's material return; a hub made before keys existed gets one
// on first need, the same one every time after.
func TestHubGossipKey(t *testing.T) {
	dir := t.TempDir()
	hub := mustID(t)
	m, err := CreateNetwork(dir, hub, "hub", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	path := PathsOf(dir).GossipKey()
	if got := fileMode(t, path); got != 0o600 {
		t.Errorf("gossip key mode %04o, want 0600", got)
	}
	stored, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(stored) != GossipKeySize || bytes.Equal(stored, make([]byte, GossipKeySize)) {
		t.Fatalf("stored key %x", stored)
	}
	ca, err := LoadCA(dir)
	if err != nil {
		t.Fatal(err)
	}
	mk, err := m.GossipKey()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(ca.GossipKey, stored) || !bytes.Equal(mk, stored) {
		t.Errorf("LoadCA key %x, material key %x, file %x", ca.GossipKey, mk, stored)
	}

	// Another network gets another key.
	other, err := CreateNetwork(t.TempDir(), mustID(t), "hub2", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if ok, _ := other.GossipKey(); bytes.Equal(ok, stored) {
		t.Error("two networks share a gossip key")
	}

	t.Run("hub made before gossip keys", func(t *testing.T) {
		if err := os.Remove(path); err != nil {
			t.Fatal(err)
		}
		// Every user of the hub's directory may be the first: the
		// serving hub, enrol-token, revoke. All end with one key.
		var wg sync.WaitGroup
		keys := make([][]byte, 8)
		errs := make([]error, 8)
		for i := range keys {
			wg.Go(func() {
				if i%2 == 0 {
					var ca *CA
					if ca, errs[i] = LoadCA(dir); errs[i] == nil {
						keys[i] = ca.GossipKey
					}
				} else {
					keys[i], errs[i] = m.GossipKey()
				}
			})
		}
		wg.Wait()
		for i := range keys {
			if errs[i] != nil {
				t.Fatalf("load %d: %v", i, errs[i])
			}
			if !bytes.Equal(keys[i], keys[0]) {
				t.Fatalf("load %d got key %x, load 0 %x", i, keys[i], keys[0])
			}
		}
		if bytes.Equal(keys[0], stored) {
			t.Error("the new key is the deleted one")
		}
		if got := fileMode(t, path); got != 0o600 {
			t.Errorf("gossip key mode %04o, want 0600", got)
		}
		again, err := ReadGossipKey(dir)
		if err != nil || !bytes.Equal(again, keys[0]) {
			t.Errorf("ReadGossipKey = %x, %v; want %x", again, err, keys[0])
		}
	})
}

// TestNodeGossipKey: a joined node keeps the key it was given; a node
// enrolled before keys existed has none and is told what to do, in both
// languages; a bad key file is refused and left as it is.
func TestNodeGossipKey(t *testing.T) {
	now := time.Now()
	ca, err := NewCA("net", nil, now)
	if err != nil {
		t.Fatal(err)
	}
	node := mustID(t)
	csr, err := NewCSR(node)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := ca.Sign(csr, "desk", nodeconf.RoleClinic, now, NodeValidity)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := SaveEnrolment(dir, ca.Cert, cert, Hub{URL: "https://127.0.0.1:7443", Node: mustID(t).ID}); err != nil {
		t.Fatal(err)
	}
	m, err := Load(dir, node)
	if err != nil {
		t.Fatal(err)
	}

	_, err = m.GossipKey()
	if !errors.Is(err, ErrNoGossipKey) {
		t.Fatalf("node without key: %v, want ErrNoGossipKey", err)
	}
	for _, want := range []string{"trust/gossip.key", "chmod 600", "re-enrol", "重新注册", "复制"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if _, err := HubGossipKey(dir); !errors.Is(err, ErrNotHub) {
		t.Errorf("HubGossipKey on a plain node: %v, want ErrNotHub (a node must not make its own key)", err)
	}
	if _, err := os.Stat(PathsOf(dir).GossipKey()); !os.IsNotExist(err) {
		t.Errorf("a node made itself a key: %v", err)
	}

	key, err := NewGossipKey()
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range [][]byte{nil, key[:16], append(key, 0)} {
		if err := SaveGossipKey(dir, bad); !errors.Is(err, ErrBadGossipKey) {
			t.Errorf("SaveGossipKey(%d bytes) = %v, want ErrBadGossipKey", len(bad), err)
		}
	}
	if err := SaveGossipKey(dir, key); err != nil {
		t.Fatal(err)
	}
	if got := fileMode(t, PathsOf(dir).GossipKey()); got != 0o600 {
		t.Errorf("gossip key mode %04o, want 0600", got)
	}
	got, err := m.GossipKey()
	if err != nil || !bytes.Equal(got, key) {
		t.Fatalf("GossipKey = %x, %v; want %x", got, err, key)
	}
	other, _ := NewGossipKey()
	if err := SaveGossipKey(dir, other); err == nil {
		t.Error("SaveGossipKey overwrote the key")
	}

	for _, tc := range []struct {
		name    string
		data    []byte
		mode    os.FileMode
		wantErr error
	}{
		{"short", key[:16], 0o600, ErrBadGossipKey},
		{"long", append(append([]byte{}, key...), key...), 0o600, atomicfile.ErrTooLarge},
		{"empty", nil, 0o600, ErrBadGossipKey},
		{"readable by others", key, 0o644, atomicfile.ErrPermissions},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := t.TempDir()
			p := PathsOf(d).GossipKey()
			if err := os.MkdirAll(PathsOf(d).Dir, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, tc.data, tc.mode); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(p, tc.mode); err != nil {
				t.Fatal(err)
			}
			if _, err := ReadGossipKey(d); !errors.Is(err, tc.wantErr) {
				t.Errorf("ReadGossipKey = %v, want %v", err, tc.wantErr)
			}
			after, err := os.ReadFile(p)
			if err != nil || !bytes.Equal(after, tc.data) {
				t.Errorf("the bad key file changed: %x, %v", after, err)
			}
		})
	}
}
