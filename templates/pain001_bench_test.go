package templates

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/erpipe/erpipe/transform"
)

// BenchmarkPain001 makes a pain.001 of 100,000 payments (20 debtor
// accounts × 5 dates, so 100 PmtInf blocks), validated and checked. It
// reports the Go heap in use at the end and the process's peak resident
// memory (VmHWM; libxml2 validates the written file as a stream).
func BenchmarkPain001(b *testing.B) {
	const n = 100_000
	in := filepath.Join(b.TempDir(), "payments.csv")
	f, err := os.Create(in)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriter(f)
	w.WriteString("Debtor name,Debtor IBAN,Debtor BIC,Creditor name,Creditor IBAN,Creditor BIC,Amount,Currency,Execution date,End-to-end id,Remittance information\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(w, "Fabrikam %d,DE89370400440532013000,COBADEFFXXX,Supplier %d AS,NO9386011117947,DNBANOKKXXX,%d.%02d,EUR,2026-02-%02d,E2E-%d,Invoice %d\n",
			i%20, i, 1+i%5000, i%100, 2+i%5, i, i)
	}
	w.Flush()
	f.Close()
	benchTemplate(b, "pain001", in, n)
}

// benchTemplate runs built-in template name on in b.N times, checks that
// it wrote want rows, and reports the Go heap in use at the end and the
// process's peak resident memory.
func benchTemplate(b *testing.B, name, in string, want int) {
	tmpl, err := transform.Load(filepath.Join(name, "template.yaml"))
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		res, err := tmpl.Run(context.Background(), in, b.TempDir())
		if err != nil {
			b.Fatal(err)
		}
		if res.Written != want {
			b.Fatalf("written %d, want %d (rejected %d)", res.Written, want, res.Rejected)
		}
	}
	b.StopTimer()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b.ReportMetric(float64(ms.HeapInuse)/(1<<20), "heap-MB")
	b.ReportMetric(peakRSSMB(), "peak-RSS-MB")
}

// peakRSSMB is the process's peak resident memory, from /proc (Linux).
func peakRSSMB() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			return kb / 1024
		}
	}
	return 0
}
