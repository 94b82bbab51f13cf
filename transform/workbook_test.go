package transform_test

import (
	"context"
	"encoding/csv"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/erpipe/erpipe/internal/office"
	"github.com/erpipe/erpipe/transform"
)

// designInvoice writes the workbook a finance user would design in Excel
// for invoice.yaml: a merged title, labelled cells named InvCustomer,
// InvNumber, InvDate (a date format) and LineCount, a header row, the
// line row named Lines (A9:E9) with an amount formula, a total under the
// lines (=SUM(E9:E9)) and a cell named NetTotal.
func designInvoice(t *testing.T, path string) {
	t.Helper()
	f := excelize.NewFile()
	defer f.Close()
	const s = "Invoice"
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(f.SetSheetName("Sheet1", s))
	title, _ := f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true, Size: 16}})
	head, _ := f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}, Fill: excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"DDEBF7"}}})
	money := "#,##0.00"
	amount, _ := f.NewStyle(&excelize.Style{CustomNumFmt: &money})
	dateFmt := "dd.mm.yyyy"
	date, _ := f.NewStyle(&excelize.Style{CustomNumFmt: &dateFmt})
	text, _ := f.NewStyle(&excelize.Style{NumFmt: 49})
	total, _ := f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}, CustomNumFmt: &money})
	must(f.SetCellValue(s, "A1", "INVOICE"))
	must(f.MergeCell(s, "A1", "E1"))
	must(f.SetCellStyle(s, "A1", "A1", title))
	for cell, v := range map[string]string{"A3": "Customer", "A4": "Invoice no", "A5": "Date", "A6": "Lines",
		"A8": "Item", "B8": "Description", "C8": "Qty", "D8": "Price", "E8": "Amount", "D11": "Total", "D12": "Net (erpipe)"} {
		must(f.SetCellValue(s, cell, v))
	}
	must(f.SetCellStyle(s, "A8", "E8", head))
	must(f.SetCellStyle(s, "B5", "B5", date))
	must(f.SetCellStyle(s, "A9", "A9", text))
	must(f.SetCellStyle(s, "D9", "E9", amount))
	must(f.SetCellFormula(s, "E9", "C9*D9"))
	must(f.SetCellFormula(s, "E11", "SUM(E9:E9)"))
	must(f.SetCellStyle(s, "E11", "E11", total))
	must(f.SetCellStyle(s, "E12", "E12", amount))
	must(f.SetColWidth(s, "A", "A", 10))
	must(f.SetColWidth(s, "B", "B", 28))
	must(f.SetRowHeight(s, 9, 18))
	for name, ref := range map[string]string{"InvCustomer": "$B$3", "InvNumber": "$B$4", "InvDate": "$B$5", "LineCount": "$B$6",
		"Lines": "$A$9:$E$9", "NetTotal": "$E$12"} {
		must(f.SetDefinedName(&excelize.DefinedName{Name: name, RefersTo: s + "!" + ref}))
	}
	must(f.SaveAs(path))
}

// copyDesign puts testdata/workbook/invoice.xlsx into dir.
func copyDesign(t testing.TB, dir string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "workbook", "invoice.xlsx"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "invoice.xlsx"), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

var updateWorkbook = flag.Bool("update-workbook", false, "write testdata/workbook/invoice.xlsx again")

// TestDesignedWorkbook: testdata/workbook/invoice.xlsx is designInvoice's
// (go test ./transform -run TestDesignedWorkbook -update-workbook writes
// it again); the end-to-end tests use it too.
func TestDesignedWorkbook(t *testing.T) {
	path := filepath.Join("testdata", "workbook", "invoice.xlsx")
	if *updateWorkbook {
		designInvoice(t, path)
	}
	f, err := excelize.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var names []string
	for _, d := range f.GetDefinedName() {
		names = append(names, d.Name+"="+d.RefersTo)
	}
	slices.Sort(names)
	want := []string{"InvCustomer=Invoice!$B$3", "InvDate=Invoice!$B$5", "InvNumber=Invoice!$B$4", "LineCount=Invoice!$B$6", "Lines=Invoice!$A$9:$E$9", "NetTotal=Invoice!$E$12"}
	if !slices.Equal(names, want) {
		t.Errorf("%s has the names %q, want %q (run with -update-workbook)", path, names, want)
	}
}

