// Package excel reads xlsx workbooks row by row, so a large sheet is never
// loaded whole: excelize opens the workbook, and a scanner of the sheet's
// XML (scan.go, fast.go) reads its rows, giving exactly the values
// excelize's own row iterator gives, several times faster; a sheet the
// scanner does not read itself, and Options.Formatted, are read with
// excelize's iterator.
//
// One sheet is read: its header row (Options.HeaderRow, else the first row
// that is not blank) names the columns, and each following row that is not
// blank is a record. Positions are those Excel shows: Sheet
// is the sheet name, Row the sheet's row number, Col the column (1 is A).
//
// Values are the raw cell values by default: numbers as stored (a date is
// its serial number, 45321 for 2024-01-30; an amount is its exact stored
// digits, never rounded by a number format), text as is, booleans as 1 or 0.
// Options.Formatted gives the text Excel displays instead.
//
// A blank cell inside a merged range reads as the range's top-left cell, as
// Excel shows it: a customer name merged down three rows is the name of
// each of them (see merge.go).
package excel

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/xuri/excelize/v2"

	"github.com/erpipe/erpipe/formats"
)

// ErrEmpty means the sheet has no header: the header row is blank or the
// sheet has no such row. Open returns it wrapped in a *formats.ParseError
// that names the file, sheet and row; test for it with errors.Is.
var ErrEmpty = errors.New("the file is empty")

// Options configure a Reader. The zero value reads the first sheet with its
// header in row 1.
type Options struct {
	File       string // name used in positions (base name of the input)
	Sheet      string // sheet name; wins over SheetIndex
	SheetIndex int    // 1-based sheet index; 0 means the first sheet
	HeaderRow  int    // 1-based row of the header; 0 means the first row that is not blank
	// Formatted returns cell text as Excel shows it (number formats
	// applied). The default is the raw stored value: numbers as stored,
	// dates as serial numbers.
	Formatted bool
	// Limits bound the unpacked size of the shared-strings table and of
	// each sheet (SharedStringsBytes, SheetBytes); zero fields are the
	// defaults. A workbook past them is a *formats.LimitError.
	Limits formats.Limits
}

// Reader reads records from one sheet. Blank rows are skipped.
//
// The header is the header row with surrounding white space trimmed from
// each name and empty names at its right end dropped; names may be empty or
// repeated. A row shorter than the header is padded with "" to its length.
// A value to the right of the header is an error (a *formats.ParseError;
// Read may be called again to go on), which comes with the row's cells, all
// of them; blank cells there are ignored.
//
// A Reader holds the workbook open, with temporary files for large sheets:
// Close it.
type Reader struct {
	f      *excelize.File
	book   *fastBook // the workbook for the sheet scanner (fast.go), if it reads it
	rows   rowSource
	file   string
	sheet  string
	opts   []excelize.Options
	header []string
	hrow   int              // the header's row number
	above  []formats.Record // rows above the header that are not blank, the first maxAbove
	merged merges
	row    int   // sheet row number of the row last read by the iterator
	cur    int   // sheet row number of the last record
	err    error // sticky: the iterator can't go on
}

// maxAbove is how many rows above the header Above keeps.
const maxAbove = 32

var _ formats.Reader = (*Reader)(nil)

// Open opens the workbook at path and reads the header row. A file that is
// not an xlsx workbook, a missing sheet or a blank header row give a
// *formats.ParseError; a file that can't be opened at all gives the
// *fs.PathError of os.Open.
func Open(path string, opts Options) (r *Reader, err error) {
	if opts.SheetIndex < 0 || opts.HeaderRow < 0 {
		return nil, fmt.Errorf("excel: SheetIndex and HeaderRow must not be negative")
	}
	r = &Reader{file: opts.File, opts: []excelize.Options{{RawCellValue: !opts.Formatted}}}
	defer func() {
		if p := recover(); p != nil {
			err = r.panicError(p)
		}
		if err != nil {
			r.Close()
			r = nil
		}
	}()
	// An error from os.Open is about the file system; anything excelize
	// reports after it is about the content.
	fh, err := os.Open(path)
	if err != nil {
		return r, err
	}
	fh.Close()
	if err := CheckSizes(path, opts.File, opts.Limits); err != nil {
		return r, err
	}
	if !opts.Formatted && !disableFast {
		r.book, _ = openFast(path, r.opts[0])
	}
	if r.book != nil {
		r.f = r.book.f
	} else if r.f, err = excelize.OpenFile(path, r.opts[0]); err != nil {
		return r, r.openError(err)
	}
	if r.sheet, err = r.pickSheet(opts); err != nil {
		return r, err
	}
	if r.merged.todo, err = readMerges(r.f, path, opts.File, r.sheet, opts.Limits.OrDefault()); err != nil {
		return r, err
	}
	if r.book != nil {
		fr, _ := r.book.rows(r.sheet, excelizeRows(path, r.opts[0], r.sheet))
		if fr != nil {
			r.rows = fr
		} else {
			// The scanner can't read this sheet: excelize reads it all.
			r.closeBook()
			if r.f, err = excelize.OpenFile(path, r.opts[0]); err != nil {
				return r, r.openError(err)
			}
		}
	}
	if r.rows == nil {
		rows, err := r.f.Rows(r.sheet)
		if err != nil {
			return r, r.parseError(0, 0, fmt.Errorf("can't read sheet %q: %v; save the workbook again as Excel Workbook (.xlsx)", r.sheet, err))
		}
		r.rows = rows
	}
	headerRow := opts.HeaderRow
	var cols []string
	for headerRow == 0 || r.row < headerRow {
		if !r.rows.Next() {
			if err := r.rows.Error(); err != nil {
				return r, r.parseError(r.row+1, 0, fmt.Errorf("can't read the row: %v", err))
			}
			return r, r.noHeader(headerRow)
		}
		r.row++
		if cols, err = r.columns(maxColumns); err != nil {
			return r, err
		}
		if headerRow == 0 && !blank(cols) {
			break
		}
		if r.row < headerRow && !blank(cols) && len(r.above) < maxAbove {
			r.above = append(r.above, formats.Record{Pos: formats.Pos{File: r.file, Sheet: r.sheet, Row: r.row}, Fields: cols})
		}
	}
	for i, name := range cols {
		cols[i] = strings.TrimSpace(name)
	}
	for len(cols) > 0 && cols[len(cols)-1] == "" {
		cols = cols[:len(cols)-1]
	}
	if len(cols) == 0 {
		return r, r.parseError(r.row, 0, &hint{msg: fmt.Sprintf("the header row %d is blank; "+
			"put the column names in row %d or change the header row in the template", r.row, r.row), err: ErrEmpty})
	}
	r.header = cols
	r.hrow, r.cur = r.row, r.row
	return r, nil
}

