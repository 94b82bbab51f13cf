package layout

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/erpipe/erpipe/internal/extsort"
	"github.com/erpipe/erpipe/transform/expression"
	"github.com/shopspring/decimal"
)

// Grouping for XML outputs. The rows a template lets through are spooled
// to disk as they come, and written into the document from there, sorted
// by group: memory holds neither the rows nor the groups, so it stays
// flat however many rows and groups there are (a ledger of millions of
// lines has a group per voucher).
//
// The document's own rows (docSpool) are kept in input order, every one or
// only the first (when no $each outside the groups needs them all), with
// the document's aggregates. Each grouping (groupSpool: an outermost
// $group and the $group elements inside it) sorts its rows so that each
// group's rows follow one another, the groups in the order their first
// rows came in, and the rows of a group in input order. Its groups are
// ordered by the place of their first row, f (a row's path is f1, f2, ...
// f at every level, then its own place):
//
//   - while a grouping has few groups, their keys are looked up in memory
//     (an index of each group's key and first row), and each row goes to
//     the final sort with its whole path;
//   - once the index holds more than spoolIndexBytes, its deepest level is
//     left to sorting: rows go to that level's stage, a sort by the path
//     above it, the level's key and the row's place. Reading the stage in
//     order, the first row of each key is the group's first row, which
//     gives f for the rows of the group; they go on to the next level's
//     stage, and from the last to the final sort. The groups the index
//     knew go to the stage as markers (their key and first row), so that
//     their later rows get the same f. Levels above stay in the index
//     while it has room.
//
// A grouping's rows keep only the fields its elements' expressions and
// aggregates read (XML.hierSpec.fields); the others read as blank there.
//
// Every sort is an external merge sort (internal/extsort) in the run's
// temporary folder, of at most spoolRunBytes in memory at a time. Reading
// the final sort, the rows are written to the grouping's spool file, and
// each group's aggregates, rows, place and offset are summed up as its
// rows pass; when it ends, it is written to its level's file, where the
// groups of a level are in document order. The document is then written
// from those files, one group of each level in memory at a time, and the
// rows read back from the spool by offset. Only the positions and files
// are removed when the run is closed, also after an error.

// spoolRunBytes is how much row data is sorted in memory at a time, per
// sort; the merges read each run through a 64 KB buffer. A layout has a
// sort per grouping while the rows come (SAF-T: five), and one more for a
// grouping whose index is full.
var spoolRunBytes = 1 << 20

// spoolFanIn is how many runs a sort merges at once (0: extsort's default).
var spoolFanIn = 0

// spoolIndexBytes is how much memory a grouping's index of group keys may
// take (about) before its deepest level is sorted on disk instead.
var spoolIndexBytes = 2 << 20

// Values are spooled as a tag and their text; EncodeValue and decodeValue
// are exact inverses for the value types of expressions.
func EncodeValue(v any) string {
	switch x := expression.Normalize(v).(type) {
	case nil:
		return "n"
	case string:
		return "s" + x
	case int64:
		return "i" + strconv.FormatInt(x, 10)
	case expression.Dec64:
		return "d" + x.String()
	case decimal.Decimal:
		return "d" + expression.PlainDecimal(x)
	case time.Time:
		return "t" + x.Format(time.RFC3339Nano)
	case bool:
		if x {
			return "b1"
		}
		return "b0"
	}
	return "s" + expression.Text(v)
}

// groupKey is an encoded value as a group key: numbers by their value, so
// that 25, 25.0 and 25.00 are one group (a VAT rate typed two ways), whatever
// the number's type. The group's value stays its first row's.
func groupKey(enc string) string {
	if enc == "" {
		return enc
	}
	switch enc[0] {
	case 'i':
		return "d" + enc[1:]
	case 'd':
		n := enc[1:]
		if strings.IndexByte(n, '.') >= 0 {
			n = strings.TrimRight(strings.TrimRight(n, "0"), ".")
		}
		if n == "-0" {
			n = "0"
		}
		return "d" + n
	}
	return enc
}

// DecodeValue is the value EncodeValue encoded.
func DecodeValue(s string) (any, error) { return decodeValue(s) }

