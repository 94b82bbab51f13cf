package csv

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/erpipe/erpipe/formats"
)

// Options configure a Reader. The zero value reads comma-separated UTF-8
// (BOM sniffed) with a header row.
type Options struct {
	File  string // name used in positions (base name of the input)
	Comma rune   // field delimiter; 0 means ',', or the one SniffComma finds
	// SniffComma, with Comma 0, takes the delimiter from the first row:
	// of comma, semicolon, tab and pipe, the one it holds most of outside
	// quotes (a comma when none), as files exported with a European
	// locale use semicolons.
	SniffComma bool
	LazyQuotes bool // accept a quote inside an unquoted field
	NoHeader   bool // the first row is data; fields are named "1", "2", ...
	// HeaderRow is the line the header row starts on (with NoHeader, the
	// first row of data); the lines above it, such as a title and the
	// date of an export, are skipped as text, without parsing quotes.
	// 0 means the first row that is not blank. Positions stay the file's
	// own line numbers.
	HeaderRow int
	// Encoding is "" to sniff the BOM (UTF-8 BOM, UTF-16 LE, UTF-16 BE,
	// else UTF-8, else Legacy), or one of "utf-8", "utf-16le", "utf-16be",
	// "windows-1252".
	// Other names of the WHATWG Encoding Standard ("iso-8859-15", ...) are
	// accepted too. Without a BOM, sniffing also recognises UTF-16 whose
	// first two characters are ASCII.
	Encoding string
	// Legacy is the encoding of a file without a BOM that is not UTF-8
	// (its first 64 KiB say), such as "windows-1252" or "iso-8859-15",
	// when Encoding sniffs. Without it such a file is refused whole: an
	// *EncodingError, from NewReader or, for a byte further on, from Read.
	Legacy string
	// ReuseRecord lets Read return a Fields slice that shares its backing
	// array with the one of the previous call (the strings in it stay
	// valid), as encoding/csv's option of that name: for a caller that
	// copies what it keeps, it saves an allocation per record.
	ReuseRecord bool
	// MaxRecordBytes is the longest row, in bytes (0:
	// formats.DefaultRecordBytes); a longer one is a *formats.LimitError
	// that ends the reading.
	MaxRecordBytes int64
	// MaxValueBytes is the longest value, in bytes (0:
	// formats.DefaultValueBytes); a row with a longer one is a
	// *formats.ParseError, and the reading goes on.
	MaxValueBytes int64
}

// Reader reads records from delimited text. See formats.Reader.
//
// Lines that are empty, hold only spaces, or hold only delimiters and spaces
// are skipped. Every other row must have as many values as the header (or,
// with NoHeader, as the first row); a row that does not is reported as a
// *formats.ParseError and the next Read continues with the following row.
//
// Header names may be empty or repeated; Header returns them as written,
// trimmed of surrounding white space and of a byte order mark.
//
// Records returned by Read are the caller's to keep, unless
// Options.ReuseRecord is set.
type Reader struct {
	cr       records // encoding/csv's Reader, or a chunk's parser
	file     string
	comma    rune
	utf8     *utf8Check // when the bytes are not decoded (so may be invalid UTF-8): their check as they are read
	noHeader bool
	header   []string
	width    int           // values per record
	pending  []string      // with NoHeader, the first record, read by NewReader
	skip     int           // lines skipped above the header (Options.HeaderRow): encoding/csv counts lines from the one after
	row      int           // line where the last record starts
	hrow     int           // line where the header starts; 0 with NoHeader
	n        int           // number of fields of the last record; 0 after an error
	maxValue int           // the longest value (Options.MaxValueBytes)
	lazy     bool          // Options.LazyQuotes
	reuse    bool          // Options.ReuseRecord
	br       *bufio.Reader // what cr reads, for Split; nil in a chunk's Reader
	rl       *recordLimit  // below br
}

var _ formats.Reader = (*Reader)(nil)

