//go:build race

package session_test

// raceEnabled thins the cut tests under the race detector, which makes
// each of their thousands of store commits many times slower; plain runs
// cut at every point.
const raceEnabled = true
