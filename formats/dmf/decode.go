package dmf

import (
	"archive/zip"
	"encoding/csv"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/erpipe/erpipe/formats"
	"github.com/erpipe/erpipe/formats/excel"
	"github.com/xuri/excelize/v2"
)

// csvSource reads CSV data files with encoding/csv.
type csvSource struct {
	rc   io.ReadCloser
	cr   *csv.Reader
	file string
	head []string
}

func openCSV(f *zip.File, file string) (source, error) {
	rc, err := f.Open()
	if err != nil {
		return nil, err
	}
	tr, _, err := textReader(rc)
	if err != nil {
		rc.Close()
		return nil, err
	}
	s := &csvSource{rc: rc, cr: csv.NewReader(tr), file: file}
	s.cr.FieldsPerRecord = -1
	s.head, err = s.cr.Read()
	if err != nil {
		rc.Close()
		if err == io.EOF {
			return nil, errors.New("the data file is empty: it has no header row")
		}
		return nil, s.parseError(err)
	}
	return s, nil
}

func (s *csvSource) parseError(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return &formats.ParseError{
			Pos: formats.Pos{File: s.file, Row: pe.Line},
			Err: fmt.Errorf("%w (character %d); enclose the value in double quotes and double any quote inside it", pe.Err, pe.Column),
		}
	}
	return &formats.ParseError{Pos: formats.Pos{File: s.file}, Err: err}
}

func (s *csvSource) header() []string { return s.head }

func (s *csvSource) read() (formats.Record, error) {
	rec, err := s.cr.Read()
	if err == io.EOF {
		return formats.Record{}, io.EOF
	}
	if err != nil {
		return formats.Record{}, s.parseError(err)
	}
	line, _ := s.cr.FieldPos(0)
	pos := formats.Pos{File: s.file, Row: line}
	if len(rec) != len(s.head) {
		return formats.Record{}, &formats.ParseError{Pos: pos, Err: fmt.Errorf(
			"the row has %d fields but the header has %d; look for a missing or extra comma, or a comma in a value without quotes", len(rec), len(s.head))}
	}
	return formats.Record{Pos: pos, Fields: rec}, nil
}

func (s *csvSource) fieldPos(i int) formats.Pos {
	line, _ := s.cr.FieldPos(i)
	return formats.Pos{File: s.file, Row: line, Col: i + 1}
}

// close releases the entry. A decompression error it may repeat was
// returned by read already.
func (s *csvSource) close() error {
	_ = s.rc.Close()
	return nil
}

// xmlSource reads XML-Element and XML-Attribute data files: a root element
// holding one element per row, whose attributes and child elements are the
// fields.
type xmlSource struct {
	rc     io.ReadCloser
	d      *xml.Decoder
	file   string
	head   []string
	index  map[string]int // field name (upper case) → column
	fixed  bool           // head came from the manifest
	inRoot bool
	done   bool
	row    int // line of the last row
}

func openXML(f *zip.File, file string, e ManifestEntity) (source, error) {
	rc, err := f.Open()
	if err != nil {
		return nil, err
	}
	tr, utf16, err := textReader(rc)
	if err != nil {
		rc.Close()
		return nil, err
	}
	s := &xmlSource{rc: rc, d: xml.NewDecoder(tr), file: file, index: make(map[string]int)}
	s.d.CharsetReader = charsetReader(utf16)
	for _, c := range e.Columns {
		s.addColumn(c)
	}
	s.fixed = len(s.head) > 0
	return s, nil
}

func (s *xmlSource) addColumn(name string) int {
	k := strings.ToUpper(name)
	if i, ok := s.index[k]; ok {
		return i
	}
	s.index[k] = len(s.head)
	s.head = append(s.head, name)
	return len(s.head) - 1
}

func (s *xmlSource) header() []string { return s.head }

func (s *xmlSource) fail(err error) error {
	s.done = true
	line, _ := s.d.InputPos()
	return &formats.ParseError{Pos: formats.Pos{File: s.file, Row: line}, Err: fmt.Errorf("%w; the file is not well-formed XML", err)}
}

func (s *xmlSource) read() (formats.Record, error) {
	if s.done {
		return formats.Record{}, io.EOF
	}
	for {
		tok, err := s.d.Token()
		if err == io.EOF {
			s.done = true
			if !s.inRoot {
				return formats.Record{}, &formats.ParseError{Pos: formats.Pos{File: s.file}, Err: errors.New("the data file has no root element")}
			}
			return formats.Record{}, s.fail(io.ErrUnexpectedEOF)
		}
		if err != nil {
			return formats.Record{}, s.fail(err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if !s.inRoot {
				s.inRoot = true
				continue
			}
			return s.readRow(t)
		case xml.EndElement:
			s.done = true // the end of the root
			return formats.Record{}, io.EOF
		}
	}
}

// readRow reads the fields of the row element start.
func (s *xmlSource) readRow(start xml.StartElement) (formats.Record, error) {
	s.row, _ = s.d.InputPos()
	pos := formats.Pos{File: s.file, Row: s.row}
	fields := make([]string, len(s.head))
	var unknown []string
	set := func(name, v string) {
		i, ok := s.index[strings.ToUpper(name)]
		if !ok {
			if s.fixed {
				unknown = append(unknown, name)
				return
			}
			i = s.addColumn(name)
		}
		for len(fields) <= i {
			fields = append(fields, "")
		}
		fields[i] = v
	}
	for _, a := range start.Attr {
		if a.Name.Space == "xmlns" || a.Name.Local == "xmlns" {
			continue
		}
		set(a.Name.Local, a.Value)
	}
	for {
		tok, err := s.d.Token()
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return formats.Record{}, s.fail(err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			v, err := s.text()
			if err != nil {
				return formats.Record{}, s.fail(err)
			}
			set(t.Name.Local, v)
		case xml.EndElement:
			for len(fields) < len(s.head) { // columns found in later rows
				fields = append(fields, "")
			}
			if len(unknown) > 0 {
				return formats.Record{}, &formats.ParseError{Pos: pos, Err: fmt.Errorf(
					"field %s is not a column of the entity in the manifest; remove it or add it to the mapping", strings.Join(unknown, ", "))}
			}
			return formats.Record{Pos: pos, Fields: fields}, nil
		}
	}
}

// text returns the character data of the element just started, including
// that of nested elements, and consumes its end.
func (s *xmlSource) text() (string, error) {
	var b strings.Builder
	for depth := 1; depth > 0; {
		tok, err := s.d.Token()
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return "", err
		}
		switch t := tok.(type) {
		case xml.CharData:
			b.Write(t)
		case xml.StartElement:
			depth++
		case xml.EndElement:
			depth--
		}
	}
	return b.String(), nil
}

