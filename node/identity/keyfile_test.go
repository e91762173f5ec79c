package identity

import (
	"bytes"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func newIdentity(t *testing.T) *Identity {
	t.Helper()
	id, err := Generate(nil)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

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

func pemKey(t *testing.T, key any) []byte {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

func TestSaveLoadRoundTrip(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "node.key")
	orig := newIdentity(t)
	if err := orig.Save(path); err != nil {
		t.Fatal(err)
	}

	if runtime.GOOS != "windows" {
		info, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if perm := info.Mode().Perm(); perm != 0o600 {
			t.Errorf("key file mode = %04o, want 0600", perm)
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("directory holds %v, want only node.key (temporary file left behind?)", names)
	}

	loaded, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if loaded.ID != orig.ID {
		t.Errorf("loaded ID %s, want %s", loaded.ID, orig.ID)
	}
	if !bytes.Equal(loaded.Public, orig.Public) {
		t.Error("loaded public key differs")
	}
	if !loaded.PrivateKey().Equal(orig.PrivateKey()) {
		t.Error("loaded private key differs")
	}
	msg := []byte("visit 42 recorded")
	if !Verify(orig.Public, msg, loaded.Sign(msg)) {
		t.Error("signature by the loaded key does not verify with the original public key")
	}
}

func TestSaveRefusesOverwrite(t *testing.T) {
	tests := []struct {
		name     string
		existing []byte
	}{
		{name: "another key", existing: nil}, // filled in below
		{name: "any file", existing: []byte("not a key\n")},
		{name: "empty file", existing: []byte{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "node.key")
			existing := tc.existing
			if existing == nil {
				if err := newIdentity(t).Save(path); err != nil {
					t.Fatal(err)
				}
				var err error
				if existing, err = os.ReadFile(path); err != nil {
					t.Fatal(err)
				}
			} else {
				writeFile(t, path, existing, 0o600)
			}

			err := newIdentity(t).Save(path)
			if !errors.Is(err, ErrKeyExists) {
				t.Fatalf("Save over an existing file: error = %v, want ErrKeyExists", err)
			}
			if !strings.Contains(err.Error(), path) {
				t.Errorf("error %q does not name the file", err)
			}
			got, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, existing) {
				t.Error("existing file was changed")
			}
			entries, err := os.ReadDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			if len(entries) != 1 {
				t.Errorf("directory holds %d entries, want 1", len(entries))
			}
		})
	}
}

func TestSaveRefusesDanglingSymlink(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("symlinks need privileges on Windows")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "node.key")
	target := filepath.Join(dir, "elsewhere")
	if err := os.Symlink(target, path); err != nil {
		t.Fatal(err)
	}
	if err := newIdentity(t).Save(path); !errors.Is(err, ErrKeyExists) {
		t.Fatalf("Save over a symlink: error = %v, want ErrKeyExists", err)
	}
	if _, err := os.Lstat(target); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Save wrote through the symlink: %v", err)
	}
}

