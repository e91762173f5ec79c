// Package outbox queues SMS for patients (appointment reminders, follow-up
// summaries, survey links, education) and sends each exactly once, from
// one node, when it is due: outside quiet hours, before it expires, with
// retries and backoff, through a GSM modem (devices/gsm), an HTTP SMS
// gateway (Gateway) or a file for demos (FileSender).
//
// # Messages are records
//
// A message is a record of the "outbox" collection in the node's store, so
// it waits for connectivity and syncs like everything else. Its id is a
// hash of the message's Key (RecordID): queueing a key twice, on one node
// or on two, makes one record. Queue on a node that already holds the key
// adds nothing. Registers hold what the message is (key, patient, kind,
// about, notBefore, expires, queued) and its text; the text, which names
// the patient's appointment or condition, is sealed with the network's
// data key (vault, bound to outbox/<id>/text) like every personal field,
// so a stolen disk shows that a message exists and its status, not what
// it says. The number it goes to is read from the chart at send time
// (Patients.Contact) and stored only sealed, in the attempt's history.
// Because sealing needs the key, Queue returns ErrLocked on a locked node;
// Queue is idempotent, so a service queues again later.
//
// Everything that happens to a message is an append-only fact in its
// "events" list: start (an attempt claimed), sent, failed, retry, cancel.
// The status is a pure function of the joined facts and the time
// (evaluate), so every node holding the same facts shows the same status,
// whatever order they arrived in. Precedence: sent (a message cannot be
// unsent: a cancel made elsewhere while it was being sent loses), then
// cancelled, sending (a start without an end), failed (a failure the
// sending node marked final), expired (past Expires), queued. A retry
// forgets the failures that came before it.
//
// # Exactly one node sends
//
// Each message names its sending node in a set "senders": the clinic's
// Config.SenderNode when one is configured (the node with the modem or the
// gateway), otherwise the node that queued it. The responsible node is the
// least id in the set, and only that node's loop ever claims an attempt.
// With a SenderNode configured on every node (the recommended setup), two
// nodes that queue the same key while apart both name the same node: the
// other never sends, and after sync the record is one (tested with two
// stores exchanging changes). Without one, each of two partitioned nodes
// names itself and, not knowing of the other, may send before they sync;
// afterwards both agree on the least id and the history shows both sends.
// That duplicate is the price of sending offline without a designated
// sender, which is why the config has one.
//
// On the sending node an attempt is: read the number, append a "start"
// fact (durable, the claim), hand the SMS to the Sender, append "sent" or
// "failed". If the node dies between start and end, nobody knows whether
// the network took the message; the next Tick marks such an attempt
// failed ("outcome unknown") instead of sending again, so a crash can lose
// a reminder for a person to retry but never sends it twice.
//
// # When
//
// A message is due at its NotBefore (or at once), after a failure at
// MinBackoff doubled per failure up to MaxBackoff; after MaxAttempts
// failures, or one permanent failure (IsPermanent: a rejected number, a
// patient without a phone) it is failed until someone retries it. Nothing
// is sent in quiet hours (default 20:00–08:00 clinic time): a message due
// then waits until they end. A message past Expires (default
// DefaultExpiry after it was due) is never sent: a reminder for an
// appointment that has passed is worthless. Just before a send the outbox
// asks Deps.Wanted, when set, whether the message is still wanted (the
// booking service says no for a reminder whose appointment was moved or
// cancelled, perhaps on another node); one that is not is cancelled with
// that reason instead of sent.
//
// # Loop
//
// Run calls Tick at every Interval and whenever the store reports a change
// to the collection (a message queued here or synced in, a retry). Tick
// takes the time as an argument, so tests drive it without sleeping. It
// keeps an in-memory set of the messages that may still need this node,
// built by one scan at the first Tick and kept current through
// store.Watch, so a tick does not read finished messages.
package outbox
