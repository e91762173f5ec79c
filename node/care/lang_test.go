package care

import "testing"

func TestLang(t *testing.T) {
	for header, want := range map[string]string{
		"":                               "zh",
		"zh-CN":                          "zh",
		"zh-CN,zh;q=0.9,en;q=0.8":        "zh",
		"en":                             "en",
		"en-US,en;q=0.9":                 "en",
		"EN-gb":                          "en",
		"en;q=0.5, zh;q=0.8":             "zh",
		"zh;q=0.3,en;q=0.7":              "en",
		"fr-FR,fr;q=0.9,en;q=0.8":        "en",
		"fr-FR,de":                       "zh",
		"*":                              "zh",
		"en;q=0":                         "zh",
		"zh;q=0, en;q=0.1":               "en",
		"zh-TW":                          "zh",
		"zh-Hant-HK;q=0.9, en;q=0.9":     "zh", // equal q: the first written
		"en;q=abc, zh;q=0.1":             "zh", // a malformed q discards its element
		"en;q=2":                         "zh",
		"english":                        "zh",
		"en ; q = 0.9 , zh ; q = 0.8":    "en",
		"en;level=1":                     "en",
		",,;q=1,":                        "zh",
		"zh-CN;q=0.8,en-US;q=0.80000001": "en",
	} {
		if got := Lang(header); got != want {
			t.Errorf("Lang(%q) = %q, want %q", header, got, want)
		}
	}
}
