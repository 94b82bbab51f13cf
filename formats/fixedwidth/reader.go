package fixedwidth

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/shopspring/decimal"
	"golang.org/x/text/transform"

	"github.com/erpipe/erpipe/formats"
)

// ErrEmpty means the file holds no record.
var ErrEmpty = errors.New("the file holds no record")

// Options are a Reader's settings.
type Options struct {
	File   string // base name of the file, for messages
	Limits formats.Limits
}

// Reader reads the records of a fixed-width file one line at a time.
type Reader struct {
	l      *Layout
	file   string
	br     *bufio.Reader
	max    int
	line   int
	ascii  bool
	filled bool // a block fill line was read: only more may follow
	tally  *tally

	typ    int
	text   []string // each field's characters, as in the line
	values []string // each field's value: text unpadded, numbers as decimal text
	nums   []*decimal.Decimal
}

// NewReader reads r, laid out as l (compiled).
func NewReader(r io.Reader, l *Layout, opts Options) *Reader {
	lim := opts.Limits.OrDefault()
	if enc := encodingOf(l.Encoding); enc != nil {
		r = transform.NewReader(r, enc.NewDecoder())
	}
	return &Reader{l: l, file: opts.File, br: bufio.NewReaderSize(r, 64<<10), max: int(lim.RecordBytes), ascii: l.Encoding == "ascii", tally: newTally(l)}
}

// Line is the line number of the record last read.
func (r *Reader) Line() int { return r.line }

// Type is the index of the record type last read.
func (r *Reader) Type() int { return r.typ }

// Values are the fields of the record last read, in the record type's
// order: text without its padding, numbers as decimal text with the
// field's decimals ("-12.50"), "" for a blank number. The slice is
// reused by the next Next.
func (r *Reader) Values() []string { return r.values }

// Next reads the next record and returns its type's index, or io.EOF.
// Errors are *formats.ParseError naming the line and column.
func (r *Reader) Next() (int, error) {
	for {
		raw, err := r.readLine()
		if err != nil {
			return -1, err
		}
		if strings.TrimSpace(raw) == "" {
			continue
		}
		if r.l.BlockLines > 0 && strings.Trim(raw, string(r.l.BlockFill)) == "" {
			r.filled = true
			continue
		}
		if r.filled {
			return -1, r.errorAt(1, "a record follows the block fill lines (lines of %q), which must end the file", string(r.l.BlockFill))
		}
		return r.record(raw)
	}
}

// readLine reads one line without its line ending.
func (r *Reader) readLine() (string, error) {
	if r.l.LineEnding == None {
		return r.readRecord()
	}
	var buf []byte
	for {
		part, err := r.br.ReadSlice('\n')
		buf = append(buf, part...)
		if len(buf) > r.max {
			return "", &formats.LimitError{Pos: formats.Pos{File: r.file, Row: r.line + 1}, What: "a line",
				Limit: formats.Size(int64(r.max)), Setting: "limits.record_bytes"}
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err == io.EOF && len(buf) == 0 {
			return "", io.EOF
		}
		if err != nil && err != io.EOF {
			return "", &formats.ParseError{Pos: formats.Pos{File: r.file, Row: r.line + 1}, Err: err}
		}
		break
	}
	r.line++
	buf = bytes.TrimSuffix(bytes.TrimSuffix(buf, []byte("\n")), []byte("\r"))
	if r.line == 1 {
		buf = bytes.TrimPrefix(buf, []byte("\ufeff")) // a byte order mark (Notepad's UTF-8)
	}
	if !utf8.Valid(buf) {
		col := utf8.RuneCount(buf[:invalidAt(buf)]) + 1
		return "", r.errorAt(col, "the line is not %s text; name the file's encoding in the layout (encoding: windows-1252, ...)", r.l.Encoding)
	}
	if r.ascii {
		for i, c := range string(buf) {
			if c >= utf8.RuneSelf {
				return "", r.errorAt(utf8.RuneCount(buf[:i])+1, "%q is not ASCII, which the layout's encoding allows only", c)
			}
		}
	}
	return string(buf), nil
}

// readRecord reads a record of a file without line breaks: its code,
// then the rest of its type's length (a fill record: the longest type's).
// Line breaks between records, if any, are passed over.
func (r *Reader) readRecord() (string, error) {
	var rec []rune
	for len(rec) == 0 {
		c, _, err := r.br.ReadRune()
		if err == io.EOF {
			return "", io.EOF
		}
		if err != nil {
			return "", &formats.ParseError{Pos: formats.Pos{File: r.file, Row: r.line + 1}, Err: err}
		}
		if c != '\r' && c != '\n' {
			rec = append(rec, c)
		}
	}
	r.line++
	width := 0
	for _, t := range r.l.Records {
		width = max(width, t.Length)
	}
	if err := r.readRunes(&rec, r.l.CodeStart+r.l.CodeLength-1); err != nil {
		return "", err
	}
	if ri, ok := r.l.byCode[string(rec[max(0, r.l.CodeStart-1):])]; ok {
		width = r.l.Records[ri].Length
	} else if len(r.l.Records) == 1 {
		width = r.l.Records[0].Length
	}
	if err := r.readRunes(&rec, width); err != nil {
		return "", err
	}
	if rec[0] == utf8.RuneError {
		return "", r.errorAt(1, "the record is not %s text; name the file's encoding in the layout", r.l.Encoding)
	}
	for i, c := range rec {
		if r.ascii && c >= utf8.RuneSelf {
			return "", r.errorAt(i+1, "%q is not ASCII, which the layout's encoding allows only", c)
		}
	}
	return string(rec), nil
}

// readRunes reads up to n runes into rec; the file may end first.
func (r *Reader) readRunes(rec *[]rune, n int) error {
	for len(*rec) < n {
		c, _, err := r.br.ReadRune()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return &formats.ParseError{Pos: formats.Pos{File: r.file, Row: r.line}, Err: err}
		}
		if c == utf8.RuneError {
			return r.errorAt(len(*rec)+1, "the record is not %s text; name the file's encoding in the layout", r.l.Encoding)
		}
		*rec = append(*rec, c)
	}
	return nil
}

