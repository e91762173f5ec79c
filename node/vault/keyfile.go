package vault

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"

	"carenode/node/atomicfile"
)

const (
	keyFileHeader = "carenode vault key file v1"
	keyFileMode   = 0o600
	// maxKeyFileSize bounds what ReadKeyFile reads: a key file is 72 bytes.
	maxKeyFileSize = 4 << 10
)

// encodeKeyFile returns the text of a key file: a header line naming the
// format, then the key in standard base64. Text, not raw bytes, so that an
// administrator who opens the file on a USB stick sees what it is.
func encodeKeyFile(kf KeyFileKey) []byte {
	b := make([]byte, 0, len(keyFileHeader)+1+base64.StdEncoding.EncodedLen(KeySize)+1)
	b = append(b, keyFileHeader+"\n"...)
	b = base64.StdEncoding.AppendEncode(b, kf.s.b[:])
	return append(b, '\n')
}

// decodeKeyFile parses the text written by encodeKeyFile, forgiving CRLF
// line ends and trailing blank space that a Windows editor may add. It works
// on bytes, not strings, so the only copies of the key are ones it clears.
func decodeKeyFile(data []byte) (KeyFileKey, error) {
	header, body, ok := bytes.Cut(bytes.TrimRight(data, " \t\r\n"), []byte("\n"))
	body = bytes.TrimSpace(body)
	if !ok || string(bytes.TrimRight(header, " \t\r")) != keyFileHeader || bytes.ContainsAny(body, " \t\r\n") {
		return KeyFileKey{}, fmt.Errorf("%w: want the line %q followed by one line of base64", ErrKeyFileFormat, keyFileHeader)
	}
	raw := make([]byte, base64.StdEncoding.DecodedLen(len(body)))
	defer clear(raw)
	n, err := base64.StdEncoding.Decode(raw, body)
	if err != nil || n != KeySize {
		return KeyFileKey{}, fmt.Errorf("%w: the key line is not %d bytes of base64", ErrKeyFileFormat, KeySize)
	}
	s, _ := secretFrom(raw[:n]) // length checked above
	return KeyFileKey{s}, nil
}

// WriteKeyFile writes kf to path with mode 0600. The write is atomic (after
// a crash there is either no file or a complete one) and never replaces an
// existing file: it returns an error wrapping ErrKeyFileExists instead.
func WriteKeyFile(path string, kf KeyFileKey) error {
	if !kf.Valid() {
		return fmt.Errorf("write key file %s: %w", path, ErrNoKey)
	}
	data := encodeKeyFile(kf)
	defer clear(data)
	if err := atomicfile.WriteNew(path, data, keyFileMode); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("write key file %s: %w", path, ErrKeyFileExists)
		}
		return fmt.Errorf("write key file %s: %w", path, err)
	}
	return nil
}

// ReadKeyFile reads a key file written by WriteKeyFile. A missing file
// gives an error wrapping fs.ErrNotExist; outside Windows, a file that other
// users can read or write gives ErrKeyFilePermissions (a key others can read
// is a leaked key); anything else than a key file gives ErrKeyFileFormat.
func ReadKeyFile(path string) (KeyFileKey, error) {
	data, err := atomicfile.ReadPrivate(path, maxKeyFileSize)
	defer clear(data)
	switch {
	case errors.Is(err, atomicfile.ErrPermissions):
		return KeyFileKey{}, fmt.Errorf("read key file %s: %w: %w", path, ErrKeyFilePermissions, err)
	case errors.Is(err, atomicfile.ErrTooLarge), errors.Is(err, atomicfile.ErrNotRegular):
		return KeyFileKey{}, fmt.Errorf("read key file %s: %w: %w", path, ErrKeyFileFormat, err)
	case err != nil:
		return KeyFileKey{}, fmt.Errorf("read key file: %w", err)
	}
	kf, err := decodeKeyFile(data)
	if err != nil {
		return KeyFileKey{}, fmt.Errorf("read key file %s: %w", path, err)
	}
	return kf, nil
}
