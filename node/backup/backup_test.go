package backup

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"

	"carenode/crdt"
	"carenode/node/store"
)

// sources makes a key, a config and a consistent database copy with n
// records, as `carenode backup` does.
func sources(t *testing.T, n int) (Sources, Manifest) {
	t.Helper()
	dir := t.TempDir()
	opts := store.DefaultOptions(filepath.Join(dir, "live.db"), "NODEA")
	opts.Create = true
	s, err := store.Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if _, err := s.Write(context.Background(), store.WriteRequest{Collection: "patients", Record: "p" + string(rune('a'+i%26)) + string(rune('a'+i/26)), Create: true,
			Edits: []store.Edit{{Kind: crdt.MutSet, Field: "name", Value: []byte(`"张三"`)}}}); err != nil {
			t.Fatal(err)
		}
	}
	snap := filepath.Join(dir, "snap.db")
	f, err := os.Create(snap)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Backup(f); err != nil {
		t.Fatal(err)
	}
	f.Close()
	s.Close()
	key := filepath.Join(dir, "node.key")
	cfg := filepath.Join(dir, "config.toml")
	os.WriteFile(key, []byte("-----BEGIN PRIVATE KEY-----\nnot checked here\n-----END PRIVATE KEY-----\n"), 0o600)
	os.WriteFile(cfg, []byte("[node]\nname = \"desk\"\nrole = \"clinic\"\n"), 0o600)
	return Sources{Key: key, Config: cfg, DB: snap}, Manifest{Node: "NODEA", Name: "desk", Role: "clinic", Created: time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC)}
}

func TestWriteVerifyExtract(t *testing.T) {
	src, m := sources(t, 40)
	out := filepath.Join(t.TempDir(), "desk.cnbak")
	var calls int
	got, err := Write(out, src, m, func(done, total int64) { calls++ })
	if err != nil {
		t.Fatal(err)
	}
	if got.LogLen != 40 || got.Records["patients"] != 40 || len(got.Files) != 3 || calls == 0 {
		t.Errorf("manifest %+v, progress calls %d", got, calls)
	}
	if _, err := os.Stat(out + ".tmp"); !errors.Is(err, os.ErrNotExist) {
		t.Error("temporary file left behind")
	}
	if _, err := Verify(out); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if _, err := Extract(out, dir); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{KeyName, ConfigName, DBName} {
		want, _ := os.ReadFile(map[string]string{KeyName: src.Key, ConfigName: src.Config, DBName: src.DB}[name])
		have, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil || !bytes.Equal(want, have) {
			t.Errorf("%s not restored byte for byte: %v", name, err)
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 3 {
		t.Errorf("restore left %d entries, want the 3 files", len(entries))
	}
}

// rewrite re-packs an archive's entries through edit, so tests can damage
// one part while keeping the rest valid.
func rewrite(t *testing.T, in, out string, edit func(name string, data []byte) (string, []byte, bool)) {
	t.Helper()
	f, err := os.Open(in)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := zstd.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	var buf bytes.Buffer
	zw, _ := zstd.NewWriter(&buf)
	tr, tw := tar.NewReader(zr), tar.NewWriter(zw)
	for {
		hdr, err := tr.Next()
		if err != nil {
			break
		}
		data := new(bytes.Buffer)
		data.ReadFrom(tr)
		name, b, keep := edit(hdr.Name, data.Bytes())
		if !keep {
			continue
		}
		tw.WriteHeader(&tar.Header{Name: name, Mode: 0o600, Size: int64(len(b))})
		tw.Write(b)
	}
	tw.Close()
	zw.Close()
	if err := os.WriteFile(out, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestVerifyRefusesDamage(t *testing.T) {
	src, m := sources(t, 10)
	good := filepath.Join(t.TempDir(), "good.cnbak")
	if _, err := Write(good, src, m, nil); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	raw, _ := os.ReadFile(good)
	flipped := append([]byte(nil), raw...)
	flipped[len(flipped)/2] ^= 0x40
	tests := map[string]func(string){
		"not zstd": func(p string) { os.WriteFile(p, []byte("PK\x03\x04 a zip file"), 0o600) },
		"empty":    func(p string) { os.WriteFile(p, nil, 0o600) },
		"bit flip": func(p string) { os.WriteFile(p, flipped, 0o600) },
		"truncated": func(p string) {
			os.WriteFile(p, raw[:len(raw)*2/3], 0o600)
		},
		"database altered": func(p string) {
			rewrite(t, good, p, func(n string, b []byte) (string, []byte, bool) {
				if n == DBName {
					b = append([]byte(nil), b...)
					b[len(b)-100] ^= 1
				}
				return n, b, true
			})
		},
		"key missing": func(p string) {
			rewrite(t, good, p, func(n string, b []byte) (string, []byte, bool) { return n, b, n != KeyName })
		},
		"extra entry": func(p string) {
			rewrite(t, good, p, func(n string, b []byte) (string, []byte, bool) {
				if n == ConfigName {
					return "../../etc/passwd", b, true
				}
				return n, b, true
			})
		},
		"manifest not first": func(p string) {
			rewrite(t, good, p, func(n string, b []byte) (string, []byte, bool) { return n, b, n != ManifestName })
		},
		"manifest names a path outside": func(p string) {
			rewrite(t, good, p, func(n string, b []byte) (string, []byte, bool) {
				if n == ManifestName {
					b = bytes.Replace(b, []byte(`"name": "config.toml"`), []byte(`"name": "../escape.toml"`), 1)
				}
				if n == ConfigName {
					n = "../escape.toml"
				}
				return n, b, true
			})
		},
		"manifest count lies": func(p string) {
			rewrite(t, good, p, func(n string, b []byte) (string, []byte, bool) {
				if n == ManifestName {
					b = bytes.Replace(b, []byte(`"logLength": 10`), []byte(`"logLength": 11`), 1)
				}
				return n, b, true
			})
		},
	}
	for name, damage := range tests {
		t.Run(name, func(t *testing.T) {
			p := filepath.Join(dir, name+".cnbak")
			damage(p)
			if _, err := Verify(p); !errors.Is(err, ErrVerify) {
				t.Fatalf("Verify = %v, want ErrVerify", err)
			}
			target := filepath.Join(dir, name+"-restore")
			os.Mkdir(target, 0o700)
			if _, err := Extract(p, target); err == nil {
				t.Fatal("Extract accepted a damaged backup")
			}
			if entries, _ := os.ReadDir(target); len(entries) != 0 {
				t.Errorf("failed restore left %d entries", len(entries))
			}
		})
	}
}

// FuzzVerify: any file handed to restore gets an error or a verified
// manifest, never a panic, and nothing is written outside its scratch
// directory.
func FuzzVerify(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte("(\xb5/\xfd"))
	f.Add([]byte("PK\x03\x04"))
	var buf bytes.Buffer
	zw, _ := zstd.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	man := []byte(`{"format":1,"node":"NODEA","files":[{"name":"node.key","size":1,"sha256":"00"}]}`)
	tw.WriteHeader(&tar.Header{Name: ManifestName, Mode: 0o600, Size: int64(len(man))})
	tw.Write(man)
	tw.Close()
	zw.Close()
	f.Add(buf.Bytes())
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(dir, "in.cnbak")
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := Verify(p); err == nil {
			t.Fatalf("random bytes verified as a backup: %q", data)
		}
		entries, _ := os.ReadDir(dir)
		if len(entries) != 1 {
			t.Fatalf("verify left %d entries in %s", len(entries), dir)
		}
	})
}
