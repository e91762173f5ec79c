package atomicfile

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
)

// ErrPermissions means a secret file can be read or changed by users other
// than its owner.
var ErrPermissions = errors.New("file is accessible to other users")

// ErrTooLarge means a secret file is larger than it could be.
var ErrTooLarge = errors.New("file is too large")

// ErrNotRegular means the path names a directory, device or pipe, not a
// file.
var ErrNotRegular = errors.New("not a regular file")

// ReadPrivate reads a small secret file (a node key, a kiosk key file): at
// most max bytes, and only if no one but its owner can access it, so a
// leaked key is noticed rather than used. The mode is checked on the open
// file, not the path, so it is the mode of what is read. Windows has no Unix
// mode bits (Go reports 0666 for every writable file there), so the check is
// skipped on Windows.
func ReadPrivate(path string, max int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !info.Mode().IsRegular() {
		return nil, ErrNotRegular
	}
	if runtime.GOOS != "windows" && info.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%w (mode %04o); restrict it with: chmod 600 %s", ErrPermissions, info.Mode().Perm(), ShellQuote(path))
	}
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		clear(data)
		return nil, err
	}
	if int64(len(data)) > max {
		clear(data)
		return nil, fmt.Errorf("%w: larger than %d bytes", ErrTooLarge, max)
	}
	return data, nil
}

// ShellQuote quotes path for a POSIX shell when it holds characters the
// shell would interpret, so a hint such as "chmod 600 PATH" can be pasted
// as is.
func ShellQuote(path string) string {
	const safe = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/._-+:,@%="
	if path != "" && strings.Trim(path, safe) == "" {
		return path
	}
	return "'" + strings.ReplaceAll(path, "'", `'\''`) + "'"
}
