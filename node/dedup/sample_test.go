package dedup

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"carenode/node/sample"
	"carenode/node/search"
)

// population is sample patients plus injected duplicates: copies of
// randomly chosen originals registered again with a homophone typo in the
// name, a changed phone or a missing ID number.
type population struct {
	patients []Patient
	injected map[[2]string]bool // {A, B} of each copy and its original
	genuine  int                // patients[:genuine] are the sample's own
	// households: pairs of consecutive sample patients sharing a phone
	households [][2]string
}

func makePopulation(seed uint64, n, dups int) population {
	sp := sample.New(seed).Patients(n)
	pop := population{injected: make(map[[2]string]bool), genuine: n}
	homophones := make(map[string][]rune) // first reading → given-name characters
	for i, p := range sp {
		pop.patients = append(pop.patients, Patient{
			ID: fmt.Sprintf("p%06d", i), Name: p.Name, BirthDate: p.BirthDate,
			IDNumber: p.IDNumber, Phones: []string{p.Phone},
		})
		if i > 0 && sp[i-1].Phone == p.Phone {
			pop.households = append(pop.households, [2]string{pop.patients[i-1].ID, pop.patients[i].ID})
		}
		rs := []rune(p.Name)
		for _, c := range rs[1:] {
			full, _ := search.Pinyin(string(c))
			if len(full) > 0 && !slices.Contains(homophones[full[0]], c) {
				homophones[full[0]] = append(homophones[full[0]], c)
			}
		}
	}
	rng := rand.New(rand.NewPCG(seed, 7))
	used := make(map[int]bool)
	for k := 0; k < dups; {
		i := rng.IntN(n)
		if used[i] {
			continue
		}
		orig := pop.patients[i]
		cp := orig
		cp.ID = fmt.Sprintf("d%06d", k)
		typo := func() bool { // replace the last character with a homophone
			rs := []rune(cp.Name)
			last := rs[len(rs)-1]
			full, _ := search.Pinyin(string(last))
			var others []rune
			for _, c := range homophones[full[0]] {
				if c != last {
					others = append(others, c)
				}
			}
			if len(others) == 0 {
				return false
			}
			rs[len(rs)-1] = others[rng.IntN(len(others))]
			cp.Name = string(rs)
			return true
		}
		newPhone := []string{fmt.Sprintf("139%08d", rng.IntN(100_000_000))}
		switch k % 4 {
		case 0: // typo, new phone, no ID number: only the pinyin rule can tell
			if !typo() {
				continue
			}
			cp.Phones, cp.IDNumber = newPhone, ""
		case 1: // new phone, ID number kept
			cp.Phones = newPhone
		case 2: // no ID number, same name, birth and phone
			cp.IDNumber = ""
		case 3: // typo, new phone, ID number typed with a lower-case x and spaces
			if !typo() {
				continue
			}
			cp.Phones = newPhone
			cp.IDNumber = cp.IDNumber[:6] + " " + cp.IDNumber[6:14] + " " + cp.IDNumber[14:]
			if cp.IDNumber[len(cp.IDNumber)-1] == 'X' {
				cp.IDNumber = cp.IDNumber[:len(cp.IDNumber)-1] + "x"
			}
		}
		used[i] = true
		pop.patients = append(pop.patients, cp)
		pop.injected[[2]string{cp.ID, orig.ID}] = true // d… < p…
		k++
	}
	return pop
}

// score returns how many injected pairs were found, how many pairs were
// flagged between two genuine sample patients, and how many of those are
// households sharing a phone.
func (pop population) score(pairs []Pair) (found, falsePos, households int) {
	genuine := func(id string) bool { return id[0] == 'p' }
	house := make(map[[2]string]bool)
	for _, h := range pop.households {
		house[h] = true
	}
	for _, p := range pairs {
		switch {
		case pop.injected[[2]string{p.A, p.B}]:
			found++
		case genuine(p.A) && genuine(p.B):
			falsePos++
			if house[[2]string{p.A, p.B}] {
				households++
			}
		}
	}
	return found, falsePos, households
}

func TestSampleRecallAndFalsePositives(t *testing.T) {
	const seed, n, dups = 1, 20_000, 200
	pop := makePopulation(seed, n, dups)
	pairs := Find(pop.patients)
	found, fp, hh := pop.score(pairs)
	t.Logf("seed %d: %d patients, %d households sharing a phone; found %d of %d injected duplicates; %d pairs among genuine patients (%d households)",
		seed, n, len(pop.households), found, dups, fp, hh)
	if found != dups {
		t.Errorf("recall: found %d of %d injected duplicates", found, dups)
	}
	if len(pop.households) < n/100 {
		t.Fatalf("only %d households sharing a phone; the sample should have about 3%%", len(pop.households))
	}
	if hh != 0 {
		t.Errorf("%d households sharing a phone flagged", hh)
	}
	if fp > n/1000 {
		t.Errorf("%d pairs flagged among %d distinct patients; want at most %d", fp, n, n/1000)
	}
	for _, p := range pairs {
		if p.A[0] == 'p' && p.B[0] == 'p' {
			t.Logf("genuine pair flagged: %+v", p)
		}
	}
}

const benchN, benchDups = 100_000, 500

var benchPop = sync.OnceValue(func() population { return makePopulation(42, benchN, benchDups) })

func BenchmarkFind100k(b *testing.B) {
	pop := benchPop()
	var pairs []Pair
	for b.Loop() {
		pairs = Find(pop.patients)
	}
	found, fp, hh := pop.score(pairs)
	b.ReportMetric(float64(found)/benchDups, "recall")
	b.ReportMetric(float64(fp), "false-pairs")
	b.ReportMetric(float64(hh), "household-pairs")
	b.ReportMetric(float64(len(pop.households)), "households")
}

func BenchmarkCandidates100k(b *testing.B) {
	pop := benchPop()
	x := NewIndex(pop.patients[:benchN])
	i := 0
	for b.Loop() {
		p := pop.patients[benchN+i%benchDups]
		x.Candidates(p)
		i++
	}
}
