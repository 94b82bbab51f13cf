package azblob_test

import (
	"io"
	"runtime"
	"runtime/debug"
	"testing"
)

// peakReader samples the heap every MiB it passes through.
type peakReader struct {
	r         io.Reader
	sinceLast int
	peak      uint64
}

func (p *peakReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	if p.sinceLast += n; p.sinceLast >= 1<<20 {
		p.sinceLast = 0
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		p.peak = max(p.peak, ms.HeapAlloc)
	}
	return n, err
}

// TestPutMemoryFlat streams 100 MiB of unknown size from a reader that
// cannot be read twice; the heap stays near BlockSize × (Concurrency+1),
// far below the size of the result, and nothing is spooled. Not
// parallel: it measures the whole process.
func TestPutMemoryFlat(t *testing.T) {
	needServers(t)
	const size = 100 << 20
	cfg := config(t, servers[0])           // BlockSize 1 MiB, Concurrency 2
	cfg.SpoolDir = t.TempDir() + "/absent" // a spool would fail
	d := newDest(t, cfg)
	defer debug.SetGCPercent(debug.SetGCPercent(10)) // count live memory, not garbage
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapAlloc
	pr := &peakReader{r: gen(9, size)}
	loc, err := d.Put(t.Context(), "big.zip", pr, -1)
	if err != nil {
		t.Fatal(err)
	}
	grew := int64(pr.peak) - int64(base)
	t.Logf("heap grew by %.1f MiB while streaming %d MiB", float64(grew)/(1<<20), size>>20)
	if limit := int64(16 << 20); grew > limit {
		t.Errorf("heap grew by %d MiB, want at most %d MiB for 1 MiB blocks", grew>>20, limit>>20)
	}
	if o, _ := get(t, servers[0], loc); sumBytes(o.data) != sumOf(gen(9, size)) {
		t.Error("stored content differs")
	}
}
