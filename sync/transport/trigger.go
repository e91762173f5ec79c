package transport

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"carenode/node/identity"
	"carenode/sync/session"
	"carenode/sync/trust"
)

// TriggerPath asks a running node to sync with a peer now. Only the node
// itself may ask: the caller must present the node's own certificate, which
// only the holder of the node key (the CLI on the same data directory) has.
const TriggerPath = "/sync/v1/trigger"

// Summary is what one sync did, as the CLI prints it.
type Summary struct {
	URL           string      `json:"url"`
	Peer          identity.ID `json:"peer"`
	Name          string      `json:"name"`
	Idle          bool        `json:"idle"`
	Sent          int         `json:"sent"`
	Received      int         `json:"received"`
	BytesSent     int64       `json:"bytes_sent"`
	BytesReceived int64       `json:"bytes_received"`
	Error         string      `json:"error,omitempty"`
}

// Summarize returns the summary of a session with peer at url.
func Summarize(url string, res session.Result, peer trust.Peer) Summary {
	return Summary{URL: url, Peer: peer.ID, Name: peer.Name, Idle: res.Idle, Sent: res.Sent, Received: res.Received,
		BytesSent: res.BytesSent, BytesReceived: res.BytesReceived}
}

type triggerRequest struct {
	URL  string      `json:"url"`
	Node identity.ID `json:"node,omitempty"`
	// Progress asks for the answer as lines of JSON (triggerLine): how
	// the session advances while it runs, then its summary. Without it
	// the answer is the summary alone, once the session is over.
	Progress bool `json:"progress,omitempty"`
}

// triggerLine is one line of a progress answer.
type triggerLine struct {
	Progress *session.Progress `json:"progress,omitempty"`
	Summary  *Summary          `json:"summary,omitempty"`
}

// progressEvery is how often a progress answer reports: often enough for
// a bar to move, rarely enough to cost nothing.
const progressEvery = 200 * time.Millisecond

func (s *Server) trigger(w http.ResponseWriter, r *http.Request) {
	if !s.selfOnly(w, r) {
		return
	}
	var req triggerRequest
	if err := json.NewDecoder(io.LimitReader(r.Body, 64<<10)).Decode(&req); err != nil || req.URL == "" {
		http.Error(w, "bad trigger request", http.StatusBadRequest)
		return
	}
	c, err := NewClient(s.cfg)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	if req.Progress {
		s.triggerWithProgress(w, r, c, req)
		return
	}
	res, peer, err := c.Sync(r.Context(), req.URL, req.Node)
	sum := Summarize(req.URL, res, peer)
	status := http.StatusOK
	if err != nil {
		sum.Error, status = err.Error(), http.StatusBadGateway
	}
	writeJSON(w, status, sum)
}

// selfTransport connects to the node's own sync listener at addr with the
// node's certificate; it accepts only a server that is this very node.
func selfTransport(m *trust.Material, addr string) *http.Transport {
	v := m.Verifier(nil, nil)
	return &http.Transport{ForceAttemptHTTP2: true, TLSHandshakeTimeout: 30 * time.Second, TLSClientConfig: &tls.Config{
		MinVersion:         tls.VersionTLS13,
		Certificates:       []tls.Certificate{m.ClientCertificate()},
		InsecureSkipVerify: true, // verified below: it must be this very node
		VerifyConnection: func(cs tls.ConnectionState) error {
			p, err := v.Verify(cs.PeerCertificates)
			if err != nil {
				return err
			}
			if p.ID != m.Self.ID {
				return fmt.Errorf("%s answers as node %s, not this node %s", addr, p.ID, m.Self.ID)
			}
			return nil
		},
	}}
}

// triggerWithProgress runs the session, writing a line of progress at most
// every progressEvery while it runs and the summary last. The session's
// progress callback must not block, so it only keeps the latest state; a
// goroutine of this handler writes it.
func (s *Server) triggerWithProgress(w http.ResponseWriter, r *http.Request, c *Client, req triggerRequest) {
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	enc := json.NewEncoder(w)
	var (
		mu     sync.Mutex
		latest *session.Progress
		wake   = make(chan struct{}, 1)
		done   = make(chan struct{})
		wg     sync.WaitGroup
	)
	wg.Go(func() {
		for {
			select {
			case <-wake:
			case <-done:
				return
			}
			mu.Lock()
			p := latest
			mu.Unlock()
			if enc.Encode(triggerLine{Progress: p}) != nil || rc.Flush() != nil {
				return // the CLI went away; its request's context ends the session
			}
			select {
			case <-time.After(progressEvery):
			case <-done:
				return
			}
		}
	})
	res, peer, err := c.SyncWith(r.Context(), req.URL, req.Node, func(p session.Progress) {
		mu.Lock()
		latest = &p
		mu.Unlock()
		select {
		case wake <- struct{}{}:
		default:
		}
	})
	close(done)
	wg.Wait()
	mu.Lock()
	last := latest
	mu.Unlock()
	if last != nil {
		enc.Encode(triggerLine{Progress: last}) // where it ended, however fast
	}
	sum := Summarize(req.URL, res, peer)
	if err != nil {
		sum.Error = err.Error()
	}
	enc.Encode(triggerLine{Summary: &sum})
	rc.Flush()
}

