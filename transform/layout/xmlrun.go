package layout

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/shopspring/decimal"

	"github.com/erpipe/erpipe/formats"
	"github.com/erpipe/erpipe/transform/expression"
	"github.com/erpipe/erpipe/transform/template"
	"github.com/erpipe/erpipe/xsd"
)

// XMLRun writes one XML document: rows are spooled while the input is
// read (add), the document is written from the spool (render), and the
// written file is checked against its schema and control totals (verify)
// before it may be published.
type XMLRun struct {
	src    Source
	spec   *XML
	file   string // input file name, for messages
	sheet  string
	input  layoutInput
	choice schemaChoice
	dir    string
	spool  *docSpool     // every row: the document's aggregates, its first row, the rows of a $each outside groups
	hiers  []*groupSpool // per grouping (XML.hiers)
	curs   []*spoolCursor
	levels [][]*levelReader // per grouping, per level 1...: its groups, as they are written
	rootC  *spoolCursor
	hier   int   // the grouping being written; -1 outside any
	added  []any // the values of the row being spooled (add)
	decode []int // the fields the document's aggregates read, decoded in Add

	env        map[string]any
	cur        *spoolCursor
	row        int // input row of the values in env; 0 for none
	vals       []any
	out        *xmlWriter
	schemaDone chan error // the validation of the document Render wrote, while it is pending
	trace      *bufio.Writer
	tf         *os.File
	traceAt    []int64 // per document (RenderDocs): where its trace starts in tf
}

// Source is what a document is made from: the template's run over one
// input file.
type Source struct {
	Template string            // the template's name, for messages
	File     string            // the input file's name
	Modified time.Time         // the input file's modification time (input.modified)
	ID       string            // the run's id (input.id)
	Params   map[string]any    // the template's parameter values
	Columns  map[string]string // the input column of each input field, for messages
	Names    int               // how many names the template's rows have (a size hint)
}

// NewRun prepares a run; it picks the schema whose when holds.
func (spec *XML) NewRun(src Source) (*XMLRun, error) {
	ext := path.Ext(src.File)
	x := &XMLRun{src: src, spec: spec, file: src.File,
		input: layoutInput{Name: strings.TrimSuffix(src.File, ext), Ext: ext, Modified: src.Modified.UTC().Truncate(time.Second), ID: src.ID}}
	x.env = make(map[string]any, src.Names+len(spec.aggs)+1)
	for k, v := range src.Params {
		x.env[k] = v
	}
	x.env["input"] = x.input
	if _, taken := x.env["erpipe"]; !taken {
		x.env["erpipe"] = software{Version: SoftwareVersion}
	}
	if !spec.perDoc { // else chosen per document (RenderDocs)
		if err := x.chooseSchema(); err != nil {
			return nil, err
		}
	}
	dir, err := os.MkdirTemp("", "erpipe-xml-")
	if err != nil {
		return nil, err
	}
	x.dir = dir
	rootUsed := spec.used[scope{-1, 0}]
	if x.spool, err = newDocSpool(dir, len(spec.aggs), rootUsed, !spec.rootEach); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	seen := map[int]bool{}
	for _, i := range rootUsed {
		if c := spec.aggs[i].col; c >= 0 && !seen[c] {
			seen[c] = true
			x.decode = append(x.decode, c)
		}
	}
	for i, h := range spec.hiers {
		used := make([][]int, len(h.levels)+1)
		for lv := range used {
			used[lv] = spec.used[scope{i, lv}]
		}
		fields := slices.Sorted(maps.Keys(h.fields))
		x.hiers = append(x.hiers, newGroupSpool(dir, spec.aggs, h.levels, used, i, spec.nfields, fields))
	}
	x.hier = -1
	return x, nil
}