// NewReader reads the header row (unless NoHeader, in which case it reads
// the first row to count the fields) and returns a Reader. A file without
// any row gives a *formats.ParseError wrapping ErrEmpty; invalid Options
// give a plain error.
func NewReader(r io.Reader, opts Options) (*Reader, error) {
	comma := opts.Comma
	if comma == 0 {
		comma = ','
	}
	if !validDelim(comma) {
		return nil, fmt.Errorf("csv: %q cannot be the delimiter", comma)
	}
	if opts.HeaderRow < 0 {
		return nil, fmt.Errorf("csv: HeaderRow must not be negative")
	}
	sniff := opts.SniffComma && opts.Comma == 0
	src, check, err := decode(bufio.NewReaderSize(r, 64<<10), opts.Encoding, opts.Legacy)
	var bad *notUTF8
	if errors.As(err, &bad) {
		return nil, &EncodingError{Pos: formats.Pos{File: opts.File, Row: bad.row}, Byte: bad.b}
	}
	if err != nil {
		return nil, err
	}
	var u8 *utf8Check
	var in io.Reader = src
	if check {
		u8 = &utf8Check{r: src}
		in = u8
	}
	skip := max(opts.HeaderRow, 1) - 1
	if skip > 0 {
		sb := bufio.NewReaderSize(in, 64<<10)
		n, err := skipLines(sb, skip)
		if err != nil {
			return nil, fmt.Errorf("csv: reading %s: %w", opts.File, err)
		}
		if n == 0 {
			return nil, &formats.ParseError{Pos: formats.Pos{File: opts.File}, Err: ErrEmpty}
		}
		if n < skip {
			return nil, &formats.ParseError{Pos: formats.Pos{File: opts.File, Row: opts.HeaderRow}, Err: &hint{
				msg: fmt.Sprintf("the file ends at row %d, so it has no row %d for the header; "+
					"put the column names in row %d or change the header row in the template", n, opts.HeaderRow, opts.HeaderRow),
				err: ErrEmpty}}
		}
		in = sb
	}
	lim := formats.Limits{RecordBytes: opts.MaxRecordBytes, ValueBytes: opts.MaxValueBytes}.OrDefault()
	rl := newRecordLimit(in, lim.RecordBytes, opts.LazyQuotes, opts.File)
	rl.line, rl.start = skip+1, skip+1
	br := bufio.NewReaderSize(rl, 64<<10)
	if sniff {
		comma = sniffComma(br)
	}
	cr := csv.NewReader(br)
	cr.Comma = comma
	cr.LazyQuotes = opts.LazyQuotes
	cr.FieldsPerRecord = -1 // counted by Read, to say more than "wrong number of fields"
	cr.ReuseRecord = opts.ReuseRecord
	rd := &Reader{cr: cr, file: opts.File, comma: comma, utf8: u8, noHeader: opts.NoHeader, skip: skip, maxValue: int(lim.ValueBytes),
		lazy: opts.LazyQuotes, reuse: opts.ReuseRecord, br: br, rl: rl}
	first, err := rd.next()
	if err == io.EOF && skip > 0 {
		return nil, &formats.ParseError{Pos: formats.Pos{File: opts.File, Row: opts.HeaderRow}, Err: &hint{
			msg: fmt.Sprintf("the file has nothing from row %d on, where the header should be; "+
				"put the column names in row %d or change the header row in the template", opts.HeaderRow, opts.HeaderRow),
			err: ErrEmpty}}
	}
	if err == io.EOF {
		return nil, &formats.ParseError{Pos: formats.Pos{File: opts.File}, Err: ErrEmpty}
	}
	if err != nil {
		return nil, err
	}
	if skip > 0 && rd.row != opts.HeaderRow {
		return nil, &formats.ParseError{Pos: formats.Pos{File: opts.File, Row: opts.HeaderRow}, Err: &hint{
			msg: fmt.Sprintf("row %d is blank, so it has no column names (the next row that is not blank is row %d); "+
				"put the column names in row %d or change the header row in the template", opts.HeaderRow, rd.row, opts.HeaderRow),
			err: ErrEmpty}}
	}
	if !opts.NoHeader {
		rd.hrow = rd.row
	}
	rd.width = len(first)
	rd.header = make([]string, len(first))
	for i, name := range first {
		if opts.NoHeader {
			rd.header[i] = strconv.Itoa(i + 1)
		} else {
			rd.header[i] = trimName(name)
		}
	}
	if opts.NoHeader {
		rd.pending = slices.Clone(first) // encoding/csv may reuse first's array
	}
	return rd, nil
}

