package excel_test

import (
	"fmt"
	"io"
	"path/filepath"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/erpipe/erpipe/formats/excel"
)

// BenchmarkReader reads a 20,000-row, 16-column sheet written by excelize's
// StreamWriter (inline strings, typed numbers and dates).
func BenchmarkReader(b *testing.B) {
	const rows = 20_000
	path := filepath.Join(b.TempDir(), "journal.xlsx")
	f := excelize.NewFile()
	sw, err := f.NewStreamWriter("Sheet1")
	if err != nil {
		b.Fatal(err)
	}
	header := []any{"JournalId", "LineNum", "InvoiceId", "CustAccount", "CustName", "PostingDate", "DocumentDate",
		"DueDate", "Created", "CurrencyCode", "AmountCur", "TaxAmount", "ExchRate", "MainAccount", "Dimension", "Description"}
	if err := sw.SetRow("A1", header); err != nil {
		b.Fatal(err)
	}
	// Excel stores numbers as doubles, so excelize takes float64 cells;
	// this only makes test data.
	day := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
	for i := range rows {
		cell, _ := excelize.CoordinatesToCellName(1, i+2)
		row := []any{fmt.Sprintf("GJ-%06d", i/100), i % 100, fmt.Sprintf("INV-%08d", i), fmt.Sprintf("C-%05d", i%5000),
			"The \"Łukasiewicz\" Trading, Kft.", day, day.AddDate(0, 0, i%28), day.AddDate(0, 1, i%28), day,
			"EUR", float64(i-rows/2) + 0.25, float64(i % 7), 1.085, "110100", fmt.Sprintf("D-%03d", i%999), "crème brûlée"}
		if err := sw.SetRow(cell, row); err != nil {
			b.Fatal(err)
		}
	}
	if err := sw.Flush(); err != nil {
		b.Fatal(err)
	}
	if err := f.SaveAs(path); err != nil {
		b.Fatal(err)
	}
	f.Close()

	for _, formatted := range []bool{false, true} {
		b.Run(fmt.Sprintf("formatted=%v", formatted), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				r, err := excel.Open(path, excel.Options{Formatted: formatted})
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
				if err := r.Close(); err != nil {
					b.Fatal(err)
				}
				if n != rows {
					b.Fatalf("read %d rows", n)
				}
			}
		})
	}
}
