package care

// PatientInput is a patient's demographics as a client sends them: the body
// of POST /api/v1/patients, and of PATCH once laid over the stored record
// (see Decode). The JSON names are the API contract of issue 4; extend
// them, never rename.
//
// Allergies, diagnoses and medications are not here: they are add-wins sets
// changed one element at a time through their own endpoints (AllergyInput,
// DiagnosisInput, MedicationInput), so no write ever has to say what a
// whole list "now is" and lose an element added concurrently elsewhere.
type PatientInput struct {
	Name              string    `json:"name"`
	Sex               string    `json:"sex"`       // SexMale, SexFemale, SexOther, SexUnknown
	BirthDate         string    `json:"birthDate"` // YYYY-MM-DD
	IDNumber          string    `json:"idNumber,omitempty"`
	Phones            []string  `json:"phones,omitempty"`
	Address           string    `json:"address,omitempty"`
	Occupation        string    `json:"occupation,omitempty"`
	MaritalStatus     string    `json:"maritalStatus,omitempty"` // Marital… constants, or "" when not recorded
	EmergencyContacts []Contact `json:"emergencyContacts,omitempty"`
	CardNumber        string    `json:"cardNumber,omitempty"`
	History           string    `json:"history,omitempty"`       // past medical history (既往史)
	FamilyHistory     string    `json:"familyHistory,omitempty"` // family history (家族史)
	Notes             string    `json:"notes,omitempty"`
}

// Contact is someone to call about the patient: an emergency contact or a
// family member.
type Contact struct {
	Name     string `json:"name"`
	Relation string `json:"relation,omitempty"` // free text: 配偶, 儿子, neighbour …
	Phone    string `json:"phone"`
}

// AllergyInput is one allergy, the body of POST /api/v1/patients/{id}/allergies.
type AllergyInput struct {
	Substance string `json:"substance"`
	Reaction  string `json:"reaction,omitempty"`
	Severity  string `json:"severity,omitempty"` // Severity… constants; "" becomes SeverityUnknown
}

// DiagnosisInput is one diagnosis, the body of POST
// /api/v1/patients/{id}/diagnoses: an ICD-10 code and an optional note.
type DiagnosisInput struct {
	Code string `json:"code"`
	Note string `json:"note,omitempty"`
}

// MedicationInput is one current medication, the body of POST
// /api/v1/patients/{id}/medications.
type MedicationInput struct {
	Name      string `json:"name"`
	Dose      string `json:"dose,omitempty"`      // as written: "5 mg", "1片"
	Frequency string `json:"frequency,omitempty"` // as written: "qd", "每日两次"
}

// Values of PatientInput.Sex.
const (
	SexMale    = "male"
	SexFemale  = "female"
	SexOther   = "other"
	SexUnknown = "unknown"
)

// Values of PatientInput.MaritalStatus.
const (
	MaritalSingle   = "single"
	MaritalMarried  = "married"
	MaritalDivorced = "divorced"
	MaritalWidowed  = "widowed"
	MaritalUnknown  = "unknown"
)

// Values of AllergyInput.Severity.
const (
	SeverityMild     = "mild"
	SeverityModerate = "moderate"
	SeveritySevere   = "severe"
	SeverityUnknown  = "unknown"
)

// Limits on what a record holds. Lengths count characters (a Chinese
// character is one), not bytes.
const (
	MaxNameLen     = 32       // patient and contact names
	MaxPhones      = 5        // phones per patient
	MaxContacts    = 5        // emergency contacts per patient
	MaxAddressLen  = 200      // address
	MaxShortLen    = 64       // occupation, allergy substance, medication name
	MaxRelationLen = 20       // a contact's relation
	MaxDoseLen     = 64       // medication dose and frequency
	MaxReactionLen = 500      // allergy reaction
	MaxTextLen     = 2000     // history, family history, notes, diagnosis note
	MinCardLen     = 6        // card number, after normalisation
	MaxCardLen     = 20       // card number, after normalisation
	MinBirthYear   = 1900     // earliest birth year accepted
	MaxBodyBytes   = 64 << 10 // a request body; the texts above fit with room to spare
)

// enum lists the accepted values of an enumerated field and the Chinese
// words a clerk or a roster file may use for them.
type enum struct {
	values  []string
	aliases map[string]string
}

func (e enum) has(v string) bool {
	for _, x := range e.values {
		if x == v {
			return true
		}
	}
	return false
}

// The enums are functions, not package variables, so nothing shared can be
// changed by a caller.
func sexEnum() enum {
	return enum{
		values: []string{SexMale, SexFemale, SexOther, SexUnknown},
		aliases: map[string]string{
			"男": SexMale, "男性": SexMale, "m": SexMale,
			"女": SexFemale, "女性": SexFemale, "f": SexFemale,
			"其他": SexOther, "未知": SexUnknown, "不详": SexUnknown,
		},
	}
}

func maritalEnum() enum {
	return enum{
		values: []string{MaritalSingle, MaritalMarried, MaritalDivorced, MaritalWidowed, MaritalUnknown},
		aliases: map[string]string{
			"未婚": MaritalSingle, "已婚": MaritalMarried, "离异": MaritalDivorced, "离婚": MaritalDivorced,
			"丧偶": MaritalWidowed, "未知": MaritalUnknown, "不详": MaritalUnknown,
		},
	}
}

func severityEnum() enum {
	return enum{
		values: []string{SeverityMild, SeverityModerate, SeveritySevere, SeverityUnknown},
		aliases: map[string]string{
			"轻": SeverityMild, "轻度": SeverityMild, "中": SeverityModerate, "中度": SeverityModerate,
			"重": SeveritySevere, "重度": SeveritySevere, "严重": SeveritySevere, "未知": SeverityUnknown, "不详": SeverityUnknown,
		},
	}
}
