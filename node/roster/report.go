package roster

import (
	"fmt"
	"strings"
)

// Report returns a summary of res for the clerk, in lang ("zh…" for
// Chinese, anything else English): how many rows are accepted and
// rejected, the columns ignored, and each rejected line with its
// problems. It quotes no field values (they are personal data and a
// report may be logged); the line numbers are the rows' numbers in Excel
// when no cell spans several lines.
func Report(res Result, lang string) string {
	zh := isZh(lang)
	var b strings.Builder
	if zh {
		fmt.Fprintf(&b, "可导入%d行，拒绝%d行", len(res.Rows), len(res.Rejected))
		if res.Blank > 0 {
			fmt.Fprintf(&b, "，跳过空行%d行", res.Blank)
		}
		if res.Encoding != "" {
			fmt.Fprintf(&b, "（文件编码：%s）", res.Encoding)
		}
		b.WriteString("。\n")
		if len(res.Ignored) > 0 {
			fmt.Fprintf(&b, "未使用的列：%s\n", strings.Join(quoteAll(res.Ignored), "、"))
		}
		if len(res.Rejected) > 0 {
			b.WriteString("被拒绝的行：\n")
		}
		for _, r := range res.Rejected {
			fmt.Fprintf(&b, "  第%d行：", r.Line)
			for _, p := range r.Problems {
				b.WriteString(p.Zh)
			}
			b.WriteByte('\n')
		}
		return b.String()
	}
	fmt.Fprintf(&b, "%d %s accepted, %d rejected", len(res.Rows), plural(len(res.Rows), "row", "rows"), len(res.Rejected))
	if res.Blank > 0 {
		fmt.Fprintf(&b, ", %d blank skipped", res.Blank)
	}
	if res.Encoding != "" {
		fmt.Fprintf(&b, " (file encoding: %s)", res.Encoding)
	}
	b.WriteString(".\n")
	if len(res.Ignored) > 0 {
		fmt.Fprintf(&b, "Columns ignored: %s\n", strings.Join(quoteAll(res.Ignored), ", "))
	}
	if len(res.Rejected) > 0 {
		b.WriteString("Rejected rows:\n")
	}
	for _, r := range res.Rejected {
		fmt.Fprintf(&b, "  line %d:", r.Line)
		for _, p := range r.Problems {
			b.WriteByte(' ')
			b.WriteString(p.En)
		}
		b.WriteByte('\n')
	}
	return b.String()
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