func decodeValue(s string) (any, error) {
	if s == "" {
		return nil, errors.New("spool: empty value")
	}
	body := s[1:]
	switch s[0] {
	case 'n':
		return nil, nil
	case 's':
		return body, nil
	case 'i':
		return strconv.ParseInt(body, 10, 64)
	case 'd':
		return decimal.NewFromString(body)
	case 't':
		return time.Parse(time.RFC3339Nano, body)
	case 'b':
		return body == "1", nil
	}
	return nil, fmt.Errorf("spool: bad value tag %q", s[0])
}

// aggState is the running value of one aggregate.
type aggState struct {
	n   int64
	sum decimal.Decimal
	v   any // MIN, MAX
}

// group is one group of rows as the document is written: the document or
// a grouping as a whole (level 0, the root), or one group of a grouping,
// summed up while its rows were sorted and read back from its level's
// file.
type group struct {
	level      int
	pos        int64             // its index among its parent's groups
	rows       int64             // how many rows it holds
	offset     int64             // where its first row is in the spool
	aggs       []aggState        // by aggregate; nil when its level reads none
	children   int64             // its groups one level down
	firstChild int64             // the place of the first of them among that level's groups
	desc       []int64           // per level below it (level+1, ...): how many groups it holds there
	gsum       []decimal.Decimal // by aggregate: a GROUPSUM over its groups of a level below (nil without GROUPSUM)
}

// add adds one row's values to the aggregates used at g's level (idx).
func (g *group) add(specs []aggSpec, idx []int, vals []any) error {
	g.rows++
	for _, i := range idx {
		a := specs[i]
		st := &g.aggs[i]
		if a.col < 0 {
			st.n++
			continue
		}
		v := vals[a.col]
		if v == nil {
			continue
		}
		st.n++
		switch a.fn {
		case "SUM":
			d, ok := expression.ToDecimal(v)
			if !ok {
				return fmt.Errorf("SUM(%s): %s %s is not a number", a.field, expression.KindName(v), expression.Show(v))
			}
			st.sum = st.sum.Add(d)
		case "MIN", "MAX":
			if st.v == nil {
				st.v = v
				continue
			}
			c, err := expression.Compare(v, st.v)
			if err != nil {
				return fmt.Errorf("%s: %w", a.fn, err)
			}
			if a.fn == "MIN" && c < 0 || a.fn == "MAX" && c > 0 {
				st.v = v
			}
		}
	}
	return nil
}

// value is the aggregate's value: COUNT a whole number, SUM a decimal (0
// for no rows), MIN and MAX the value (blank for no rows).
func (g *group) value(i int, a aggSpec) any {
	var st aggState
	if g.aggs != nil {
		st = g.aggs[i]
	}
	switch a.fn {
	case "COUNT":
		return st.n
	case "SUM":
		return st.sum
	}
	return st.v
}

// aggError is an aggregate that could not be summed, at an input row.
type aggError struct {
	row int
	err error
}

func (e *aggError) Error() string { return e.err.Error() }
func (e *aggError) Unwrap() error { return e.err }

// appendRow appends a row as the spool keeps it: its input row number,
// then each field's encoded value after its length.
func appendRow(b []byte, row int, fields []string) []byte {
	b = binary.AppendUvarint(b, uint64(row))
	for _, f := range fields {
		b = binary.AppendUvarint(b, uint64(len(f)))
		b = append(b, f...)
	}
	return b
}

// appendFields is appendRow of the fields of cols kept (by index).
func appendFields(b []byte, row int, cols []string, keep []int) []byte {
	b = binary.AppendUvarint(b, uint64(row))
	for _, i := range keep {
		b = binary.AppendUvarint(b, uint64(len(cols[i])))
		b = append(b, cols[i]...)
	}
	return b
}

// appendLen appends k after its length.
func appendLen(b, k []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(k)))
	return append(b, k...)
}

// cutLen reads what appendLen wrote at the start of b: the bytes, and how
// many bytes of b they took with their length.
func cutLen(b []byte) ([]byte, int, error) {
	l, k := binary.Uvarint(b)
	if k <= 0 || l > uint64(len(b)-k) {
		return nil, 0, errors.New("spool: corrupt record")
	}
	return b[k : k+int(l)], k + int(l), nil
}

