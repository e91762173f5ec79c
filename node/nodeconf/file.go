package nodeconf

import "time"

// LogLevel is the least severe kind of log message written.
type LogLevel string

// The log levels, from most to least verbose.
const (
	LevelDebug LogLevel = "debug"
	LevelInfo  LogLevel = "info"
	LevelWarn  LogLevel = "warn"
	LevelError LogLevel = "error"
)

// LogFormat is how log lines are written.
type LogFormat string

// The log formats.
const (
	// FormatAuto writes text on a terminal and JSON otherwise, so a person
	// watching gets readable lines and a log collector gets structure.
	FormatAuto LogFormat = "auto"
	FormatText LogFormat = "text"
	FormatJSON LogFormat = "json"
)

// File is the config file a person writes. Its zero value is not useful;
// start from Default.
type File struct {
	Node  NodeSection  `toml:"node"`
	HTTP  HTTPSection  `toml:"http"`
	Store StoreSection `toml:"store"`
	Log   LogSection   `toml:"log"`
	// Devices is the [devices] section (devices.go).
	Devices DevicesSection `toml:"devices"`
	// Sync is the [sync] section (sync.go).
	Sync SyncSection `toml:"sync"`
	// Clinic and Outbox are the [clinic] and [outbox] sections (outbox.go).
	Clinic ClinicSection `toml:"clinic"`
	Outbox OutboxSection `toml:"outbox"`
}

// NodeSection is the [node] section: who this node is.
type NodeSection struct {
	// Name is shown to people on other nodes and in reports.
	Name string `toml:"name"`
	Role Role   `toml:"role"`
}

// HTTPSection is the [http] section: the node's HTTP API.
type HTTPSection struct {
	// Listen is host:port; an empty host means every interface.
	Listen       string   `toml:"listen"`
	MaxBodyBytes int64    `toml:"max_body_bytes"`
	ReadTimeout  Duration `toml:"read_timeout"`
	WriteTimeout Duration `toml:"write_timeout"`
}

// StoreSection is the [store] section: the node's local database.
type StoreSection struct {
	// MaxBatch is the most writes group commit puts in one transaction.
	MaxBatch int `toml:"max_batch"`
	// MaxClockSkew is how far a peer's clock may run ahead of this node's.
	MaxClockSkew Duration `toml:"max_clock_skew"`
	// NoSync skips fsync. Only for benchmarks: on power loss it loses
	// writes that were already acknowledged.
	NoSync bool `toml:"no_sync"`
	// FoldAfter is how many changes from other nodes may wait in the change
	// log before their records are rewritten in bulk; -1 rewrites them with
	// every batch (slower, least memory).
	FoldAfter int `toml:"fold_after"`
}

// LogSection holds the keys of the file's log section: how the node logs.
type LogSection struct {
	Level  LogLevel  `toml:"level"`
	Format LogFormat `toml:"format"`
}

// Default returns the configuration of a new node with the given name and
// role. Load starts from Default("", ""), so every key left out of a file
// takes the value set here.
func Default(name string, role Role) File {
	return File{
		Node: NodeSection{Name: name, Role: role},
		HTTP: HTTPSection{
			// Loopback by default: a new node should not be reachable
			// from the network until someone decides it should be.
			Listen:       "127.0.0.1:7420",
			MaxBodyBytes: 1 << 20,
			ReadTimeout:  Duration{30 * time.Second},
			WriteTimeout: Duration{60 * time.Second},
		},
		Store: StoreSection{
			MaxBatch:     1024,
			MaxClockSkew: Duration{10 * time.Minute},
			NoSync:       false,
			FoldAfter:    16384,
		},
		Log: LogSection{
			Level:  LevelInfo,
			Format: FormatAuto,
		},
		Devices: defaultDevices(),
		Sync:    defaultSync(),
		Clinic:  defaultClinic(),
		Outbox:  defaultOutbox(),
	}
}
