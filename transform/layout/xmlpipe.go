package layout

import (
	"errors"
	"io"
	"sync"
)

// The schema is checked as the document is written (Render): the bytes
// go to the output and, through a chunkPipe, to the schema's validation
// on a goroutine (another CPU) of its own, which is done soon after the
// document is, rather than reading the whole file again after it. The
// control totals are still read back from the written file (Verify).

// pipeChunks is how many chunks of document a chunkPipe holds for the
// validation before the writer waits for it: the writer runs ahead of it
// by up to this many writes (of the 64 KB of a bufio.Writer each).
const pipeChunks = 16

// errValidated ends the writes into a chunkPipe whose reader is done.
var errValidated = errors.New("the validation has ended")

// chunkPipe is an io.Pipe with room: Write copies into a chunk and goes
// on while fewer than pipeChunks wait to be read. Once the reader stops
// (stop), writes are dropped, so that a validation that ends early never
// makes the writer wait.
type chunkPipe struct {
	full    chan []byte
	free    chan []byte
	cur     []byte // the chunk being read
	stopped chan struct{}
	once    sync.Once
	err     error // what the writer closed with; nil for the end of the document
}

func newChunkPipe() *chunkPipe {
	return &chunkPipe{full: make(chan []byte, pipeChunks), free: make(chan []byte, pipeChunks+1), stopped: make(chan struct{})}
}

// Write hands a copy of p to the reader; it never fails.
func (p *chunkPipe) Write(b []byte) (int, error) {
	var c []byte
	select {
	case c = <-p.free:
	default:
	}
	c = append(c[:0], b...)
	select {
	case p.full <- c:
	case <-p.stopped:
	}
	return len(b), nil
}

// close ends the document for the reader: io.EOF, or err.
func (p *chunkPipe) close(err error) {
	p.err = err
	close(p.full)
}

// Read reads what was written, then io.EOF (or the writer's error).
func (p *chunkPipe) Read(b []byte) (int, error) {
	for len(p.cur) == 0 {
		if p.cur != nil {
			select {
			case p.free <- p.cur[:0]:
			default:
			}
		}
		c, ok := <-p.full
		if !ok {
			p.cur = nil
			if p.err != nil {
				return 0, p.err
			}
			return 0, io.EOF
		}
		p.cur = c
	}
	n := copy(b, p.cur)
	p.cur = p.cur[n:]
	return n, nil
}

// stop tells the writer that nothing more is read.
func (p *chunkPipe) stop() { p.once.Do(func() { close(p.stopped) }) }

// teeWriter writes to w and to the pipe.
type teeWriter struct {
	w    io.Writer
	pipe *chunkPipe
}

func (t teeWriter) Write(b []byte) (int, error) {
	n, err := t.w.Write(b)
	if err != nil {
		return n, err
	}
	return t.pipe.Write(b)
}