func appendPlace(b []byte, n int64) []byte { return binary.BigEndian.AppendUint64(b, uint64(n)) }
func place(b []byte) int64                 { return int64(binary.BigEndian.Uint64(b)) }

// docSpool keeps the document's rows in input order, every one or only
// the first (firstOnly: no $each outside the groups needs them all), and
// the document's aggregates (root, summed by the caller as rows come).
type docSpool struct {
	root      *group
	firstOnly bool
	f         *os.File
	w         *bufio.Writer
	buf       []byte
}

func newDocSpool(dir string, nspecs int, used []int, firstOnly bool) (*docSpool, error) {
	f, err := os.CreateTemp(dir, "rows-*.spool")
	if err != nil {
		return nil, err
	}
	s := &docSpool{root: &group{}, firstOnly: firstOnly, f: f, w: bufio.NewWriterSize(f, 64<<10)}
	if len(used) > 0 {
		s.root.aggs = make([]aggState, nspecs)
	}
	return s, nil
}

// write spools the row the root has just counted.
func (s *docSpool) write(row int, fields []string) error {
	if s.firstOnly && s.root.rows > 1 {
		return nil
	}
	s.buf = appendRow(s.buf[:0], row, fields)
	var hdr [binary.MaxVarintLen64]byte
	s.w.Write(hdr[:binary.PutUvarint(hdr[:], uint64(len(s.buf)))])
	_, err := s.w.Write(s.buf)
	return err
}

func (s *docSpool) finish() error { return s.w.Flush() }

func (s *docSpool) close() { s.f.Close() }

// groupSpool sorts the rows of one grouping by group and sums its groups
// up (see "Grouping for XML outputs" above).
type groupSpool struct {
	dir     string
	specs   []aggSpec
	levels  [][]int // levels[k]: the columns of the keys of level k+1
	used    [][]int // per level 0..depth: the aggregates read there
	gsums   []int   // the GROUPSUM aggregates over this grouping's groups
	depth   int
	nfields int
	fields  []int  // the fields its rows keep (XML.hierSpec.fields), in order
	decode  []bool // by kept field: read by an aggregate of some level

	seq       int64
	indexed   int // levels 1..indexed are looked up in the index
	index     *indexNode
	indexSize int
	stages    []*extsort.Sorter // stages[j-1]: the stage of level j; nil when it has no rows
	final     *extsort.Sorter

	keys []byte // the row's keys, level by level (ends)
	ends []int
	key  []byte // scratch
	val  []byte

	// Once finished: the grouping as a whole, its rows in document order,
	// and per level 1..depth the level's groups in document order.
	root   *group
	spool  *os.File
	groups []*os.File
}

// indexNode is a group the index knows: the place of its first row and
// its groups one level down, by key.
type indexNode struct {
	first    int64
	children map[string]*indexNode
}

// indexNodeBytes is about what a group in the index takes, besides its key.
const indexNodeBytes = 112

func newGroupSpool(dir string, specs []aggSpec, levels [][]int, used [][]int, hier, nfields int, fields []int) *groupSpool {
	s := &groupSpool{dir: dir, specs: specs, levels: levels, used: used, depth: len(levels), nfields: nfields,
		fields: fields, decode: make([]bool, len(fields)), index: &indexNode{}}
	s.indexed = s.depth
	for i, a := range specs {
		if a.fn == "GROUPSUM" && a.hier == hier {
			s.gsums = append(s.gsums, i)
		}
	}
	for _, idx := range used {
		for _, i := range idx {
			if c := specs[i].col; c >= 0 {
				if k := slices.Index(fields, c); k >= 0 {
					s.decode[k] = true
				}
			}
		}
	}
	s.final = s.sorter()
	return s
}

func (s *groupSpool) sorter() *extsort.Sorter {
	return extsort.New(s.dir, extsort.Options{ChunkBytes: spoolRunBytes, FanIn: spoolFanIn})
}

// stage is the stage of level j.
func (s *groupSpool) stage(j int) *extsort.Sorter {
	for len(s.stages) < j {
		s.stages = append(s.stages, nil)
	}
	if s.stages[j-1] == nil {
		s.stages[j-1] = s.sorter()
	}
	return s.stages[j-1]
}

// levelKey is the key of the row being added at level lv (1...).
func (s *groupSpool) levelKey(lv int) []byte {
	from := 0
	if lv > 1 {
		from = s.ends[lv-2]
	}
	return s.keys[from:s.ends[lv-1]]
}

