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
// Devices are accounts: a CONNECT is accepted only when the Accounts the
// node passes in know the username and password. A refused device is
// remembered in Pending, the "devices asking to join" list an admin
// approves from.
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
// Sessions live in the broker's memory; the node adds a storage hook if
// they must outlive a restart (a device resends what was not acknowledged
// either way).
package mqtt
