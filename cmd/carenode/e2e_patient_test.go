package main

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"unicode"

	"github.com/klauspost/compress/zstd"
	"golang.org/x/text/encoding/simplifiedchinese"
)

// idNumber makes a valid resident ID number (GB 11643-1999): area code,
// birth date YYYY-MM-DD, a three-digit sequence (odd: male) and the
// ISO 7064 MOD 11-2 check character.
func idNumber(area, birth, seq string) string {
	body := area + strings.ReplaceAll(birth, "-", "") + seq
	weights := []int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for i, w := range weights {
		sum += int(body[i]-'0') * w
	}
	return body + string("10X98765432"[sum%11])
}

// patientIn is the contract body of POST /api/v1/patients.
type patientIn struct {
	Name      string   `json:"name"`
	Sex       string   `json:"sex"`
	BirthDate string   `json:"birthDate"`
	IDNumber  string   `json:"idNumber,omitempty"`
	Phones    []string `json:"phones,omitempty"`
	Address   string   `json:"address,omitempty"`
}

// chartOut is the part of a chart the tests look at.
type chartOut struct {
	ID        string   `json:"id"`
	Name      string   `json:"name"`
	Sex       string   `json:"sex"`
	BirthDate string   `json:"birthDate"`
	IDNumber  string   `json:"idNumber"`
	Phones    []string `json:"phones"`
	Address   string   `json:"address"`
	Allergies []struct {
		ID, Substance, Reaction, Severity string
	} `json:"allergies"`
	Diagnoses []struct {
		ID, Code, Title, TitleZh string
	} `json:"diagnoses"`
	Medications []struct {
		ID, Name, Dose, Frequency string
	} `json:"medications"`
	Tags []struct {
		Tag, TagZh string
		Auto       bool
	} `json:"tags"`
}

func (c chartOut) allergyNames() []string {
	var out []string
	for _, a := range c.Allergies {
		out = append(out, a.Substance)
	}
	slices.Sort(out)
	return out
}

type searchOut struct {
	Patients []struct {
		ID, Name, Why string
	} `json:"patients"`
}

func (ss *session) search(t *testing.T, q string) []string {
	t.Helper()
	var out searchOut
	ss.must(t, http.MethodGet, "/api/v1/patients?q="+url.QueryEscape(q), nil, http.StatusOK, &out)
	var ids []string
	for _, p := range out.Patients {
		ids = append(ids, p.ID)
	}
	return ids
}

func (ss *session) register(t *testing.T, p patientIn) chartOut {
	t.Helper()
	var c chartOut
	ss.must(t, http.MethodPost, "/api/v1/patients", p, http.StatusCreated, &c)
	if c.ID == "" || c.Name != p.Name {
		t.Fatalf("registered %+v: answer %+v", p, c)
	}
	return c
}

func hasHan(s string) bool {
	return strings.ContainsFunc(s, func(r rune) bool { return unicode.Is(unicode.Han, r) })
}

type apiErr struct {
	Error struct {
		Code, Message, Zh string
		Problems          []struct{ Field, Code string }
	}
}

