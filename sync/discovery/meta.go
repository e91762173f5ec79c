package discovery

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"unicode/utf8"
)

// MaxMeta is the largest node metadata this package sends or accepts, well
// under memberlist's own limit of 512 bytes.
const MaxMeta = 256

// metaVersion is the first byte of the metadata: the layout below.
//
//	meta = version:u8(=1) url:utf-8 text (the rest)
const metaVersion = 1

// ErrMeta means a peer's metadata is malformed; the error says how.
var ErrMeta = errors.New("bad discovery metadata")

// EncodeMeta returns the metadata announcing syncURL, after checking it as
// DecodeMeta would.
func EncodeMeta(syncURL string) ([]byte, error) {
	b := append([]byte{metaVersion}, syncURL...)
	if _, err := DecodeMeta(b); err != nil {
		return nil, err
	}
	return b, nil
}

// DecodeMeta returns the sync URL in a peer's metadata. It accepts only
// what EncodeMeta produces: at most MaxMeta bytes, version 1, and an
// absolute https URL of the form https://host:port with nothing else (no
// user, path, query or fragment). The returned URL is exactly the bytes
// sent.
func DecodeMeta(b []byte) (string, error) {
	if len(b) == 0 {
		return "", fmt.Errorf("%w: empty", ErrMeta)
	}
	if len(b) > MaxMeta {
		return "", fmt.Errorf("%w: %d bytes, at most %d", ErrMeta, len(b), MaxMeta)
	}
	if b[0] != metaVersion {
		return "", fmt.Errorf("%w: version %d, want %d", ErrMeta, b[0], metaVersion)
	}
	s := string(b[1:])
	if err := checkURL(s); err != nil {
		return "", fmt.Errorf("%w: %v", ErrMeta, err)
	}
	return s, nil
}

// checkURL accepts https://host:port with a printable ASCII host and a port
// in 1..65535.
func checkURL(s string) error {
	if !utf8.ValidString(s) {
		return errors.New("URL is not UTF-8")
	}
	for _, r := range s {
		if r <= ' ' || r >= 0x7f {
			return fmt.Errorf("URL has character %q", r)
		}
	}
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("URL: %v", err)
	}
	if u.Scheme != "https" {
		return fmt.Errorf("URL %q: scheme must be https", s)
	}
	if u.Opaque != "" || u.User != nil || u.Path != "" || u.RawQuery != "" || u.Fragment != "" || u.ForceQuery {
		return fmt.Errorf("URL %q: want https://host:port and nothing else", s)
	}
	if u.String() != s {
		return fmt.Errorf("URL %q is not in canonical form", s)
	}
	host, port, err := net.SplitHostPort(u.Host)
	if err != nil {
		return fmt.Errorf("URL %q: %v", s, err)
	}
	if host == "" {
		return fmt.Errorf("URL %q: no host", s)
	}
	p, err := strconv.Atoi(port)
	if err != nil || p < 1 || p > 65535 || strconv.Itoa(p) != port {
		return fmt.Errorf("URL %q: bad port %q", s, port)
	}
	return nil
}
