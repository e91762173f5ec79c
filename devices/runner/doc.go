// Package runner starts and stops the device front ends a node's config
// asks for — a serial port per device (devices/serialport), the HL7/MLLP
// TCP listener (devices/mllp), and the embedded MQTT broker or an external
// broker's subscriber (devices/mqtt) — all storing into one devices.Sink,
// and reports their state together for the API and metrics.
//
// It is a package of its own, not part of devices, because the front ends
// import devices (for Sink and Batch).
//
// FromFile turns the [devices] section of the config file into a Config;
// Start starts it; Status reports each part; Close stops them all.
// Listeners that cannot listen fail Start (a port in use is a mistake to
// fix now); serial ports that cannot be opened do not (a monitor is often
// plugged in after the node starts): they keep trying and say why in
// their status.
package runner
