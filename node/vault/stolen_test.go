package vault

import (
	"bytes"
	"encoding/json"
	"fmt"
	"testing"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/encoding/unicode"
)

// stolenPatients are the values a thief must not find.
var stolenPatients = []struct {
	name, pinyin, phone, idNumber, card, address, note string
}{
	{"张三", "zhangsan", "13800138000", "11010519491231002X", "C000123", "北京市朝阳区建国路88号", "高血压病史十年"},
	{"李四", "lisi", "13912345678", "440524188001010014", "C000456", "广东省汕头市潮阳区", "糖尿病，胰岛素依赖"},
	{"欧阳娜娜", "ouyangnana", "15800001111", "320106197703150427", "C000789", "江苏省南京市鼓楼区", "青霉素过敏"},
}

// needles returns every byte string under which s could be found on disk:
// UTF-8, GB18030 (what older Chinese Windows software writes), and UTF-16
// in both byte orders.
func needles(t *testing.T, s string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{"UTF-8": []byte(s)}
	for name, enc := range map[string]encoding.Encoding{
		"GB18030":  simplifiedchinese.GB18030,
		"UTF-16LE": unicode.UTF16(unicode.LittleEndian, unicode.IgnoreBOM),
		"UTF-16BE": unicode.UTF16(unicode.BigEndian, unicode.IgnoreBOM),
	} {
		b, err := enc.NewEncoder().Bytes([]byte(s))
		if err != nil {
			t.Fatal(err)
		}
		out[name] = b
	}
	return out
}

// TestStolenFile seals the personal fields of known patients the way a node
// stores them (record state and change log hold the same sealed bytes,
// tokens index the exact-match fields, the staff and kiosk wraps sit beside
// them), then searches the bytes as a thief would for every name, pinyin,
// phone, ID number, card number, address and note, in UTF-8, GB18030 and
// UTF-16. The same search over a plaintext store written in each encoding
// proves that it finds them when they are there.
func TestStolenFile(t *testing.T) {
	v := newAdminVault(t, newKey(t, 1))
	if _, _, err := v.AddKeyFile("kiosk-1"); err != nil {
		t.Fatal(err)
	}
	s := mustSealer(t, v)

	var stolen bytes.Buffer
	plain := map[string]*bytes.Buffer{} // by encoding: the control
	store := func(collection, record, field string, value []byte) {
		aad := FieldAAD(collection, record, field)
		sealed := mustSeal(t, s, value, aad)
		// Collection, record id and field name are not secret.
		key := fmt.Sprintf("%s/%s/%s=", collection, record, field)
		// Once in record state, once in the change log.
		for range 2 {
			stolen.WriteString(key)
			stolen.Write(sealed)
		}
		for enc, b := range needles(t, string(value)) {
			if plain[enc] == nil {
				plain[enc] = new(bytes.Buffer)
			}
			plain[enc].WriteString(key)
			plain[enc].Write(b)
		}
	}
	for i, p := range stolenPatients {
		id := fmt.Sprintf("p-%d", i)
		phones, _ := json.Marshal([]string{p.phone})
		store("patients", id, "name", []byte(p.name))
		store("patients", id, "phones", phones)
		store("patients", id, "idNumber", []byte(p.idNumber))
		store("patients", id, "card", []byte(p.card))
		store("patients", id, "address", []byte(p.address))
		store("patients", id, "notes", []byte(p.note))
		// A plaintext node would keep a pinyin index on disk; a sealed
		// node builds it in memory at unlock and stores nothing.
		for enc, b := range needles(t, p.pinyin) {
			plain[enc].WriteString("index/pinyin/")
			plain[enc].Write(b)
		}
		for _, tok := range [][2]string{{TokenPhone, p.phone}, {TokenIDNumber, p.idNumber}, {TokenCard, p.card}} {
			b, err := s.Token(tok[0], tok[1])
			if err != nil {
				t.Fatal(err)
			}
			stolen.WriteString("index/" + tok[0] + "/")
			stolen.Write(b)
		}
	}
	for _, w := range v.Wraps() {
		b, err := w.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		stolen.Write(b)
	}

	for _, p := range stolenPatients {
		for _, secret := range []string{p.name, p.pinyin, p.phone, p.idNumber, p.card, p.address, p.note} {
			for enc, n := range needles(t, secret) {
				if !bytes.Contains(plain[enc].Bytes(), n) {
					t.Fatalf("control: %q in %s not found in the plaintext store; the search is broken", secret, enc)
				}
				if bytes.Contains(stolen.Bytes(), n) {
					t.Errorf("%q in %s is readable in the stolen file", secret, enc)
				}
			}
		}
	}
	if t.Failed() {
		return
	}
	// The control must exercise GB18030 for real: it differs from UTF-8.
	if n := needles(t, "张三"); bytes.Equal(n["GB18030"], n["UTF-8"]) {
		t.Fatal("GB18030 needle equals UTF-8")
	}
}
