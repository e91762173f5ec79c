package sample

import (
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"carenode/node/residentid"
)

// seed is the seed of the statistical tests. They are deterministic, so a
// failure is a property of this seed, and any other seed should pass too.
const seed = 20261124

// ageOn returns the age on ref of a person born on birth.
func ageOn(birth, ref time.Time) int {
	age := ref.Year() - birth.Year()
	if ref.Month() < birth.Month() || ref.Month() == birth.Month() && ref.Day() < birth.Day() {
		age--
	}
	return age
}

// phonePattern matches an 11-digit mobile number with one of the carrier
// prefixes 130-139, 150-153, 155-159, 166, 170-178, 180-189, 198 or 199.
var phonePattern = regexp.MustCompile(`^(13[0-9]|15[0-35-9]|166|17[0-8]|18[0-9]|19[89])[0-9]{8}$`)

var icd10Pattern = regexp.MustCompile(`^[A-Z][0-9]{2}$`)

func TestDeterminism(t *testing.T) {
	a := New(42).Patients(2000)
	g := New(42)
	for i, want := range a {
		if got := g.Patient(); !reflect.DeepEqual(got, want) {
			t.Fatalf("patient %d: Patient() = %+v, Patients gave %+v", i, got, want)
		}
	}
	if b := New(42).Patients(2000); !reflect.DeepEqual(a, b) {
		t.Error("two generators with seed 42 differ")
	}
	if c := New(43).Patients(2000); reflect.DeepEqual(a, c) {
		t.Error("seeds 42 and 43 give the same patients")
	}
}

func TestPatientsCount(t *testing.T) {
	for _, n := range []int{-1, 0} {
		if got := New(1).Patients(n); got != nil {
			t.Errorf("Patients(%d) = %v, want nil", n, got)
		}
	}
	if got := len(New(1).Patients(7)); got != 7 {
		t.Errorf("len(Patients(7)) = %d", got)
	}
}

// TestPatientFields checks every field of many patients against its
// documented form and against the other fields.
func TestPatientFields(t *testing.T) {
	areas := make(map[string]area)
	for _, a := range areaTable() {
		areas[a.code] = a
	}
	var surnames []string
	for _, c := range surnameTable() {
		surnames = append(surnames, c.item)
	}
	allergies := make(map[string]bool)
	for _, c := range allergyTable() {
		allergies[c.item] = true
	}
	diagnoses := make(map[string]bool)
	for _, d := range diagnosisTable() {
		diagnoses[d.code] = true
	}

	g := New(seed)
	ref := g.RefDate
	ids := make(map[string]bool)
	for i, p := range g.Patients(20000) {
		fail := func(format string, args ...any) {
			t.Helper()
			t.Fatalf("patient %d %+v: "+format, append([]any{i, p}, args...)...)
		}
		if err := residentid.Validate(p.IDNumber); err != nil {
			fail("%v", err)
		}
		if ids[p.IDNumber] {
			fail("ID number issued twice")
		}
		ids[p.IDNumber] = true

		birth, err := time.Parse(time.DateOnly, p.BirthDate)
		if err != nil {
			fail("BirthDate: %v", err)
		}
		if got := strings.ReplaceAll(p.BirthDate, "-", ""); p.IDNumber[6:14] != got {
			fail("ID birth date %s, BirthDate %s", p.IDNumber[6:14], p.BirthDate)
		}
		if age := ageOn(birth, ref); age < 0 || age > maxAge {
			fail("age %d on %s", age, ref.Format(time.DateOnly))
		}
		odd := (p.IDNumber[16]-'0')%2 == 1
		if want := map[bool]string{true: Male, false: Female}[odd]; p.Sex != want {
			fail("Sex %q, but ID sequence digit %c means %s", p.Sex, p.IDNumber[16], want)
		}
		if p.IDNumber[14:17] == "000" {
			fail("sequence code 000")
		}

		a, ok := areas[p.IDNumber[:6]]
		if !ok {
			fail("area code %s not in the table", p.IDNumber[:6])
		}
		rest, ok := strings.CutPrefix(p.Address, a.prefix())
		if !ok {
			fail("address does not start with %s", a.prefix())
		}
		if !slices.ContainsFunc(a.townships, func(tw township) bool { return strings.HasPrefix(rest, tw.name) }) {
			fail("address has no township of %s", a.county)
		}
		if !strings.Contains(rest, "村") || !strings.HasSuffix(rest, "号") {
			fail("address lacks a village or house number")
		}

		if !phonePattern.MatchString(p.Phone) {
			fail("phone %q is not an 11-digit mobile number with a carrier prefix", p.Phone)
		}

		i := slices.IndexFunc(surnames, func(s string) bool { return strings.HasPrefix(p.Name, s) })
		if i < 0 {
			fail("name starts with no known surname")
		}
		if n := utf8.RuneCountInString(p.Name) - utf8.RuneCountInString(surnames[i]); n < 1 || n > 2 {
			fail("given name has %d characters", n)
		}

		if len(p.Allergies) > 2 || hasDuplicates(p.Allergies) {
			fail("allergies")
		}
		for _, al := range p.Allergies {
			if !allergies[al] || al != strings.ToLower(al) {
				fail("allergy key %q", al)
			}
		}
		if len(p.Diagnoses) > 3 || hasDuplicates(p.Diagnoses) {
			fail("diagnoses")
		}
		for _, d := range p.Diagnoses {
			if !icd10Pattern.MatchString(d) || !diagnoses[d] {
				fail("diagnosis %q", d)
			}
		}
	}
}

