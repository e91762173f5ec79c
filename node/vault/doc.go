// Package vault is the cryptographic core of carenode's encryption at rest:
// the network's data key, the sealing of personal fields, blind-index
// tokens, and the wrapping of the data key under staff passwords and kiosk
// key files.
//
// Every personal field (name, phones, address, ID number, card number,
// free-text notes) is sealed at the node where it is typed, before it
// reaches bbolt, and the same sealed bytes go into record state, into the
// change log and over the wire. A node that is locked therefore still
// stores, relays and syncs personal data; it only cannot read it.
//
// The package is pure: it reads randomness from an io.Reader and does no
// file or network I/O, except WriteKeyFile and ReadKeyFile. It does no
// logging; every failure is an error wrapping a sentinel in errors.go.
//
// # Key hierarchy
//
//	staff password ─ argon2id(salt, t, m, p) ─► KEK ─┐
//	kiosk key file (32 random bytes) ─ HKDF ──► KEK ─┤ XChaCha20-Poly1305
//	                                                 ▼
//	                  Wrapped data key (one per staff member or kiosk, in bbolt)
//	                                                 │ unwrap at unlock
//	                                                 ▼
//	data key (32 bytes, one per network, never stored in the clear)
//	  ├─ HKDF "carenode vault v1 key id"            ─► key id (4 bytes, public)
//	  ├─ HKDF "carenode vault v1 field encryption"  ─► field key ─ XChaCha20-Poly1305 ─► sealed values
//	  └─ HKDF "carenode vault v1 blind-index token" ─► token key ─ HMAC-SHA256/16 ─► tokens
//
// All nodes of a network share one data key, handed over at enrolment, so
// a value sealed anywhere opens everywhere. Because the data key is wrapped
// rather than derived from a password, adding a staff member, changing or
// resetting a password, or adding a kiosk only makes a new Wrapped (about
// 100 bytes); no sealed value is touched. The data key itself is used only
// as HKDF input; each purpose has its own subkey.
//
// # Formats
//
// A sealed value (Sealer.Seal):
//
//	offset  size  content
//	0       1     SealedVersion, 0xF8
//	1       4     key id of the data key
//	5       24    random nonce
//	29      n+16  XChaCha20-Poly1305 ciphertext of the n-byte plaintext, with tag
//
// so a sealed value is 45 bytes longer than its plaintext. 0xF8 cannot
// start JSON text, nor occur in UTF-8, so IsSealed tells a sealed value from
// a plaintext JSON value by its first byte (during a migration, for
// instance). Later formats will take 0xF9–0xFF. The header is not MACed:
// Open accepts only the exact version and its own key id, so a changed
// header byte is refused anyway (ErrFormat, ErrWrongKey).
//
// A blind-index token (Sealer.Token) is the first 16 bytes of
// HMAC-SHA256(token key, uvarint(len(kind)) | kind | normalized value).
//
// A wrapped key (Wrapped.MarshalBinary) is 104 bytes for a password and 78
// for a key file; the layout is on Wrapped. Its header (kind, key id,
// argon2 parameters, salt) is the AEAD's associated data, so lowering the
// stored cost or swapping the salt makes the unwrap fail. The key file on
// disk is two lines of text: "carenode vault key file v1" and the key in
// base64.
//
// # Associated data: where a value lives
//
// Every sealed value is bound to its place by its associated data,
// FieldAAD(collection, record, field): collection "patients", the id of
// the record the value was written to, and the field path ("name",
// "phones", "contacts/2/phone"). A ciphertext copied into another field,
// another patient or another collection fails with ErrTampered, so someone
// who can write the database cannot move Zhang San's ID number onto Li Si,
// or display a phone as a name. The AAD is not stored; the reader knows
// where it is reading. Sealing happens once, at the origin, and a merge is
// applied by locked nodes too, so a value keeps the AAD of the record it
// was written to even after that record is merged into another. The AAD
// does not bind a version: someone who can write the file can put back an
// older sealed value of the same field of the same record (a rollback);
// stopping that is the change log's job, not the cipher's.
//
// # Why XChaCha20-Poly1305
//
// Nonces are random, because values are sealed on many offline nodes at
// once with one shared key and no counter they could share. XChaCha20's
// 192-bit nonce makes a random collision negligible at any volume a health
// network reaches (after 2^64 values the chance is about 2^-64; a district
// seals perhaps 2^30 values in a decade), where AES-GCM's 96-bit nonce
// would set a ceiling of about 2^32 values per key. It is also fast in
// pure Go without AES instructions, which Raspberry-Pi-class boxes and old
// Celerons lack: sealing or opening a 32-byte field takes under 1 µs on the
// development machine (BenchmarkSeal32, BenchmarkOpen32), so decrypting
// the names and phones of 100,000 patients to build the in-memory search
// index at unlock costs well under a second of CPU.
//
// The construction is spelled out in xchacha.go from x/crypto's HChaCha20
// and ChaCha20-Poly1305, exactly as chacha20poly1305.NewX does it (a test
// checks byte equality), so that the long-lived key stays in memory this
// package can wipe.
//
// # Unlocking
//
// A node starts locked. Vault.Unlock derives a key-encryption key from a
// staff member's password with argon2id (DefaultArgon2Params: 2 passes,
// 64 MiB, 2 lanes; about 0.12 s on the development machine, 2 vCPU AMD
// EPYC, and under a second on a low-end clinic PC or a Raspberry Pi 4) and
// unwraps the data key. A kiosk, which no one logs into, unlocks with
// Vault.UnlockWithKeyFile. Vault.Lock wipes the data key and the Sealer;
// wiping is best effort, since the Go runtime may have copied bytes where
// no library can reach them, but after Lock no API call can use the key.
//
// # Threat model
//
// Personal fields are sealed; everything else is stored as the rest of the
// node decides. This package protects the sealed fields only.
//
// A stolen laptop or desktop that is switched off, a copied database file,
// or a stolen backup reveals:
//   - how many records each collection holds and their ids, sizes and
//     change times: the change log shows which node changed which record
//     when, and how often;
//   - which fields a record has, the collection names and field paths, and
//     each sealed value's length (a sealed value is its plaintext plus 45
//     bytes, so a name's length in bytes, and thus roughly its character
//     count, shows);
//   - every field that is not sealed (today: sex, birth date, diagnoses,
//     allergies, medications, vital signs, tags, appointments — clinical
//     data is readable, and birth date, sex and a rare diagnosis can
//     re-identify someone in a small village);
//   - blind-index tokens, which leak equality only: two patients with the
//     same phone (a family) or the same ID number (a duplicate) have equal
//     tokens. Without the data key a token cannot be computed, so it
//     cannot be checked against a guessed phone or ID number; tokens of one
//     network are unrelated to another's;
//   - the wrapped data keys, each open to an offline guessing attack on one
//     staff password at the cost of one argon2id derivation (64 MiB) per
//     guess. The weakest staff password guards the whole file: the 8-
//     character minimum is a floor, not a defence against a dictionary.
//
// It does not reveal names, phones, addresses, ID numbers, card numbers or
// notes, in any encoding, nor the pinyin of names (the search index is
// built in memory at unlock and never written; TestStolenFile searches for
// all of them in UTF-8, GB18030 and UTF-16).
//
// A stolen kiosk with its key file on the same disk is an unlocked kiosk:
// the thief reads everything that kiosk holds (a partial replica: what
// check-in needs). But the key file unwraps the network's one data key,
// which also opens every other node's sealed values, should the thief
// also obtain another node's file or backup. Keep key files on removable
// media where possible, and after a kiosk theft remove its wrap and rotate
// the data key (a later issue: sealed values carry the key id for it).
// DESIGN.md's promise that a kiosk's key file opens no more than that
// kiosk holds is met for the stolen disk alone, not against a thief who
// also has another node's data; meeting it fully needs per-scope keys.
//
// An attacker who knows one staff password and has the database file (or
// any backup) gets the data key and so every sealed field of every node of
// the network, whatever that staff member's role: roles are enforced by the
// API, not by the cipher. With the password but no file, they get only what
// the API serves to that account. Removing a staff member's wrap stops
// their password from unlocking this vault from then on; it does not
// revoke the wrap in an older backup, which only a data key rotation does.
//
// A running, unlocked node holds the data key in memory: an attacker with
// code execution or a memory dump of it gets everything. This is out of
// scope; Lock narrows the window.
package vault
