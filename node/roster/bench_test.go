package roster

import (
	"bytes"
	"encoding/csv"
	"testing"

	"carenode/node/sample"
)

// rosterCSV writes n sample patients as a roster with Chinese headers.
func rosterCSV(tb testing.TB, n int) []byte {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	_ = w.Write([]string{"姓名", "性别", "出生日期", "身份证号", "手机", "地址"})
	for _, p := range sample.New(1).Patients(n) {
		_ = w.Write([]string{p.Name, p.Sex, p.BirthDate, p.IDNumber, p.Phone, p.Address})
	}
	w.Flush()
	if err := w.Error(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

func TestSampleRosterAccepted(t *testing.T) {
	res, err := Parse(bytes.NewReader(rosterCSV(t, 2000)), DefaultOptions(sample.DefaultRefDate()), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Rows) != 2000 {
		t.Fatalf("%d of 2000 accepted:\n%s", len(res.Rows), Report(res, "en"))
	}
}

func BenchmarkParse100k(b *testing.B) {
	const n = 100000
	data := rosterCSV(b, n)
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for b.Loop() {
		res, err := Parse(bytes.NewReader(data), DefaultOptions(sample.DefaultRefDate()), nil)
		if err != nil || len(res.Rows)+len(res.Rejected) != n {
			b.Fatalf("%v, %d+%d rows", err, len(res.Rows), len(res.Rejected))
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}