func hasDuplicates(s []string) bool {
	for i := range s {
		if slices.Contains(s[i+1:], s[i]) {
			return true
		}
	}
	return false
}

// TestDistribution checks that the population looks like a rural clinic's.
func TestDistribution(t *testing.T) {
	const n = 10000
	g := New(seed)
	ps := g.Patients(n)

	surnames := make(map[string]int)
	var compound int
	for _, c := range surnameTable() {
		for _, p := range ps {
			if strings.HasPrefix(p.Name, c.item) {
				surnames[c.item]++
				if utf8.RuneCountInString(c.item) == 2 {
					compound++
				}
			}
		}
	}
	if len(surnames) < 40 {
		t.Errorf("%d distinct surnames, want at least 40", len(surnames))
	}
	if compound == 0 {
		t.Error("no compound surname")
	}
	if top := surnames["王"] + surnames["李"] + surnames["张"]; top < n/8 || top > n/3 {
		t.Errorf("王, 李 and 张 are %d of %d; they are about a fifth of the population", top, n)
	}

	var male, old int
	agesSeen := make(map[int]bool)
	for _, p := range ps {
		if p.Sex == Male {
			male++
		}
		birth, _ := time.Parse(time.DateOnly, p.BirthDate)
		age := ageOn(birth, g.RefDate)
		agesSeen[age] = true
		if age >= 60 {
			old++
		}
	}
	if male < n*40/100 || male > n*60/100 {
		t.Errorf("%d of %d are male, want 40-60%%", male, n)
	}
	if old < n/4 {
		t.Errorf("%d of %d are 60 or over, want at least 25%%", old, n)
	}
	for age := 0; age <= maxAge; age++ {
		if !agesSeen[age] {
			t.Errorf("nobody is %d", age)
		}
	}

	// Households: a few percent of patients share a phone, and people who
	// share a phone share an address.
	byPhone := make(map[string][]Patient)
	for _, p := range ps {
		byPhone[p.Phone] = append(byPhone[p.Phone], p)
	}
	var sharing, mixed, groups int
	for _, group := range byPhone {
		if len(group) < 2 {
			continue
		}
		groups++
		sharing += len(group)
		if slices.ContainsFunc(group, func(p Patient) bool { return p.Address != group[0].Address }) {
			mixed++
		}
	}
	if sharing < n/100 || sharing > n*15/100 {
		t.Errorf("%d of %d patients share a phone, want a few percent", sharing, n)
	}
	if mixed > groups/100 {
		t.Errorf("%d of %d shared phones span addresses; household members live together", mixed, groups)
	}
}

// TestDiagnosesByAge checks that chronic disease concentrates in the old.
func TestDiagnosesByAge(t *testing.T) {
	g := New(seed)
	var young, old, youngDx, oldDx, oldHypertension int
	for _, p := range g.Patients(10000) {
		birth, _ := time.Parse(time.DateOnly, p.BirthDate)
		if ageOn(birth, g.RefDate) < 30 {
			young++
			youngDx += len(p.Diagnoses)
			continue
		}
		if ageOn(birth, g.RefDate) >= 60 {
			old++
			oldDx += len(p.Diagnoses)
			if slices.Contains(p.Diagnoses, "I10") {
				oldHypertension++
			}
		}
	}
	if youngMean, oldMean := float64(youngDx)/float64(young), float64(oldDx)/float64(old); oldMean < 3*youngMean {
		t.Errorf("mean diagnoses: %.2f under 30, %.2f at 60 and over; want the old far higher", youngMean, oldMean)
	}
	if oldHypertension < old/5 {
		t.Errorf("%d of %d patients aged 60 and over have I10, want at least a fifth", oldHypertension, old)
	}
}

