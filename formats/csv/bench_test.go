package csv_test

import (
	"bytes"
	"fmt"
	"io"
	"testing"

	"github.com/erpipe/erpipe/formats/csv"
)

// journal returns n rows of a 16-column journal, like shared/bench/gen.
func journal(n int) []byte {
	var b bytes.Buffer
	b.WriteString("JournalId,LineNum,InvoiceId,CustAccount,CustName,PostingDate,DocumentDate,DueDate," +
		"CreatedDateTime,CurrencyCode,AmountCur,TaxAmount,ExchRate,MainAccount,Dimension,Description\n")
	for i := range n {
		fmt.Fprintf(&b, "GJ-%06d,%d,INV-%08d,C-%05d,\"The \"\"Łukasiewicz\"\" Trading, Kft.\",2024-05-%02d,%02d/05/2024,"+
			"%02d.06.2024,2024-05-01T10:00:00Z,EUR,%d.%02d,%d.00,1.0850,110100,D-%03d,crème brûlée\n",
			i/100, i%100, i, i%5000, i%28+1, i%28+1, i%28+1, i-n/2, i%100, i%7, i%999)
	}
	return b.Bytes()
}

func BenchmarkReader(b *testing.B) {
	data := journal(100_000)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		r, err := csv.NewReader(bytes.NewReader(data), csv.Options{File: "journal.csv"})
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for {
			_, err := r.Read()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			n++
		}
		if n != 100_000 {
			b.Fatalf("read %d records", n)
		}
	}
}

func BenchmarkWriter(b *testing.B) {
	rec := []string{"GJ-000001", "1", "INV-00000001", "C-00001", "The \"Best\", Co", "2024-05-01", "12.50", "crème brûlée"}
	for _, enc := range []string{"utf-8", "utf-16le"} {
		b.Run(enc, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				w, err := csv.NewWriter(io.Discard, csv.WriterOptions{Encoding: enc, CRLF: true})
				if err != nil {
					b.Fatal(err)
				}
				for range 100_000 {
					w.Write(rec)
				}
				if err := w.Close(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
