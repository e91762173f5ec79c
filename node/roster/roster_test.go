package roster

import (
	"bytes"
	"encoding/csv"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"golang.org/x/text/encoding/simplifiedchinese"

	"carenode/node/care"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

var today = time.Date(2026, time.November, 24, 0, 0, 0, 0, time.UTC)

func parseFile(t *testing.T, name string, opts Options) (Result, error) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return Parse(bytes.NewReader(b), opts, nil)
}

func lines(rows []Row) []int {
	var out []int
	for _, r := range rows {
		out = append(out, r.Line)
	}
	return out
}

func rejectedLines(rs []Rejected) []int {
	var out []int
	for _, r := range rs {
		out = append(out, r.Line)
	}
	return out
}

func TestChineseHeadersUTF8BOM(t *testing.T) {
	res, err := parseFile(t, "zh_bom.csv", DefaultOptions(today))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Rejected) != 0 {
		t.Fatalf("rejected: %v", Report(res, "en"))
	}
	if got, want := lines(res.Rows), []int{2, 3, 5}; !reflect.DeepEqual(got, want) {
		t.Errorf("lines = %v, want %v", got, want)
	}
	if res.Encoding != EncodingUTF8BOM {
		t.Errorf("encoding = %q", res.Encoding)
	}
	if !reflect.DeepEqual(res.Ignored, []string{"民族"}) {
		t.Errorf("ignored = %q", res.Ignored)
	}
	if res.Columns["姓名"] != FieldName || res.Columns["手机"] != FieldPhones || res.Columns["电话"] != FieldPhones || res.Columns["住址"] != FieldAddress {
		t.Errorf("columns = %v", res.Columns)
	}
	wang := res.Rows[1].Patient
	want := care.PatientInput{
		Name: "王芳", Sex: care.SexFemale, BirthDate: "1949-12-31", IDNumber: "11010519491231002X",
		Phones: []string{"13912345678", "01062345678"}, Address: "北京市朝阳区2号", Notes: "高血压多年，\n定期随访",
	}
	if !reflect.DeepEqual(wang, want) {
		t.Errorf("row 3 = %+v\nwant %+v", wang, want)
	}
	if got := res.Rows[2].Patient.BirthDate; got != "1975-11-15" {
		t.Errorf("1975年11月15日 normalised to %q", got)
	}
}

func TestGBK(t *testing.T) {
	b, err := os.ReadFile("testdata/zh_bom.csv")
	if err != nil {
		t.Fatal(err)
	}
	utf := bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
	gbk, err := simplifiedchinese.GBK.NewEncoder().Bytes(utf)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(gbk, utf) {
		t.Fatal("encoding changed nothing")
	}
	got, err := Parse(bytes.NewReader(gbk), DefaultOptions(today), nil)
	if err != nil {
		t.Fatal(err)
	}
	want, err := Parse(bytes.NewReader(utf), DefaultOptions(today), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got.Encoding != EncodingGB18030 || want.Encoding != EncodingUTF8 {
		t.Errorf("encodings = %q, %q", got.Encoding, want.Encoding)
	}
	if len(got.Rows) != 3 || !reflect.DeepEqual(got.Rows, want.Rows) {
		t.Errorf("GBK rows differ from UTF-8 rows:\n%+v\n%+v", got.Rows, want.Rows)
	}
}

func TestEnglishHeaders(t *testing.T) {
	res, err := parseFile(t, "en.csv", Options{Today: today, Lang: "en"})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Rejected) != 0 || len(res.Rows) != 2 {
		t.Fatalf("%d rows; report:\n%s", len(res.Rows), Report(res, "en"))
	}
	liu := res.Rows[1].Patient
	if liu.Sex != care.SexMale || liu.MaritalStatus != care.MaritalWidowed || liu.CardNumber != "B200345" ||
		!reflect.DeepEqual(liu.Phones, []string{"15012345678", "09318123456"}) {
		t.Errorf("row 3 = %+v", liu)
	}
	if got := res.Rows[0].Patient.Phones; !reflect.DeepEqual(got, []string{"13612345678", "13712345678"}) {
		t.Errorf("two phone columns = %v", got)
	}
	if !reflect.DeepEqual(res.Ignored, []string{"Ethnicity"}) {
		t.Errorf("ignored = %q", res.Ignored)
	}
}

