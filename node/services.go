package node

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"carenode/node/booking"
	"carenode/node/chart"
	"carenode/node/education"
	"carenode/node/outbox"
	"carenode/node/plans"
	"carenode/node/survey"
	"carenode/node/vault"
)

// careServices are the care workflows built on the charts: the outbox that
// texts patients, satisfaction surveys and health education.
type careServices struct {
	Outbox    *outbox.Service
	Surveys   *survey.Service
	Education *education.Service
	Bookings  *booking.Service
	Plans     *plans.Service
}

// contacts gives the outbox a patient's phone from the chart service,
// saying "no phone" in the outbox's own terms.
type contacts struct{ charts *chart.Service }

func (c contacts) Contact(ctx context.Context, id string) (string, string, error) {
	phone, lang, err := c.charts.Contact(ctx, id)
	if errors.Is(err, chart.ErrNoPhone) || errors.Is(err, chart.ErrNotFound) {
		return "", "", fmt.Errorf("%w: %w", outbox.ErrNoContact, err)
	}
	return phone, lang, err
}

// openCare builds the care services over n's store and charts.
func (n *Node) openCare(cfg Config) error {
	loc := cfg.Location
	ocfg := cfg.Outbox
	if ocfg.Node == "" {
		ocfg = outbox.DefaultConfig(string(cfg.Identity.ID))
	}
	ocfg.Node = string(cfg.Identity.ID)
	if loc != nil {
		ocfg.Location = loc
	}
	sender := cfg.SMSSender
	if sender == nil && ocfg.Sender.Kind != "" && ocfg.Sender.Kind != outbox.SenderGSM {
		s, err := outbox.NewSender(ocfg.Sender)
		if err != nil {
			return fmt.Errorf("outbox sender: %w", err)
		}
		sender = s
	}
	var err error
	n.Outbox, err = outbox.New(ocfg, outbox.Deps{Records: n.Store, Patients: contacts{n.Charts}, Sender: sender,
		Now: cfg.Now, Logger: cfg.Logger,
		// A reminder for an appointment cancelled or moved meanwhile, perhaps
		// on another node, is dropped rather than sent.
		Wanted: func(m outbox.Message) bool { return n.Bookings == nil || n.Bookings.ReminderWanted(m) }})
	if err != nil {
		return fmt.Errorf("open outbox: %w", err)
	}
	bcfg := booking.DefaultConfig()
	bcfg.Records, bcfg.Node, bcfg.Outbox, bcfg.Logger = n.Store, string(cfg.Identity.ID), n.Outbox, cfg.Logger
	bcfg.ClinicZh, bcfg.ClinicEn = cfg.File.Node.Name, cfg.File.Node.Name
	if cfg.Now != nil {
		bcfg.Now = cfg.Now
	}
	if loc != nil {
		bcfg.Location = loc
	}
	if n.Bookings, err = booking.New(bcfg); err != nil {
		return fmt.Errorf("open appointments: %w", err)
	}
	pcfg := plans.DefaultConfig(n.Store)
	pcfg.Now, pcfg.Logger, pcfg.Queue = cfg.Now, cfg.Logger, n.Outbox
	if loc != nil {
		pcfg.Location = loc
	}
	if n.Plans, err = plans.Open(pcfg); err != nil {
		return fmt.Errorf("open follow-up plans: %w", err)
	}
	n.Metrics.Registry.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "carenode_followup_alerts_unacknowledged",
			Help: "Follow-up alerts no doctor has acknowledged yet."},
			func() float64 { return float64(n.Plans.UnacknowledgedAlerts()) }),
		outboxCollector{box: n.Outbox, desc: prometheus.NewDesc("carenode_outbox_messages",
			"Outbox messages by status.", []string{"status"}, nil)})
	svCfg := survey.DefaultConfig(n.Store)
	svCfg.Now, svCfg.Logger, svCfg.Queue = cfg.Now, cfg.Logger, n.Outbox
	if loc != nil {
		svCfg.Location = loc
	}
	if n.Surveys, err = survey.New(svCfg); err != nil {
		return fmt.Errorf("open surveys: %w", err)
	}
	edCfg := education.DefaultConfig(n.Store, n.Charts)
	edCfg.Now, edCfg.Logger, edCfg.Queue = cfg.Now, cfg.Logger, n.Outbox
	if loc != nil {
		edCfg.Location = loc
	}
	if n.Education, err = education.New(edCfg); err != nil {
		return fmt.Errorf("open education: %w", err)
	}
	return nil
}

// unlockCare opens the care services' sealed fields with the data key, after
// the charts.
func (n *Node) unlockCare(sl *vault.Sealer) error {
	n.Surveys.Unlock(sl)
	return n.Outbox.Unlock(sl)
}

// runCare runs the care services' background loops until ctx ends.
func (n *Node) runCare(ctx context.Context) {
	go n.Bookings.Run(ctx, 10*time.Minute)
	go n.Plans.Run(ctx, time.Hour)
	go func() {
		if err := n.Outbox.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
			n.log.Error("outbox sender stopped", "err", err)
		}
	}()
}

// closeCare stops the care services' watchers.
func (n *Node) closeCare() {
	if n.Outbox != nil {
		n.Outbox.Close()
	}
	if n.Bookings != nil {
		n.Bookings.Close()
	}
	if n.Plans != nil {
		n.Plans.Close()
	}
}

// outboxCollector counts the outbox's messages by status at each scrape.
type outboxCollector struct {
	box  *outbox.Service
	desc *prometheus.Desc
}

func (c outboxCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c outboxCollector) Collect(ch chan<- prometheus.Metric) {
	counts, err := c.box.Counts()
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.desc, err)
		return
	}
	for st, k := range counts {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(k), string(st))
	}
}
