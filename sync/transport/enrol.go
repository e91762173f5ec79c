package transport

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"carenode/node/identity"
	"carenode/node/nodeconf"
	"carenode/sync/trust"
)

type enrolRequest struct {
	Token string `json:"token"`
	CSR   []byte `json:"csr"`
}

type enrolResponse struct {
	Cert []byte `json:"cert,omitempty"`
	CA   []byte `json:"ca,omitempty"`
	// Gossip is the network's LAN gossip key (trust.GossipKeySize
	// bytes); only ever sent over the TLS connection the joiner has
	// checked against the CA fingerprint in its token.
	Gossip []byte `json:"gossip,omitempty"`
	// Code names the refusal for the joining side's error: used,
	// expired, unknown, malformed, csr.
	Code  string `json:"code,omitempty"`
	Error string `json:"error,omitempty"`
}

var refusalCodes = []struct {
	code string
	err  error
}{
	{"used", trust.ErrTokenUsed},
	{"expired", trust.ErrTokenExpired},
	{"unknown", trust.ErrTokenUnknown},
	{"malformed", trust.ErrTokenMalformed},
	{"csr", trust.ErrBadCSR},
}

const maxEnrolBody = 64 << 10

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func (s *Server) enrol(w http.ResponseWriter, r *http.Request) {
	var req enrolRequest
	if err := json.NewDecoder(io.LimitReader(r.Body, maxEnrolBody)).Decode(&req); err != nil {
		writeJSON(w, http.StatusBadRequest, enrolResponse{Error: "bad enrolment request / 注册请求无效"})
		return
	}
	refuse := func(err error) {
		code := ""
		for _, c := range refusalCodes {
			if errors.Is(err, c.err) {
				code = c.code
			}
		}
		s.log.Warn("enrolment refused", logRemote, r.RemoteAddr, logReason, err.Error())
		status := http.StatusForbidden
		if code == "" {
			status = http.StatusInternalServerError
		}
		writeJSON(w, status, enrolResponse{Code: code, Error: err.Error()})
	}
	tok, err := trust.ParseToken(req.Token)
	if err != nil {
		refuse(err)
		return
	}
	if tok.CA != trust.FingerprintOf(s.cfg.CA.Cert) {
		refuse(fmt.Errorf("%w (issued by another network)", trust.ErrTokenUnknown))
		return
	}
	var cert *x509.Certificate
	err = s.cfg.Tokens.Redeem(tok.Secret[:], func(g trust.Grant) (identity.ID, error) {
		c, err := s.cfg.CA.Sign(req.CSR, g.Name, g.Role, s.cfg.Now(), trust.NodeValidity)
		if err != nil {
			return "", err
		}
		p, err := trust.PeerOf(c)
		if err != nil {
			return "", err
		}
		cert = c
		return p.ID, nil
	})
	if err != nil {
		refuse(err)
		return
	}
	p, _ := trust.PeerOf(cert)
	s.log.Info("node enrolled", logPeer, p.ID, logRole, p.Role, "name", p.Name, logRemote, r.RemoteAddr)
	writeJSON(w, http.StatusOK, enrolResponse{Cert: cert.Raw, CA: s.cfg.CA.Cert.Raw, Gossip: s.cfg.CA.GossipKey})
}

// Enrolment is what a node gets when it joins.
type Enrolment struct {
	CA, Cert *x509.Certificate
	Self     trust.Peer // this node, as its certificate names it
	Hub      trust.Hub
	// GossipKey is the network's LAN gossip key, for discovery; empty
	// when the hub sent none (a hub whose CA was made in memory).
	GossipKey []byte
}