// chooseSchema picks the first schema whose when holds in x.env.
func (x *XMLRun) chooseSchema() error {
	var ev expression.Evaluator
	for _, c := range x.spec.schemas {
		if c.when == nil {
			x.choice = c
			return nil
		}
		v, err := ev.Eval(c.when, x.env)
		if err != nil {
			return fmt.Errorf("output.xml.schema when: %w", err)
		}
		if ok, _ := expression.Truth(v); ok {
			x.choice = c
			return nil
		}
	}
	x.choice = schemaChoice{}
	return nil
}

// PerDocument reports whether the run writes one document per group
// (RenderDocs) rather than one document (Render).
func (x *XMLRun) PerDocument() bool { return x.spec.perDoc }

// Add spools one good row.
func (x *XMLRun) Add(pos formats.Pos, cols []string) error {
	if x.sheet == "" {
		x.sheet = pos.Sheet
	}
	// The values the document's aggregates read (the groupings' are read
	// back from the spool as it is sorted).
	if x.added == nil {
		x.added = make([]any, x.spec.nfields)
	}
	for _, c := range x.decode {
		v, err := decodeValue(cols[c])
		if err != nil {
			return err
		}
		x.added[c] = v
	}
	if err := x.spool.root.add(x.spec.aggs, x.spec.used[scope{-1, 0}], x.added); err != nil {
		return x.aggError(pos, err)
	}
	if err := x.spool.write(pos.Row, cols[:x.spec.nfields]); err != nil {
		return fmt.Errorf("spooling the rows: %w", err)
	}
	for i, h := range x.spec.hiers {
		if h.where >= 0 {
			v, err := decodeValue(cols[h.where])
			if err != nil {
				return err
			}
			if ok, _ := expression.Truth(v); !ok {
				continue
			}
		}
		if err := x.hiers[i].add(pos.Row, cols); err != nil {
			return fmt.Errorf("spooling the rows: %w", err)
		}
	}
	return nil
}

// aggError is an aggregate that could not be summed at pos.
func (x *XMLRun) aggError(pos formats.Pos, err error) error {
	return &template.FieldError{Pos: pos, Template: x.src.Template, Severity: template.SeverityError, Err: err,
		Hint: "check the values the layout's aggregates add up"}
}

// Close removes the spool: every file of the run, also after an error.
func (x *XMLRun) Close() {
	if x.tf != nil {
		x.tf.Close()
	}
	x.spool.close()
	for _, h := range x.hiers {
		h.close()
	}
	os.RemoveAll(x.dir)
}

// CheckXMLText refuses text that XML can't hold.
func CheckXMLText(encoded string) error {
	for _, r := range encoded[1:] {
		if !(r == 0x09 || r == 0x0A || r == 0x0D || r >= 0x20 && r <= 0xD7FF || r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 && r <= 0x10FFFF) {
			return fmt.Errorf("the value holds the character %U, which XML documents can't hold", r)
		}
	}
	if !utf8.ValidString(encoded) {
		return errors.New("the value is not valid UTF-8")
	}
	return nil
}

// xmlText renders a value as XML Schema writes it: decimals plain, dates
// yyyy-MM-dd, date-times yyyy-MM-ddTHH:mm:ss, booleans true/false.
func xmlText(v any) string {
	if t, ok := v.(time.Time); ok && !(t.Hour() == 0 && t.Minute() == 0 && t.Second() == 0 && t.Nanosecond() == 0) {
		return t.Format("2006-01-02T15:04:05")
	}
	return expression.Text(v)
}

