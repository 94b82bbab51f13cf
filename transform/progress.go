package transform

import (
	"io"
	"sync/atomic"
)

// counted returns r, counting the bytes read from it in the run's
// RunOptions.InputRead when it has one.
func (res *Result) counted(r io.Reader) io.Reader {
	if res.inputRead == nil {
		return r
	}
	return &countingReader{r: r, n: res.inputRead}
}

// countingReader adds the bytes read from r to n.
type countingReader struct {
	r io.Reader
	n *atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}
