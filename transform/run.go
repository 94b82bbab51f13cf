package transform

import (
	"archive/zip"
	"bufio"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/erpipe/erpipe/formats"
	"github.com/erpipe/erpipe/formats/csv"
	"github.com/erpipe/erpipe/formats/dmf"
	"github.com/erpipe/erpipe/formats/excel"
	fxml "github.com/erpipe/erpipe/formats/xml"
	"github.com/erpipe/erpipe/transform/expression"
	"github.com/erpipe/erpipe/transform/layout"
	"github.com/erpipe/erpipe/transform/template"
)

// maxReported is how many errors, and how many warnings, a Result keeps.
const maxReported = 1000

// maxBadReads is how many unreadable records in a row end a run: past it
// the file is not the kind of file the template expects.
const maxBadReads = 100

// Result is what one run of a template made.
type Result struct {
	Read     int                    // records read
	Written  int                    // rows written (to the first output table)
	Rejected int                    // rows left out by error validations or bad values
	Skipped  int                    // rows left out by the template's filter
	Errors   []*template.FieldError // rejected rows' errors, the first 1000
	Warnings []*template.FieldError // warnings, the first 1000
	Warned   int                    // warnings in all (Warnings keeps the first 1000)
	Outputs  []string               // paths of the files written in the output folder

	onReject   func(pos formats.Pos, errs []*template.FieldError) // RunOptions.OnReject
	onProgress func(read int)                                     // RunOptions.OnProgress
	inputRead  *atomic.Int64                                      // RunOptions.InputRead
}

// RunOptions are the options of RunWith.
type RunOptions struct {
	// OnReject, when set, is called for every rejected row, in input
	// order, with the row's position and all its errors (Result.Errors
	// keeps only the first ones). errs is only valid during the call.
	OnReject func(pos formats.Pos, errs []*template.FieldError)
	// Time is the moment the run stands for: it fills input.modified
	// (documents' creation times and message ids are made from it) and
	// stamps the entries of zip outputs. Zero means the input file's
	// modification time. A job passes its own creation time, so that a
	// job resumed after a crash makes the same bytes again; template tests
	// pass a fixed time.
	Time time.Time
	// OnProgress, when set, is called with the number of records read so
	// far, every progressEvery records, from the goroutine that runs.
	OnProgress func(read int)
	// InputRead, when set, is added the bytes of the input file as they
	// are read, where the file is read as a stream (CSV, XML; not a
	// workbook, whose rows are not in file order), so that a caller can
	// show how far the run is from any goroutine while it runs. Only the
	// pass that writes counts, not the passes that summary values and
	// group checks make first.
	InputRead *atomic.Int64
	// ID names the run in an XML layout's input.id (message ids of payment
	// files are made from it): a job passes its own id, the same when it is
	// resumed. Empty means the first 16 hex digits of the input file's
	// SHA-256: the same file gives the same id, two files two ids.
	ID string
}

