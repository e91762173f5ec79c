// Package dedup finds patient records that are likely the same person
// registered twice — typically a villager registered on two offline
// machines before they synced — and lists them for clinic staff to
// review, each pair with the reasons it was flagged. It decides nothing:
// merging is a person's call, made through the care domain.
//
// The package is pure: records in, pairs out, no I/O (a test checks its
// imports), so it runs on the decrypted records a node holds in memory
// and leaves nothing on disk.
//
// # Rules
//
// A pair is flagged when at least one rule holds; every rule that holds
// is listed as a [Reason], and the pair's Score is the sum of their
// weights, so that a pair with more evidence sorts first.
//
//   - [SameIDNumber] (weight 100): the resident ID numbers are equal
//     after normalisation (full-width folded, spaces and hyphens dropped,
//     a lower-case check character x upper-cased). An ID number belongs
//     to one person, so this is the strongest evidence; it also catches
//     one person registered under two spellings of a name.
//   - [SameNameBirthPhone] (weight 60): the same name (separators such as
//     the middle dot and spaces ignored), the same birth date and at
//     least one phone number in common (digits only, a leading 86 or 0086
//     dropped).
//   - [SamePinyinBirthNearName] (weight 30): the same birth date, at
//     least one reading of the names in common (every reading combination
//     of a heteronym counts, from [search.Pinyin]), and names that are
//     near: at most one character inserted, deleted or replaced (张三丰 and
//     张三峰), or a homophone — the same number of characters, all of them
//     Chinese, read alike (张伟 and 章玮). This catches the commonest
//     registration error: a clerk typing pinyin and picking the wrong
//     character from the input method, on a record whose ID number was not
//     entered and whose phone has since changed. Identical names born on
//     the same day satisfy it too, which is intended: such a pair is
//     worth a look even with no phone in common.
//
// # What is not a reason
//
// A phone number alone is never a reason. Rural households register under
// one phone — often the only mobile in the family, or a child's number
// given for elderly parents — so husband, wife, parents and children share
// it; flagging them would bury the real duplicates under family members
// and invite a clerk to merge two people's charts, which is far worse than
// missing a duplicate. For the same reason a common name alone (there are
// hundreds of thousands of 张伟) and a birth date alone (a few patients
// share every day) are not reasons. The rules above each combine
// independent evidence; a phone counts only together with the same name
// and birth date.
//
// # Blocking
//
// Comparing every pair of 100,000 patients would take 5·10⁹ comparisons.
// Instead an [Index] keeps three maps, one per rule, from a blocking key
// to the records that have it:
//
//   - normalised ID number;
//   - name + birth date;
//   - birth date + pinyin reading (one key per reading combination, at
//     most [search.MaxReadings] per name).
//
// Every rule implies that the two records share that rule's key, so only
// records sharing a key are compared, and comparing them re-checks every
// rule in full: blocking loses no pair, it only skips pairs that cannot
// match. The buckets are small (a few patients are born on any one day,
// and fewer still share a reading), so [Find] is near-linear in the
// number of patients; [Index.Candidates] checks one record against the
// index in a few map lookups, which is what registration needs to warn,
// before saving, that a patient with this ID number (or this name and
// birth date) is already on file.
//
// Records are identified by their ID; when two records given to [Find] or
// [NewIndex] have the same ID the later one wins, as a later version of
// a record replaces an earlier one.
package dedup
