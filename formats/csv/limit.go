package csv

import (
	"bytes"
	"io"

	"github.com/erpipe/erpipe/formats"
)

// recordLimit passes bytes through and fails, for good, once a record
// grows past max bytes: the bytes since the last line break outside quotes
// (with lazy quotes, since the last line break). encoding/csv holds a
// whole record in memory, so without it one 2 GB line takes gigabytes.
// It looks at a buffer at a time: one without quotes costs two vectorised
// scans, one with quotes two per line.
type recordLimit struct {
	r      io.Reader
	max    int64
	lazy   bool
	file   string
	n      int64 // bytes of the current record
	quoted bool  // inside a quoted value
	line   int   // the line being read, 1-based
	start  int   // the line the current record starts on
	err    error
}

func newRecordLimit(r io.Reader, max int64, lazy bool, file string) *recordLimit {
	return &recordLimit{r: r, max: max, lazy: lazy, file: file, line: 1, start: 1}
}

func (l *recordLimit) Read(p []byte) (int, error) {
	if l.err != nil {
		return 0, l.err
	}
	n, err := l.r.Read(p)
	b := p[:n]
	if !l.quoted && int64(n) < l.max && (l.lazy || bytes.IndexByte(b, '"') < 0) {
		first := bytes.IndexByte(b, '\n')
		if first < 0 {
			l.n += int64(n)
		} else {
			// Records after the first line break are shorter than b,
			// so shorter than max; only the one going on can be long.
			l.n += int64(first)
			if l.n <= l.max {
				lines := 1 + bytes.Count(b[first+1:], []byte{'\n'})
				l.line += lines
				l.start = l.line
				l.n = int64(n - bytes.LastIndexByte(b, '\n') - 1)
			}
		}
	} else {
		l.scan(b)
	}
	if l.n > l.max {
		l.err = &formats.LimitError{Pos: formats.Pos{File: l.file, Row: l.start}, What: "the row",
			Limit: formats.Size(l.max), Setting: "limits.record_bytes"}
		return 0, l.err
	}
	return n, err
}

// scan follows b a line at a time: an odd number of quotes on a line
// turns quoting on or off, and a line break outside quotes ends the
// record.
func (l *recordLimit) scan(b []byte) {
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		seg := b
		if i >= 0 {
			seg = b[:i]
		}
		if !l.lazy && bytes.Count(seg, quote)%2 == 1 {
			l.quoted = !l.quoted
		}
		l.n += int64(len(seg))
		if l.n > l.max || i < 0 {
			return
		}
		l.line++
		b = b[i+1:]
		if l.quoted {
			l.n++ // the line break is part of the value
		} else {
			l.n, l.start = 0, l.line
		}
	}
}

var quote = []byte{'"'}
