// Package memtest asserts, in tests and fuzz targets, that reading an
// input takes memory in proportion to it: the readers' limits
// (formats.Limits) are meant to keep a small file from expanding into
// gigabytes, and a fuzz target that only looks for panics would not
// notice one that does.
package memtest

import (
	"runtime"
	"runtime/metrics"
	"sync/atomic"
	"testing"
	"time"
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

// LiveHeapCeiling runs f and fails t when the heap it left live after a
// garbage collection (the runtime's /gc/heap/live:bytes) exceeded max
// bytes while f ran: what f keeps, unlike Ceiling's total, which grows
// with the garbage of every row. The heap is sampled every few
// milliseconds.
//
// What a collection counts as live includes what was allocated while it
// marked, so on a machine starved of CPU (a test run of every package at
// once on two cores) a slow mark can count megabytes of a streaming run's
// garbage. A run over the ceiling is therefore run once more, and t fails
// only when that one is over too: what f really keeps is over it every
// time.
func LiveHeapCeiling(t testing.TB, max uint64, f func()) {
	t.Helper()
	first := livePeak(f)
	if first <= max {
		return
	}
	t.Logf("live heap reached %d KiB, more than the ceiling of %d KiB; running again", first>>10, max>>10)
	if got := livePeak(f); got > max {
		t.Fatalf("live heap reached %d KiB and %d KiB, more than the ceiling of %d KiB", first>>10, got>>10, max>>10)
	}
}

// livePeak runs f and returns the highest live heap sampled while it ran.
func livePeak(f func()) uint64 {
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	read := func() uint64 {
		metrics.Read(sample)
		if sample[0].Value.Kind() != metrics.KindUint64 {
			return 0
		}
		return sample[0].Value.Uint64()
	}
	runtime.GC()
	var peak atomic.Uint64
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			if v := read(); v > peak.Load() {
				peak.Store(v)
			}
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()
	f()
	close(stop)
	<-done
	return peak.Load()
}
