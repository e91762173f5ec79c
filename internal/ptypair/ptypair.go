// Package ptypair gives tests a linked pair of pseudo-terminals made by
// socat, so a real serial port (tarm/serial) talks to a device played by the
// test: what one end writes, the other reads. It is for tests only; it
// imports testing. A machine without socat skips the test with a message
// (make test installs socat as root and CI requires it, so CI never skips).
//
// devices/serialport keeps its own pair, which can also be unplugged and
// plugged in again.
package ptypair

import (
	"bufio"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Start runs socat with two linked pseudo-terminals and returns their
// paths (links in t.TempDir()); socat is killed when the test ends.
func Start(t testing.TB) (a, b string) {
	t.Helper()
	if _, err := exec.LookPath("socat"); err != nil {
		t.Skip("socat is not installed (apt-get install socat); make test installs it as root, and CI fails without it")
	}
	dir := t.TempDir()
	a, b = filepath.Join(dir, "a"), filepath.Join(dir, "b")
	cmd := exec.Command("socat", "-d", "-d", "pty,raw,echo=0,link="+a, "pty,raw,echo=0,link="+b)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	ready := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if strings.Contains(sc.Text(), "starting data transfer loop") {
				ready <- true
			}
		}
	}()
	select {
	case <-ready:
	case <-time.After(30 * time.Second):
		t.Fatal("socat did not start within 30 s")
	}
	return a, b
}
