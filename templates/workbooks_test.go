package templates

import (
	"path/filepath"
	"slices"
	"testing"

	"github.com/xuri/excelize/v2"
)

// workbookSamples are the Excel samples and test inputs, each sheet made
// from a CSV file: a CSV sample of the same template, or one kept under
// testdata/ (not in samples/: erpipe demo drops every sample into the
// inbox). `go test ./templates -update` remakes them; without -update the
// test checks they still hold the CSVs' cells.
var workbookSamples = []struct {
	xlsx   string
	sheets [][2]string // sheet name, CSV file
}{
	{"customers-v3/samples/customers-workbook.xlsx", [][2]string{{"Customers", "customers-v3/samples/customers.csv"}}},
	{"pain001/samples/payments-workbook.xlsx", [][2]string{{"Payments", "pain001/samples/payments.csv"}}},
	{"general-journal/samples/journal-workbook.xlsx", [][2]string{{"Journal", "general-journal/samples/journal.csv"}}},
	{"vendors-v2/samples/vendors-workbook.xlsx", [][2]string{{"Vendors", "vendors-v2/samples/vendors.csv"}}},
	{"released-products-v2/samples/products-workbook.xlsx", [][2]string{{"Products", "released-products-v2/samples/products.csv"}}},
	{"system-setup/samples/setup-workbook.xlsx", [][2]string{
		{"Currencies", "system-setup/testdata/sheets/Currencies.csv"},
		{"Exchange rates", "system-setup/testdata/sheets/Exchange rates.csv"},
		{"Units", "system-setup/testdata/sheets/Units.csv"},
		{"Unit conversions", "system-setup/testdata/sheets/Unit conversions.csv"},
		{"Main accounts", "system-setup/testdata/sheets/Main accounts.csv"},
	}},
	{"system-setup/testdata/cases/missing-sheet/input.xlsx", [][2]string{
		{"Currencies", "system-setup/testdata/sheets/Currencies.csv"},
		{"Exchange rates", "system-setup/testdata/sheets/Exchange rates.csv"},
	}},
	{"system-setup/testdata/cases/bad-rows/input.xlsx", [][2]string{
		{"Currencies", "system-setup/testdata/bad-rows/Currencies.csv"},
		{"Exchange rates", "system-setup/testdata/bad-rows/Exchange rates.csv"},
		{"Units", "system-setup/testdata/sheets/Units.csv"},
		{"Unit conversions", "system-setup/testdata/sheets/Unit conversions.csv"},
		{"Main accounts", "system-setup/testdata/bad-rows/Main accounts.csv"},
	}},
}

func TestWorkbookSamplesMatchCSV(t *testing.T) {
	for _, s := range workbookSamples {
		t.Run(s.xlsx, func(t *testing.T) {
			if *update {
				writeWorkbook(t, s.xlsx, s.sheets)
			}
			f, err := excelize.OpenFile(s.xlsx)
			if err != nil {
				t.Fatalf("open %s (run go test ./templates -update to make it): %v", s.xlsx, err)
			}
			defer f.Close()
			if got := f.GetSheetList(); len(got) != len(s.sheets) {
				t.Fatalf("sheets %q, want %d", got, len(s.sheets))
			}
			for _, sh := range s.sheets {
				got, err := f.GetRows(sh[0])
				if err != nil {
					t.Fatal(err)
				}
				// A sheet's rows end at their last cell that is not empty.
				want := readCSV(t, sh[1])
				for i, r := range want {
					for len(r) > 0 && r[len(r)-1] == "" {
						r = r[:len(r)-1]
					}
					want[i] = r
				}
				if !slices.EqualFunc(got, want, slices.Equal) {
					t.Errorf("sheet %s: %q, want %q", sh[0], got, want)
				}
			}
		})
	}
}

// writeWorkbook writes each CSV into a sheet of a new workbook, as text
// cells.
func writeWorkbook(t *testing.T, path string, sheets [][2]string) {
	t.Helper()
	f := excelize.NewFile()
	defer f.Close()
	for i, sh := range sheets {
		if i == 0 {
			if err := f.SetSheetName("Sheet1", sh[0]); err != nil {
				t.Fatal(err)
			}
		} else if _, err := f.NewSheet(sh[0]); err != nil {
			t.Fatal(err)
		}
		for r, row := range readCSV(t, sh[1]) {
			for c, v := range row {
				cell, _ := excelize.CoordinatesToCellName(c+1, r+1)
				if err := f.SetCellStr(sh[0], cell, v); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	if err := f.SaveAs(filepath.Clean(path)); err != nil {
		t.Fatal(err)
	}
}
