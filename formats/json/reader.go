package json

import (
	"bufio"
	"bytes"
	stdjson "encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"strconv"
	"strings"

	"github.com/erpipe/erpipe/formats"
)

// Options say what a Reader reads.
type Options struct {
	File   string // base name of the file, for messages
	Record string // path of the array of records; "" is the document (a top-level array, or JSON Lines)
	Fields []string
	Limits formats.Limits
}

// Reader reads records from a JSON document.
type Reader struct {
	file   string
	header []string
	dec    *stdjson.Decoder
	lines  *lineReader
	steps  []step
	fields []fieldPath
	// parents[level] holds the members of the object at that level that
	// fields ask for with ../, read before the record array.
	parents []map[string]any
	want    []map[string]bool
	next    func() (formats.Record, error, bool)
	stop    func()
	pos     formats.Pos
	limits  formats.Limits
}

type step struct {
	name string
	each bool // name[]: every item of the array at name
}

type fieldPath struct {
	up   int      // how many ../
	path []string // members, and [n] items
}

// Check reports a record path or a field path a Reader would refuse.
func Check(record string, fields []string) error {
	_, err := compile(Options{Record: record, Fields: fields})
	return err
}

// NewReader reads r.
func NewReader(r io.Reader, opts Options) (*Reader, error) {
	rd, err := compile(opts)
	if err != nil {
		return nil, err
	}
	rd.lines = &lineReader{r: r, limit: rd.limits.RecordBytes}
	rd.dec = stdjson.NewDecoder(bufio.NewReaderSize(rd.lines, 64<<10))
	rd.dec.UseNumber()
	rd.next, rd.stop = iter.Pull2(rd.records())
	return rd, nil
}

func compile(opts Options) (*Reader, error) {
	rd := &Reader{file: opts.File, header: opts.Fields, limits: opts.Limits.OrDefault()}
	if opts.Record != "" {
		for _, s := range strings.Split(opts.Record, ".") {
			st := step{name: strings.TrimSuffix(s, "[]"), each: strings.HasSuffix(s, "[]")}
			if st.name == "" {
				return nil, fmt.Errorf("json: record path %q has an empty step", opts.Record)
			}
			rd.steps = append(rd.steps, st)
		}
	}
	rd.parents = make([]map[string]any, len(rd.steps)+1)
	rd.want = make([]map[string]bool, len(rd.steps)+1)
	for _, f := range opts.Fields {
		fp, err := parseField(f)
		if err != nil {
			return nil, err
		}
		if fp.up > len(rd.steps) {
			return nil, fmt.Errorf("json: field %q goes up %d levels, but the record path %q has %d", f, fp.up, opts.Record, len(rd.steps))
		}
		if fp.up > 0 {
			lv := len(rd.steps) - fp.up
			if rd.want[lv] == nil {
				rd.want[lv] = map[string]bool{}
			}
			rd.want[lv][fp.path[0]] = true
		}
		rd.fields = append(rd.fields, fp)
	}
	return rd, nil
}

func parseField(f string) (fieldPath, error) {
	var fp fieldPath
	for strings.HasPrefix(f, "../") {
		fp.up++
		f = f[3:]
	}
	for _, part := range strings.Split(f, ".") {
		name, rest, _ := strings.Cut(part, "[")
		if name != "" {
			fp.path = append(fp.path, name)
		}
		for rest != "" {
			idx, after, ok := strings.Cut(rest, "]")
			if _, err := strconv.Atoi(idx); !ok || err != nil {
				return fp, fmt.Errorf("json: field %q: write an array's item as name[0]", f)
			}
			fp.path = append(fp.path, "["+idx)
			rest = strings.TrimPrefix(after, "[")
		}
	}
	if len(fp.path) == 0 || (fp.up > 0 && len(fp.path) != 1) {
		return fp, fmt.Errorf("json: field %q: give a member name (../name for one of the object around the records)", f)
	}
	return fp, nil
}

// Header returns the field paths, as given.
func (r *Reader) Header() []string { return r.header }

