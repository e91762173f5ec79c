//go:build unix

package bench

import (
	"runtime"
	"syscall"
	"time"
)

// selfUsage is this process's CPU time (user and system) and peak resident
// set size, from getrusage(RUSAGE_SELF).
func selfUsage() (cpu time.Duration, maxRSSKiB int64) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, 0
	}
	cpu = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	maxRSSKiB = int64(ru.Maxrss)
	if runtime.GOOS == "darwin" {
		maxRSSKiB /= 1024 // bytes there
	}
	return cpu, maxRSSKiB
}
