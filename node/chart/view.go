package chart

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"carenode/crdt"
	"carenode/node/care"
	"carenode/node/store"
	"carenode/node/vault"
)

// Patient is a chart as the API shows it: the demographics of
// care.PatientInput, the clinical sets, tags and open conflicts.
type Patient struct {
	ID string `json:"id"`
	care.PatientInput
	Allergies   []Allergy    `json:"allergies"`
	Diagnoses   []Diagnosis  `json:"diagnoses"`
	Medications []Medication `json:"medications"`
	Tags        []Tag        `json:"tags"`
	Assignees   []string     `json:"assignees,omitempty"`
	// Conflicts are important fields with concurrent values that differ;
	// each stays until a write that saw them all resolves it.
	Conflicts []Conflict `json:"conflicts,omitempty"`
	// Merged lists the records merged into this one.
	Merged []string `json:"merged,omitempty"`
	// Version is the stamp of the record's latest change: send it back in
	// If-Match to refuse an edit of a chart someone else changed meanwhile.
	Version string `json:"version"`
	Created string `json:"created"`
	Updated string `json:"updated"`
}

// Allergy is one element of the allergy set.
type Allergy struct {
	ID string `json:"id"`
	care.AllergyInput
}

// Diagnosis is one element of the diagnosis set, with the code table's titles.
type Diagnosis struct {
	ID      string `json:"id"`
	Code    string `json:"code"`
	Title   string `json:"title,omitempty"`
	TitleZh string `json:"titleZh,omitempty"`
	Note    string `json:"note,omitempty"`
}

// Medication is one element of the medication set.
type Medication struct {
	ID string `json:"id"`
	care.MedicationInput
}

// Tag is a tag on the chart: given by a rule (Auto) or by hand.
type Tag struct {
	Tag   string `json:"tag"`
	TagZh string `json:"tagZh,omitempty"`
	Auto  bool   `json:"auto"`
}

// Conflict is one important field whose concurrent values differ.
type Conflict struct {
	Field  string          `json:"field"`
	Values []ConflictValue `json:"values"`
}

// ConflictValue is one of a conflict's values, newest first.
type ConflictValue struct {
	Value json.RawMessage `json:"value"`
	Stamp crdt.Stamp      `json:"stamp"`
}

// opener opens the sealed values of one record view: a value merged in from
// another record was sealed with that record's id, so each id of the view is
// tried.
type opener struct {
	sealer *vault.Sealer
	ids    []string
}

func newOpener(s *vault.Sealer, v store.RecordView) opener {
	ids := append([]string{v.ID}, v.Merged...)
	return opener{sealer: s, ids: ids}
}

