package icd10

import "testing"

var benchCodes = []string{"I10", "e11.9", "E119", "J44.9", "I69.354", "K57.30", "Z99.999", "E1.19"}

func BenchmarkLookup(b *testing.B) {
	tb := Default()
	if err := tb.Load(); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		_, _ = tb.Lookup(benchCodes[i%len(benchCodes)])
	}
}

// BenchmarkLoad measures what the first Lookup of a node pays: decompress
// and index the embedded table.
func BenchmarkLoad(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if err := Default().Load(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSearchWords(b *testing.B) {
	tb := Default()
	if err := tb.Load(); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		tb.Search("糖尿病 肾", 20)
	}
}

func BenchmarkSearchPrefix(b *testing.B) {
	tb := Default()
	if err := tb.Load(); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		tb.Search("E11.3", 20)
	}
}
