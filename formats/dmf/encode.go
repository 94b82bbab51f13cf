package dmf

import (
	"archive/zip"
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/erpipe/erpipe/formats"
	"github.com/klauspost/compress/flate"
	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/transform"
)

// encoder turns rows into the bytes of one entity's data file.
type encoder interface {
	// row appends one row; the values are checked already.
	row(values []string) error
	// finish ends the data file and writes whatever is not yet written
	// into dst, the zip entry. Text encoders that stream straight into
	// the entry write nothing more.
	finish(dst io.Writer) error
	// cleanup releases temporary files; it is safe to call more than once.
	cleanup() error
}

// spool is where a text encoder's bytes go: a temporary file that finish
// copies into the zip entry, or the zip entry itself.
type spool struct {
	file *os.File // nil when streaming into the entry
	w    io.Writer
}

func newSpool(dir string, direct io.Writer) (*spool, error) {
	if direct != nil {
		return &spool{w: direct}, nil
	}
	f, err := os.CreateTemp(dir, "erpipe-dmf-*.tmp")
	if err != nil {
		return nil, fmt.Errorf("dmf: spool entity data: %w", err)
	}
	return &spool{file: f, w: f}, nil
}

// copyTo copies a spooled file into dst; for a direct spool it does nothing.
func (s *spool) copyTo(dst io.Writer) error {
	if s.file == nil {
		return nil
	}
	if _, err := s.file.Seek(0, io.SeekStart); err != nil {
		return err
	}
	_, err := io.Copy(dst, s.file)
	return err
}

func (s *spool) cleanup() error {
	if s.file == nil {
		return nil
	}
	f := s.file
	s.file = nil
	return errors.Join(f.Close(), os.Remove(f.Name()))
}

// textEncoder writes CSV or XML data files.
type textEncoder struct {
	sp   *spool
	bw   *bufio.Writer
	tw   *transform.Writer // UTF-16 encoder for CSV-Unicode, else nil
	buf  []byte
	csv  bool
	attr bool   // XML-Attribute
	elem string // XML row element name
	cols []string
}

func newTextEncoder(e ManifestEntity, sp *spool) (*textEncoder, error) {
	t := &textEncoder{sp: sp, cols: e.Columns}
	out := sp.w
	switch e.SourceFormat {
	case CSVUnicode:
		t.tw = transform.NewWriter(out, unicode.UTF16(unicode.LittleEndian, unicode.UseBOM).NewEncoder())
		out = t.tw
		t.csv = true
	case CSV:
		t.csv = true
	case XMLAttribute:
		t.attr = true
		t.elem = strings.ToUpper(e.Target)
	case XMLElement:
		t.elem = strings.ToUpper(e.Target)
	}
	t.bw = bufio.NewWriterSize(out, 64<<10)
	var err error
	if t.csv {
		err = t.row(e.Columns) // the header row
	} else {
		_, err = t.bw.WriteString(`<?xml version="1.0" encoding="utf-8"?><Document>`)
	}
	return t, err
}

func (t *textEncoder) row(values []string) error {
	b := t.buf[:0]
	switch {
	case t.csv:
		b = appendCSV(b, values)
	case t.attr:
		b = append(b, '<')
		b = append(b, t.elem...)
		for i, v := range values {
			b = append(b, ' ')
			b = append(b, t.cols[i]...)
			b = append(b, `="`...)
			b = appendXMLEscaped(b, v)
			b = append(b, '"')
		}
		b = append(b, "/>"...)
	default:
		b = append(b, '<')
		b = append(b, t.elem...)
		b = append(b, '>')
		for i, v := range values {
			b = append(b, '<')
			b = append(b, t.cols[i]...)
			if v == "" {
				b = append(b, " />"...)
				continue
			}
			b = append(b, '>')
			b = appendXMLEscaped(b, v)
			b = append(b, "</"...)
			b = append(b, t.cols[i]...)
			b = append(b, '>')
		}
		b = append(b, "</"...)
		b = append(b, t.elem...)
		b = append(b, '>')
	}
	t.buf = b
	_, err := t.bw.Write(b)
	return err
}

func (t *textEncoder) finish(dst io.Writer) error {
	if !t.csv {
		if _, err := t.bw.WriteString("</Document>"); err != nil {
			return err
		}
	}
	if err := t.bw.Flush(); err != nil {
		return err
	}
	if t.tw != nil {
		if err := t.tw.Close(); err != nil {
			return err
		}
	}
	return t.sp.copyTo(dst)
}

func (t *textEncoder) cleanup() error { return t.sp.cleanup() }