func (s *xmlSource) fieldPos(i int) formats.Pos {
	return formats.Pos{File: s.file, Row: s.row, Col: i + 1}
}

// close releases the entry. A decompression error it may repeat was
// returned by read already.
func (s *xmlSource) close() error {
	_ = s.rc.Close()
	return nil
}

// excelSource reads an EXCEL data file row by row, as excelize's
// streaming row iterator reads it (with the sheet scanner of
// formats/excel), from a temporary copy of the zip entry.
type excelSource struct {
	f     *excel.Workbook
	rows  excel.RowIterator
	tmp   string
	file  string
	sheet string
	head  []string
	row   int
}

var rawCells = excelize.Options{RawCellValue: true}

func openExcel(f *zip.File, file string, e ManifestEntity, tempDir string) (_ source, err error) {
	tmp, err := copyToTemp(f, tempDir, "erpipe-dmf-*.xlsx")
	if err != nil {
		return nil, err
	}
	s := &excelSource{tmp: tmp, file: file}
	defer func() {
		if err != nil {
			_ = s.close()
		}
	}()
	if s.f, err = excel.OpenWorkbook(tmp, excelize.Options{TmpDir: tempDir}); err != nil {
		return nil, fmt.Errorf("the data file is not a readable xlsx workbook: %w", err)
	}
	sheets := s.f.Sheets()
	if len(sheets) == 0 {
		return nil, errors.New("the workbook has no sheet")
	}
	s.sheet = sheets[0]
	want := strings.TrimSuffix(strings.Trim(e.ExcelSheetName, "'"), "$")
	for _, name := range sheets {
		if want != "" && strings.EqualFold(name, want) {
			s.sheet = name
		}
	}
	if s.rows, err = s.f.Rows(s.sheet); err != nil {
		return nil, fmt.Errorf("sheet %q: %w", s.sheet, err)
	}
	for s.head == nil {
		cells, err := s.next()
		if err == io.EOF {
			return nil, fmt.Errorf("sheet %q is empty: it has no header row", s.sheet)
		}
		if err != nil {
			return nil, err
		}
		s.head = cells
	}
	return s, nil
}

// next returns the cells of the next row that is not blank.
func (s *excelSource) next() ([]string, error) {
	for s.rows.Next() {
		s.row++
		cells, err := s.rows.Columns(rawCells)
		if err != nil {
			return nil, &formats.ParseError{Pos: formats.Pos{File: s.file, Sheet: s.sheet, Row: s.row}, Err: err}
		}
		for len(cells) > 0 && cells[len(cells)-1] == "" {
			cells = cells[:len(cells)-1]
		}
		if len(cells) > 0 {
			return cells, nil
		}
	}
	if err := s.rows.Error(); err != nil {
		return nil, &formats.ParseError{Pos: formats.Pos{File: s.file, Sheet: s.sheet, Row: s.row}, Err: err}
	}
	return nil, io.EOF
}

func (s *excelSource) header() []string { return s.head }

func (s *excelSource) read() (formats.Record, error) {
	cells, err := s.next()
	if err != nil {
		return formats.Record{}, err
	}
	pos := formats.Pos{File: s.file, Sheet: s.sheet, Row: s.row}
	if len(cells) > len(s.head) {
		pos.Col = len(s.head) + 1
		return formats.Record{}, &formats.ParseError{Pos: pos, Err: fmt.Errorf(
			"the row has a value beyond the last header column %s; remove it or add a header", formats.ColumnName(len(s.head)))}
	}
	for len(cells) < len(s.head) {
		cells = append(cells, "")
	}
	return formats.Record{Pos: pos, Fields: cells}, nil
}

func (s *excelSource) fieldPos(i int) formats.Pos {
	return formats.Pos{File: s.file, Sheet: s.sheet, Row: s.row, Col: i + 1}
}

func (s *excelSource) close() error {
	var errs []error
	if s.rows != nil {
		_ = s.rows.Close() // repeats a data error read returned
		s.rows = nil
	}
	if s.f != nil {
		errs = append(errs, s.f.Close())
		s.f = nil
	}
	if s.tmp != "" {
		errs = append(errs, os.Remove(s.tmp))
		s.tmp = ""
	}
	return errors.Join(errs...)
}
