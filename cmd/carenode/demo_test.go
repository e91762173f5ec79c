package main

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestDemoInvokedAs(t *testing.T) {
	for _, tc := range []struct{ arg0, want string }{
		{"/tmp/go-build3141592653/b001/exe/carenode", "go run ./cmd/carenode"},
		{"/home/li/.cache/go-tmp/go-build42/b001/exe/carenode", "go run ./cmd/carenode"},
		{"carenode", "carenode"},
		{"./carenode", "./carenode"},
		{"bin/carenode", "bin/carenode"},
		{"/usr/local/bin/carenode", "/usr/local/bin/carenode"},
		{"/opt/exe/carenode", "/opt/exe/carenode"}, // an "exe" directory is not enough
		{"/tmp/carenode-e2e-1/carenode", "/tmp/carenode-e2e-1/carenode"},
		{"/home/li/My Tools/carenode", `'/home/li/My Tools/carenode'`},
		{"/home/li/it's/carenode", `'/home/li/it'\''s/carenode'`},
		{"", "carenode"},
	} {
		if got := invokedAs(tc.arg0); got != tc.want {
			t.Errorf("invokedAs(%q) = %q, want %q", tc.arg0, got, tc.want)
		}
	}
}

// TestDemoNextSteps: the built binary's demo prints its next steps with the
// binary as it was run, not "go run".
func TestDemoNextSteps(t *testing.T) {
	dir := initNode(t, "demo")
	// The broker's default port is one per machine; the demo needs none.
	cfg := filepath.Join(dir, "config.toml")
	b, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	off := strings.Replace(string(b), `mqtt_listen = "127.0.0.1:1883"`, `mqtt_listen = "off"`, 1)
	if off == string(b) {
		t.Fatalf("%s has no mqtt_listen to turn off", cfg)
	}
	if err := os.WriteFile(cfg, []byte(off), 0o600); err != nil {
		t.Fatal(err)
	}

	cmd := exec.Command(binPath, "demo", "--dir", dir, "--listen", "127.0.0.1:0", "--patients", "0")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	want := binPath + " user list --dir " + dir
	var seen []string
	timeout := time.After(60 * time.Second)
	for {
		select {
		case line, ok := <-lines:
			if !ok {
				t.Fatalf("demo ended without the user list step:\n%s", strings.Join(seen, "\n"))
			}
			seen = append(seen, line)
			if strings.Contains(line, "go run") {
				t.Errorf("a built binary's demo says go run: %q", line)
			}
			if strings.Contains(line, " user list ") {
				if strings.TrimSpace(line) != want {
					t.Errorf("next step %q, want %q", strings.TrimSpace(line), want)
				}
				go func() { // let the demo write the rest without blocking
					for range lines {
					}
				}()
				return
			}
		case <-timeout:
			t.Fatalf("no user list step within 60s:\n%s", strings.Join(seen, "\n"))
		}
	}
}
