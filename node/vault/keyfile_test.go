package vault

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// writeFile writes data with exactly perm, whatever the umask.
func writeFile(t *testing.T, path string, data []byte, perm fs.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, data, perm); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, perm); err != nil {
		t.Fatal(err)
	}
}

func TestKeyFileRoundTrip(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "kiosk.key")
	kf, err := NewKeyFile(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := WriteKeyFile(path, kf); err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" {
		info, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if perm := info.Mode().Perm(); perm != 0o600 {
			t.Errorf("key file mode %04o, want 0600", perm)
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries, want only the key file (temporary file left behind?)", len(entries))
	}
	data, _ := os.ReadFile(path)
	if !strings.HasPrefix(string(data), keyFileHeader+"\n") {
		t.Errorf("key file starts %q", data)
	}

	got, err := ReadKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got.s.b != kf.s.b {
		t.Error("read a different key")
	}

	// Refuses to overwrite, and leaves the old key alone.
	other, _ := NewKeyFile(nil)
	wantErr(t, WriteKeyFile(path, other), ErrKeyFileExists)
	if again, err := ReadKeyFile(path); err != nil || again.s.b != kf.s.b {
		t.Errorf("key file changed after a refused overwrite: %v", err)
	}
}

func TestWriteKeyFileErrors(t *testing.T) {
	dir := t.TempDir()
	wantErr(t, WriteKeyFile(filepath.Join(dir, "k"), KeyFileKey{}), ErrNoKey)
	kf, _ := NewKeyFile(nil)
	err := WriteKeyFile(filepath.Join(dir, "missing", "k"), kf)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("write into a missing directory: %v", err)
	}
}

func TestReadKeyFileErrors(t *testing.T) {
	dir := t.TempDir()
	kf, _ := NewKeyFile(newDetRand(1))
	good := encodeKeyFile(kf)
	crlf := []byte(strings.ReplaceAll(string(good), "\n", "\r\n"))

	tests := []struct {
		name string
		data []byte
		perm fs.FileMode
		want error // nil: reads kf
	}{
		{"good", good, 0o600, nil},
		{"owner read-only", good, 0o400, nil},
		{"CRLF from a Windows editor", crlf, 0o600, nil},
		{"trailing blank lines", append(append([]byte{}, good...), "\n\n  \n"...), 0o600, nil},
		{"group readable", good, 0o640, ErrKeyFilePermissions},
		{"world readable", good, 0o604, ErrKeyFilePermissions},
		{"group writable", good, 0o620, ErrKeyFilePermissions},
		{"empty", nil, 0o600, ErrKeyFileFormat},
		{"raw bytes", kf.s.b[:], 0o600, ErrKeyFileFormat},
		{"wrong header", []byte("carenode vault key file v2\n" + strings.SplitN(string(good), "\n", 3)[1] + "\n"), 0o600, ErrKeyFileFormat},
		{"short key", []byte(keyFileHeader + "\nAAAA\n"), 0o600, ErrKeyFileFormat},
		{"not base64", []byte(keyFileHeader + "\n" + strings.Repeat("!", 44) + "\n"), 0o600, ErrKeyFileFormat},
		{"two keys", append(append([]byte{}, good...), good[len(keyFileHeader)+1:]...), 0o600, ErrKeyFileFormat},
		{"huge", make([]byte, maxKeyFileSize+10), 0o600, ErrKeyFileFormat},
		{"a node key instead", []byte("-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEI...\n-----END PRIVATE KEY-----\n"), 0o600, ErrKeyFileFormat},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if runtime.GOOS == "windows" && tc.want == ErrKeyFilePermissions {
				t.Skip("no Unix modes on Windows")
			}
			path := filepath.Join(dir, strings.Repeat("k", i+1))
			writeFile(t, path, tc.data, tc.perm)
			got, err := ReadKeyFile(path)
			if tc.want == nil {
				if err != nil || got.s.b != kf.s.b {
					t.Fatalf("ReadKeyFile = %v", err)
				}
				return
			}
			wantErr(t, err, tc.want)
			if tc.want == ErrKeyFilePermissions && !strings.Contains(err.Error(), "chmod 600") {
				t.Errorf("error %q lacks the chmod hint", err)
			}
		})
	}

	t.Run("missing", func(t *testing.T) {
		_, err := ReadKeyFile(filepath.Join(dir, "absent"))
		if !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("error = %v, want fs.ErrNotExist", err)
		}
	})
	t.Run("directory", func(t *testing.T) {
		sub := filepath.Join(dir, "sub")
		if err := os.Mkdir(sub, 0o700); err != nil {
			t.Fatal(err)
		}
		_, err := ReadKeyFile(sub)
		wantErr(t, err, ErrKeyFileFormat)
	})
}
