package roster

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/text/encoding/simplifiedchinese"

	"carenode/node/care"
)

// DefaultMaxRows is the number of data rows Parse accepts when
// Options.MaxRows is zero: more than any one clinic's roster.
const DefaultMaxRows = 200000

// progressEvery is how many rows pass between progress calls.
const progressEvery = 1000

// Options controls Parse.
type Options struct {
	// Today is the clinic's date, for care.PatientInput.Validate (birth
	// dates after it are refused). Required: Parse reads no clock.
	Today time.Time
	// Lang is the language of returned errors' Error(): "zh" (the
	// default when empty) or "en". Problems carry both languages anyway.
	Lang string
	// MaxRows caps the data rows; 0 means DefaultMaxRows.
	MaxRows int
}

// DefaultOptions returns Options for today, in Chinese, with DefaultMaxRows.
func DefaultOptions(today time.Time) Options {
	return Options{Today: today, Lang: "zh", MaxRows: DefaultMaxRows}
}

// Row is an accepted patient: normalised and valid on Options.Today.
type Row struct {
	Line    int // line in the file where the row starts, 1-based, the header counting
	Patient care.PatientInput
}

// Rejected is a row that cannot be imported, with every reason found.
type Rejected struct {
	Line     int            // line in the file where the row starts, 1-based
	Problems []care.Problem // at least one; care's codes, or this package's Code… ones
	// Raw is the row's fields as read, for a caller that writes the
	// rejected rows back out for correction. It holds personal data:
	// Report does not print it, and neither should a log. For a line that
	// is not valid CSV it holds only the fields before the fault, if any.
	Raw []string
}

// Result is what Parse found in a file.
type Result struct {
	Rows     []Row
	Rejected []Rejected
	// Blank counts rows whose fields are all empty (",,,," lines Excel
	// leaves after formatted cells); they are skipped, neither accepted
	// nor rejected.
	Blank int
	// Columns maps each header used, as written (trimmed), to its field
	// (the JSON name in care.PatientInput: "name", "phones", …).
	Columns map[string]string
	// Ignored lists the headers that map to no field, in file order.
	Ignored []string
	// Encoding is how the file was read: EncodingUTF8, EncodingUTF8BOM or
	// EncodingGB18030.
	Encoding string
}

// Values of Result.Encoding.
const (
	EncodingUTF8    = "UTF-8"
	EncodingUTF8BOM = "UTF-8 with BOM"
	EncodingGB18030 = "GB18030"
)

// Codes of the problems this package adds to care's.
const (
	CodeMalformed   = "csv_malformed"   // the line is not valid CSV (a stray quote)
	CodeFieldCount  = "csv_field_count" // the line has fewer, or more non-empty, fields than the header
	CodeDuplicateOf = "duplicate_of"    // same ID or card number as an earlier line
	CodeExcelNumber = "excel_number"    // Excel turned a long number into 4.40106E+17
	CodeInternal    = "internal"        // validation failed in an unexpected way
)

// Parse reads a roster in CSV, maps its header to care.PatientInput's
// fields, and normalises and validates every row. It returns an error,
// and no rows, when the file as a whole cannot be used: Options invalid,
// unreadable, UTF-16, no header, a header lacking a required column or
// naming one twice (*HeaderError), more than MaxRows data rows. Otherwise
// each data row is in exactly one of Result.Rows, Result.Rejected, or
// counted in Result.Blank.
//
// progress, when not nil, is called with the number of data rows done
// every 1000 rows and once at the end, on Parse's goroutine; it should
// return quickly (draw a bar), since parsing waits for it.
func Parse(r io.Reader, opts Options, progress func(rowsDone int)) (Result, error) {
	lang := "zh"
	if opts.Lang != "" && !isZh(opts.Lang) {
		lang = "en"
	}
	if opts.Today.IsZero() {
		return Result{}, fmt.Errorf("%w: Today is not set", ErrOptions)
	}
	if opts.MaxRows < 0 {
		return Result{}, fmt.Errorf("%w: MaxRows %d is negative", ErrOptions, opts.MaxRows)
	}
	if opts.MaxRows == 0 {
		opts.MaxRows = DefaultMaxRows
	}

	raw, err := io.ReadAll(r)
	if err != nil {
		return Result{}, fmt.Errorf("roster: read: %w", err)
	}
	text, enc, err := decode(raw, lang)
	if err != nil {
		return Result{}, err
	}

	cr := csv.NewReader(strings.NewReader(text))
	cr.FieldsPerRecord = -1 // counts are checked here, so one bad line does not stop the file
	cr.ReuseRecord = true

	header, err := cr.Read()
	if err != nil {
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return Result{}, fmt.Errorf("%w: %s", ErrNoHeader, msg(lang,
				fmt.Sprintf("第%d行（列名行）不是有效的CSV：%v", pe.StartLine, pe.Err),
				fmt.Sprintf("line %d (the header) is not valid CSV: %v", pe.StartLine, pe.Err)))
		}
		if errors.Is(err, io.EOF) {
			return Result{}, fmt.Errorf("%w: %s", ErrNoHeader, msg(lang, "文件是空的。", "the file is empty."))
		}
		return Result{}, fmt.Errorf("roster: read header: %w", err)
	}
	headerLine, _ := cr.FieldPos(0)
	header = append([]string(nil), header...)
	cm, columns, ignored, err := mapHeader(header, headerLine, lang)
	if err != nil {
		return Result{}, err
	}

	res := Result{Columns: columns, Ignored: ignored, Encoding: enc}
	// Rows are large; sizing them by the line count once saves copying
	// them over and over as the slice grows.
	res.Rows = make([]Row, 0, min(strings.Count(text, "\n")+1, opts.MaxRows))
	seenID := map[string]int{}   // normalised ID number -> first line
	seenCard := map[string]int{} // normalised card number -> first line
	done := 0
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		done++
		if done > opts.MaxRows {
			return Result{}, fmt.Errorf("%w: %s", ErrTooManyRows, msg(lang,
				fmt.Sprintf("文件超过%d行数据，请分成几个文件导入。", opts.MaxRows),
				fmt.Sprintf("the file has more than %d data rows; split it into several files.", opts.MaxRows)))
		}
		if err != nil {
			var pe *csv.ParseError
			if !errors.As(err, &pe) {
				return Result{}, fmt.Errorf("roster: read: %w", err)
			}
			res.Rejected = append(res.Rejected, Rejected{
				Line:     pe.StartLine,
				Problems: []care.Problem{malformed(pe)},
				Raw:      append([]string(nil), rec...),
			})
		} else {
			line, _ := cr.FieldPos(0)
			res.add(rowOf(rec, line, cm, opts.Today, seenID, seenCard))
		}
		if progress != nil && done%progressEvery == 0 {
			progress(done)
		}
	}
	if progress != nil {
		progress(done)
	}
	return res, nil
}