func TestMissingColumn(t *testing.T) {
	_, err := parseFile(t, "missing_column.csv", DefaultOptions(today))
	var he *HeaderError
	if !errors.As(err, &he) || !errors.Is(err, ErrHeader) {
		t.Fatalf("err = %v", err)
	}
	if !reflect.DeepEqual(he.Missing, []string{FieldBirthDate}) {
		t.Errorf("missing = %v", he.Missing)
	}
	for _, s := range []string{"出生日期", `"姓名"`, `"电话"`, `"地址"`} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("zh message %q lacks %s", err.Error(), s)
		}
	}
	if en := he.Message("en"); !strings.Contains(en, "birthDate") || !strings.Contains(en, `"电话"`) {
		t.Errorf("en message %q", en)
	}
}

func TestDuplicateColumn(t *testing.T) {
	_, err := parseFile(t, "duplicate_column.csv", Options{Today: today, Lang: "en"})
	var he *HeaderError
	if !errors.As(err, &he) {
		t.Fatalf("err = %v", err)
	}
	if len(he.Missing) != 0 || !reflect.DeepEqual(he.Duplicate, map[string][]string{FieldName: {"姓名", "Name"}}) {
		t.Errorf("missing %v, duplicate %v (two phone columns are allowed)", he.Missing, he.Duplicate)
	}
	if !strings.Contains(err.Error(), `"姓名", "Name" all mean name`) {
		t.Errorf("message %q", err.Error())
	}
}

func codes(ps []care.Problem) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Code)
	}
	return out
}

func TestMixedRows(t *testing.T) {
	res, err := parseFile(t, "mixed.csv", DefaultOptions(today))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := lines(res.Rows), []int{2, 7, 12}; !reflect.DeepEqual(got, want) {
		t.Errorf("accepted lines = %v, want %v", got, want)
	}
	want := map[int]string{
		3:  care.CodeIDCheck,
		4:  care.CodeIDBirthDateMismatch,
		5:  care.CodePhoneLength,
		6:  care.CodeNoSuchDate,
		8:  CodeDuplicateOf,
		9:  CodeMalformed,
		11: CodeFieldCount,
		13: CodeExcelNumber,
		14: care.CodeFutureDate,
	}
	if got := rejectedLines(res.Rejected); len(got) != len(want) {
		t.Errorf("rejected lines = %v", got)
	}
	for _, r := range res.Rejected {
		code, ok := want[r.Line]
		if !ok {
			t.Errorf("line %d rejected: %v", r.Line, codes(r.Problems))
			continue
		}
		if cs := codes(r.Problems); len(cs) != 1 || cs[0] != code {
			t.Errorf("line %d: codes %v, want [%s]", r.Line, cs, code)
		}
		if len(r.Raw) == 0 && r.Line != 9 { // a malformed line keeps only the fields before the fault
			t.Errorf("line %d: no raw fields", r.Line)
		}
	}
	if res.Blank != 1 {
		t.Errorf("blank = %d", res.Blank)
	}
	for _, r := range res.Rejected {
		if r.Line == 8 && !strings.Contains(r.Problems[0].En, "duplicate of line 2") {
			t.Errorf("line 8: %q", r.Problems[0].En)
		}
	}
}

