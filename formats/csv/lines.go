package csv

import (
	"bufio"
	"bytes"
	"errors"
	"io"

	"github.com/erpipe/erpipe/formats"
)

// Lines reads a delimited text file line by line, as text: decoded as a
// Reader with the same Encoding decodes it, without its line ends, and
// without parsing quotes. It gives the raw text of rows a Reader could
// not read (a broken quote, a wrong number of values), so that they can
// be written back as they were, for people to correct.
type Lines struct {
	br   *bufio.Reader
	line int // lines read
	max  int64
}

// NewLines returns Lines over r, decoded as encoding and legacy are (as
// Options.Encoding and Options.Legacy). A line longer than maxBytes (0: the default
// record limit) is a *formats.LimitError.
func NewLines(r io.Reader, encoding, legacy string, maxBytes int64) (*Lines, error) {
	src, _, err := decode(bufio.NewReaderSize(r, 64<<10), encoding, legacy)
	if err != nil {
		return nil, err
	}
	return &Lines{br: bufio.NewReaderSize(src, 64<<10), max: formats.Limits{RecordBytes: maxBytes}.OrDefault().RecordBytes}, nil
}

// Line returns line n (1-based, at or after the last one returned), or
// io.EOF when the file has fewer lines.
func (l *Lines) Line(n int) (string, error) {
	var buf []byte
	for l.line < n {
		buf = buf[:0]
		for {
			chunk, err := l.br.ReadSlice('\n')
			buf = append(buf, chunk...)
			if int64(len(buf)) > l.max {
				return "", &formats.LimitError{Pos: formats.Pos{Row: l.line + 1}, What: "the row", Limit: formats.Size(l.max), Setting: "limits.record_bytes"}
			}
			if errors.Is(err, bufio.ErrBufferFull) {
				continue
			}
			if err == io.EOF && len(buf) > 0 {
				break
			}
			if err != nil {
				return "", err
			}
			break
		}
		l.line++
	}
	return string(bytes.TrimRight(buf, "\r\n")), nil
}
