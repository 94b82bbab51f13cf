package transform

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/unicode"

	"github.com/erpipe/erpipe/formats"
	"github.com/erpipe/erpipe/formats/dmf"
	"github.com/erpipe/erpipe/transform/template"
)

// copyFile copies testdata file src into dir and returns its path.
func copyFile(t *testing.T, src, dir string) string {
	t.Helper()
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(dir, filepath.Base(src))
	if err := os.WriteFile(dst, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return dst
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// report renders a Result for golden files.
func report(res *Result) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "read %d, written %d, rejected %d, skipped %d\n", res.Read, res.Written, res.Rejected, res.Skipped)
	for _, e := range res.Errors {
		fmt.Fprintf(&b, "error: %v\n", e)
	}
	for _, e := range res.Warnings {
		fmt.Fprintf(&b, "warning: %v\n", e)
	}
	for _, o := range res.Outputs {
		fmt.Fprintf(&b, "output: %s\n", filepath.Base(o))
	}
	return b.Bytes()
}

// dirNames lists the names in dir.
func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

func TestRunOrdersCSV(t *testing.T) {
	tpl, err := Load("testdata/orders/template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	in := copyFile(t, "testdata/orders/orders.csv", t.TempDir())
	out := t.TempDir()
	res, err := tpl.Run(context.Background(), in, out)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "orders/want.report", report(res))
	if len(res.Outputs) != 1 || res.Outputs[0] != filepath.Join(out, "orders_orders_v2.1.0.csv") {
		t.Fatalf("outputs = %q", res.Outputs)
	}
	if names := dirNames(t, out); len(names) != 1 {
		t.Errorf("output folder holds %q, want only the output", names)
	}
	data, err := os.ReadFile(res.Outputs[0])
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "orders/want.csv", data)
}

// customersCSV is a customer list with one problem of each kind.
const customersCSV = `Account,Name,Customer group,Currency,Country,Street,City,Postal code,Email,Phone,Credit limit,Payment terms
c001, Acme  Corp ,10,eur,no,Main 1,Oslo,0150,ap@acme.no,+47 123,1250.50,30
C002,Bolt AS,10,NOK,NO,,,,,,0,Net45
C003,Comma AS,10,NOK,NO,,,,c@c.no,,"12,5",30
C004,Euro AS,10,EURO,NO,,,,d@d.no,,,
C005,Terms AS,10,NOK,NO,,,,e@e.no,,,90
C006,Neg AS,10,NOK,NO,,,,f@f.no,,-5,COD
,No account,10,NOK,NO,,,,g@g.no,,,
C008,ThisNameIsFine,10,NOK,NO,,,,h@h.no,,,14
C009012345678901234567,Long AS,10,NOK,NO,,,,i@i.no,,,
`

func TestRunCustomersV3CSV(t *testing.T) {
	tpl, err := Load("../templates/customers-v3/template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	in := writeFile(t, t.TempDir(), "customers.csv", customersCSV)
	out := t.TempDir()
	res, err := tpl.Run(context.Background(), in, out)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "customers-v3.report", report(res))
	if res.Read != 9 || res.Written != 4 || res.Rejected != 5 { // 12,5 reads as 12.50
		t.Errorf("read %d written %d rejected %d", res.Read, res.Written, res.Rejected)
	}
	golden(t, "customers-v3.entity.csv", []byte(zipEntryUTF16(t, res.Outputs[0], "Customers V3.csv")))
}

// zipEntryUTF16 returns an entry of a zip, decoded from UTF-16 with BOM.
func zipEntryUTF16(t *testing.T, path, name string) string {
	t.Helper()
	z, err := zip.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer z.Close()
	var names []string
	for _, f := range z.File {
		names = append(names, f.Name)
		if f.Name != name {
			continue
		}
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		defer rc.Close()
		dec := unicode.UTF16(unicode.LittleEndian, unicode.ExpectBOM).NewDecoder()
		data, err := io.ReadAll(dec.Reader(rc))
		if err != nil {
			t.Fatal(err)
		}
		return string(data)
	}
	t.Fatalf("%s has no %q; it has %q", path, name, names)
	return ""
}

