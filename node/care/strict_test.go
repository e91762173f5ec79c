package care

import (
	"errors"
	"strings"
	"testing"
)

func TestDecodeStrict(t *testing.T) {
	type body struct {
		Title string `json:"title"`
		Score int    `json:"score"`
	}
	noun := Noun{En: "article", Zh: "文章"}
	for _, tc := range []struct {
		in, code, field, en string
	}{
		{`{"title":"a","score":3}`, "", "", ""},
		{`{"title":"a","colour":"red"}`, CodeUnknownField, "colour", `An article has no field "colour".`},
		{`{"score":"three"}`, CodeWrongType, "score", "score has the wrong type (string)."},
		{`{"title":"a"} {}`, CodeBadJSON, "", "The article is not a JSON object."},
		{`[1]`, CodeBadJSON, "", "The article is not a JSON object."},
		{`null`, CodeBadJSON, "", "The article is not a JSON object."},
		{`{"title":"a","title":"b"}`, CodeDuplicate, "title", `The article has "title" twice; send it once.`},
		{`{"title":"` + strings.Repeat("x", 64) + `"}`, CodeTooLarge, "", "The article is larger than 60 bytes."},
	} {
		var b body
		err := DecodeStrict([]byte(tc.in), &b, 60, noun)
		if tc.code == "" {
			if err != nil || b.Title != "a" || b.Score != 3 {
				t.Errorf("%s: %+v, %v", tc.in, b, err)
			}
			continue
		}
		var ve *ValidationError
		if !errors.As(err, &ve) || len(ve.Problems) != 1 {
			t.Fatalf("%s: %v, want one problem", tc.in, err)
		}
		p := ve.Problems[0]
		if p.Code != tc.code || p.Field != tc.field || p.En != tc.en || !strings.Contains(p.Zh, "文章") && tc.field == "" {
			t.Errorf("%s: %+v, want %s %s %q", tc.in, p, tc.code, tc.field, tc.en)
		}
	}
}
