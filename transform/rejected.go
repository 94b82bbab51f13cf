package transform

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"

	"github.com/xuri/excelize/v2"

	"github.com/erpipe/erpipe/formats"
	"github.com/erpipe/erpipe/formats/csv"
	"github.com/erpipe/erpipe/formats/excel"
	"github.com/erpipe/erpipe/transform/template"
)

// RejectedName returns the name of the rejected-rows file for an input:
// customers.xlsx gives customers.rejected.xlsx, anything else
// <name>.rejected.csv.
func (t *Template) RejectedName(inputName string) string {
	if f, err := t.InputFormat(inputName); err == nil && f == template.FormatXLSX {
		return inputName + ".rejected.xlsx"
	}
	return inputName + ".rejected.csv"
}

// WriteRejected writes the rows of the input at inputPath whose row
// numbers are keys of rows to outPath, as they were, with one more column,
// "erpipe error", holding what to fix (the value in rows). A finance user
// corrects them there and drops the file back into the inbox. XLSX inputs
// give an XLSX file, other inputs a UTF-8 CSV with the header row. The
// rows above the header (a title) are kept above it, in the same rows, so
// that the file is read as the input was. The input is read again as a
// stream, so memory holds only rows.
func (t *Template) WriteRejected(ctx context.Context, inputPath, outPath string, rows map[int]string) error {
	src, err := t.open(inputPath, &Result{})
	if err != nil {
		return err
	}
	defer src.close()
	header := append(append([]string(nil), src.r.Header()...), "erpipe error")
	var w rowWriter
	var lines *csv.Lines // the input's lines as text, for rows that could not be read
	if src.fromExcel {
		w, err = newXLSXRows(outPath, src.pos.Sheet)
	} else {
		comma := t.input.csvComma
		if cr, ok := src.r.(*csv.Reader); ok {
			comma = cr.Comma() // as sniffed
		}
		w, err = newCSVRows(outPath, comma)
		if f, ferr := os.Open(inputPath); ferr == nil {
			defer f.Close()
			lines, _ = csv.NewLines(f, t.input.csvEncoding, t.legacy(), t.limits.RecordBytes)
		}
	}
	if err != nil {
		return err
	}
	if err := writeAbove(w, src, lines); err != nil {
		w.abort()
		return err
	}
	if err := w.write(header); err != nil {
		w.abort()
		return err
	}
	for n := 0; ; n++ {
		if n%256 == 0 && ctx.Err() != nil {
			w.abort()
			return ctx.Err()
		}
		rec, err := src.r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			// A row that could not be read at all: say so in the file.
			if pe, ok := err.(*formats.ParseError); ok {
				if msg, ok := rows[pe.Pos.Row]; ok {
					if err := writeUnread(w, lines, pe.Pos.Row, len(header), msg); err != nil {
						w.abort()
						return err
					}
				}
				continue
			}
			w.abort()
			return err
		}
		msg, ok := rows[rec.Pos.Row]
		if !ok {
			continue
		}
		row := make([]string, len(header))
		copy(row, rec.Fields)
		row[len(row)-1] = msg
		if err := w.write(row); err != nil {
			w.abort()
			return err
		}
	}
	return w.close()
}

// writeAbove writes the rows above the input's header: the lines as they
// were, when the input is text, else the rows that are not blank, each in
// its row.
func writeAbove(w rowWriter, src *source, lines *csv.Lines) error {
	if x, ok := w.(*xlsxRows); ok {
		if er, ok := src.r.(*excel.Reader); ok {
			for _, rec := range er.Above() {
				x.n = rec.Pos.Row - 1
				if err := x.write(rec.Fields); err != nil {
					return err
				}
			}
		}
		x.n = src.pos.Row - 1
		return nil
	}
	cw, ok := w.(*csvRows)
	if !ok || lines == nil {
		return nil
	}
	for n := 1; n < src.pos.Row; n++ {
		raw, err := lines.Line(n)
		if err != nil {
			return err
		}
		if err := cw.w.WriteRaw(raw); err != nil {
			return err
		}
	}
	return nil
}

// writeUnread writes a row that could not be read: its line as it was,
// when the input is text, else empty cells; then what to fix.
func writeUnread(w rowWriter, lines *csv.Lines, row, width int, msg string) error {
	if cw, ok := w.(*csvRows); ok && lines != nil {
		if raw, err := lines.Line(row); err == nil {
			return cw.w.WriteRaw(raw, msg)
		}
	}
	cells := make([]string, width)
	cells[len(cells)-1] = msg
	return w.write(cells)
}

// rowWriter writes the rows of a rejected-rows file.
type rowWriter interface {
	write(row []string) error
	close() error
	abort()
}

type csvRows struct {
	f  *os.File
	bw *bufio.Writer
	w  *csv.Writer
}

// newCSVRows writes a rejected-rows file with the input's delimiter, so
// that the corrected file reads as the input did.
func newCSVRows(path string, comma rune) (*csvRows, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	bw := bufio.NewWriter(f)
	// Made for Excel: a cell that Excel would run as a formula is escaped.
	w, err := csv.NewWriter(bw, csv.WriterOptions{Comma: comma, Encoding: "utf-8-bom", CRLF: true, EscapeFormulas: true})
	if err != nil {
		f.Close()
		return nil, err
	}
	return &csvRows{f: f, bw: bw, w: w}, nil
}

func (c *csvRows) write(row []string) error { return c.w.Write(row) }
func (c *csvRows) abort()                   { c.f.Close(); os.Remove(c.f.Name()) }
func (c *csvRows) close() error {
	if err := c.w.Close(); err != nil {
		c.abort()
		return err
	}
	if err := c.bw.Flush(); err != nil {
		c.abort()
		return err
	}
	return c.f.Close()
}

type xlsxRows struct {
	path string
	f    *excelize.File
	sw   *excelize.StreamWriter
	n    int
}

// newXLSXRows starts a workbook whose one sheet has the input's sheet
// name, so that the corrected file is read like the original.
func newXLSXRows(path, sheet string) (*xlsxRows, error) {
	f := excelize.NewFile()
	if sheet == "" {
		sheet = "Sheet1"
	} else if err := f.SetSheetName("Sheet1", sheet); err != nil {
		f.Close()
		return nil, err
	}
	sw, err := f.NewStreamWriter(sheet)
	if err != nil {
		f.Close()
		return nil, err
	}
	return &xlsxRows{path: path, f: f, sw: sw}, nil
}

func (x *xlsxRows) write(row []string) error {
	x.n++
	cells := make([]any, len(row))
	for i, v := range row {
		cells[i] = v
	}
	cell, err := excelize.CoordinatesToCellName(1, x.n)
	if err != nil {
		return err
	}
	return x.sw.SetRow(cell, cells)
}

func (x *xlsxRows) abort() { x.f.Close(); os.Remove(x.path) }
func (x *xlsxRows) close() error {
	if err := x.sw.Flush(); err != nil {
		x.abort()
		return err
	}
	if err := x.f.SaveAs(x.path); err != nil {
		x.abort()
		return fmt.Errorf("write %s: %w", x.path, err)
	}
	return x.f.Close()
}
