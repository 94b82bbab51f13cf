package s3_test

import (
	"io"
	"runtime"
	"runtime/debug"
	"testing"

	"github.com/erpipe/erpipe/outbox/s3"
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

// TestPutMemoryFlat streams 100 MiB; the heap stays near
// PartSize × (Concurrency+1), far below the size of the result. Not
// parallel: it measures the whole process.
func TestPutMemoryFlat(t *testing.T) {
	needServers(t)
	const size = 100 << 20
	cfg := config(t, servers[0]) // PartSize 5 MiB, Concurrency 2
	d := newDest(t, cfg)
	defer debug.SetGCPercent(debug.SetGCPercent(10)) // count live memory, not garbage
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapAlloc
	pr := &peakReader{r: gen(9, size)}
	_, err := d.PutMeta(t.Context(), "big.zip", pr, size, map[string]string{s3.MetaSHA256: sumOf(gen(9, size))})
	if err != nil {
		t.Fatal(err)
	}
	grew := int64(pr.peak) - int64(base)
	t.Logf("heap grew by %.1f MiB while streaming %d MiB", float64(grew)/(1<<20), size>>20)
	if limit := int64(48 << 20); grew > limit {
		t.Errorf("heap grew by %d MiB, want at most %d MiB for 5 MiB parts", grew>>20, limit>>20)
	}
}
