// Package memtest asserts, in tests and fuzz targets, that reading an
// input takes memory in proportion to it: the readers' limits
// (formats.Limits) are meant to keep a small file from expanding into
// gigabytes, and a fuzz target that only looks for panics would not
// notice one that does.
package memtest

import (
	"runtime"
	"testing"
)

// Ceiling runs f and fails t when f allocated more than max bytes in all
// (the runtime's TotalAlloc: garbage counts too, so it bounds the peak).
func Ceiling(t testing.TB, max uint64, f func()) {
	t.Helper()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	if got := after.TotalAlloc - before.TotalAlloc; got > max {
		t.Fatalf("allocated %d KiB, more than the ceiling of %d KiB", got>>10, max>>10)
	}
}
