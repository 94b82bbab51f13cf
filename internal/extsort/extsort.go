// Package extsort sorts more records than memory should hold: an external
// merge sort of byte records in a folder on disk, so that a run's memory
// stays flat however many records it sorts.
//
// A record is a key and a value, both bytes. Records are collected in
// memory up to Options.ChunkBytes, sorted by key and written to a file (a
// run); Sort merges the runs, Options.FanIn at a time (runs of runs when
// there are more), and gives the records back in key order. Records with
// equal keys come back in the order they were added. When every record
// fit in one chunk, nothing is written to disk.
//
//	s := extsort.New(dir, extsort.Options{})
//	defer s.Close()          // removes the runs, also after an error
//	s.Add([]byte("b"), []byte("2"))
//	s.Add([]byte("a"), []byte("1"))
//	it, err := s.Sort()
//	for it.Next() {
//		use(it.Key(), it.Val()) // valid until the next call of Next
//	}
//	err = it.Err()
//
// Memory: the chunk (its bytes and 24 bytes per record), and while
// merging a 64 KB read buffer per run merged at once.
package extsort

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
)

// Options tune a Sorter; the zero value is the defaults.
type Options struct {
	// ChunkBytes is how many bytes of records are sorted in memory at a
	// time (default 4 MB); a record larger than that is a run of its own.
	ChunkBytes int
	// FanIn is how many runs are merged at once (default 64, at least 2).
	FanIn int
}

const (
	defaultChunk = 4 << 20
	defaultFanIn = 64
	recOverhead  = 24 // bytes of memory per record besides its key and value
	readBuf      = 64 << 10
)

// Sorter collects records and sorts them (see the package comment). It is
// not safe for use by several goroutines.
type Sorter struct {
	dir   string
	opts  Options
	arena []byte
	recs  []rec
	runs  []string
	added int64
	state int // 0 adding, 1 sorted, 2 closed
	iter  *Iter
	// Buffers kept between runs and merges, so that sorting more records
	// makes no more garbage.
	w       *bufio.Writer
	readers []*bufio.Reader
}

// rec is one record of the chunk: its key and value in the arena.
type rec struct{ off, klen, vlen int }

// New returns a Sorter that writes its runs in dir (the system's temporary
// folder when dir is "").
func New(dir string, opts Options) *Sorter {
	if opts.ChunkBytes <= 0 {
		opts.ChunkBytes = defaultChunk
	}
	if opts.FanIn < 2 {
		opts.FanIn = defaultFanIn
	}
	return &Sorter{dir: dir, opts: opts}
}

// Len is the number of records added.
func (s *Sorter) Len() int64 { return s.added }

// Runs is the number of runs written to disk so far.
func (s *Sorter) Runs() int { return len(s.runs) }

// Add adds a record; key and val are copied.
func (s *Sorter) Add(key, val []byte) error {
	if s.state != 0 {
		return errors.New("extsort: Add after Sort or Close")
	}
	off := len(s.arena)
	if n := off + len(key) + len(val); n > cap(s.arena) {
		// Grow up to the chunk, not past it as append would.
		c := min(max(2*cap(s.arena), 64<<10), s.opts.ChunkBytes)
		grown := make([]byte, off, max(c, n))
		copy(grown, s.arena)
		s.arena = grown
	}
	s.arena = append(append(s.arena, key...), val...)
	s.recs = append(s.recs, rec{off, len(key), len(val)})
	s.added++
	if len(s.arena)+recOverhead*len(s.recs) >= s.opts.ChunkBytes {
		return s.flush()
	}
	return nil
}

func (s *Sorter) key(r rec) []byte { return s.arena[r.off : r.off+r.klen] }

// sortChunk sorts the records in memory, stable.
func (s *Sorter) sortChunk() {
	slices.SortStableFunc(s.recs, func(a, b rec) int { return bytes.Compare(s.key(a), s.key(b)) })
}

