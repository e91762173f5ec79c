// Package sample generates realistic, made-up patient records for
// `carenode demo`, for tests and for benchmarks.
//
// A [Generator] is deterministic: the same seed gives the same patients in
// the same order, on every machine, because it draws only from its own
// math/rand/v2 PCG source and computes ages against its RefDate field
// rather than the clock. Patients(n) returns exactly what n calls of
// Patient would.
//
// The records are meant to look like the people a rural community clinic
// follows up, so that search, duplicate detection and reports are tested on
// the data they will meet:
//
//   - Surnames follow their real frequency (王, 李 and 张 are about a fifth
//     of everyone) and include rare ones whose reading differs from the
//     character's everyday one — 单 Shàn, 区 Ōu, 仇 Qiú, 朴 Piáo, 解 Xiè,
//     查 Zhā, 曾 Zēng, 覃 Qín — and compound ones such as 欧阳 and 诸葛,
//     which pinyin search and name splitting must handle.
//   - Given names have one or two characters, from pools that differ by sex
//     and by generation (秀英 and 建国 are old; 梓涵 and 子轩 are young).
//   - Ages run from 0 to 95 but lean old, as a village clinic's list does:
//     about half the patients are 60 or over.
//   - The resident ID number (GB 11643-1999) starts with the real code of a
//     rural county, agrees with the address, birth date and sex, and carries
//     a correct check character. A Generator never issues the same ID
//     number twice.
//   - Phone numbers use real mainland carrier prefixes. About one patient in
//     thirty is generated as a member of the previous patient's household —
//     spouse, child, parent or sibling — sharing the address and the phone
//     number, which is how duplicate-looking records arise in real clinics.
//   - Allergies are stored as English lower-case keys ("penicillin"), and
//     diagnoses as three-character ICD-10 categories weighted toward the
//     chronic diseases of the national basic public health service (I10
//     hypertension, E11 type 2 diabetes, ...); older patients have more.
//
// Townships are real; village names are plausible for their region but
// made up, except for a few well-known ones. Every person is fictional:
// any match with a real person's name, ID number or phone is chance.
//
// ID numbers get their check character from package node/residentid, which
// the care domain also uses to validate what staff type.
package sample
