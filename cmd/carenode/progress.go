package main

import (
	"fmt"
	"io"
	"time"

	syncsession "carenode/sync/session"
)

// progress draws a one-line progress bar on a terminal and nothing
// elsewhere (a log file does not want carriage returns).
type progress struct {
	w     io.Writer
	label string
	on    bool
	last  time.Time
	drawn bool
}

func newProgress(w io.Writer, label string) *progress {
	return &progress{w: w, label: label, on: isTerminal(w)}
}

func (p *progress) update(done, total int64) {
	if !p.on || (time.Since(p.last) < 100*time.Millisecond && done < total) {
		return
	}
	p.last = time.Now()
	frac := 1.0
	if total > 0 {
		frac = float64(done) / float64(total)
	}
	fmt.Fprintf(p.w, "\r%s [%s] %3.0f%% %s/%s", p.label, bar(frac), frac*100, human(done), human(total))
	p.drawn = true
}

// bar draws frac (0..1) as a bar of 30 characters.
func bar(frac float64) string {
	const width = 30
	n := int(min(max(frac, 0), 1) * width)
	b := make([]byte, width)
	for i := range b {
		if i < n {
			b[i] = '#'
		} else {
			b[i] = '.'
		}
	}
	return string(b)
}

// syncUpdate draws a sync session's progress: changes and bytes each way.
func (p *progress) syncUpdate(s syncsession.Progress) {
	if !p.on || time.Since(p.last) < 100*time.Millisecond {
		return
	}
	p.last = time.Now()
	fmt.Fprint(p.w, "\r"+syncLine(p.label, s)+"\x1b[K")
	p.drawn = true
}

// syncLine is the text of a sync progress line. The totals come from the
// vectors at hello time; a scope may filter some out, so the bar may end
// short of 100%.
func syncLine(label string, s syncsession.Progress) string {
	done, total := s.Sent+s.Received, s.ToSend+s.ToReceive
	frac := 1.0
	if total > 0 {
		frac = float64(done) / float64(total)
	}
	return fmt.Sprintf("%s [%s] %3.0f%% ↑ %d/%d %s ↓ %d/%d %s", label, bar(frac), min(frac, 1)*100,
		s.Sent, s.ToSend, human(s.BytesSent), s.Received, s.ToReceive, human(s.BytesReceived))
}

func (p *progress) done() {
	if p.drawn {
		fmt.Fprintln(p.w)
	}
}

func human(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
