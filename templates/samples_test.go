package templates

import (
	"encoding/csv"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/xuri/excelize/v2"
)

var update = flag.Bool("update", false, "rewrite generated samples and golden files")

// xlsxSamples lists the Excel samples made from a CSV sample of the same
// template, and the sheet they go in. `go test ./templates -update` remakes
// them; without -update the test checks they still hold the CSV's cells.
var xlsxSamples = []struct{ csv, xlsx, sheet string }{
	{"customers-v3/samples/customers.csv", "customers-v3/samples/customers-workbook.xlsx", "Customers"},
	{"pain001/samples/payments.csv", "pain001/samples/payments-workbook.xlsx", "Payments"},
	{"general-journal/samples/journal.csv", "general-journal/samples/journal-workbook.xlsx", "Journal"},
	{"vendors-v2/samples/vendors.csv", "vendors-v2/samples/vendors-workbook.xlsx", "Vendors"},
	{"released-products-v2/samples/products.csv", "released-products-v2/samples/products-workbook.xlsx", "Products"},
}

func TestXLSXSamplesMatchCSV(t *testing.T) {
	for _, s := range xlsxSamples {
		t.Run(s.xlsx, func(t *testing.T) {
			want := readCSV(t, s.csv)
			if *update {
				writeXLSX(t, s.xlsx, s.sheet, want)
			}
			f, err := excelize.OpenFile(s.xlsx)
			if err != nil {
				t.Fatalf("open %s (run go test ./templates -update to make it): %v", s.xlsx, err)
			}
			defer f.Close()
			got, err := f.GetRows(s.sheet)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(want) {
				t.Fatalf("%s has %d rows, %s has %d", s.xlsx, len(got), s.csv, len(want))
			}
			for i := range want {
				if !slices.Equal(got[i], want[i]) {
					t.Errorf("row %d: xlsx %q, csv %q", i+1, got[i], want[i])
				}
			}
		})
	}
}

func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// writeXLSX writes rows into one sheet of a new workbook, as text cells.
func writeXLSX(t *testing.T, path, sheet string, rows [][]string) {
	t.Helper()
	f := excelize.NewFile()
	defer f.Close()
	if err := f.SetSheetName("Sheet1", sheet); err != nil {
		t.Fatal(err)
	}
	for r, row := range rows {
		for c, v := range row {
			cell, _ := excelize.CoordinatesToCellName(c+1, r+1)
			if err := f.SetCellStr(sheet, cell, v); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := f.SaveAs(filepath.Clean(path)); err != nil {
		t.Fatal(err)
	}
}
