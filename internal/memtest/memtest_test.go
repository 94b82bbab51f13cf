package memtest

import (
	"runtime"
	"testing"
	"time"
)

// TestLivePeak: what a function keeps live shows in the peak, the
// garbage it makes does not.
func TestLivePeak(t *testing.T) {
	var kept [][]byte
	keeps := livePeak(func() {
		for range 32 {
			kept = append(kept, make([]byte, 1<<20))
		}
		runtime.GC()
		time.Sleep(20 * time.Millisecond) // a sample or two
	})
	if keeps < 30<<20 {
		t.Errorf("a function keeping 32 MiB: live peak %d KiB", keeps>>10)
	}
	runtime.KeepAlive(kept)
	kept = nil
	garbage := livePeak(func() {
		for range 256 {
			b := make([]byte, 1<<20)
			b[0] = 1
		}
		runtime.GC()
		time.Sleep(20 * time.Millisecond)
	})
	if garbage > 16<<20 {
		t.Errorf("a function keeping nothing of 256 MiB it allocated: live peak %d KiB", garbage>>10)
	}
}