// outcome is one data row's fate.
type outcome struct {
	row      *Row
	rejected *Rejected
	blank    bool
}

func (res *Result) add(o outcome) {
	switch {
	case o.blank:
		res.Blank++
	case o.row != nil:
		res.Rows = append(res.Rows, *o.row)
	default:
		res.Rejected = append(res.Rejected, *o.rejected)
	}
}

// rowOf builds, normalises and validates one well-formed CSV record.
func rowOf(rec []string, line int, cm columnMap, today time.Time, seenID, seenCard map[string]int) outcome {
	if allEmpty(rec) {
		return outcome{blank: true}
	}
	reject := func(ps ...care.Problem) outcome {
		return outcome{rejected: &Rejected{Line: line, Problems: ps, Raw: append([]string(nil), rec...)}}
	}
	if len(rec) < cm.width || !allEmpty(rec[cm.width:]) {
		return reject(fieldCount(len(rec), cm.width))
	}

	var in care.PatientInput
	get := func(f string) string {
		if i, ok := cm.single[f]; ok {
			return rec[i]
		}
		return ""
	}
	in.Name = get(FieldName)
	in.Sex = get(FieldSex)
	in.BirthDate = get(FieldBirthDate)
	in.IDNumber = get(FieldIDNumber)
	in.Address = get(FieldAddress)
	in.Occupation = get(FieldOccupation)
	in.MaritalStatus = get(FieldMaritalStatus)
	in.CardNumber = get(FieldCardNumber)
	in.History = get(FieldHistory)
	in.FamilyHistory = get(FieldFamilyHistory)
	in.Notes = get(FieldNotes)
	for _, i := range cm.phones {
		in.Phones = append(in.Phones, splitPhones(rec[i])...)
	}

	// Excel shows a long number typed into a General cell as 4.40106E+17
	// and saves it so: the digits are gone, and only the clerk can
	// restore them. Say so rather than "the ID has 11 characters".
	var ps []care.Problem
	if excelNumber(in.IDNumber) {
		ps = append(ps, excelProblem(FieldIDNumber, "身份证号", "ID number"))
		in.IDNumber = ""
	}
	kept := in.Phones[:0]
	excelPhone := false
	for _, p := range in.Phones {
		if excelNumber(p) {
			excelPhone = true
			continue
		}
		kept = append(kept, p)
	}
	in.Phones = kept
	if excelPhone {
		ps = append(ps, excelProblem(FieldPhones, "电话号码", "phone number"))
	}

	in = in.Normalize()
	if err := in.Validate(today); err != nil {
		var ve *care.ValidationError
		if errors.As(err, &ve) {
			ps = append(ps, ve.Problems...)
		} else {
			ps = append(ps, care.Problem{Code: CodeInternal, En: "The row could not be checked: " + err.Error(), Zh: "无法检查此行：" + err.Error()})
		}
	}
	if in.IDNumber != "" {
		if first, ok := seenID[in.IDNumber]; ok {
			ps = append(ps, duplicateOf(FieldIDNumber, first, "身份证号", "ID number"))
		} else {
			seenID[in.IDNumber] = line
		}
	}
	if in.CardNumber != "" {
		if first, ok := seenCard[in.CardNumber]; ok {
			ps = append(ps, duplicateOf(FieldCardNumber, first, "就诊卡号", "card number"))
		} else {
			seenCard[in.CardNumber] = line
		}
	}
	if len(ps) > 0 {
		return reject(ps...)
	}
	return outcome{row: &Row{Line: line, Patient: in}}
}

