package excel_test

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/erpipe/erpipe/formats"
	"github.com/erpipe/erpipe/formats/excel"
)

// sheet is the content of one sheet: rows of cells from column A, by sheet
// row number (1-based); nil rows are left out of the file.
type sheet struct {
	name string
	rows map[int][]any
}

// book writes a workbook with the given sheets into dir and returns its path.
func book(t testing.TB, dir string, sheets ...sheet) string {
	t.Helper()
	f := excelize.NewFile()
	defer f.Close()
	for i, s := range sheets {
		if i == 0 {
			if err := f.SetSheetName("Sheet1", s.name); err != nil {
				t.Fatal(err)
			}
		} else if _, err := f.NewSheet(s.name); err != nil {
			t.Fatal(err)
		}
		for row, cells := range s.rows {
			cell, _ := excelize.CoordinatesToCellName(1, row)
			if err := f.SetSheetRow(s.name, cell, &cells); err != nil {
				t.Fatal(err)
			}
		}
	}
	path := filepath.Join(dir, "book.xlsx")
	if err := f.SaveAs(path); err != nil {
		t.Fatal(err)
	}
	return path
}

type want struct {
	row    int
	fields []string
}

func TestReader(t *testing.T) {
	customers := sheet{"Customers", map[int][]any{
		1: {"Account", "Name", "Amount"},
		2: {"C-001", "Contoso", 12.5},
		3: {"C-002", "Fabrikam", "7"},
	}}
	lines := sheet{"Lines", map[int][]any{
		1: {"Invoice Lines May 2024"},
		3: {" Invoice ", "Line", nil, "Qty", nil, nil}, // trimmed; an empty name kept; trailing blanks dropped
		4: {"INV-1", 1, "x", 2},
		5: {nil, nil, "", " "}, // blank
		7: {"INV-1", 2},        // short: padded; row 6 is missing from the file
		8: {"INV-2", 1, nil, 5, "", "   "},
	}}
	dir := t.TempDir()
	path := book(t, dir, customers, lines)

	tests := []struct {
		name   string
		opts   excel.Options
		sheet  string
		header []string
		want   []want
	}{{
		name:   "first sheet by default",
		sheet:  "Customers",
		header: []string{"Account", "Name", "Amount"},
		want:   []want{{2, []string{"C-001", "Contoso", "12.5"}}, {3, []string{"C-002", "Fabrikam", "7"}}},
	}, {
		name:   "sheet by name, header in row 3, blank and short rows",
		opts:   excel.Options{Sheet: "Lines", HeaderRow: 3},
		sheet:  "Lines",
		header: []string{"Invoice", "Line", "", "Qty"},
		want: []want{
			{4, []string{"INV-1", "1", "x", "2"}},
			{7, []string{"INV-1", "2", "", ""}},
			{8, []string{"INV-2", "1", "", "5"}},
		},
	}, {
		name:   "sheet name in other case",
		opts:   excel.Options{Sheet: "LINES", HeaderRow: 3},
		sheet:  "Lines",
		header: []string{"Invoice", "Line", "", "Qty"},
		want: []want{
			{4, []string{"INV-1", "1", "x", "2"}},
			{7, []string{"INV-1", "2", "", ""}},
			{8, []string{"INV-2", "1", "", "5"}},
		},
	}, {
		name:   "sheet by index; name wins over index",
		opts:   excel.Options{Sheet: "Customers", SheetIndex: 2},
		sheet:  "Customers",
		header: []string{"Account", "Name", "Amount"},
		want:   []want{{2, []string{"C-001", "Contoso", "12.5"}}, {3, []string{"C-002", "Fabrikam", "7"}}},
	}, {
		name:   "sheet by index",
		opts:   excel.Options{SheetIndex: 2, HeaderRow: 3},
		sheet:  "Lines",
		header: []string{"Invoice", "Line", "", "Qty"},
		want: []want{
			{4, []string{"INV-1", "1", "x", "2"}},
			{7, []string{"INV-1", "2", "", ""}},
			{8, []string{"INV-2", "1", "", "5"}},
		},
	}}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.File = "book.xlsx"
			r, err := excel.Open(path, tt.opts)
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			defer r.Close()
			if got := r.Header(); !reflect.DeepEqual(got, tt.header) {
				t.Errorf("Header = %q, want %q", got, tt.header)
			}
			for _, w := range tt.want {
				rec, err := r.Read()
				if err != nil {
					t.Fatalf("Read: %v", err)
				}
				wantPos := formats.Pos{File: "book.xlsx", Sheet: tt.sheet, Row: w.row}
				if rec.Pos != wantPos || !reflect.DeepEqual(rec.Fields, w.fields) {
					t.Errorf("Read = %+v %q, want %+v %q", rec.Pos, rec.Fields, wantPos, w.fields)
				}
				for i := range rec.Fields {
					wantPos.Col = i + 1
					if got := r.FieldPos(i); got != wantPos {
						t.Errorf("FieldPos(%d) = %+v, want %+v", i, got, wantPos)
					}
				}
			}
			if _, err := r.Read(); err != io.EOF {
				t.Errorf("last Read: %v, want io.EOF", err)
			}
			if err := r.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		})
	}
}