// noHeader is the error of a sheet that ends before its header row
// (headerRow; 0: before a row that is not blank).
func (r *Reader) noHeader(headerRow int) error {
	switch {
	case r.row == 0:
		headerRow = max(headerRow, 1)
		return r.parseError(headerRow, 0, &hint{msg: fmt.Sprintf("the sheet is empty, so it has no row %d for the header; "+
			"put the column names in row %d or change the header row in the template", headerRow, headerRow), err: ErrEmpty})
	case headerRow == 0:
		return r.parseError(1, 0, &hint{msg: fmt.Sprintf("rows 1 to %d of the sheet are blank, so it has no header; "+
			"put the column names in row 1", r.row), err: ErrEmpty})
	}
	return r.parseError(headerRow, 0, &hint{msg: fmt.Sprintf("the sheet ends at row %d, so it has no row %d for the header; "+
		"put the column names in row %d or change the header row in the template", r.row, headerRow, headerRow), err: ErrEmpty})
}

// hint is an error message for people that still unwraps to its cause.
type hint struct {
	msg string
	err error
}

func (h *hint) Error() string { return h.msg }
func (h *hint) Unwrap() error { return h.err }

// openError explains why excelize could not open the workbook.
func (r *Reader) openError(err error) error {
	if errors.Is(err, excelize.ErrWorkbookFileFormat) || errors.Is(err, excelize.ErrWorkbookPassword) {
		return r.parseError(0, 0, fmt.Errorf("not a valid .xlsx workbook: %v (an old .xls file, or one protected "+
			"with a password?); save it as Excel Workbook (.xlsx) without a password", err))
	}
	return r.parseError(0, 0, fmt.Errorf("not a valid .xlsx workbook: %v", err))
}

// pickSheet returns the name of the sheet to read.
func (r *Reader) pickSheet(opts Options) (string, error) {
	sheets := r.f.GetSheetList()
	if len(sheets) == 0 {
		return "", r.parseError(0, 0, errors.New("not a valid .xlsx workbook: it has no sheets"))
	}
	list := quoteList(sheets)
	switch {
	case opts.Sheet != "":
		for _, s := range sheets {
			if s == opts.Sheet {
				return s, nil
			}
		}
		for _, s := range sheets { // Excel itself ignores case in sheet names
			if strings.EqualFold(s, opts.Sheet) {
				return s, nil
			}
		}
		return "", r.parseError(0, 0, fmt.Errorf("the workbook has no sheet %q; its sheets are %s; "+
			"check the sheet name in the template", opts.Sheet, list))
	case opts.SheetIndex > len(sheets):
		return "", r.parseError(0, 0, fmt.Errorf("the workbook has no sheet number %d; its %d sheets are %s; "+
			"check the sheet in the template", opts.SheetIndex, len(sheets), list))
	case opts.SheetIndex > 0:
		return sheets[opts.SheetIndex-1], nil
	}
	return sheets[0], nil
}

func quoteList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	return strings.Join(q, ", ")
}

func (r *Reader) parseError(row, col int, err error) error {
	return &formats.ParseError{Pos: formats.Pos{File: r.file, Sheet: r.sheet, Row: row, Col: col}, Err: err}
}

