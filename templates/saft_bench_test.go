package templates

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkSAFT makes a SAF-T file of 1,000,000 ledger lines (250,000
// balanced transactions of 4 lines in 12 journals, on 200 accounts, with
// 2,000 customers), validated against the 1.30 schema and its control
// totals checked. It reports the Go heap in use at the end and the
// process's peak resident memory.
func BenchmarkSAFT(b *testing.B) {
	const lines = 1_000_000
	in := filepath.Join(b.TempDir(), "ledger.csv")
	f, err := os.Create(in)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	w.WriteString("Record,ID,Name,Registration number,Street,City,Postal code,Country,Contact first name,Contact last name,Telephone,Currency,Period start,Period end,Grouping category,Grouping code,Opening balance,Journal,Journal description,Journal type,Transaction,Date,Line no,Description,Account,Customer,Supplier,Debit,Credit\n")
	w.WriteString("Company,,Benchmark AS,987654321,Gate 1,Oslo,0150,NO,Kari,Nordmann,+47 22 00 00 00,NOK,2026-01-01,2026-12-31,,,,,,,,,,,,,,,\n")
	for a := 0; a < 200; a++ {
		fmt.Fprintf(w, "Account,%d,Konto %d,,,,,,,,,,,,RF-1167,%d,%d.%02d,,,,,,,,,,,,\n", 1000+a*10, a, 1000+a*10, (a-100)*1000, a%100)
	}
	for c := 0; c < 2000; c++ {
		fmt.Fprintf(w, "Customer,%d,Kunde %d AS,9%08d,,,,,,,,,,,,,,,,,,,,,,,,,\n", 10000+c, c, c)
	}
	for tx := 0; tx < lines/4; tx++ {
		j := tx % 12
		date := fmt.Sprintf("2026-%02d-%02d", 1+tx%12, 1+tx%28)
		amt := fmt.Sprintf("%d.%02d", 100+tx%9000, tx%100)
		acc := func(k int) int { return 1000 + ((tx*7+k*13)%200)*10 }
		fmt.Fprintf(w, "Line,,,,,,,,,,,,,,,,,J%02d,Journal %d,GL,T%07d,%s,1,Bilag %d,%d,%d,,%s,\n", j, j, tx, date, tx, acc(0), 10000+tx%2000, amt)
		fmt.Fprintf(w, "Line,,,,,,,,,,,,,,,,,J%02d,Journal %d,GL,T%07d,%s,2,Bilag %d,%d,,,,%s\n", j, j, tx, date, tx, acc(1), amt)
		fmt.Fprintf(w, "Line,,,,,,,,,,,,,,,,,J%02d,Journal %d,GL,T%07d,%s,3,Bilag %d,%d,,,%s,\n", j, j, tx, date, tx, acc(2), amt)
		fmt.Fprintf(w, "Line,,,,,,,,,,,,,,,,,J%02d,Journal %d,GL,T%07d,%s,4,Bilag %d,%d,,,,%s\n", j, j, tx, date, tx, acc(3), amt)
	}
	w.Flush()
	f.Close()
	benchTemplate(b, "saft-no", in, lines+1+200+2000)
}