func TestRunCustomersV3XLSX(t *testing.T) {
	tpl, err := Load("../templates/customers-v3/template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	// A workbook whose sheet is not called "Customers": the template reads
	// its first sheet and warns.
	f := excelize.NewFile()
	defer f.Close()
	rows := [][]any{
		{"Account", "Name", "Customer group", "Currency", "Credit limit", "Payment terms", "Email"},
		{"X1", "Excel AS", "10", "NOK", 1250.5, 30, "x@x.no"},
		{"X2", "Float AS", "10", "NOK", 0.1 + 0.2, "Net60", "y@y.no"},
		{"X3", "Negative AS", "10", "NOK", -1, "COD", "z@z.no"},
	}
	for i, r := range rows {
		cell, _ := excelize.CoordinatesToCellName(1, i+1)
		if err := f.SetSheetRow("Sheet1", cell, &r); err != nil {
			t.Fatal(err)
		}
	}
	in := filepath.Join(t.TempDir(), "customers.xlsx")
	if err := f.SaveAs(in); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	res, err := tpl.Run(context.Background(), in, out)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "customers-v3-xlsx.report", report(res))
	golden(t, "customers-v3-xlsx.entity.csv", []byte(zipEntryUTF16(t, res.Outputs[0], "Customers V3.csv")))
}

func TestRunXLSXDates(t *testing.T) {
	dir := t.TempDir()
	tplPath := writeFile(t, dir, "t.yaml", `name: dates
input:
  xlsx:
    sheet: Data
    missing_sheet: error
  fields:
    - name: day
      column: Day
      type: date
      layout: dd.MM.yyyy
    - name: at
      column: At
      type: datetime
    - name: amount
      column: Amount
      type: decimal
output:
  csv:
    columns:
      day: day
      at: at
      amount: amount
      text: DATEFORMAT(day, "dd.MM.yyyy")
`)
	tpl, err := Load(tplPath)
	if err != nil {
		t.Fatal(err)
	}
	f := excelize.NewFile()
	defer f.Close()
	if _, err := f.NewSheet("Data"); err != nil {
		t.Fatal(err)
	}
	for i, r := range [][]any{
		{"Day", "At", "Amount"},
		{46053, 46053.6041666667, "1234.56"},
		{"01.02.2026", "2026-02-01 08:00:00", 19.99},
		{"not a date", "", ""},
	} {
		cell, _ := excelize.CoordinatesToCellName(1, i+1)
		if err := f.SetSheetRow("Data", cell, &r); err != nil {
			t.Fatal(err)
		}
	}
	in := filepath.Join(dir, "dates.xlsx")
	if err := f.SaveAs(in); err != nil {
		t.Fatal(err)
	}
	res, err := tpl.Run(context.Background(), in, dir)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, "dates.csv"))
	if err != nil {
		t.Fatal(err)
	}
	want := "day,at,amount,text\n2026-01-31,2026-01-31 14:30:00,1234.56,31.01.2026\n2026-02-01,2026-02-01 08:00:00,19.99,01.02.2026\n"
	if string(data) != want {
		t.Errorf("output:\n%s\nwant:\n%s", data, want)
	}
	if len(res.Errors) != 1 || !strings.Contains(res.Errors[0].Error(), `dates.xlsx: sheet "Data" row 4 column A ("Day"): field day: "not a date" is not a date in the layout dd.MM.yyyy. Fix: write the date as dd.MM.yyyy, e.g. 31.01.2026`) {
		t.Errorf("errors = %v", res.Errors)
	}

	// With missing_sheet: error, a workbook without the sheet is refused.
	f2 := excelize.NewFile()
	defer f2.Close()
	in2 := filepath.Join(dir, "other.xlsx")
	f2.SetCellValue("Sheet1", "A1", "Day")
	if err := f2.SaveAs(in2); err != nil {
		t.Fatal(err)
	}
	_, err = tpl.Run(context.Background(), in2, dir)
	if err == nil || !strings.Contains(err.Error(), `no sheet "Data"`) {
		t.Errorf("missing sheet: err = %v", err)
	}
}