// Render writes the document into w, and validates it against its schema
// on another goroutine as it goes (Verify gives the result).
func (x *XMLRun) Render(w io.Writer) (err error) {
	if err := x.finish(); err != nil {
		return err
	}
	tf, err := os.CreateTemp(x.dir, "trace-*")
	if err != nil {
		return err
	}
	x.tf = tf
	x.trace = bufio.NewWriter(tf)
	bw, ok := w.(*bufio.Writer)
	if !ok {
		bw = bufio.NewWriter(w)
	}
	out := bw
	if s := x.choice.schema; s != nil {
		// Validated as it is written (xmlpipe.go); Verify takes the result.
		pipe := newChunkPipe()
		x.schemaDone = make(chan error, 1)
		go func() {
			err := s.ValidateReader(pipe)
			pipe.stop()
			x.schemaDone <- err
		}()
		ended := false
		defer func() {
			if !ended {
				pipe.close(errors.New("the document was not written to its end"))
			}
		}()
		out = bufio.NewWriterSize(teeWriter{w: bw, pipe: pipe}, 64<<10)
		defer func() {
			if err == nil {
				err = out.Flush()
			}
			if err == nil {
				err = bw.Flush()
			}
			if err == nil {
				ended = true
				pipe.close(nil)
			}
		}()
	}
	x.out = &xmlWriter{w: out, line: 1}
	x.out.raw(`<?xml version="1.0" encoding="UTF-8"?>`)
	if err := x.enter(x.spool.root); err != nil {
		return err
	}
	if err := x.node(x.spec.root, x.spool.root, true); err != nil {
		return err
	}
	x.out.raw("\n")
	if err := x.trace.Flush(); err != nil {
		return err
	}
	return out.Flush()
}

// finish sorts the spools and opens their cursors (once).
func (x *XMLRun) finish() error {
	if x.rootC != nil {
		return nil
	}
	if err := x.spool.finish(); err != nil {
		return fmt.Errorf("spooling the rows: %w", err)
	}
	for _, h := range x.hiers {
		if err := h.finish(); err != nil {
			var ae *aggError
			if errors.As(err, &ae) {
				return x.aggError(formats.Pos{File: x.file, Sheet: x.sheet, Row: ae.row}, ae.err)
			}
			return fmt.Errorf("sorting the rows by group: %w", err)
		}
	}
	x.rootC = newSpoolCursor(x.spool.f, x.spec.nfields, nil)
	for _, h := range x.hiers {
		x.curs = append(x.curs, newSpoolCursor(h.spool, x.spec.nfields, h.fields))
		var lrs []*levelReader
		for lv := 1; lv <= h.depth; lv++ {
			lr, err := h.reader(lv)
			if err != nil {
				return fmt.Errorf("reading the groups: %w", err)
			}
			lrs = append(lrs, lr)
		}
		x.levels = append(x.levels, lrs)
	}
	x.cur = x.rootC
	x.vals = make([]any, x.spec.nfields)
	return nil
}

// enter makes env hold the first row of group g and g's aggregates.
func (x *XMLRun) enter(g *group) error {
	for i, a := range x.spec.aggs {
		switch a.fn {
		case "GROUPCOUNT":
			x.env[a.v] = x.groupCount(g, a)
			continue
		case "GROUPSUM":
			x.env[a.v] = x.groupSum(g, i, a)
			continue
		case "POSITION":
			x.env[a.v] = int64(g.pos) + 1
			continue
		}
		x.env[a.v] = g.value(i, a)
	}
	if g.rows == 0 {
		for _, f := range x.spec.fields {
			x.env[f] = nil
		}
		x.row = 0
		return nil
	}
	if err := x.cur.seek(g.offset); err != nil {
		return err
	}
	return x.next()
}

// groupCount is GROUPCOUNT: the number of groups of a's element in the
// scope of g (the whole grouping when g is not one of its groups).
func (x *XMLRun) groupCount(g *group, a aggSpec) int64 {
	if x.hier != a.hier {
		g = x.hiers[a.hier].root
	}
	if g.level >= a.level {
		return 1
	}
	return g.desc[a.level-g.level-1]
}

// groupSum is GROUPSUM (aggregate i): over the groups of a's element in
// the scope of g, each group's SUM rounded, added up.
func (x *XMLRun) groupSum(g *group, i int, a aggSpec) decimal.Decimal {
	if x.hier != a.hier {
		g = x.hiers[a.hier].root
	}
	if g.level >= a.level {
		return g.aggs[a.sumOf].sum.Round(a.places)
	}
	return g.gsum[i]
}

