package xml

import (
	"bytes"
	"io"

	"github.com/erpipe/erpipe/formats"
)

// runLimit passes bytes through and fails, for good, once a run of bytes
// without '<' or '>' (a text, a name, a tag with its attributes) grows past
// max: encoding/xml holds a whole token in memory, so one 1 GiB name or
// text would take that much and more. It scans a buffer at a time.
type runLimit struct {
	r   io.Reader
	max int64
	n   int64 // bytes since the last '<' or '>'
	err error
}

func (l *runLimit) Read(p []byte) (int, error) {
	if l.err != nil {
		return 0, l.err
	}
	n, err := l.r.Read(p)
	b := p[:n]
	if int64(n) < l.max {
		// Runs inside b are shorter than b, so than max: only the one
		// going on from the last buffer, and the one going on into the
		// next, count. Four vectorised scans.
		first := minIndex(bytes.IndexByte(b, '<'), bytes.IndexByte(b, '>'))
		if first < 0 {
			l.n += int64(n)
		} else if l.n += int64(first); l.n <= l.max {
			l.n = int64(n - 1 - max(bytes.LastIndexByte(b, '<'), bytes.LastIndexByte(b, '>')))
		}
		b = nil
	}
	for len(b) > 0 {
		i := bytes.IndexAny(b, "<>")
		if i < 0 {
			l.n += int64(len(b))
			break
		}
		if l.n+int64(i) > l.max {
			l.n += int64(i)
			break
		}
		l.n, b = 0, b[i+1:]
	}
	if l.n > l.max {
		l.err = &formats.LimitError{What: "a text or tag", Limit: formats.Size(l.max), Setting: "limits.record_bytes"}
		return 0, l.err
	}
	return n, err
}

// minIndex is the smaller of two indexes, either of which may be -1 (none).
func minIndex(a, b int) int {
	switch {
	case a < 0:
		return b
	case b < 0:
		return a
	}
	return min(a, b)
}
