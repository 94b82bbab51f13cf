package csv

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"io"
	"unicode/utf8"
)

// Reading one file on several cores.
//
// A Splitter cuts the rest of a Reader's input (after the header) into
// chunks of whole records, which goroutines can then read at once, each
// with a Reader of its own (Chunk.Reader): the records, their positions and
// their errors are exactly those the Reader would have given, in the same
// order, chunk after chunk.
//
// A chunk ends only where the Reader would start a new record: after a
// line break outside quotes. The Splitter finds those places by following
// the quotes as encoding/csv does, a quote at a time: a quote opens a value
// at the start of a field, and inside a quoted value a quote is either
// doubled or followed by the delimiter or the line's end. Where the quoting
// is anything else (a quote inside a value that does not start with one, a
// quoted value followed by more text, which the Reader reports as a bad
// quote or, with lazy quotes, keeps), or a record is longer than
// maxPending bytes (a quote that is never closed), the place of the next
// record is not certain: the rest of the file, from the start of the record
// at fault, is one last chunk that is read as a stream, on one goroutine
// (Chunk.Tail).
//
// The Splitter reads its Reader's buffer exactly as encoding/csv reads it, a
// line at a time (whole lines at once where they are in the buffer), so that
// the bytes below it are read in the same pieces: a row past
// limits.record_bytes stops the reading at the same record.

const (
	firstChunk = 8 << 10  // the first chunk's size, doubled for each next one up to maxChunk
	maxChunk   = 64 << 10 // bytes per chunk, about
	maxPending = 4 << 20  // a record longer than this (or a quote not closed) ends the splitting
)

// Splitter cuts a Reader's input into chunks of whole records. See above.
type Splitter struct {
	rd      *Reader // the Reader split, a template for the chunks' Readers
	br      *bufio.Reader
	comma   []byte
	line    int    // the file's line where buf starts
	buf     []byte // bytes read since the last chunk; they start a record
	size    int    // the next chunk's size
	pos     int    // the quote machine has looked at buf[:pos]
	quoted  bool   // ... and buf[pos] is inside a quoted value
	bound   int    // the last record start found in buf (0: buf's start)
	err     error  // what reading br ended with: io.EOF or an error
	tail    bool   // the rest is read as one stream (see above)
	done    bool
	maxRead int // maxPending (a variable for the tests)
	chunkSz int // maxChunk (a variable for the tests)
}

// Split returns a Splitter of the rest of r's input, and false when r
// can't be split: its first record is read already (NoHeader). r must
// not be used once split.
func (r *Reader) Split() (*Splitter, bool) {
	if r.pending != nil || r.br == nil {
		return nil, false
	}
	s := &Splitter{rd: r, br: r.br, comma: utf8.AppendRune(nil, r.comma), size: firstChunk, maxRead: maxPending, chunkSz: maxChunk}
	// The line of the next byte: what passed recordLimit, less the lines
	// still in the buffer.
	buffered, _ := r.br.Peek(r.br.Buffered())
	s.line = r.rl.line - bytes.Count(buffered, []byte{'\n'})
	return s, true
}

// SetChunkSize sets the chunk size, the first one included (at least one
// record goes into a chunk whatever its size), and the longest record read
// before the rest is read as a stream; for the tests, which cut small files
// at every place.
func (s *Splitter) SetChunkSize(chunk, maxRecord int) {
	s.size, s.chunkSz, s.maxRead = chunk, chunk, maxRecord
}

// Chunk is a run of whole records of the input. A Chunk may be reused by
// Splitter.Next once its records are read.
type Chunk struct {
	data []byte
	line int   // the file's line data starts on
	end  error // what follows data: io.EOF, or the error reading the input gave
	bad  bool  // the input is known not to be UTF-8 (the values must be checked)
	tail *Splitter
	src  chunkSource
	rd   Reader
	p    chunkParser
}

// Tail reports whether the chunk is the rest of the input, read as a
// stream by its Reader: it must be read on one goroutine, the Splitter's,
// and no Next follows.
func (c *Chunk) Tail() bool { return c.tail != nil }

// Len returns the size of the chunk in bytes (of a tail chunk: of its start).
func (c *Chunk) Len() int { return len(c.data) }

// Next fills c with the next chunk, or returns io.EOF after the last. A
// chunk may hold no record (blank lines, or the end of the input).
func (s *Splitter) Next(c *Chunk) error {
	if s.done {
		return io.EOF
	}
	for !s.tail && s.err == nil && (s.bound == 0 || len(s.buf) < s.size) {
		if len(s.buf)-s.bound > s.maxRead {
			s.tail = true // no certain end of the record
			break
		}
		s.buf, s.err = s.appendLines(s.buf, s.size-len(s.buf))
		s.scan()
	}
	switch {
	case s.tail && s.bound > 0, !s.tail && s.err == nil:
		s.cut(c, s.bound, io.EOF)
		s.size = min(2*s.size, s.chunkSz)
	case s.tail:
		s.cut(c, len(s.buf), nil)
		c.tail, c.src.more = s, s
		s.done = true
	default:
		s.cut(c, len(s.buf), s.err) // the end of the input
		s.done = true
	}
	return nil
}

// cut moves buf[:n] into c, with end after it, and keeps the rest.
func (s *Splitter) cut(c *Chunk, n int, end error) {
	if n == len(s.buf) && n > 0 {
		// The whole buffer: the chunk takes it, and buf the chunk's old one.
		c.data, s.buf = s.buf, c.data[:0]
	} else {
		c.data = append(c.data[:0], s.buf[:n]...)
		rest := copy(s.buf, s.buf[n:])
		s.buf = s.buf[:rest]
	}
	c.line, c.end, c.tail = s.line, end, nil
	c.bad = s.rd.utf8 != nil && s.rd.utf8.bad
	c.src = chunkSource{rd: s.rd, data: c.data, end: end}
	s.line += bytes.Count(c.data, []byte{'\n'})
	s.pos -= n
	s.bound = 0
}

