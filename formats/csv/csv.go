// Package csv reads and writes delimited text for erpipe: configurable
// delimiter and quoting, UTF-8 with or without BOM, UTF-16 LE/BE with BOM,
// CRLF or LF. It wraps encoding/csv and adds positions and encodings.
package csv

import (
	"errors"
	"io"

	"github.com/erpipe/erpipe/formats"
)

// ErrEmpty is returned by NewReader for a file with no bytes, or with no
// header row.
var ErrEmpty = errors.New("the file is empty")

// Options configure a Reader. The zero value reads comma-separated UTF-8
// (BOM sniffed) with a header row.
type Options struct {
	File       string // name used in positions (base name of the input)
	Comma      rune   // field delimiter; 0 means ','
	LazyQuotes bool   // accept a quote inside an unquoted field
	NoHeader   bool   // the first row is data; fields are named "1", "2", ...
	// Encoding is "" to sniff the BOM (UTF-8 BOM, UTF-16 LE, UTF-16 BE,
	// else UTF-8), or one of "utf-8", "utf-16le", "utf-16be", "windows-1252".
	Encoding string
}

// Reader reads records from delimited text. See formats.Reader.
type Reader struct{}

var _ formats.Reader = (*Reader)(nil)

// NewReader reads the header row (unless NoHeader) and returns a Reader.
func NewReader(r io.Reader, opts Options) (*Reader, error) { return nil, errors.New("TODO") }

func (r *Reader) Header() []string              { return nil }
func (r *Reader) Read() (formats.Record, error) { return formats.Record{}, io.EOF }
func (r *Reader) FieldPos(i int) formats.Pos    { return formats.Pos{} }

// WriterOptions configure a Writer. The zero value writes comma-separated
// UTF-8 without BOM and with LF line ends.
type WriterOptions struct {
	Comma rune // 0 means ','
	// Encoding is "utf-8" (default), "utf-8-bom" or "utf-16le" (with BOM).
	Encoding string
	CRLF     bool // end lines with \r\n
}

// Writer writes delimited text, quoting only where needed.
type Writer struct{}

// NewWriter returns a Writer to w.
func NewWriter(w io.Writer, opts WriterOptions) (*Writer, error) { return nil, errors.New("TODO") }

// Write writes one record.
func (w *Writer) Write(record []string) error { return errors.New("TODO") }

// Close flushes buffered data and returns the first error seen. It does not
// close the underlying writer.
func (w *Writer) Close() error { return errors.New("TODO") }
