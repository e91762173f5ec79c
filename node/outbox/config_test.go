package outbox_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"carenode/node/outbox"
)

func TestConfigValidate(t *testing.T) {
	if err := outbox.DefaultConfig("nodeA").Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	for _, tc := range []struct {
		name, want string
		edit       func(c *outbox.Config)
	}{
		{"no node", "node", func(c *outbox.Config) { c.Node = "" }},
		{"quiet start past midnight", "quiet start", func(c *outbox.Config) { c.QuietStart = 25 * time.Hour }},
		{"negative quiet end", "quiet end", func(c *outbox.Config) { c.QuietEnd = -time.Hour }},
		{"no expiry", "expiry", func(c *outbox.Config) { c.DefaultExpiry = 0 }},
		{"backoff upside down", "max backoff", func(c *outbox.Config) { c.MaxBackoff = time.Second }},
		{"no attempts", "attempts", func(c *outbox.Config) { c.MaxAttempts = 0 }},
		{"unknown sender", "sender \"pigeon\"", func(c *outbox.Config) { c.Sender.Kind = "pigeon" }},
		{"gsm without port", "modem port", func(c *outbox.Config) { c.Sender.Kind = outbox.SenderGSM }},
		{"gateway without url", "url", func(c *outbox.Config) { c.Sender.Kind = outbox.SenderGateway }},
		{"gateway ftp url", "url", func(c *outbox.Config) {
			c.Sender.Kind, c.Sender.Gateway.URL = outbox.SenderGateway, "ftp://sms.example"
		}},
		{"gateway basic auth without credentials", "credentials file", func(c *outbox.Config) {
			c.Sender.Kind, c.Sender.Gateway.URL, c.Sender.Gateway.Auth = outbox.SenderGateway, "https://sms.example/send", "basic"
		}},
		{"gateway bad template", "template", func(c *outbox.Config) {
			c.Sender.Kind, c.Sender.Gateway.URL, c.Sender.Gateway.Template = outbox.SenderGateway, "https://sms.example/send", "{{.To"
		}},
		{"file without path", "path", func(c *outbox.Config) { c.Sender.Kind = outbox.SenderFile }},
	} {
		c := outbox.DefaultConfig("nodeA")
		tc.edit(&c)
		err := c.Validate()
		if !errors.Is(err, outbox.ErrConfig) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want ErrConfig naming %q", tc.name, err, tc.want)
		}
	}
}

func TestMaskPhone(t *testing.T) {
	for in, want := range map[string]string{
		"13812345678":    "138****5678",
		"+8613900001111": "+86*******1111",
		"010-6512345":    "010****2345",
		"12345":          "***45",
		"110":            "***",
		"":               "",
	} {
		if got := outbox.MaskPhone(in); got != want {
			t.Errorf("MaskPhone(%q) = %q, want %q", in, got, want)
		}
	}
}
