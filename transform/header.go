package transform

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/erpipe/erpipe/formats"
	"github.com/erpipe/erpipe/formats/csv"
	"github.com/erpipe/erpipe/formats/excel"
	"github.com/erpipe/erpipe/transform/template"
)

// A title above the header.
//
// Exports often put a title, the date of the export or a blank line above
// the header row ("Customer list exported 2026-12-01"). When the template
// does not say which row the header is on (input.csv.header_row,
// input.xlsx.header_row) and the first row lacks the template's required
// columns, the first titleRows+1 rows are looked through for one that
// holds them all; when one does, it is the header, the rows above it are
// skipped, and a warning names the row and what was skipped. Row numbers
// stay the file's own, in every message and in the rejected-rows file.

// titleRows is how many rows above the header are looked past: the header
// may be on any of the first 10 rows.
const titleRows = 9

// openTable opens a CSV file or a sheet and binds the template's fields to
// its header, below a title when the first row lacks the template's
// columns (see above).
func (t *Template) openTable(inputPath, format string, res *Result) (*source, error) {
	var read int64 // what the counter of the bytes read stood at
	if res.inputRead != nil {
		read = res.inputRead.Load()
	}
	s, err := t.openAt(inputPath, format, res, 0)
	if err == nil {
		if err = t.bind(s); err == nil {
			return s, nil
		}
		s.close()
	}
	if !t.findsHeader(format) || !titleProblem(err, s != nil) {
		return nil, err
	}
	row := 0
	switch {
	case format == template.FormatCSV:
		row = t.csvHeaderBelow(inputPath)
	case s != nil:
		row = s.below // headerBelow, for bind's message
	}
	if row == 0 {
		return nil, err
	}
	if res.inputRead != nil {
		res.inputRead.Add(read - res.inputRead.Load()) // the reading starts again
	}
	// A warning the first opening gave (a missing sheet) is not given
	// twice.
	titled, terr := t.openAt(inputPath, format, &Result{inputRead: res.inputRead}, row)
	if terr != nil {
		return nil, err
	}
	if terr = t.bind(titled); terr != nil {
		titled.close()
		return nil, err
	}
	res.addWarning(t.skipped(inputPath, titled))
	return titled, nil
}

// findsHeader reports whether the header of the template's input is
// looked for below a title: the template does not say where it is.
func (t *Template) findsHeader(format string) bool {
	if format == template.FormatCSV {
		return t.input.csvHeader && t.input.csvHeaderRow == 0
	}
	return t.input.xlsxHeaderRow == 0
}

// titleProblem reports whether err, from opening (bound false) or from
// binding a table, may come from a title above the header: the header
// lacks the template's columns, or a CSV file's first row could not be
// read as a header (a title with a quote in it). An empty file, a file
// in another encoding or past a limit is refused as it is.
func titleProblem(err error, bound bool) bool {
	if bound {
		return true
	}
	var pe *formats.ParseError
	var le *formats.LimitError
	var ee *csv.EncodingError
	return errors.As(err, &pe) && !errors.As(err, &le) && !errors.As(err, &ee) && !errors.Is(err, csv.ErrEmpty)
}

// csvHeaderBelow returns the first row from 2 to titleRows+1 that, taken
// as the header of the CSV file at path, holds the template's required
// columns, or 0. Each row is tried as a header of its own, so that a
// title with a quote or of another width than the header, or separated
// otherwise, does not stand in the way; the delimiter, unless the
// template sets it, is the header's.
func (t *Template) csvHeaderBelow(path string) int {
	for row := 2; row <= 1+titleRows; row++ {
		s, err := t.openAt(path, template.FormatCSV, &Result{}, row)
		if err != nil {
			continue // the row is blank, or can't be read as a header
		}
		holds := t.holdsColumns(s.r.Header())
		s.close()
		if holds {
			return row
		}
	}
	return 0
}

// holdsColumns reports whether cells hold every column the template
// requires (ignoring case and surrounding spaces).
func (t *Template) holdsColumns(cells []string) bool {
	have := make(map[string]bool, len(cells))
	for _, c := range cells {
		have[strings.ToLower(strings.TrimSpace(c))] = true
	}
	for _, f := range t.input.fields {
		if f.Required && f.Default == nil && !have[strings.ToLower(strings.TrimSpace(f.Column))] {
			return false
		}
	}
	return true
}

// headerRowHint says how to set the header row of s's input in the
// template: row.
func (t *Template) headerRowHint(s *source, row int) string {
	switch {
	case t.input.sheetsEntry:
		return fmt.Sprintf("set header_row: %d for sheet %q under input.sheets in the template", row, t.input.xlsxSheet)
	case s.fromExcel:
		return fmt.Sprintf("set input.xlsx.header_row: %d in the template", row)
	}
	return fmt.Sprintf("set input.csv.header_row: %d in the template", row)
}

// skipped is the warning that the header of s was found below a title:
// it names the header's row and the text of the rows above it (the first
// three that are not blank).
func (t *Template) skipped(inputPath string, s *source) *template.FieldError {
	row := s.pos.Row
	var texts []string
	switch r := s.r.(type) {
	case *excel.Reader:
		for _, rec := range r.Above() {
			if txt := cellsText(rec.Fields); txt != "" && len(texts) < 3 {
				texts = append(texts, txt)
			}
		}
	case *csv.Reader:
		// The lines as they are, not split at delimiters: a title is text.
		f, err := os.Open(inputPath)
		if err != nil {
			break
		}
		defer f.Close()
		lines, err := csv.NewLines(f, t.input.csvEncoding, t.legacy(), t.limits.RecordBytes)
		if err != nil {
			break
		}
		for n := 1; n < row && len(texts) < 3; n++ {
			line, err := lines.Line(n)
			if err != nil {
				break
			}
			if txt := strings.TrimSpace(strings.TrimRight(line, string(r.Comma())+" \t")); txt != "" {
				texts = append(texts, txt)
			}
		}
	}
	what := "row 1 was skipped"
	if row > 2 {
		what = fmt.Sprintf("rows 1-%d were skipped", row-1)
	}
	if len(texts) > 0 {
		what += ": " + quoteText(strings.Join(texts, " / "), 100)
	}
	return &template.FieldError{Pos: s.pos, Template: t.Name, Severity: template.SeverityWarning,
		Err:  fmt.Errorf("the header is on row %d; %s", row, what),
		Hint: t.headerRowHint(s, row) + " to say so"}
}

// cellsText is the text of a row of cells for a message: the cells that
// are not blank, a cell that repeats the one before it (a merged title)
// once.
func cellsText(cells []string) string {
	var parts []string
	for i, c := range cells {
		if c = strings.TrimSpace(c); c != "" && (i == 0 || c != strings.TrimSpace(cells[i-1])) {
			parts = append(parts, c)
		}
	}
	return strings.Join(parts, " ")
}

// quoteText quotes s for a message, cut to max characters.
func quoteText(s string, max int) string {
	if r := []rune(s); len(r) > max {
		s = string(r[:max]) + "…"
	}
	return fmt.Sprintf("%q", s)
}