// next reads the next row of the spool into env.
func (x *XMLRun) next() error {
	row, err := x.cur.read(x.vals)
	if err != nil {
		return fmt.Errorf("reading the spooled rows: %w", err)
	}
	for i, f := range x.spec.fields {
		x.env[f] = x.vals[i]
	}
	x.row = row
	return nil
}

// node writes layout element n in group g: once, once per group of the
// next level, or once per row.
func (x *XMLRun) node(n *xnode, g *group, root bool) error {
	switch {
	case n.level > 0:
		if n.level == 1 {
			// The outermost $group of a grouping: its groups are in its own spool.
			prevCur, prevHier := x.cur, x.hier
			x.cur, x.hier = x.curs[n.hier], n.hier
			err := x.groups(n, x.hiers[n.hier].root)
			x.cur, x.hier = prevCur, prevHier
			if err != nil {
				return err
			}
			return x.enter(g)
		}
		if err := x.groups(n, g); err != nil {
			return err
		}
		return x.enter(g)
	case n.each:
		if g.rows == 0 {
			return nil
		}
		if err := x.cur.seek(g.offset); err != nil {
			return err
		}
		for i := int64(0); i < g.rows; i++ {
			if err := x.next(); err != nil {
				return err
			}
			if n.where != nil {
				var ev expression.Evaluator
				v, err := ev.Eval(n.where, x.env)
				if err != nil {
					return x.evalErr(n, " $where", err)
				}
				if ok, err := expression.Truth(v); err != nil {
					return x.evalErr(n, " $where", err)
				} else if !ok {
					continue
				}
			}
			start := x.out.line
			if err := x.element(n, g, false); err != nil {
				return err
			}
			x.traced(start, x.row)
		}
		return x.enter(g)
	}
	return x.element(n, g, root)
}

// groups writes n once per child group of parent, read from the level's
// file in the order they were summed up.
func (x *XMLRun) groups(n *xnode, parent *group) error {
	lr := x.levels[x.hier][parent.level]
	if err := lr.skipTo(parent.firstChild); err != nil {
		return fmt.Errorf("reading the groups: %w", err)
	}
	for range parent.children {
		c, err := lr.next()
		if err != nil {
			return fmt.Errorf("reading the groups: %w", err)
		}
		if err := x.enter(c); err != nil {
			return err
		}
		start := x.out.line
		if err := x.element(n, c, false); err != nil {
			return err
		}
		x.traced(start, x.row)
	}
	return nil
}

// traced records that output lines from start to the current line came
// from input row row.
func (x *XMLRun) traced(start, row int) {
	var b [3 * binary.MaxVarintLen64]byte
	k := binary.PutUvarint(b[:], uint64(start))
	k += binary.PutUvarint(b[k:], uint64(x.out.line))
	k += binary.PutUvarint(b[k:], uint64(row))
	x.trace.Write(b[:k])
}

// evalErr is an expression that failed while writing the document.
func (x *XMLRun) evalErr(n *xnode, what string, err error) error {
	return &template.FieldError{Pos: formats.Pos{File: x.file, Sheet: x.sheet, Row: x.row}, Template: x.src.Template, Field: n.name,
		Severity: template.SeverityError, Err: fmt.Errorf("layout element %s (template line %d)%s: %w", n.name, n.line, what, err),
		Hint: "check the layout's expression against this row's values"}
}

