package excel_test

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/erpipe/erpipe/formats"
	"github.com/erpipe/erpipe/formats/excel"
)

// mergedBook writes a report as people lay one out: a title merged across
// the top, a two-row header whose first names are merged down and whose
// "Amount" is merged over its two sub-columns, a customer merged down its
// rows, a total label merged across, and a block merged over rows and
// columns whose second row is missing from the file.
func mergedBook(t *testing.T, dir string) string {
	t.Helper()
	f := excelize.NewFile()
	defer f.Close()
	const s = "Report"
	if err := f.SetSheetName("Sheet1", s); err != nil {
		t.Fatal(err)
	}
	for cell, v := range map[string]any{
		"A1": "Sales by customer, May 2026",
		"A2": "Account", "B2": "Name", "C2": "Amount",
		"C3": "Net", "D3": "VAT",
		"A4": "C-1", "B4": "Contoso", "C4": 10, "D4": 2.5,
		"A5": "C-2", "C5": 20, "D5": 5,
		"A6": "C-3", "C6": 30, "D6": 7.5,
		"A7": "Total", "C7": 60, "D7": 15,
		"A8":  "C-9",
		"A10": "C-10", "B10": "Fabrikam", "C10": 1, "D10": 4,
	} {
		if err := f.SetCellValue(s, cell, v); err != nil {
			t.Fatal(err)
		}
	}
	for _, m := range [][2]string{
		{"A1", "D1"}, {"A2", "A3"}, {"B2", "B3"}, {"C2", "D2"},
		{"B4", "B6"}, {"A7", "B7"}, {"A8", "D9"},
		{"D10", "F10"}, // reaches past the header: not filled there
	} {
		if err := f.MergeCell(s, m[0], m[1]); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(dir, "merged.xlsx")
	if err := f.SaveAs(path); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestMergedCells(t *testing.T) {
	path := mergedBook(t, t.TempDir())
	data := []want{
		{4, []string{"C-1", "Contoso", "10", "2.5"}},
		{5, []string{"C-2", "Contoso", "20", "5"}},
		{6, []string{"C-3", "Contoso", "30", "7.5"}},
		{7, []string{"Total", "Total", "60", "15"}},
		{8, []string{"C-9", "C-9", "C-9", "C-9"}},
		{9, []string{"C-9", "C-9", "C-9", "C-9"}}, // not in the file: all of it merged
		{10, []string{"C-10", "Fabrikam", "1", "4"}},
	}
	tests := []struct {
		name      string
		headerRow int
		header    []string
		above     []formats.Record
		want      []want
	}{{
		name:      "header under merged names",
		headerRow: 3,
		header:    []string{"Account", "Name", "Net", "VAT"},
		above: []formats.Record{
			{Pos: formats.Pos{File: "merged.xlsx", Sheet: "Report", Row: 1}, Fields: []string{
				"Sales by customer, May 2026", "Sales by customer, May 2026", "Sales by customer, May 2026", "Sales by customer, May 2026"}},
			{Pos: formats.Pos{File: "merged.xlsx", Sheet: "Report", Row: 2}, Fields: []string{"Account", "Name", "Amount", "Amount"}},
		},
		want: data,
	}, {
		name:      "merged header cell over two columns",
		headerRow: 2,
		header:    []string{"Account", "Name", "Amount", "Amount"},
		above: []formats.Record{{Pos: formats.Pos{File: "merged.xlsx", Sheet: "Report", Row: 1}, Fields: []string{
			"Sales by customer, May 2026", "Sales by customer, May 2026", "Sales by customer, May 2026", "Sales by customer, May 2026"}}},
		want: append([]want{{3, []string{"Account", "Name", "Net", "VAT"}}}, data...),
	}}
	for _, tt := range tests {
		for _, formatted := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/formatted=%v", tt.name, formatted), func(t *testing.T) {
				r, err := excel.Open(path, excel.Options{File: "merged.xlsx", HeaderRow: tt.headerRow, Formatted: formatted})
				if err != nil {
					t.Fatal(err)
				}
				defer r.Close()
				if got := r.Header(); !reflect.DeepEqual(got, tt.header) {
					t.Errorf("Header = %q, want %q", got, tt.header)
				}
				if got := r.Above(); !reflect.DeepEqual(got, tt.above) {
					t.Errorf("Above = %q, want %q", got, tt.above)
				}
				for _, w := range tt.want {
					rec, err := r.Read()
					if err != nil {
						t.Fatalf("Read: %v", err)
					}
					if rec.Pos.Row != w.row || !reflect.DeepEqual(rec.Fields, w.fields) {
						t.Errorf("Read = row %d %q, want row %d %q", rec.Pos.Row, rec.Fields, w.row, w.fields)
					}
				}
				if rec, err := r.Read(); err != io.EOF {
					t.Errorf("last Read = %+v, %v; want io.EOF", rec, err)
				}
			})
		}
	}
}