func TestReaderValueBeyondHeader(t *testing.T) {
	path := book(t, t.TempDir(), sheet{"Data", map[int][]any{
		1: {"A", "B"},
		2: {"1", "2", nil, "   "}, // blank cells beyond the header are fine
		3: {"3", "4", nil, nil, nil, nil, nil, "stray"},
		4: {"5", "6"},
	}})
	r, err := excel.Open(path, excel.Options{File: "data.xlsx"})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if rec, err := r.Read(); err != nil || rec.Pos.Row != 2 {
		t.Fatalf("Read = %+v, %v", rec, err)
	}
	rec, err := r.Read()
	var pe *formats.ParseError
	if !errors.As(err, &pe) {
		t.Fatalf("Read error = %v, want a ParseError", err)
	}
	if want := []string{"3", "4", "", "", "", "", "", "stray"}; rec.Pos.Row != 3 || !reflect.DeepEqual(rec.Fields, want) {
		t.Errorf("the row with the error: %+v, want row 3 %q", rec, want)
	}
	wantPos := formats.Pos{File: "data.xlsx", Sheet: "Data", Row: 3, Col: 8}
	if pe.Pos != wantPos {
		t.Errorf("error at %+v, want %+v", pe.Pos, wantPos)
	}
	const msg = `data.xlsx: sheet "Data" row 3 column H: value "stray" in column H but the header has no name there; add a header or delete the value`
	if err.Error() != msg {
		t.Errorf("error:\n got %v\nwant %s", err, msg)
	}
	// Reading goes on after the bad row.
	if rec, err := r.Read(); err != nil || rec.Pos.Row != 4 || !reflect.DeepEqual(rec.Fields, []string{"5", "6"}) {
		t.Errorf("Read after the error = %+v, %v", rec, err)
	}
}

func TestReaderRawAndFormatted(t *testing.T) {
	dir := t.TempDir()
	f := excelize.NewFile()
	defer f.Close()
	date, _ := f.NewStyle(&excelize.Style{NumFmt: 14}) // m/d/yyyy, shown per locale
	money, _ := f.NewStyle(&excelize.Style{NumFmt: 4}) // #,##0.00
	for cell, v := range map[string]any{
		"A1": "Date", "B1": "Amount", "C1": "Text", "D1": "Flag",
		"A2": time.Date(2024, 1, 30, 0, 0, 0, 0, time.UTC), "B2": 1234.5, "C2": "007", "D2": true,
		"B3": 0.1, "C3": "x",
	} {
		if err := f.SetCellValue("Sheet1", cell, v); err != nil {
			t.Fatal(err)
		}
	}
	f.SetCellStyle("Sheet1", "A2", "A3", date)
	f.SetCellStyle("Sheet1", "B2", "B3", money)
	path := filepath.Join(dir, "types.xlsx")
	if err := f.SaveAs(path); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		formatted bool
		want      [][]string
	}{
		{false, [][]string{{"45321", "1234.5", "007", "1"}, {"", "0.1", "x", ""}}},
		{true, [][]string{{"01-30-24", "1,234.50", "007", "TRUE"}, {"", "0.10", "x", ""}}},
	} {
		r, err := excel.Open(path, excel.Options{Formatted: tt.formatted})
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range tt.want {
			rec, err := r.Read()
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(rec.Fields, w) {
				t.Errorf("Formatted=%v: Read = %q, want %q", tt.formatted, rec.Fields, w)
			}
		}
		if err := r.Close(); err != nil {
			t.Error(err)
		}
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	good := book(t, dir, sheet{"Customers", map[int][]any{1: {"A"}}}, sheet{"Lines", map[int][]any{1: {"B"}}})
	notXLSX := filepath.Join(dir, "customers.xlsx")
	if err := os.WriteFile(notXLSX, []byte("Account,Name\nC-001,Contoso\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	truncated := filepath.Join(dir, "truncated.xlsx")
	b, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(truncated, b[:len(b)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	ole := filepath.Join(dir, "old.xlsx")
	if err := os.WriteFile(ole, append([]byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1}, make([]byte, 512)...), 0o644); err != nil {
		t.Fatal(err)
	}
	emptyDir := t.TempDir()
	empty := book(t, emptyDir, sheet{"Sheet1", nil})
	blankHeader := book(t, t.TempDir(), sheet{"S", map[int][]any{1: {nil, " "}, 2: {"a", "b"}}})
	blankRows := book(t, t.TempDir(), sheet{"S", map[int][]any{1: {nil, " "}, 3: {""}}})

	tests := []struct {
		name string
		path string
		opts excel.Options
		pos  formats.Pos
		msg  string
		is   error
	}{
		{"missing sheet", good, excel.Options{Sheet: "Invoices"}, formats.Pos{File: "x.xlsx"},
			`x.xlsx: the workbook has no sheet "Invoices"; its sheets are "Customers", "Lines"; check the sheet name in the template`, nil},
		{"sheet index too big", good, excel.Options{SheetIndex: 3}, formats.Pos{File: "x.xlsx"},
			`the workbook has no sheet number 3; its 2 sheets are "Customers", "Lines"`, nil},
		{"CSV named .xlsx", notXLSX, excel.Options{}, formats.Pos{File: "x.xlsx"},
			"x.xlsx: not a valid .xlsx workbook: zip: not a valid zip file", nil},
		{"truncated", truncated, excel.Options{}, formats.Pos{File: "x.xlsx"}, "not a valid .xlsx workbook", nil},
		{"old .xls or encrypted", ole, excel.Options{}, formats.Pos{File: "x.xlsx"}, "an old .xls file, or one protected with a password", nil},
		{"empty workbook", empty, excel.Options{}, formats.Pos{File: "x.xlsx", Sheet: "Sheet1", Row: 1},
			`x.xlsx: sheet "Sheet1" row 1: the sheet is empty, so it has no row 1 for the header; put the column names in row 1 or change the header row in the template`, excel.ErrEmpty},
		{"header row beyond the data", good, excel.Options{HeaderRow: 5}, formats.Pos{File: "x.xlsx", Sheet: "Customers", Row: 5},
			"the sheet ends at row 1, so it has no row 5 for the header; put the column names in row 5 or change the header row in the template", excel.ErrEmpty},
		{"blank header row", blankHeader, excel.Options{HeaderRow: 1}, formats.Pos{File: "x.xlsx", Sheet: "S", Row: 1},
			`x.xlsx: sheet "S" row 1: the header row 1 is blank; put the column names in row 1`, excel.ErrEmpty},
		{"blank rows only", blankRows, excel.Options{}, formats.Pos{File: "x.xlsx", Sheet: "S", Row: 1},
			`x.xlsx: sheet "S" row 1: rows 1 to 3 of the sheet are blank, so it has no header; put the column names in row 1`, excel.ErrEmpty},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.File = "x.xlsx"
			r, err := excel.Open(tt.path, tt.opts)
			if err == nil {
				r.Close()
				t.Fatal("no error")
			}
			if r != nil {
				t.Error("a Reader with the error")
			}
			var pe *formats.ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error %v (%T) is not a ParseError", err, err)
			}
			if pe.Pos != tt.pos {
				t.Errorf("error at %+v, want %+v", pe.Pos, tt.pos)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error:\n got %v\nwant it to say %s", err, tt.msg)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error is not %v", tt.is)
			}
		})
	}
}