// workbookTemplate copies a test template and the designed workbook into
// a folder of their own and loads it.
func workbookTemplate(t testing.TB, name string) *transform.Template {
	t.Helper()
	dir := t.TempDir()
	b, err := os.ReadFile(filepath.Join("testdata", "workbook", name))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
		t.Fatal(err)
	}
	copyDesign(t, dir)
	tmpl, err := transform.Load(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return tmpl
}

func runWorkbook(t *testing.T, tmpl *transform.Template) (*transform.Result, string) {
	t.Helper()
	out := t.TempDir()
	res, err := tmpl.RunWith(context.Background(), filepath.Join("testdata", "workbook", "lines.csv"), out,
		transform.RunOptions{Time: time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	return res, out
}

// TestWorkbookFilled: the lines fill copies of the line row, the rows
// below move down, the copies keep the row's styles, height and formula
// (each on its own row), the total under the lines adds up every copy,
// values keep their types (0150 stays text, dates are dates in the
// designer's format), and the named cells get the file's values and
// aggregates.
func TestWorkbookFilled(t *testing.T) {
	res, out := runWorkbook(t, workbookTemplate(t, "invoice.yaml"))
	if len(res.Outputs) != 1 || filepath.Base(res.Outputs[0]) != "lines.xlsx" {
		t.Fatalf("outputs %v", res.Outputs)
	}
	f, err := excelize.OpenFile(res.Outputs[0])
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	const s = "Invoice"
	value := func(cell string) string {
		v, _ := f.GetCellValue(s, cell, excelize.Options{RawCellValue: true})
		return v
	}
	typ := func(cell string) excelize.CellType { c, _ := f.GetCellType(s, cell); return c }
	formula := func(cell string) string { v, _ := f.GetCellFormula(s, cell); return v }
	style := func(cell string) int { v, _ := f.GetCellStyle(s, cell); return v }
	for cell, want := range map[string]string{"B3": "Fjordkraft Verksted AS", "B4": "1041", "B6": "4",
		"A9": "0150", "A10": "0151", "A11": "A-77", "A12": "0150", "B11": "Welding, 2 hours", "C9": "100", "D11": "950",
		"D14": "Total", "D15": "Net (erpipe)", "E15": "1964", "A8": "Item"} {
		if got := value(cell); got != want {
			t.Errorf("%s = %q, want %q", cell, got, want)
		}
	}
	if typ("A9") == excelize.CellTypeNumber || typ("C9") != excelize.CellTypeNumber && typ("C9") != excelize.CellTypeUnset {
		t.Errorf("types: A9 %v (text wanted), C9 %v (a number wanted)", typ("A9"), typ("C9"))
	}
	if got, _ := f.GetCellValue(s, "B5"); got != "30.11.2026" {
		t.Errorf("B5 shows %q, want the date in the designer's format 30.11.2026", got)
	}
	for row := 9; row <= 12; row++ {
		r := formula("E" + itoa(row))
		if r != "C"+itoa(row)+"*D"+itoa(row) {
			t.Errorf("E%d formula %q", row, r)
		}
		if style("D"+itoa(row)) != style("D9") || style("A"+itoa(row)) != style("A9") {
			t.Errorf("row %d lost the line row's styles", row)
		}
		if h, _ := f.GetRowHeight(s, row); h != 18 {
			t.Errorf("row %d height %v, want 18", row, h)
		}
	}
	if got := formula("E14"); got != "SUM(E9:E12)" {
		t.Errorf("the total's formula is %q, want SUM(E9:E12)", got)
	}
	if merged, _ := f.GetMergeCells(s); len(merged) != 1 || merged[0].GetStartAxis() != "A1" || merged[0].GetEndAxis() != "E1" {
		t.Errorf("merged cells %v", merged)
	}
	if names := f.GetDefinedName(); !slices.ContainsFunc(names, func(d excelize.DefinedName) bool {
		return d.Name == "NetTotal" && strings.Contains(d.RefersTo, "$E$15")
	}) {
		t.Errorf("the defined name NetTotal does not follow its cell: %+v", names)
	}
	if w, _ := f.GetColWidth(s, "B"); w != 28 {
		t.Errorf("column B width %v", w)
	}
	recalculated(t, res.Outputs[0], out)
}

// recalculated opens the workbook with LibreOffice, which computes its
// formulas, and checks the results: each amount and the total.
func recalculated(t *testing.T, xlsx, dir string) {
	t.Helper()
	bin, err := office.Binary()
	if err != nil {
		if os.Getenv("ERPIPE_REQUIRE_OFFICE") != "" {
			t.Fatal(err)
		}
		t.Skip("LibreOffice is not installed; the formulas' results are not checked (ERPIPE_REQUIRE_OFFICE makes this fail)")
	}
	cmd := exec.Command(bin, "--headless", "--norestore", "-env:UserInstallation=file://"+filepath.Join(dir, "lo"),
		"--convert-to", "csv", "--outdir", dir, xlsx)
	cmd.Env = append(os.Environ(), "HOME="+dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("soffice: %v: %s", err, out)
	}
	fh, err := os.Open(filepath.Join(dir, strings.TrimSuffix(filepath.Base(xlsx), ".xlsx")+".csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	rows, err := csv.NewReader(fh).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	cell := func(row, col int) string {
		if row-1 < len(rows) && col-1 < len(rows[row-1]) {
			return rows[row-1][col-1]
		}
		return ""
	}
	for row, want := range map[int]string{9: "35", 10: "15", 11: "1900", 12: "14", 14: "1964"} {
		if got := cell(row, 5); got != want {
			t.Errorf("LibreOffice computes E%d = %q, want %q", row, got, want)
		}
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

// TestWorkbookPerGroup: with $group at the top of the layout, each
// invoice is a workbook of its own, named by document_name, with only its
// lines and its sums, and its PDF beside it (LibreOffice), whose text
// holds the invoice.
func TestWorkbookPerGroup(t *testing.T) {
	if _, err := office.Binary(); err != nil && os.Getenv("ERPIPE_REQUIRE_OFFICE") == "" {
		t.Skip("LibreOffice is not installed; PDFs cannot be made (ERPIPE_REQUIRE_OFFICE makes this fail)")
	}
	res, _ := runWorkbook(t, workbookTemplate(t, "per-invoice.yaml"))
	var names []string
	for _, o := range res.Outputs {
		names = append(names, filepath.Base(o))
	}
	slices.Sort(names)
	if want := []string{"invoice-1041.pdf", "invoice-1041.xlsx", "invoice-1042.pdf", "invoice-1042.xlsx"}; !slices.Equal(names, want) {
		t.Fatalf("outputs %q, want %q", names, want)
	}
	dir := filepath.Dir(res.Outputs[0])
	for inv, want := range map[string]struct{ customer, lines, net string }{
		"1041": {"Fjordkraft Verksted AS", "3", "1950"}, "1042": {"Müller Maschinenbau GmbH", "1", "14"}} {
		f, err := excelize.OpenFile(filepath.Join(dir, "invoice-"+inv+".xlsx"))
		if err != nil {
			t.Fatal(err)
		}
		get := func(cell string) string {
			v, _ := f.GetCellValue("Invoice", cell, excelize.Options{RawCellValue: true})
			return v
		}
		if get("B3") != want.customer || get("B4") != inv || get("B6") != want.lines {
			t.Errorf("invoice %s: B3 %q B4 %q B6 %q", inv, get("B3"), get("B4"), get("B6"))
		}
		n, _ := strconv.Atoi(want.lines)
		if net := get("E" + itoa(12+n-1)); net != want.net {
			t.Errorf("invoice %s: NetTotal (E%d) = %q, want %s", inv, 12+n-1, net, want.net)
		}
		f.Close()
		text := pdfText(t, filepath.Join(dir, "invoice-"+inv+".pdf"))
		for _, s := range []string{"INVOICE", want.customer, inv, "Bolts M8"} {
			if !strings.Contains(text, s) {
				t.Errorf("invoice-%s.pdf does not say %q:\n%s", inv, s, text)
			}
		}
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".*")); len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

// pdfText is a PDF's text, by pdftotext (poppler-utils).
func pdfText(t *testing.T, path string) string {
	t.Helper()
	bin, err := exec.LookPath("pdftotext")
	if err != nil {
		if os.Getenv("ERPIPE_REQUIRE_OFFICE") != "" {
			t.Fatal("pdftotext (poppler-utils) is not installed")
		}
		t.Skip("pdftotext (poppler-utils) is not installed")
	}
	out, err := exec.Command(bin, "-layout", path, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext %s: %v", path, err)
	}
	return string(out)
}

// TestWorkbookTemplateErrors: a layout that binds what the workbook does
// not have is refused when the template is loaded, at the key's line and
// column, naming what the workbook has.
func TestWorkbookTemplateErrors(t *testing.T) {
	base, err := os.ReadFile(filepath.Join("testdata", "workbook", "invoice.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ name, from, to, want string }{
		{"an unknown name", "      NetTotal: SUM(amount)", "      NetTotl: SUM(amount)",
			`:35:7: layout: "NetTotl" is not a defined name of invoice.xlsx; its names are InvCustomer, InvDate, InvNumber, LineCount, Lines, NetTotal`},
		{"a range given one value", "      Lines:\n        $each: row\n        A: item\n        B: description\n        C: qty\n        D: price\n", "      Lines: item\n",
			`layout: Lines is the range Invoice!A9:E9; give a single value a name of one cell`},
		{"a column outside the range", "        D: price", "        G: price", `:34:9: layout: column G is outside the range it is in (columns A to E)`},
		{"no such workbook", "    file: invoice.xlsx", "    file: invoices.xlsx", `output.workbook.file: open`},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			text := strings.Replace(string(base), c.from, c.to, 1)
			if text == string(base) {
				t.Fatalf("%q is not in the template", c.from)
			}
			if err := os.WriteFile(filepath.Join(dir, "t.yaml"), []byte(text), 0o644); err != nil {
				t.Fatal(err)
			}
			copyDesign(t, dir)
			_, err := transform.Load(filepath.Join(dir, "t.yaml"))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("Load: %v\nwant an error saying %q", err, c.want)
			}
		})
	}
}

// TestWorkbookNested: a range repeated per group (an order: its header
// row, its lines, its subtotal row) holds a range repeated per row (the
// lines); each order's subtotal formula adds up its own lines.
func TestWorkbookNested(t *testing.T) {
	dir := t.TempDir()
	f := excelize.NewFile()
	const s = "Orders"
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(f.SetSheetName("Sheet1", s))
	must(f.SetCellValue(s, "A1", "ORDERS"))
	must(f.SetCellValue(s, "D1", 0.25)) // a number of the design stays a number
	must(f.SetCellValue(s, "A3", "Order"))
	must(f.SetCellValue(s, "B4", "(order number)")) // a placeholder, replaced or emptied
	must(f.SetCellValue(s, "C6", "Subtotal"))
	must(f.SetCellFormula(s, "D5", "B5*C5"))
	must(f.SetCellFormula(s, "D6", "SUM(D5:D5)"))
	must(f.SetCellValue(s, "C8", "Grand total"))
	for name, ref := range map[string]string{"Order": "$A$4:$D$6", "OrderNo": "$B$4", "Line": "$A$5:$D$5", "GrandTotal": "$D$8"} {
		must(f.SetDefinedName(&excelize.DefinedName{Name: name, RefersTo: s + "!" + ref}))
	}
	must(f.SaveAs(filepath.Join(dir, "orders.xlsx")))
	f.Close()
	tmpl := `name: orders
version: 1.0.0
status: completed
description: orders with their lines
input:
  format: csv
  fields:
    - {name: invoice_number, column: Invoice, required: true}
    - {name: item, column: Item}
    - {name: qty, column: Qty, type: decimal}
    - {name: price, column: Price, type: decimal}
model:
  - {name: amount, expr: "ROUND(qty * price, 2)"}
output:
  workbook:
    file: orders.xlsx
    layout:
      GrandTotal: SUM(amount)
      Order:
        $group: invoice_number
        OrderNo: 'IF(invoice_number == "1042", "", invoice_number)'
        Line:
          $each: row
          A: item
          B: qty
          C: price
`
	if err := os.WriteFile(filepath.Join(dir, "orders.yaml"), []byte(tmpl), 0o644); err != nil {
		t.Fatal(err)
	}
	tm, err := transform.Load(filepath.Join(dir, "orders.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	res, out := runWorkbook(t, tm)
	wb, err := excelize.OpenFile(res.Outputs[0])
	if err != nil {
		t.Fatal(err)
	}
	defer wb.Close()
	get := func(cell string) string {
		v, _ := wb.GetCellValue(s, cell, excelize.Options{RawCellValue: true})
		return v
	}
	formula := func(cell string) string { v, _ := wb.GetCellFormula(s, cell); return v }
	for cell, want := range map[string]string{"B4": "1041", "A5": "0150", "A7": "A-77", "C8": "Subtotal", "B9": "", "A10": "0150",
		"C11": "Subtotal", "C13": "Grand total", "D13": "1964", "A1": "ORDERS"} {
		if got := get(cell); got != want {
			t.Errorf("%s = %q, want %q", cell, got, want)
		}
	}
	if typ, _ := wb.GetCellType(s, "D1"); typ == excelize.CellTypeSharedString || typ == excelize.CellTypeInlineString || get("D1") != "0.25" {
		t.Errorf("the design's number D1 became %q of type %v", get("D1"), typ)
	}
	for cell, want := range map[string]string{"D5": "B5*C5", "D7": "B7*C7", "D8": "SUM(D5:D7)", "D10": "B10*C10", "D11": "SUM(D10:D10)"} {
		if got := formula(cell); got != want {
			t.Errorf("%s formula %q, want %q", cell, got, want)
		}
	}
	if bin, err := office.Binary(); err == nil {
		cmd := exec.Command(bin, "--headless", "--norestore", "-env:UserInstallation=file://"+filepath.Join(out, "lo"), "--convert-to", "csv", "--outdir", out, res.Outputs[0])
		cmd.Env = append(os.Environ(), "HOME="+out)
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("soffice: %v: %s", err, b)
		}
		data, _ := os.ReadFile(strings.TrimSuffix(res.Outputs[0], ".xlsx") + ".csv")
		rows, _ := csv.NewReader(strings.NewReader(string(data))).ReadAll()
		if len(rows) < 11 || rows[7][3] != "1950" || rows[10][3] != "14" {
			t.Errorf("LibreOffice computes the subtotals D8 and D11 as %q; want 1950 and 14", rows)
		}
	} else if os.Getenv("ERPIPE_REQUIRE_OFFICE") != "" {
		t.Fatal(err)
	}
}

// TestWorkbookGolden: the filled invoice's cells (value, formula, number
// format, merged cells and names) against testdata/workbook/golden.txt
// (-update-workbook writes it again).
func TestWorkbookGolden(t *testing.T) {
	res, _ := runWorkbook(t, workbookTemplate(t, "invoice.yaml"))
	got := dumpWorkbook(t, res.Outputs[0])
	path := filepath.Join("testdata", "workbook", "golden.txt")
	if *updateWorkbook {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("the filled workbook differs from %s (run with -update-workbook if it should):\n%s", path, got)
	}
}

// dumpWorkbook writes every cell of every sheet as text: its reference,
// raw value, formula and number format, then the merged cells and names.
func dumpWorkbook(t *testing.T, path string) string {
	t.Helper()
	f, err := excelize.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var b strings.Builder
	for _, s := range f.GetSheetList() {
		fmt.Fprintf(&b, "sheet %s\n", s)
		rows, err := f.GetRows(s, excelize.Options{RawCellValue: true})
		if err != nil {
			t.Fatal(err)
		}
		for r := 1; r <= len(rows)+2; r++ {
			for c := 1; c <= 6; c++ {
				cell, _ := excelize.CoordinatesToCellName(c, r)
				v, _ := f.GetCellValue(s, cell, excelize.Options{RawCellValue: true})
				formula, _ := f.GetCellFormula(s, cell)
				style, _ := f.GetCellStyle(s, cell)
				format := ""
				if st, err := f.GetStyle(style); err == nil && st != nil {
					if st.CustomNumFmt != nil {
						format = *st.CustomNumFmt
					} else if st.NumFmt != 0 {
						format = fmt.Sprint(st.NumFmt)
					}
				}
				if v == "" && formula == "" {
					continue
				}
				fmt.Fprintf(&b, "  %s %q", cell, v)
				if formula != "" {
					fmt.Fprintf(&b, " =%s", formula)
				}
				if format != "" {
					fmt.Fprintf(&b, " [%s]", format)
				}
				b.WriteByte('\n')
			}
		}
		merged, _ := f.GetMergeCells(s)
		for _, m := range merged {
			fmt.Fprintf(&b, "  merged %s:%s\n", m.GetStartAxis(), m.GetEndAxis())
		}
	}
	var names []string
	for _, d := range f.GetDefinedName() {
		names = append(names, d.Name+" = "+d.RefersTo)
	}
	slices.Sort(names)
	for _, n := range names {
		fmt.Fprintf(&b, "name %s\n", n)
	}
	return b.String()
}
