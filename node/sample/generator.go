package sample

import (
	"math/rand/v2"
	"strconv"
	"time"

	"carenode/node/residentid"
)

// Values of Patient.Sex.
const (
	Male   = "male"
	Female = "female"
)

const (
	// maxAge is the oldest age generated.
	maxAge = 95

	// householdPermille is how often, per thousand, a patient is made a
	// member of the previous patient's household, sharing the address and
	// the phone number.
	householdPermille = 30

	// pcgStream is the second PCG seed word, fixed so that one uint64 picks
	// the sequence. It spells "carenode" in ASCII.
	pcgStream = 0x636172656e6f6465
)

// Patient is one made-up patient record.
type Patient struct {
	Name      string   // surname then given name, e.g. 张伟 or 欧阳娜娜
	Sex       string   // Male or Female
	BirthDate string   // YYYY-MM-DD
	IDNumber  string   // 18-character resident ID number agreeing with BirthDate, Sex and Address
	Phone     string   // 11-digit mainland mobile number
	Address   string   // province, prefecture, county, township, village, house number
	Allergies []string // 0-2 English lower-case keys such as "penicillin"; nil when none
	Diagnoses []string // 0-3 three-character ICD-10 categories such as "I10"; nil when none
}

// DefaultRefDate returns the day on which a new Generator reckons ages:
// 2026-11-24, fixed so that the sample data do not change with the clock.
func DefaultRefDate() time.Time {
	return time.Date(2026, time.November, 24, 0, 0, 0, 0, time.UTC)
}

// Generator makes patient records from a seed. It is not safe for
// concurrent use; give each goroutine its own.
type Generator struct {
	// RefDate is the day on which patients have their ages; birth dates
	// fall in the 96 years before it. Only its year, month and day count.
	// New sets it to DefaultRefDate(); change it before drawing patients
	// to age the population, and the same seed still gives the same
	// patients for the same RefDate. The zero time means DefaultRefDate().
	RefDate time.Time

	rng                  *rand.Rand
	surnames             picker[string]
	ages                 picker[ageBand]
	phonePrefixes        picker[string]
	allergies            picker[string]
	diagYoung, diagAdult picker[string]
	areas                []area
	villages             [southeast + 1][]string
	male, female         givenNames

	// issued holds the first 17 digits of every ID number handed out, so
	// that no two patients share one.
	issued map[uint64]struct{}

	prev     member // the previous patient, whose household the next may join
	havePrev bool
}

// member is what a household member inherits or derives from the previous
// patient.
type member struct {
	area           *area
	surname, sex   string
	age            int
	address, phone string
}

// New returns a Generator whose patients depend only on seed (and on
// RefDate).
func New(seed uint64) *Generator {
	g := &Generator{
		RefDate:       DefaultRefDate(),
		rng:           rand.New(rand.NewPCG(seed, pcgStream)),
		surnames:      newPicker(surnameTable()),
		ages:          newPicker(ageTable()),
		phonePrefixes: newPicker(phonePrefixTable()),
		allergies:     newPicker(allergyTable()),
		areas:         areaTable(),
		male:          maleNames(),
		female:        femaleNames(),
		issued:        make(map[uint64]struct{}),
	}
	var young, adult []choice[string]
	for _, d := range diagnosisTable() {
		young = append(young, choice[string]{d.code, d.young})
		adult = append(adult, choice[string]{d.code, d.adult})
	}
	g.diagYoung, g.diagAdult = newPicker(young), newPicker(adult)
	for r := range g.villages {
		g.villages[r] = villageStems(villageRegion(r))
	}
	return g
}

// Patients returns the next n patients; it is the same as calling Patient
// n times. It returns nil if n <= 0.
func (g *Generator) Patients(n int) []Patient {
	if n <= 0 {
		return nil
	}
	ps := make([]Patient, n)
	for i := range ps {
		ps[i] = g.Patient()
	}
	return ps
}

// Patient returns the next patient.
func (g *Generator) Patient() Patient {
	var m member
	if g.havePrev && g.rng.IntN(1000) < householdPermille {
		m = g.relative(g.prev)
	} else {
		m = g.stranger()
	}
	birth := g.birthDate(m.age)
	id, birth := g.idNumber(m.area.code, birth, m.sex)
	p := Patient{
		Name:      m.surname + g.givenName(m.sex, birth.Year()),
		Sex:       m.sex,
		BirthDate: dateString(birth),
		IDNumber:  id,
		Phone:     m.phone,
		Address:   m.address,
		Allergies: g.allergyList(),
		Diagnoses: g.diagnosisList(m.age),
	}
	g.prev, g.havePrev = m, true
	return p
}