func (x *XMLRun) element(n *xnode, g *group, root bool) error {
	var ev expression.Evaluator
	if n.cond != nil {
		v, err := ev.Eval(n.cond, x.env)
		if err != nil {
			return x.evalErr(n, " $if", err)
		}
		if ok, err := expression.Truth(v); err != nil {
			return x.evalErr(n, " $if", err)
		} else if !ok {
			return nil
		}
	}
	var text string
	if n.value != nil {
		v, err := ev.Eval(n.value, x.env)
		if err != nil {
			return x.evalErr(n, "", err)
		}
		if v == nil {
			return nil // a blank value leaves the element out
		}
		text = xmlText(v)
		if text == "" {
			return nil
		}
		if err := CheckXMLText("s" + text); err != nil {
			return x.evalErr(n, "", err)
		}
		if x.spec.typed {
			text = EncodeValue(v) // a workbook's cells keep their types (workbook.go)
		}
	}
	name := n.name
	if n.rename != nil {
		v, err := ev.Eval(n.rename, x.env)
		if err != nil {
			return x.evalErr(n, " $name", err)
		}
		name = expression.Text(v)
		if !xmlNameRE.MatchString(name) {
			return x.evalErr(n, " $name", fmt.Errorf("gave %q, which is not an XML element name", name))
		}
	}
	var attrs [][2]string
	if root {
		if ns := x.choice.namespace; ns != "" {
			attrs = append(attrs, [2]string{"xmlns", ns})
		}
		for _, p := range x.spec.prefOrd {
			attrs = append(attrs, [2]string{"xmlns:" + p, x.spec.prefix[p]})
		}
	}
	for _, a := range n.attrs {
		v, err := ev.Eval(a.prog, x.env)
		if err != nil {
			return x.evalErr(n, " attribute "+a.name, err)
		}
		if v == nil {
			continue
		}
		attrs = append(attrs, [2]string{a.name, xmlText(v)})
	}
	x.out.start(name, attrs)
	if n.value != nil {
		x.out.text(text)
	} else {
		for _, c := range n.children {
			if err := x.node(c, g, false); err != nil {
				return err
			}
		}
	}
	x.out.end(name)
	return x.out.err
}

// xmlWriter writes indented XML and counts lines.
type xmlWriter struct {
	w       *bufio.Writer
	line    int
	depth   int
	pending bool // a start tag waits for > or />
	hasText bool
	err     error
}

func (w *xmlWriter) raw(s string) {
	if w.err != nil {
		return
	}
	w.line += strings.Count(s, "\n")
	_, w.err = w.w.WriteString(s)
}

func (w *xmlWriter) escape(s string) {
	if w.err != nil {
		return
	}
	w.err = xml.EscapeText(w.w, []byte(s))
}

func (w *xmlWriter) start(name string, attrs [][2]string) {
	if w.pending {
		w.raw(">")
	}
	w.raw("\n" + strings.Repeat("  ", w.depth) + "<" + name)
	for _, a := range attrs {
		w.raw(" " + a[0] + `="`)
		w.escape(a[1])
		w.raw(`"`)
	}
	w.pending, w.hasText = true, false
	w.depth++
}

func (w *xmlWriter) text(s string) {
	w.raw(">")
	w.pending = false
	w.escape(s)
	w.hasText = true
}

func (w *xmlWriter) end(name string) {
	w.depth--
	switch {
	case w.pending:
		w.raw("/>")
	case w.hasText:
		w.raw("</" + name + ">")
	default:
		w.raw("\n" + strings.Repeat("  ", w.depth) + "</" + name + ">")
	}
	w.pending, w.hasText = false, false
}

// Verify checks the written document: its schema, then its control
// totals. A problem is a *template.FieldError naming the element and, when it
// comes from a row, the input row.
func (x *XMLRun) Verify(name string) error {
	// The totals are read on a goroutine of their own while the schema
	// validates: two readings of the file, on two CPUs. A schema problem
	// is reported first.
	totals := make(chan error, 1)
	go func() { totals <- x.checkTotals(name) }()
	var err error
	if x.schemaDone != nil {
		err = x.schemaError(<-x.schemaDone) // validated as Render wrote it
		x.schemaDone = nil
	} else {
		err = x.validateSchema(name)
	}
	terr := <-totals
	if err != nil {
		return err
	}
	var tf *totalFailure
	if errors.As(terr, &tf) {
		return x.totalFieldError(tf)
	}
	return terr
}

// validateSchema validates the document at name against the run's schema.
func (x *XMLRun) validateSchema(name string) error {
	s := x.choice.schema
	if s == nil {
		return nil
	}
	return x.schemaError(s.ValidateFile(name))
}