// Read returns the next record, or io.EOF.
func (r *Reader) Read() (formats.Record, error) {
	rec, err, ok := r.next()
	if !ok {
		return formats.Record{}, io.EOF
	}
	if err != nil {
		r.stop()
		r.next = func() (formats.Record, error, bool) { return formats.Record{}, err, true }
		return formats.Record{}, err
	}
	r.pos = rec.Pos
	return rec, nil
}

// FieldPos returns where the record last read starts.
func (r *Reader) FieldPos(int) formats.Pos { return r.pos }

// Close ends the reading.
func (r *Reader) Close() error { r.stop(); return nil }

// SyntaxError is a document that is not JSON, or not of the shape the
// record path says. It ends the reading: the rest can't be trusted.
type SyntaxError struct {
	Pos formats.Pos
	Err error
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("row %d column %d: %v", e.Pos.Row, e.Pos.Col, e.Err)
}

// Unwrap returns the cause.
func (e *SyntaxError) Unwrap() error { return e.Err }

func (r *Reader) errorAt(off int64, format string, a ...any) error {
	line, col := r.lines.at(off)
	return &SyntaxError{Pos: formats.Pos{File: r.file, Row: line, Col: col}, Err: fmt.Errorf(format, a...)}
}

// syntax turns a decoder's error into a SyntaxError at its place.
func (r *Reader) syntax(err error) error {
	var se *stdjson.SyntaxError
	var ute *stdjson.UnmarshalTypeError
	switch {
	case errors.Is(err, errTooLong):
		line, _ := r.lines.at(r.dec.InputOffset())
		return &formats.LimitError{Pos: formats.Pos{File: r.file, Row: line}, What: "a record or a value",
			Limit: formats.Size(r.limits.RecordBytes), Setting: "limits.record_bytes"}
	case errors.As(err, &se):
		return r.errorAt(se.Offset, "the file is not JSON here: %v", se)
	case errors.As(err, &ute):
		return r.errorAt(ute.Offset, "%v", ute)
	case err == io.ErrUnexpectedEOF || err == io.EOF:
		return r.errorAt(r.dec.InputOffset(), "the document ends before it is complete; is the file cut short?")
	}
	return r.errorAt(r.dec.InputOffset(), "%v", err)
}

// lineReader counts the lines of what the decoder has read, so that an
// offset can be told as a line and column.
type lineReader struct {
	r      io.Reader
	read   int64   // bytes read so far
	nl     []int64 // offsets of the newlines not yet passed
	passed int     // newlines before nl
	recent []int64 // the last newlines passed
	// mark is where the reading of the current token or record began;
	// reading more than limit bytes past it fails with errTooLong.
	mark, limit int64
}

// errTooLong is a token or a record longer than limits.record_bytes.
var errTooLong = errors.New("too long")

func (l *lineReader) Read(p []byte) (int, error) {
	if l.limit > 0 && l.read-l.mark > l.limit {
		return 0, errTooLong
	}
	n, err := l.r.Read(p)
	for i := 0; i < n; {
		j := bytes.IndexByte(p[i:n], '\n')
		if j < 0 {
			break
		}
		l.nl = append(l.nl, l.read+int64(i+j))
		i += j + 1
	}
	l.read += int64(n)
	return n, err
}

// at returns the line and column (from 1) of offset off. Offsets may go
// back a little (a syntax error found in what the decoder read ahead): the
// last newlines passed are kept for that.
func (l *lineReader) at(off int64) (line, col int) {
	k := 0
	for k < len(l.nl) && l.nl[k] < off {
		l.recent = append(l.recent, l.nl[k])
		k++
	}
	l.passed += k
	l.nl = l.nl[k:]
	if len(l.recent) > 1024 {
		l.recent = append(l.recent[:0], l.recent[len(l.recent)-256:]...)
	}
	line, last := l.passed, int64(-1)
	for i := len(l.recent) - 1; i >= 0; i-- {
		if l.recent[i] < off {
			last = l.recent[i]
			break
		}
		line--
	}
	if last < 0 && line > 0 {
		return line + 1, 1 // further back than kept: the line is right, the column unknown
	}
	return line + 1, int(off - last)
}
