package tablegen

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// base is a consistent little source set; each case changes one file.
var base = map[string]string{
	"categories.tsv": "E11\tType 2 diabetes mellitus\nK57\tDiverticular disease of intestine\nI10\tEssential (primary) hypertension\n",
	"codes.tsv":      "E119    Type 2 diabetes mellitus without complications\nE11311  Type 2 diabetes mellitus with unspecified diabetic retinopathy with macular edema\nI10     Essential (primary) hypertension\n",
	"extra.tsv":      "# comment\nE14\tDiabetes mellitus, type not specified\t未特指的糖尿病\nE113\tType 2 diabetes mellitus with eye complications\t2型糖尿病伴眼部并发症\n",
	"zh.tsv":         "E11\t2型糖尿病\nE119\t2型糖尿病不伴并发症\n",
}

func write(t *testing.T, change map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, text := range base {
		if c, ok := change[name]; ok {
			text = c
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestBuild(t *testing.T) {
	out, st, err := Build(write(t, nil))
	if err != nil {
		t.Fatal(err)
	}
	want := "# carenode icd10 table; source: " + Release + "; entries: 7\n" +
		"E11\tck\tType 2 diabetes mellitus\t2型糖尿病\n" +
		"E113\tp\tType 2 diabetes mellitus with eye complications\t2型糖尿病伴眼部并发症\n" +
		"E11311\t-\tType 2 diabetes mellitus with unspecified diabetic retinopathy with macular edema\t\n" +
		"E119\t-\tType 2 diabetes mellitus without complications\t2型糖尿病不伴并发症\n" +
		"E14\tckp\tDiabetes mellitus, type not specified\t未特指的糖尿病\n" +
		"I10\tck\tEssential (primary) hypertension\t\n" +
		"K57\tc\tDiverticular disease of intestine\t\n"
	if string(out) != want {
		t.Errorf("Build =\n%s\nwant\n%s", out, want)
	}
	if st.Categories != 4 || st.Complete != 3 || st.Subcodes != 3 || st.ProjectEntries != 2 || st.ChineseTitles != 4 || st.AddedCategories != 1 {
		t.Errorf("Stats = %+v", st)
	}
}

func TestBuildRefuses(t *testing.T) {
	tests := []struct {
		name   string
		change map[string]string
		want   string
	}{
		{"duplicate category", map[string]string{"categories.tsv": base["categories.tsv"] + "E11\tAgain\n"}, "listed twice"},
		{"bad category", map[string]string{"categories.tsv": "E1\tShort\n"}, "not a three-character category"},
		{"duplicate code", map[string]string{"codes.tsv": base["codes.tsv"] + "E119    Again\n"}, "listed twice"},
		{"code without category", map[string]string{"codes.tsv": "J449    Chronic obstructive pulmonary disease, unspecified\n"}, "has no category"},
		{"code without title", map[string]string{"codes.tsv": "E119\n"}, "malformed line"},
		{"extra replaces ICD-10-CM", map[string]string{"extra.tsv": "E119\tMine\t我的\n"}, "already in the ICD-10-CM files"},
		{"extra in unshipped category", map[string]string{"extra.tsv": "K573\tMine\t我的\n"}, "not shipped"},
		{"extra not a heading", map[string]string{"extra.tsv": "E117\tMine\t我的\n"}, "neither a new code nor a heading"},
		{"extra placeholder heading", map[string]string{"extra.tsv": "E113X\tMine\t我的\n"}, "neither a new code nor a heading"},
		{"extra missing field", map[string]string{"extra.tsv": "E14\tNo Chinese\n"}, "malformed line"},
		{"zh for unknown code", map[string]string{"zh.tsv": "J44\t慢阻肺\n"}, "not in the table"},
		{"zh twice", map[string]string{"zh.tsv": "E11\t甲\nE11\t乙\n"}, "Chinese title already"},
		{"zh over extra", map[string]string{"zh.tsv": "E14\t另一个\n"}, "Chinese title already"},
		{"empty file", map[string]string{"zh.tsv": "# nothing\n"}, "no entries"},
	}
	for _, tt := range tests {
		_, _, err := Build(write(t, tt.change))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want it to mention %q", tt.name, err, tt.want)
		}
	}
	if _, _, err := Build(t.TempDir()); err == nil {
		t.Error("Build of an empty directory succeeded")
	}
}
