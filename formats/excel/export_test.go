package excel

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/xuri/excelize/v2"
)

// SetFast turns the sheet scanner on or off (on by default), for tests
// that compare it with excelize; it returns the setting before.
func SetFast(on bool) bool {
	was := !disableFast
	disableFast = !on
	return was
}

// FallBack says how r reads its rows: "" with the scanner, "excelize"
// with excelize from the start, "fell back: why" with excelize since the
// scanner met something it does not read.
func FallBack(r *Reader) string {
	switch fr, ok := r.rows.(*fastRows); {
	case !ok:
		return "excelize"
	case fr.fb != nil || fr.err != nil:
		return fmt.Sprint("fell back: ", fr.why)
	}
	return ""
}

// RowsTrace reads the sheet of the workbook at path as the Reader's
// iterator does, Next then Columns until Next is false (then Next once
// more), with the scanner (fast) or excelize, and returns what each call
// gave, one line per row (maxCalls at most), and how the rows were
// read.
func RowsTrace(path, sheet string, fast bool, maxCalls int) (trace []string, how string, err error) {
	opt := excelize.Options{RawCellValue: true}
	var rows rowSource
	var closers []io.Closer
	defer func() {
		if p := recover(); p != nil {
			trace = append(trace, fmt.Sprint("panic: ", p))
		}
		if rows != nil {
			rows.Close()
		}
		for _, c := range closers {
			c.Close()
		}
	}()
	reopen := func() (*excelize.Rows, io.Closer, error) {
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
	how = "excelize"
	if fast {
		how = ""
		b, _ := openFast(path, opt)
		if b == nil {
			return nil, "", fmt.Errorf("openFast declined")
		}
		closers = append(closers, b.f, closer(b.close))
		fr, _ := b.rows(sheet, reopen)
		if fr != nil {
			rows = fr
		} else {
			fast, how = false, "declined"
		}
	}
	if !fast {
		xr, f, err := reopen()
		if err != nil {
			return nil, "", err
		}
		closers = append(closers, f)
		rows = xr
	}
	for ended := 0; ended < 2; {
		if !rows.Next() {
			trace = append(trace, fmt.Sprintf("end (%v)", rows.Error()))
			ended++
			continue
		}
		cols, err := rows.Columns(opt)
		trace = append(trace, fmt.Sprintf("%q %v", cols, err))
		if len(trace) >= maxCalls {
			break
		}
	}
	if fr, ok := rows.(*fastRows); ok {
		if fr.fb != nil || fr.err != nil {
			how = fmt.Sprint("fell back: ", fr.why)
		}
	}
	return trace, how, nil
}

// ScanTrace reads sheetXML with the scanner alone (the shared strings
// sst, if any), its buffer starting at bufSize bytes and reading at most
// chunk bytes at a time (0: as many as the buffer takes), and returns what each call of Next and
// Columns gave; "unsupported: ..." ends it where the Reader would fall
// back to excelize.
func ScanTrace(sheetXML, sst []byte, bufSize, chunk int) (trace []string) {
	defer func(n int) { scanBufSize = n }(scanBufSize)
	scanBufSize = bufSize
	wrap := func(b []byte) io.Reader {
		if chunk > 0 {
			return &chunkReader{bytes.NewReader(b), chunk}
		}
		return bytes.NewReader(b)
	}
	var table *sharedStrings
	if len(sst) > 0 {
		var err error
		if table, err = readSharedStrings(wrap(sst), uint64(len(sst))); err != nil {
			return []string{err.Error()}
		}
	}
	r := &fastRows{sc: newSheetScanner(wrap(sheetXML), table), reopen: func() (*excelize.Rows, io.Closer, error) {
		return nil, nil, errors.New("no fallback here")
	}}
	for ended := 0; ended < 2 && len(trace) < 100000; {
		if !r.Next() {
			if r.why != nil {
				return append(trace, r.why.Error())
			}
			trace = append(trace, "end")
			ended++
			continue
		}
		cols, err := r.Columns()
		if r.why != nil {
			return append(trace, r.why.Error())
		}
		trace = append(trace, fmt.Sprintf("%q %v", cols, err))
	}
	return trace
}

// chunkReader reads at most n bytes at a time.
type chunkReader struct {
	r io.Reader
	n int
}

func (c *chunkReader) Read(p []byte) (int, error) { return c.r.Read(p[:min(len(p), c.n)]) }

// HowRows says how an iterator of OpenWorkbook read its rows, as
// FallBack does for a Reader.
func HowRows(it RowIterator) string {
	switch fr, ok := it.(*fastRows); {
	case !ok:
		return "excelize"
	case fr.fb != nil || fr.err != nil:
		return fmt.Sprint("fell back: ", fr.why)
	}
	return ""
}

// StubParts lists the parts of excelize's copy of the workbook at path
// that the scanner opens it with (nil when it does not).
func StubParts(path string) []string {
	b, _ := openFast(path, excelize.Options{RawCellValue: true})
	if b == nil {
		return nil
	}
	defer b.close()
	defer b.f.Close()
	var list []string
	b.f.Pkg.Range(func(k, v any) bool {
		name := k.(string)
		if isStub(v.([]byte)) {
			name += " (stub)"
		}
		list = append(list, name)
		return true
	})
	slices.Sort(list)
	return list
}

type closer func() error

func (c closer) Close() error { return c() }

// Sheets lists the sheets of the workbook at path.
func Sheets(path string) ([]string, error) {
	f, err := excelize.OpenFile(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return f.GetSheetList(), nil
}

var _ = strings.Join
