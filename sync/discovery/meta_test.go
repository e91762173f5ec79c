package discovery

import (
	"bytes"
	"strings"
	"testing"
)

func TestMeta(t *testing.T) {
	good := []string{"https://127.0.0.1:7443", "https://desk.clinic.lan:7443", "https://[fe80::1]:7443"}
	for _, u := range good {
		b, err := EncodeMeta(u)
		if err != nil {
			t.Errorf("EncodeMeta(%q): %v", u, err)
			continue
		}
		if got, err := DecodeMeta(b); err != nil || got != u {
			t.Errorf("DecodeMeta(EncodeMeta(%q)) = %q, %v", u, got, err)
		}
	}
	bad := map[string][]byte{
		"empty":      nil,
		"version":    append([]byte{2}, "https://a:1"...),
		"http":       append([]byte{1}, "http://a:1"...),
		"no port":    append([]byte{1}, "https://a"...),
		"port 0":     append([]byte{1}, "https://a:0"...),
		"port big":   append([]byte{1}, "https://a:65536"...),
		"port zeros": append([]byte{1}, "https://a:07443"...),
		"path":       append([]byte{1}, "https://a:1/x"...),
		"slash":      append([]byte{1}, "https://a:1/"...),
		"user":       append([]byte{1}, "https://u@a:1"...),
		"query":      append([]byte{1}, "https://a:1?q"...),
		"fragment":   append([]byte{1}, "https://a:1#f"...),
		"space":      append([]byte{1}, "https://a b:1"...),
		"control":    append([]byte{1}, "https://a\n:1"...),
		"non-ascii":  append([]byte{1}, "https://é:1"...),
		"not utf-8":  append([]byte{1}, "https://\xff:1"...),
		"no host":    append([]byte{1}, "https://:1"...),
		"too long":   append([]byte{1}, "https://"+strings.Repeat("a", MaxMeta)+":1"...),
		"uppercase":  append([]byte{1}, "HTTPS://a:1"...),
	}
	for name, b := range bad {
		if u, err := DecodeMeta(b); err == nil {
			t.Errorf("%s: DecodeMeta(%q) = %q, want an error", name, b, u)
		}
	}
}

// FuzzDecodeMeta: a peer's metadata is outside input. Whatever is
// accepted is at most MaxMeta bytes and re-encodes to the same bytes.
func FuzzDecodeMeta(f *testing.F) {
	f.Add(append([]byte{1}, "https://127.0.0.1:7443"...))
	f.Add(append([]byte{1}, "https://[::1]:7443"...))
	f.Add([]byte{1})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		u, err := DecodeMeta(b)
		if err != nil {
			return
		}
		if len(b) > MaxMeta {
			t.Fatalf("accepted %d bytes", len(b))
		}
		again, err := EncodeMeta(u)
		if err != nil || !bytes.Equal(again, b) {
			t.Fatalf("DecodeMeta(%q) = %q, which re-encodes to %q, %v", b, u, again, err)
		}
	})
}
