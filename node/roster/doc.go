// Package roster reads a clinic's existing patient roster, a CSV file
// exported from Excel or another system, into care.PatientInput values:
// the parsing and checking behind `carenode patient import --dir DIR --csv
// FILE`. It is pure: it reads an io.Reader, reads no clock (Options.Today)
// and stores nothing; the caller decides whether to import the accepted
// rows (all or nothing unless --skip-bad-rows) and prints Report.
//
//	res, err := roster.Parse(f, roster.DefaultOptions(today), bar.Set)
//	if err != nil { … }           // the file as a whole is unusable
//	fmt.Print(roster.Report(res, lang))
//	if len(res.Rejected) > 0 && !skipBad { … }
//
// # Encoding
//
// Excel on Chinese Windows saves "CSV (Comma delimited)" in GBK, and "CSV
// UTF-8" with a byte order mark. Parse reads the whole file, then: a UTF-8
// byte order mark means UTF-8; otherwise bytes that are valid UTF-8 are
// UTF-8; anything else is decoded as GB18030 (a superset of GBK and
// GB2312). Chinese text in GBK is almost never valid UTF-8, but a short
// file whose only Chinese is a handful of characters such as 联通 can be;
// it would then be misread, and its header would not match, so the file
// is refused with the headers listed, never imported garbled. UTF-16
// (Excel's "Unicode Text") is refused with ErrEncoding and a sentence
// saying how to save the file instead.
//
// # Header
//
// The first non-empty line names the columns. Headers are matched in
// Chinese or English, ignoring case, spaces, underscores, hyphens and a
// trailing * (姓名, Name, birth_date, 出生日期*). Phones may take several
// columns (电话, 手机, phone 2 …) and a cell may hold several numbers
// separated by / ; , or 、; they become PatientInput.Phones in order. A
// missing name, sex or birth-date column, or two columns meaning the same
// field, stops Parse with a *HeaderError (errors.Is ErrHeader) before any
// row, naming the headers found. Other headers are ignored and listed in
// Result.Ignored, so the clerk sees what was not imported.
//
// # Rows
//
// Each row is normalised and validated by care (the same rules as the
// API, with Options.Today); a row with problems goes to Result.Rejected
// with its line number (1-based, counting the header and any line a
// multi-line cell takes, so it is the line where the row starts) and every
// problem, in both languages. Warnings alone do not reject. Besides care's
// checks, Parse rejects:
//   - a line that is not valid CSV (a stray quote; quotes are never read
//     leniently, since a lenient read silently shifts columns), and goes
//     on with the next line as far as encoding/csv can resynchronise;
//   - a line with fewer fields than the header, or more non-empty ones
//     (trailing empty fields are tolerated: Excel writes them);
//   - a second row with an ID number or card number already seen in the
//     file ("duplicate of line N"; the first is kept, whatever else is
//     wrong with it, so fixing it does not create a new duplicate);
//   - an ID number or phone that Excel has turned into 4.40106E+17, with
//     a sentence telling the clerk to format the column as Text.
//
// Rows whose fields are all empty are counted in Result.Blank and skipped.
// So when Parse returns no error, every data row is in exactly one of
// Rows, Rejected and Blank. More than Options.MaxRows data rows
// (DefaultMaxRows, 200 000) is ErrTooManyRows.
//
// Messages never quote a field's value (personal data); Rejected.Raw
// keeps the fields for a caller that writes the bad rows back out.
package roster
