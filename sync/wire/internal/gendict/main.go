// Command gendict trains the zstd dictionary that sync batches are
// compressed with, on changes made the way a clinic makes them
// (internal/corpus), and writes it as the next dicts/changes-NNN.zdict.
//
//	go generate ./sync/wire          # or:
//	go run ./sync/wire/internal/gendict -out sync/wire/dicts
//
// Each training sample is one change encoded as a one-change batch payload,
// because small batches are where a dictionary pays: a batch of hundreds
// of changes compresses well on its own. The dictionary's ID is taken from a
// hash of its content, so two different dictionaries never share an ID and
// a peer can never decode a batch with the wrong one. Sealed values and
// record ids are random, so a rerun makes a different file: never replace a
// shipped file, add the next one (older nodes keep reading the old).
package main

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/klauspost/compress/dict"
	"github.com/klauspost/compress/zstd"

	"carenode/crdt"
	"carenode/sync/wire"
	"carenode/sync/wire/internal/corpus"
)

func main() {
	out := flag.String("out", "dicts", "directory of the shipped dictionaries")
	seed := flag.Uint64("seed", 1, "corpus seed (wire's benchmarks measure on seed 2)")
	patients := flag.Int("patients", 600, "patients in the training corpus")
	size := flag.Int("size", 8<<10, "dictionary size in bytes")
	flag.Parse()
	if err := run(*out, *seed, *patients, *size); err != nil {
		fmt.Fprintln(os.Stderr, "gendict:", err)
		os.Exit(1)
	}
}

func run(out string, seed uint64, patients, size int) error {
	tmp, err := os.MkdirTemp("", "gendict")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	changes, err := corpus.Make(context.Background(), tmp, seed, patients)
	if err != nil {
		return fmt.Errorf("make corpus: %w", err)
	}
	samples := make([][]byte, len(changes))
	for i := range changes {
		samples[i] = wire.EncodePayload(wire.Payload{Changes: []crdt.Change{changes[i]}})
	}
	d, err := dict.BuildZstdDict(samples, dict.Options{MaxDictSize: size, HashBytes: 6, ZstdDictID: 1,
		ZstdLevel: zstd.SpeedBestCompression})
	if err != nil {
		return fmt.Errorf("train: %w", err)
	}
	// The ID comes from the content after the header, in the range RFC 8878
	// leaves to private use (32768 .. 2^31-1).
	h := sha256.Sum256(d[8:])
	id := 32768 + binary.BigEndian.Uint32(h[:])%(1<<31-32768)
	binary.LittleEndian.PutUint32(d[4:], id)
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	existing, err := filepath.Glob(filepath.Join(out, "changes-*.zdict"))
	if err != nil {
		return err
	}
	name := filepath.Join(out, fmt.Sprintf("changes-%03d.zdict", len(existing)+1))
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(d); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	fmt.Printf("%s: %d bytes, id %d, trained on %d changes of %d patients (seed %d)\n", name, len(d), id, len(changes), patients, seed)
	return nil
}
