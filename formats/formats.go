// Package formats holds what every reader and writer of erpipe shares: the
// Record a reader returns and the Pos that says where each value came from.
//
// Each file format has its own package beside this one (csv, excel, xml,
// dmf). Readers follow encoding/csv: NewReader, then Read until io.EOF.
package formats

import (
	"fmt"
	"strconv"
	"strings"
)

// Pos is where a value came from. Row and Col are 1-based; 0 means unknown
// (Col 0 is the whole record). Row is the physical row: the line of a CSV
// record's start, the row number in an Excel sheet, the line of an XML
// record's start element.
type Pos struct {
	File  string // base name of the input file
	Sheet string // Excel sheet; empty for other formats
	Row   int
	Col   int
}

// String renders the position for people, for example
// `customers.xlsx: sheet "Customers" row 4 column C` or
// `customers.csv: row 4 column 3`.
func (p Pos) String() string {
	var b strings.Builder
	b.WriteString(p.File)
	if p.Sheet != "" {
		fmt.Fprintf(&b, ": sheet %q", p.Sheet)
	}
	if p.Row > 0 {
		if p.Sheet == "" {
			b.WriteString(":")
		}
		fmt.Fprintf(&b, " row %d", p.Row)
	}
	if p.Col > 0 {
		if p.Sheet != "" {
			b.WriteString(" column " + ColumnName(p.Col))
		} else {
			b.WriteString(" column " + strconv.Itoa(p.Col))
		}
	}
	return b.String()
}

// ColumnName returns the spreadsheet letter of 1-based column n (1 → A, 27 → AA).
func ColumnName(n int) string {
	if n <= 0 {
		return ""
	}
	var s []byte
	for n > 0 {
		n--
		s = append([]byte{byte('A' + n%26)}, s...)
		n /= 26
	}
	return string(s)
}

// Record is one record of input: the values in Header order, and where the
// record starts.
type Record struct {
	Pos    Pos
	Fields []string
}

// Reader reads records one at a time. It is what transform consumes, whatever
// the file format.
type Reader interface {
	// Header returns the names of the fields, in the order of
	// Record.Fields: the header row of a CSV file or sheet, or the
	// configured paths of an XML record.
	Header() []string
	// Read returns the next record, or io.EOF after the last one. Errors
	// about malformed input are *ParseError.
	Read() (Record, error)
	// FieldPos returns the position of field i of the record last returned
	// by Read.
	FieldPos(i int) Pos
}

// A OneLiner is a Reader that can tell whether its last record lies on one
// line: then FieldPos(i) is the record's Pos with Col i+1, and a caller that
// keeps the positions of records for later (transform's parallel run) need
// not ask for them field by field.
type OneLiner interface {
	Reader
	OneLine() bool
}

// ParseError is input that could not be read at all: a broken file, a bad
// quote, a sheet that is missing. It names the place and wraps the cause.
type ParseError struct {
	Pos Pos
	Err error
}

func (e *ParseError) Error() string { return e.Pos.String() + ": " + e.Err.Error() }

// Unwrap returns the cause.
func (e *ParseError) Unwrap() error { return e.Err }
