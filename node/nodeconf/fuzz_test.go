package nodeconf

import (
	"reflect"
	"strings"
	"testing"
)

// FuzzParse feeds arbitrary bytes to the config decoder: it must never
// panic (the error rewording walks go-toml's errors and the document by
// reflection), every error must name the file, and any file it accepts
// must survive Render unchanged.
func FuzzParse(f *testing.F) {
	f.Add([]byte(Render(Default("Clinic A", RoleClinic))))
	f.Add([]byte(Render(custom())))
	f.Add([]byte("[node]\nname = \"x\"\nrole = \"hub\"\n[http]\nwrite_timeout = 60\n"))
	f.Add([]byte("http = 5\n"))
	f.Add([]byte("[node]\nname = 42\n"))
	f.Add([]byte("[htpp]\nx = 1\n[store]\nno_sync = \"yes\"\n"))
	f.Add([]byte("[http\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		const path = "fuzz.toml"
		got, err := parse(path, data)
		if err != nil {
			if !reflect.DeepEqual(got, File{}) {
				t.Fatalf("parse returned %+v with error %v", got, err)
			}
			for _, ve := range valueErrors(err) {
				if ve.Key == "" || ve.Value == "" || ve.Allowed == "" {
					t.Fatalf("incomplete problem %#v in %v", ve, err)
				}
			}
			if !strings.Contains(err.Error(), path) {
				t.Fatalf("error %q does not name the file", err)
			}
			return
		}
		again, err := parse(path, Render(got))
		if err != nil {
			t.Fatalf("rendered file does not load: %v\n%s", err, Render(got))
		}
		if !reflect.DeepEqual(again, got) {
			t.Fatalf("Render changed the file:\n got %+v\nwant %+v", again, got)
		}
	})
}
