package transform_test

import (
	"context"
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/erpipe/erpipe/formats"
	"github.com/erpipe/erpipe/transform"
	"github.com/erpipe/erpipe/transform/template"
)

const rejectedInput = `Account,Name,Customer group,Currency,Country,Street,City,Postal code,Email,Phone,Credit limit,Payment terms
OK-1,Good AS,10,EUR,NOR,Gate 1,Oslo,0150,a@b.example,1,100.00,30
BAD-1,Bad AS,10,EUR,NOR,Gate 2,Oslo,0150,c@d.example,2,"12,5x",30
OK-2,Fine AS,10,EUR,NOR,Gate 3,Oslo,0150,e@f.example,3,5.00,30
BAD-2,Terms AS,10,EURO,NOR,Gate 4,Oslo,0150,g@h.example,4,1.00,90
`

// TestWriteRejected checks that the rejected rows come back as they were,
// with what to fix, in the input's own format, and that the corrected file
// reads like the original.
func TestWriteRejected(t *testing.T) {
	tmpl, err := transform.Load("../templates/customers-v3/template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	in := filepath.Join(dir, "customers.csv")
	if err := os.WriteFile(in, []byte(rejectedInput), 0o644); err != nil {
		t.Fatal(err)
	}
	rows := map[int]string{}
	res, err := tmpl.RunWith(context.Background(), in, t.TempDir(), transform.RunOptions{
		OnReject: func(pos formats.Pos, errs []*template.FieldError) {
			var msgs []string
			for _, e := range errs {
				msgs = append(msgs, e.Error())
			}
			rows[pos.Row] = strings.Join(msgs, "; ")
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Rejected != 2 || len(rows) != 2 {
		t.Fatalf("rejected %d, OnReject saw %v", res.Rejected, rows)
	}
	out := filepath.Join(dir, tmpl.RejectedName("customers.csv"))
	if filepath.Base(out) != "customers.csv.rejected.csv" {
		t.Errorf("RejectedName = %s", filepath.Base(out))
	}
	if err := tmpl.WriteRejected(context.Background(), in, out, rows); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("rejected file has %d rows, want header + 2: %q", len(got), got)
	}
	if h := got[0]; strings.TrimPrefix(h[0], "\ufeff") != "Account" || h[len(h)-1] != "erpipe error" {
		t.Errorf("header %q", h)
	}
	if got[1][0] != "BAD-1" || got[1][10] != "12,5x" || !strings.Contains(got[1][12], "is not a decimal number") {
		t.Errorf("first rejected row %q", got[1])
	}
	if got[2][0] != "BAD-2" || !strings.Contains(got[2][12], "currency") || !strings.Contains(got[2][12], "payment terms") {
		t.Errorf("second rejected row %q; want both its errors", got[2])
	}

	// An XLSX input gives an XLSX file with the same sheet name.
	wb := excelize.NewFile()
	defer wb.Close()
	if err := wb.SetSheetName("Sheet1", "Customers"); err != nil {
		t.Fatal(err)
	}
	r, _ := csv.NewReader(strings.NewReader(rejectedInput)).ReadAll()
	for i, row := range r {
		cell, _ := excelize.CoordinatesToCellName(1, i+1)
		vals := make([]any, len(row))
		for j, v := range row {
			vals[j] = v
		}
		if err := wb.SetSheetRow("Customers", cell, &vals); err != nil {
			t.Fatal(err)
		}
	}
	xin := filepath.Join(dir, "customers.xlsx")
	if err := wb.SaveAs(xin); err != nil {
		t.Fatal(err)
	}
	xout := filepath.Join(dir, tmpl.RejectedName("customers.xlsx"))
	if err := tmpl.WriteRejected(context.Background(), xin, xout, map[int]string{3: "fix the amount"}); err != nil {
		t.Fatal(err)
	}
	xf, err := excelize.OpenFile(xout)
	if err != nil {
		t.Fatal(err)
	}
	defer xf.Close()
	xrows, err := xf.GetRows("Customers")
	if err != nil {
		t.Fatal(err)
	}
	if len(xrows) != 2 || xrows[1][0] != "BAD-1" || xrows[1][12] != "fix the amount" {
		t.Errorf("xlsx rejected rows %q", xrows)
	}
}

// formulaTemplate copies a text and an amount to a CSV file, and rejects
// rows without an amount.
const formulaTemplate = `name: formulas
input:
  fields:
    - {name: text, column: Text}
    - {name: amount, column: Amount, type: decimal, required: true}
output:
  csv:
    columns: {Text: text, Amount: amount}
`

// TestFormulasEscaped: a cell a spreadsheet would run as a formula is
// written with a ' before it in CSV outputs (unless the template says
// escape_formulas: false) and always in the rejected-rows file, which is
// made for Excel; numbers keep their sign.
func TestFormulasEscaped(t *testing.T) {
	const input = "Text,Amount\n\"=HYPERLINK(\"\"http://evil.example\"\",\"\"pay\"\")\",-12.50\n@SUM(A1),\n"
	for _, escape := range []bool{true, false} {
		src := formulaTemplate
		if !escape {
			src += "    escape_formulas: false\n"
		}
		dir := t.TempDir()
		tp := filepath.Join(dir, "t.yaml")
		in := filepath.Join(dir, "in.csv")
		if err := os.WriteFile(tp, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(in, []byte(input), 0o644); err != nil {
			t.Fatal(err)
		}
		tmpl, err := transform.Load(tp)
		if err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(dir, "out")
		os.Mkdir(out, 0o755)
		res, err := tmpl.Run(context.Background(), in, out)
		if err != nil || res.Rejected != 1 || len(res.Outputs) != 1 {
			t.Fatalf("%v %+v", err, res)
		}
		got, err := os.ReadFile(res.Outputs[0])
		if err != nil {
			t.Fatal(err)
		}
		want := "Text,Amount\n\"=HYPERLINK(\"\"http://evil.example\"\",\"\"pay\"\")\",-12.50\n"
		if escape {
			want = "Text,Amount\n\"'=HYPERLINK(\"\"http://evil.example\"\",\"\"pay\"\")\",-12.50\n"
		}
		if string(got) != want {
			t.Errorf("escape_formulas %v: output\n%s\nwant\n%s", escape, got, want)
		}
		rej := filepath.Join(dir, "in.rejected.csv")
		if err := tmpl.WriteRejected(context.Background(), in, rej, map[int]string{3: "amount is required"}); err != nil {
			t.Fatal(err)
		}
		if got, _ := os.ReadFile(rej); !strings.Contains(string(got), "'@SUM(A1),") {
			t.Errorf("the rejected-rows file does not escape the formula:\n%s", got)
		}
	}
}

// TestRejectedUnreadableRows: a row that could not be read at all (a
// stray quote, a value too many) is written back as it was, not as empty
// cells, with what to fix beside it, in the input's own delimiter.
func TestRejectedUnreadableRows(t *testing.T) {
	const input = "Text;Amount\nok;1.00\nbad \"quote;2.00\ntoo;many;3.00\nfine;4.00\n"
	dir := t.TempDir()
	tp := filepath.Join(dir, "t.yaml")
	src := strings.Replace(formulaTemplate, "input:\n", "input:\n  csv: {delimiter: \";\"}\n", 1)
	if err := os.WriteFile(tp, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	in := filepath.Join(dir, "in.csv")
	if err := os.WriteFile(in, []byte(input), 0o644); err != nil {
		t.Fatal(err)
	}
	tmpl, err := transform.Load(tp)
	if err != nil {
		t.Fatal(err)
	}
	rej := filepath.Join(dir, "in.rejected.csv")
	if err := tmpl.WriteRejected(context.Background(), in, rej, map[int]string{3: "fix the quote", 4: "one value too many"}); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(rej)
	if err != nil {
		t.Fatal(err)
	}
	want := "\ufeffText;Amount;erpipe error\r\nbad \"quote;2.00;fix the quote\r\ntoo;many;3.00;one value too many\r\n"
	if string(got) != want {
		t.Errorf("rejected rows:\n%q\nwant\n%q", got, want)
	}
}

// TestPreviewXMLShowsText: the preview of a template with an XML layout
// shows its values as text, not as the typed form it keeps them in
// ("d12500.00", "sFabrikam", "n").
func TestPreviewXMLShowsText(t *testing.T) {
	tmpl, err := transform.Load("../templates/pain001/template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	rows, _, err := tmpl.Preview(context.Background(), "../templates/pain001/samples/payments.csv", 3)
	if err != nil || len(rows) == 0 {
		t.Fatalf("%v, %d rows", err, len(rows))
	}
	seen := 0
	for _, r := range rows {
		for _, table := range r.Values {
			for _, v := range table {
				if v == "n" || strings.HasPrefix(v, "t20") || len(v) > 1 && v[0] == 'd' && (v[1] >= '0' && v[1] <= '9' || v[1] == '-') {
					t.Errorf("a value in its typed form: %q", v)
				}
				seen++
			}
		}
	}
	if seen == 0 {
		t.Fatal("no values previewed")
	}
}