// add spools one row: row is its input row number, cols the encoded
// values of the spooled columns (fields then group keys).
func (s *groupSpool) add(row int, cols []string) error {
	seq := s.seq
	s.seq++
	// A level's key is its group keys, each after its length.
	s.keys, s.ends = s.keys[:0], s.ends[:0]
	for _, keyCols := range s.levels {
		for _, c := range keyCols {
			k := groupKey(cols[c])
			s.keys = binary.AppendUvarint(s.keys, uint64(len(k)))
			s.keys = append(s.keys, k...)
		}
		s.ends = append(s.ends, len(s.keys))
	}
	// The path as far as the index knows it.
	s.key = s.key[:0]
	n := s.index
	for lv := 1; lv <= s.indexed; lv++ {
		k := s.levelKey(lv)
		c := n.children[string(k)]
		if c == nil {
			c = &indexNode{first: seq}
			if n.children == nil {
				n.children = map[string]*indexNode{}
			}
			n.children[string(k)] = c
			s.indexSize += len(k) + indexNodeBytes
		}
		s.key = appendPlace(s.key, c.first)
		n = c
	}
	var err error
	if s.indexed == s.depth {
		s.key = appendPlace(s.key, seq)
		s.val = appendFields(s.val[:0], row, cols, s.fields)
		err = s.final.Add(s.key, s.val)
	} else {
		// To the stage of the first level left to sorting, with the keys of
		// the levels below it.
		j := s.indexed + 1
		s.key = appendPlace(appendLen(s.key, s.levelKey(j)), seq)
		s.val = s.val[:0]
		s.val = append(s.val, 0) // a row, not a marker
		for lv := j + 1; lv <= s.depth; lv++ {
			s.val = appendLen(s.val, s.levelKey(lv))
		}
		s.val = appendFields(s.val, row, cols, s.fields)
		err = s.stage(j).Add(s.key, s.val)
	}
	if err == nil && s.indexSize > spoolIndexBytes && s.indexed > 0 {
		err = s.unindex()
	}
	return err
}

// unindex leaves the index's deepest level to sorting: each of its groups
// goes to that level's stage as a marker (its path, key and first row,
// marked with the level, which makes its later rows join it there), and
// the index forgets them.
func (s *groupSpool) unindex() error {
	m := s.indexed
	st := s.stage(m)
	mark := []byte{byte(m)}
	var path []int64
	var walk func(n *indexNode, lv int) error
	walk = func(n *indexNode, lv int) error {
		for k, c := range n.children {
			if lv < m {
				path = append(path, c.first)
				err := walk(c, lv+1)
				path = path[:len(path)-1]
				if err != nil {
					return err
				}
				continue
			}
			s.key = s.key[:0]
			for _, f := range path {
				s.key = appendPlace(s.key, f)
			}
			s.key = appendPlace(appendLen(s.key, []byte(k)), c.first)
			if err := st.Add(s.key, mark); err != nil {
				return err
			}
		}
		if lv == m {
			n.children = nil
		}
		return nil
	}
	if err := walk(s.index, 1); err != nil {
		return err
	}
	s.indexed = m - 1
	var size func(n *indexNode) int
	size = func(n *indexNode) int {
		t := 0
		for k, c := range n.children {
			t += len(k) + indexNodeBytes + size(c)
		}
		return t
	}
	s.indexSize = size(s.index)
	return nil
}

// finish sorts the rows into the spool and sums the groups up into their
// levels' files. An aggregate that can't be summed is an *aggError naming
// the row.
func (s *groupSpool) finish() error {
	for j := 1; j <= len(s.stages); j++ {
		if s.stages[j-1] != nil {
			if err := s.runStage(j); err != nil {
				return err
			}
		}
	}
	s.index = nil
	return s.writeGroups()
}