// schemaError explains the first schema problem of err, from a
// validation: where in the input the offending value comes from, when a
// row wrote it. Other errors are returned as they are.
func (x *XMLRun) schemaError(err error) error {
	var xe *xsd.Error
	if !errors.As(err, &xe) || len(xe.Problems) == 0 {
		return err
	}
	p := xe.Problems[0]
	fe := &template.FieldError{Pos: formats.Pos{File: x.file, Sheet: x.sheet}, Template: x.src.Template, Severity: template.SeverityError, Err: xe,
		Hint: "nothing was published; correct the input value or the template's layout so that the document follows " + path.Base(xe.Schema)}
	if p.Line > 0 {
		fe.Pos.Row = x.rowAt(p.Line)
	}
	if n := findElement(x.spec.root, p.Element); n != nil {
		fe.Field = n.name
		if n.fieldOf != "" {
			fe.Column = x.src.Columns[n.fieldOf]
			if fe.Column == "" {
				fe.Field = n.fieldOf
			}
		}
	}
	return fe
}

// rowAt finds the input row whose element holds output line line of the
// last document written: the innermost traced element around it.
func (x *XMLRun) rowAt(line int) int {
	return x.docRowAt(len(x.traceAt)-1, line)
}

// docRowAt is rowAt in document doc of RenderDocs (-1: the one document).
func (x *XMLRun) docRowAt(doc, line int) int {
	if x.tf == nil {
		return 0
	}
	var from int64
	to := int64(-1)
	if doc >= 0 {
		from = x.traceAt[doc]
		if doc+1 < len(x.traceAt) {
			to = x.traceAt[doc+1]
		}
	}
	if _, err := x.tf.Seek(from, io.SeekStart); err != nil {
		return 0
	}
	var in io.Reader = x.tf
	if to >= 0 {
		in = io.LimitReader(x.tf, to-from)
	}
	r := bufio.NewReader(in)
	best, bestSpan := 0, -1
	for {
		start, err := binary.ReadUvarint(r)
		if err != nil {
			break
		}
		end, _ := binary.ReadUvarint(r)
		row, err := binary.ReadUvarint(r)
		if err != nil {
			break
		}
		if int(start) <= line && line <= int(end) {
			if span := int(end - start); bestSpan < 0 || span < bestSpan {
				best, bestSpan = int(row), span
			}
		}
	}
	return best
}

// findElement finds the layout element of that local name, preferring
// one whose value comes from a field.
func findElement(n *xnode, local string) *xnode {
	if n == nil || local == "" {
		return nil
	}
	var found *xnode
	var walk func(*xnode)
	walk = func(n *xnode) {
		name := n.name
		if i := strings.IndexByte(name, ':'); i >= 0 {
			name = name[i+1:]
		}
		if name == local && (found == nil || found.fieldOf == "" && n.fieldOf != "") {
			found = n
		}
		for _, c := range n.children {
			walk(c)
		}
	}
	walk(n)
	return found
}