// Join enrols the node whose identity is id with the hub at hubURL, using
// a token the hub issued. The node's key never leaves it: only a CSR is
// sent. The hub's certificate is checked against the CA fingerprint in the
// token before anything is sent; the CA returned must have that
// fingerprint too, and becomes the node's pinned CA. The answer also
// carries the network's LAN gossip key, which the caller stores with
// trust.SaveGossipKey.
func Join(ctx context.Context, hubURL string, tok trust.Token, id *identity.Identity) (Enrolment, error) {
	var en Enrolment
	var hub trust.Peer
	tlsCfg := &tls.Config{
		MinVersion:         tls.VersionTLS13,
		InsecureSkipVerify: true, // the CA is not known yet: checked by fingerprint below
		VerifyConnection: func(cs tls.ConnectionState) error {
			pool := x509.NewCertPool()
			for _, c := range cs.PeerCertificates {
				if trust.FingerprintOf(c) == tok.CA {
					pool.AddCert(c)
				}
			}
			v := trust.Verifier{Roots: pool}
			p, err := v.Verify(cs.PeerCertificates)
			if err != nil {
				return fmt.Errorf("%w: %w", ErrWrongHub, err)
			}
			if p.Role != nodeconf.RoleHub {
				return fmt.Errorf("%w: server is a %s node", ErrWrongHub, p.Role)
			}
			hub = p
			return nil
		},
	}
	tr := &http.Transport{TLSClientConfig: tlsCfg, ForceAttemptHTTP2: true, TLSHandshakeTimeout: 30 * time.Second}
	defer tr.CloseIdleConnections()
	csr, err := trust.NewCSR(id)
	if err != nil {
		return en, err
	}
	body, _ := json.Marshal(enrolRequest{Token: tok.String(), CSR: csr})
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	hubURL = strings.TrimRight(hubURL, "/")
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, hubURL+EnrolPath, bytes.NewReader(body))
	if err != nil {
		return en, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		return en, fmt.Errorf("enrol with %s: %w", hubURL, err)
	}
	defer resp.Body.Close()
	if en, err = readEnrolAnswer(resp.StatusCode, resp.Status, resp.Body, hubURL, tok, id); err != nil {
		return en, err
	}
	en.Hub = trust.Hub{URL: hubURL, Node: hub.ID}
	return en, nil
}

// readEnrolAnswer decodes and checks the hub's answer to an enrolment
// (outside bytes, fuzzed): a refusal becomes its trust error; a success
// must carry the CA the token names, a certificate for id's key that
// chains to it, and a gossip key of the right size or none.
func readEnrolAnswer(code int, status string, body io.Reader, hubURL string, tok trust.Token, id *identity.Identity) (Enrolment, error) {
	var en Enrolment
	var out enrolResponse
	var err error
	if err = json.NewDecoder(io.LimitReader(body, maxEnrolBody)).Decode(&out); err != nil {
		return en, fmt.Errorf("enrol with %s: %s: unreadable answer: %w", hubURL, status, err)
	}
	if code != http.StatusOK {
		for _, c := range refusalCodes {
			if c.code == out.Code {
				return en, fmt.Errorf("enrol with %s: %w", hubURL, c.err)
			}
		}
		return en, fmt.Errorf("enrol with %s: %w: %s", hubURL, ErrRefused, out.Error)
	}
	if en.CA, err = x509.ParseCertificate(out.CA); err != nil {
		return en, fmt.Errorf("enrol: CA from hub: %w", err)
	}
	if trust.FingerprintOf(en.CA) != tok.CA {
		return en, fmt.Errorf("enrol: %w", ErrWrongHub)
	}
	if en.Cert, err = x509.ParseCertificate(out.Cert); err != nil {
		return en, fmt.Errorf("enrol: certificate from hub: %w", err)
	}
	if pub, ok := en.Cert.PublicKey.(ed25519.PublicKey); !ok || !pub.Equal(id.Public) {
		return en, errors.New("enrol: hub signed a certificate for another key")
	}
	pool := x509.NewCertPool()
	pool.AddCert(en.CA)
	if en.Self, err = (&trust.Verifier{Roots: pool}).Verify([]*x509.Certificate{en.Cert}); err != nil {
		return en, fmt.Errorf("enrol: certificate from hub: %w", err)
	}
	if len(out.Gossip) > 0 && len(out.Gossip) != trust.GossipKeySize {
		return en, fmt.Errorf("enrol: gossip key from hub: %w: %d bytes, want %d", trust.ErrBadGossipKey, len(out.Gossip), trust.GossipKeySize)
	}
	en.GossipKey = out.Gossip
	return en, nil
}

// Material returns the trust material c was made with: LAN discovery reads
// the network's gossip key, delivered at enrolment, through it
// (Material.GossipKey).
func (c *Client) Material() *trust.Material { return c.cfg.Material }