// selfOnly checks that a request comes from the node itself.
func (s *Server) selfOnly(w http.ResponseWriter, r *http.Request) bool {
	if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
		http.Error(w, "client certificate required / 需要客户端证书", http.StatusUnauthorized)
		return false
	}
	p, err := s.verifier.Verify(r.TLS.PeerCertificates)
	if err != nil || p.ID != s.cfg.Material.Self.ID {
		http.Error(w, "only the node itself may do this / 只有本节点可以执行此操作", http.StatusForbidden)
		return false
	}
	return true
}

// askSelf posts body as JSON to path on the node's own sync listener at
// addr, over tr (selfTransport), and returns the answer for the caller to
// read and close.
func askSelf(ctx context.Context, tr *http.Transport, addr, path string, body any) (*http.Response, error) {
	b, _ := json.Marshal(body)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "https://"+addr+path, bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		return nil, fmt.Errorf("ask the running node at %s: %w", addr, err)
	}
	return resp, nil
}

// postSelf is askSelf on a connection of its own, decoding the JSON answer
// into out.
func postSelf(ctx context.Context, m *trust.Material, addr, path string, body, out any) (*http.Response, error) {
	tr := selfTransport(m, addr)
	defer tr.CloseIdleConnections()
	resp, err := askSelf(ctx, tr, addr, path, body)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err := json.Unmarshal(data, out); err != nil {
		return resp, fmt.Errorf("running node at %s: %s: %s", addr, resp.Status, bytes.TrimSpace(data))
	}
	return resp, nil
}

// Trigger asks the node serving its sync listener at addr (host:port) to
// sync with peerURL now, and returns what that sync did. m is the node's own
// trust material: the running node accepts only itself.
func Trigger(ctx context.Context, m *trust.Material, addr, peerURL string, want identity.ID) (Summary, error) {
	return TriggerWith(ctx, m, addr, peerURL, want, nil)
}

// TriggerWith is Trigger telling progress (when not nil) how the session
// advances, as the running node reports it (every progressEvery at most).
func TriggerWith(ctx context.Context, m *trust.Material, addr, peerURL string, want identity.ID,
	progress func(session.Progress)) (Summary, error) {
	var sum Summary
	tr := selfTransport(m, addr)
	defer tr.CloseIdleConnections()
	resp, err := askSelf(ctx, tr, addr, TriggerPath, triggerRequest{URL: peerURL, Node: want, Progress: true})
	if err != nil {
		return sum, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		// A node started from an older binary answers a failed sync with
		// 502 and the summary, which says why.
		if json.Unmarshal(data, &sum) == nil && sum.Error != "" {
			return sum, fmt.Errorf("running node at %s: %s", addr, sum.Error)
		}
		return sum, fmt.Errorf("running node at %s: %s: %s", addr, resp.Status, bytes.TrimSpace(data))
	}
	dec := json.NewDecoder(io.LimitReader(resp.Body, 64<<20))
	for {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return sum, fmt.Errorf("running node at %s: the answer ended before the sync's summary: %w", addr, err)
		}
		var line triggerLine
		if err := json.Unmarshal(raw, &line); err != nil {
			return sum, fmt.Errorf("running node at %s: unreadable answer: %w", addr, err)
		}
		if line.Summary == nil && line.Progress == nil {
			// A node started from an older binary answers with the
			// summary alone.
			var old Summary
			if json.Unmarshal(raw, &old) == nil && old.URL != "" {
				line.Summary = &old
			}
		}
		switch {
		case line.Summary != nil:
			sum = *line.Summary
			if sum.Error != "" {
				return sum, fmt.Errorf("running node at %s: %s", addr, sum.Error)
			}
			return sum, nil
		case line.Progress != nil && progress != nil:
			progress(*line.Progress)
		}
	}
}

// RevokePath asks the running hub to revoke a node; only the hub itself may.
const RevokePath = "/sync/v1/revoke"

type revokeRequest struct {
	Node   identity.ID `json:"node"`
	Reason string      `json:"reason"`
}

type revokeResponse struct {
	Error string `json:"error,omitempty"`
}

func (s *Server) revoke(w http.ResponseWriter, r *http.Request) {
	if !s.selfOnly(w, r) {
		return
	}
	var req revokeRequest
	if err := json.NewDecoder(io.LimitReader(r.Body, 64<<10)).Decode(&req); err != nil {
		http.Error(w, "bad revoke request", http.StatusBadRequest)
		return
	}
	if err := s.cfg.Revoke(r.Context(), req.Node, req.Reason); err != nil {
		writeJSON(w, http.StatusInternalServerError, revokeResponse{Error: err.Error()})
		return
	}
	s.log.Warn("node revoked", logPeer, req.Node, logReason, req.Reason)
	writeJSON(w, http.StatusOK, revokeResponse{})
}

// RevokeVia asks the hub serving its sync listener at addr to revoke node.
func RevokeVia(ctx context.Context, m *trust.Material, addr string, node identity.ID, reason string) error {
	var out revokeResponse
	resp, err := postSelf(ctx, m, addr, RevokePath, revokeRequest{Node: node, Reason: reason}, &out)
	if err != nil {
		return err
	}
	if out.Error != "" || resp.StatusCode != http.StatusOK {
		return fmt.Errorf("running hub at %s: %s %s", addr, resp.Status, out.Error)
	}
	return nil
}
