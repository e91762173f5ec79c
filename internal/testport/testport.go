// Package testport picks loopback TCP addresses for tests that bind the
// same port more than once: a broker stopped and started again, a node
// process killed with SIGKILL and restarted. It is for tests only; it
// imports testing.
//
// A port taken from "127.0.0.1:0" and released is in the kernel's
// ephemeral range, the range every outgoing connection on the machine
// takes its local port from. While nothing listens on it (between the
// pick and the first bind, and while the server is down), any connect
// (another test package running at the same time, or the test's own
// client reconnecting, which can even connect to itself) may take it, and
// the bind fails with "address already in use". Addr picks a free port
// below that range, which only an explicit bind can take.
package testport

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// first is the lowest port Addr picks: above the fixed ports the project
// and common services use.
const first = 20000

var (
	mu    sync.Mutex
	given = map[int]bool{} // ports handed out in this process
)

// ephemeralLow returns the lowest port of the kernel's ephemeral range
// (32768 when it cannot be read, Linux's default).
func ephemeralLow() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return 32768
	}
	f := strings.Fields(string(b))
	if len(f) != 2 {
		return 32768
	}
	n, err := strconv.Atoi(f[0])
	if err != nil {
		return 32768
	}
	return n
}

// Addr returns "127.0.0.1:port" for a port that was free a moment ago and
// lies outside the ephemeral range, so it stays free for the test to bind,
// release and bind again. Each call in a process returns a different port.
func Addr(t testing.TB) string {
	t.Helper()
	low := ephemeralLow()
	if low-first < 1000 {
		// No room below the ephemeral range: fall back to a port the
		// kernel picks (the race described above is possible again).
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		return l.Addr().String()
	}
	mu.Lock()
	defer mu.Unlock()
	var last error
	for range 200 {
		p := first + rand.IntN(low-first)
		if given[p] {
			continue
		}
		addr := fmt.Sprintf("127.0.0.1:%d", p)
		l, err := net.Listen("tcp", addr)
		if err != nil {
			last = err
			continue
		}
		l.Close()
		given[p] = true
		return addr
	}
	t.Fatalf("no free loopback port in %d-%d: %v", first, low-1, last)
	return ""
}
