package csv

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/transform"
)

// WriterOptions configure a Writer. The zero value writes comma-separated
// UTF-8 without BOM and with LF line ends.
type WriterOptions struct {
	Comma rune // 0 means ','
	// Encoding is "utf-8" (default), "utf-8-bom" or "utf-16le" (with BOM).
	Encoding string
	CRLF     bool // end lines with \r\n
	// EscapeFormulas puts a ' before a value that a spreadsheet would
	// run as a formula: one starting with =, +, -, @, a tab or a carriage
	// return that is not a plain number (-12.50 and +47 22 33 44 stay as
	// they are). This is OWASP's rule against CSV injection, for files
	// people open in Excel; leave it off for files programs read.
	EscapeFormulas bool
}

// Writer writes delimited text, quoting only where needed: a value is put in
// double quotes (and its quotes doubled) when it contains the delimiter, a
// quote, CR or LF, or starts or ends with white space. A record of one empty
// value is written as "" so that it does not become a blank line. (The
// Reader skips rows whose values are all blank, so a record of blank values
// does not read back.)
//
// Output is buffered: call Close when done. Memory use does not depend on
// how much is written.
type Writer struct {
	bw     *bufio.Writer
	enc    io.WriteCloser // the encoder between bw and the destination, if any
	comma  rune
	eol    string
	escape bool  // EscapeFormulas
	err    error // the first error
	closed bool
}

// NewWriter returns a Writer to w. With a BOM-carrying encoding the BOM is
// the first thing written, even if no record follows. Invalid options give
// an error.
func NewWriter(w io.Writer, opts WriterOptions) (*Writer, error) {
	comma := opts.Comma
	if comma == 0 {
		comma = ','
	}
	if !validDelim(comma) {
		return nil, fmt.Errorf("csv: %q cannot be the delimiter", comma)
	}
	enc, bom, err := encoder(opts.Encoding)
	if err != nil {
		return nil, err
	}
	wr := &Writer{comma: comma, eol: "\n", escape: opts.EscapeFormulas}
	if opts.CRLF {
		wr.eol = "\r\n"
	}
	if enc != nil {
		wr.enc = transform.NewWriter(w, enc.NewEncoder())
		w = wr.enc
	}
	wr.bw = bufio.NewWriterSize(w, 64<<10)
	wr.bw.WriteString(bom)
	return wr, nil
}

// Write writes one record. It returns the first error seen by the Writer,
// now or in an earlier Write; errors may also surface only at Close.
func (w *Writer) Write(record []string) error {
	if w.closed {
		return errClosed
	}
	if w.err != nil {
		return w.err
	}
	if len(record) == 1 && record[0] == "" {
		w.bw.WriteString(`""`)
	}
	for i, field := range record {
		if i > 0 {
			w.bw.WriteRune(w.comma)
		}
		w.writeField(field)
	}
	_, err := w.bw.WriteString(w.eol)
	w.err = err
	return err
}

// FormulaLike reports whether a spreadsheet opening a CSV file would take
// s for a formula: s starts with =, +, -, @, a tab or a carriage return
// and is not a plain number (digits, with a sign, decimal and thousands
// separators and spaces).
func FormulaLike(s string) bool {
	if s == "" || !strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return false
	}
	rest := s
	if s[0] == '+' || s[0] == '-' {
		rest = s[1:]
	}
	if rest == "" || rest[0] < '0' || rest[0] > '9' {
		return true
	}
	for i := 1; i < len(rest); i++ {
		switch c := rest[i]; {
		case c >= '0' && c <= '9', c == '.', c == ',', c == ' ', c == '\'':
		default:
			return true
		}
	}
	return false
}

// writeField writes one value: escaped (EscapeFormulas), and quoted
// where needed.
func (w *Writer) writeField(field string) {
	if w.escape && FormulaLike(field) {
		field = "'" + field
	}
	if !w.needsQuotes(field) {
		w.bw.WriteString(field)
		return
	}
	w.bw.WriteByte('"')
	for {
		j := strings.IndexByte(field, '"')
		if j < 0 {
			break
		}
		w.bw.WriteString(field[:j+1])
		w.bw.WriteByte('"')
		field = field[j+1:]
	}
	w.bw.WriteString(field)
	w.bw.WriteByte('"')
}

// WriteRaw writes raw as it is, as the start of a record, then fields as
// Write writes them: for a row that could not be read, written back as it
// was with what to fix beside it. With EscapeFormulas, each part of raw
// between delimiters that a spreadsheet would run as a formula still gets
// its ' (the row can't be parsed, so quotes are not followed).
func (w *Writer) WriteRaw(raw string, fields ...string) error {
	if w.closed {
		return errClosed
	}
	if w.err != nil {
		return w.err
	}
	if w.escape {
		parts := strings.Split(raw, string(w.comma))
		for i, p := range parts {
			if FormulaLike(p) {
				parts[i] = "'" + p
			}
		}
		raw = strings.Join(parts, string(w.comma))
	}
	w.bw.WriteString(raw)
	for _, field := range fields {
		w.bw.WriteRune(w.comma)
		w.writeField(field)
	}
	_, err := w.bw.WriteString(w.eol)
	w.err = err
	return err
}

func (w *Writer) needsQuotes(field string) bool {
	if field == "" {
		return false
	}
	if w.comma < utf8.RuneSelf {
		// One pass over the bytes: the delimiter and the characters that
		// need quotes are ASCII, and no byte of a multi-byte character is.
		comma := byte(w.comma)
		for i := 0; i < len(field); i++ {
			if c := field[i]; c == comma || c == '"' || c == '\n' || c == '\r' {
				return true
			}
		}
	} else if strings.ContainsAny(field, "\"\r\n") || strings.ContainsRune(field, w.comma) {
		return true
	}
	if c := field[0]; c < utf8.RuneSelf && c != ' ' && c != '\t' && c != '\n' && c != '\v' && c != '\f' && c != '\r' {
		if c := field[len(field)-1]; c < utf8.RuneSelf && c != ' ' && c != '\t' && c != '\n' && c != '\v' && c != '\f' && c != '\r' {
			return false // neither end is white space (the common case, without decoding)
		}
	}
	first, _ := utf8.DecodeRuneInString(field)
	last, _ := utf8.DecodeLastRuneInString(field)
	return unicode.IsSpace(first) || unicode.IsSpace(last)
}

// Close flushes buffered data and returns the first error seen. It does not
// close the underlying writer. Calling Close again returns the same error.
func (w *Writer) Close() error {
	if w.closed {
		return w.err
	}
	w.closed = true
	err := w.bw.Flush()
	if w.enc != nil {
		if cerr := w.enc.Close(); err == nil {
			err = cerr
		}
	}
	if w.err == nil {
		w.err = err
	}
	return w.err
}

var errClosed = errors.New("csv: Write after Close")
