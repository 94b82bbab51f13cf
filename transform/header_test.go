package transform_test

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/erpipe/erpipe/formats"
	"github.com/erpipe/erpipe/formats/excel"
	"github.com/erpipe/erpipe/transform"
	"github.com/erpipe/erpipe/transform/template"
)

// titledXLSX writes a workbook as people make them: a title merged across
// the columns, a blank row, the header on row 3, a name merged down two
// rows, an amount that is not one.
func titledXLSX(t *testing.T, dir string) string {
	t.Helper()
	f := excelize.NewFile()
	defer f.Close()
	for cell, v := range map[string]any{
		"A1": "Customer list exported 2026-12-01",
		"A3": "Account", "B3": "Name", "C3": "Amount",
		"A4": "C-1", "B4": "Contoso", "C4": 12.5,
		"A5": "C-2", "C5": 7,
		"A6": "C-3", "B6": "Fabrikam", "C6": "x",
	} {
		if err := f.SetCellValue("Sheet1", cell, v); err != nil {
			t.Fatal(err)
		}
	}
	for _, m := range [][2]string{{"A1", "C1"}, {"B4", "B5"}} {
		if err := f.MergeCell("Sheet1", m[0], m[1]); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(dir, "title.xlsx")
	if err := f.SaveAs(path); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestTitleRows: a header below a title is found when the template does
// not say where it is, with a warning naming the row and what was
// skipped; rows keep the file's own numbers; a template that names the
// header row gets no warning; without such a row, the file is refused as
// before.
func TestTitleRows(t *testing.T) {
	auto, err := transform.Load("testdata/titles/template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	named, err := transform.Load("testdata/titles/header-row.yaml")
	if err != nil {
		t.Fatal(err)
	}
	xlsx := titledXLSX(t, t.TempDir())
	tests := []struct {
		name    string
		tmpl    *transform.Template
		input   string
		warning string   // the run's first warning
		errors  []string // the rows' errors
		out     string
		err     string // the file's error
	}{{
		name:    "title and a blank row",
		tmpl:    auto,
		input:   "testdata/titles/title.csv",
		warning: `title.csv: row 3: warning: the header is on row 3; rows 1-2 were skipped: "Customer list exported 2026-12-01". Fix: set input.csv.header_row: 3 in the template to say so`,
		errors: []string{
			`title.csv: row 5 column 2 ("Name"): field name: a value is required but the cell is blank`,
			`title.csv: row 6 column 3 ("Amount"): field amount: "x" is not a decimal number`,
		},
		out: "account,name,amount\nC-1,Contoso,12.50\n",
	}, {
		name:    "a title with quotes, and semicolons",
		tmpl:    auto,
		input:   "testdata/titles/title-quote.csv",
		warning: `title-quote.csv: row 2: warning: the header is on row 2; row 1 was skipped: "Report for 5\" screws, \"all\" customers". Fix: set input.csv.header_row: 2 in the template to say so`,
		out:     "account,name,amount\nC-1,Contoso,12.50\nC-2,Fabrikam,7\n",
	}, {
		name:    "a title padded with delimiters, as Excel saves it",
		tmpl:    auto,
		input:   "testdata/titles/title-padded.csv",
		warning: `title-padded.csv: row 3: warning: the header is on row 3; rows 1-2 were skipped: "Customer list exported 2026-12-01". Fix`,
		out:     "account,name,amount\nC-1,Contoso,12.50\n",
	}, {
		name:    "two title rows, tabs, CRLF",
		tmpl:    auto,
		input:   "testdata/titles/title-tabs.csv",
		warning: `title-tabs.csv: row 4: warning: the header is on row 4; rows 1-3 were skipped: "Kundeliste / Eksportert 2026-12-01". Fix: set input.csv.header_row: 4`,
		out:     "account,name,amount\nC-1,Contoso,12.50\n",
	}, {
		name:    "an optional column missing",
		tmpl:    auto,
		input:   "testdata/titles/no-amount.csv",
		warning: `no-amount.csv: row 2: warning: the header is on row 2; row 1 was skipped: "Customer list"`,
		out:     "account,name,amount\nC-1,Contoso,\n",
	}, {
		name:    "a workbook: merged title, merged name",
		tmpl:    auto,
		input:   xlsx,
		warning: `title.xlsx: sheet "Sheet1" row 3: warning: the header is on row 3; rows 1-2 were skipped: "Customer list exported 2026-12-01". Fix: set input.xlsx.header_row: 3 in the template to say so`,
		errors:  []string{`title.xlsx: sheet "Sheet1" row 6 column C ("Amount"): field amount: "x" is not a decimal number`},
		out:     "account,name,amount\nC-1,Contoso,12.5\nC-2,Contoso,7\n",
	}, {
		name:   "the header row named: no warning",
		tmpl:   named,
		input:  "testdata/titles/title.csv",
		errors: []string{`title.csv: row 5 column 2 ("Name")`, `title.csv: row 6 column 3 ("Amount")`},
		out:    "account,name,amount\nC-1,Contoso,12.50\n",
	}, {
		name:   "the header row named, a workbook",
		tmpl:   named,
		input:  xlsx,
		errors: []string{`title.xlsx: sheet "Sheet1" row 6 column C ("Amount")`},
		out:    "account,name,amount\nC-1,Contoso,12.5\nC-2,Contoso,7\n",
	}, {
		name:  "the header row named, and blank",
		tmpl:  named,
		input: "testdata/titles/title-tabs.csv",
		err:   `title-tabs.csv: row 3: row 3 is blank, so it has no column names (the next row that is not blank is row 4); put the column names in row 3 or change the header row in the template. Fix: put the column names in the header row, or change input.csv.header_row in the template`,
	}, {
		name:    "three title rows",
		tmpl:    auto,
		input:   "testdata/titles/title-deep.csv",
		warning: `title-deep.csv: row 5: warning: the header is on row 5; rows 1-4 were skipped: "Customer list / Exported 2026-12-01 / By: finance". Fix: set input.csv.header_row: 5`,
		out:     "account,name,amount\nC-1,Contoso,1\n",
	}, {
		name:  "the header row named, and wrong",
		tmpl:  named,
		input: "testdata/titles/title-deep.csv",
		err:   `title-deep.csv: row 3 ("Account"): field account: the file has no columns "Account" (field account), "Name" (field name), which the template titles requires. Fix: the template's columns are on row 5, under a title or other rows: remove the rows above them, or set input.csv.header_row: 5 in the template`,
	}, {
		name:  "no row holds the columns",
		tmpl:  auto,
		input: "testdata/titles/no-header.csv",
		err:   `no-header.csv: row 1 ("Account"): field account: the file has no columns "Account" (field account), "Name" (field name), which the template titles requires. Fix: add the columns to the header row or rename the column that holds it; the file's columns are "Customer list"`,
	}, {
		name:  "the header below the first 10 rows",
		tmpl:  auto,
		input: "testdata/titles/title-too-long.csv",
		err:   `the file's columns are "Customer list"`,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := t.TempDir()
			res, err := tt.tmpl.Run(context.Background(), tt.input, out)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error:\n%v\nwant:\n%s", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case tt.warning == "" && len(res.Warnings) > 0:
				t.Errorf("warnings %v, want none", res.Warnings)
			case tt.warning != "" && (len(res.Warnings) == 0 || !strings.HasPrefix(res.Warnings[0].Error(), tt.warning)):
				t.Errorf("warnings %v, want first:\n%s", res.Warnings, tt.warning)
			}
			if len(res.Errors) != len(tt.errors) {
				t.Fatalf("errors %v, want %d", res.Errors, len(tt.errors))
			}
			for i, e := range res.Errors {
				if !strings.HasPrefix(e.Error(), tt.errors[i]) {
					t.Errorf("error %d:\n%v\nwant:\n%s", i, e, tt.errors[i])
				}
			}
			data, err := os.ReadFile(res.Outputs[0])
			if err != nil {
				t.Fatal(err)
			}
			if string(data) != tt.out {
				t.Errorf("output:\n%s\nwant:\n%s", data, tt.out)
			}
		})
	}
}

// TestTitleRowsRejected: the rejected-rows file of an input with a title
// keeps the title above the header, in the same rows, so that the
// corrected file is read as the input was, found or named.
func TestTitleRowsRejected(t *testing.T) {
	auto, err := transform.Load("testdata/titles/template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	named, err := transform.Load("testdata/titles/header-row.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, input := range []string{"testdata/titles/title.csv", titledXLSX(t, t.TempDir())} {
		t.Run(filepath.Base(input), func(t *testing.T) {
			rows := map[int]string{}
			_, err := auto.RunWith(context.Background(), input, t.TempDir(), transform.RunOptions{
				OnReject: func(pos formats.Pos, errs []*template.FieldError) { rows[pos.Row] = errs[0].Problem() },
			})
			if err != nil {
				t.Fatal(err)
			}
			out := filepath.Join(t.TempDir(), auto.RejectedName(filepath.Base(input)))
			if err := auto.WriteRejected(context.Background(), input, out, rows); err != nil {
				t.Fatal(err)
			}
			if strings.HasSuffix(out, ".csv") {
				data, err := os.ReadFile(out)
				if err != nil {
					t.Fatal(err)
				}
				want := "\ufeffCustomer list exported 2026-12-01\r\n\r\nAccount,Name,Amount,erpipe error\r\n" +
					"C-2,,7,\"field name: a value is required but the cell is blank. Fix: fill in \"\"Name\"\"; the template requires it\"\r\n" +
					"C-3,Fabrikam,x,\"field amount: \"\"x\"\" is not a decimal number. Fix:"
				if !strings.HasPrefix(string(data), want) {
					t.Errorf("rejected rows:\n%q\nwant them to start:\n%q", data, want)
				}
			} else {
				r, err := excel.Open(out, excel.Options{})
				if err != nil {
					t.Fatal(err)
				}
				if r.HeaderRow() != 1 || !reflect.DeepEqual(r.Header(), []string{"Customer list exported 2026-12-01", "Customer list exported 2026-12-01", "Customer list exported 2026-12-01"}) {
					t.Errorf("rejected rows' first row %d: %q", r.HeaderRow(), r.Header())
				}
				r.Close()
				if r, err = excel.Open(out, excel.Options{HeaderRow: 3}); err != nil {
					t.Fatal(err)
				}
				rec, err := r.Read()
				r.Close()
				if err != nil || !reflect.DeepEqual(r.Header(), []string{"Account", "Name", "Amount", "erpipe error"}) ||
					rec.Pos.Row != 4 || !reflect.DeepEqual(rec.Fields[:3], []string{"C-3", "Fabrikam", "x"}) {
					t.Errorf("rejected rows: header %q, first row %+v, %v", r.Header(), rec, err)
				}
			}
			// Corrected or not, the file reads again, its header found
			// or named, and its rows are rejected again.
			for _, tmpl := range []*transform.Template{auto, named} {
				res, err := tmpl.Run(context.Background(), out, t.TempDir())
				if err != nil {
					t.Fatalf("the rejected rows read again: %v", err)
				}
				if res.Rejected != len(rows) {
					t.Errorf("the rejected rows read again: %d rejected, want %d", res.Rejected, len(rows))
				}
			}
		})
	}
}

// TestTitleRowsSheets: each sheet of input.sheets has its header found
// below its own title, and the warning says how to name it there.
func TestTitleRowsSheets(t *testing.T) {
	tmpl, err := transform.Load("testdata/titles/sheets.yaml")
	if err != nil {
		t.Fatal(err)
	}
	f := excelize.NewFile()
	defer f.Close()
	f.SetSheetName("Sheet1", "Rates")
	f.NewSheet("Currencies")
	for sheet, rows := range map[string][][]any{
		"Rates":      {{"From", "Rate"}, {"EUR", "11.5"}},
		"Currencies": {{"Currency list"}, {"Code"}, {"NOK"}, {"EUR"}},
	} {
		for i, row := range rows {
			cell, _ := excelize.CoordinatesToCellName(1, i+1)
			if err := f.SetSheetRow(sheet, cell, &row); err != nil {
				t.Fatal(err)
			}
		}
	}
	in := filepath.Join(t.TempDir(), "setup.xlsx")
	if err := f.SaveAs(in); err != nil {
		t.Fatal(err)
	}
	res, err := tmpl.Run(context.Background(), in, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	const want = `setup.xlsx: sheet "Currencies" row 2: warning: the header is on row 2; row 1 was skipped: "Currency list". ` +
		`Fix: set header_row: 2 for sheet "Currencies" under input.sheets in the template to say so`
	if len(res.Warnings) != 1 || res.Warnings[0].Error() != want {
		t.Errorf("warnings %v, want:\n%s", res.Warnings, want)
	}
	if res.Written != 3 {
		t.Errorf("written %d, want 3", res.Written)
	}
}
