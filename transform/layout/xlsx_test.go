package layout_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"
)

const xlsxTemplate = `name: t
input:
  fields:
    - {name: account}
    - {name: day, type: date}
    - {name: amount, type: decimal}
    - {name: qty, type: integer}
    - {name: paid, type: boolean}
output:
  csv:
    columns:
      Account: account
      Day: day
      Amount: amount
      Qty: qty
      Paid: paid
  xlsx:
    sheet: Lines
`

const xlsxInput = "account,day,amount,qty,paid\n" +
	"00123,2026-01-31,1250.50,3,yes\n" +
	"A-2,2026-02-01,-0.1,,no\n" +
	"A-3,,12345678901234567.89,7,\n"

// cellOf describes a cell of the workbook: its type and its value.
func cellOf(t *testing.T, f *excelize.File, sheet, cell string) string {
	t.Helper()
	typ, err := f.GetCellType(sheet, cell)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := f.GetCellValue(sheet, cell, excelize.Options{RawCellValue: true})
	if err != nil {
		t.Fatal(err)
	}
	shown, _ := f.GetCellValue(sheet, cell)
	kinds := map[excelize.CellType]string{excelize.CellTypeUnset: "number", excelize.CellTypeNumber: "number",
		excelize.CellTypeInlineString: "text", excelize.CellTypeSharedString: "text", excelize.CellTypeBool: "bool"}
	if raw == "" {
		return "blank"
	}
	return kinds[typ] + " " + raw + " (" + shown + ")"
}

func TestXLSXOutput(t *testing.T) {
	tmpl, err := loadString(t, xlsxTemplate)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(tmpl.Outputs(), ", "); got != "CSV file, Excel workbook" {
		t.Errorf("Outputs() = %s", got)
	}
	dir := t.TempDir()
	in := writeFile(t, dir, "lines.csv", xlsxInput)
	out := t.TempDir()
	res, err := tmpl.Run(context.Background(), in, out)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Outputs) != 2 || filepath.Base(res.Outputs[0]) != "lines.csv" || filepath.Base(res.Outputs[1]) != "lines.xlsx" {
		t.Fatalf("outputs %v", res.Outputs)
	}
	csvText, _ := os.ReadFile(res.Outputs[0])
	if want := "Account,Day,Amount,Qty,Paid\n00123,2026-01-31,1250.50,3,true\nA-2,2026-02-01,-0.1,,false\nA-3,,12345678901234567.89,7,\n"; string(csvText) != want {
		t.Errorf("the CSV file:\n%s\nwant\n%s", csvText, want)
	}
	f, err := excelize.OpenFile(res.Outputs[1])
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if got := f.GetSheetList(); len(got) != 1 || got[0] != "Lines" {
		t.Fatalf("sheets %v", got)
	}
	for cell, want := range map[string]string{
		"A1": "text Account (Account)",
		"A2": "text 00123 (00123)", // text stays text, leading zeros too
		"B2": "number 46053 (2026-01-31)",
		"C2": "number 1250.5 (1250.50)", // a number, shown with its decimals
		"D2": "number 3 (3)",
		"E2": "bool 1 (TRUE)",
		"C3": "number -0.1 (-0.1)",
		"D3": "blank",
		"B4": "blank",
		"C4": "text 12345678901234567.89 (12345678901234567.89)", // more digits than Excel keeps: text
	} {
		if got := cellOf(t, f, "Lines", cell); got != want {
			t.Errorf("%s = %s, want %s", cell, got, want)
		}
	}

	// The workbook alone, with its own columns and the default name.
	only := strings.Replace(xlsxTemplate, "  csv:\n    columns:", "  xlsx:\n    header: false\n    columns:", 1)
	only = strings.Replace(only, "  xlsx:\n    sheet: Lines\n", "", 1)
	tmpl, err = loadString(t, only)
	if err != nil {
		t.Fatal(err)
	}
	out = t.TempDir()
	res, err = tmpl.Run(context.Background(), in, out)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Outputs) != 1 || filepath.Base(res.Outputs[0]) != "lines.xlsx" {
		t.Fatalf("outputs %v", res.Outputs)
	}
	f2, err := excelize.OpenFile(res.Outputs[0])
	if err != nil {
		t.Fatal(err)
	}
	defer f2.Close()
	if got := cellOf(t, f2, "Sheet1", "A1"); got != "text 00123 (00123)" {
		t.Errorf("without header, A1 = %s", got)
	}
	if entries, _ := os.ReadDir(out); len(entries) != 1 {
		t.Errorf("the output folder holds %d files", len(entries))
	}
}

func TestXLSXOutputErrors(t *testing.T) {
	for _, c := range []struct{ old, new, want string }{
		{"    sheet: Lines\n", "    sheet: Lines\n    columns:\n      A: account\n", "beside output.csv the workbook has the CSV file's columns"},
		{"    sheet: Lines\n", "    sheet: \"Q1/2026\"\n", `output.xlsx.sheet "Q1/2026" is not a sheet name Excel accepts`},
		{"  csv:\n    columns:\n      Account: account\n      Day: day\n      Amount: amount\n      Qty: qty\n      Paid: paid\n", "", "output.xlsx: list its columns"},
		{"    sheet: Lines\n", "    sheet: Lines\n  dmf:\n    entities: []\n", "give either csv (and/or xlsx) or dmf, not both"},
		{"    sheet: Lines\n", "    sheet: Lines\n    colums: x\n", `unknown key "colums"`},
	} {
		_, err := loadString(t, strings.Replace(xlsxTemplate, c.old, c.new, 1))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: got %v, want an error saying %s", c.new, err, c.want)
		}
	}
}