func TestRefDate(t *testing.T) {
	ref := time.Date(2001, time.March, 1, 15, 30, 0, 0, time.FixedZone("CST", 8*3600))
	g := New(seed)
	g.RefDate = ref
	for _, p := range g.Patients(5000) {
		birth, _ := time.Parse(time.DateOnly, p.BirthDate)
		if age := ageOn(birth, time.Date(2001, time.March, 1, 0, 0, 0, 0, time.UTC)); age < 0 || age > maxAge {
			t.Fatalf("%s: age %d on 2001-03-01", p.BirthDate, age)
		}
	}

	zero := New(seed)
	zero.RefDate = time.Time{}
	if !reflect.DeepEqual(zero.Patients(100), New(seed).Patients(100)) {
		t.Error("zero RefDate does not mean DefaultRefDate")
	}
}

func TestYearsBefore(t *testing.T) {
	tests := []struct {
		d    string
		n    int
		want string
	}{
		{"2026-11-24", 0, "2026-11-24"},
		{"2026-11-24", 60, "1966-11-24"},
		{"2024-02-29", 1, "2023-02-28"},
		{"2024-02-29", 4, "2020-02-29"},
		{"2000-02-29", 100, "1900-02-28"},
	}
	for _, tc := range tests {
		d, _ := time.Parse(time.DateOnly, tc.d)
		if got := yearsBefore(d, tc.n).Format(time.DateOnly); got != tc.want {
			t.Errorf("yearsBefore(%s, %d) = %s, want %s", tc.d, tc.n, got, tc.want)
		}
	}
}

// TestBirthDateAges checks that birthDate gives exactly the requested age,
// on reference dates that make the calendar awkward.
func TestBirthDateAges(t *testing.T) {
	for _, ref := range []string{"2026-11-24", "2024-02-29", "2025-03-01", "2025-12-31", "2026-01-01"} {
		g := New(seed)
		g.RefDate, _ = time.Parse(time.DateOnly, ref)
		for age := 0; age <= maxAge; age++ {
			for range 50 {
				if got := ageOn(g.birthDate(age), g.RefDate); got != age {
					t.Fatalf("ref %s: asked for age %d, got %d", ref, age, got)
				}
			}
		}
	}
}

// TestIDNumberFullDay fills every sequence code of one area, day and sex,
// and checks that the generator then moves to the day before rather than
// repeating a number or looping.
func TestIDNumberFullDay(t *testing.T) {
	g := New(seed)
	birth := time.Date(1956, time.November, 3, 0, 0, 0, 0, time.UTC)
	seen := make(map[string]bool)
	sameDay := 0
	for range 600 {
		id, got := g.idNumber("532528", birth, Female)
		if err := residentid.Validate(id); err != nil {
			t.Fatal(err)
		}
		if seen[id] {
			t.Fatalf("%s issued twice", id)
		}
		seen[id] = true
		if id[6:14] != got.Format("20060102") {
			t.Fatalf("ID %s disagrees with returned birth date %s", id, got.Format(time.DateOnly))
		}
		if got.Equal(birth) {
			sameDay++
		}
	}
	// Even codes 002-998: 499 women a day.
	if sameDay != 499 {
		t.Errorf("%d women born the same day, want 499", sameDay)
	}
}

func TestTables(t *testing.T) {
	codes := make(map[string]bool)
	for _, a := range areaTable() {
		if !regexp.MustCompile(`^[0-9]{6}$`).MatchString(a.code) || codes[a.code] {
			t.Errorf("area code %q malformed or repeated", a.code)
		}
		codes[a.code] = true
		if a.province == "" || a.county == "" || len(a.townships) == 0 {
			t.Errorf("area %s incomplete", a.code)
		}
		for _, tw := range a.townships {
			if !strings.ContainsAny(tw.name[len(tw.name)-3:], "镇乡道") {
				t.Errorf("%s: township %q", a.county, tw.name)
			}
			for _, v := range tw.villages {
				if !strings.HasSuffix(v, "村") {
					t.Errorf("%s: village %q", tw.name, v)
				}
			}
		}
	}
	if len(codes) < 30 {
		t.Errorf("%d areas, want about 30", len(codes))
	}

	pools := map[string][]string{}
	for sex, names := range map[string]givenNames{Male: maleNames(), Female: femaleNames()} {
		pools[sex+" old"], pools[sex+" middle"], pools[sex+" young"] = names.old, names.middle, names.young
	}
	for r := range southeast + 1 {
		pools["villages"+string(rune('0'+r))] = villageStems(r)
	}
	var surnames []string
	for _, c := range surnameTable() {
		surnames = append(surnames, c.item)
	}
	pools["surnames"] = surnames
	for name, pool := range pools {
		if len(pool) < 20 {
			t.Errorf("pool %s has %d entries", name, len(pool))
		}
		if hasDuplicates(pool) {
			t.Errorf("pool %s has duplicates", name)
		}
	}
}

func BenchmarkPatients(b *testing.B) {
	const n = 100000
	for b.Loop() {
		New(1).Patients(n)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/patient")
}
