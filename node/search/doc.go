// Package search is the patient search index of a node: the structure a
// node builds in memory when it is unlocked, from the decrypted records,
// so that clinic staff can find a patient the way they ask for one — by
// a Chinese name or part of it, by pinyin, by a phone number or its last
// four digits, by resident ID number or card number.
//
// # Memory only
//
// Personal data is encrypted at rest (see DESIGN.md, "Storage"): a stolen
// database file must not show a name, a phone or an ID number, and a
// search index is personal data in another shape — a pinyin key or a
// bigram of a name gives the name away. So the index lives only in
// memory: the node builds it at unlock with [Build], keeps it current
// with [Index.Put] and [Index.Delete], and drops it when it locks. The
// package does no I/O of any kind (a test checks its imports).
//
// # Structures
//
// Every record occupies a slot; postings are slices of slot numbers.
//
//   - Identifiers: hash maps from the normalized ID number (upper case, so
//     a typed x matches X), card number, phone digits and last four phone
//     digits to slots. Lookups are exact.
//   - Names: the slots sorted by normalized name (spaces and the middle dot
//     of minority names removed). The exact name and every name starting
//     with the query are one run found by binary search. Parts of a name
//     of two characters or more go through a map from each pair of
//     adjacent characters (bigram) to slots: the query's rarest bigram
//     gives the candidates, which are checked with strings.Contains.
//   - Pinyin: each name has one or more reading combinations (see below),
//     each a sequence of toneless syllables, interned as 16-bit ids. The
//     entries (combination, slot) are sorted by syllable sequence, so all
//     names sharing their first d syllables form a contiguous run — a trie
//     laid out flat, with no per-node allocation. A query is matched by
//     walking it: at depth d the next piece of the query (one letter or
//     more) must begin the d-th syllable, and the run of entries whose
//     d-th syllable begins with the piece is found by binary search. The
//     pieces must use up the query; the names below the point reached all
//     match. This single walk serves full pinyin (zhangsan, zhang san),
//     prefixes (zhangs finds 张三 and 张释), initials (zs) and mixes
//     (zhangsf, zsan). Work per query is bounded (defaultStepBudget), so
//     no query can take long, however it is built.
//
// Search takes a read lock; Put and Delete take the write lock and keep
// the sorted slices sorted by insertion (a memmove, about 0.2 ms at
// 100,000 records). Build sorts once, which is why it is much faster than
// Put in a loop: about 0.5 s and 43 MiB of heap for 100,000 sample
// patients on a 2-core machine (BenchmarkBuild100k).
//
// # Ranking
//
// Each kind of match has a score; a record matched several ways keeps its
// best. From best to worst:
//
//	1000 idNumber, card, phone   the whole identifier
//	 900 name                    the whole Chinese name
//	 800 namePrefix              the start of the name (张 or 张三 for 张三丰)
//	 700 pinyin                  the whole name in full pinyin
//	 650 pinyinPrefix            the start of the full pinyin
//	 600 initials                the initials of the whole name
//	 550 initialsPrefix          the initials of the start of the name
//	 500 pinyinMixed             whole syllables and initials mixed
//	 400 phoneLast4              the last four digits of a phone
//	 300 namePart                two or more characters inside the name
//
// A prefix or partial match loses one point per name character it leaves
// unmatched (at most 40), so 张三 ranks before 张三丰 within a kind. Ties
// are broken by record ID, so results are deterministic. A blank query or
// a single latin letter or digit matches nothing rather than everything;
// a single Chinese character matches names starting with it (a surname).
//
// # Readings
//
// Readings come from github.com/mozillazg/go-pinyin, whose dictionary is
// built from pinyin-data (github.com/mozillazg/pinyin-data, MIT): the
// package reads that dictionary directly and strips tones itself, which
// gives the same readings as go-pinyin's Normal style with the Heteronym
// option (a test checks every character) without its per-character
// regular expressions. Every reading of a heteronym in the given name is
// indexed — 长乐 as changle, changyue, zhangle and zhangyue — and a
// reading with ü also with u (吕 as lv and lu). Combinations are capped
// at [MaxReadings], most common readings first.
//
// A surname is often read differently from the same character elsewhere:
// 曾 Zēng, not Céng; 单 Shàn; 区 Ōu; 仇 Qiú; 朴 Piáo; 解 Xiè; 查 Zhā; 覃 Qín;
// 盖 Gě. The override table in readings.go, from common knowledge of
// Chinese surname readings, gives the readings of such characters in the
// surname position only, and only those readings are indexed there; the
// same character in the given name keeps all its readings. Compound
// surnames (欧阳, 司马, 诸葛, 上官, 尉迟 Yùchí, 万俟 Mòqí, …) are looked up
// first, when the name goes on after them, so 欧阳娜娜 is ouyangnana and
// oynn. A surname not in the table keeps every reading the dictionary
// has for it: a missed patient costs more than an extra row.
package search