func invalidAt(b []byte) int {
	for i := 0; i < len(b); {
		c, n := utf8.DecodeRune(b[i:])
		if c == utf8.RuneError && n <= 1 {
			return i
		}
		i += n
	}
	return len(b)
}

// record splits a line into the fields of its type and checks them.
func (r *Reader) record(raw string) (int, error) {
	line := []rune(raw)
	ri, err := r.recordType(line)
	if err != nil {
		r.tally.unreadable()
		return -1, err
	}
	rec := &r.l.Records[ri]
	if len(line) > rec.Length && strings.TrimSpace(string(line[rec.Length:])) != "" {
		r.tally.unreadable()
		return -1, r.errorAt(rec.Length+1, "the line is %d characters long; a %s record is %d", len(line), rec.Name, rec.Length)
	}
	r.typ = ri
	r.tally.lines++
	r.text, r.values = r.text[:0], r.values[:0]
	r.nums = r.nums[:0]
	for fi := range rec.Fields {
		f := &rec.Fields[fi]
		s := cut(line, f.Start, f.Length)
		r.text = append(r.text, s)
		v, num, err := r.value(rec, f, s)
		if err != nil {
			r.tally.unreadable()
			return -1, err
		}
		r.values = append(r.values, v)
		r.nums = append(r.nums, num)
	}
	if err := r.checkControls(ri); err != nil {
		return -1, err
	}
	r.tally.add(ri, r.values, r.nums)
	return ri, nil
}

func (r *Reader) recordType(line []rune) (int, error) {
	if r.l.CodeLength == 0 {
		return 0, nil
	}
	code := cut(line, r.l.CodeStart, r.l.CodeLength)
	if ri, ok := r.l.byCode[code]; ok {
		return ri, nil
	}
	var known []string
	for _, rec := range r.l.Records {
		known = append(known, fmt.Sprintf("%q (%s)", rec.Code, rec.Name))
	}
	return -1, r.errorAt(r.l.CodeStart, "the record type code %q is none of the layout's: %s; check that the file is the format the template reads", code, strings.Join(known, ", "))
}

func (r *Reader) value(rec *Record, f *Field, s string) (string, *decimal.Decimal, error) {
	if f.Value != "" && strings.TrimRight(s, " ") != strings.TrimRight(pad(f.Value, f.Length, f.Align, f.Pad), " ") {
		return "", nil, r.errorAt(f.Start, "%s.%s holds %q where the format has %q", rec.Name, f.Name, s, f.Value)
	}
	if !f.Numeric {
		return textValue(f, s), nil, nil
	}
	d, ok, err := parseNumber(f, s)
	if err != nil {
		return "", nil, r.errorAt(f.Start, "%s.%s: %v", rec.Name, f.Name, err)
	}
	if !ok {
		return "", nil, nil
	}
	return d.StringFixed(int32(f.Decimals)), &d, nil
}

func (r *Reader) checkControls(ri int) error {
	rec := &r.l.Records[ri]
	for fi := range rec.Fields {
		f := &rec.Fields[fi]
		if f.Control == nil || !r.tally.checkable(ri, fi) {
			continue
		}
		want := r.tally.expected(ri, fi)
		got := r.nums[fi]
		if got == nil || !got.Equal(want) {
			return &ControlError{Pos: formats.Pos{File: r.file, Row: r.line, Col: f.Start}, Err: fmt.Errorf(
				"%s.%s is %q, but %s gives %s; the file is incomplete or its totals are wrong, so ask its sender for it again",
				rec.Name, f.Name, strings.TrimSpace(r.text[fi]), describe(f.Control, r.l.BlockLines), want.StringFixed(int32(f.Decimals)))}
		}
	}
	return nil
}

// ControlError is a control field that does not match the records it
// counts or adds up. Unlike a *formats.ParseError, which is about one
// record, it says the file as a whole can't be trusted.
type ControlError struct {
	Pos formats.Pos
	Err error
}

func (e *ControlError) Error() string {
	return fmt.Sprintf("row %d column %d: %v", e.Pos.Row, e.Pos.Col, e.Err)
}

// Unwrap returns the cause.
func (e *ControlError) Unwrap() error { return e.Err }

func describe(c *Control, block int) string {
	scope := "the file"
	if c.Scope != "" {
		scope = "its " + c.Scope
	}
	switch {
	case len(c.Count) > 0:
		return "counting the " + strings.Join(c.Count, " and ") + " records of " + scope
	case c.Sum != "":
		return "adding up " + c.Sum + " over " + scope
	case c.Hash != "":
		return "the hash of " + c.Hash + " over " + scope
	}
	return fmt.Sprintf("counting the file's blocks of %d lines", block)
}

// cut returns length characters from start (1-based), blanks for what
// lies past the end of the line.
func cut(line []rune, start, length int) string {
	from := min(start-1, len(line))
	to := min(start-1+length, len(line))
	s := string(line[from:to])
	if n := length - (to - from); n > 0 {
		s += strings.Repeat(" ", n)
	}
	return s
}

func (r *Reader) errorAt(col int, format string, a ...any) error {
	return &formats.ParseError{Pos: formats.Pos{File: r.file, Row: r.line, Col: col}, Err: fmt.Errorf(format, a...)}
}
