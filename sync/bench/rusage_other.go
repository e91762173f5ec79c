//go:build !unix

package bench

import "time"

// selfUsage is not measured on this system.
func selfUsage() (cpu time.Duration, maxRSSKiB int64) { return 0, 0 }
