package csv

import (
	"bytes"
	"encoding/csv"
	"errors"
	"io"
	"strings"
)

// records is what a Reader reads records from: encoding/csv's Reader, or
// the parser of a chunk's whole records below.
type records interface {
	Read() ([]string, error)
	FieldPos(field int) (line, column int)
}

// chunkParser reads the records of a chunk that the Splitter cut in the
// middle of a file: whole records, each ending in a line end, whose quotes
// the Splitter has followed (every quote opens a value at the start of a
// field, is doubled inside it, or closes it before the delimiter or the
// line end). In such records encoding/csv finds no error, and reads what
// chunkParser reads, without copying the bytes through a bufio.Reader and
// a record buffer: the values, as one string per record, with a line end
// (CR LF or LF) inside a quoted value read as LF, as encoding/csv reads
// it, and the line each value starts on. Should a record be anything else,
// the rest of the chunk is read by encoding/csv after all.
//
// Column numbers are not kept (the Reader gives the field's index), and
// FieldPos returns 0 for them.
type chunkParser struct {
	data  []byte
	off   int // the next record starts at data[off]
	line  int // the line of data[off], 1-based
	comma []byte
	c     byte // comma's one byte, or 0 when it is longer
	reuse bool
	rec   []string
	lines []int // the line of each value of rec
	buf   []byte
	ends  []int
	csv   *csv.Reader // the rest of the chunk, after a record chunkParser does not read
	base  int         // the line before csv's first
	opts  *Reader     // the options of encoding/csv for the rest
}

func (p *chunkParser) FieldPos(field int) (line, column int) {
	if p.csv != nil {
		line, column = p.csv.FieldPos(field)
		return line + p.base, column
	}
	if field < 0 || field >= len(p.lines) {
		panic("out of range index passed to FieldPos")
	}
	return p.lines[field], 0
}

func (p *chunkParser) Read() ([]string, error) {
	if p.csv != nil {
		return p.csvRead()
	}
	data := p.data
	// Empty lines (LF, or CR LF) are skipped, as encoding/csv skips them.
	for {
		if p.off == len(data) {
			return nil, io.EOF
		}
		switch {
		case data[p.off] == '\n':
			p.off++
		case data[p.off] == '\r' && p.off+1 < len(data) && data[p.off+1] == '\n':
			p.off += 2
		default:
			goto record
		}
		p.line++
	}
record:
	nl := bytes.IndexByte(data[p.off:], '\n')
	if nl < 0 {
		return p.fallback()
	}
	line := data[p.off : p.off+nl]
	if bytes.IndexByte(line, '"') < 0 && p.c != 0 {
		// No quote: the line is the record, its values between commas.
		if n := len(line); n > 0 && line[n-1] == '\r' {
			line = line[:n-1]
		}
		s := string(line)
		rec := p.rec[:0]
		if !p.reuse {
			rec = nil
		}
		for {
			i := strings.IndexByte(s, p.c)
			if i < 0 {
				rec = append(rec, s)
				break
			}
			rec = append(rec, s[:i])
			s = s[i+1:]
		}
		p.lines = p.lines[:0]
		for range rec {
			p.lines = append(p.lines, p.line)
		}
		p.rec = rec
		p.off += nl + 1
		p.line++
		return rec, nil
	}
	return p.quoted()
}

// quoted reads a record with quoted values, which may span lines.
func (p *chunkParser) quoted() ([]string, error) {
	data, off, line := p.data, p.off, p.line
	p.buf, p.ends, p.lines = p.buf[:0], p.ends[:0], p.lines[:0]
	eol := -1 // the line end at or after off, when known
	for {
		p.lines = append(p.lines, line)
		if off < len(data) && data[off] == '"' {
			off++
			for {
				q := bytes.IndexByte(data[off:], '"')
				if q < 0 {
					return p.fallback()
				}
				seg := data[off : off+q]
				for {
					i := bytes.IndexByte(seg, '\n')
					if i < 0 {
						p.buf = append(p.buf, seg...)
						break
					}
					if i > 0 && seg[i-1] == '\r' {
						p.buf = append(p.buf, seg[:i-1]...)
					} else {
						p.buf = append(p.buf, seg[:i]...)
					}
					p.buf = append(p.buf, '\n')
					line++
					seg = seg[i+1:]
				}
				off += q + 1
				if off < len(data) && data[off] == '"' {
					p.buf = append(p.buf, '"')
					off++
					continue
				}
				break
			}
			p.ends = append(p.ends, len(p.buf))
			rest := data[off:]
			switch {
			case bytes.HasPrefix(rest, p.comma):
				off += len(p.comma)
				continue
			case len(rest) > 0 && rest[0] == '\n':
				off++
			case len(rest) > 1 && rest[0] == '\r' && rest[1] == '\n':
				off += 2
			default:
				return p.fallback()
			}
			break
		}
		// A value without quotes, up to the delimiter or the line end.
		if eol < off {
			nl := bytes.IndexByte(data[off:], '\n')
			if nl < 0 {
				return p.fallback()
			}
			eol = off + nl
		}
		nl := eol - off
		field := data[off:eol]
		var i int
		if p.c != 0 {
			i = bytes.IndexByte(field, p.c)
		} else {
			i = bytes.Index(field, p.comma)
		}
		if i >= 0 {
			field = field[:i]
		} else if n := len(field); n > 0 && field[n-1] == '\r' {
			field = field[:n-1]
		}
		if bytes.IndexByte(field, '"') >= 0 {
			return p.fallback()
		}
		p.buf = append(p.buf, field...)
		p.ends = append(p.ends, len(p.buf))
		if i >= 0 {
			off += i + len(p.comma)
			continue
		}
		off += nl + 1
		break
	}
	p.off, p.line = off, line+1
	s := string(p.buf)
	rec := p.rec[:0]
	if !p.reuse {
		rec = nil
	}
	prev := 0
	for _, e := range p.ends {
		rec = append(rec, s[prev:e])
		prev = e
	}
	p.rec = rec
	return rec, nil
}

// fallback reads the rest of the chunk, from the record at off, with
// encoding/csv.
func (p *chunkParser) fallback() ([]string, error) {
	p.csv = csv.NewReader(bytes.NewReader(p.data[p.off:]))
	p.csv.Comma = p.opts.comma
	p.csv.LazyQuotes = p.opts.lazy
	p.csv.FieldsPerRecord = -1
	p.csv.ReuseRecord = p.reuse
	p.base = p.line - 1
	return p.csvRead()
}

// csvRead reads a record with encoding/csv, its lines counted from the
// chunk's start.
func (p *chunkParser) csvRead() ([]string, error) {
	rec, err := p.csv.Read()
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		pe.StartLine += p.base
		pe.Line += p.base
	}
	return rec, err
}