func TestDuplicateCardNumber(t *testing.T) {
	in := "name,sex,dob,card\n张三,男,1980-01-01,a100200\n李四,女,1981-01-01,A100200\n王五,男,1982-01-01,A100201\n"
	res, err := Parse(strings.NewReader(in), DefaultOptions(today), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := lines(res.Rows); !reflect.DeepEqual(got, []int{2, 4}) {
		t.Errorf("accepted %v", got)
	}
	if len(res.Rejected) != 1 || res.Rejected[0].Line != 3 || res.Rejected[0].Problems[0].Field != FieldCardNumber {
		t.Errorf("rejected %+v", res.Rejected)
	}
}

func TestWholeFileErrors(t *testing.T) {
	good := "姓名,性别,出生日期\n张三,男,1980-01-01\n李四,女,1981-01-01\n"
	for _, tc := range []struct {
		name string
		in   string
		opts Options
		want error
	}{
		{"no today", good, Options{}, ErrOptions},
		{"negative max", good, Options{Today: today, MaxRows: -1}, ErrOptions},
		{"too many rows", good, Options{Today: today, MaxRows: 1}, ErrTooManyRows},
		{"empty", "", DefaultOptions(today), ErrNoHeader},
		{"only blank lines", "\n\n", DefaultOptions(today), ErrNoHeader},
		{"bad header", "姓\"名,性别\n", DefaultOptions(today), ErrNoHeader},
		{"utf-16", "\xff\xfeA\x00", DefaultOptions(today), ErrEncoding},
	} {
		if _, err := Parse(strings.NewReader(tc.in), tc.opts, nil); !errors.Is(err, tc.want) {
			t.Errorf("%s: err = %v, want %v", tc.name, err, tc.want)
		}
	}
	res, err := Parse(strings.NewReader(good), Options{Today: today, MaxRows: 2}, nil)
	if err != nil || len(res.Rows) != 2 {
		t.Errorf("exactly MaxRows: %v, %d rows", err, len(res.Rows))
	}
}

func TestProgress(t *testing.T) {
	var b strings.Builder
	b.WriteString("name,sex,birthDate\n")
	for range 2500 {
		b.WriteString("张三,男,1980-01-01\n")
	}
	var calls []int
	res, err := Parse(strings.NewReader(b.String()), DefaultOptions(today), func(n int) { calls = append(calls, n) })
	if err != nil || len(res.Rows) != 2500 {
		t.Fatalf("%v, %d rows", err, len(res.Rows))
	}
	if !reflect.DeepEqual(calls, []int{1000, 2000, 2500}) {
		t.Errorf("progress calls %v", calls)
	}
}

func TestHeaderFolding(t *testing.T) {
	aliases := headerAliases()
	for h, want := range map[string]string{
		"Birth_Date *": FieldBirthDate, "ＤＯＢ": FieldBirthDate, " 身份证号码 ": FieldIDNumber, "ID Number": FieldIDNumber,
		"电话2": FieldPhones, "Phone 3": FieldPhones, "手机号": FieldPhones, "家庭住址": FieldAddress, "就诊卡号": FieldCardNumber,
		"既往史": FieldHistory, "家族史": FieldFamilyHistory, "婚姻状况": FieldMaritalStatus, "职业": FieldOccupation,
		"姓名2": "", "民族": "", "": "",
	} {
		if got := fieldOf(aliases, h); got != want {
			t.Errorf("fieldOf(%q) = %q, want %q", h, got, want)
		}
	}
}

func TestExcelNumber(t *testing.T) {
	for s, want := range map[string]bool{"4.40106E+17": true, "1.38123e+10": true, "4E+17": true,
		"440106198001011230": false, "E+17": false, "4.4x06E+17": false, "1.2E+": false} {
		if got := excelNumber(s); got != want {
			t.Errorf("excelNumber(%q) = %v", s, got)
		}
	}
}

func TestReportGolden(t *testing.T) {
	res, err := parseFile(t, "mixed.csv", DefaultOptions(today))
	if err != nil {
		t.Fatal(err)
	}
	for _, lang := range []string{"zh", "en"} {
		got := Report(res, lang)
		path := filepath.Join("testdata", "mixed.report."+lang+".golden")
		if *update {
			if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if got != string(want) {
			t.Errorf("Report(%s) differs from %s (run go test -update):\n%s", lang, path, got)
		}
		for _, secret := range []string{"张伟", "440106198001011230", "13812345678", "广州"} {
			if strings.Contains(got, secret) {
				t.Errorf("Report(%s) quotes personal data %q", lang, secret)
			}
		}
	}
}

// countRecords counts the data records of b as the package documents them
// (encoding rules, then encoding/csv), independently of Parse's bookkeeping.
func countRecords(t testing.TB, b []byte) int {
	var text []byte
	switch {
	case bytes.HasPrefix(b, []byte("\xef\xbb\xbf")):
		text = b[3:]
	case utf8Valid(b):
		text = b
	default:
		var err error
		if text, err = simplifiedchinese.GB18030.NewDecoder().Bytes(b); err != nil {
			t.Fatal(err)
		}
	}
	cr := csv.NewReader(bytes.NewReader(text))
	cr.FieldsPerRecord = -1
	n := -1 // the header
	for {
		_, err := cr.Read()
		if err != nil && !errors.As(err, new(*csv.ParseError)) {
			break
		}
		n++
	}
	return n
}
