package peers

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"carenode/crdt"
	"carenode/node/atomicfile"
	"carenode/node/identity"
	"carenode/node/nodeconf"
	"carenode/sync/transport"
)

// FileName is the record's file in the data directory.
const FileName = "peers.json"

// Path returns the record's path in data directory dir.
func Path(dir string) string { return filepath.Join(dir, FileName) }

// Peer is what this node knows of one peer.
type Peer struct {
	Node identity.ID   `json:"node"`
	Name string        `json:"name,omitempty"`
	Role nodeconf.Role `json:"role,omitempty"`
	// URL is the peer's sync URL, when known (this node dialled it, or
	// discovery announced it); Remote the address it last dialled from.
	URL    string `json:"url,omitempty"`
	Remote string `json:"remote,omitempty"`
	// Hub and Discovered say how this node knows the peer.
	Hub        bool      `json:"hub,omitempty"`
	Discovered time.Time `json:"discovered,omitzero"`

	LastAttempt time.Time `json:"last_attempt,omitzero"`
	LastOK      time.Time `json:"last_ok,omitzero"`
	// LastError is how the last session failed; empty when it completed.
	LastError string `json:"last_error,omitempty"`
	// Initiated says this node dialled the last session.
	Initiated bool `json:"initiated,omitempty"`
	// What the last session moved, and what all sessions moved.
	Sent          int   `json:"sent"`
	Received      int   `json:"received"`
	BytesSent     int64 `json:"bytes_sent"`
	BytesReceived int64 `json:"bytes_received"`
	TotalSent     int64 `json:"total_bytes_sent"`
	TotalReceived int64 `json:"total_bytes_received"`
	Sessions      int   `json:"sessions"`
	Failures      int   `json:"failures"`
	// Vector is the peer's vector at the end of the last completed
	// session (from its ack); Own this node's then.
	Vector crdt.Vector `json:"vector,omitempty"`
	Own    crdt.Vector `json:"own,omitempty"`
}

// file is the JSON layout.
type file struct {
	// Self is this node's vector when last recorded (each session end,
	// and after local writes while serving).
	Self   crdt.Vector `json:"self,omitempty"`
	SelfAt time.Time   `json:"self_at,omitzero"`
	Peers  []*Peer     `json:"peers"`
}

// Book is the record of one data directory, for one process.
type Book struct {
	path string

	mu sync.Mutex
	f  file
}

// Open reads the record at path (a missing or unreadable file is an empty
// record: it is only history).
func Open(path string) *Book {
	b := &Book{path: path}
	b.f, _ = read(path)
	return b
}

func read(path string) (file, error) {
	var f file
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return f, nil
	}
	if err != nil {
		return f, fmt.Errorf("read peers: %w", err)
	}
	if err := json.Unmarshal(data, &f); err != nil {
		return file{}, fmt.Errorf("read peers %s: %w", path, err)
	}
	return f, nil
}

// Read returns the peers recorded at path, sorted by node ID, and this
// node's vector as last recorded.
func Read(path string) ([]Peer, crdt.Vector, time.Time, error) {
	f, err := read(path)
	if err != nil {
		return nil, nil, time.Time{}, err
	}
	out := make([]Peer, 0, len(f.Peers))
	for _, p := range f.Peers {
		out = append(out, *p)
	}
	slices.SortFunc(out, func(a, b Peer) int {
		switch {
		case a.Node < b.Node:
			return -1
		case a.Node > b.Node:
			return 1
		}
		return 0
	})
	return out, f.Self, f.SelfAt, nil
}

func (b *Book) peer(id identity.ID) *Peer {
	for _, p := range b.f.Peers {
		if p.Node == id {
			return p
		}
	}
	p := &Peer{Node: id}
	b.f.Peers = append(b.f.Peers, p)
	return p
}

// save writes the record; the caller holds mu.
func (b *Book) save() error {
	data, err := json.MarshalIndent(b.f, "", "  ")
	if err != nil {
		return err
	}
	if err := atomicfile.Replace(b.path, data, 0o600); err != nil {
		return fmt.Errorf("write peers %s: %w", b.path, err)
	}
	return nil
}

// Hub records the node's hub.
func (b *Book) Hub(id identity.ID, url string) error {
	if id == "" {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	p := b.peer(id)
	if p.Hub && p.URL == url {
		return nil
	}
	p.Hub, p.URL, p.Role = true, url, nodeconf.RoleHub
	return b.save()
}

// Discovered records a peer found by LAN discovery at url.
func (b *Book) Discovered(id identity.ID, url string, at time.Time) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	p := b.peer(id)
	p.URL, p.Discovered = url, at
	return b.save()
}

// Self records this node's vector.
func (b *Book) Self(v crdt.Vector, at time.Time) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.f.Self, b.f.SelfAt = v.Clone(), at
	return b.save()
}

// Ended records a session that ended; it fits transport.Config.OnSession.
// A session refused before the peer was known (no node ID) is not
// recorded.
func (b *Book) Ended(e transport.Ended) error {
	if e.Peer.ID == "" {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	p := b.peer(e.Peer.ID)
	if e.Peer.Name != "" {
		p.Name, p.Role = e.Peer.Name, e.Peer.Role
	}
	if e.URL != "" {
		p.URL = e.URL
	}
	if e.Remote != "" {
		p.Remote = e.Remote
	}
	r := e.Result
	p.LastAttempt, p.Initiated, p.Sessions = e.At, e.URL != "", p.Sessions+1
	p.Sent, p.Received, p.BytesSent, p.BytesReceived = r.Sent, r.Received, r.BytesSent, r.BytesReceived
	p.TotalSent += r.BytesSent
	p.TotalReceived += r.BytesReceived
	if e.Err != nil {
		p.LastError, p.Failures = e.Err.Error(), p.Failures+1
		return b.save()
	}
	p.LastError, p.LastOK = "", e.At
	if r.PeerVector != nil {
		p.Vector = r.PeerVector.Clone()
	}
	if r.Vector != nil {
		p.Own = r.Vector.Clone()
		b.f.Self, b.f.SelfAt = r.Vector.Clone(), e.At
	}
	return b.save()
}

// Lag returns how many changes a peer with vector theirs lacks of ours, and
// how many of theirs this node lacks.
func Lag(ours, theirs crdt.Vector) (theyLack, weLack uint64) {
	for o, n := range ours {
		if n > theirs[o] {
			theyLack += n - theirs[o]
		}
	}
	for o, n := range theirs {
		if n > ours[o] {
			weLack += n - ours[o]
		}
	}
	return theyLack, weLack
}
