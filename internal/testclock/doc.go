// Package testclock provides a clock that tests move by hand, safe for
// concurrent use.
package testclock