// panicError turns a panic inside excelize, which some corrupt workbooks
// cause, into an error for people.
func (r *Reader) panicError(p any) error {
	return r.parseError(r.row, 0, fmt.Errorf("can't read the workbook (%v); "+
		"open it in Excel and save it again as Excel Workbook (.xlsx)", p))
}

// Header returns the column names of the header row. The caller must not
// modify the slice.
func (r *Reader) Header() []string { return r.header }

// HeaderRow returns the row number of the header row.
func (r *Reader) HeaderRow() int { return r.hrow }

// Above returns the rows above the header row that are not blank (a title,
// the date of an export), the first 32, with their positions: to say what
// was skipped, or to write them back above the header. The caller must not
// modify them.
func (r *Reader) Above() []formats.Record { return r.above }

// columns reads the cells of the iterator's row, with merged ranges filled
// in up to column limit.
func (r *Reader) columns(limit int) ([]string, error) {
	cols, err := r.rows.Columns(r.opts...)
	if err != nil {
		what := "row"
		if r.header == nil {
			what = "header row"
		}
		return nil, r.parseError(r.row, 0, fmt.Errorf("can't read the %s: %v; "+
			"open the workbook in Excel and save it again as Excel Workbook (.xlsx)", what, err))
	}
	if cols, err = r.merged.fill(r.row, cols, limit); err != nil {
		r.err = r.parseError(r.row, 0, err) // for good: the ranges can't be trusted
		return nil, r.err
	}
	return cols, nil
}

// Read returns the next row that is not blank, or io.EOF after the last
// one.
func (r *Reader) Read() (rec formats.Record, err error) {
	if r.err != nil {
		return formats.Record{}, r.err
	}
	if r.rows == nil {
		return formats.Record{}, errors.New("excel: Read after Close")
	}
	defer func() {
		if p := recover(); p != nil {
			r.err = r.panicError(p)
			rec, err = formats.Record{}, r.err
		}
	}()
	for r.rows.Next() {
		r.row++
		cols, err := r.columns(len(r.header))
		if err != nil {
			return formats.Record{}, err
		}
		if blank(cols) {
			continue
		}
		r.cur = r.row
		for j := len(r.header); j < len(cols); j++ {
			if v := strings.TrimSpace(cols[j]); v != "" {
				// The cells come with the error: a header further down
				// the sheet can be told by them.
				return formats.Record{Pos: formats.Pos{File: r.file, Sheet: r.sheet, Row: r.row}, Fields: cols}, r.parseError(r.row, j+1, fmt.Errorf("value %s in column %s but the header has no name there; "+
					"add a header or delete the value", quoteShort(v), formats.ColumnName(j+1)))
			}
		}
		fields := make([]string, len(r.header))
		copy(fields, cols)
		return formats.Record{Pos: formats.Pos{File: r.file, Sheet: r.sheet, Row: r.row}, Fields: fields}, nil
	}
	if err := r.rows.Error(); err != nil {
		r.err = r.parseError(r.row+1, 0, fmt.Errorf("can't read the row: %v", err))
		return formats.Record{}, r.err
	}
	return formats.Record{}, io.EOF
}

func blank(cols []string) bool {
	for _, c := range cols {
		if strings.TrimSpace(c) != "" {
			return false
		}
	}
	return true
}

func quoteShort(s string) string {
	if r := []rune(s); len(r) > 40 {
		s = string(r[:40]) + "…"
	}
	return fmt.Sprintf("%q", s)
}

// FieldPos returns the cell of field i of the record last returned by
// Read: its sheet, row and column (i+1).
func (r *Reader) FieldPos(i int) formats.Pos {
	p := formats.Pos{File: r.file, Sheet: r.sheet, Row: r.cur}
	if i >= 0 {
		p.Col = i + 1
	}
	return p
}

// Close releases the workbook and its temporary files. It may be called
// more than once.
func (r *Reader) Close() error {
	var err error
	if r.rows != nil {
		if cerr := r.rows.Close(); cerr != nil && !errors.Is(cerr, r.rows.Error()) {
			err = cerr
		}
		r.rows = nil
	}
	r.closeBook()
	if r.f != nil {
		if cerr := r.f.Close(); err == nil {
			err = cerr
		}
		r.f = nil
	}
	return err
}

// closeBook closes the workbook of the sheet scanner, and excelize's copy
// of it.
func (r *Reader) closeBook() {
	if r.book != nil {
		if r.f == r.book.f {
			r.f = nil
		}
		r.book.f.Close()
		r.book.close()
		r.book = nil
	}
}

// excelizeRows opens the rows of sheet with excelize, from the whole
// workbook at path: what reads a sheet the scanner does not understand.
// The io.Closer closes the workbook.
func excelizeRows(path string, opt excelize.Options, sheet string) func() (*excelize.Rows, io.Closer, error) {
	return func() (*excelize.Rows, io.Closer, error) {
		f, err := excelize.OpenFile(path, opt)
		if err != nil {
			return nil, nil, err
		}
		rows, err := f.Rows(sheet)
		if err != nil {
			f.Close()
			return nil, nil, err
		}
		return rows, f, nil
	}
}
