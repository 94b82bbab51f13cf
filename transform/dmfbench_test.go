package transform

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"
)

// BenchmarkCSVToDMFPackage runs customers-v3 over a CSV of 100 000 and of
// 1 000 000 rows into a CSV-Unicode DMF package, and reports throughput
// (rows/s, input MB/s) and the peak heap in use during the run, sampled
// every millisecond. The peak must not grow with the rows: the input is
// streamed and the entity data goes straight into the zip. Run with
//
//	go test ./transform -run '^$' -bench CSVToDMFPackage -benchtime 1x
//
// bench/dmf.sh does the same with the real binary.
func BenchmarkCSVToDMFPackage(b *testing.B) {
	tpl, err := Load("../templates/customers-v3/template.yaml")
	if err != nil {
		b.Fatal(err)
	}
	for _, rows := range []int{100_000, 1_000_000} {
		b.Run(fmt.Sprintf("rows=%d", rows), func(b *testing.B) {
			in := filepath.Join(b.TempDir(), "customers.csv")
			size := writeCustomersCSV(b, in, rows)
			b.ReportAllocs()
			var peak uint64
			for b.Loop() {
				out := b.TempDir()
				runtime.GC()
				stop := sampleHeap(&peak)
				res, err := tpl.Run(context.Background(), in, out)
				stop()
				if err != nil {
					b.Fatal(err)
				}
				if res.Written != rows {
					b.Fatalf("wrote %d rows, want %d", res.Written, rows)
				}
			}
			secs := b.Elapsed().Seconds() / float64(b.N)
			b.ReportMetric(float64(rows)/secs, "rows/s")
			b.ReportMetric(float64(size)/(1<<20)/secs, "MB/s")
			b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
		})
	}
}

// writeCustomersCSV writes rows customers in the customers-v3 sample's
// layout and returns the file's size.
func writeCustomersCSV(b *testing.B, path string, rows int) int64 {
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	w.WriteString("Account,Name,Customer group,Currency,Country,Street,City,Postal code,Email,Phone,Credit limit,Payment terms\n")
	for i := range rows {
		fmt.Fprintf(w, "C%07d,\"Customer %d, Oslo AS\",10,NOK,NOR,Street %d,Oslo,0150,c%d@example.no,+47 %08d,%d.50,30\n", i, i, i%500, i, i, i%100000)
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	st, _ := f.Stat()
	f.Close()
	return st.Size()
}

// sampleHeap records the largest HeapInuse into peak until stop is called.
func sampleHeap(peak *uint64) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var ms runtime.MemStats
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			runtime.ReadMemStats(&ms)
			*peak = max(*peak, ms.HeapInuse)
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}
