// Package metrics holds a node's Prometheus metrics: what the store commits
// and applies, and what the HTTP API serves. It implements store.Observer
// and wraps HTTP handlers; the node exposes the registry at /metrics.
package metrics
