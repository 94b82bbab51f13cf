package excel_test

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/erpipe/erpipe/formats"
	"github.com/erpipe/erpipe/formats/excel"
	"github.com/erpipe/erpipe/internal/memtest"
)

// FuzzReader opens fuzzed workbooks and reads them to the end: no input may
// make the Reader panic or loop, every error must be a *formats.ParseError,
// and every record must be as wide as the header.
//
// With sheetXML the bytes are the sheet of a minimal, otherwise valid
// workbook, so the fuzzer explores rows and cells; without, they are the
// whole file (seeded with workbooks excelize wrote), to explore broken
// packages.
func FuzzReader(f *testing.F) {
	f.Add([]byte(minSheet), true, uint8(0), false)
	f.Add([]byte(`<worksheet><sheetData><row r="2"><c r="A2" t="inlineStr"><is><t>H</t></is></c></row>`+
		`<row r="4"><c r="A4" t="s"><v>7</v></c><c r="C4" t="b"><v>1</v></c></row></sheetData></worksheet>`), true, uint8(2), true)
	f.Add([]byte(`<worksheet><sheetData><row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="inlineStr"><is><t>B</t></is></c></row>`+
		`<row r="2"><c r="A2"><v>1</v></c></row><row r="5"><c r="B5" t="s"><v>1</v></c></row></sheetData>`+
		`<mergeCells count="3"><mergeCell ref="A2:A4"/><mergeCell ref="B5:C6"/><mergeCell ref="D1:D9"/></mergeCells></worksheet>`), true, uint8(1), false)
	for _, s := range []sheet{
		{"Customers", map[int][]any{1: {"Account", "Amount"}, 2: {"C-1", 12.5}, 4: {"C-2", "x", "stray"}}},
	} {
		b, err := os.ReadFile(book(f, f.TempDir(), s))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, false, uint8(0), false)
	}
	f.Add([]byte("PK\x03\x04"), false, uint8(1), true)
	f.Fuzz(func(t *testing.T, data []byte, sheetXML bool, headerRow uint8, formatted bool) {
		if sheetXML {
			data = minimalXLSX(t, data)
		}
		path := filepath.Join(t.TempDir(), "fuzz.xlsx")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		var r *excel.Reader
		var err error
		// The limits are tight, so that no workbook within them can
		// take more than the ceiling: excelize holds the shared strings.
		memtest.Ceiling(t, 256<<20, func() {
			r, err = excel.Open(path, excel.Options{File: "fuzz.xlsx", HeaderRow: int(headerRow % 4), Formatted: formatted,
				Limits: formats.Limits{SharedStringsBytes: 1 << 20, SheetBytes: 4 << 20}})
		})
		if err != nil {
			checkErr(t, err)
			return
		}
		defer r.Close()
		width := len(r.Header())
		var last *formats.ParseError
		for {
			rec, err := r.Read()
			if err == io.EOF {
				break
			}
			if err != nil {
				pe := checkErr(t, err)
				if last != nil && pe.Pos == last.Pos {
					break // the error is for good
				}
				last = pe
				continue
			}
			if len(rec.Fields) != width {
				t.Fatalf("record has %d fields, header %d", len(rec.Fields), width)
			}
		}
		if err := r.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
}

func checkErr(t *testing.T, err error) *formats.ParseError {
	t.Helper()
	var pe *formats.ParseError
	var le *formats.LimitError
	if errors.As(err, &le) {
		return &formats.ParseError{Pos: le.Pos, Err: le} // past the limits: the reading ends
	}
	if !errors.As(err, &pe) {
		t.Fatalf("error %v (%T) is not a *formats.ParseError", err, err)
	}
	return pe
}
