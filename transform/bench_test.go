package transform

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// BenchmarkRunCustomersV3 runs customers-v3 over a 10 000-row CSV into a
// DMF package. Memory per run stays flat as rows grow: rows are streamed
// from the reader to the package's spool files.
func BenchmarkRunCustomersV3(b *testing.B) {
	tpl, err := Load("../templates/customers-v3/template.yaml")
	if err != nil {
		b.Fatal(err)
	}
	const rows = 10000
	dir := b.TempDir()
	var sb strings.Builder
	sb.WriteString("Account,Name,Customer group,Currency,Country,Street,City,Postal code,Email,Phone,Credit limit,Payment terms\n")
	for i := 0; i < rows; i++ {
		fmt.Fprintf(&sb, "c%05d, Customer %d AS ,10,nok,no,Street %d,Oslo,0150,c%d@example.no,+47 %08d,%d.50,30\n", i, i, i, i, i, i)
	}
	in := filepath.Join(dir, "customers.csv")
	if err := os.WriteFile(in, []byte(sb.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		out := b.TempDir()
		res, err := tpl.Run(context.Background(), in, out)
		if err != nil {
			b.Fatal(err)
		}
		if res.Written != rows {
			b.Fatalf("wrote %d rows", res.Written)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*rows), "ns/row")
}
