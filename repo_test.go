// Package carenode_test holds repository-wide checks: the import direction
// of DESIGN.md, crdt's purity, and a doc comment on every package.
package carenode_test

import (
	"bufio"
	"bytes"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

type pkg struct {
	path, dir, doc string
	imports        []string
	goFiles        []string
}

func listPackages(t *testing.T) []pkg {
	t.Helper()
	cmd := exec.Command("go", "list", "-f", "{{.ImportPath}}\t{{.Dir}}\t{{join .Imports \",\"}}\t{{join .GoFiles \",\"}}\t{{.Doc}}", "./...")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	var pkgs []pkg
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.SplitN(sc.Text(), "\t", 5)
		if len(f) != 5 {
			t.Fatalf("go list line %q", sc.Text())
		}
		p := pkg{path: f[0], dir: f[1], doc: f[4]}
		if f[2] != "" {
			p.imports = strings.Split(f[2], ",")
		}
		if f[3] != "" {
			p.goFiles = strings.Split(f[3], ",")
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

// TestDeps enforces DESIGN.md's dependency direction (cmd -> ui -> node ->
// crdt, sync -> node, devices -> node) and crdt's purity.
func TestDeps(t *testing.T) {
	crdtAllowed := map[string]bool{
		"bytes": true, "cmp": true, "errors": true, "fmt": true, "maps": true, "math": true,
		"slices": true, "sort": true, "strconv": true, "strings": true, "time": true, "unicode/utf8": true,
		"sync": true, "sync/atomic": true, // in-memory caches only, no I/O
	}
	// forbidden[prefix] lists what packages under prefix must not import.
	forbidden := map[string][]string{
		"carenode/node":    {"carenode/cmd", "carenode/ui", "carenode/sync", "carenode/devices", "fyne.io/"},
		"carenode/sync":    {"carenode/cmd", "carenode/ui", "carenode/devices", "fyne.io/"},
		"carenode/devices": {"carenode/cmd", "carenode/ui", "carenode/sync", "fyne.io/"},
		"carenode/ui":      {"carenode/cmd", "carenode/sync", "go.etcd.io/bbolt"},
	}
	// Packages that hold personal data in memory only (the search and
	// duplicate indexes) may import nothing that could write it to a disk,
	// a log or the network.
	memoryOnly := map[string]map[string]bool{
		"carenode/node/textnorm": {"strings": true, "unicode": true},
		"carenode/node/search": {"cmp": true, "slices": true, "strings": true, "sync": true, "unicode": true,
			"unicode/utf8": true, "github.com/mozillazg/go-pinyin": true, "carenode/node/textnorm": true},
		"carenode/node/dedup": {"cmp": true, "slices": true, "strings": true, "unicode": true, "unicode/utf8": true,
			"carenode/node/search": true, "carenode/node/textnorm": true},
	}
	for _, p := range listPackages(t) {
		if allowed, ok := memoryOnly[p.path]; ok {
			for _, imp := range p.imports {
				if !allowed[imp] {
					t.Errorf("%s must do no I/O, but imports %s", p.path, imp)
				}
			}
		}
		if p.path == "carenode/crdt" || strings.HasPrefix(p.path, "carenode/crdt/") {
			for _, imp := range p.imports {
				if !crdtAllowed[imp] {
					t.Errorf("crdt must stay pure (no I/O, nothing of ours), but %s imports %s", p.path, imp)
				}
			}
			for _, f := range p.goFiles {
				src, err := os.ReadFile(filepath.Join(p.dir, f))
				if err != nil {
					t.Fatal(err)
				}
				if bytes.Contains(src, []byte("time.Now")) || bytes.Contains(src, []byte("time.Since")) {
					t.Errorf("crdt reads the clock in %s; take the time as an argument", f)
				}
			}
		}
		for prefix, bad := range forbidden {
			if p.path != prefix && !strings.HasPrefix(p.path, prefix+"/") {
				continue
			}
			for _, imp := range p.imports {
				for _, b := range bad {
					if imp == b || strings.HasPrefix(imp, strings.TrimSuffix(b, "/")+"/") || (strings.HasSuffix(b, "/") && strings.HasPrefix(imp, b)) {
						t.Errorf("%s imports %s, against the dependency direction in DESIGN.md", p.path, imp)
					}
				}
			}
		}
		// Ours never go back up to the store from crdt, nor import bbolt outside node.
		if !strings.HasPrefix(p.path, "carenode/node") && p.path != "carenode/cmd/carenode" {
			for _, imp := range p.imports {
				if imp == "go.etcd.io/bbolt" {
					t.Errorf("%s imports bbolt; only node/ may touch the database", p.path)
				}
			}
		}
	}
}

// TestPackageDocs: every package says what it is for, and none is a grab
// bag.
func TestPackageDocs(t *testing.T) {
	for _, p := range listPackages(t) {
		if len(p.goFiles) == 0 {
			continue // test-only packages such as this one
		}
		if strings.TrimSpace(p.doc) == "" {
			t.Errorf("package %s has no package doc comment", p.path)
		}
		var withDoc []string
		for _, f := range p.goFiles {
			file, err := parser.ParseFile(token.NewFileSet(), filepath.Join(p.dir, f), nil, parser.PackageClauseOnly|parser.ParseComments)
			if err != nil {
				t.Fatal(err)
			}
			if file.Doc != nil {
				withDoc = append(withDoc, f)
			}
		}
		if len(withDoc) > 1 {
			t.Errorf("package %s has package comments in %v; keep exactly one", p.path, withDoc)
		}
		switch filepath.Base(p.path) {
		case "util", "utils", "common", "helpers", "misc":
			t.Errorf("package %s: name the job, not %q", p.path, filepath.Base(p.path))
		}
	}
}
