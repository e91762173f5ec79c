package search

import (
	"go/parser"
	"go/token"
	"os"
	"strconv"
	"strings"
	"testing"
)

// TestImports keeps the package free of I/O: the index holds personal
// data and must never reach a disk, a log or the network, so it may
// import nothing that could put it there.
func TestImports(t *testing.T) {
	allowed := map[string]bool{
		"cmp": true, "slices": true, "strings": true, "sync": true,
		"unicode": true, "unicode/utf8": true,
		"github.com/mozillazg/go-pinyin": true,
	}
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.ImportsOnly|parser.ParseComments)
		if err != nil {
			t.Fatal(err)
		}
		if name == "doc.go" && f.Doc == nil {
			t.Errorf("doc.go has no package comment")
		}
		if name != "doc.go" && f.Doc != nil {
			t.Errorf("%s has a package comment; it belongs in doc.go", name)
		}
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if !allowed[path] {
				t.Errorf("%s imports %s; the index must not do I/O", name, path)
			}
		}
	}
}
