package excel

import (
	stdzip "archive/zip"
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"strings"

	"github.com/klauspost/compress/zip"
	"github.com/xuri/excelize/v2"
)

// The fast path.
//
// excelize opens the workbook as before, its sheets and shared strings
// left out: the Reader gives excelize a copy of the package (in memory,
// the other parts copied as they are compressed) in which every sheet is
// a stub naming its part, so excelize neither unpacks a large sheet to a
// temporary file nor decodes the shared strings. excelize then says which
// sheets there are, and which part holds the sheet to read (its rows of
// the stub name it). The rows are read by the sheet scanner (scan.go)
// from the part, unpacked with klauspost's inflate as they are read.
//
// Anything the scanner does not read itself, at any point, makes the
// Reader open the workbook with excelize after all and read its rows
// from there: the rows already read are read again, and dropped, so that
// the next row comes from excelize at the same place (fastRows.fallback).
// Options.Formatted, which applies number formats, is always read by
// excelize.

// rowSource is what the Reader reads rows from: excelize's *Rows, or
// fastRows.
type rowSource interface {
	Next() bool
	Columns(opts ...excelize.Options) ([]string, error)
	Error() error
	Close() error
}

// disableFast makes excelize read every workbook (for tests).
var disableFast bool

// stubPrefix starts the content of a sheet left out of excelize's copy.
const stubPrefix = `<?xml version="1.0" encoding="UTF-8"?><!-- erpipe: rows read by the sheet scanner -->`

func stubSheet(name string) []byte {
	var b bytes.Buffer
	b.WriteString(stubPrefix)
	b.WriteString(`<worksheet xmlns="` + nsSpreadsheet + `"><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>`)
	xml.EscapeText(&b, []byte(name))
	b.WriteString(`</t></is></c></row></sheetData></worksheet>`)
	return b.Bytes()
}

func isStub(b []byte) bool { return bytes.HasPrefix(b, []byte(stubPrefix)) }

// fastBook is a workbook opened for the scanner.
type fastBook struct {
	f     *excelize.File // the workbook without its sheets and shared strings
	z     *zip.ReadCloser
	parts map[string]*zip.File // by name as excelize names them
	sst   *zip.File
}

