package nodeconf

import (
	"net"
	"strconv"
	"strings"
	"time"
)

// SyncSection is the [sync] section: how this node syncs with its peers.
// serve's command-line flags override each key.
type SyncSection struct {
	// Listen is the mutual-TLS listener for peers and enrolment, as
	// host:port; "" means the role's default (hubs and clinic desks
	// 0.0.0.0:7443, kiosks and nurse laptops none).
	Listen string `toml:"listen"`
	// Interval is the wait between scheduled syncs with the hub and
	// discovered peers; 0 turns scheduled syncs off.
	Interval Duration `toml:"interval"`
	// Debounce is how soon after a local write the node syncs with its
	// peers; 0 waits for the schedule.
	Debounce Duration `toml:"debounce"`
	// DiscoveryBind is ADDR:PORT for LAN discovery; "" turns it off.
	DiscoveryBind string `toml:"discovery_bind"`
	// DiscoveryJoin lists seed addresses, host:port, separated by commas
	// (as serve's --discovery-join).
	DiscoveryJoin string `toml:"discovery_join"`
	// DiscoveryAdvertise is the host announced in this node's sync URL.
	DiscoveryAdvertise string `toml:"discovery_advertise"`
}

func defaultSync() SyncSection {
	return SyncSection{Interval: Duration{time.Minute}, Debounce: Duration{2 * time.Second}}
}

// Seeds returns the discovery seeds, host:port each.
func (s SyncSection) Seeds() []string {
	var out []string
	for j := range strings.SplitSeq(s.DiscoveryJoin, ",") {
		if j = strings.TrimSpace(j); j != "" {
			out = append(out, j)
		}
	}
	return out
}

// problems returns one *ValueError for each invalid key of the section.
func (s SyncSection) problems() []error {
	var errs []error
	add := func(key, value, allowed, allowedZh string) {
		errs = append(errs, &ValueError{Key: key, Value: value, Allowed: allowed, AllowedZh: allowedZh})
	}
	if s.Listen != "" {
		if msg, _ := checkListen(s.Listen); msg != "" {
			add("sync.listen", quote(s.Listen), msg+`, or "" for the role's default`,
				`须为“主机:端口”，如 "0.0.0.0:7443"，或 "" 表示按角色默认`)
		}
	}
	if s.Interval.Duration < 0 {
		add("sync.interval", quote(s.Interval.String()), `must not be negative: a duration like "1m", or "0s" to turn scheduled syncs off`,
			`不能为负数：如 "1m"，或 "0s" 表示关闭定时同步`)
	}
	if s.Debounce.Duration < 0 {
		add("sync.debounce", quote(s.Debounce.String()), `must not be negative: a duration like "2s", or "0s" to wait for the schedule`,
			`不能为负数：如 "2s"，或 "0s" 表示只按定时同步`)
	}
	if s.DiscoveryBind != "" {
		host, port, err := net.SplitHostPort(s.DiscoveryBind)
		if _, perr := strconv.ParseUint(port, 10, 16); err != nil || perr != nil || net.ParseIP(host) == nil {
			add("sync.discovery_bind", quote(s.DiscoveryBind), `must be an IP address and port, like "0.0.0.0:7946", or "" for no discovery`,
				`须为“IP 地址:端口”，如 "0.0.0.0:7946"，或 "" 表示不启用局域网发现`)
		}
	} else if s.DiscoveryJoin != "" || s.DiscoveryAdvertise != "" {
		add("sync.discovery_bind", quote(""), "is needed by discovery_join and discovery_advertise",
			"设置 discovery_join 或 discovery_advertise 时必须同时设置")
	}
	for _, j := range s.Seeds() {
		host, port, err := net.SplitHostPort(j)
		if p, perr := strconv.ParseUint(port, 10, 16); err != nil || perr != nil || p == 0 || host == "" {
			add("sync.discovery_join", quote(s.DiscoveryJoin), `must be "host:port" separated by commas, like "192.168.1.10:7946,192.168.1.11:7946"`,
				`须为以逗号分隔的“主机:端口”，如 "192.168.1.10:7946,192.168.1.11:7946"`)
			break
		}
	}
	if a := s.DiscoveryAdvertise; a != "" {
		if _, _, err := net.SplitHostPort(a); err == nil || (net.ParseIP(a) == nil && !validHostname(a)) {
			add("sync.discovery_advertise", quote(a), "must be a host name or IP address without a port",
				"须为不带端口的主机名或 IP 地址")
		}
	}
	return errs
}