func TestOpenMissingFile(t *testing.T) {
	_, err := excel.Open(filepath.Join(t.TempDir(), "nope.xlsx"), excel.Options{})
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("err = %v, want fs.ErrNotExist", err)
	}
}

func TestHeaderOnly(t *testing.T) {
	path := book(t, t.TempDir(), sheet{"S", map[int][]any{1: {"A", "B"}, 3: {nil, ""}}})
	r, err := excel.Open(path, excel.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Read(); err != io.EOF {
		t.Errorf("Read = %v, want io.EOF", err)
	}
	if err := r.Close(); err != nil {
		t.Error(err)
	}
	if err := r.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := r.Read(); err == nil || err == io.EOF {
		t.Errorf("Read after Close = %v, want an error", err)
	}
}

func TestBadOptions(t *testing.T) {
	path := book(t, t.TempDir(), sheet{"S", map[int][]any{1: {"A"}}})
	for _, opts := range []excel.Options{{SheetIndex: -1}, {HeaderRow: -2}} {
		_, err := excel.Open(path, opts)
		var pe *formats.ParseError
		if err == nil || errors.As(err, &pe) {
			t.Errorf("%+v: err = %v, want an options error", opts, err)
		}
	}
}

// TestHeaderAfterBlankRows: without a header row, the header is the first
// row that is not blank; with one, the rows above it that are not blank
// are kept for Above.
func TestHeaderAfterBlankRows(t *testing.T) {
	path := book(t, t.TempDir(), sheet{"S", map[int][]any{2: {nil, " "}, 3: {"A", "B"}, 4: {"1", "2"}}})
	for _, tt := range []struct {
		opts  excel.Options
		row   int
		above []formats.Record
	}{
		{excel.Options{}, 3, nil},
		{excel.Options{HeaderRow: 4}, 4, []formats.Record{{Pos: formats.Pos{Sheet: "S", Row: 3}, Fields: []string{"A", "B"}}}},
	} {
		r, err := excel.Open(path, tt.opts)
		if err != nil {
			t.Fatal(err)
		}
		if got := r.HeaderRow(); got != tt.row {
			t.Errorf("%+v: HeaderRow = %d, want %d", tt.opts, got, tt.row)
		}
		if got := r.Above(); !reflect.DeepEqual(got, tt.above) {
			t.Errorf("%+v: Above = %+v, want %+v", tt.opts, got, tt.above)
		}
		r.Close()
	}
}
