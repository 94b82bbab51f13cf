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
// StreamWriter (inline strings, typed numbers and dates); "merged" is the
// same sheet with each journal's id merged down its 100 lines and the
// dimension and description merged on every tenth line (2,200 ranges).
// "excelize" reads the rows with excelize's Rows instead of the sheet
// scanner.
func BenchmarkReader(b *testing.B) {
	plain, merged := journalBook(b, false), journalBook(b, true)
	for _, bb := range []struct {
		name      string
		path      string
		formatted bool
		excelize  bool // without the sheet scanner
	}{{"formatted=false", plain, false, false}, {"formatted=false/excelize", plain, false, true},
		{"formatted=true", plain, true, false}, {"merged", merged, false, false}} {
		b.Run(bb.name, func(b *testing.B) {
			defer excel.SetFast(excel.SetFast(!bb.excelize))
			b.ReportAllocs()
			for b.Loop() {
				r, err := excel.Open(bb.path, excel.Options{Formatted: bb.formatted})
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
				if n != journalRows {
					b.Fatalf("read %d rows", n)
				}
			}
		})
	}
}

const journalRows = 20_000

// journalBook writes the sheet of BenchmarkReader.
func journalBook(b *testing.B, merged bool) string {
	const rows = journalRows
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
		if merged && i%100 != 0 {
			row[0] = nil // the cells a range covers are blank in the file
		}
		if merged && i%10 == 0 {
			row[15] = nil
		}
		if err := sw.SetRow(cell, row); err != nil {
			b.Fatal(err)
		}
		if !merged {
			continue
		}
		if i%100 == 0 {
			last, _ := excelize.CoordinatesToCellName(1, min(i+101, rows+1))
			if err := sw.MergeCell(cell, last); err != nil {
				b.Fatal(err)
			}
		}
		if i%10 == 0 {
			from, _ := excelize.CoordinatesToCellName(15, i+2)
			to, _ := excelize.CoordinatesToCellName(16, i+2)
			if err := sw.MergeCell(from, to); err != nil {
				b.Fatal(err)
			}
		}
	}
	if err := sw.Flush(); err != nil {
		b.Fatal(err)
	}
	if err := f.SaveAs(path); err != nil {
		b.Fatal(err)
	}
	f.Close()
	return path
}
