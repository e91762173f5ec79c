package wire

import (
	"embed"
	"encoding/binary"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"sort"

	"github.com/klauspost/compress/zstd"
)

// MaxBatchRaw bounds a batch payload once decompressed.
const MaxBatchRaw = 32 << 20

// The codec byte that starts a batch frame.
const (
	codecRaw  = 0 // the CBOR payload as it is
	codecZstd = 1 // a zstd frame without its 4-byte magic number
)

var zstdMagic = [4]byte{0x28, 0xb5, 0x2f, 0xfd}

// dictFiles holds the dictionaries shipped in the binary, trained by
// internal/gendict (see sync/DESIGN.md). A file is never changed once
// shipped: a new dictionary is a new file with a new ID, and old ones stay
// so that nodes running an older build can still be read.
//
//go:generate go run ./internal/gendict -out dicts
//go:embed dicts
var dictFiles embed.FS

// Dict is a zstd dictionary in the format of `zstd --train`.
type Dict struct {
	ID      uint32
	Name    string
	Content []byte
}

// ShippedDicts returns the dictionaries built into this binary, newest
// (highest file name) first.
func ShippedDicts() ([]Dict, error) {
	names, err := fs.Glob(dictFiles, "dicts/*.zdict")
	if err != nil {
		return nil, err
	}
	sort.Sort(sort.Reverse(sort.StringSlice(names)))
	var out []Dict
	for _, n := range names {
		b, err := dictFiles.ReadFile(n)
		if err != nil {
			return nil, err
		}
		id, err := DictID(b)
		if err != nil {
			return nil, fmt.Errorf("dictionary %s: %w", n, err)
		}
		out = append(out, Dict{ID: id, Name: path.Base(n), Content: b})
	}
	return out, nil
}

// DictID reads the ID from a zstd dictionary's header.
func DictID(dict []byte) (uint32, error) {
	if len(dict) < 8 || binary.LittleEndian.Uint32(dict) != 0xEC30A437 {
		return 0, fmt.Errorf("not a zstd dictionary")
	}
	id := binary.LittleEndian.Uint32(dict[4:])
	if id == 0 {
		return 0, fmt.Errorf("zstd dictionary without an ID")
	}
	return id, nil
}

// Codec compresses and decompresses batch payloads. It is safe for
// concurrent use; make one per node and Close it when done.
type Codec struct {
	ids []uint32                 // dictionaries, newest first
	enc map[uint32]*zstd.Encoder // by dictionary ID; 0 is no dictionary
	dec *zstd.Decoder
}

// CodecOptions configure a Codec.
type CodecOptions struct {
	// Level is the zstd level; rural links are paid by the byte, so the
	// default is the best compression.
	Level zstd.EncoderLevel
	// Dicts are the dictionaries known; nil means ShippedDicts. An empty,
	// non-nil slice means none (for measuring what a dictionary is worth).
	Dicts []Dict
}

// DefaultCodecOptions returns the options nodes use.
func DefaultCodecOptions() CodecOptions {
	return CodecOptions{Level: zstd.SpeedBestCompression}
}

// NewCodec returns a codec with o's dictionaries.
func NewCodec(o CodecOptions) (*Codec, error) {
	if o.Level == 0 {
		o.Level = zstd.SpeedBestCompression
	}
	dicts := o.Dicts
	if dicts == nil {
		var err error
		if dicts, err = ShippedDicts(); err != nil {
			return nil, fmt.Errorf("load shipped dictionaries: %w", err)
		}
	}
	c := &Codec{enc: map[uint32]*zstd.Encoder{}}
	opts := []zstd.EOption{zstd.WithEncoderLevel(o.Level), zstd.WithEncoderCRC(false), zstd.WithEncoderConcurrency(2)}
	e, err := zstd.NewWriter(nil, opts...)
	if err != nil {
		return nil, err
	}
	c.enc[0] = e
	var raw [][]byte
	for _, d := range dicts {
		e, err := zstd.NewWriter(nil, append(opts, zstd.WithEncoderDict(d.Content))...)
		if err != nil {
			c.Close()
			return nil, fmt.Errorf("dictionary %d: %w", d.ID, err)
		}
		c.enc[d.ID] = e
		c.ids = append(c.ids, d.ID)
		raw = append(raw, d.Content)
	}
	c.dec, err = zstd.NewReader(nil, zstd.WithDecoderDicts(raw...), zstd.WithDecoderMaxMemory(MaxBatchRaw),
		zstd.WithDecoderMaxWindow(MaxBatchRaw), zstd.WithDecoderConcurrency(2))
	if err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// Close releases the codec's encoders and decoder.
func (c *Codec) Close() {
	for _, e := range c.enc {
		e.Close()
	}
	if c.dec != nil {
		c.dec.Close()
	}
}

// DictIDs returns the dictionaries this codec knows, newest first: what a
// hello advertises.
func (c *Codec) DictIDs() []uint32 { return slices.Clone(c.ids) }

// Choose returns the dictionary to compress with for a peer that advertised
// peer: the first of the peer's list that this codec knows, or 0 for none.
func (c *Codec) Choose(peer []uint32) uint32 {
	for _, id := range peer {
		if _, ok := c.enc[id]; ok && id != 0 {
			return id
		}
	}
	return 0
}

// Compress returns a batch frame's payload for the CBOR payload p: the
// codec byte, then a zstd frame (magic number left out) compressed with
// dictionary dict, or p as it is when compression would not make it smaller.
func (c *Codec) Compress(p []byte, dict uint32) []byte {
	e := c.enc[dict]
	if e == nil {
		e = c.enc[0]
	}
	z := e.EncodeAll(p, make([]byte, 1, len(p)/2+16))
	if len(z)-len(zstdMagic) < len(p) {
		z[len(zstdMagic)] = codecZstd
		return z[len(zstdMagic):]
	}
	return append([]byte{codecRaw}, p...)
}

// Decompress returns the CBOR payload of a batch frame's payload b.
func (c *Codec) Decompress(b []byte) ([]byte, error) {
	if len(b) == 0 {
		return nil, fmt.Errorf("%w: empty batch frame", ErrMalformed)
	}
	switch b[0] {
	case codecRaw:
		return b[1:], nil
	case codecZstd:
	default:
		return nil, fmt.Errorf("%w: unknown batch codec %d", ErrMalformed, b[0])
	}
	z := make([]byte, 0, len(b)+3)
	z = append(append(z, zstdMagic[:]...), b[1:]...)
	var h zstd.Header
	if err := h.Decode(z); err != nil {
		return nil, fmt.Errorf("%w: zstd header: %w", ErrMalformed, err)
	}
	if h.Skippable {
		return nil, fmt.Errorf("%w: skippable zstd frame", ErrMalformed)
	}
	if h.DictionaryID != 0 && !slices.Contains(c.ids, h.DictionaryID) {
		return nil, fmt.Errorf("%w: dictionary %d (this build knows %v)", ErrUnknownDict, h.DictionaryID, c.ids)
	}
	if h.HasFCS && h.FrameContentSize > MaxBatchRaw {
		return nil, fmt.Errorf("%w: batch of %d bytes decompressed, limit %d", ErrFrameTooLarge, h.FrameContentSize, MaxBatchRaw)
	}
	p, err := c.dec.DecodeAll(z, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: decompress batch: %w", ErrMalformed, err)
	}
	return p, nil
}
