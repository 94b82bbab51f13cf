package excel_test

import (
	"flag"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"
)

var updateCorpus = flag.Bool("update-corpus", false, "write testdata/corpus/excelize-*.xlsx again")

// TestCorpusExcelize writes the workbooks of testdata/corpus that
// excelize makes (with -update-corpus; else it checks they are there):
// every kind of value SetCellValue, SetCellRichText and SetCellFormula
// write, in the 1900 and 1904 date systems, and rows from StreamWriter.
func TestCorpusExcelize(t *testing.T) {
	dir := filepath.Join("testdata", "corpus")
	for _, date1904 := range []bool{false, true} {
		name := "excelize-types.xlsx"
		if date1904 {
			name = "excelize-1904.xlsx"
		}
		if !*updateCorpus {
			if _, err := excelize.OpenFile(filepath.Join(dir, name)); err != nil {
				t.Errorf("%v (go test -run TestCorpusExcelize -update-corpus writes it)", err)
			}
			continue
		}
		f := excelize.NewFile()
		if date1904 {
			if err := f.SetWorkbookProps(&excelize.WorkbookPropsOptions{Date1904: &date1904}); err != nil {
				t.Fatal(err)
			}
		}
		s := "Sheet1"
		f.SetSheetName(s, "Types")
		s = "Types"
		date := time.Date(2024, 1, 30, 13, 45, 0, 0, time.UTC)
		rows := [][]any{
			{"Kind", "Value", "Other", "Note"},
			{"numbers", 42, -0.1, 12345678901234.5},
			{"floats", 1.5e-12, 6.02214076e23, 0.30000000000000004},
			{"bool", true, false, nil},
			{"dates", date, date.Truncate(24 * time.Hour), time.Duration(90 * time.Minute)},
			{"strings", "  leading", "a & <b> \"c\"", "line\r\nbreak"},
			{"escapes", "_x0041_", "tab\there", "Łódź 日本 😀"},
			{"empty", "", nil, "after blanks"},
		}
		for i, r := range rows {
			cell, _ := excelize.CoordinatesToCellName(1, i+1)
			if err := f.SetSheetRow(s, cell, &r); err != nil {
				t.Fatal(err)
			}
		}
		f.SetCellFormula(s, "B10", "B2*2")
		f.SetCellValue(s, "B10", 84)
		f.SetCellFormula(s, "C10", "1/0")
		f.SetCellFormula(s, "D10", `"x"&"y"`)
		f.SetCellStr(s, "A10", "formulas")
		f.SetCellStr(s, "A11", "rich")
		f.SetCellRichText(s, "B11", []excelize.RichTextRun{{Text: "bold ", Font: &excelize.Font{Bold: true}},
			{Text: "red", Font: &excelize.Font{Color: "FF0000", Size: 9.5}}})
		style, _ := f.NewStyle(&excelize.Style{NumFmt: 14})
		f.SetCellStyle(s, "C11", "D12", style)
		f.SetCellStr(s, "A13", "far")
		f.SetCellStr(s, "Z13", "right")
		f.SetCellBool(s, "A15", true)
		f.SetCellInt(s, "B15", -7)
		f.SetCellFloat(s, "C15", 3.14159, 3, 64)
		f.MergeCell(s, "A16", "B17")
		f.SetCellStr(s, "A16", "merged")

		sw, err := f.NewStreamWriter("Stream")
		if err != nil {
			if _, err := f.NewSheet("Stream"); err != nil {
				t.Fatal(err)
			}
			if sw, err = f.NewStreamWriter("Stream"); err != nil {
				t.Fatal(err)
			}
		}
		sw.SetRow("A1", []any{"Account", "Amount", "Date", "Flag", "Text"})
		for i := 2; i < 200; i++ {
			cell, _ := excelize.CoordinatesToCellName(1, i)
			sw.SetRow(cell, []any{fmt.Sprintf("C-%03d", i), float64(i) / 4, date.AddDate(0, 0, i), i%3 == 0,
				excelize.Cell{Formula: "A1&\"x\"", Value: "Accountx"}})
		}
		if err := sw.Flush(); err != nil {
			t.Fatal(err)
		}
		if err := f.SaveAs(filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
}