// open returns the plaintext of a register value.
func (o opener) open(field string, value []byte) ([]byte, error) {
	if !isSealed(field) {
		return value, nil
	}
	var firstErr error
	for _, id := range o.ids {
		pt, err := o.sealer.Open(value, vault.FieldAAD(Collection, id, field))
		if err == nil {
			return pt, nil
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	return nil, fmt.Errorf("open %s: %w", field, firstErr)
}

// fieldValue returns the plaintext of a field's shown value, or nil.
func (o opener) fieldValue(v store.RecordView, field string) ([]byte, error) {
	f, ok := v.Fields[field]
	if !ok || len(f.Value) == 0 {
		return nil, nil
	}
	return o.open(field, f.Value)
}

// toPatient opens a record view into a chart. tags come from the rules.
func (s *Service) toPatient(sealer *vault.Sealer, v store.RecordView, today time.Time) (Patient, error) {
	o := newOpener(sealer, v)
	p := Patient{ID: v.ID, Merged: v.Merged, Version: v.Updated.String(), Created: v.Created.String(),
		Updated: v.Updated.String(), Allergies: []Allergy{}, Diagnoses: []Diagnosis{}, Medications: []Medication{}}
	for _, spec := range demographics() {
		pt, err := o.fieldValue(v, spec.name)
		if err != nil || pt == nil {
			if err != nil {
				return Patient{}, fmt.Errorf("patient %s: %w", v.ID, err)
			}
			continue
		}
		if err := setDemographic(&p.PatientInput, spec.name, pt); err != nil {
			return Patient{}, fmt.Errorf("patient %s: %w", v.ID, err)
		}
	}
	elem := func(kind, id, field string) (string, error) {
		pt, err := o.fieldValue(v, elementField(kind, id, field))
		if err != nil || pt == nil {
			return "", err
		}
		var str string
		if err := json.Unmarshal(pt, &str); err != nil {
			return "", fmt.Errorf("decode %s.%s.%s: %w", kind, id, field, err)
		}
		return str, nil
	}
	var err error
	for _, id := range v.Sets[setAllergies] {
		a := Allergy{ID: id}
		if a.Substance, err = elem(elemAllergy, id, "substance"); err == nil {
			if a.Reaction, err = elem(elemAllergy, id, "reaction"); err == nil {
				a.Severity, err = elem(elemAllergy, id, "severity")
			}
		}
		if err != nil {
			return Patient{}, fmt.Errorf("patient %s: %w", v.ID, err)
		}
		p.Allergies = append(p.Allergies, a)
	}
	for _, id := range v.Sets[setDiagnoses] {
		d := Diagnosis{ID: id}
		if d.Code, err = elem(elemDiagnosis, id, "code"); err == nil {
			d.Note, err = elem(elemDiagnosis, id, "note")
		}
		if err != nil {
			return Patient{}, fmt.Errorf("patient %s: %w", v.ID, err)
		}
		if c, err := s.codes.Lookup(d.Code); err == nil {
			d.Code, d.Title, d.TitleZh = c.Code, c.TitleEn, c.TitleZh
		}
		p.Diagnoses = append(p.Diagnoses, d)
	}
	for _, id := range v.Sets[setMedications] {
		m := Medication{ID: id}
		if m.Name, err = elem(elemMedication, id, "name"); err == nil {
			if m.Dose, err = elem(elemMedication, id, "dose"); err == nil {
				m.Frequency, err = elem(elemMedication, id, "frequency")
			}
		}
		if err != nil {
			return Patient{}, fmt.Errorf("patient %s: %w", v.ID, err)
		}
		p.Medications = append(p.Medications, m)
	}
	p.Assignees = slices.Clone(v.Sets[setAssignees])
	p.Tags = s.tags(p, v.Sets[setTags], today)
	if p.Conflicts, err = conflicts(o, v); err != nil {
		return Patient{}, fmt.Errorf("patient %s: %w", v.ID, err)
	}
	return p, nil
}

// tags returns the rule tags of p followed by the tags given by hand.
func (s *Service) tags(p Patient, manual []string, today time.Time) []Tag {
	facts := care.PatientFacts{BirthDate: p.BirthDate}
	for _, d := range p.Diagnoses {
		facts.Diagnoses = append(facts.Diagnoses, d.Code)
	}
	if s.cfg.MissedAppointments != nil {
		missed, err := s.cfg.MissedAppointments(p.ID)
		if err != nil {
			// A tag is a hint for the desk: show the chart without it.
			s.log.Warn("missed appointments for the auto tags", "patient", p.ID, "err", err)
		}
		facts.MissedAppointments = missed
	}
	out := []Tag{}
	zh := map[string]string{}
	for _, r := range s.rules {
		zh[r.Tag] = r.TagZh
	}
	auto := care.Evaluate(s.rules, facts, today)
	for _, t := range auto {
		out = append(out, Tag{Tag: t, TagZh: zh[t], Auto: true})
	}
	for _, t := range manual {
		if !slices.Contains(auto, t) {
			out = append(out, Tag{Tag: t, TagZh: zh[t]})
		}
	}
	return out
}

// conflicts lists the important fields of v whose concurrent values differ
// once opened: the same name sealed twice (two registrations of one person
// merged) is two ciphertexts but no conflict.
func conflicts(o opener, v store.RecordView) ([]Conflict, error) {
	var out []Conflict
	names := make([]string, 0, len(v.Fields))
	for name, f := range v.Fields {
		if len(f.Conflict) > 1 {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	for _, name := range names {
		c := Conflict{Field: name}
		distinct := map[string]bool{}
		for _, e := range v.Fields[name].Conflict {
			pt, err := o.open(name, e.Value)
			if err != nil {
				return nil, err
			}
			distinct[string(pt)] = true
			c.Values = append(c.Values, ConflictValue{Value: json.RawMessage(pt), Stamp: e.Stamp})
		}
		if len(distinct) > 1 {
			out = append(out, c)
		}
	}
	return out, nil
}