// sniffComma returns the delimiter the first line of br uses most, outside
// quotes, among comma, semicolon, tab and pipe; a comma when it holds none.
func sniffComma(br *bufio.Reader) rune {
	line, _ := br.Peek(br.Size())
	if i := bytes.IndexByte(line, '\n'); i >= 0 {
		line = line[:i]
	}
	counts := map[byte]int{}
	quoted := false
	for _, c := range line {
		switch {
		case c == '"':
			quoted = !quoted
		case !quoted && (c == ',' || c == ';' || c == '\t' || c == '|'):
			counts[c]++
		}
	}
	best := byte(',')
	for _, c := range []byte{';', '\t', '|'} {
		if counts[c] > counts[best] {
			best = c
		}
	}
	return rune(best)
}

// Comma returns the delimiter the Reader reads with (the one sniffed, with
// Options.SniffComma).
func (r *Reader) Comma() rune { return r.comma }

// LooksDelimited reports which delimiter a header of one name seems to
// use instead of the one it was read with (0 when none): the name holds
// a semicolon, a tab, a pipe or a comma. It is for the message about a
// file whose columns were not found.
func LooksDelimited(header []string, comma rune) rune {
	if len(header) != 1 {
		return 0
	}
	for _, c := range []rune{';', '\t', '|', ','} {
		if c != comma && strings.ContainsRune(header[0], c) {
			return c
		}
	}
	return 0
}

// trimName trims a header name of white space and of a byte order mark
// (left by an encoding that did not expect one).
func trimName(s string) string {
	s = strings.TrimSpace(s)
	for _, bom := range []string{"\uFEFF", "\u00EF\u00BB\u00BF"} { // UTF-8 BOM, or its bytes read as Windows-1252
		s = strings.TrimPrefix(s, bom)
	}
	return strings.TrimSpace(s)
}

// Header returns the field names: the header row, or "1", "2", ... with
// NoHeader. The caller must not modify the slice.
func (r *Reader) Header() []string { return r.header }

// HeaderRow returns the line the header row starts on, or 0 with NoHeader.
func (r *Reader) HeaderRow() int { return r.hrow }

// Read returns the next record, or io.EOF after the last one. Malformed
// input gives a *formats.ParseError; Read may be called again after one to
// continue with the next row. A row with another number of values than the
// header comes with its values as well as the error (a header further down
// the file can be told by them).
func (r *Reader) Read() (formats.Record, error) {
	rec := r.pending
	r.pending = nil
	if rec == nil {
		var err error
		if rec, err = r.next(); err != nil {
			return formats.Record{}, err
		}
	}
	pos := formats.Pos{File: r.file, Row: r.row}
	if len(rec) != r.width {
		return formats.Record{Pos: pos, Fields: rec}, &formats.ParseError{Pos: pos, Err: r.countError(len(rec))}
	}
	for i, f := range rec {
		if len(f) > r.maxValue {
			return formats.Record{}, &formats.ParseError{Pos: r.FieldPos(i), Err: fmt.Errorf(
				"this value is %s, longer than erpipe reads (%s, limits.value_bytes); check that it is not several values run together",
				formats.Size(int64(len(f))), formats.Size(int64(r.maxValue)))}
		}
	}
	return formats.Record{Pos: pos, Fields: rec}, nil
}

// FieldPos returns the position of field i of the record last returned by
// Read: Row is the line the field starts on (a quoted value may span
// lines), Col is i+1. For an i out of range, Row is the record's line.
func (r *Reader) FieldPos(i int) formats.Pos {
	if i < 0 {
		return formats.Pos{File: r.file, Row: r.row}
	}
	p := formats.Pos{File: r.file, Row: r.row, Col: i + 1}
	if i < r.n {
		p.Row, _ = r.cr.FieldPos(i)
		p.Row += r.skip
	}
	return p
}

// OneLine reports whether every field of the record last returned by Read
// starts on the record's first line, as nearly always (only a quoted value
// with a line break in it moves the next ones down). FieldPos(i) is then
// the record's position with Col i+1 (formats.OneLiner).
func (r *Reader) OneLine() bool {
	if r.n == 0 {
		return true
	}
	line, _ := r.cr.FieldPos(r.n - 1)
	return line+r.skip == r.row
}

var _ formats.OneLiner = (*Reader)(nil)

