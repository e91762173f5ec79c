package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"carenode/devices/mqtt"
	"carenode/devices/readingsink"
	"carenode/devices/runner"
	"carenode/node"
	"carenode/node/api"
)

// startDevices starts the device front ends of the config file's [devices]
// section (serial ports, the HL7/MLLP listener, the embedded MQTT broker or
// an external one), storing into n's readings service, and hands the API
// their admin. node may not import devices, so this lives here. The node
// stops them before its store closes.
func startDevices(n *node.Node, cfg node.Config, log *slog.Logger) error {
	d := cfg.File.Devices
	rc, err := runner.FromFile(d, string(cfg.Identity.ID), cfg.Dir)
	if err != nil {
		return fmt.Errorf("devices: %w", err)
	}
	rc.Logger = log
	bc := mqtt.DefaultBookConfig(n.Store)
	bc.Logger = log
	if cfg.Now != nil {
		bc.Now = cfg.Now
	}
	book, err := mqtt.NewBook(bc)
	if err != nil {
		return fmt.Errorf("device accounts: %w", err)
	}
	r, err := runner.Start(rc, readingsink.New(n.Readings), book)
	if err != nil {
		return fmt.Errorf("devices: %w / 设备接入启动失败：%s", err, runner.MessageZh(err))
	}
	n.AttachDevices(r.Close)
	n.SetDeviceAdmin(deviceAdmin{book: book, runner: r})
	if err := n.Metrics.Registry.Register(newDeviceCollector(r)); err != nil {
		return fmt.Errorf("device metrics: %w", err)
	}
	return nil
}

// deviceAdmin is api.DeviceAdmin over the MQTT device accounts and the
// runner.
type deviceAdmin struct {
	book   *mqtt.Book
	runner *runner.Runner
}

func (a deviceAdmin) Asking() (any, error) {
	l, err := a.book.Pending()
	if l == nil {
		l = []mqtt.JoinRequest{}
	}
	return l, err
}

func (a deviceAdmin) Accounts() (any, error) {
	l, err := a.book.Accounts()
	if l == nil {
		l = []mqtt.Account{}
	}
	return l, err
}

func (a deviceAdmin) Status() any { return a.runner.Status() }

func (a deviceAdmin) Approve(ctx context.Context, device, password, by string) error {
	return deviceErr(a.book.Approve(ctx, device, password, by))
}

func (a deviceAdmin) Reject(ctx context.Context, device, reason, by string) error {
	return deviceErr(a.book.Reject(ctx, device, reason, by))
}

func (a deviceAdmin) Revoke(ctx context.Context, device, by string) error {
	return deviceErr(a.book.Revoke(ctx, device, by))
}

func (a deviceAdmin) MessageZh(err error) string { return mqtt.MessageZh(err) }

// deviceErr tells the API which of the book's errors are a missing device
// and which a refused change.
func deviceErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, mqtt.ErrNoAccount), errors.Is(err, mqtt.ErrNoRequest):
		return fmt.Errorf("%w: %w", api.ErrNoSuchDevice, err)
	case errors.Is(err, mqtt.ErrDeviceID), errors.Is(err, mqtt.ErrNotAdoptable):
		return fmt.Errorf("%w: %w", api.ErrDeviceRefused, err)
	}
	return err
}
