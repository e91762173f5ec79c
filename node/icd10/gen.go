//go:build ignore

// Command gen rebuilds codes.tsv.zst, the table package icd10 embeds, from
// the files in source/. Run it from this directory after changing a source
// file (go generate ./node/icd10 does so):
//
//	go run gen.go
//
// To ship every ICD-10-CM code, replace source/codes.tsv with the CDC file
// icd10cm_codes_<year>.txt of the same release as source/categories.tsv and
// run it again; SOURCE.md says where both come from.
package main

import (
	"bytes"
	"fmt"
	"log"
	"os"

	"github.com/klauspost/compress/zstd"

	"carenode/node/icd10/internal/tablegen"
)

func main() {
	text, st, err := tablegen.Build("source")
	if err != nil {
		log.Fatal(err)
	}
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedBestCompression), zstd.WithEncoderConcurrency(1))
	if err != nil {
		log.Fatal(err)
	}
	out := enc.EncodeAll(text, nil)
	if old, err := os.ReadFile("codes.tsv.zst"); err == nil && bytes.Equal(old, out) {
		fmt.Println("codes.tsv.zst is up to date")
	} else if err := os.WriteFile("codes.tsv.zst", out, 0o644); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%d bytes of table text, %d bytes compressed\n", len(text), len(out))
	fmt.Printf("categories %d (subcodes shipped for %d, added beyond the category list %d), subcodes %d, project-written entries %d, Chinese titles %d\n",
		st.Categories, st.Complete, st.AddedCategories, st.Subcodes, st.ProjectEntries, st.ChineseTitles)
}