// partName is the name excelize gives a part of the package.
func partName(name string) string { return strings.ReplaceAll(name, `\`, "/") }

// leftOut reports whether the part called name (in lower case) is left
// out of excelize's copy: pictures, embedded objects, printer settings,
// thumbnails and pivot caches' records, which excelize would hold in
// memory but never reads to open a workbook or read its rows (it reads
// the workbook, its relationships, styles, theme and calculation chain).
func leftOut(name string) bool {
	for _, p := range []string{"xl/media/", "xl/embeddings/", "xl/printersettings/", "xl/activex/",
		"docprops/thumbnail", "xl/pivotcache/pivotcacherecords"} {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// openFast opens the workbook at path for the scanner; nil, nil means it
// can't be, and excelize opens it as before (and reports what is wrong
// with it).
func openFast(path string, opt excelize.Options) (*fastBook, error) {
	sz, err := stdzip.OpenReader(path)
	if err != nil {
		return nil, nil
	}
	defer sz.Close()
	var buf bytes.Buffer
	zw := stdzip.NewWriter(&buf)
	seen := map[string]bool{}
	for _, f := range sz.File {
		name := partName(f.Name)
		lower := strings.ToLower(name)
		if seen[lower] {
			return nil, nil // which one excelize takes is its business
		}
		seen[lower] = true
		switch {
		case lower == "xl/sharedstrings.xml" || leftOut(lower):
			continue
		case strings.HasPrefix(lower, "xl/worksheets/") && strings.HasSuffix(lower, ".xml") && !f.FileInfo().IsDir():
			w, err := zw.CreateHeader(&stdzip.FileHeader{Name: f.Name, Method: stdzip.Store})
			if err != nil {
				return nil, nil
			}
			w.Write(stubSheet(name))
		default:
			if err := zw.Copy(f); err != nil {
				return nil, nil
			}
		}
	}
	if err := zw.Close(); err != nil {
		return nil, nil
	}
	xf, err := excelize.OpenReader(&buf, opt)
	if err != nil {
		if xf != nil {
			xf.Close()
		}
		return nil, nil
	}
	z, err := zip.OpenReader(path)
	if err != nil {
		xf.Close()
		return nil, nil
	}
	b := &fastBook{f: xf, z: z, parts: map[string]*zip.File{}}
	for _, f := range z.File {
		name := partName(f.Name)
		b.parts[name] = f
		if strings.EqualFold(name, "xl/sharedStrings.xml") {
			b.sst = f
		}
	}
	return b, nil
}

// sheetPart returns the part excelize reads the sheet's rows from, from
// the rows of its stub; "" when it isn't a stub.
func (b *fastBook) sheetPart(sheet string) string {
	rows, err := b.f.Rows(sheet)
	if err != nil {
		return ""
	}
	defer rows.Close()
	if !rows.Next() {
		return ""
	}
	cols, err := rows.Columns()
	if err != nil || len(cols) != 1 {
		return ""
	}
	if _, ok := b.parts[cols[0]]; !ok || !strings.HasPrefix(strings.ToLower(cols[0]), "xl/worksheets/") {
		return ""
	}
	return cols[0]
}

// rows returns the rows of the sheet called sheet, or nil, nil when the
// scanner can't read them (and excelize must).
func (b *fastBook) rows(sheet string, reopen func() (*excelize.Rows, io.Closer, error)) (*fastRows, error) {
	part := b.sheetPart(sheet)
	if part == "" {
		return nil, nil
	}
	var sst *sharedStrings
	if b.sst != nil {
		rc, err := b.sst.Open()
		if err != nil {
			return nil, nil
		}
		sst, err = readSharedStrings(rc, b.sst.UncompressedSize64)
		rc.Close()
		if err != nil {
			return nil, nil
		}
	}
	rc, err := b.parts[part].Open()
	if err != nil {
		return nil, nil
	}
	return &fastRows{sc: newSheetScanner(rc, sst), rc: rc, reopen: reopen, raw: true}, nil
}

func (b *fastBook) close() error {
	if b.z != nil {
		b.z.Close()
		b.z = nil
	}
	return nil
}

// fastRows reads rows with the scanner, with the Next and Columns of
// excelize's Rows and their state: curRow is the number of the row whose
// start tag was read last, seekRow the number of Next calls; rows missing
// from the sheet are rows without cells. As in excelize, Columns reads
// on to the start tag of the next row (whose number decides whether the
// rows are in order: excelize would merge a row numbered lower into the
// one before).
type fastRows struct {
	sc              *sheetScanner
	rc              io.ReadCloser
	curRow, seekRow int
	started         bool // a row's start tag was read, its cells not yet
	phase           int  // inData, afterData (sheetData ended), atEOF
	nNext, nCols    int  // Next calls that returned true, Columns calls
	nFalse          int  // Next calls that returned false
	raw             bool // Columns without options gives raw values

	// The fallback.
	reopen func() (*excelize.Rows, io.Closer, error)
	fb     *excelize.Rows
	fbFile io.Closer
	err    error
	why    error // what the scanner did not read
}

const (
	inData = iota
	afterData
	atEOF
)

func (r *fastRows) Next() bool {
	if r.fb != nil {
		return r.fb.Next()
	}
	if r.err != nil {
		return false
	}
	if r.curRow >= r.seekRow+1 {
		r.seekRow++
		r.nNext++
		return true
	}
	switch r.phase {
	case atEOF:
		r.nFalse++
		return false
	case afterData:
		// excelize's Next reads on to the end of the sheet, looking
		// for rows.
		if err := r.sc.tail(); err != nil {
			return r.fallback(err, nil) && r.fb.Next()
		}
		r.phase = atEOF
		r.nFalse++
		return false
	}
	if r.started {
		return r.fallback(errors.New("Next without Columns"), nil) && r.fb.Next()
	}
	tok, err := r.sc.seek(false)
	if err != nil {
		return r.fallback(err, nil) && r.fb.Next()
	}
	switch tok {
	case tokRow:
		r.seekRow++
		r.curRow++
		if r.sc.rowNo != 0 {
			r.curRow = r.sc.rowNo
		}
		r.started = true
		r.nNext++
		return true
	case tokSheetDataEnd:
		r.phase = afterData
	default:
		r.phase = atEOF
	}
	r.nFalse++
	return false
}

func (r *fastRows) Columns(opts ...excelize.Options) ([]string, error) {
	if r.fb != nil {
		return r.fb.Columns(opts...)
	}
	if r.err != nil {
		return nil, r.err
	}
	if r.curRow > r.seekRow {
		r.nCols++
		return nil, nil
	}
	if raw := r.raw; len(opts) > 0 && !opts[len(opts)-1].RawCellValue || len(opts) == 0 && !raw {
		return r.fallBackColumns(errors.New("formatted values"), opts)
	}
	if !r.started {
		return r.fallBackColumns(errors.New("Columns again"), opts)
	}
	cells, err := r.sc.row()
	if err != nil {
		return r.fallBackColumns(err, opts)
	}
	tok, err := r.sc.seek(true)
	if err != nil {
		return r.fallBackColumns(err, opts)
	}
	r.started = false
	switch tok {
	case tokRow:
		n := r.sc.rowNo
		if n != 0 && n <= r.seekRow {
			return r.fallBackColumns(unsupported("rows out of order"), opts)
		}
		r.curRow++
		if n != 0 {
			r.curRow = n
		}
		r.started = true
	case tokSheetDataEnd:
		r.phase = afterData
	default:
		r.phase = atEOF
	}
	r.nCols++
	return cells, nil
}

// fallBackColumns is Columns from excelize after a fallback.
func (r *fastRows) fallBackColumns(why error, opts []excelize.Options) ([]string, error) {
	if !r.fallback(why, opts) {
		return nil, r.err
	}
	return r.fb.Columns(opts...)
}

// fallback opens the sheet with excelize and reads again the rows
// already read, so that its next call gives what the scanner would have
// given next. It returns false when that fails (r.err says why).
func (r *fastRows) fallback(why error, opts []excelize.Options) bool {
	r.why = why
	r.closeScanner()
	fb, file, err := r.reopen()
	if err != nil {
		r.err = err
		return false
	}
	r.fb, r.fbFile = fb, file
	for i := 0; i < r.nCols; i++ {
		fb.Next()
		fb.Columns(opts...)
	}
	for i := r.nCols; i < r.nNext; i++ {
		fb.Next()
	}
	for i := 0; i < r.nFalse; i++ {
		fb.Next()
	}
	return true
}

func (r *fastRows) Error() error {
	if r.fb != nil {
		return r.fb.Error()
	}
	return r.err
}

func (r *fastRows) closeScanner() {
	if r.rc != nil {
		r.rc.Close()
		r.rc = nil
	}
}

func (r *fastRows) Close() error {
	r.closeScanner()
	var err error
	if r.fb != nil {
		err = r.fb.Close()
		if errors.Is(err, r.fb.Error()) {
			err = nil
		}
	}
	if r.fbFile != nil {
		if cerr := r.fbFile.Close(); err == nil {
			err = cerr
		}
		r.fbFile = nil
	}
	return err
}