// stranger draws a patient unrelated to the previous one.
func (g *Generator) stranger() member {
	a := &g.areas[g.rng.IntN(len(g.areas))]
	band := g.ages.pick(g.rng)
	return member{
		area:    a,
		surname: g.surnames.pick(g.rng),
		sex:     g.sex(),
		age:     band.lo + g.rng.IntN(band.hi-band.lo+1),
		address: g.address(a),
		phone:   g.phone(),
	}
}

// relative draws a member of prev's household: a sibling of a minor, or
// else a child, parent or spouse. Children take their father's surname;
// wives keep their own.
func (g *Generator) relative(prev member) member {
	m := member{area: prev.area, address: prev.address, phone: prev.phone}
	switch r := g.rng.IntN(3); {
	case prev.age < 18: // sibling
		m.sex = g.sex()
		m.surname = prev.surname
		m.age = clamp(prev.age-6+g.rng.IntN(13), 0, maxAge)
	case r == 0 && prev.age >= 38: // child
		m.sex = g.sex()
		m.surname = g.paternalSurname(prev)
		m.age = prev.age - 20 - g.rng.IntN(16)
	case r == 1 && prev.age <= maxAge-20: // parent
		m.sex = g.sex()
		m.surname = prev.surname // the father's, which prev carries
		if m.sex == Female {
			m.surname = g.surnames.pick(g.rng)
		}
		m.age = min(prev.age+20+g.rng.IntN(16), maxAge)
	default: // spouse
		m.sex = Male
		if prev.sex == Male {
			m.sex = Female
		}
		m.surname = g.surnames.pick(g.rng)
		m.age = clamp(prev.age-4+g.rng.IntN(9), 18, maxAge)
	}
	return m
}

// paternalSurname returns the surname of prev's child: prev's own if prev
// is the father, otherwise the absent father's.
func (g *Generator) paternalSurname(prev member) string {
	if prev.sex == Male {
		return prev.surname
	}
	return g.surnames.pick(g.rng)
}

func (g *Generator) sex() string {
	if g.rng.IntN(2) == 0 {
		return Male
	}
	return Female
}

// givenName draws from the pool of the person's sex and generation.
func (g *Generator) givenName(sex string, birthYear int) string {
	names := g.female
	if sex == Male {
		names = g.male
	}
	var pool []string
	switch {
	case birthYear < 1960:
		pool = names.old
	case birthYear < 1970:
		pool = pick2(g.rng, names.old, names.middle)
	case birthYear < 1985:
		pool = names.middle
	case birthYear < 1995:
		pool = pick2(g.rng, names.middle, names.young)
	default:
		pool = names.young
	}
	return pool[g.rng.IntN(len(pool))]
}

// pick2 returns a or b with equal chance.
func pick2(rng *rand.Rand, a, b []string) []string {
	if rng.IntN(2) == 0 {
		return a
	}
	return b
}

// refDate returns RefDate as a UTC date.
func (g *Generator) refDate() time.Time {
	ref := g.RefDate
	if ref.IsZero() {
		ref = DefaultRefDate()
	}
	return time.Date(ref.Year(), ref.Month(), ref.Day(), 0, 0, 0, 0, time.UTC)
}

// birthDate draws a birth date, uniformly among the days on which a
// person born is age years old on the reference date.
func (g *Generator) birthDate(age int) time.Time {
	ref := g.refDate()
	latest := yearsBefore(ref, age)
	earliest := yearsBefore(ref, age+1).AddDate(0, 0, 1)
	days := int(latest.Sub(earliest) / (24 * time.Hour))
	return earliest.AddDate(0, 0, g.rng.IntN(days+1))
}

// yearsBefore returns the same day n years before d, or the last day of
// that month when it is shorter (29 February in a common year).
func yearsBefore(d time.Time, n int) time.Time {
	y, m := d.Year()-n, d.Month()
	return time.Date(y, m, min(d.Day(), time.Date(y, m+1, 0, 0, 0, 0, 0, time.UTC).Day()), 0, 0, 0, 0, time.UTC)
}

