package outbox

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"text/template"
)

// GatewayData is what a gateway body template sees.
type GatewayData struct {
	ID, To, Text, Lang string
}

// Gateway sends SMS through an HTTP SMS gateway: one request per message,
// its body rendered from a template, with basic or bearer credentials
// read from a file. Any answer but 2xx, and a timeout, is an error the
// outbox retries.
type Gateway struct {
	cfg    GatewayConfig
	tmpl   *template.Template
	client *http.Client
	user   string
	secret string
}

var _ Sender = (*Gateway)(nil)

// NewGateway checks cfg and reads its credentials file.
func NewGateway(cfg GatewayConfig) (*Gateway, error) {
	if cfg.Method == "" {
		cfg.Method = "POST"
	}
	if cfg.ContentType == "" {
		cfg.ContentType = "application/json"
	}
	if err := (SenderConfig{Kind: SenderGateway, Gateway: cfg}).validate(func(f string, a ...any) error {
		return fmt.Errorf("%w: %s", ErrConfig, fmt.Sprintf(f, a...))
	}); err != nil {
		return nil, err
	}
	tmpl, err := parseGatewayTemplate(cfg.Template)
	if err != nil {
		return nil, fmt.Errorf("%w: gateway template: %w", ErrConfig, err)
	}
	g := &Gateway{cfg: cfg, tmpl: tmpl, client: &http.Client{Timeout: cfg.Timeout}}
	if cfg.Auth != "" {
		b, err := os.ReadFile(cfg.CredentialsFile)
		if err != nil {
			return nil, fmt.Errorf("%w: gateway credentials: %w", ErrConfig, err)
		}
		line, _, _ := strings.Cut(string(b), "\n")
		line = strings.TrimSpace(line)
		switch cfg.Auth {
		case "basic":
			user, pass, ok := strings.Cut(line, ":")
			if !ok || user == "" {
				return nil, fmt.Errorf("%w: gateway credentials file %s: want user:password on the first line", ErrConfig, cfg.CredentialsFile)
			}
			g.user, g.secret = user, pass
		case "bearer":
			if line == "" {
				return nil, fmt.Errorf("%w: gateway credentials file %s: the first line (the token) is empty", ErrConfig, cfg.CredentialsFile)
			}
			g.secret = line
		}
	}
	return g, nil
}

// Kind implements Sender.
func (g *Gateway) Kind() string { return SenderGateway }

// Send implements Sender. The reference is the start of the gateway's
// answer.
func (g *Gateway) Send(ctx context.Context, m SMS) (string, error) {
	var body bytes.Buffer
	if err := g.tmpl.Execute(&body, GatewayData{ID: m.ID, To: m.To, Text: m.Text, Lang: m.Lang}); err != nil {
		return "", Permanent(fmt.Errorf("render gateway body: %w", err))
	}
	req, err := http.NewRequestWithContext(ctx, strings.ToUpper(g.cfg.Method), g.cfg.URL, &body)
	if err != nil {
		return "", Permanent(fmt.Errorf("gateway request: %w", err))
	}
	req.Header.Set("Content-Type", g.cfg.ContentType)
	req.Header.Set("Idempotency-Key", m.ID)
	switch g.cfg.Auth {
	case "basic":
		req.SetBasicAuth(g.user, g.secret)
	case "bearer":
		req.Header.Set("Authorization", "Bearer "+g.secret)
	}
	resp, err := g.client.Do(req)
	if err != nil {
		var ue interface{ Timeout() bool }
		if errors.As(err, &ue) && ue.Timeout() {
			return "", fmt.Errorf("gateway did not answer in time: %w", err)
		}
		return "", fmt.Errorf("gateway: %w", err)
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	text := strings.TrimSpace(strings.ToValidUTF8(string(answer), "?"))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		// The answer goes into the message's history, which is not
		// sealed: keep it only when it is a short ASCII note ("quota
		// exceeded"), never an echo of a Chinese text.
		if len(text) > 120 || strings.IndexFunc(text, func(r rune) bool { return r > 0x7E || r < 0x20 }) >= 0 {
			text = fmt.Sprintf("(%d bytes not shown)", len(answer))
		}
		return "", fmt.Errorf("gateway answered %s: %s", resp.Status, text)
	}
	if len(text) > 128 {
		text = text[:128]
	}
	return strings.ToValidUTF8(text, ""), nil
}

// jsonValue writes v as JSON, for body templates.
func jsonValue(v any) (string, error) {
	b, err := json.Marshal(v)
	return string(b), err
}