// decode returns the file as UTF-8 text. A UTF-8 byte order mark decides
// UTF-8 (invalid bytes then become U+FFFD, and the rows holding them are
// refused by validation); otherwise valid UTF-8 is UTF-8, and anything
// else is read as GB18030, the superset of GBK and GB2312 that Excel on
// Chinese Windows writes.
func decode(b []byte, lang string) (string, string, error) {
	if bytes.HasPrefix(b, []byte{0xEF, 0xBB, 0xBF}) {
		return string(bytes.ToValidUTF8(b[3:], []byte("\uFFFD"))), EncodingUTF8BOM, nil
	}
	if bytes.HasPrefix(b, []byte{0xFF, 0xFE}) || bytes.HasPrefix(b, []byte{0xFE, 0xFF}) {
		return "", "", fmt.Errorf("%w: %s", ErrEncoding, msg(lang,
			"文件是UTF-16编码（Excel的“Unicode文本”），请在Excel中另存为“CSV UTF-8（逗号分隔）”或“CSV（逗号分隔）”。",
			`the file is UTF-16 (Excel's "Unicode Text"); save it from Excel as "CSV UTF-8 (Comma delimited)" or "CSV (Comma delimited)".`))
	}
	if utf8.Valid(b) {
		return string(b), EncodingUTF8, nil
	}
	// The GB18030 decoder writes U+FFFD for bytes it cannot read and does
	// not fail on them.
	out, err := simplifiedchinese.GB18030.NewDecoder().Bytes(b)
	if err != nil {
		return "", "", fmt.Errorf("%w: GB18030: %w", ErrEncoding, err)
	}
	return string(out), EncodingGB18030, nil
}

// splitPhones splits a cell holding several numbers ("138…/0755-…").
func splitPhones(s string) []string {
	parts := strings.FieldsFunc(s, func(r rune) bool {
		switch r {
		case '/', '／', ';', '；', ',', '，', '、', '|':
			return true
		}
		return false
	})
	out := parts[:0]
	for _, p := range parts {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// excelNumber reports whether s looks like Excel's scientific notation of
// a long number: 4.40106E+17, 1.38123e+10.
func excelNumber(s string) bool {
	s = strings.TrimSpace(s)
	mant, exp, ok := strings.Cut(strings.ToUpper(s), "E+")
	if !ok || mant == "" || exp == "" || !digits(exp) {
		return false
	}
	ip, fp, _ := strings.Cut(mant, ".")
	return ip != "" && digits(ip) && (fp == "" || digits(fp))
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func allEmpty(rec []string) bool {
	for _, f := range rec {
		if strings.TrimSpace(f) != "" {
			return false
		}
	}
	return true
}

func msg(lang, zh, en string) string {
	if lang == "zh" {
		return zh
	}
	return en
}

func malformed(pe *csv.ParseError) care.Problem {
	what, whatZh := "a quote (\") is out of place", "引号（\"）位置不对"
	if errors.Is(pe.Err, csv.ErrBareQuote) {
		what, whatZh = "a quote (\") appears inside a field that does not start with one", "未用引号括起的内容中出现了引号（\"）"
	}
	return care.Problem{
		Code: CodeMalformed,
		En:   fmt.Sprintf("Line %d is not valid CSV: %s; fix it in a text editor, or retype the cell in Excel.", pe.Line, what),
		Zh:   fmt.Sprintf("第%d行不是有效的CSV：%s，请用文本编辑器修改，或在Excel中重新输入该单元格。", pe.Line, whatZh),
	}
}

func fieldCount(got, want int) care.Problem {
	return care.Problem{
		Code: CodeFieldCount,
		En:   fmt.Sprintf("This row has %d fields but the header has %d; a comma may be missing or extra.", got, want),
		Zh:   fmt.Sprintf("此行有%d列，列名行有%d列，可能多了或少了逗号。", got, want),
	}
}

func duplicateOf(field string, first int, zh, en string) care.Problem {
	return care.Problem{
		Field: field,
		Code:  CodeDuplicateOf,
		En:    fmt.Sprintf("The %s is the same as on line %d (duplicate of line %d); a patient should appear once.", en, first, first),
		Zh:    fmt.Sprintf("%s与第%d行相同（重复），同一患者只能出现一次。", zh, first),
	}
}

func excelProblem(field, zh, en string) care.Problem {
	return care.Problem{
		Field: field,
		Code:  CodeExcelNumber,
		En:    fmt.Sprintf("Excel turned the %s into a number like 1.23E+17 and its digits are lost; format the column as Text in Excel and type it again.", en),
		Zh:    fmt.Sprintf("%s被Excel变成了科学计数法（如1.23E+17），数字已丢失；请在Excel中把该列设为“文本”格式后重新输入。", zh),
	}
}
