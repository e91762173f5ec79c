//go:build !unix

package trust

// withLock runs f. Without flock, the CLI and a serving hub could race on
// the token file; carenode hubs run on Linux.
func withLock(path string, f func() error) error { return f() }
