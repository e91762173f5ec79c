//go:build unix

package trust

import (
	"fmt"
	"os"
	"syscall"
)

// withLock runs f holding an exclusive lock on path, across processes.
func withLock(path string, f func() error) error {
	fd, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, privMode)
	if err != nil {
		return fmt.Errorf("lock %s: %w", path, err)
	}
	defer fd.Close()
	if err := syscall.Flock(int(fd.Fd()), syscall.LOCK_EX); err != nil {
		return fmt.Errorf("lock %s: %w", path, err)
	}
	defer syscall.Flock(int(fd.Fd()), syscall.LOCK_UN)
	return f()
}