// runStage reads the stage of level j in order: the first row of each
// key in a group of level j-1 is the first row of its group of level j,
// whose place goes into the path of each of its rows. Rows go on to the
// next level's stage, or to the final sort; the markers of level j stay.
func (s *groupSpool) runStage(j int) error {
	st := s.stages[j-1]
	defer func() { st.Close(); s.stages[j-1] = nil }()
	it, err := st.Sort()
	if err != nil {
		return err
	}
	var block []byte
	var first int64
	for it.Next() {
		key, val := it.Key(), it.Val()
		at := len(key) - 8
		if at < 8*(j-1) {
			return errors.New("spool: corrupt record")
		}
		if !bytes.Equal(key[:at], block) {
			block = append(block[:0], key[:at]...)
			first = place(key[at:])
		}
		mark, k := binary.Uvarint(val)
		if k <= 0 {
			return errors.New("spool: corrupt record")
		}
		if int(mark) == j {
			continue
		}
		rest := val[k:]
		s.key = appendPlace(append(s.key[:0], key[:8*(j-1)]...), first)
		if j == s.depth {
			err = s.final.Add(append(s.key, key[at:]...), rest)
		} else {
			next, n, cerr := cutLen(rest)
			if cerr != nil {
				return cerr
			}
			s.key = append(appendLen(s.key, next), key[at:]...)
			s.val = append(binary.AppendUvarint(s.val[:0], mark), rest[n:]...)
			err = s.stage(j+1).Add(s.key, s.val)
		}
		if err != nil {
			return err
		}
	}
	return it.Err()
}

// newGroup makes a group of level lv with room for what that level reads.
func (s *groupSpool) newGroup(lv int) *group {
	g := &group{level: lv, desc: make([]int64, s.depth-lv)}
	if len(s.used[lv]) > 0 {
		g.aggs = make([]aggState, len(s.specs))
	}
	if len(s.gsums) > 0 {
		g.gsum = make([]decimal.Decimal, len(s.specs))
	}
	return g
}

// reset makes g a new group at offset, the next of parent's groups, whose
// own groups come from the ordinal firstChild of the level below.
func (g *group) reset(parent *group, offset, firstChild int64) {
	g.pos, g.rows, g.offset, g.children, g.firstChild = parent.children, 0, offset, 0, firstChild
	clear(g.aggs)
	clear(g.desc)
	clear(g.gsum)
}

// writeGroups reads the final sort: the rows go to the spool, and each
// group, summed up as its rows pass, to its level's file when it ends.
func (s *groupSpool) writeGroups() (err error) {
	it, err := s.final.Sort()
	if err != nil {
		return err
	}
	defer s.final.Close()
	if s.spool, err = os.CreateTemp(s.dir, "grouped-*.spool"); err != nil {
		return err
	}
	w := bufio.NewWriterSize(s.spool, 256<<10)
	writers := make([]*bufio.Writer, s.depth+1)
	for lv := 1; lv <= s.depth; lv++ {
		f, err := os.CreateTemp(s.dir, fmt.Sprintf("level%d-*.groups", lv))
		if err != nil {
			return err
		}
		s.groups = append(s.groups, f)
		writers[lv] = bufio.NewWriterSize(f, 64<<10)
	}
	stack := make([]*group, s.depth+1) // the groups open at each level
	for lv := range stack {
		stack[lv] = s.newGroup(lv)
	}
	s.root = stack[0]
	opened := make([]int64, s.depth+2) // groups begun per level
	vals := make([]any, s.nfields)
	var rec []byte
	var offset int64
	// end writes the group of level lv to its file.
	end := func(lv int) error {
		g := stack[lv]
		for _, i := range s.gsums {
			if a := s.specs[i]; a.level == lv {
				r := g.aggs[a.sumOf].sum.Round(a.places)
				for la := 0; la < lv; la++ {
					stack[la].gsum[i] = stack[la].gsum[i].Add(r)
				}
			}
		}
		rec = s.appendGroup(rec[:0], g)
		var hdr [binary.MaxVarintLen64]byte
		writers[lv].Write(hdr[:binary.PutUvarint(hdr[:], uint64(len(rec)))])
		_, err := writers[lv].Write(rec)
		return err
	}
	cur := make([]int64, s.depth+1) // the first row's place of the group open at each level
	began := false
	for it.Next() {
		key, data := it.Key(), it.Val()
		if len(key) != 8*(s.depth+1) {
			return errors.New("spool: corrupt record")
		}
		from := s.depth + 1 // the first level whose group begins with this row
		for lv := 1; lv <= s.depth; lv++ {
			if !began || place(key[8*(lv-1):]) != cur[lv] {
				from = lv
				break
			}
		}
		if began {
			for lv := s.depth; lv >= from; lv-- {
				if err := end(lv); err != nil {
					return err
				}
			}
		}
		began = true
		for lv := from; lv <= s.depth; lv++ {
			cur[lv] = place(key[8*(lv-1):])
			stack[lv].reset(stack[lv-1], offset, opened[lv+1])
			stack[lv-1].children++
			opened[lv]++
			for la := 0; la < lv; la++ {
				stack[la].desc[lv-la-1]++
			}
		}
		row, err := s.decodeAggs(data, vals)
		if err != nil {
			return err
		}
		for lv, g := range stack {
			if err := g.add(s.specs, s.used[lv], vals); err != nil {
				return &aggError{row: row, err: err}
			}
		}
		var hdr [binary.MaxVarintLen64]byte
		n := binary.PutUvarint(hdr[:], uint64(len(data)))
		w.Write(hdr[:n])
		if _, err := w.Write(data); err != nil {
			return err
		}
		offset += int64(n + len(data))
	}
	if err := it.Err(); err != nil {
		return err
	}
	if began {
		for lv := s.depth; lv >= 1; lv-- {
			if err := end(lv); err != nil {
				return err
			}
		}
	}
	if err := w.Flush(); err != nil {
		return err
	}
	for lv := 1; lv <= s.depth; lv++ {
		if err := writers[lv].Flush(); err != nil {
			return err
		}
	}
	return nil
}

