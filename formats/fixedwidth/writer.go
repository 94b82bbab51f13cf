package fixedwidth

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/shopspring/decimal"
	"golang.org/x/text/encoding"
)

// FieldError is a value that can't be written into its field.
type FieldError struct {
	Record, Field string
	Err           error
}

func (e *FieldError) Error() string { return e.Record + "." + e.Field + ": " + e.Err.Error() }

// Unwrap returns the cause.
func (e *FieldError) Unwrap() error { return e.Err }

// Writer writes records into a fixed-width file, filling its control
// fields, and at Close the block fill.
type Writer struct {
	l     *Layout
	w     io.Writer
	enc   *encoding.Encoder
	eol   string
	tally *tally
	line  strings.Builder
	nums  []*decimal.Decimal
	vals  []string // the values as a Reader reads them, for the tallies
}

// NewWriter writes to w, laid out as l (compiled).
func NewWriter(w io.Writer, l *Layout) *Writer {
	wr := &Writer{l: l, w: w, eol: "\n", tally: newTally(l)}
	switch l.LineEnding {
	case CRLF:
		wr.eol = "\r\n"
	case None:
		wr.eol = ""
	}
	if enc := encodingOf(l.Encoding); enc != nil {
		wr.enc = enc.NewEncoder()
	}
	return wr
}

// Lines is how many records were written.
func (w *Writer) Lines() int64 { return w.tally.lines }

// Write writes a record of type ri. values holds a value per field of
// the type: text, or for a numeric field decimal text ("-12.5"; "" is
// zero). Constant and control fields are filled by the Writer, whatever
// values holds for them.
func (w *Writer) Write(ri int, values []string) error {
	rec := &w.l.Records[ri]
	w.tally.lines++
	w.line.Reset()
	w.nums, w.vals = w.nums[:0], w.vals[:0]
	pos := 1
	for fi := range rec.Fields {
		f := &rec.Fields[fi]
		s, num, err := w.field(ri, fi, values[fi])
		if err != nil {
			return &FieldError{Record: rec.Name, Field: f.Name, Err: err}
		}
		if err := w.encodable(s); err != nil {
			return &FieldError{Record: rec.Name, Field: f.Name, Err: err}
		}
		if f.Start > pos {
			w.line.WriteString(strings.Repeat(" ", f.Start-pos))
		}
		w.line.WriteString(s)
		pos = f.Start + f.Length
		w.nums = append(w.nums, num)
		if num != nil {
			w.vals = append(w.vals, num.StringFixed(int32(f.Decimals)))
		} else {
			w.vals = append(w.vals, textValue(f, s))
		}
	}
	if rec.Length >= pos {
		w.line.WriteString(strings.Repeat(" ", rec.Length-pos+1))
	}
	w.tally.add(ri, w.vals, w.nums)
	return w.emit(w.line.String())
}

// field renders one field's characters, and its number for the tallies.
func (w *Writer) field(ri, fi int, v string) (string, *decimal.Decimal, error) {
	f := &w.l.Records[ri].Fields[fi]
	switch {
	case f.Control != nil:
		d := w.tally.expected(ri, fi)
		s, err := formatNumber(f, d)
		return s, &d, err
	case f.Value != "":
		v = f.Value
	}
	if !f.Numeric {
		s, err := formatText(f, v)
		return s, nil, err
	}
	d := decimal.Zero
	if strings.TrimSpace(v) != "" {
		var err error
		if d, err = decimal.NewFromString(strings.TrimSpace(v)); err != nil {
			return "", nil, fmt.Errorf("%q is not a number", v)
		}
	}
	s, err := formatNumber(f, d)
	return s, &d, err
}

func (w *Writer) encodable(s string) error {
	for _, c := range s {
		switch {
		case w.l.Encoding == "ascii" && c >= utf8.RuneSelf:
			return fmt.Errorf("%q is not ASCII, the only characters the format takes; replace it in the template (e.g. with a LOOKUP)", c)
		case w.enc != nil && c >= utf8.RuneSelf:
			if _, err := w.enc.String(string(c)); err != nil {
				return fmt.Errorf("%q can't be written in %s; replace it in the template", c, w.l.Encoding)
			}
		}
	}
	return nil
}

func (w *Writer) emit(line string) error {
	s := line + w.eol
	if w.enc != nil {
		var err error
		if s, err = w.enc.String(s); err != nil {
			return err
		}
	}
	_, err := io.WriteString(w.w, s)
	return err
}

// Close writes the block fill lines. It does not close the underlying
// writer.
func (w *Writer) Close() error {
	if w.l.BlockLines <= 0 || w.tally.lines == 0 {
		return nil
	}
	width := 0
	for _, r := range w.l.Records {
		width = max(width, r.Length)
	}
	fill := strings.Repeat(string(w.l.BlockFill), width)
	for n := w.tally.lines; n%int64(w.l.BlockLines) != 0; n++ {
		if err := w.emit(fill); err != nil {
			return err
		}
	}
	return nil
}

// ErrNoRecords is returned by writers of formats that can't be empty.
var ErrNoRecords = errors.New("no records to write")
