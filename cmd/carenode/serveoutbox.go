package main

import (
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	_ "time/tzdata" // [clinic] time_zone must load on a machine without zoneinfo (Windows, slim images)

	"carenode/devices/gsm"
	"carenode/node"
	"carenode/node/identity"
	"carenode/node/nodeconf"
	"carenode/node/outbox"
)

// errSMSSender marks a configured SMS sender that could not be set up.
// The cause is kept as text, not wrapped: a modem port or credentials file
// that does not exist would otherwise match os.ErrNotExist and exit with
// the code for "no node in the directory".
var errSMSSender = errors.New("cannot set up the SMS sender / 无法启用短信发送")

// outboxConfig fills cfg's clinic time zone, outbox config and SMS sender
// from the config file's [clinic] and [outbox] sections. It opens the
// sender the file names (a GSM modem, an HTTP gateway or a file), so a
// mistake stops serve before the node opens. The returned func closes the
// sender; call it after the node has closed.
func outboxConfig(cfg *node.Config, log *slog.Logger) (closeSender func(), err error) {
	ocfg, err := outboxRuntime(cfg.Dir, string(cfg.Identity.ID), cfg.File)
	if err != nil {
		return nil, err
	}
	cfg.Location, cfg.Outbox = ocfg.Location, ocfg
	closeSender = func() {}
	sc := ocfg.Sender
	switch sc.Kind {
	case outbox.SenderNone:
	case outbox.SenderGSM:
		s, err := gsm.OpenSender(sc.Modem)
		if err != nil {
			return nil, fmt.Errorf("%w: outbox.modem_port = %q: %v (is the modem plugged in, and is the port right? / 调制解调器是否已连接，串口是否正确？)",
				errSMSSender, sc.Modem.Port, err)
		}
		cfg.SMSSender = s
		closeSender = func() {
			if err := s.Close(); err != nil {
				log.Warn("close the SMS modem", "port", sc.Modem.Port, "err", err.Error())
			}
		}
	default:
		s, err := outbox.NewSender(sc)
		if err != nil {
			key := "outbox.gateway_credentials_file"
			if sc.Kind == outbox.SenderFile {
				key = "outbox.file_path"
			}
			return nil, fmt.Errorf("%w: %s: %v", errSMSSender, key, err)
		}
		cfg.SMSSender = s
	}
	if sc.Kind != outbox.SenderNone && ocfg.SenderNode != "" && ocfg.SenderNode != ocfg.Node {
		log.Warn("this node has an SMS sender, but outbox.sender_node names another node, which sends every message: this one sends none",
			"sender", sc.Kind, "sender_node", ocfg.SenderNode)
	}
	log.Info("outbox configured", "sender", sc.Kind, "sender_node", ocfg.SenderNode, "time_zone", ocfg.Location.String(),
		"quiet_start", cfg.File.Outbox.QuietStart, "quiet_end", cfg.File.Outbox.QuietEnd)
	return closeSender, nil
}

// outboxRuntime maps the file's [clinic] and [outbox] onto the outbox's
// runtime config for node self, starting from outbox.DefaultConfig so the
// keys the file does not have (backoff, intervals, timeouts) keep the
// outbox's own defaults. Relative paths are relative to the data
// directory dir.
func outboxRuntime(dir, self string, f nodeconf.File) (outbox.Config, error) {
	loc, err := f.Clinic.Location()
	if err != nil {
		return outbox.Config{}, fmt.Errorf("config: %w / 配置中的时区无效", err)
	}
	o := f.Outbox
	c := outbox.DefaultConfig(self)
	c.Location = loc
	c.QuietStart, c.QuietEnd = o.QuietHours()
	c.DefaultExpiry, c.MaxAttempts = o.DefaultExpiry.Duration, o.MaxAttempts
	if o.SenderNode != "" {
		id, err := identity.ParseID(o.SenderNode)
		if err != nil {
			return outbox.Config{}, fmt.Errorf("config: outbox.sender_node: %w / 节点 ID 无效", err)
		}
		c.SenderNode = string(id)
	}
	c.Sender.Kind = o.Sender
	c.Sender.Modem.Port, c.Sender.Modem.Baud = o.ModemPort, o.ModemBaud
	c.Sender.Gateway.URL, c.Sender.Gateway.Auth, c.Sender.Gateway.Template = o.GatewayURL, o.GatewayAuth, o.GatewayTemplate
	c.Sender.Gateway.CredentialsFile = inDir(dir, o.GatewayCredentialsFile)
	c.Sender.File.Path = inDir(dir, o.FilePath)
	if err := c.Validate(); err != nil {
		// nodeconf checked every key, so only a disagreement between the
		// two packages gets here.
		return outbox.Config{}, fmt.Errorf("config [outbox]: %w / 短信发件箱配置无效", err)
	}
	return c, nil
}

// inDir resolves a path from the config file: relative to the data
// directory, "" staying "".
func inDir(dir, path string) string {
	if path == "" || filepath.IsAbs(path) {
		return path
	}
	return filepath.Join(dir, path)
}
