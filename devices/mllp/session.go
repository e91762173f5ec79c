package mllp

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"sync/atomic"
	"time"

	"carenode/devices"
	"carenode/devices/hl7"
)

// Log keys.
const (
	logSource    = "source"
	logControlID = "control_id"
	logAck       = "ack"
	logErr       = "err"
)

// Handler turns one HL7 message into a stored batch and its ACK. Its
// fields are read-only once it is in use; one Handler may serve many
// sessions at once.
type Handler struct {
	Sink devices.Sink
	// DeviceID, when set, is the device id of every batch (a serial port
	// whose device the configuration names); otherwise the message's.
	DeviceID string
	// Application and Facility name this node in the ACK's MSH-3/4.
	Application, Facility hl7.HD
	// StoreTimeout bounds one Sink.Store; 0 means DefaultStoreTimeout.
	StoreTimeout time.Duration
	// Now is the node's clock; nil means time.Now.
	Now func() time.Time
	// Logger; nil means slog.Default.
	Logger *slog.Logger

	seq   atomic.Uint64
	stats counters
}

// DefaultStoreTimeout is long enough for an fsync on a slow SD card and
// shorter than the ACK timeout of the monitors we know (30 s and more).
const DefaultStoreTimeout = 10 * time.Second

type counters struct {
	accepted, errors, rejected, badFrames atomic.Uint64
}

// Stats counts what a Handler answered.
type Stats struct {
	Accepted  uint64 // AA: stored
	Errors    uint64 // AE: Store failed
	Rejected  uint64 // AR: the message could not be read
	BadFrames uint64 // frames too large or cut short (also answered AR)
}

// Stats returns the counts so far.
func (h *Handler) Stats() Stats {
	return Stats{h.stats.accepted.Load(), h.stats.errors.Load(), h.stats.rejected.Load(), h.stats.badFrames.Load()}
}

func (h *Handler) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

func (h *Handler) logger() *slog.Logger {
	if h.Logger != nil {
		return h.Logger
	}
	return slog.Default()
}

// controlID makes the ACK's own MSH-10: unique within this process and,
// with its time prefix, across restarts.
func (h *Handler) controlID(now time.Time) string {
	return "CN" + strconv.FormatInt(now.Unix(), 36) + "-" + strconv.FormatUint(h.seq.Add(1), 10)
}

// reasonMax bounds the reason in an ACK: devices show it on small screens,
// and an error from the store must not spill much into a device's log.
const reasonMax = 200

// Handle parses msg (one MLLP frame's content), stores it through the Sink
// and returns the ACK to send and whether the batch was stored. source
// names the connection for the batch and the log.
func (h *Handler) Handle(ctx context.Context, msg []byte, source string) (ack []byte, stored bool) {
	now := h.now()
	log := h.logger().With(logSource, source)
	m, err := hl7.Parse(msg)
	if err != nil {
		h.stats.rejected.Add(1)
		var hdr *hl7.Header
		if m != nil {
			hdr = &m.Header
		}
		log.Warn("HL7 message refused", logErr, err)
		return h.ack(hdr, hl7.AR, hl7.ErrorCodeFor(err), "message refused: "+err.Error(), now), false
	}
	b := devices.BatchFromHL7(m, h.DeviceID)
	b.Source, b.Received = source, now
	b.Raw = bytes.Clone(msg) // as received, leading blank lines too
	timeout := h.StoreTimeout
	if timeout <= 0 {
		timeout = DefaultStoreTimeout
	}
	sctx, cancel := context.WithTimeout(ctx, timeout)
	err = h.Sink.Store(sctx, b)
	cancel()
	if err != nil {
		h.stats.errors.Add(1)
		log.Error("HL7 message not stored", logControlID, m.ControlID, logErr, err)
		return h.ack(&m.Header, hl7.AE, "207", "not stored, send again: "+err.Error(), now), false
	}
	h.stats.accepted.Add(1)
	log.Debug("HL7 message stored", logControlID, m.ControlID, "observations", len(b.Observations))
	return h.ack(&m.Header, hl7.AA, "", "", now), true
}

func (h *Handler) ack(hdr *hl7.Header, code hl7.AckCode, errCode, text string, now time.Time) []byte {
	if len(text) > reasonMax {
		text = text[:reasonMax] + "…"
	}
	a := hl7.Ack{Code: code, ErrorCode: errCode, Text: text, ControlID: h.controlID(now), Time: now,
		Application: h.Application, Facility: h.Facility}
	b, err := hl7.BuildACK(hdr, a)
	if err != nil {
		// Only an unknown code or an empty control id fail, and we set both.
		panic(fmt.Sprintf("mllp: building ACK: %v", err))
	}
	return b
}

// Session reads MLLP frames from rw and answers each on rw until the
// stream ends, a read fails or ctx ends. Bytes outside frames are skipped;
// a frame too large or cut short is counted and answered with AR (no
// MSA-2, since its header was not kept). before, when not nil, is called
// before each frame is read (the TCP server sets its read deadline there);
// an error from it ends the session.
//
// Session returns nil when the stream ended cleanly between frames.
func (h *Handler) Session(ctx context.Context, rw io.ReadWriter, source string, maxFrame int, before func() error) error {
	r := hl7.NewReader(rw, maxFrame)
	w := hl7.NewWriter(rw)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		if before != nil {
			if err := before(); err != nil {
				return err
			}
		}
		msg, err := r.ReadFrame()
		switch {
		case err == nil:
		case errors.Is(err, io.EOF):
			return nil
		case errors.Is(err, hl7.ErrFrameTooLarge), errors.Is(err, hl7.ErrFrameTruncated):
			h.stats.badFrames.Add(1)
			h.logger().Warn("bad MLLP frame", logSource, source, logErr, err)
			if werr := w.WriteFrame(h.ack(nil, hl7.AR, "100", err.Error(), h.now())); werr != nil {
				return werr
			}
			continue
		default:
			return err
		}
		ack, _ := h.Handle(ctx, msg, source)
		if err := w.WriteFrame(ack); err != nil {
			return err
		}
	}
}
