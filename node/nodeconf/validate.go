package nodeconf

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

const maxNameLen = 64

// Validate checks every value in f and reports all problems at once,
// joined with errors.Join; each is a *ValueError wrapping ErrInvalidValue.
func (f File) Validate() error {
	var errs []error
	add := func(key, value, allowed string, cause error) {
		errs = append(errs, &ValueError{Key: key, Value: value, Allowed: allowed, Err: cause})
	}

	if msg := checkName(f.Node.Name); msg != "" {
		add("node.name", quote(f.Node.Name), msg, nil)
	}
	if f.Node.Role == "" {
		add("node.role", quote(""), "required: must be one of "+roleList(), nil)
	} else if _, err := ParseRole(string(f.Node.Role)); err != nil {
		add("node.role", quote(string(f.Node.Role)), "must be one of "+roleList(), err)
	}

	if msg, err := checkListen(f.HTTP.Listen); msg != "" {
		add("http.listen", quote(f.HTTP.Listen), msg, err)
	}
	if f.HTTP.MaxBodyBytes <= 0 {
		add("http.max_body_bytes", strconv.FormatInt(f.HTTP.MaxBodyBytes, 10),
			"must be a positive number of bytes, like 1048576 (1 MiB)", nil)
	}
	checkPositive(add, "http.read_timeout", f.HTTP.ReadTimeout)
	checkPositive(add, "http.write_timeout", f.HTTP.WriteTimeout)

	if f.Store.MaxBatch <= 0 {
		add("store.max_batch", strconv.Itoa(f.Store.MaxBatch), "must be a positive number of writes, like 1024", nil)
	}
	checkPositive(add, "store.max_clock_skew", f.Store.MaxClockSkew)
	if f.Store.FoldAfter < -1 || f.Store.FoldAfter == 0 {
		add("store.fold_after", strconv.Itoa(f.Store.FoldAfter), "must be a positive number of changes, like 16384, or -1 to fold every batch at once", nil)
	}

	switch f.Log.Level {
	case LevelDebug, LevelInfo, LevelWarn, LevelError:
	default:
		add("log.level", quote(string(f.Log.Level)), "must be one of debug, info, warn, error", nil)
	}
	switch f.Log.Format {
	case FormatAuto, FormatText, FormatJSON:
	default:
		add("log.format", quote(string(f.Log.Format)), "must be one of auto, text, json", nil)
	}

	errs = append(errs, f.Devices.problems()...)
	errs = append(errs, f.Sync.problems()...)
	errs = append(errs, f.Clinic.problems()...)
	errs = append(errs, f.Outbox.problems()...)

	return errors.Join(errs...)
}

// checkName returns what is wrong with a node name, or "" if nothing is.
func checkName(name string) string {
	const rule = "must be 1 to 64 printable characters"
	switch {
	case name == "":
		return "required: " + rule
	case !utf8.ValidString(name):
		return rule + " (not valid UTF-8)"
	case utf8.RuneCountInString(name) > maxNameLen:
		return fmt.Sprintf("%s (has %d)", rule, utf8.RuneCountInString(name))
	case strings.TrimSpace(name) != name:
		// Leading or trailing spaces make two nodes look alike in a list.
		return rule + ", not starting or ending with a space"
	}
	for _, r := range name {
		if !unicode.IsPrint(r) {
			return fmt.Sprintf("%s (has %q)", rule, r)
		}
	}
	return ""
}

// checkListen returns what is wrong with a listen address, or "" if
// nothing is.
func checkListen(addr string) (string, error) {
	const rule = `must be host:port, like "127.0.0.1:7420" or ":7420" for every interface`
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		var addrErr *net.AddrError
		if errors.As(err, &addrErr) {
			return fmt.Sprintf("%s (%s)", rule, addrErr.Err), err
		}
		return rule, err
	}
	// Service names such as "http" are valid for net.Listen but depend on
	// /etc/services; a number means the same on every machine.
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return fmt.Sprintf("%s (port %q is not a number from 0 to 65535)", rule, port), err
	}
	if host == "" {
		return "", nil
	}
	if _, err := netip.ParseAddr(host); err == nil {
		return "", nil
	}
	if !validHostname(host) {
		return fmt.Sprintf("%s (host %q is neither an IP address nor a host name)", rule, host), nil
	}
	return "", nil
}

// validHostname reports whether host is made of DNS labels: letters,
// digits and inner hyphens, separated by dots.
func validHostname(host string) bool {
	host = strings.TrimSuffix(host, ".")
	if host == "" || len(host) > 253 {
		return false
	}
	for label := range strings.SplitSeq(host, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, c := range []byte(label) {
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

func checkPositive(add func(key, value, allowed string, cause error), key string, d Duration) {
	if d.Duration <= 0 {
		add(key, quote(d.String()), `must be a positive duration, like "30s", "10m" or "1h"`, nil)
	}
}