// checkTotals reads the document back and checks every control total,
// exactly, in decimal.
func (x *XMLRun) checkTotals(name string) error {
	if len(x.spec.totals) == 0 {
		return nil
	}
	f, err := os.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	type open struct {
		ct    *controlTotal
		depth int // elements open with the scope's own
		plen  int // the length of the path to the scope's element
		line  int
		n     int64
		sum   decimal.Decimal
		sum2  decimal.Decimal
		got   string
		seen  bool
	}
	ins := make([]string, len(x.spec.totals)) // "/" + in: the end of a path in scope
	for i, ct := range x.spec.totals {
		ins[i] = "/" + ct.in
	}
	sc := newXMLScanner(f)
	var path []byte // "/Root/A/B" to the element at hand
	var lens []int  // the length of path before each open element
	var scopes []*open
	number := func(ct *controlTotal, line int, what string) (decimal.Decimal, error) {
		text := sc.textValue()
		d, err := decimal.NewFromString(strings.TrimSpace(text))
		if err != nil {
			return d, x.totalError(ct, line, fmt.Sprintf("%s holds %q, which is not a number", what, text))
		}
		return d, nil
	}
	for {
		kind, err := sc.next()
		if err != nil {
			return fmt.Errorf("reading the document back: %w", err)
		}
		switch kind {
		case scanEOF:
			return nil
		case scanStart:
			lens = append(lens, len(path))
			path = append(append(path, '/'), sc.name...)
			for i := range x.spec.totals {
				if bytes.HasSuffix(path, []byte(ins[i])) {
					scopes = append(scopes, &open{ct: &x.spec.totals[i], depth: len(lens), plen: len(path), line: sc.line})
				}
			}
		case scanEnd:
			if len(lens) == 0 {
				return errors.New("reading the document back: an end tag without its start")
			}
			for _, s := range scopes {
				if len(lens) <= s.depth {
					continue
				}
				rel := string(path[s.plen+1:]) // the path below the scope's element
				switch {
				case rel == s.ct.count:
					s.n++
				case slices.Contains(s.ct.sums, rel):
					d, err := number(s.ct, s.line, rel)
					if err != nil {
						return err
					}
					s.sum = s.sum.Add(d)
				}
				if s.ct.equalsSum != "" && rel == s.ct.equalsSum {
					d, err := number(s.ct, s.line, s.ct.equalsSum)
					if err != nil {
						return err
					}
					s.sum2 = s.sum2.Add(d)
				}
				if rel == s.ct.equals {
					s.got, s.seen = strings.TrimSpace(sc.textValue()), true
				}
			}
			// Scopes end innermost first; several may end here.
			for len(scopes) > 0 && scopes[len(scopes)-1].depth == len(lens) {
				s := scopes[len(scopes)-1]
				scopes = scopes[:len(scopes)-1]
				if s.ct.equalsSum != "" {
					if !s.sum.Equal(s.sum2) {
						return x.totalError(s.ct, s.line, fmt.Sprintf("the sum of %s is %s but the sum of %s is %s",
							s.ct.sum, expression.PlainDecimal(s.sum), s.ct.equalsSum, expression.PlainDecimal(s.sum2)))
					}
					continue
				}
				if !s.seen {
					return x.totalError(s.ct, s.line, fmt.Sprintf("%s has no %s", s.ct.in, s.ct.equals))
				}
				want := decimal.NewFromInt(s.n)
				what := "the number of " + s.ct.count
				if s.ct.sum != "" {
					want, what = s.sum, "the sum of "+s.ct.sum
				}
				got, err := decimal.NewFromString(s.got)
				if err != nil || !got.Equal(want) {
					return x.totalError(s.ct, s.line, fmt.Sprintf("%s/%s says %s but %s is %s", s.ct.in, s.ct.equals, s.got, what, expression.PlainDecimal(want)))
				}
			}
			path = path[:lens[len(lens)-1]]
			lens = lens[:len(lens)-1]
		}
	}
}

// totalFailure is a control total that does not hold, at a line of the
// document; Verify makes it a FieldError naming the input row.
type totalFailure struct {
	ct   *controlTotal
	line int
	msg  string
}

func (f *totalFailure) Error() string {
	return fmt.Sprintf("control total %s (document line %d): %s", f.ct.name, f.line, f.msg)
}

func (x *XMLRun) totalError(ct *controlTotal, line int, msg string) error {
	return &totalFailure{ct: ct, line: line, msg: msg}
}

func (x *XMLRun) totalFieldError(f *totalFailure) error {
	ct, line := f.ct, f.line
	hint := "nothing was published; the layout's totals do not add up: check the aggregates (COUNT, SUM) and the control_totals paths"
	if ct.equalsSum != "" {
		hint = "nothing was published; correct the input rows of this " + ct.in + " so that the two sums are equal"
	}
	// The input row of the element the check failed in, when a row wrote it.
	return &template.FieldError{Pos: formats.Pos{File: x.file, Sheet: x.sheet, Row: x.rowAt(line)}, Template: x.src.Template, Rule: ct.name, Severity: template.SeverityError,
		Err:  errors.New(f.Error()),
		Hint: hint}
}