func TestRunFileErrors(t *testing.T) {
	tpl, err := Load("../templates/customers-v3/template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, file, content string
		want                string
	}{
		{"empty", "c.csv", "", `c.csv: the file is empty. Fix: the file has nothing in it; export it again, with the header row`},
		{"missing column", "c.csv", "Account,Name,Currency,Email\nA,B,NOK,x\n",
			`c.csv: row 1 ("Customer group"): field group: the file has no column "Customer group" (field group), which the template customers-v3 requires. Fix: add a column to the header row or rename the column that holds it; the file's columns are "Account", "Name", "Currency", "Email"`},
		{"missing columns", "c.csv", "Account,Name\nA,B\n",
			`the file has no columns "Customer group" (field group), "Currency" (field currency), which the template customers-v3 requires`},
		{"extension", "c.pdf", "x", `c.pdf: template customers-v3 can't read files ending in ".pdf"; it reads CSV (.csv, .txt), Excel (.xlsx)`},
		{"broken xlsx", "c.xlsx", "not a zip", `c.xlsx`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir, out := t.TempDir(), t.TempDir()
			in := writeFile(t, dir, tt.file, tt.content)
			res, err := tpl.Run(context.Background(), in, out)
			if err == nil {
				t.Fatalf("no error; result %s", report(res))
			}
			if res != nil {
				t.Errorf("result %+v with the error", res)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error:\n%v\nwant:\n%s", err, tt.want)
			}
			var fe *template.FieldError
			if !errors.As(err, &fe) || fe.Hint == "" || fe.Pos.File != tt.file {
				t.Errorf("error %#v is not a *FieldError with a hint and the file", err)
			}
			if names := dirNames(t, out); len(names) != 0 {
				t.Errorf("output folder holds %q after a failed run", names)
			}
		})
	}
}