// flush writes the chunk as a run.
func (s *Sorter) flush() error {
	if len(s.recs) == 0 {
		return nil
	}
	s.sortChunk()
	f, err := os.CreateTemp(s.dir, "extsort-*.run")
	if err != nil {
		return err
	}
	s.runs = append(s.runs, f.Name()) // removed by Close, whatever happens next
	w := s.writer(f)
	var hdr [2 * binary.MaxVarintLen64]byte
	for _, r := range s.recs {
		n := binary.PutUvarint(hdr[:], uint64(r.klen))
		n += binary.PutUvarint(hdr[n:], uint64(r.vlen))
		w.Write(hdr[:n])
		w.Write(s.arena[r.off : r.off+r.klen+r.vlen])
	}
	err = w.Flush()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("extsort: writing a run: %w", err)
	}
	s.arena, s.recs = s.arena[:0], s.recs[:0]
	return nil
}

// Sort ends the adding and returns the records in key order. The Iter is
// closed by Close.
func (s *Sorter) Sort() (*Iter, error) {
	if s.state != 0 {
		return nil, errors.New("extsort: Sort called twice, or after Close")
	}
	s.state = 1
	it := &Iter{}
	s.iter = it
	if len(s.runs) == 0 {
		// Everything fit in memory.
		s.sortChunk()
		it.mem, it.s = true, s
		return it, nil
	}
	if err := s.flush(); err != nil {
		return nil, err
	}
	s.arena, s.recs = nil, nil
	// Merge runs of runs until FanIn are left: each pass merges FanIn
	// runs that follow one another into one, in their place, so that equal
	// keys keep the order they were added in.
	for len(s.runs) > s.opts.FanIn {
		runs := slices.Clone(s.runs) // s.runs gains the merged runs as they are made
		var merged []string
		for i := 0; i < len(runs); i += s.opts.FanIn {
			group := runs[i:min(i+s.opts.FanIn, len(runs))]
			if len(group) == 1 {
				merged = append(merged, group[0])
				continue
			}
			name, err := s.mergeRuns(group)
			if err != nil {
				return nil, err
			}
			merged = append(merged, name)
		}
		s.runs = merged
	}
	it.s = s
	if err := it.open(s.runs); err != nil {
		return nil, err
	}
	return it, nil
}

// writer is the Sorter's write buffer, writing to f.
func (s *Sorter) writer(f *os.File) *bufio.Writer {
	if s.w == nil {
		s.w = bufio.NewWriterSize(f, readBuf)
	}
	s.w.Reset(f)
	return s.w
}

// mergeRuns merges runs into one run and removes them. While it works,
// the new run is in s.runs too, so that Close removes it after an error.
func (s *Sorter) mergeRuns(runs []string) (string, error) {
	m := Iter{s: s}
	defer m.Close()
	if err := m.open(runs); err != nil {
		return "", err
	}
	f, err := os.CreateTemp(s.dir, "extsort-*.run")
	if err != nil {
		return "", err
	}
	name := f.Name()
	s.runs = append(s.runs, name)
	w := s.writer(f)
	var hdr [2 * binary.MaxVarintLen64]byte
	for m.Next() {
		k := binary.PutUvarint(hdr[:], uint64(len(m.Key())))
		k += binary.PutUvarint(hdr[k:], uint64(len(m.Val())))
		w.Write(hdr[:k])
		w.Write(m.Key())
		w.Write(m.Val())
	}
	err = m.Err()
	if ferr := w.Flush(); err == nil {
		err = ferr
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", fmt.Errorf("extsort: merging runs: %w", err)
	}
	m.Close()
	for _, r := range runs {
		os.Remove(r)
	}
	return name, nil
}

// Close removes the runs and closes the Iter; it may be called more than
// once.
func (s *Sorter) Close() error {
	if s.iter != nil {
		s.iter.Close()
	}
	var err error
	for _, r := range s.runs {
		if rerr := os.Remove(r); rerr != nil && !errors.Is(rerr, os.ErrNotExist) && err == nil {
			err = rerr
		}
	}
	s.runs, s.arena, s.recs, s.state = nil, nil, nil, 2
	s.w, s.readers = nil, nil // the buffers go with the Sorter, which may stay referenced
	return err
}