// next reads the next row that is not blank.
func (r *Reader) next() ([]string, error) {
	for {
		rec, err := r.cr.Read()
		if err != nil {
			r.n = 0
			return nil, r.readError(err)
		}
		if blank(rec) {
			continue
		}
		r.n = len(rec)
		r.row, _ = r.cr.FieldPos(0)
		r.row += r.skip
		if r.utf8 != nil && r.utf8.bad {
			for i, f := range rec {
				if j := invalidAt([]byte(f)); j >= 0 {
					return nil, &EncodingError{Pos: r.FieldPos(i), Byte: f[j]}
				}
			}
		}
		return rec, nil
	}
}

// blank reports whether a row holds nothing but white space.
func blank(rec []string) bool {
	for _, f := range rec {
		if strings.TrimSpace(f) != "" {
			return false
		}
	}
	return true
}

// EncodingError is a file read as UTF-8 that is not UTF-8. It is about the
// whole file, which is refused, not about a row: a file is never read
// half in one encoding.
type EncodingError struct {
	Pos  formats.Pos // where the first byte that is not UTF-8 is
	Byte byte
}

func (e *EncodingError) Error() string {
	return fmt.Sprintf("%s: the file is not UTF-8 (byte 0x%02X is not UTF-8); it was probably saved as Windows-1252 (ANSI) "+
		"or ISO-8859-1, and nothing of it was read", e.Pos, e.Byte)
}

// hint is an error message for people that still unwraps to the sentinel
// of encoding/csv it explains.
type hint struct {
	msg string
	err error
}

func (h *hint) Error() string { return h.msg }
func (h *hint) Unwrap() error { return h.err }

func (r *Reader) countError(n int) error {
	what := "the header has"
	if r.noHeader {
		what = "the first row has"
	}
	msg := fmt.Sprintf("row has %d values but %s %d columns; ", n, what, r.width)
	if n > r.width {
		msg += fmt.Sprintf("check for an unquoted delimiter (%q) in a value: put such values in quotes", r.comma)
	} else {
		msg += "check for a missing delimiter, or a line break in a value that is not in quotes"
	}
	return &hint{msg: msg, err: csv.ErrFieldCount}
}

// readError turns an error of encoding/csv into one that says what to fix.
func (r *Reader) readError(err error) error {
	var pe *csv.ParseError
	var le *formats.LimitError
	switch {
	case errors.As(err, &le):
		return le
	case !errors.As(err, &pe):
		if err == io.EOF {
			return err
		}
		return fmt.Errorf("csv: reading %s: %w", r.file, err)
	}
	start, line := pe.StartLine+r.skip, pe.Line+r.skip
	pos := formats.Pos{File: r.file, Row: start}
	var msg string
	switch {
	case errors.Is(pe.Err, csv.ErrBareQuote):
		pos.Row = line
		msg = `a value in this row contains a quote (") but does not start with one; ` +
			`put the whole value in quotes and double the quote inside it (""), or turn on lazy quotes in the template`
	case errors.Is(pe.Err, csv.ErrQuote) && line > start:
		msg = fmt.Sprintf(`a quoted value starts in this row but no closing quote followed by a delimiter or line end was found up to line %d; `+
			`check the quotes in this row: a quote inside a value must be doubled ("")`, line)
	case errors.Is(pe.Err, csv.ErrQuote):
		pos.Row = line
		msg = `a quoted value in this row is followed by more text before the delimiter; ` +
			`check the quotes in this row: a quote inside a value must be doubled ("")`
	default:
		msg = pe.Err.Error()
	}
	return &formats.ParseError{Pos: pos, Err: &hint{msg: msg, err: pe.Err}}
}

// validDelim is encoding/csv's rule for a delimiter.
func validDelim(r rune) bool {
	return r != 0 && r != '"' && r != '\r' && r != '\n' && utf8.ValidRune(r) && r != utf8.RuneError
}

// skipLines reads past n lines of br, however long, and returns how many
// there were (fewer at the end of the file; a last line without a line
// break counts).
func skipLines(br *bufio.Reader, n int) (int, error) {
	done, partial := 0, false
	for done < n {
		b, err := br.ReadSlice('\n')
		switch {
		case err == nil:
			done, partial = done+1, false
		case errors.Is(err, bufio.ErrBufferFull):
			partial = true // the line goes on
		case err == io.EOF:
			if partial || len(b) > 0 {
				done++
			}
			return done, nil
		default:
			return done, err
		}
	}
	return done, nil
}
