package excel

import (
	"github.com/xuri/excelize/v2"
)

// Workbook reads the rows of a workbook's sheets as excelize's OpenFile,
// GetSheetList and Rows do, with RawCellValue, for readers that use
// excelize's iterator themselves (the EXCEL data files of DMF packages):
// the rows come from the sheet scanner, or from excelize where the
// scanner does not read the sheet (see fast.go), with the same values and
// errors.
type Workbook struct {
	path string
	opt  excelize.Options
	book *fastBook
	f    *excelize.File
}

// RowIterator is excelize's *Rows, or the scanner's rows that behave as
// it does.
type RowIterator interface {
	Next() bool
	Columns(opts ...excelize.Options) ([]string, error)
	Error() error
	Close() error
}

// OpenWorkbook opens the workbook at path; an error is excelize.OpenFile's.
// opt is given to excelize as is; rows are read as raw values when
// opt.RawCellValue is set or Columns is given an Options that sets it.
func OpenWorkbook(path string, opt excelize.Options) (*Workbook, error) {
	w := &Workbook{path: path, opt: opt}
	if !disableFast {
		w.book, _ = openFast(path, opt)
	}
	if w.book != nil {
		w.f = w.book.f
		return w, nil
	}
	f, err := excelize.OpenFile(path, opt)
	if err != nil {
		return nil, err
	}
	w.f = f
	return w, nil
}

// Sheets is excelize's GetSheetList.
func (w *Workbook) Sheets() []string { return w.f.GetSheetList() }

// Rows is excelize's Rows: the rows of the sheet called sheet. Close the
// iterator before the Workbook.
func (w *Workbook) Rows(sheet string) (RowIterator, error) {
	if w.book != nil {
		fr, _ := w.book.rows(sheet, excelizeRows(w.path, w.opt, sheet))
		if fr != nil {
			fr.raw = w.opt.RawCellValue
			return fr, nil
		}
		// excelize reads this sheet, from the whole workbook.
		f, err := excelize.OpenFile(w.path, w.opt)
		if err != nil {
			return nil, err
		}
		w.closeBook()
		w.f = f
	}
	return w.f.Rows(sheet)
}

func (w *Workbook) closeBook() {
	if w.book != nil {
		w.book.f.Close()
		w.book.close()
		w.book = nil
	}
}

// Close closes the workbook and its temporary files.
func (w *Workbook) Close() error {
	var err error
	if w.f != nil && (w.book == nil || w.f != w.book.f) {
		err = w.f.Close()
	}
	w.closeBook()
	w.f = nil
	return err
}
