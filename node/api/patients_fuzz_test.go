package api_test

import (
	"carenode/node/store"
	"net/url"
	"strings"
	"testing"
)

// FuzzPatientBodies sends the input as the body of every patient write
// (register, PATCH, allergy, diagnosis, medication, merge, resolve) and as
// a search query and a roster upload, to one node that keeps its state
// across inputs. The node must never answer 5xx, every error must carry a
// code and a Chinese sentence, and the seeded chart must keep its allergy
// (no input may lose data already stored).
func FuzzPatientBodies(f *testing.F) {
	for _, seed := range []string{
		`{"name":"张三","sex":"male","birthDate":"1956-06-20","idNumber":"110101195606200016","phones":["13812345678"]}`,
		`{"name":"李四","sex":"女","birthDate":"1990/1/2","phones":["+86 138-1234-5678",""],"emergencyContacts":[{"name":"王五","phone":"010-12345678"}]}`,
		`{"substance":"青霉素","severity":"重度"}`,
		`{"code":"e119","note":"x"}`,
		`{"name":"氨氯地平","dose":"5 mg"}`,
		`{"into":"nosuch"}`,
		`{"field":"name","value":"张三"}`,
		`{"name":7}`, `[]`, `null`, ``, `{"name":"a","name":"b"}`, "{\"name\":\"\xff\"}",
		"姓名,性别,出生日期\n张三,男,1956-06-20\n",
	} {
		f.Add(seed)
	}
	c := newClinic(f, func(o *store.Options) { o.NoSync = true }) // many writes per input
	admin := c.login("admin", "admin-password")
	r := c.call("POST", "/api/v1/patients", admin, patientBody(f, "赵六", "1948-08-08", "13900008888", "77"))
	if r.code != 201 {
		f.Fatalf("seed patient: %d %s", r.code, r.raw)
	}
	id := r.body["id"].(string)
	if r = c.call("POST", "/api/v1/patients/"+id+"/allergies", admin, map[string]string{"substance": "磺胺"}); r.code != 201 {
		f.Fatalf("seed allergy: %d %s", r.code, r.raw)
	}
	f.Fuzz(func(t *testing.T, body string) {
		c.t = t
		for _, req := range []struct{ method, path string }{
			{"POST", "/api/v1/patients"},
			{"PATCH", "/api/v1/patients/" + id},
			{"POST", "/api/v1/patients/" + id + "/allergies"},
			{"POST", "/api/v1/patients/" + id + "/diagnoses"},
			{"POST", "/api/v1/patients/" + id + "/medications"},
			{"POST", "/api/v1/patients/" + id + "/merge"},
			{"POST", "/api/v1/patients/" + id + "/conflicts/resolve"},
			{"POST", "/api/v1/patients/import"},
			{"GET", "/api/v1/patients?q=" + url.QueryEscape(body)},
		} {
			r := c.call(req.method, req.path, admin, body)
			if r.code >= 500 {
				t.Fatalf("%s %s: %d %s", req.method, req.path, r.code, r.raw)
			}
			if r.code >= 400 {
				e, _ := r.body["error"].(map[string]any)
				if e["code"] == nil || e["zh"] == "" || e["zh"] == nil {
					t.Fatalf("%s %s: error without code or Chinese: %s", req.method, req.path, r.raw)
				}
			}
		}
		r := c.call("GET", "/api/v1/patients/"+id, admin, nil)
		if r.code != 200 || !strings.Contains(string(r.raw), "磺胺") {
			t.Fatalf("seeded chart lost its allergy or cannot be read: %d %s", r.code, r.raw)
		}
	})
}
