package transform

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/maphash"
	"os"
	"slices"

	"github.com/erpipe/erpipe/internal/extsort"
	"github.com/erpipe/erpipe/transform/layout"
)

// The groups of group checks, in flat memory. A check's first pass folds
// each row into its group's aggregates, in a map in memory; when the
// groups of all checks take more than checkGroupBytes (a ledger has a
// group per voucher), they are spilled to an external sort on disk, keyed
// by group, and the map starts again. The condition is then judged per
// group from the map, or, for a check that spilled, from the sort, whose
// parts of one group come back together and in the order they were
// folded (and are folded together again). The groups that fail are kept on
// disk with what failed (the aggregates, for the message), and in memory
// only as a hash each, sorted, for the second pass to look rows up; a hash
// found is confirmed, and its message read, from the file. The files are
// in a temporary folder the run removes (source.close), also on error.

// checkGroupBytes is about how much memory the groups of a run's checks
// may take in the first pass before they are spilled to disk.
var checkGroupBytes = 2 << 20

// checkRunBytes is how much of the spilled groups each check's sort holds
// in memory at a time.
var checkRunBytes = 512 << 10

// groupState is one group's running aggregates, or what made it fail.
type groupState struct {
	vals   []any
	failed string // set when an aggregate could not be computed; the group fails
}

// groupStateBytes is about what a group takes in memory besides its key.
func groupStateBytes(aggs int) int { return 96 + 32*aggs }

// tempDir is the run's folder for spilled groups and failures, made when
// first needed.
func (cr *checkRun) tempDir() (string, error) {
	if cr.dir == "" {
		dir, err := os.MkdirTemp("", "erpipe-checks-")
		if err != nil {
			return "", err
		}
		cr.dir = dir
	}
	return cr.dir, nil
}

// close removes the run's files.
func (cr *checkRun) close() {
	if cr == nil {
		return
	}
	for _, s := range cr.spills {
		if s != nil {
			s.Close()
		}
	}
	for _, f := range cr.failed {
		if f != nil && f.f != nil {
			f.f.Close()
		}
	}
	if cr.dir != "" {
		os.RemoveAll(cr.dir)
	}
}

// spill moves every check's groups in memory to its sort on disk.
func (cr *checkRun) spill() error {
	for i, groups := range cr.groups {
		if len(groups) == 0 {
			continue
		}
		if cr.spills[i] == nil {
			dir, err := cr.tempDir()
			if err != nil {
				return err
			}
			cr.spills[i] = extsort.New(dir, extsort.Options{ChunkBytes: checkRunBytes})
		}
		var buf []byte
		for key, st := range groups {
			buf = encodeState(buf[:0], st)
			if err := cr.spills[i].Add([]byte(key), buf); err != nil {
				return err
			}
		}
		cr.groups[i] = map[string]*groupState{} // a new map: clear keeps its buckets
	}
	cr.size = 0
	return nil
}

// encodeState appends a group's state: what failed, then each aggregate's
// value (layout.EncodeValue), each after its length.
func encodeState(b []byte, st *groupState) []byte {
	b = binary.AppendUvarint(b, uint64(len(st.failed)))
	b = append(b, st.failed...)
	for _, v := range st.vals {
		e := layout.EncodeValue(v)
		b = binary.AppendUvarint(b, uint64(len(e)))
		b = append(b, e...)
	}
	return b
}

func decodeState(b []byte, n int) (*groupState, error) {
	bad := errors.New("group checks: a spilled group can't be read back")
	next := func() (string, bool) {
		l, k := binary.Uvarint(b)
		if k <= 0 || l > uint64(len(b)-k) {
			return "", false
		}
		s := string(b[k : k+int(l)])
		b = b[k+int(l):]
		return s, true
	}
	failed, ok := next()
	if !ok {
		return nil, bad
	}
	st := &groupState{failed: failed, vals: make([]any, n)}
	for j := range st.vals {
		e, ok := next()
		if !ok {
			return nil, bad
		}
		v, err := layout.DecodeValue(e)
		if err != nil {
			return nil, err
		}
		st.vals[j] = v
	}
	return st, nil
}

// merge folds part, the same group's aggregates over later rows, into st.
func merge(c *groupCheck, st, part *groupState) {
	if st.failed != "" {
		return
	}
	if part.failed != "" {
		st.failed = part.failed
		return
	}
	for j, a := range c.aggs {
		if a.fn == "COUNT" {
			st.vals[j] = st.vals[j].(int64) + part.vals[j].(int64)
			continue
		}
		v, err := fold(a.fn, st.vals[j], part.vals[j], false)
		if err != nil {
			st.failed = fmt.Sprintf("%s could not be computed: %v", a.text, err)
			return
		}
		st.vals[j] = v
	}
}

