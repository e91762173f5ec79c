package bench

import (
	"fmt"
	"io"
	"slices"
	"strings"
)

// Median is one (system, phase, link)'s medians over its runs.
type Median struct {
	System, Phase, Link string
	Runs                int
	WallMs              float64
	Up, Down, Requests  float64
	Conns               float64
	CPUms               float64 // desk and hub together
	DeskRSSKiB          float64
	HubRSSKiB           float64
}

// Bytes is both ways together.
func (m Median) Bytes() float64 { return m.Up + m.Down }

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// Medians groups samples by system, phase and link, in the order first
// seen, and takes each figure's median (each on its own: a median run is
// not one run).
func Medians(samples []Sample) []Median {
	type key struct{ sys, phase, link string }
	var order []key
	groups := map[key][]Sample{}
	for _, s := range samples {
		k := key{s.System, s.Phase, s.Link}
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], s)
	}
	out := make([]Median, 0, len(order))
	for _, k := range order {
		g := groups[k]
		pick := func(f func(Sample) float64) float64 {
			xs := make([]float64, len(g))
			for i, s := range g {
				xs[i] = f(s)
			}
			return median(xs)
		}
		out = append(out, Median{System: k.sys, Phase: k.phase, Link: k.link, Runs: len(g),
			WallMs:     pick(func(s Sample) float64 { return s.WallMs }),
			Up:         pick(func(s Sample) float64 { return float64(s.Up) }),
			Down:       pick(func(s Sample) float64 { return float64(s.Down) }),
			Requests:   pick(func(s Sample) float64 { return float64(s.Requests) }),
			Conns:      pick(func(s Sample) float64 { return float64(s.Conns) }),
			CPUms:      pick(func(s Sample) float64 { return s.DeskCPUms + s.HubCPUms }),
			DeskRSSKiB: pick(func(s Sample) float64 { return float64(s.DeskRSSKiB) }),
			HubRSSKiB:  pick(func(s Sample) float64 { return float64(s.HubRSSKiB) }),
		})
	}
	return out
}

func find(ms []Median, sys, phase, link string) (Median, bool) {
	for _, m := range ms {
		if m.System == sys && m.Phase == phase && m.Link == link {
			return m, true
		}
	}
	return Median{}, false
}

func bytesText(b float64) string {
	switch {
	case b >= 10<<20:
		return fmt.Sprintf("%.1f MB", b/1e6)
	case b >= 10_000:
		return fmt.Sprintf("%.1f kB", b/1e3)
	}
	return fmt.Sprintf("%.0f B", b)
}

func wallText(ms float64) string {
	if ms >= 1000 {
		return fmt.Sprintf("%.2f s", ms/1000)
	}
	return fmt.Sprintf("%.0f ms", ms)
}

func ratio(a, b float64) string {
	if b == 0 {
		return "–"
	}
	return fmt.Sprintf("%.1f×", a/b)
}

// WriteReport writes the medians as Markdown tables, PouchDB's figures
// against carenode's as ratios, and issue 5's targets checked.
func WriteReport(w io.Writer, samples []Sample) {
	ms := Medians(samples)
	fmt.Fprintln(w, "| phase | link | system | runs | wall (median) | up | down | together | HTTP requests | TCP connections | CPU (desk + hub) | peak RSS desk / hub |")
	fmt.Fprintln(w, "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, m := range ms {
		fmt.Fprintf(w, "| %s | %s | %s | %d | %s | %s | %s | %s | %.0f | %.0f | %s | %.0f / %.0f MiB |\n",
			m.Phase, m.Link, m.System, m.Runs, wallText(m.WallMs), bytesText(m.Up), bytesText(m.Down), bytesText(m.Bytes()),
			m.Requests, m.Conns, wallText(m.CPUms), m.DeskRSSKiB/1024, m.HubRSSKiB/1024)
	}
	var rows []string
	for _, m := range ms {
		if m.System != Carenode {
			continue
		}
		p, ok := find(ms, PouchDB, m.Phase, m.Link)
		if !ok {
			continue
		}
		rows = append(rows, fmt.Sprintf("| %s | %s | %s | %s | %s | %s |", m.Phase, m.Link,
			ratio(p.Bytes(), m.Bytes()), ratio(p.Requests, m.Requests), ratio(p.WallMs, m.WallMs), ratio(p.CPUms, m.CPUms)))
	}
	if len(rows) > 0 {
		fmt.Fprintln(w)
		fmt.Fprintln(w, "PouchDB's figure divided by carenode's (medians of the same run):")
		fmt.Fprintln(w)
		fmt.Fprintln(w, "| phase | link | bytes | requests | wall time | CPU |")
		fmt.Fprintln(w, "|---|---|---:|---:|---:|---:|")
		fmt.Fprintln(w, strings.Join(rows, "\n"))
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Targets (issue 5):")
	fmt.Fprintln(w)
	check := func(ok bool) string {
		if ok {
			return "met"
		}
		return "NOT met"
	}
	if m, ok := find(ms, Carenode, PhaseDay, Slow2G().Name); ok {
		fmt.Fprintf(w, "- a clinic day over 32 kbit/s, 600 ms RTT in under 30 s: %s (%s)\n", check(m.WallMs < 30_000), wallText(m.WallMs))
	}
	for _, link := range []string{Slow2G().Name, Loopback().Name} {
		m, ok1 := find(ms, Carenode, PhaseDay, link)
		p, ok2 := find(ms, PouchDB, PhaseDay, link)
		if ok1 && ok2 {
			fmt.Fprintf(w, "- clinic-day bytes at most one fifth of PouchDB's (%s): %s (%s against %s, 1/%.1f)\n",
				link, check(m.Bytes()*5 <= p.Bytes()), bytesText(m.Bytes()), bytesText(p.Bytes()), p.Bytes()/m.Bytes())
			break
		}
	}
	if m, ok := find(ms, Carenode, PhaseInitial, Loopback().Name); ok {
		fmt.Fprintf(w, "- initial sync of the full dataset on loopback in under 60 s: %s (%s)\n", check(m.WallMs < 60_000), wallText(m.WallMs))
	}
	for _, link := range []string{Loopback().Name, Slow2G().Name} {
		m, ok := find(ms, Carenode, PhaseIdle, link)
		if !ok {
			continue
		}
		k, kok := find(ms, Carenode, PhaseIdleKept, link)
		if kok {
			fmt.Fprintf(w, "- idle sync, one round trip, under 1 KB on the wire (%s): %s over a kept connection (%s, %.0f request); %s on a new TLS connection (%s)\n",
				link, check(k.Bytes() < 1000), bytesText(k.Bytes()), k.Requests, check(m.Bytes() < 1000), bytesText(m.Bytes()))
		} else {
			fmt.Fprintf(w, "- idle sync, one round trip, under 1 KB on the wire (%s): %s (%s with a new TLS connection, %.0f request)\n",
				link, check(m.Bytes() < 1000), bytesText(m.Bytes()), m.Requests)
		}
		break
	}
}
