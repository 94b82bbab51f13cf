// Package csv reads and writes delimited text for erpipe: configurable
// delimiter and quoting, UTF-8 with or without BOM, UTF-16 LE/BE, Windows-1252,
// CRLF or LF. It wraps encoding/csv and adds positions, encodings and error
// messages that say what to fix.
//
// A file such as
//
//	Account;Name;Amount
//	C-001;"Contoso; Ltd";12.50
//
// read with Comma ';' gives the header ["Account" "Name" "Amount"] and one
// record ["C-001" "Contoso; Ltd" "12.50"] at row 2. Values are returned as
// text exactly as written (quotes removed); typing them is the template's
// job.
//
// Positions: Record.Pos.Row is the line on which a record starts (the header
// is line 1 unless blank lines come first, or Options.HeaderRow puts it
// below a title), and [Reader.FieldPos] gives
// Col as the 1-based field index, not a byte offset: the third value of a row
// is column 3, as a person counts it in a spreadsheet.
//
// Errors about the content of the file are *formats.ParseError naming the
// file and row. Errors in the Options themselves are plain errors.
package csv

import (
	"encoding/csv"
	"errors"
)

// ErrEmpty means the file has nothing to read: no bytes, only a byte order
// mark, or only blank lines (lines of spaces or of delimiters count as
// blank). NewReader returns it wrapped in a *formats.ParseError that names
// the file; test for it with errors.Is.
var ErrEmpty = errors.New("the file is empty")

// The causes a *formats.ParseError from Read may wrap, for errors.Is. They
// are encoding/csv's own sentinels; the error message itself says, in plain
// words, what to fix.
var (
	ErrFieldCount = csv.ErrFieldCount // a row has more or fewer values than the header
	ErrQuote      = csv.ErrQuote      // a quoted value is not closed, or text follows its closing quote
	ErrBareQuote  = csv.ErrBareQuote  // a quote inside a value that is not quoted
)
