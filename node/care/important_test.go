package care

import (
	"reflect"
	"strings"
	"testing"
)

func TestImportantFields(t *testing.T) {
	fields := ImportantFields()
	for _, f := range []string{"name", "sex", "birthDate", "idNumber", "phones", "address", "cardNumber", "allergies.severity"} {
		if !IsImportant(f) {
			t.Errorf("%s is not important", f)
		}
	}
	for _, f := range []string{"notes", "occupation", "maritalStatus", "", "phone"} {
		if IsImportant(f) {
			t.Errorf("%s is important", f)
		}
	}
	// Every top-level name is a real JSON field of PatientInput, so a
	// renamed field cannot silently stop being important.
	names := jsonFields(reflect.TypeOf(PatientInput{}))
	for _, f := range fields {
		if strings.Contains(f, ".") {
			continue
		}
		if _, ok := names[f]; !ok {
			t.Errorf("important field %q is not a field of PatientInput", f)
		}
	}
	fields[0] = "changed"
	if ImportantFields()[0] == "changed" {
		t.Error("ImportantFields returns a shared slice")
	}
}