// appendLines appends what the input holds next to dst, whole lines at a
// time: the lines br holds (up to the first line end past want bytes),
// else, filling br as encoding/csv's ReadSlice does, the next line or as
// much of it as br holds. br is so read in the same pieces as by the
// Reader.
func (s *Splitter) appendLines(dst []byte, want int) ([]byte, error) {
	if n := s.br.Buffered(); n > 0 {
		b, _ := s.br.Peek(n)
		end := -1
		if want = max(want, 1); want < len(b) {
			if i := bytes.IndexByte(b[want-1:], '\n'); i >= 0 {
				end = want + i
			}
		}
		if end < 0 {
			end = bytes.LastIndexByte(b, '\n') + 1
		}
		if end > 0 {
			dst = append(dst, b[:end]...)
			s.br.Discard(end)
			return dst, nil
		}
	}
	line, err := s.br.ReadSlice('\n')
	dst = append(dst, line...)
	if err == bufio.ErrBufferFull {
		err = nil
	}
	return dst, err
}

// scan follows the quotes of buf from pos on (see above), moving bound to
// the last record start it passes; it sets tail at quoting it does not
// follow.
func (s *Splitter) scan() {
	buf := s.buf
	for s.pos < len(buf) {
		if !s.quoted {
			q := bytes.IndexByte(buf[s.pos:], '"')
			if q < 0 {
				if i := bytes.LastIndexByte(buf[s.pos:], '\n'); i >= 0 {
					s.bound = s.pos + i + 1
				}
				s.pos = len(buf)
				return
			}
			q += s.pos
			if i := bytes.LastIndexByte(buf[s.pos:q], '\n'); i >= 0 {
				s.bound = s.pos + i + 1
			}
			if q > 0 && buf[q-1] != '\n' && !bytes.HasSuffix(buf[:q], s.comma) {
				s.tail = true // a quote inside a value
				return
			}
			s.quoted, s.pos = true, q+1
			continue
		}
		q := bytes.IndexByte(buf[s.pos:], '"')
		if q < 0 {
			s.pos = len(buf)
			return
		}
		q += s.pos
		next := buf[q+1:]
		switch {
		case len(next) == 0:
			s.pos = q // the next byte decides
			return
		case next[0] == '"':
			s.pos = q + 2
		case next[0] == '\n':
			s.quoted, s.pos, s.bound = false, q+2, q+2
		case next[0] == '\r' && len(next) == 1:
			s.pos = q
			return
		case next[0] == '\r' && next[1] == '\n':
			s.quoted, s.pos, s.bound = false, q+3, q+3
		case bytes.HasPrefix(next, s.comma):
			s.quoted, s.pos = false, q+1+len(s.comma)
		case len(next) < len(s.comma) && bytes.HasPrefix(s.comma, next):
			s.pos = q
			return
		default:
			s.tail = true // text after a closing quote
			return
		}
	}
}

// Reader returns a Reader of the chunk's records: exactly those, with
// the positions and errors, the split Reader would have given. Records
// are read as the split Reader's options say (ReuseRecord too). It is
// valid until the chunk is reused.
func (c *Chunk) Reader() *Reader {
	r := c.src.rd
	var cr records
	if c.tail == nil && c.end == io.EOF && useParser {
		// Whole records, their quotes followed by the Splitter.
		c.p = chunkParser{data: c.data, line: 1, comma: utf8.AppendRune(c.p.comma[:0], r.comma), reuse: r.reuse, opts: r,
			rec: c.p.rec[:0], lines: c.p.lines[:0], buf: c.p.buf[:0], ends: c.p.ends[:0]}
		if len(c.p.comma) == 1 {
			c.p.c = c.p.comma[0]
		}
		cr = &c.p
	} else {
		ecr := csv.NewReader(&c.src)
		ecr.Comma = r.comma
		ecr.LazyQuotes = r.lazy
		ecr.FieldsPerRecord = -1
		ecr.ReuseRecord = r.reuse
		cr = ecr
	}
	c.rd = Reader{cr: cr, file: r.file, comma: r.comma, noHeader: r.noHeader, header: r.header, width: r.width,
		skip: c.line - 1, maxValue: r.maxValue, hrow: r.hrow, lazy: r.lazy, reuse: r.reuse}
	switch {
	case c.tail != nil:
		c.rd.utf8 = r.utf8 // it checks the bytes as they pass
	case c.bad:
		c.rd.utf8 = &utf8Check{bad: true}
	}
	return &c.rd
}

// useParser says whether chunks are read by chunkParser (else by
// encoding/csv, for comparisons).
var useParser = true

// chunkSource serves a chunk's bytes, then end; a tail chunk's, then the
// rest of the input, read as the Splitter reads it.
type chunkSource struct {
	rd   *Reader // the split Reader
	data []byte
	off  int
	end  error
	more *Splitter
	buf  []byte
}

func (c *chunkSource) Read(p []byte) (int, error) {
	if c.off == len(c.data) && c.more != nil {
		if c.more.err != nil {
			return 0, c.more.err
		}
		c.buf, c.more.err = c.more.appendLines(c.buf[:0], 1)
		c.data, c.off = c.buf, 0
		if len(c.data) == 0 {
			return 0, c.more.err
		}
	}
	if c.off == len(c.data) {
		return 0, c.end
	}
	n := copy(p, c.data[c.off:])
	c.off += n
	return n, nil
}
