package education

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"carenode/node/care"
	"carenode/node/icd10"
)

// Text is a text in both languages.
type Text struct {
	Zh string `json:"zh"`
	En string `json:"en"`
}

// Article is one piece of the library.
type Article struct {
	// ID is 2-40 lower-case letters, digits and '-'.
	ID      string `json:"id"`
	Title   Text   `json:"title"`
	Summary Text   `json:"summary"`
	// Body is the article in Markdown.
	Body Text `json:"body"`
	// SMS is the text pushed to the patient, one message long in Chinese.
	SMS Text `json:"sms"`
	// Source names the guidance the article follows.
	Source string `json:"source"`
	// Conditions are ICD-10 categories or category ranges ("I10",
	// "E10-E14"); empty means the article is for everyone its age and sex
	// fit.
	Conditions []string `json:"conditions,omitempty"`
	// AgeMin and AgeMax bound the age in whole years, inclusive; nil is
	// unbounded.
	AgeMin *int `json:"ageMin,omitempty"`
	AgeMax *int `json:"ageMax,omitempty"`
	// Sex is "male" or "female" for an article for one sex only.
	Sex string `json:"sex,omitempty"`
	// Shipped is true for the articles built into the binary.
	Shipped bool `json:"shipped"`
	// AddedBy is the account that added a stored article.
	AddedBy string `json:"addedBy,omitempty"`
}

// Limits on an article.
const (
	MaxIDLen      = 40
	MaxTitleRunes = 100
	MaxBodyRunes  = 20000
	// MaxSMSRunes is about two SMS segments of Chinese text (67 UCS-2
	// characters each when joined), MaxSMSRunesEn two of English (153
	// GSM characters each): a push must stay short.
	MaxSMSRunes   = 140
	MaxSMSRunesEn = 300
	MaxBodyBytes  = 256 << 10
)

// DecodeArticle reads an article body strictly.
func DecodeArticle(body []byte) (Article, error) {
	var a Article
	if err := care.DecodeStrict(body, &a, MaxBodyBytes, care.Noun{En: "article", Zh: "文章"}); err != nil {
		return Article{}, err
	}
	return a, nil
}

// Validate lists everything wrong with a, and normalises its condition
// codes ("i10 - i15" becomes "I10-I15").
func (a *Article) Validate() error {
	var ps []care.Problem
	add := func(field, code, en, zh string) {
		ps = append(ps, care.Problem{Field: field, Code: code, En: en, Zh: zh})
	}
	a.ID = strings.TrimSpace(a.ID)
	switch {
	case a.ID == "":
		add("id", care.CodeRequired, "Give the article an id, such as asthma-inhaler.", "请填写文章编号，例如 asthma-inhaler。")
	case !validID(a.ID):
		add("id", care.CodeBadChar, fmt.Sprintf("An article id is 2-%d lower-case letters, digits and '-'.", MaxIDLen),
			fmt.Sprintf("文章编号为 2–%d 个小写字母、数字或“-”。", MaxIDLen))
	}
	texts := []struct {
		field  string
		t      *Text
		en, zh string
		max    int
		maxEn  int
	}{
		{"title", &a.Title, "title", "标题", MaxTitleRunes, MaxTitleRunes},
		{"summary", &a.Summary, "summary", "摘要", 500, 1000},
		{"body", &a.Body, "body", "正文", MaxBodyRunes, MaxBodyRunes},
		{"sms", &a.SMS, "SMS text", "短信内容", MaxSMSRunes, MaxSMSRunesEn},
	}
	for _, tx := range texts {
		for _, l := range []struct {
			lang, en, zh string
			s            *string
			max          int
		}{{"zh", "Chinese", "中文", &tx.t.Zh, tx.max}, {"en", "English", "英文", &tx.t.En, tx.maxEn}} {
			*l.s = strings.TrimSpace(*l.s)
			field := tx.field + "." + l.lang
			n := utf8.RuneCountInString(*l.s)
			switch {
			case n == 0:
				add(field, care.CodeRequired, fmt.Sprintf("Write the %s in %s.", tx.en, l.en), fmt.Sprintf("请填写%s%s。", l.zh, tx.zh))
			case n > l.max:
				add(field, care.CodeTooLong, fmt.Sprintf("The %s in %s is %d characters long; at most %d fit.", tx.en, l.en, n, l.max),
					fmt.Sprintf("%s%s有 %d 个字，最多 %d 个字。", l.zh, tx.zh, n, l.max))
			case !printable(*l.s):
				add(field, care.CodeBadChar, fmt.Sprintf("The %s in %s holds control characters or broken text.", tx.en, l.en),
					fmt.Sprintf("%s%s中含有控制字符或乱码。", l.zh, tx.zh))
			}
		}
	}
	a.Source = strings.TrimSpace(a.Source)
	if a.Source == "" {
		add("source", care.CodeRequired, "Name the guidance the article follows (source).", "请注明文章依据的指南或资料来源。")
	} else if utf8.RuneCountInString(a.Source) > 500 || !printable(a.Source) {
		add("source", care.CodeTooLong, "The source must be at most 500 characters of plain text.", "来源最多 500 个字，且不能含控制字符。")
	}
	for i, c := range a.Conditions {
		from, to, ok := parseRange(c)
		if !ok {
			add(fmt.Sprintf("conditions[%d]", i), care.CodeICD10Malformed,
				"A condition is an ICD-10 category (I10) or a range of them (E10-E14).", "适用疾病须为 ICD-10 类目（如 I10）或类目范围（如 E10-E14）。")
			continue
		}
		if from == to {
			a.Conditions[i] = from
		} else {
			a.Conditions[i] = from + "-" + to
		}
	}
	for _, age := range []struct {
		field string
		v     *int
	}{{"ageMin", a.AgeMin}, {"ageMax", a.AgeMax}} {
		if age.v != nil && (*age.v < 0 || *age.v > 150) {
			add(age.field, "age_range", "An age is 0 to 150 years.", "年龄须为 0–150 岁。")
		}
	}
	if a.AgeMin != nil && a.AgeMax != nil && *a.AgeMin > *a.AgeMax {
		add("ageMax", "age_range", "The upper age is below the lower one.", "年龄上限低于下限。")
	}
	switch a.Sex {
	case "", care.SexMale, care.SexFemale:
	default:
		add("sex", care.CodeNotInList, "Sex is male, female, or left out for both.", "性别须为 male（男）或 female（女），不限则不填。")
	}
	if len(ps) == 0 {
		return nil
	}
	return &care.ValidationError{Problems: ps}
}

// parseRange reads "I10" or "I10-I15" into canonical categories.
func parseRange(s string) (from, to string, ok bool) {
	f, t, isRange := strings.Cut(s, "-")
	if !isRange {
		t = f
	}
	from, err1 := icd10.Normalize(f)
	to, err2 := icd10.Normalize(t)
	if err1 != nil || err2 != nil || len(from) != 3 || len(to) != 3 || to < from {
		return "", "", false
	}
	return from, to, true
}

func validID(id string) bool {
	if len(id) < 2 || len(id) > MaxIDLen || id[0] == '-' {
		return false
	}
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// printable reports whether s is valid UTF-8 without control characters
// other than line breaks and tabs.
func printable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, c := range s {
		if unicode.IsControl(c) && c != '\n' && c != '\r' && c != '\t' {
			return false
		}
	}
	return true
}
