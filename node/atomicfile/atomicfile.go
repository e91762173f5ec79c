// Package atomicfile handles the node's small private files (node keys,
// config files, kiosk key files, peer books, grants): writing them whole or
// not at all, new (never over a file already there) or replacing, and
// reading secrets only when no other user can reach them.
package atomicfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
)

// WriteNew writes data to path atomically and only if path does not exist.
// An existing file gives an error wrapping fs.ErrExist.
//
// The data goes to a temporary file in the same directory, which is synced
// and then hard-linked into place: unlike rename, link fails instead of
// replacing a file that appeared after the first check. The directory is
// synced last so the new name survives a power cut.
func WriteNew(path string, data []byte, perm fs.FileMode) (err error) {
	if _, err := os.Lstat(path); err == nil {
		return fmt.Errorf("%s: %w", path, fs.ErrExist)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}

	dir := filepath.Dir(path)
	tmpName, err := writeTemp(path, data, perm)
	if err != nil {
		return err
	}
	defer func() {
		// Once linked, the temporary name is just a second name for the
		// new file; either way it must go.
		if rmErr := os.Remove(tmpName); rmErr != nil && !errors.Is(rmErr, fs.ErrNotExist) && err == nil {
			err = rmErr
		}
	}()

	if err := os.Link(tmpName, path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return err
		}
		// Some filesystems, such as FAT on a USB stick, have no hard
		// links. Fall back to rename after checking again, accepting a
		// narrow race with another writer.
		if _, statErr := os.Lstat(path); statErr == nil {
			return fmt.Errorf("%s: %w", path, fs.ErrExist)
		}
		if err := os.Rename(tmpName, path); err != nil {
			return err
		}
	}
	return SyncDir(dir)
}

// SyncDir makes new directory entries durable. Windows cannot open a
// directory for syncing, and NTFS journals the entry anyway.
func SyncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync directory %s: %w", dir, err)
	}
	return nil
}

// Replace writes data to path whole or not at all, replacing the file there
// if any: after a crash or power cut path holds either the old contents or
// the new, never a mix or an empty file.
//
// The data goes to a temporary file in the same directory with mode perm,
// which is synced and renamed over path; the directory is synced last so
// the rename survives a power cut. The temporary file is removed on any
// failure.
func Replace(path string, data []byte, perm fs.FileMode) error {
	tmpName, err := writeTemp(path, data, perm)
	if err != nil {
		return err
	}
	if err := os.Rename(tmpName, path); err != nil {
		os.Remove(tmpName)
		return err
	}
	return SyncDir(filepath.Dir(path))
}

// writeTemp writes data, synced, with mode perm, to a new temporary file
// beside path and returns its name; on failure it leaves no file behind.
func writeTemp(path string, data []byte, perm fs.FileMode) (name string, err error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return "", err
	}
	err = tmp.Chmod(perm)
	if err == nil {
		_, err = tmp.Write(data)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp.Name())
		return "", err
	}
	return tmp.Name(), nil
}