// decodeAggs reads a spooled row's input row number and decodes the
// fields the aggregates read into vals.
func (s *groupSpool) decodeAggs(data []byte, vals []any) (int, error) {
	row, k := binary.Uvarint(data)
	if k <= 0 {
		return 0, errors.New("spool: corrupt row")
	}
	b := data[k:]
	for i, need := range s.decode {
		f, n, err := cutLen(b)
		if err != nil {
			return 0, err
		}
		b = b[n:]
		if need {
			v, err := decodeValue(string(f))
			if err != nil {
				return 0, err
			}
			vals[s.fields[i]] = v
		}
	}
	return int(row), nil
}

// appendGroup appends the record of g to its level's file: its place,
// rows and offset, its groups, and what its level reads of its aggregates.
func (s *groupSpool) appendGroup(b []byte, g *group) []byte {
	for _, n := range []int64{g.pos, g.rows, g.offset, g.children, g.firstChild} {
		b = binary.AppendUvarint(b, uint64(n))
	}
	for _, n := range g.desc {
		b = binary.AppendUvarint(b, uint64(n))
	}
	for _, i := range s.used[g.level] {
		st := g.aggs[i]
		b = binary.AppendUvarint(b, uint64(st.n))
		switch s.specs[i].fn {
		case "SUM":
			b = appendLen(b, []byte(expression.PlainDecimal(st.sum)))
		case "MIN", "MAX":
			b = appendLen(b, []byte(EncodeValue(st.v)))
		}
	}
	for _, i := range s.gsums {
		if s.specs[i].level > g.level {
			b = appendLen(b, []byte(expression.PlainDecimal(g.gsum[i])))
		}
	}
	return b
}

// levelReader reads the groups of one level back, in document order.
type levelReader struct {
	s    *groupSpool
	r    *bufio.Reader
	read int64 // groups read so far
	g    *group
	buf  []byte
}

func (s *groupSpool) reader(lv int) (*levelReader, error) {
	f := s.groups[lv-1]
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	return &levelReader{s: s, r: bufio.NewReaderSize(f, 64<<10), g: s.newGroup(lv)}, nil
}

// skipTo moves on to the group of ordinal n of the level, so that next
// reads it (the groups of groups left out of the document are passed by).
func (lr *levelReader) skipTo(n int64) error {
	if n < lr.read {
		return errors.New("spool: groups read out of order")
	}
	for lr.read < n {
		if _, err := lr.next(); err != nil {
			return err
		}
	}
	return nil
}

