package booking

import (
	"context"
	"fmt"
	"log/slog"
	"time"
	_ "time/tzdata" // a clinic machine (Windows, a slim container) may have no zoneinfo

	"carenode/node/outbox"
	"carenode/node/store"
)

// Records is what the service needs of the node's store.
type Records interface {
	Write(ctx context.Context, req store.WriteRequest) (store.WriteResult, error)
	Get(coll, id string) (store.RecordView, error)
	List(coll, after string, limit int) ([]store.RecordView, error)
	// Watch tells the appointment index which records a commit changed,
	// local or from a peer.
	Watch(fn func([]store.Changed)) (stop func())
}

var _ Records = (*store.Store)(nil)

// Queue takes appointment reminders: the node's outbox. Queue may block
// briefly (it writes to the store) and is called from the goroutine that
// books or reschedules; queueing a Key already queued must add nothing.
type Queue interface {
	Queue(ctx context.Context, m outbox.Message) error
}

// Config configures a Service. Start from DefaultConfig.
type Config struct {
	Records Records
	// Node is this node's id, written into the history events it makes.
	Node string
	// Location is the clinic's time zone: it decides the calendar day of a
	// slot, "today" for check-in and the end of day for no-shows.
	Location *time.Location
	// Outbox receives reminders; nil sends none.
	Outbox Queue
	// ClinicZh and ClinicEn name the clinic in reminders.
	ClinicZh, ClinicEn string
	// MaxRange caps the days one slot listing spans.
	MaxRange int
	// Horizon is how many days ahead a recommendation looks.
	Horizon int
	// Now reads the wall clock for Run's periodic no-show pass; every other
	// method takes "now" from its caller.
	Now    func() time.Time
	Logger *slog.Logger
}

// DefaultLocation is the clinic time zone when none is configured.
const DefaultLocation = "Asia/Shanghai"

// DefaultConfig returns the defaults: Asia/Shanghai, 62-day listings,
// 28-day recommendations.
func DefaultConfig() Config {
	loc, err := time.LoadLocation(DefaultLocation)
	if err != nil { // cannot happen: time/tzdata is linked in
		loc = time.FixedZone("CST", 8*3600)
	}
	return Config{Location: loc, MaxRange: 62, Horizon: 28, Now: time.Now, Logger: slog.Default(),
		ClinicZh: "诊所", ClinicEn: "the clinic"}
}

func (c *Config) validate() error {
	d := DefaultConfig()
	if c.Records == nil {
		return fmt.Errorf("booking config: no Records")
	}
	if c.Location == nil {
		c.Location = d.Location
	}
	if c.MaxRange <= 0 {
		c.MaxRange = d.MaxRange
	}
	if c.Horizon <= 0 {
		c.Horizon = d.Horizon
	}
	if c.Now == nil {
		c.Now = d.Now
	}
	if c.Logger == nil {
		c.Logger = d.Logger
	}
	if c.ClinicZh == "" {
		c.ClinicZh = d.ClinicZh
	}
	if c.ClinicEn == "" {
		c.ClinicEn = d.ClinicEn
	}
	return nil
}

// Location returns the clinic's time zone.
func (s *Service) Location() *time.Location { return s.cfg.Location }