// Iter gives the sorted records back, one at a time.
type Iter struct {
	// in memory
	mem bool
	s   *Sorter
	i   int

	// from runs: a heap of cursors, the smallest key (then the oldest run) first
	heap    []*cursor
	started bool
	key     []byte
	val     []byte
	err     error
}

// cursor reads one run.
type cursor struct {
	f        *os.File
	r        *bufio.Reader
	run      int
	key, val []byte
	buf      []byte
}

func (c *cursor) next() (bool, error) {
	kl, err := binary.ReadUvarint(c.r)
	if err == io.EOF {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	vl, err := binary.ReadUvarint(c.r)
	if err != nil {
		return false, unexpected(err)
	}
	n := int(kl + vl)
	if cap(c.buf) < n {
		c.buf = make([]byte, n, n+n/4)
	}
	c.buf = c.buf[:n]
	if _, err := io.ReadFull(c.r, c.buf); err != nil {
		return false, unexpected(err)
	}
	c.key, c.val = c.buf[:kl], c.buf[kl:]
	return true, nil
}

func unexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

func less(a, b *cursor) bool {
	if c := bytes.Compare(a.key, b.key); c != 0 {
		return c < 0
	}
	return a.run < b.run
}

// open starts merging the runs.
func (it *Iter) open(runs []string) error {
	for i, name := range runs {
		f, err := os.Open(name)
		if err != nil {
			return err
		}
		c := &cursor{f: f, r: it.s.reader(f), run: i}
		it.heap = append(it.heap, c) // closed by Close from here on
		ok, err := c.next()
		if err != nil {
			return fmt.Errorf("extsort: reading a run: %w", err)
		}
		if !ok {
			it.heap = it.heap[:len(it.heap)-1]
			it.s.release(c)
		}
	}
	for i := len(it.heap)/2 - 1; i >= 0; i-- {
		it.down(i)
	}
	return nil
}

func (it *Iter) down(i int) {
	h := it.heap
	for {
		l := 2*i + 1
		if l >= len(h) {
			return
		}
		m := l
		if r := l + 1; r < len(h) && less(h[r], h[l]) {
			m = r
		}
		if !less(h[m], h[i]) {
			return
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
}

// Next moves to the next record; it returns false at the end or on an
// error (Err).
func (it *Iter) Next() bool {
	if it.err != nil {
		return false
	}
	if it.mem {
		if it.i >= len(it.s.recs) {
			return false
		}
		r := it.s.recs[it.i]
		it.i++
		it.key = it.s.arena[r.off : r.off+r.klen]
		it.val = it.s.arena[r.off+r.klen : r.off+r.klen+r.vlen]
		return true
	}
	if it.started && len(it.heap) > 0 {
		// Advance the cursor whose record was given last.
		c := it.heap[0]
		ok, err := c.next()
		if err != nil {
			it.err = fmt.Errorf("extsort: reading a run: %w", err)
			return false
		}
		if ok {
			it.down(0)
		} else {
			it.s.release(c)
			last := len(it.heap) - 1
			it.heap[0] = it.heap[last]
			it.heap = it.heap[:last]
			it.down(0)
		}
	}
	it.started = true
	if len(it.heap) == 0 {
		return false
	}
	it.key, it.val = it.heap[0].key, it.heap[0].val
	return true
}

// Key is the current record's key, valid until the next call of Next.
func (it *Iter) Key() []byte { return it.key }

// Val is the current record's value, valid until the next call of Next.
func (it *Iter) Val() []byte { return it.val }

// Err is the error that ended the iteration, if any.
func (it *Iter) Err() error { return it.err }

// Close closes the runs being read.
func (it *Iter) Close() {
	for _, c := range it.heap {
		it.s.release(c)
	}
	it.heap = nil
}

// reader is a read buffer for f, from those kept.
func (s *Sorter) reader(f *os.File) *bufio.Reader {
	if n := len(s.readers); n > 0 {
		r := s.readers[n-1]
		s.readers = s.readers[:n-1]
		r.Reset(f)
		return r
	}
	return bufio.NewReaderSize(f, readBuf)
}

// release closes c's run and keeps its buffer.
func (s *Sorter) release(c *cursor) {
	c.f.Close()
	s.readers = append(s.readers, c.r)
}