func TestSaveErrors(t *testing.T) {
	tests := []struct {
		name    string
		id      *Identity
		path    func(dir string) string
		wantErr error
	}{
		{
			name:    "zero identity",
			id:      &Identity{},
			path:    func(dir string) string { return filepath.Join(dir, "node.key") },
			wantErr: ErrNoPrivateKey,
		},
		{
			name:    "missing directory",
			id:      newIdentity(t),
			path:    func(dir string) string { return filepath.Join(dir, "no", "such", "node.key") },
			wantErr: fs.ErrNotExist,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := tc.path(t.TempDir())
			err := tc.id.Save(path)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Save error = %v, want %v", err, tc.wantErr)
			}
			if _, statErr := os.Lstat(path); !errors.Is(statErr, fs.ErrNotExist) {
				t.Errorf("failed Save left a file: %v", statErr)
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	xKey, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	good := newIdentity(t)

	tests := []struct {
		name    string
		data    []byte // nil means no file
		wantErr error
		wantMsg string
	}{
		{name: "missing file", data: nil, wantErr: fs.ErrNotExist},
		{name: "empty file", data: []byte{}, wantErr: ErrKeyNotPEM, wantMsg: "no PEM block"},
		{name: "text", data: []byte("hello\n"), wantErr: ErrKeyNotPEM},
		{name: "raw DER", data: mustDER(t, good), wantErr: ErrKeyNotPEM},
		{
			name:    "certificate block",
			data:    pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte{1, 2, 3}}),
			wantErr: ErrKeyNotPEM,
			wantMsg: `"CERTIFICATE"`,
		},
		{
			name:    "openssh key",
			data:    pem.EncodeToMemory(&pem.Block{Type: "OPENSSH PRIVATE KEY", Bytes: []byte{1, 2, 3}}),
			wantErr: ErrKeyNotPEM,
		},
		{
			name:    "garbage in PEM",
			data:    pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte("garbage")}),
			wantErr: ErrKeyMalformed,
		},
		{name: "ECDSA key", data: pemKey(t, ecKey), wantErr: ErrKeyType, wantMsg: "ecdsa"},
		{name: "X25519 key", data: pemKey(t, xKey), wantErr: ErrKeyType, wantMsg: "ecdh"},
		{name: "huge file", data: bytes.Repeat([]byte("A"), maxKeyFile+1), wantErr: ErrKeyNotPEM},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "node.key")
			if tc.data != nil {
				writeFile(t, path, tc.data, 0o600)
			}
			id, err := Load(path)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Load error = %v, want %v", err, tc.wantErr)
			}
			if id != nil {
				t.Error("Load returned an identity with an error")
			}
			if !strings.Contains(err.Error(), path) {
				t.Errorf("error %q does not name the file", err)
			}
			if !strings.Contains(err.Error(), tc.wantMsg) {
				t.Errorf("error %q does not mention %q", err, tc.wantMsg)
			}
		})
	}
}

func mustDER(t *testing.T, id *Identity) []byte {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(id.PrivateKey())
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func TestLoadPermissions(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("Windows has no Unix permission bits")
	}
	tests := []struct {
		perm    fs.FileMode
		wantErr bool
	}{
		{perm: 0o600},
		{perm: 0o400},
		{perm: 0o700},
		{perm: 0o640, wantErr: true},
		{perm: 0o604, wantErr: true},
		{perm: 0o620, wantErr: true},
		{perm: 0o602, wantErr: true},
		{perm: 0o644, wantErr: true},
		{perm: 0o666, wantErr: true},
	}
	good := newIdentity(t)
	data := pemKey(t, good.PrivateKey())
	for _, tc := range tests {
		t.Run(tc.perm.String(), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "node key") // a space, to test the hint's quoting
			writeFile(t, path, data, tc.perm)
			id, err := Load(path)
			if !tc.wantErr {
				if err != nil {
					t.Fatalf("Load: %v", err)
				}
				if id.ID != good.ID {
					t.Errorf("loaded ID %s, want %s", id.ID, good.ID)
				}
				return
			}
			if !errors.Is(err, ErrKeyPermissions) {
				t.Fatalf("Load error = %v, want ErrKeyPermissions", err)
			}
			if hint := "chmod 600 '" + path + "'"; !strings.Contains(err.Error(), hint) {
				t.Errorf("error %q does not hold the hint %q", err, hint)
			}
		})
	}
}

func TestSignVerify(t *testing.T) {
	a, b := newIdentity(t), newIdentity(t)
	msg := []byte("patient 7 follow-up due")
	sig := a.Sign(msg)

	tests := []struct {
		name string
		pub  []byte
		msg  []byte
		sig  []byte
		want bool
	}{
		{name: "valid", pub: a.Public, msg: msg, sig: sig, want: true},
		{name: "other key", pub: b.Public, msg: msg, sig: sig},
		{name: "changed message", pub: a.Public, msg: []byte("patient 8 follow-up due"), sig: sig},
		{name: "changed signature", pub: a.Public, msg: msg, sig: append([]byte{sig[0] ^ 1}, sig[1:]...)},
		{name: "short signature", pub: a.Public, msg: msg, sig: sig[:10]},
		{name: "short public key", pub: a.Public[:10], msg: msg, sig: sig},
		{name: "nil public key", pub: nil, msg: msg, sig: sig},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Verify(tc.pub, tc.msg, tc.sig); got != tc.want {
				t.Errorf("Verify = %v, want %v", got, tc.want)
			}
		})
	}
}