// TestPatientAPI: register with the contract body, read, search by name,
// pinyin, initials and phone digits, add an allergy, a diagnosis and a
// medication; bad input is a 400 in the request's language.
func TestPatientAPI(t *testing.T) {
	dir := initNodeAdmin(t, "desk")
	srv := startServe(t, dir)
	admin := srv.login(t, "admin", adminPassword)

	zsf := admin.register(t, patientIn{Name: "张三丰", Sex: "male", BirthDate: "1950-03-12", IDNumber: idNumber("420381", "1950-03-12", "013"),
		Phones: []string{"13812347788"}, Address: "湖北省十堰市丹江口市武当山镇"})
	li := admin.register(t, patientIn{Name: "李秀英", Sex: "female", BirthDate: "1956-03-08", IDNumber: idNumber("532503", "1956-03-08", "024"),
		Phones: []string{"13912345678"}, Address: "云南省红河州蒙自市文澜镇"})
	var got chartOut
	admin.must(t, http.MethodGet, "/api/v1/patients/"+zsf.ID, nil, http.StatusOK, &got)
	if got.Name != "张三丰" || got.IDNumber != idNumber("420381", "1950-03-12", "013") || !slices.Equal(got.Phones, []string{"13812347788"}) ||
		got.BirthDate != "1950-03-12" || got.Sex != "male" {
		t.Errorf("GET chart = %+v", got)
	}
	for _, q := range []string{"张三丰", "三丰", "zhangsanfeng", "zsf", "7788", "13812347788", idNumber("420381", "1950-03-12", "013")} {
		if ids := admin.search(t, q); len(ids) == 0 || ids[0] != zsf.ID || slices.Contains(ids, li.ID) {
			t.Errorf("search %q = %v, want %s first and not %s", q, ids, zsf.ID, li.ID)
		}
	}
	if ids := admin.search(t, "lxy"); !slices.Equal(ids, []string{li.ID}) {
		t.Errorf("search lxy = %v", ids)
	}
	var raw map[string][]map[string]any
	admin.must(t, http.MethodGet, "/api/v1/patients?q=zs", nil, http.StatusOK, &raw)
	if len(raw["patients"]) == 0 || raw["patients"][0]["id"] == nil || raw["patients"][0]["name"] == nil {
		t.Errorf("search answer %v lacks patients[].id and .name", raw)
	}

	admin.must(t, http.MethodPost, "/api/v1/patients/"+zsf.ID+"/allergies", map[string]string{"substance": "青霉素", "reaction": "皮疹", "severity": "severe"}, http.StatusCreated, nil)
	admin.must(t, http.MethodPost, "/api/v1/patients/"+zsf.ID+"/diagnoses", map[string]string{"code": "I10"}, http.StatusCreated, nil)
	admin.must(t, http.MethodPost, "/api/v1/patients/"+zsf.ID+"/medications", map[string]string{"name": "氨氯地平", "dose": "5 mg", "frequency": "qd"}, http.StatusCreated, nil)
	admin.must(t, http.MethodGet, "/api/v1/patients/"+zsf.ID, nil, http.StatusOK, &got)
	if len(got.Allergies) != 1 || got.Allergies[0].Substance != "青霉素" || got.Allergies[0].Severity != "severe" {
		t.Errorf("allergies %+v", got.Allergies)
	}
	if len(got.Diagnoses) != 1 || got.Diagnoses[0].Code != "I10" || got.Diagnoses[0].Title == "" {
		t.Errorf("diagnoses %+v", got.Diagnoses)
	}
	if len(got.Medications) != 1 || got.Medications[0].Name != "氨氯地平" {
		t.Errorf("medications %+v", got.Medications)
	}
	var tags []string
	for _, tg := range got.Tags {
		tags = append(tags, tg.Tag)
	}
	t.Logf("tags of 张三丰: %v", tags)

	// Bad input: 400, a message in Chinese by default and English on request.
	bad := []struct {
		name, path string
		body       any
	}{
		{"bad ID check character", "/api/v1/patients", patientIn{Name: "王五", Sex: "male", BirthDate: "1980-01-01",
			IDNumber: idNumber("110105", "1980-01-01", "011")[:17] + "0"}},
		{"impossible birth date", "/api/v1/patients", patientIn{Name: "王五", Sex: "male", BirthDate: "1980-02-30"}},
		{"phone that is not a phone", "/api/v1/patients", patientIn{Name: "王五", Sex: "male", BirthDate: "1980-01-01", Phones: []string{"12345"}}},
		{"wrong type", "/api/v1/patients", map[string]any{"name": 42, "sex": "male", "birthDate": "1980-01-01"}},
		{"oversized text", "/api/v1/patients", patientIn{Name: "王五", Sex: "male", BirthDate: "1980-01-01", Address: strings.Repeat("很长的地址", 100)}},
		{"unknown ICD-10 code", "/api/v1/patients/" + zsf.ID + "/diagnoses", map[string]string{"code": "K99"}},
	}
	for _, tc := range bad {
		for _, lang := range []string{"", "en"} {
			code, body := admin.do(t, http.MethodPost, tc.path, tc.body, "Accept-Language", lang)
			var e apiErr
			json.Unmarshal(body, &e)
			if code != http.StatusBadRequest || e.Error.Message == "" {
				t.Errorf("%s (lang %q): %d %s, want 400 with a message", tc.name, lang, code, body)
				continue
			}
			if zh := hasHan(e.Error.Message); zh != (lang == "") {
				t.Errorf("%s (lang %q): message %q in the wrong language", tc.name, lang, e.Error.Message)
			}
		}
	}
	admin.must(t, http.MethodGet, "/api/v1/patients/"+zsf.ID, nil, http.StatusOK, &got)
	if len(got.Diagnoses) != 1 {
		t.Errorf("an unknown code was stored: %+v", got.Diagnoses)
	}
	// A desk clerk may register but not read the audit trail; a kiosk may
	// not read charts.
	addUser(t, dir, "clerk", "desk", "desk-pass-123")
	addUser(t, dir, "kiosk1", "kiosk", "kiosk-pass-123")
	clerk := srv.login(t, "clerk", "desk-pass-123")
	kiosk := srv.login(t, "kiosk1", "kiosk-pass-123")
	clerk.must(t, http.MethodGet, "/api/v1/patients/"+li.ID, nil, http.StatusOK, nil)
	if code, body := clerk.do(t, http.MethodGet, "/api/v1/patients/"+li.ID+"/audit", nil); code != http.StatusForbidden {
		t.Errorf("desk reading the audit trail: %d %s", code, body)
	}
	if code, body := kiosk.do(t, http.MethodGet, "/api/v1/patients/"+li.ID, nil); code != http.StatusForbidden {
		t.Errorf("kiosk reading a chart: %d %s", code, body)
	}
	if code, body := clerk.do(t, http.MethodGet, "/api/v1/records/patients", nil); code != http.StatusForbidden {
		t.Errorf("desk using the generic record API: %d %s", code, body)
	}
	var audit struct{ Events []map[string]any }
	admin.must(t, http.MethodGet, "/api/v1/patients/"+li.ID+"/audit", nil, http.StatusOK, &audit)
	if len(audit.Events) < 2 {
		t.Errorf("audit of %s: %v", li.ID, audit.Events)
	}
	srv.cmd.Process.Signal(syscall.SIGTERM)
	srv.wait(t)
}

