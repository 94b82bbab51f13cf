package transform_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"sync/atomic"
	"testing"
	"time"

	"github.com/erpipe/erpipe/transform"
)

// BenchmarkWorkbook fills the designed invoice workbook with 10,000 and
// 100,000 lines (invoice.yaml: one workbook) and reports the peak live
// heap, which must stay flat as the lines grow (the sheet is streamed):
//
//	go test ./transform -run '^$' -bench BenchmarkWorkbook -benchtime 1x
func BenchmarkWorkbook(b *testing.B) {
	for _, n := range []int{10_000, 100_000} {
		b.Run(fmt.Sprintf("lines=%d", n), func(b *testing.B) {
			tmpl := workbookTemplate(b, "invoice.yaml")
			dir := b.TempDir()
			in := filepath.Join(dir, "lines.csv")
			f, err := os.Create(in)
			if err != nil {
				b.Fatal(err)
			}
			fmt.Fprintln(f, "Invoice,Customer,Date,Item,Description,Qty,Price")
			for i := range n {
				fmt.Fprintf(f, "1041,Fjordkraft Verksted AS,2026-11-30,%04d,Bolts M8 lot %d,%d,0.35\n", i%10000, i, i%100+1)
			}
			f.Close()
			b.ResetTimer()
			for range b.N {
				out := b.TempDir()
				peak := livePeak(func() {
					if _, err := tmpl.RunWith(context.Background(), in, out, transform.RunOptions{Time: time.Now()}); err != nil {
						b.Fatal(err)
					}
				})
				b.ReportMetric(float64(peak)/(1<<20), "MB-live-peak")
			}
		})
	}
}

// livePeak runs f and returns the largest live heap seen meanwhile.
func livePeak(f func()) uint64 {
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	runtime.GC()
	var peak atomic.Uint64
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		for {
			metrics.Read(sample)
			if v := sample[0].Value.Uint64(); v > peak.Load() {
				peak.Store(v)
			}
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}()
	f()
	close(stop)
	<-done
	return peak.Load()
}
