package care

import (
	"math"
	"strconv"
	"strings"
)

// Lang picks the language of the messages for a request from its
// Accept-Language header: "zh" or "en", the two the node speaks.
//
// The languages are tried in the order of their q-values (RFC 9110,
// section 12.5.4; equal q-values in the order written). The first that is
// Chinese (zh, zh-CN, zh-Hans, zh-TW … — Traditional readers get
// Simplified, which they read better than English) or English (en, en-US
// …) wins; q=0 means "not this one". A header that is absent, empty,
// unparsable, "*" or names neither language gives "zh": the node runs in
// Chinese clinics, and the person in front of a kiosk or desk whose
// software sent no header reads Chinese.
func Lang(acceptLanguage string) string {
	const def = "zh"
	if len(acceptLanguage) > 4096 {
		acceptLanguage = acceptLanguage[:4096] // no real header is longer
	}
	best, bestQ := "", -1.0
	for i, part := range strings.Split(acceptLanguage, ",") {
		if i >= 64 {
			break
		}
		tag, params, _ := strings.Cut(part, ";")
		tag = strings.ToLower(strings.TrimSpace(tag))
		q := 1.0
		if params != "" {
			var ok bool
			if q, ok = qValue(params); !ok {
				continue
			}
		}
		var lang string
		switch {
		case tag == "zh" || strings.HasPrefix(tag, "zh-"):
			lang = "zh"
		case tag == "en" || strings.HasPrefix(tag, "en-"):
			lang = "en"
		default:
			continue // "*" and other languages: the default decides
		}
		if q > 0 && q > bestQ {
			best, bestQ = lang, q
		}
	}
	if best == "" {
		return def
	}
	return best
}

// qValue reads the q parameter of one Accept-Language element. Other
// parameters are ignored; a malformed q makes the element unusable.
func qValue(params string) (float64, bool) {
	for _, p := range strings.Split(params, ";") {
		k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
		if !ok || !strings.EqualFold(strings.TrimSpace(k), "q") {
			continue
		}
		q, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil || math.IsNaN(q) || q < 0 || q > 1 {
			return 0, false
		}
		return q, true
	}
	return 1, true
}

// isZh reports whether lang asks for Chinese: "zh", or any tag starting
// with it.
func isZh(lang string) bool {
	lang = strings.ToLower(strings.TrimSpace(lang))
	return lang == "zh" || strings.HasPrefix(lang, "zh-") || strings.HasPrefix(lang, "zh_")
}
