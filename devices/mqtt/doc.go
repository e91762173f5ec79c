// Package mqtt is the node's embedded MQTT broker for devices that publish
// readings (thermometers, glucometers, gateways), built on
// github.com/mochi-mqtt/server/v2.
//
// Topic scheme: a device publishes to
//
//	carenode/<node-id>/devices/<device-id>/readings
//
// where <device-id> is the MQTT username it connected with; it may publish
// to that one topic only and subscribe to none. The payload is either an
// HL7 v2 ORU^R01 message (it starts with "MSH") or the JSON document
// described by reading.schema.json beside this file:
//
//	{"id": "msg-0042", "time": "2026-03-01T10:15:02+08:00",
//	 "readings": [{"type": "body-temperature", "value": "37.2", "unit": "Cel"},
//	              {"loinc": "14743-9", "value": "102", "unit": "mg/dL"}]}
//
// Devices are accounts, kept by a Book as records of the node's store (so
// they replicate like other data): a CONNECT is accepted only when its
// user name (the device id) has an account, not revoked, whose password
// matches. Passwords are kept as argon2id hashes (node/auth), lighter than
// a person's since device secrets are long and random, and a password
// once verified is remembered as its SHA-256 so a reconnecting device
// does not pay the hash again. A refused device is recorded as asking to
// join (client id, address, first and last seen, attempts; at most one
// write a minute per device), with a hash of the password it offered: an
// admin who approves it may keep that password, so the device connects on
// its next try with nothing to change on its side, or give it a new one.
// A rejected device leaves the list and stays rejected however often it
// tries. A device may subscribe only to its own CommandTopic, reserved for
// messages from the node.
//
// A QoS 1 (or 2) PUBLISH is acknowledged only after Sink.Store returned
// nil: the store runs inside the broker's publish hook, before mochi
// writes the PUBACK. When Store fails the broker sends no PUBACK and closes
// the connection, so the device, which keeps its session (clean session
// off), sends the message again when it reconnects. A payload that cannot
// be read is still stored, raw, with the reason in Batch.Unmapped, and
// acknowledged: MQTT 3.1.1 has no negative acknowledgement, and sending it
// again would not help.
//
// With Config.SessionFile set, sessions of devices that connect with
// clean session off (their subscriptions, messages in flight to them)
// outlive a restart, in a bbolt file of mochi's storage hook beside the
// node's store (see sessions.go for the one fix it needed). A device
// resends what was not acknowledged either way.
//
// Subscriber is the alternative to the embedded broker: it reads the same
// topics from an external broker (Mosquitto, say) with paho.
package mqtt