// TestMergedCellsLimit: a sheet with more merged ranges than the limit is
// refused, with the setting that raises it.
func TestMergedCellsLimit(t *testing.T) {
	path := mergedBook(t, t.TempDir())
	for _, tt := range []struct {
		max     int64
		refused bool
	}{{7, true}, {8, false}} {
		r, err := excel.Open(path, excel.Options{File: "merged.xlsx", Limits: formats.Limits{MergedCells: tt.max}})
		if !tt.refused {
			if err != nil {
				t.Errorf("%d ranges allowed: %v", tt.max, err)
			} else {
				r.Close()
			}
			continue
		}
		if !isLimit(err, "limits.merged_cells") {
			t.Fatalf("%d ranges allowed: err = %v, want a LimitError", tt.max, err)
		}
		const msg = `merged.xlsx: sheet "Report": the number of the sheet's merged ranges is larger than erpipe reads (7 ranges, limits.merged_cells)`
		if !strings.HasPrefix(err.Error(), msg) {
			t.Errorf("error:\n got %v\nwant %s", err, msg)
		}
	}
}

// TestMergedCellsXML: ranges as other tools write them, in the sheet XML
// itself: prefixed names, attributes in another order, ranges written
// backwards, ranges of one cell, a cell of a range with a value of its own
// (it keeps it), and ranges that overlap.
func TestMergedCellsXML(t *testing.T) {
	const rows = `<sheetData>` +
		`<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="inlineStr"><is><t>Amount</t></is></c><c r="C1" t="inlineStr"><is><t>Note</t></is></c></row>` +
		`<row r="2"><c r="A2" t="s"><v>1</v></c><c r="B2"><v>12.50</v></c><c r="C2" t="inlineStr"><is><t>mergeCell ref="A2:C9"</t></is></c></row>` +
		`<row r="3"><c r="B3"><v>7</v></c></row>` +
		`</sheetData>`
	tests := []struct {
		name  string
		sheet string
		want  [][]string
		err   string
	}{{
		name: "prefixed, backwards, single quotes",
		sheet: `<x:worksheet xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main">` + prefixed(rows, "x") +
			`<x:mergeCells count="4"><x:mergeCell id="1" ref='A3:A2'/><x:mergeCell ref="B2:B3"/><x:mergeCell ref="C2"/>` + "\n" + `<x:mergeCell` + "\n\t" + `ref = "C3:C3" /></x:mergeCells></x:worksheet>`,
		want: [][]string{{"Contoso & Co", "12.50", `mergeCell ref="A2:C9"`}, {"Contoso & Co", "7", ""}},
	}, {
		name:  "overlapping ranges",
		sheet: `<worksheet>` + rows + `<mergeCells><mergeCell ref="A2:XFD3"/><mergeCell ref="B2:B3"/></mergeCells></worksheet>`,
		err:   `min.xlsx: sheet "Data" row 2: the sheet's merged ranges overlap (B2:B3 and others); open the workbook in Excel and save it again`,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "min.xlsx")
			if err := os.WriteFile(path, minimalXLSX(t, []byte(tt.sheet)), 0o644); err != nil {
				t.Fatal(err)
			}
			r, err := excel.Open(path, excel.Options{File: "min.xlsx"})
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			var got [][]string
			for {
				rec, err := r.Read()
				if err == io.EOF {
					break
				}
				if err != nil {
					if tt.err == "" || err.Error() != tt.err {
						t.Fatalf("Read: %v, want %s", err, tt.err)
					}
					var pe *formats.ParseError
					if !errors.As(err, &pe) {
						t.Errorf("error %T is not a *formats.ParseError", err)
					}
					if _, err2 := r.Read(); err2 == nil || err2.Error() != err.Error() {
						t.Errorf("Read after it = %v, want the same error again", err2)
					}
					return
				}
				got = append(got, rec.Fields)
			}
			if tt.err != "" {
				t.Fatalf("no error; read %q", got)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("read %q, want %q", got, tt.want)
			}
		})
	}
}

// prefixed gives the elements of xml the namespace prefix p.
func prefixed(xml, p string) string {
	return strings.NewReplacer("</", "</"+p+":", "<", "<"+p+":").Replace(xml)
}
