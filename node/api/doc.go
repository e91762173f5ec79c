// Package api is the node's HTTP JSON API under /api/v1/: the generic
// record API that domain code builds on, the change feed sync and tests read,
// status and hot backup.
//
// Every error is JSON {"error":{"code","message","zh"}} with the matching
// status; "message" is English, "zh" a Simplified Chinese summary for
// people. Request bodies are size-limited and decoded strictly: an unknown
// field is refused with its name, so a typo never silently drops data.
//
// Record JSON: field values are any JSON value and are returned as written.
// A write names, per field, the stamps of the values it replaces ("seen");
// when it names none, the node uses what it holds at commit time, which is
// what a person editing the screen they see means.
package api