// appendCSV appends one CSV record ending in CRLF. A field is quoted when it
// holds a comma, a quote, CR or LF, or starts or ends with a space or tab,
// and a record of one empty field is written `""`; quotes are doubled.
// Unlike encoding/csv, CR and LF inside fields are kept as they are.
func appendCSV(b []byte, fields []string) []byte {
	if len(fields) == 1 && fields[0] == "" {
		return append(b, "\"\"\r\n"...) // not a blank line, which readers skip
	}
	for i, f := range fields {
		if i > 0 {
			b = append(b, ',')
		}
		if !csvNeedsQuotes(f) {
			b = append(b, f...)
			continue
		}
		b = append(b, '"')
		for j := 0; j < len(f); j++ {
			if f[j] == '"' {
				b = append(b, '"')
			}
			b = append(b, f[j])
		}
		b = append(b, '"')
	}
	return append(b, '\r', '\n')
}

func csvNeedsQuotes(f string) bool {
	if f == "" {
		return false
	}
	if strings.ContainsAny(f, ",\"\r\n") {
		return true
	}
	first, last := f[0], f[len(f)-1]
	return first == ' ' || first == '\t' || last == ' ' || last == '\t'
}

// appendXMLEscaped appends s escaped for element content or a double-quoted
// attribute; CR, LF and tab become character references so attribute
// normalisation keeps them. s must hold only XML characters.
func appendXMLEscaped(b []byte, s string) []byte {
	last := 0
	for i := 0; i < len(s); i++ {
		var esc string
		switch s[i] {
		case '&':
			esc = "&amp;"
		case '<':
			esc = "&lt;"
		case '>':
			esc = "&gt;"
		case '"':
			esc = "&quot;"
		case '\r':
			esc = "&#xD;"
		case '\n':
			esc = "&#xA;"
		case '\t':
			esc = "&#x9;"
		default:
			continue
		}
		b = append(b, s[last:i]...)
		b = append(b, esc...)
		last = i + 1
	}
	return append(b, s[last:]...)
}

// excelEncoder writes an xlsx workbook with excelize's StreamWriter, which
// keeps at most one chunk of the sheet in memory and the rest in a
// temporary file. Every cell is an inline string.
type excelEncoder struct {
	f     *excelize.File
	sw    *excelize.StreamWriter
	sheet string
	n     int   // rows written, header included
	cells []any // reused
}

// maxExcelRows is the number of rows a worksheet holds.
const maxExcelRows = excelize.TotalRows

func newExcelEncoder(e ManifestEntity, tempDir string) (enc *excelEncoder, err error) {
	sheet := SheetName(e.Name)
	f := excelize.NewFile(excelize.Options{TmpDir: tempDir})
	x := &excelEncoder{f: f, sheet: sheet, cells: make([]any, len(e.Columns))}
	defer func() {
		if err != nil {
			_ = f.Close()
		}
	}()
	if err := f.SetSheetName(f.GetSheetName(0), sheet); err != nil {
		return nil, fmt.Errorf("sheet name %q: %w", sheet, err)
	}
	ref := fmt.Sprintf("'%s'!$A$1:$%s$1", strings.ReplaceAll(sheet, "'", "''"), formats.ColumnName(len(e.Columns)))
	if err := f.SetDefinedName(&excelize.DefinedName{Name: sheet, RefersTo: ref}); err != nil {
		return nil, fmt.Errorf("sheet name %q can't be an Excel defined name (%v); use a label that starts with a letter, or CSV-Unicode", sheet, err)
	}
	// The stream writer writes the sheet's dimension before the rows, so
	// it can't be right; leave it out (it is optional) rather than let it
	// claim A1.
	if err := f.SetSheetDimension(sheet, ""); err != nil {
		return nil, err
	}
	if x.sw, err = f.NewStreamWriter(sheet); err != nil {
		return nil, err
	}
	if err := x.row(e.Columns); err != nil {
		return nil, err
	}
	return x, nil
}

func (x *excelEncoder) row(values []string) error {
	if x.n >= maxExcelRows {
		return fmt.Errorf("a worksheet holds at most %d rows; use CSV-Unicode for this entity", maxExcelRows)
	}
	x.n++
	for i, v := range values {
		x.cells[i] = v
	}
	cell, err := excelize.CoordinatesToCellName(1, x.n)
	if err != nil {
		return err
	}
	return x.sw.SetRow(cell, x.cells)
}

func (x *excelEncoder) finish(dst io.Writer) error {
	if err := x.sw.Flush(); err != nil {
		return err
	}
	// File.Write builds the whole workbook in a bytes.Buffer before
	// copying it out. Give excelize a zip writer on dst instead, so the
	// sheet streams from its temporary file into the package; the buffer
	// stays empty.
	x.f.SetZipWriter(func(io.Writer) excelize.ZipWriter {
		zw := zip.NewWriter(dst)
		zw.RegisterCompressor(zip.Deflate, func(out io.Writer) (io.WriteCloser, error) {
			return flate.NewWriter(out, compressionLevel)
		})
		return zw
	})
	return x.f.Write(io.Discard)
}

func (x *excelEncoder) cleanup() error {
	if x.f == nil {
		return nil
	}
	f := x.f
	x.f = nil
	return f.Close()
}
