package testport

import (
	"net"
	"strconv"
	"testing"
)

func TestAddrOutsideEphemeralRange(t *testing.T) {
	low := ephemeralLow()
	seen := map[string]bool{}
	for range 20 {
		addr := Addr(t)
		if seen[addr] {
			t.Fatalf("%s handed out twice", addr)
		}
		seen[addr] = true
		_, port, err := net.SplitHostPort(addr)
		if err != nil {
			t.Fatal(err)
		}
		p, _ := strconv.Atoi(port)
		if low-first >= 1000 && (p < first || p >= low) {
			t.Errorf("port %d not in %d-%d", p, first, low-1)
		}
		// Free: it binds, and binds again once released.
		for range 2 {
			l, err := net.Listen("tcp", addr)
			if err != nil {
				t.Fatalf("%s: %v", addr, err)
			}
			l.Close()
		}
	}
}