// idNumber builds an unused ID number for a person of the given sex born
// in the area on birth. The three-digit sequence code is odd for men and
// even for women. In the unlikely case that every code for that area, day
// and sex is taken, it moves the birth date a day earlier, and returns the
// birth date it used.
func (g *Generator) idNumber(code string, birth time.Time, sex string) (string, time.Time) {
	parity := 0
	if sex == Male {
		parity = 1
	}
	for {
		ymd := birth.Year()*10000 + int(birth.Month())*100 + birth.Day()
		areaNum, _ := strconv.Atoi(code) // a 6-digit code from the table
		base := uint64(areaNum)*1e11 + uint64(ymd)*1e3
		seq, ok := -1, false
		// A few random tries nearly always succeed; the scan settles the
		// rest without looping forever.
		for try := 0; try < 32 && !ok; try++ {
			seq = g.rng.IntN(100)*10 + 2*g.rng.IntN(5) + parity
			ok = g.claim(base, seq)
		}
		for s := parity; s < 1000 && !ok; s += 2 {
			seq, ok = s, g.claim(base, s)
		}
		if ok {
			b := make([]byte, 0, residentid.Length)
			b = append(b, code...)
			b = appendDigits(b, ymd, 8)
			b = appendDigits(b, seq, 3)
			check, _ := residentid.CheckChar(string(b))
			b = append(b, check)
			return string(b), birth
		}
		birth = birth.AddDate(0, 0, -1)
	}
}

// claim marks the ID number base+seq as issued and reports whether it was
// free. Sequence code 000 is never issued.
func (g *Generator) claim(base uint64, seq int) bool {
	if seq == 0 {
		return false
	}
	key := base + uint64(seq)
	if _, taken := g.issued[key]; taken {
		return false
	}
	g.issued[key] = struct{}{}
	return true
}

// address draws a rural address in the area: a township, a village (real
// if the township lists any and the draw falls on one, else made up), an
// optional villagers' group and a house number.
func (g *Generator) address(a *area) string {
	t := &a.townships[g.rng.IntN(len(a.townships))]
	var village string
	if len(t.villages) > 0 && g.rng.IntN(2) == 0 {
		village = t.villages[g.rng.IntN(len(t.villages))]
	} else {
		stems := g.villages[a.region]
		village = stems[g.rng.IntN(len(stems))] + "村"
	}
	b := make([]byte, 0, 96)
	b = append(b, a.prefix()...)
	b = append(b, t.name...)
	b = append(b, village...)
	if g.rng.IntN(10) < 4 {
		b = strconv.AppendInt(b, int64(1+g.rng.IntN(12)), 10)
		b = append(b, "组"...)
	}
	b = strconv.AppendInt(b, int64(1+g.rng.IntN(150)), 10)
	b = append(b, "号"...)
	return string(b)
}

// phone draws a mobile number: a carrier prefix and eight digits.
func (g *Generator) phone() string {
	b := make([]byte, 0, 11)
	b = append(b, g.phonePrefixes.pick(g.rng)...)
	b = appendDigits(b, g.rng.IntN(1e8), 8)
	return string(b)
}

func (g *Generator) allergyList() []string {
	n := 0
	switch x := g.rng.IntN(100); {
	case x < 4:
		n = 2
	case x < 20:
		n = 1
	}
	if n == 0 {
		return nil
	}
	return pickDistinct(g.rng, &g.allergies, n, make([]string, 0, n))
}

func (g *Generator) diagnosisList(age int) []string {
	weights := diagnosisCounts(age)
	x := g.rng.IntN(weights[0] + weights[1] + weights[2] + weights[3])
	n := 0
	for n < len(weights)-1 && x >= weights[n] {
		x -= weights[n]
		n++
	}
	if n == 0 {
		return nil
	}
	p := &g.diagAdult
	if age < 30 {
		p = &g.diagYoung
	}
	return pickDistinct(g.rng, p, n, make([]string, 0, n))
}

// dateString formats d as YYYY-MM-DD; it is time.DateOnly without the
// cost of a general formatter.
func dateString(d time.Time) string {
	b := make([]byte, 0, len(time.DateOnly))
	b = appendDigits(b, d.Year(), 4)
	b = append(b, '-')
	b = appendDigits(b, int(d.Month()), 2)
	b = append(b, '-')
	b = appendDigits(b, d.Day(), 2)
	return string(b)
}

// appendDigits appends n, which must be non-negative, as exactly width
// decimal digits with leading zeros.
func appendDigits(b []byte, n, width int) []byte {
	start := len(b)
	for range width {
		b = append(b, 0)
	}
	for i := len(b) - 1; i >= start; i-- {
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return b
}

func clamp(x, lo, hi int) int {
	return max(lo, min(x, hi))
}
