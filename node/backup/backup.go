package backup

import (
	"archive/tar"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/klauspost/compress/zstd"

	"carenode/crdt"
	"carenode/node/store"

	"carenode/node/atomicfile"
)

// FormatVersion is the archive layout this build writes.
const FormatVersion = 1

// Names inside the archive.
const (
	ManifestName = "MANIFEST.json"
	KeyName      = "node.key"
	ConfigName   = "config.toml"
	DBName       = "carenode.db"
)

// ErrVerify means an archive did not check out; the message says how.
var ErrVerify = errors.New("backup verification failed")

// FileEntry describes one file in the archive.
type FileEntry struct {
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// Manifest describes an archive.
type Manifest struct {
	Format  int               `json:"format"`
	Node    string            `json:"node"`
	Name    string            `json:"name"`
	Role    string            `json:"role"`
	Created time.Time         `json:"created"`
	Version string            `json:"version"`
	Schema  uint64            `json:"schema"`
	LogLen  uint64            `json:"logLength"`
	Vector  string            `json:"vector"`
	Records map[string]uint64 `json:"records"`
	Files   []FileEntry       `json:"files"`
}

// Sources are the files an archive is made from. DB must be a consistent
// copy (store.Backup's output), not the live file.
type Sources struct {
	Key, Config, DB string
}

// Write makes an archive at out from src: written to out+".tmp", verified
// by reading it back in full, then renamed into place. m supplies the
// descriptive fields; Write fills in the database's figures and the files.
// progress, if not nil, is called with the bytes archived so far.
func Write(out string, src Sources, m Manifest, progress func(done, total int64)) (Manifest, error) {
	node := crdt.NodeID(m.Node)
	st, err := checkDB(src.DB, node)
	if err != nil {
		return m, fmt.Errorf("backup: database copy: %w", err)
	}
	m.Format = FormatVersion
	m.Schema, m.LogLen, m.Records, m.Vector = st.Schema, st.LogLen, st.Records, st.Vector.String()
	m.Files = nil
	var total int64
	files := []struct{ name, path string }{{KeyName, src.Key}, {ConfigName, src.Config}, {DBName, src.DB}}
	for _, f := range files {
		fe, err := describe(f.name, f.path)
		if err != nil {
			return m, fmt.Errorf("backup: %w", err)
		}
		m.Files = append(m.Files, fe)
		total += fe.Size
	}
	tmp := out + ".tmp"
	if err := writeArchive(tmp, m, files, total, progress); err != nil {
		os.Remove(tmp)
		return m, fmt.Errorf("backup to %s: %w", out, err)
	}
	if _, err := Verify(tmp); err != nil {
		os.Remove(tmp)
		return m, err
	}
	if err := os.Rename(tmp, out); err != nil {
		os.Remove(tmp)
		return m, fmt.Errorf("backup: %w", err)
	}
	return m, atomicfile.SyncDir(filepath.Dir(out))
}

func describe(name, path string) (FileEntry, error) {
	f, err := os.Open(path)
	if err != nil {
		return FileEntry{}, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return FileEntry{}, fmt.Errorf("read %s: %w", path, err)
	}
	return FileEntry{Name: name, Size: n, SHA256: hex.EncodeToString(h.Sum(nil))}, nil
}

func writeArchive(path string, m Manifest, files []struct{ name, path string }, total int64, progress func(done, total int64)) error {
	out, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	defer out.Close()
	zw, err := zstd.NewWriter(out, zstd.WithEncoderLevel(zstd.SpeedDefault))
	if err != nil {
		return err
	}
	tw := tar.NewWriter(zw)
	mb, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	if err := tw.WriteHeader(&tar.Header{Name: ManifestName, Mode: 0o600, Size: int64(len(mb)), ModTime: m.Created}); err != nil {
		return err
	}
	if _, err := tw.Write(mb); err != nil {
		return err
	}
	var done int64
	for i, f := range files {
		src, err := os.Open(f.path)
		if err != nil {
			return err
		}
		hdr := &tar.Header{Name: f.name, Mode: 0o600, Size: m.Files[i].Size, ModTime: m.Created}
		if err := tw.WriteHeader(hdr); err != nil {
			src.Close()
			return err
		}
		n, err := io.Copy(tw, &progressReader{r: io.LimitReader(src, hdr.Size), done: &done, total: total, fn: progress})
		src.Close()
		if err != nil {
			return err
		}
		if n != hdr.Size {
			return fmt.Errorf("%s changed size while archiving", f.path)
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	if err := out.Sync(); err != nil {
		return err
	}
	return out.Close()
}

type progressReader struct {
	r     io.Reader
	done  *int64
	total int64
	fn    func(done, total int64)
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	*p.done += int64(n)
	if p.fn != nil && n > 0 {
		p.fn(*p.done, p.total)
	}
	return n, err
}

// Verify reads the archive at path in full and checks it (see the package
// doc). It returns the manifest.
func Verify(path string) (Manifest, error) {
	dir, err := os.MkdirTemp(filepath.Dir(path), ".verify-")
	if err != nil {
		dir, err = os.MkdirTemp("", "carenode-verify-")
		if err != nil {
			return Manifest{}, err
		}
	}
	defer os.RemoveAll(dir)
	return extractVerified(path, dir)
}

// Extract unpacks a verified archive into dir (which must exist and hold no
// node files) and returns the manifest. Files are written under temporary
// names and renamed into place only after everything checked out.
func Extract(path, dir string) (Manifest, error) {
	stage, err := os.MkdirTemp(dir, ".restore-")
	if err != nil {
		return Manifest{}, fmt.Errorf("restore into %s: %w", dir, err)
	}
	defer os.RemoveAll(stage)
	m, err := extractVerified(path, stage)
	if err != nil {
		return m, err
	}
	for _, name := range []string{KeyName, ConfigName, DBName} {
		if err := os.Rename(filepath.Join(stage, name), filepath.Join(dir, name)); err != nil {
			return m, fmt.Errorf("restore %s into %s: %w", name, dir, err)
		}
	}
	return m, atomicfile.SyncDir(dir)
}

func extractVerified(path, dir string) (Manifest, error) {
	var m Manifest
	fail := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s: %s", ErrVerify, path, fmt.Sprintf(format, args...))
	}
	f, err := os.Open(path)
	if err != nil {
		return m, fmt.Errorf("open backup: %w", err)
	}
	defer f.Close()
	zr, err := zstd.NewReader(f, zstd.WithDecoderMaxMemory(1<<30))
	if err != nil {
		return m, fail("not a carenode backup (zstd): %v", err)
	}
	defer zr.Close()
	tr := tar.NewReader(zr)
	hdr, err := tr.Next()
	if err != nil {
		return m, fail("not a carenode backup: %v", err)
	}
	if hdr.Name != ManifestName || hdr.Size > 1<<20 {
		return m, fail("first entry is %q, want %s", hdr.Name, ManifestName)
	}
	dec := json.NewDecoder(io.LimitReader(tr, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return m, fail("manifest: %v", err)
	}
	if m.Format != FormatVersion {
		return m, fail("archive format %d; this build reads %d", m.Format, FormatVersion)
	}
	want := map[string]FileEntry{}
	for _, fe := range m.Files {
		// Only the three known names: a manifest must never steer a write
		// outside the directory being restored into.
		if fe.Name != KeyName && fe.Name != ConfigName && fe.Name != DBName {
			return m, fail("manifest lists unexpected file %q", fe.Name)
		}
		if _, dup := want[fe.Name]; dup {
			return m, fail("manifest lists %s twice", fe.Name)
		}
		want[fe.Name] = fe
	}
	got := map[string]bool{}
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return m, fail("reading archive: %v", err)
		}
		fe, ok := want[hdr.Name]
		if !ok || got[hdr.Name] {
			return m, fail("unexpected entry %q", hdr.Name)
		}
		if hdr.Size != fe.Size {
			return m, fail("%s is %d bytes, manifest says %d", hdr.Name, hdr.Size, fe.Size)
		}
		out, err := os.OpenFile(filepath.Join(dir, fe.Name), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
		if err != nil {
			return m, err
		}
		h := sha256.New()
		n, err := io.Copy(io.MultiWriter(out, h), tr)
		if err == nil {
			err = out.Sync()
		}
		if cerr := out.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return m, fail("extract %s: %v", fe.Name, err)
		}
		if n != fe.Size || hex.EncodeToString(h.Sum(nil)) != fe.SHA256 {
			return m, fail("%s does not match its checksum", fe.Name)
		}
		got[fe.Name] = true
	}
	for _, name := range []string{KeyName, ConfigName, DBName} {
		if !got[name] {
			return m, fail("%s missing", name)
		}
	}
	st, err := checkDB(filepath.Join(dir, DBName), crdt.NodeID(m.Node))
	if err != nil {
		return m, fail("database: %v", err)
	}
	if st.LogLen != m.LogLen || st.Schema != m.Schema || st.Vector.String() != m.Vector {
		return m, fail("database holds %d changes (schema %d, vector %s), manifest says %d (schema %d, vector %s)",
			st.LogLen, st.Schema, st.Vector, m.LogLen, m.Schema, m.Vector)
	}
	return m, nil
}

// checkDB opens a database copy read-only, runs the consistency check and
// returns its figures.
func checkDB(path string, node crdt.NodeID) (store.Stats, error) {
	opts := store.DefaultOptions(path, node)
	opts.ReadOnly = true
	s, err := store.Open(opts)
	if err != nil {
		return store.Stats{}, err
	}
	defer s.Close()
	if err := s.Check(); err != nil {
		return store.Stats{}, err
	}
	return s.Stats()
}
