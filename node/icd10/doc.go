// Package icd10 validates and describes ICD-10 diagnosis codes for the
// patient record: the code table a diagnosis is checked against, in English
// and, for the conditions a rural clinic follows up, Chinese.
//
// The table is built into the binary (codes.tsv.zst, about 50 KB) from the
// files in source/; SOURCE.md says exactly where each comes from, under what
// licence, and how to rebuild it. In short:
//
//   - English titles are ICD-10-CM's, the US clinical modification of ICD-10
//     published by CDC/NCHS as a US government work in the public domain
//     (release April 1, 2026). WHO's own ICD-10 files were not used: WHO's
//     licence does not allow redistributing them.
//   - Every ICD-10-CM category is present (1,919, J4B included). Their complete lists of
//     subcodes are shipped for the categories follow-up work uses most
//     (hypertension, diabetes, ischaemic heart disease, stroke, COPD and the
//     rest of chapter J, gastritis and ulcers, back pain, severe mental
//     illness, tuberculosis, chronic kidney disease and others; 213 in all).
//     In the other categories a well-formed subcode is accepted on the
//     strength of its category and marked Code.Listed false.
//   - Chinese titles are the project's own translation; no source with a
//     licence that allows shipping Chinese ICD-10 titles was found.
//   - A few WHO ICD-10 codes common in Chinese records but absent from
//     ICD-10-CM (E14 unspecified diabetes, A16 unconfirmed respiratory
//     tuberculosis, I64 stroke not specified) are included with titles the
//     project wrote in both languages.
//
// Use one Table for the life of a node:
//
//	t := icd10.Default()
//	c, err := t.Lookup("e119") // E11.9, Type 2 diabetes mellitus without complications
//	if err != nil {
//		msg := icd10.Describe(err, "zh-CN") // a sentence for the clerk
//	}
//	icd10.InRange(c.Code, "E10", "E14") // true: a rule such as 糖尿病/diabetes
//	t.Search("高血压", 20)                // for a picker
//
// The package keeps no mutable state outside the Table the caller holds; the
// table loads on first use (a few milliseconds) or when Load is called.
package icd10