// judgeSpilled judges the groups of check i that went to disk, with those
// still in memory.
func (cr *checkRun) judgeSpilled(i int, c *groupCheck) error {
	s := cr.spills[i]
	var buf []byte
	for key, st := range cr.groups[i] {
		buf = encodeState(buf[:0], st)
		if err := s.Add([]byte(key), buf); err != nil {
			return err
		}
	}
	cr.groups[i] = nil
	it, err := s.Sort()
	if err != nil {
		return err
	}
	var key []byte
	var st *groupState
	for it.Next() {
		part, err := decodeState(it.Val(), len(c.aggs))
		if err != nil {
			return err
		}
		if st != nil && string(it.Key()) == string(key) {
			merge(c, st, part)
			continue
		}
		if st != nil {
			if err := cr.judge(i, c, string(key), st); err != nil {
				return err
			}
		}
		key, st = append(key[:0], it.Key()...), part
	}
	if err := it.Err(); err != nil {
		return err
	}
	if st != nil {
		if err := cr.judge(i, c, string(key), st); err != nil {
			return err
		}
	}
	cr.spills[i] = nil
	return s.Close()
}

// failedSet is the groups of a check that failed: their keys and what
// failed, in a file; in memory a hash of each key and where it is in the
// file, sorted by hash, and which groups were warned about.
type failedSet struct {
	seed   maphash.Seed
	f      *os.File
	w      *bufio.Writer
	size   int64
	ents   []failedEntry
	warned []uint64 // a bit per entry
	buf    []byte   // for add
}

type failedEntry struct {
	hash uint64
	off  int64
}

// add records that the group key failed, and what failed.
func (fs *failedSet) add(cr *checkRun, key, detail string) error {
	if fs.f == nil {
		dir, err := cr.tempDir()
		if err != nil {
			return err
		}
		if fs.f, err = os.CreateTemp(dir, "failed-*.groups"); err != nil {
			return err
		}
		fs.w = bufio.NewWriterSize(fs.f, 64<<10)
	}
	fs.buf = binary.AppendUvarint(fs.buf[:0], uint64(len(key)))
	fs.buf = append(fs.buf, key...)
	fs.buf = binary.AppendUvarint(fs.buf, uint64(len(detail)))
	fs.buf = append(fs.buf, detail...)
	if _, err := fs.w.Write(fs.buf); err != nil {
		return err
	}
	fs.ents = append(fs.ents, failedEntry{maphash.String(fs.seed, key), fs.size})
	fs.size += int64(len(fs.buf))
	return nil
}

// seal ends the adding: the file is written and the hashes sorted.
func (fs *failedSet) seal() error {
	if fs.w != nil {
		if err := fs.w.Flush(); err != nil {
			return err
		}
	}
	slices.SortFunc(fs.ents, func(a, b failedEntry) int {
		switch {
		case a.hash < b.hash:
			return -1
		case a.hash > b.hash:
			return 1
		}
		return 0
	})
	fs.warned = make([]uint64, (len(fs.ents)+63)/64)
	return nil
}

// lookup says whether the group key failed: what failed, and the group's
// index (for warnedOnce).
func (fs *failedSet) lookup(key string) (detail string, idx int, ok bool, err error) {
	if len(fs.ents) == 0 {
		return "", 0, false, nil
	}
	h := maphash.String(fs.seed, key)
	i, _ := slices.BinarySearchFunc(fs.ents, h, func(e failedEntry, h uint64) int {
		switch {
		case e.hash < h:
			return -1
		case e.hash > h:
			return 1
		}
		return 0
	})
	for ; i < len(fs.ents) && fs.ents[i].hash == h; i++ {
		k, d, err := fs.read(fs.ents[i].off)
		if err != nil {
			return "", 0, false, err
		}
		if k == key {
			return d, i, true, nil
		}
	}
	return "", 0, false, nil
}

// read reads the key and what failed at off in the file. It may be called
// from several goroutines at once (rows are checked in parallel).
func (fs *failedSet) read(off int64) (key, detail string, err error) {
	buf := make([]byte, 256)
	for {
		n, err := fs.f.ReadAt(buf, off)
		if n == 0 && err != nil {
			return "", "", err
		}
		b := buf[:n]
		var fields [2]string
		whole := true
		for i := range fields {
			l, k := binary.Uvarint(b)
			if k <= 0 || l > uint64(len(b)-k) {
				whole = false
				break
			}
			fields[i], b = string(b[k:k+int(l)]), b[k+int(l):]
		}
		if whole {
			return fields[0], fields[1], nil
		}
		if n < len(buf) { // the end of the file, and no whole record
			return "", "", errors.New("group checks: a failed group can't be read back")
		}
		buf = make([]byte, 2*len(buf)) // a longer record: read it whole
	}
}

// warnedOnce reports whether the group of index idx is warned about for
// the first time, and marks it.
func (fs *failedSet) warnedOnce(idx int) bool {
	w, bit := &fs.warned[idx/64], uint64(1)<<(idx%64)
	if *w&bit != 0 {
		return false
	}
	*w |= bit
	return true
}