// runID is the run's id (see ID); only XML layouts use it.
func (o RunOptions) runID(t *Template, inputPath string) (string, error) {
	if o.ID != "" || t.output.xml == nil {
		return o.ID, nil
	}
	f, err := os.Open(inputPath)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

// stamp is the time the run's outputs carry (see Time).
func (o RunOptions) stamp(inputPath string) (time.Time, error) {
	if !o.Time.IsZero() {
		return o.Time, nil
	}
	st, err := os.Stat(inputPath)
	if err != nil {
		return time.Time{}, err
	}
	return st.ModTime(), nil
}

// progressEvery is how often RunOptions.OnProgress is called, in records.
const progressEvery = 10000

func (r *Result) addError(e *template.FieldError) {
	if len(r.Errors) < maxReported {
		r.Errors = append(r.Errors, e)
	}
}

func (r *Result) addWarning(e *template.FieldError) {
	r.Warned++
	if len(r.Warnings) < maxReported {
		r.Warnings = append(r.Warnings, e)
	}
}

// Run reads the input file at inputPath, transforms it and writes the
// outputs into outDir (which must exist). It returns an error, and no
// outputs, when the file as a whole can't be used: unreadable, empty, or a
// required column missing; the error is a *FieldError whose Hint says what
// to do. Bad rows don't fail the run: they are counted in Rejected and
// listed in Errors. A file with a header and no rows is not an error: the
// outputs hold no rows.
//
// Outputs are written under temporary names in outDir and renamed when
// complete, so no one sees a partial file. When ctx is cancelled Run stops,
// removes what it wrote and returns ctx.Err().
func (t *Template) Run(ctx context.Context, inputPath, outDir string) (*Result, error) {
	return t.RunWith(ctx, inputPath, outDir, RunOptions{})
}

// RunWith is Run with options.
func (t *Template) RunWith(ctx context.Context, inputPath, outDir string, opts RunOptions) (*Result, error) {
	t, err := t.summarized(ctx, inputPath) // summary.go
	if err != nil {
		return nil, err
	}
	if t.multi != nil {
		return t.runMulti(ctx, inputPath, outDir, opts) // multiinput.go
	}
	res := &Result{onReject: opts.OnReject, onProgress: opts.OnProgress, inputRead: opts.InputRead}
	src, err := t.open(inputPath, res)
	if err != nil {
		return nil, err
	}
	defer src.close()
	if src.checks, err = t.prepareChecks(ctx, inputPath); err != nil { // checks.go
		return nil, err
	}

	modified, _ := opts.stamp(inputPath) // the input is open: it is there
	id, err := opts.runID(t, inputPath)
	if err != nil {
		return nil, t.fileError(src.pos, err, "check that the file can be read")
	}
	outs, err := t.createOutputs(src.pos.File, outDir, modified, id)
	if err != nil {
		return nil, err
	}
	src.parallel = true
	err = t.process(ctx, src, res, outs.write)
	if err == nil {
		err = withRejected(outs.commit(ctx, res), res) // outputs.go
	}
	if err != nil {
		outs.abort()
		return nil, err
	}
	res.Outputs = outs.final
	return res, nil
}

// PreviewRow is one output row of a preview, or the errors that left the
// row out.
type PreviewRow struct {
	Pos    formats.Pos
	Values [][]string             // per output table (csv: one; dmf: one per entity), in column order
	Errors []*template.FieldError // why the row was left out; nil when written
}

// Preview shows what the template makes of the first rows of a file,
// without writing anything: up to max records are read, and for each the
// output rows or the errors are returned. Columns returns the headers of
// the output tables. Warnings are in the Result.
func (t *Template) Preview(ctx context.Context, inputPath string, max int) ([]PreviewRow, *Result, error) {
	if t.multi != nil {
		return nil, nil, errMultiPreview // multiinput.go
	}
	t, err := t.summarized(ctx, inputPath) // summary.go
	if err != nil {
		return nil, nil, err
	}
	res := &Result{}
	src, err := t.open(inputPath, res)
	if err != nil {
		return nil, nil, err
	}
	defer src.close()
	if src.checks, err = t.prepareChecks(ctx, inputPath); err != nil { // checks.go
		return nil, nil, err
	}
	var rows []PreviewRow
	lastErr := 0
	stop := errors.New("enough rows")
	err = t.process(ctx, src, res, func(pos formats.Pos, values [][]string) error {
		for ; lastErr < len(res.Errors); lastErr++ {
			// Rejected rows before this one.
			e := res.Errors[lastErr]
			if n := len(rows); n > 0 && rows[n-1].Values == nil && rows[n-1].Pos.Row == e.Pos.Row {
				rows[n-1].Errors = append(rows[n-1].Errors, e)
			} else {
				rows = append(rows, PreviewRow{Pos: formats.Pos{File: e.Pos.File, Sheet: e.Pos.Sheet, Row: e.Pos.Row}, Errors: []*template.FieldError{e}})
			}
		}
		if values != nil {
			cp := make([][]string, len(values))
			for i, v := range values {
				cp[i] = make([]string, len(v))
				for j, s := range v {
					cp[i][j] = t.previewText(s)
				}
			}
			rows = append(rows, PreviewRow{Pos: pos, Values: cp})
		}
		if res.Read >= max {
			return stop
		}
		return nil
	})
	if err != nil && err != stop {
		return nil, nil, err
	}
	return rows, res, nil
}

// Columns returns the column headers of each output table: the csv
// columns, or each DMF entity's staging fields.
func (t *Template) Columns() [][]string {
	var out [][]string
	for _, tb := range t.tables() {
		names := make([]string, len(tb.columns))
		for i, c := range tb.columns {
			names[i] = c.Name
		}
		out = append(out, names)
	}
	return out
}

type table struct {
	columns []layout.Column
	render  func(any) string
	check   func(string) error // nil: any text can be written
}

func (t *Template) tables() []table {
	switch t.output.kind {
	case "csv", "xlsx":
		if t.xlsxTable() {
			return []table{{columns: t.output.csvColumns, render: layout.EncodeValue}} // typed cells (layout.EncodeValue)
		}
		return []table{{columns: t.output.csvColumns, render: expression.Text}}
	case "xml", "workbook", "document":
		return []table{{columns: t.output.xml.Columns(), render: layout.EncodeValue, check: layout.CheckXMLText}}
	}
	if t.output.kind == "fixed_width" {
		return []table{{columns: t.output.fixed.Columns(), render: layout.EncodeValue}}
	}
	if t.output.kind == "json" {
		return []table{{columns: t.output.xml.Columns(), render: layout.EncodeValue, check: layout.CheckXMLText}}
	}
	out := make([]table, len(t.output.dmfEntities))
	for i, e := range t.output.dmfEntities {
		format := e.entity.SourceFormat
		out[i] = table{columns: e.columns, render: dmfText, check: func(v string) error { return dmf.CheckValue(format, v) }}
	}
	return out
}

// source is an open input.
type source struct {
	r         formats.Reader
	closers   []io.Closer
	pos       formats.Pos // file (and sheet) for file-level messages; Row is the header row
	fromExcel bool
	idx       []int     // column of each input field; -1 when missing
	below     int       // the row below the header that holds the template's columns, when bind found none (headerBelow)
	checks    *checkRun // group checks (checks.go), or nil
	parallel  bool      // process may read, evaluate and write on several goroutines (pipeline.go)
}

func (s *source) close() {
	s.checks.close() // its files (checkgroups.go)
	for i := len(s.closers) - 1; i >= 0; i-- {
		s.closers[i].Close()
	}
}

// fileError is an error about the whole input file, at pos, with hint
// saying what to do; an input past the reader's limits or not in its
// encoding, wherever it is found, gets the place and the advice of that.
func (t *Template) fileError(pos formats.Pos, err error, hint string) *template.FieldError {
	var pe *formats.ParseError
	var le *formats.LimitError
	var ee *csv.EncodingError
	switch {
	case errors.As(err, &le):
		pos, hint = le.Pos, "if the file is right, raise "+le.Setting+" for the pipeline in erpipe.yaml"
	case errors.As(err, &ee):
		pos, hint = ee.Pos, encodingHint
	case errors.As(err, &pe) && pe.Pos.File != "":
		pos = pe.Pos
	}
	return &template.FieldError{Pos: pos, Template: t.Name, Severity: template.SeverityError, Err: err, Hint: hint}
}

// encodingHint is what to do with a file that is not UTF-8.
const encodingHint = "save it as CSV UTF-8 (Excel: Save As, CSV UTF-8), or name its encoding: " +
	"input.csv.legacy_encoding in the template, or legacy_encoding for the pipeline in erpipe.yaml (e.g. windows-1252)"

// legacy is the encoding of an input that is not UTF-8: the pipeline's
// (WithLegacyEncoding), else the template's.
func (t *Template) legacy() string { return cmp.Or(t.legacyEncoding, t.input.csvLegacy) }

// open opens the input and binds the template's fields to its columns.
func (t *Template) open(inputPath string, res *Result) (*source, error) {
	base := filepath.Base(inputPath)
	format, err := t.InputFormat(base)
	if err != nil {
		return nil, t.fileError(formats.Pos{File: base}, err, "drop a "+strings.Join(t.InputFormats(), " or ")+" file, or use a template made for this kind of file")
	}
	if format == template.FormatCSV || format == template.FormatXLSX {
		return t.openTable(inputPath, format, res) // header.go
	}
	return t.openAt(inputPath, format, res, 0)
}

// openAt opens the input, with the header of a CSV file or a sheet at
// headerRow (0: where the template says). An XML input is bound to the
// template's fields; the others are left to bind.
func (t *Template) openAt(inputPath, format string, res *Result, headerRow int) (*source, error) {
	base := filepath.Base(inputPath)
	s := &source{pos: formats.Pos{File: base}}
	in := &t.input
	switch format {
	case template.FormatCSV:
		f, err := os.Open(inputPath)
		if err != nil {
			return nil, t.fileError(s.pos, err, "check that the file exists and can be read")
		}
		s.closers = append(s.closers, f)
		r, err := csv.NewReader(bufio.NewReaderSize(res.counted(f), 64<<10), csv.Options{
			File: base, Comma: in.comma(), SniffComma: !in.csvCommaSet, LazyQuotes: in.csvLazyQuotes, NoHeader: !in.csvHeader,
			HeaderRow: cmp.Or(headerRow, in.csvHeaderRow), Encoding: in.csvEncoding, Legacy: t.legacy(),
			ReuseRecord:    true, // every reader of a source copies what it keeps
			MaxRecordBytes: t.limits.RecordBytes,
			MaxValueBytes:  t.limits.ValueBytes,
		})
		if err != nil {
			s.close()
			hint := "check that the file is a CSV file with a header row"
			switch {
			case errors.Is(err, csv.ErrEmpty) && cmp.Or(headerRow, in.csvHeaderRow) > 1:
				hint = "put the column names in the header row, or change input.csv.header_row in the template"
			case errors.Is(err, csv.ErrEmpty):
				hint = "the file has nothing in it; export it again, with the header row"
			}
			return nil, t.fileError(s.pos, err, hint)
		}
		s.r = r
		s.pos.Row = max(1, r.HeaderRow())
	case template.FormatXLSX:
		opts := excel.Options{File: base, Sheet: in.xlsxSheet, SheetIndex: in.xlsxSheetIndex, HeaderRow: cmp.Or(headerRow, in.xlsxHeaderRow), Limits: t.limits}
		sheets := workbookSheets(inputPath)
		if in.xlsxSheet != "" && sheets != nil && !hasSheet(sheets, in.xlsxSheet) && in.xlsxMissingSheet == "first" {
			opts.Sheet, opts.SheetIndex = "", 1
			res.addWarning(&template.FieldError{Pos: s.pos, Template: t.Name, Severity: template.SeverityWarning,
				Err:  fmt.Errorf("the workbook has no sheet %q, so its first sheet %q was read", in.xlsxSheet, sheets[0]),
				Hint: fmt.Sprintf("name the sheet %q", in.xlsxSheet)})
		}
		r, err := excel.Open(inputPath, opts)
		if err != nil {
			hint := "open the file in Excel and save it as Excel Workbook (.xlsx)"
			if errors.Is(err, excel.ErrEmpty) {
				hint = "put the column headers in the header row of the sheet"
			}
			return nil, t.fileError(s.pos, err, hint)
		}
		s.closers = append(s.closers, r)
		s.r = r
		s.fromExcel = true
		s.pos.Row = r.HeaderRow()
		switch {
		case opts.Sheet != "":
			s.pos.Sheet = opts.Sheet
			for _, name := range sheets {
				if strings.EqualFold(name, opts.Sheet) {
					s.pos.Sheet = name
				}
			}
		case sheets != nil && max(1, opts.SheetIndex) <= len(sheets):
			s.pos.Sheet = sheets[max(1, opts.SheetIndex)-1]
		}
	case template.FormatXML:
		f, err := os.Open(inputPath)
		if err != nil {
			return nil, t.fileError(s.pos, err, "check that the file exists and can be read")
		}
		s.closers = append(s.closers, f)
		paths := make([]string, len(in.fields))
		for i, fd := range in.fields {
			paths[i] = fd.Column
		}
		r, err := fxml.NewReader(bufio.NewReaderSize(res.counted(f), 64<<10), fxml.Options{File: base, Record: in.xmlRecord, Fields: paths, Limits: t.limits})
		if err != nil {
			s.close()
			return nil, t.fileError(s.pos, err, "check that the file is the XML document the template expects")
		}
		s.r = r
		s.idx = make([]int, len(in.fields))
		for i := range s.idx {
			s.idx[i] = i
		}
	case template.FormatFixedWidth:
		if err := t.openFixed(inputPath, res, s); err != nil { // fixedwidth.go
			return nil, err
		}
	case template.FormatJSON:
		if err := t.openJSON(inputPath, res, s); err != nil { // json.go
			return nil, err
		}
	}
	return s, nil
}

func hasSheet(sheets []string, name string) bool {
	for _, s := range sheets {
		if strings.EqualFold(s, name) {
			return true
		}
	}
	return false
}

// workbookSheets returns the sheet names of an xlsx file from its
// xl/workbook.xml, or nil when it can't tell (the excel reader then
// reports what is wrong with the file).
func workbookSheets(path string) []string {
	z, err := zip.OpenReader(path)
	if err != nil {
		return nil
	}
	defer z.Close()
	for _, f := range z.File {
		if !strings.EqualFold(f.Name, "xl/workbook.xml") {
			continue
		}
		rc, err := f.Open()
		if err != nil {
			return nil
		}
		defer rc.Close()
		var wb struct {
			Sheets []struct {
				Name string `xml:"name,attr"`
			} `xml:"sheets>sheet"`
		}
		if err := xml.NewDecoder(io.LimitReader(rc, 16<<20)).Decode(&wb); err != nil || len(wb.Sheets) == 0 {
			return nil
		}
		names := make([]string, len(wb.Sheets))
		for i, s := range wb.Sheets {
			names[i] = s.Name
		}
		return names
	}
	return nil
}

// bind finds each input field's column in the header (ignoring case and
// surrounding spaces). A missing required column is an error about the
// file; a missing optional column reads as blank.
func (t *Template) bind(s *source) error {
	header := s.r.Header()
	cols := make(map[string]int, len(header))
	for i, h := range header {
		k := strings.ToLower(strings.TrimSpace(h))
		if _, dup := cols[k]; !dup {
			cols[k] = i
		}
	}
	s.idx = make([]int, len(t.input.fields))
	var missing []*expression.InputField
	for i, f := range t.input.fields {
		j, ok := cols[strings.ToLower(strings.TrimSpace(f.Column))]
		if !ok {
			j = -1
			if f.Required && f.Default == nil {
				missing = append(missing, f)
			}
		}
		s.idx[i] = j
	}
	if len(missing) == 0 {
		return nil
	}
	names := make([]string, len(missing))
	for i, f := range missing {
		names[i] = fmt.Sprintf("%q (field %s)", f.Column, f.Name)
	}
	what := "a column"
	if len(missing) > 1 {
		what = "the columns"
	}
	err := fmt.Errorf("the file has no %s %s, which the template %s requires", strings.TrimPrefix(what, "the "), strings.Join(names, ", "), t.Name)
	if len(missing) == 1 {
		err = fmt.Errorf("the file has no column %s, which the template %s requires", names[0], t.Name)
	}
	hint := fmt.Sprintf("add %s to the header row or rename the column that holds it; the file's columns are %s", what, quoteList(header))
	if cr, ok := s.r.(*csv.Reader); ok {
		if c := csv.LooksDelimited(header, cr.Comma()); c != 0 {
			hint = fmt.Sprintf("the header row looks separated by %s, not by %s: set input.csv.delimiter: %s in the template (or leave delimiter out, and it is found from the header)",
				delimName(c), delimName(cr.Comma()), strconv.Quote(string(c)))
		}
	}
	if row, delim := t.headerBelow(s); row > 0 {
		s.below = row
		hint = fmt.Sprintf("the template's columns are on row %d, under a title or other rows: remove the rows above them", row)
		cr, ok := s.r.(*csv.Reader)
		switch {
		case ok && delim != 0 && delim != cr.Comma():
			hint += fmt.Sprintf(" (the header row is separated by %s)", delimName(delim))
		default:
			hint += ", or " + t.headerRowHint(s, row)
		}
	}
	fe := t.fileError(s.pos, err, hint)
	fe.Column, fe.Field = missing[0].Column, missing[0].Name
	return fe
}

// headerBelow looks through the rows below the header of a file that
// lacks the template's required columns, up to the header's row plus
// titleRows, for a row that holds them all (a title row above the header
// is common in exports), and returns its row number and, when its cells
// are one text separated by another delimiter than the file's, that
// delimiter. It reads on in s, which is failing anyway.
func (t *Template) headerBelow(s *source) (row int, delim rune) {
	holds := t.holdsColumns
	for range titleRows {
		rec, err := s.r.Read()
		if err == io.EOF || rec.Pos.Row > s.pos.Row+titleRows {
			return 0, 0
		}
		if err != nil && len(rec.Fields) == 0 {
			continue
		}
		if holds(rec.Fields) {
			return rec.Pos.Row, 0
		}
		if len(rec.Fields) == 1 {
			for _, d := range []rune{';', '\t', '|', ','} {
				if strings.ContainsRune(rec.Fields[0], d) && holds(strings.Split(rec.Fields[0], string(d))) {
					return rec.Pos.Row, d
				}
			}
		}
	}
	return 0, 0
}

// delimName names a delimiter for messages.
func delimName(c rune) string {
	switch c {
	case ',':
		return "commas"
	case ';':
		return "semicolons"
	case '\t':
		return "tabs"
	case '|':
		return "pipes"
	}
	return strconv.Quote(string(c))
}

// emitFunc receives each written row: its values per output table. It is
// also called with nil values after a rejected row, so callers can keep
// up with Result.Errors.
type emitFunc func(pos formats.Pos, values [][]string) error

// rowKind is what became of one record.
type rowKind uint8

const (
	rowWritten  rowKind = iota
	rowRejected         // rowEval.errs say why
	rowSkipped          // by the filter
)

// rowEval runs the template over one record at a time. It holds the state
// a row needs (the expression environment, a VM, the errors of the row);
// each goroutine that evaluates rows has its own.
type rowEval struct {
	t       *Template
	src     *source
	tables  []table
	env     map[string]any // the row's values by name, unless slotted
	vals    []any          // the row's values by slot, when slotted (slots.go)
	slotted bool
	ev      expression.Evaluator
	errs    []*template.FieldError // the row's errors, when rejected
	warns   []*template.FieldError // the row's warnings
	co      checkOut               // what the row gives the group checks (checks.go)
	last    []lastValue            // by input field: the last text parsed and its value
	// fieldPos returns the position of column j of the current record.
	fieldPos func(j int) formats.Pos
}

func (t *Template) newRowEval(src *source) *rowEval {
	r := &rowEval{t: t, src: src, tables: t.tables(), last: make([]lastValue, len(t.input.fields))}
	if r.slotted = t.slotted && src.checks == nil; r.slotted {
		r.vals = make([]any, len(t.slots))
	} else {
		r.env = make(map[string]any, len(t.vars)+len(t.params))
	}
	for k, v := range t.params {
		if !r.slotted {
			r.env[k] = v
		} else if i, ok := t.slots[k]; ok {
			r.vals[i] = v
		}
	}
	r.fieldPos = src.r.FieldPos
	return r
}

// lastValue is an input field's last text and the value it parsed to.
// Consecutive rows of finance files often repeat a value (the journal, the
// customer, the currency, the date), which is then parsed once: parsing
// depends on the text only, and values are immutable.
type lastValue struct {
	text string
	v    any
	ok   bool
}

// newValues returns buffers for the output values of one row.
func (r *rowEval) newValues() [][]string {
	values := make([][]string, len(r.tables))
	for i, tb := range r.tables {
		values[i] = make([]string, len(tb.columns))
	}
	return values
}

// row runs the template over rec: typed input fields, model, filter,
// validations, group checks and the output columns, whose text goes into
// values (which must have the shape newValues gives).
func (r *rowEval) row(rec formats.Record, values [][]string) rowKind {
	t := r.t
	r.errs, r.warns = r.errs[:0], r.warns[:0]
	r.co.reset()

	// Typed input fields.
	for i, f := range t.input.fields {
		j := r.src.idx[i]
		text := ""
		if j >= 0 && j < len(rec.Fields) {
			text = rec.Fields[j]
		}
		if c := &r.last[i]; c.ok && c.text == text {
			r.put(t.inputSlots, i, f.Name, c.v)
			continue
		}
		v, err := f.Parse(text, r.src.fromExcel)
		if err != nil {
			r.errs = append(r.errs, t.valueError(r.fieldPos, rec, j, f, text, err))
			v = nil
		} else {
			r.last[i] = lastValue{text: text, v: v, ok: true}
		}
		r.put(t.inputSlots, i, f.Name, v)
	}
	if len(r.errs) > 0 {
		return rowRejected
	}

	// Model.
	for i, m := range t.model {
		v, err := r.eval(m.prog)
		if err != nil {
			r.errs = append(r.errs, &template.FieldError{Pos: rec.Pos, Template: t.Name, Field: m.name, Severity: template.SeverityError,
				Err: err, Hint: "check the expression of model field " + m.name + " against this row's values"})
			return rowRejected
		}
		r.put(t.modelSlots, i, m.name, v)
	}

	// Filter.
	if t.filter != nil {
		v, err := r.eval(t.filter)
		if err == nil {
			var keep bool
			keep, err = expression.Truth(v)
			if err == nil && !keep {
				return rowSkipped
			}
		}
		if err != nil {
			r.errs = append(r.errs, &template.FieldError{Pos: rec.Pos, Template: t.Name, Severity: template.SeverityError,
				Err: fmt.Errorf("filter: %w", err), Hint: "check the template's filter against this row's values"})
			return rowRejected
		}
	}

	// Validations.
	for i := range t.validations {
		if e := t.validate(r, &t.validations[i], rec); e != nil {
			if e.Severity == template.SeverityWarning {
				r.warns = append(r.warns, e)
			} else {
				r.errs = append(r.errs, e)
			}
		}
	}
	if len(r.errs) > 0 {
		return rowRejected
	}

	// Group checks (checks.go): what they make of the row is applied with
	// the row, in input order (checkRun.apply).
	if r.src.checks != nil {
		if errs := r.src.checks.row(&r.ev, r.env, rec.Pos, &r.co); len(errs) > 0 {
			r.errs = append(r.errs, errs...)
			return rowRejected
		}
		if r.src.checks.collecting {
			return rowWritten // the checks' first pass writes nothing: no output columns
		}
	}

	// Output columns.
	for ti, tb := range r.tables {
		for ci, c := range tb.columns {
			v, err := r.eval(c.Prog)
			if err != nil {
				r.errs = append(r.errs, &template.FieldError{Pos: rec.Pos, Template: t.Name, Field: c.Name, Severity: template.SeverityError,
					Err: err, Hint: "check the expression of output column " + c.Name + " against this row's values"})
				continue
			}
			text := tb.render(v)
			if tb.check != nil {
				if err := tb.check(text); err != nil {
					r.errs = append(r.errs, &template.FieldError{Pos: rec.Pos, Template: t.Name, Field: c.Name, Severity: template.SeverityError,
						Value: text, Err: err, Hint: "remove the character from the input, or strip it in the template"})
					continue
				}
			}
			values[ti][ci] = text
		}
	}
	if len(r.errs) > 0 {
		return rowRejected
	}
	return rowWritten
}

// apply records what became of one row in res and emits it; rows are
// applied in input order. errs and values are only used during the call.
func (res *Result) apply(emit emitFunc, kind rowKind, pos formats.Pos, errs, warns []*template.FieldError, values [][]string) error {
	if res.onProgress != nil && res.Read%progressEvery == 0 {
		res.onProgress(res.Read)
	}
	for _, w := range warns {
		res.addWarning(w)
	}
	switch kind {
	case rowSkipped:
		res.Skipped++
		return nil
	case rowRejected:
		res.Rejected++
		for _, e := range errs {
			res.addError(e)
		}
		if res.onReject != nil {
			res.onReject(pos, errs)
		}
		return emit(pos, nil)
	}
	if err := emit(pos, values); err != nil {
		return err
	}
	res.Written++
	return nil
}

// readFailure is what the run makes of an error from the reader: a row
// error (the returned FieldError) for a record that can't be read, or the
// end of the run (fatal) when the reader failed, or too many records in a
// row could not be read. badReads and lastBad carry the count between calls.
func (t *Template) readFailure(src *source, err error, badReads *int, lastBad *formats.Pos) (row *template.FieldError, fatal error) {
	var pe *formats.ParseError
	if !errors.As(err, &pe) {
		return nil, t.fileError(src.pos, err, "check that the file is complete and can be read")
	}
	*badReads++
	if *badReads > maxBadReads || (*badReads > 1 && pe.Pos == *lastBad) {
		return nil, t.fileError(pe.Pos, fmt.Errorf("stopped reading after %d rows that could not be read; the last: %w", *badReads, pe.Err),
			"check that the file is the kind of file the template expects, with its delimiter and encoding")
	}
	*lastBad = pe.Pos
	// The readers' messages say what to fix already.
	return &template.FieldError{Pos: pe.Pos, Template: t.Name, Severity: template.SeverityError, Err: pe}, nil
}

// process runs the template over every record of src, calling emit for
// each row in input order. With src.parallel (and more than one CPU) the
// records are read, evaluated and written by different goroutines
// (pipeline.go); the result is the same.
func (t *Template) process(ctx context.Context, src *source, res *Result, emit emitFunc) error {
	if src.parallel {
		if w := pipelineWorkers(); w > 0 {
			return t.processParallel(ctx, src, res, emit, w) // pipeline.go
		}
	}
	re := t.newRowEval(src)
	values := re.newValues()
	badReads := 0
	var lastBad formats.Pos
	for n := 0; ; n++ {
		if n%256 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		rec, err := src.r.Read()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			fe, fatal := t.readFailure(src, err, &badReads, &lastBad)
			if fatal != nil {
				return fatal
			}
			res.Read++
			if err := res.apply(emit, rowRejected, fe.Pos, []*template.FieldError{fe}, nil, nil); err != nil {
				return err
			}
			continue
		}
		badReads = 0
		res.Read++
		kind := re.row(rec, values)
		if err := res.apply(emit, kind, rec.Pos, re.errs, re.warns, values); err != nil {
			return err
		}
		if src.checks != nil {
			src.checks.apply(&re.co, res)
		}
	}
}