// next reads the next group; it stays valid until the next call.
func (lr *levelReader) next() (*group, error) {
	l, err := binary.ReadUvarint(lr.r)
	if err != nil {
		return nil, unexpectedEOF(err)
	}
	if cap(lr.buf) < int(l) {
		lr.buf = make([]byte, l)
	}
	lr.buf = lr.buf[:l]
	if _, err := io.ReadFull(lr.r, lr.buf); err != nil {
		return nil, unexpectedEOF(err)
	}
	lr.read++
	g, b := lr.g, lr.buf
	bad := errors.New("spool: corrupt group")
	uv := func() int64 {
		n, k := binary.Uvarint(b)
		if k <= 0 {
			b = nil
			return 0
		}
		b = b[k:]
		return int64(n)
	}
	text := func() (string, bool) {
		t, n, err := cutLen(b)
		if err != nil {
			return "", false
		}
		b = b[n:]
		return string(t), true
	}
	g.pos, g.rows, g.offset, g.children, g.firstChild = uv(), uv(), uv(), uv(), uv()
	for i := range g.desc {
		g.desc[i] = uv()
	}
	s := lr.s
	for _, i := range s.used[g.level] {
		st := &g.aggs[i]
		*st = aggState{n: uv()}
		switch s.specs[i].fn {
		case "SUM":
			t, ok := text()
			if !ok {
				return nil, bad
			}
			if st.sum, err = decimal.NewFromString(t); err != nil {
				return nil, err
			}
		case "MIN", "MAX":
			t, ok := text()
			if !ok {
				return nil, bad
			}
			if st.v, err = decodeValue(t); err != nil {
				return nil, err
			}
		}
	}
	for _, i := range s.gsums {
		if s.specs[i].level > g.level {
			t, ok := text()
			if !ok {
				return nil, bad
			}
			d, err := decimal.NewFromString(t)
			if err != nil {
				return nil, err
			}
			g.gsum[i] = d
		}
	}
	if b == nil {
		return nil, bad
	}
	return g, nil
}

func unexpectedEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// close closes the grouping's sorts and files.
func (s *groupSpool) close() {
	s.final.Close()
	for _, st := range s.stages {
		if st != nil {
			st.Close()
		}
	}
	if s.spool != nil {
		s.spool.Close()
	}
	for _, f := range s.groups {
		f.Close()
	}
}

// spoolCursor reads rows of the sorted spool from an offset.
type spoolCursor struct {
	f      *os.File
	r      *bufio.Reader
	at     int64
	buf    []byte
	cols   int
	fields []int // the fields the rows keep; nil for all cols
}

func newSpoolCursor(f *os.File, cols int, fields []int) *spoolCursor {
	return &spoolCursor{f: f, r: bufio.NewReaderSize(f, 64<<10), at: -1, cols: cols, fields: fields}
}

// seek positions the cursor at offset.
func (c *spoolCursor) seek(offset int64) error {
	if c.at == offset {
		return nil
	}
	if _, err := c.f.Seek(offset, io.SeekStart); err != nil {
		return err
	}
	c.r.Reset(c.f)
	c.at = offset
	return nil
}

// read reads the next row: its input row number and values.
func (c *spoolCursor) read(vals []any) (int, error) {
	n, err := binary.ReadUvarint(c.r)
	if err != nil {
		return 0, err
	}
	c.at += int64(uvarintLen(n)) + int64(n)
	if cap(c.buf) < int(n) {
		c.buf = make([]byte, n)
	}
	c.buf = c.buf[:n]
	if _, err := io.ReadFull(c.r, c.buf); err != nil {
		return 0, err
	}
	b := c.buf
	row, k := binary.Uvarint(b)
	b = b[k:]
	n = uint64(c.cols)
	if c.fields != nil {
		clear(vals) // the fields the rows don't keep are read nowhere they are written
		n = uint64(len(c.fields))
	}
	for i := 0; i < int(n); i++ {
		l, k := binary.Uvarint(b)
		if k <= 0 || int(l) > len(b)-k {
			return 0, errors.New("spool: corrupt row")
		}
		v, err := decodeValue(string(b[k : k+int(l)]))
		if err != nil {
			return 0, err
		}
		if c.fields != nil {
			vals[c.fields[i]] = v
		} else {
			vals[i] = v
		}
		b = b[k+int(l):]
	}
	return int(row), nil
}

func uvarintLen(x uint64) int {
	n := 1
	for x >= 0x80 {
		x >>= 7
		n++
	}
	return n
}