func TestRunHeaderOnly(t *testing.T) {
	tpl, err := Load("testdata/orders/template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	in := writeFile(t, t.TempDir(), "empty.csv", "Order;Date;Item\n")
	out := t.TempDir()
	res, err := tpl.Run(context.Background(), in, out)
	if err != nil {
		t.Fatal(err)
	}
	if res.Read != 0 || res.Written != 0 || len(res.Outputs) != 1 {
		t.Fatalf("result %s", report(res))
	}
	data, _ := os.ReadFile(res.Outputs[0])
	if string(data) != "order,date,item,quantity,net,vat,gross,rush,note,ordered_raw\n" {
		t.Errorf("output %q", data)
	}
}

func TestRunCancelled(t *testing.T) {
	tpl, err := Load("testdata/orders/template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	in := copyFile(t, "testdata/orders/orders.csv", t.TempDir())
	out := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := tpl.Run(ctx, in, out); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
	if names := dirNames(t, out); len(names) != 0 {
		t.Errorf("output folder holds %q", names)
	}
}

func TestPreview(t *testing.T) {
	tpl, err := Load("testdata/orders/template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	in := copyFile(t, "testdata/orders/orders.csv", t.TempDir())
	rows, res, err := tpl.Preview(context.Background(), in, 5)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, r := range rows {
		if r.Values != nil {
			fmt.Fprintf(&b, "row %d: %q\n", r.Pos.Row, r.Values[0])
		}
		for _, e := range r.Errors {
			fmt.Fprintf(&b, "row %d: %v\n", r.Pos.Row, e)
		}
	}
	if res.Read != 5 {
		t.Errorf("read %d records, want 5", res.Read)
	}
	golden(t, "orders/want.preview", []byte(b.String()))
}

// fakeReader is a formats.Reader over records and errors given in advance.
type fakeReader struct {
	header []string
	items  []any // formats.Record or error
	i      int
	last   formats.Record
}

func (r *fakeReader) Header() []string { return r.header }

func (r *fakeReader) Read() (formats.Record, error) {
	if r.i >= len(r.items) {
		return formats.Record{}, io.EOF
	}
	it := r.items[r.i]
	r.i++
	if err, ok := it.(error); ok {
		return formats.Record{}, err
	}
	r.last = it.(formats.Record)
	return r.last, nil
}

func (r *fakeReader) FieldPos(i int) formats.Pos {
	p := r.last.Pos
	p.Col = i + 1
	return p
}

func rec(row int, fields ...string) formats.Record {
	return formats.Record{Pos: formats.Pos{File: "f.csv", Row: row}, Fields: fields}
}

func parseErr(row int, msg string) error {
	return &formats.ParseError{Pos: formats.Pos{File: "f.csv", Row: row}, Err: errors.New(msg)}
}

func TestProcessWithFakeReader(t *testing.T) {
	tpl, err := loadString(t, minimal)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		items    []any
		want     string // rows written, as "v1|v2;..."
		errs     []string
		fatal    string
		read     int
		rejected int
	}{
		{
			name:  "good rows",
			items: []any{rec(2, "a", "1.5"), rec(3, "b", "")},
			want:  "A|1.5;B|", read: 2,
		},
		{
			name:  "parse error then go on",
			items: []any{rec(2, "a", "1"), parseErr(3, "bad quote"), rec(4, "b", "2")},
			want:  "A|1;B|2", read: 3, rejected: 1,
			errs: []string{"f.csv: row 3: bad quote"},
		},
		{
			name:  "reader stuck",
			items: []any{parseErr(3, "broken"), parseErr(3, "broken")},
			fatal: "f.csv: row 3: stopped reading after 2 rows that could not be read; the last: broken. Fix: check that the file is the kind of file the template expects, with its delimiter and encoding",
		},
		{
			name:  "io error",
			items: []any{rec(2, "a", "1"), errors.New("disk on fire")},
			fatal: "f.csv: disk on fire. Fix: check that the file is complete and can be read",
		},
		{
			name:  "bad value and validation",
			items: []any{rec(2, "a", "x"), rec(3, "b", "-1"), rec(4, "c")},
			want:  "C|", read: 3, rejected: 2,
			errs: []string{
				`f.csv: row 2 column 2 ("amount"): field amount: "x" is not a decimal number. Fix: write the amount in digits, e.g. 12.50`,
				`f.csv: row 3 column 2 ("amount"): rule positive: The amount is negative.`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := &source{r: &fakeReader{header: []string{"Account", "amount"}, items: tt.items}, pos: formats.Pos{File: "f.csv"}}
			if err := tpl.bind(src); err != nil {
				t.Fatal(err)
			}
			res := &Result{}
			var rows []string
			err := tpl.process(context.Background(), src, res, func(_ formats.Pos, values [][]string) error {
				if values != nil {
					rows = append(rows, strings.Join(values[0], "|"))
				}
				return nil
			})
			if tt.fatal != "" {
				if err == nil || err.Error() != tt.fatal {
					t.Errorf("err = %v, want %s", err, tt.fatal)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(rows, ";"); got != tt.want {
				t.Errorf("rows %q, want %q", got, tt.want)
			}
			if res.Read != tt.read || res.Rejected != tt.rejected {
				t.Errorf("read %d rejected %d, want %d %d", res.Read, res.Rejected, tt.read, tt.rejected)
			}
			var errs []string
			for _, e := range res.Errors {
				errs = append(errs, e.Error())
			}
			if strings.Join(errs, "\n") != strings.Join(tt.errs, "\n") {
				t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(errs, "\n"), strings.Join(tt.errs, "\n"))
			}
		})
	}
}

func TestErrorLimit(t *testing.T) {
	tpl, err := loadString(t, minimal)
	if err != nil {
		t.Fatal(err)
	}
	var items []any
	for i := 0; i < maxReported+10; i++ {
		items = append(items, rec(i+2, "a", "-1"))
	}
	src := &source{r: &fakeReader{header: []string{"Account", "amount"}, items: items}}
	if err := tpl.bind(src); err != nil {
		t.Fatal(err)
	}
	res := &Result{}
	if err := tpl.process(context.Background(), src, res, func(formats.Pos, [][]string) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if res.Rejected != maxReported+10 || len(res.Errors) != maxReported {
		t.Errorf("rejected %d, errors kept %d", res.Rejected, len(res.Errors))
	}
}

func TestFieldErrorForms(t *testing.T) {
	fe := &template.FieldError{
		Pos:    formats.Pos{File: "customers.xlsx", Sheet: "Customers", Row: 4, Col: 7},
		Column: "Credit limit", Template: "customers-v3", Field: "credit_limit", Value: "12,5x", Severity: template.SeverityError,
		Err:  errors.New(`"12,5x" is not a decimal number`),
		Hint: `write the amount with a "." decimal separator, e.g. 1250.50`,
	}
	want := `customers.xlsx: sheet "Customers" row 4 column G ("Credit limit"): field credit_limit: "12,5x" is not a decimal number. Fix: write the amount with a "." decimal separator, e.g. 1250.50`
	if fe.Error() != want {
		t.Errorf("Error() =\n%s\nwant\n%s", fe.Error(), want)
	}
	data, err := json.Marshal(fe)
	if err != nil {
		t.Fatal(err)
	}
	var back template.FieldErrorJSON
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	if back.Sheet != "Customers" || back.Col != 7 || back.Error != `"12,5x" is not a decimal number` || back.Message != want || back.Value != "12,5x" {
		t.Errorf("JSON = %s", data)
	}
	warn := &template.FieldError{Pos: formats.Pos{File: "c.csv", Row: 9}, Rule: "email-present", Severity: template.SeverityWarning, Err: errors.New("No email.")}
	if got := warn.Error(); got != "c.csv: row 9: rule email-present (warning): No email." {
		t.Errorf("warning Error() = %q", got)
	}
}

func TestRunXML(t *testing.T) {
	tpl, err := Load("testdata/camt/template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if got := tpl.InputFormats(); strings.Join(got, ",") != "csv,xlsx,xml" {
		t.Errorf("InputFormats() = %q", got)
	}
	in := copyFile(t, "testdata/camt/statement.xml", t.TempDir())
	out := t.TempDir()
	res, err := tpl.Run(context.Background(), in, out)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "camt/want.report", report(res))
	data, err := os.ReadFile(res.Outputs[0])
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "camt/want.csv", data)
}

// TestDMFValueCheck checks the rule the DMF tables apply to each value
// before the writer sees it (dmf.CheckValue), so that a bad value leaves
// out its row instead of ending the package.
func TestDMFValueCheck(t *testing.T) {
	tests := []struct {
		format, value string
		ok            bool
	}{
		{"CSV-Unicode", "a\x01b", true},
		{"CSV-Unicode", "a\xffb", false},
		{"XML-Element", "tab\tnewline\n", true},
		{"XML-Element", "a\x01b", false},
		{"XML-Attribute", "\x0b", false},
		{"EXCEL", strings.Repeat("x", 32767), true},
		{"EXCEL", strings.Repeat("x", 32768), false},
		{"CSV", strings.Repeat("x", 40000), true},
	}
	for _, tt := range tests {
		if err := dmf.CheckValue(tt.format, tt.value); (err == nil) != tt.ok {
			t.Errorf("dmf.CheckValue(%s, %.20q) = %v, want ok %v", tt.format, tt.value, err, tt.ok)
		}
	}
}

// TestRunConcurrent runs one template on several files at once; run it
// with -race.
func TestRunConcurrent(t *testing.T) {
	tpl, err := Load("testdata/orders/template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile("testdata/orders/want.csv")
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 4)
	for i := 0; i < 4; i++ {
		in, out := copyFile(t, "testdata/orders/orders.csv", t.TempDir()), t.TempDir()
		go func() {
			res, err := tpl.Run(context.Background(), in, out)
			if err == nil {
				var got []byte
				got, err = os.ReadFile(res.Outputs[0])
				if err == nil && !bytes.Equal(got, want) {
					err = fmt.Errorf("output differs:\n%s", got)
				}
			}
			errs <- err
		}()
	}
	for i := 0; i < 4; i++ {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

func TestRunNoHeaderAndRuntimeErrors(t *testing.T) {
	dir := t.TempDir()
	tplPath := writeFile(t, dir, "t.yaml", `name: noheader
input:
  csv:
    header: false
    delimiter: tab
  fields:
    - name: code
      column: "1"
    - name: amount_text
      column: "2"
    - name: extra
      column: "9"
model:
  - name: amount
    expr: VALUE(amount_text)
filter: code != "skip"
output:
  file_name: template.name + input.ext
  csv:
    header: false
    columns:
      code: code
      half: amount / 2
      ratio: 100 / amount
      extra: ISBLANK(extra)
`)
	tpl, err := Load(tplPath)
	if err != nil {
		t.Fatal(err)
	}
	in := writeFile(t, dir, "in.txt", "a\t10\nskip\t1\nb\tten\nc\t0\n")
	out := t.TempDir()
	res, err := tpl.Run(context.Background(), in, out)
	if err != nil {
		t.Fatal(err)
	}
	got := string(report(res))
	want := `read 4, written 1, rejected 2, skipped 1
error: in.txt: row 3: field amount: VALUE: "ten" is not a decimal number. Fix: check the expression of model field amount against this row's values
error: in.txt: row 4: field ratio: division by zero (100 / 0). Fix: check the expression of output column ratio against this row's values
output: noheader.txt
`
	if got != want {
		t.Errorf("report:\n%s\nwant:\n%s", got, want)
	}
	data, _ := os.ReadFile(filepath.Join(out, "noheader.txt"))
	if string(data) != "a,5,10,true\n" {
		t.Errorf("output %q", data)
	}
}