// TestStolenFiles: with the node stopped, neither its database file nor a
// backup holds any name, phone, ID number or address, in UTF-8 or GB18030,
// nor the names' pinyin; the birth date, which is not sealed, is there, so
// the search would find a value that was there. The node restarts locked.
func TestStolenFiles(t *testing.T) {
	dir := initNodeAdmin(t, "laptop")
	srv := startServe(t, dir)
	admin := srv.login(t, "admin", adminPassword)
	people := []struct {
		in     patientIn
		pinyin string
	}{
		{patientIn{Name: "张三丰", Sex: "male", BirthDate: "1950-03-12", IDNumber: idNumber("420381", "1950-03-12", "013"),
			Phones: []string{"13812347788"}, Address: "湖北省十堰市丹江口市武当山镇紫霄宫路8号"}, "zhangsanfeng"},
		{patientIn{Name: "欧阳娜娜", Sex: "female", BirthDate: "1961-07-15", IDNumber: idNumber("110105", "1961-07-15", "026"),
			Phones: []string{"13698765432"}, Address: "北京市朝阳区望京街道阜通东大街6号"}, "ouyangnana"},
		{patientIn{Name: "曾国藩", Sex: "male", BirthDate: "1941-11-26", IDNumber: idNumber("430103", "1941-11-26", "017"),
			Phones: []string{"15173190246"}, Address: "湖南省长沙市天心区坡子街35号"}, "zengguofan"},
	}
	var ids []string
	for _, p := range people {
		c := admin.register(t, p.in)
		ids = append(ids, c.ID)
		admin.must(t, http.MethodPost, "/api/v1/patients/"+c.ID+"/allergies", map[string]string{"substance": "头孢曲松钠", "reaction": "过敏性休克"}, http.StatusCreated, nil)
		admin.must(t, http.MethodGet, "/api/v1/patients/"+c.ID, nil, http.StatusOK, nil)
	}
	if got := admin.search(t, "zengguofan"); len(got) != 1 {
		t.Fatalf("search before stopping: %v", got)
	}
	hot := filepath.Join(t.TempDir(), "hot.cnbak")
	mustRun(t, "backup", "--dir", dir, "--out", hot)
	srv.cmd.Process.Signal(syscall.SIGTERM)
	if code := srv.wait(t); code != 0 {
		t.Fatalf("serve exit %d", code)
	}
	cold := filepath.Join(t.TempDir(), "cold.cnbak")
	mustRun(t, "backup", "--dir", dir, "--out", cold)

	gb := simplifiedchinese.GB18030.NewEncoder()
	secrets := map[string][]byte{}
	add := func(what, s string) {
		secrets[what+" "+s] = []byte(s)
		if hasHan(s) {
			b, err := gb.Bytes([]byte(s))
			if err != nil {
				t.Fatal(err)
			}
			secrets[what+" (GB18030) "+s] = b
		}
	}
	for _, p := range people {
		add("name", p.in.Name)
		add("pinyin", p.pinyin)
		add("phone", p.in.Phones[0])
		add("ID number", p.in.IDNumber)
		add("ID number digits", p.in.IDNumber[:17])
		add("address", p.in.Address)
	}
	add("allergy", "头孢曲松钠")
	add("reaction", "过敏性休克")
	files := map[string][]byte{"database": readFile(t, filepath.Join(dir, "carenode.db")),
		"hot backup": unpackBackup(t, hot), "cold backup": unpackBackup(t, cold)}
	for fname, data := range files {
		for what, b := range secrets {
			if bytes.Contains(data, b) {
				t.Errorf("%s holds %s in the clear", fname, what)
			}
		}
		// The control: an unsealed value is found, so a search that finds
		// nothing means something.
		if !bytes.Contains(data, []byte("1961-07-15")) {
			t.Errorf("%s: the birth date 1961-07-15 (not sealed) was not found: the search cannot be trusted", fname)
		}
	}

	// Restarted, the node is locked: an account without its own copy of the
	// key cannot sign in (423); the first sign-in of an admin unlocks it.
	addUser(t, dir, "late", "desk", "desk-pass-123")
	srv = startServe(t, dir)
	code, body, _ := postJSON(http.DefaultClient, "", srv.url+"/api/v1/auth/login", map[string]string{"name": "late", "password": "desk-pass-123"})
	if code != http.StatusLocked {
		t.Errorf("sign-in of a pending account on the restarted node: %d %s, want 423 (locked)", code, body)
	}
	if code, _ := (&session{url: srv.url, client: http.DefaultClient}).do(t, http.MethodGet, "/api/v1/patients?q=zsf", nil); code != http.StatusUnauthorized {
		t.Errorf("search without a token: %d", code)
	}
	code, body, _ = postJSON(http.DefaultClient, "", srv.url+"/api/v1/auth/login", map[string]string{"name": "admin", "password": adminPassword})
	var lr struct {
		Token    string
		Unlocked bool
	}
	json.Unmarshal(body, &lr)
	if code != http.StatusOK || !lr.Unlocked {
		t.Errorf("first admin sign-in after restart: %d %s; want it to unlock the node", code, body)
	}
	admin = &session{url: srv.url, token: lr.Token, client: http.DefaultClient}
	for i, p := range people {
		if got := admin.search(t, p.pinyin); !slices.Equal(got, []string{ids[i]}) {
			t.Errorf("after restart, search %s = %v, want %s", p.pinyin, got, ids[i])
		}
	}
	srv.cmd.Process.Signal(syscall.SIGTERM)
	srv.wait(t)
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// unpackBackup returns a backup file decompressed, and checks it is the tar
// node/backup writes, holding the database.
func unpackBackup(t *testing.T, path string) []byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := zstd.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	data, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("decompress %s: %v", path, err)
	}
	tr := tar.NewReader(bytes.NewReader(data))
	var names []string
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("read tar in %s: %v", path, err)
		}
		names = append(names, h.Name)
	}
	if !slices.ContainsFunc(names, func(n string) bool { return strings.HasSuffix(n, ".db") }) {
		t.Fatalf("backup %s holds %v, no database", path, names)
	}
	return data
}
