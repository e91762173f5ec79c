package node

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"carenode/node/api"
	"carenode/node/readings"
	"carenode/node/vault"
)

// The device front ends (serial ports, the HL7/MLLP listener, the MQTT
// broker) live in devices/ and are started by devices/runner, which node
// may not import; they store through devices/readingsink into the node's
// readings service, Node.Readings. What node does for them is here: build
// the service, give it the drop box when the node unlocks, and stop the
// front ends before the store closes (AttachDevices).

// openReadings builds the readings service over the store; Open calls it.
func (n *Node) openReadings() error {
	cfg := readings.DefaultConfig(n.Store)
	cfg.Patients, cfg.Metrics, cfg.Now, cfg.Logger = n.Charts, n.Metrics.NewReadings(), n.cfg.Now, n.cfg.Logger
	svc, err := readings.Open(cfg)
	if err != nil {
		return fmt.Errorf("open device readings: %w", err)
	}
	n.Readings = svc
	return nil
}

// unlockReadings hands the readings service the drop box of the data key
// the node was just unlocked with, so it can open raw messages and, on a
// first unlock, store the public key that lets a locked node seal them
// (and bind the readings that waited only for the unlock).
func (n *Node) unlockReadings(box *vault.DropBox) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return n.Readings.Unlock(ctx, box)
}

// unlockReadingsFrom is unlockReadings for the staff directory's unlock
// hook: dropBox is the unlocked vault's (staff.Directory.DropBox). A
// failure is logged, not returned: staff still sign in, and the next
// unlock tries again; meanwhile a never-unlocked node refuses readings
// (the devices resend) and an unlocked one cannot open raw messages.
func (n *Node) unlockReadingsFrom(dropBox func() (*vault.DropBox, error)) {
	box, err := dropBox()
	if err == nil {
		err = n.unlockReadings(box)
	}
	if err != nil {
		n.log.Error("device readings not unlocked", "err", err)
	}
}

// devicesState holds the stoppers of the device front ends.
type devicesState struct {
	mu    sync.Mutex
	stops []func() error
	admin atomic.Pointer[api.DeviceAdmin]
}

// AttachDevices registers stop, which stops device front ends storing
// into n.Readings (devices/runner's Close). Close calls it before the
// store closes, so a Store under way finishes (or fails, and the device
// is not acknowledged) first and none starts after.
func (n *Node) AttachDevices(stop func() error) {
	n.devices.mu.Lock()
	n.devices.stops = append(n.devices.stops, stop)
	n.devices.mu.Unlock()
}

// stopDevices stops what AttachDevices registered, last first.
func (n *Node) stopDevices() error {
	n.devices.mu.Lock()
	stops := n.devices.stops
	n.devices.stops = nil
	n.devices.mu.Unlock()
	var errs []error
	for i := len(stops) - 1; i >= 0; i-- {
		if err := stops[i](); err != nil {
			errs = append(errs, fmt.Errorf("stop device front ends: %w", err))
		}
	}
	if n.Readings != nil {
		n.Readings.Close()
	}
	return errors.Join(errs...)
}

// SetDeviceAdmin hands the API the device front ends' admin (MQTT device
// accounts, asking list, port status) once cmd/carenode has started them.
func (n *Node) SetDeviceAdmin(d api.DeviceAdmin) { n.devices.admin.Store(&d) }

// deviceAdmin is the API's late-bound view of SetDeviceAdmin.
func (n *Node) deviceAdmin() api.DeviceAdmin {
	if p := n.devices.admin.Load(); p != nil {
		return *p
	}
	return nil
}