// dmfText renders a value for a DMF data file (dmf.FormatValue).
func dmfText(v any) string {
	if d, ok := v.(expression.Dec64); ok {
		return d.String() // as dmf.FormatValue renders the decimal
	}
	return dmf.FormatValue(v)
}

// valueError describes a bad input value; fieldPos gives the position of
// column col of rec.
func (t *Template) valueError(fieldPos func(int) formats.Pos, rec formats.Record, col int, f *expression.InputField, text string, err error) *template.FieldError {
	pos := rec.Pos
	column := f.Column
	if col >= 0 {
		pos = fieldPos(col)
	}
	fe := &template.FieldError{Pos: pos, Column: column, Template: t.Name, Field: f.Name, Value: text, Severity: template.SeverityError, Err: err}
	var ve *expression.ValueError
	switch {
	case errors.As(err, &ve):
		fe.Hint = ve.Hint
	case errors.Is(err, expression.ErrRequired):
		fe.Hint = fmt.Sprintf("fill in %q; the template requires it", f.Column)
	}
	return fe
}

// validate runs one validation over the row r evaluates, whose record is
// rec; it returns nil when the row passes.
func (t *Template) validate(r *rowEval, v *validation, rec formats.Record) *template.FieldError {
	src, fieldPos := r.src, r.fieldPos
	out, err := r.eval(v.prog)
	var ok bool
	if err == nil {
		if ok, err = expression.Truth(out); err == nil && ok {
			return nil
		}
	}
	fe := &template.FieldError{Pos: rec.Pos, Template: t.Name, Rule: v.name, Severity: v.severity, Field: v.field}
	if v.input >= 0 {
		f := t.input.fields[v.input]
		fe.Column = f.Column
		if j := src.idx[v.input]; j >= 0 {
			fe.Pos = fieldPos(j)
			if j < len(rec.Fields) {
				fe.Value = rec.Fields[j]
			}
		}
	}
	if err == nil {
		fe.Err = errors.New(v.message)
		return fe
	}
	fe.Severity = template.SeverityError
	fe.Err = fmt.Errorf("the condition could not be checked: %w", err)
	fe.Hint = "check the condition of validation " + v.name + " against this row's values"
	return fe
}

// xlsxTable says whether the output table's values are kept typed (see
// layout.EncodeValue) for a workbook, rather than rendered as text.
func (t *Template) xlsxTable() bool { return t.output.xlsx != nil }

// previewText returns an output value as Preview shows it: as text. The
// values of a workbook or an XML layout are kept typed (layout.EncodeValue)
// and are shown as the text they stand for.
func (t *Template) previewText(v string) string {
	if t.output.kind == "fixed_width" {
		return layout.EncodedText(v)
	}
	if t.xlsxTable() || t.output.xml != nil {
		return layout.EncodedText(v)
	}
	return v
}
