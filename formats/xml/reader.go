package xml

import (
	"bufio"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/erpipe/erpipe/formats"
)

// Options configure a Reader.
type Options struct {
	File string // name used in positions (base name of the input)
	// Record is the slash-separated path of local element names from the
	// root to the element that repeats, e.g. "Document/BkToCstmrStmt/Stmt/Ntry".
	// Namespaces are ignored. A leading "//" matches the element at any depth.
	// A step may name alternatives: "Invoice|CreditNote/InvoiceLine|CreditNoteLine".
	// The last steps may be optional ("Stmt/Ntry/NtryDtls?/TxDtls?"): an
	// Ntry in which no TxDtls is read is a record too, with the fields
	// relative to the record blank and its "../" fields read.
	Record string
	// Fields are paths relative to the record element: "Amt", "Amt/@Ccy",
	// "NtryDtls/TxDtls/Refs/EndToEndId", "@id", or "." for the record's own
	// text. The first match wins; a missing element yields "".
	//
	// A path may start with "../" steps (one per level up) to take a value
	// from an element around the record, written before it: with the
	// record "Document/BkToCstmrStmt/Stmt/Ntry", "../Acct/Id/IBAN" is the
	// statement's account, the same for every entry of the statement. This
	// needs a record path from the root (not "//").
	//
	// One step may carry a condition, [path=value]: the element counts only
	// when the text at path inside it is value, e.g.
	// "../Bal[Tp/CdOrPrtry/Cd=OPBD]/Amt" (the first Bal whose type is OPBD).
	Fields []string
	// Limits bound the nesting of elements (Depth) and the longest text
	// or tag (RecordBytes); zero fields are the defaults. Past them the
	// reading ends with a *formats.LimitError.
	Limits formats.Limits
}

// Reader reads records. Header returns Options.Fields.
type Reader struct {
	d      *xml.Decoder
	file   string
	header []string

	path     []string // record path, local names
	anyDepth bool     // path matches at any depth ("//")
	// With optional last steps (Ntry/NtryDtls?/TxDtls?), anchor is the
	// depth of the last step that is not optional: such an element in
	// which no record was read is a record of its own, its record fields
	// blank. 0 without optional steps.
	anchor        int
	anchorRecords bool // a record was read in the open anchor element
	anchorLine    int
	root          *node   // what the fields need, from the record element down
	rootNodes     []*node // []*node{root}, the nodes of every record element
	nfields       int     // len(Options.Fields); hidden fields (conditions) follow
	hidden        int     // how many hidden fields

	ctx       map[int]*node // depth of an element around the record → what "../" fields need in it
	ctxFields map[int][]int // the fields under ctx[depth], reset when such an element starts
	recFields []int         // the fields relative to the record, reset at every record

	stack    []frame // open elements, from the document root
	maxDepth int     // the deepest stack (Limits.Depth)
	maxText  int     // the longest text a field gathers, or name (Limits.ValueBytes)
	recDepth int     // len(stack) at the record element; 0 outside records

	// The record being read, and the last one returned.
	recLine int
	vals    []string
	set     []bool
	lines   []int
	bufs    [][]byte
	active  []collector

	in         *trackReader
	decoded    bool  // the input was transcoded to UTF-8 before the decoder
	charsetErr error // the declared encoding is unknown
	err        error // sticky: reading can't go on
}

var _ formats.Reader = (*Reader)(nil)

// node is one element step of the field paths: the fields that take this
// element's text or attributes, and the steps below it.
type node struct {
	children map[string][]*node
	text     []int
	attrs    []attrField
	cond     *condition // a step with [path=value]
	fields   []int      // with cond: every field below, the condition's own included
}

// condition is the [path=value] of a step: hidden field field takes the
// text at path, and the step's fields count only when it is value.
type condition struct {
	key   string // path=value, to share the node between fields
	field int
	value string
}

type attrField struct {
	name  string
	field int
}

// frame is an open element.
type frame struct {
	name  xml.Name
	line  int
	nodes []*node   // the field steps this element is, if any
	tries []condTry // its steps with a condition
	onWay bool      // outside a record, absolute path: the element is on the record path
}

// condTry is an element taken for a step with a condition: the fields it
// filled are given back when the condition does not hold.
type condTry struct {
	n     *node
	fresh bool  // the condition's field was still blank: this element decides
	took  []int // the step's fields that were blank
}

// collector gathers the text of field's element, open at depth.
type collector struct{ field, depth int }

// NewReader returns a Reader of r. It reads up to the root element, so an
// empty document is reported here: a *formats.ParseError wrapping ErrEmpty.
// Malformed input gives a *formats.ParseError, now or from Read; a bad
// record or field path gives a plain error.
func NewReader(r io.Reader, opts Options) (*Reader, error) {
	rd := &Reader{file: opts.File, header: append([]string(nil), opts.Fields...), root: &node{}, nfields: len(opts.Fields),
		ctx: map[int]*node{}, ctxFields: map[int][]int{}}
	var err error
	if rd.path, rd.anyDepth, rd.anchor, err = parseRecord(opts.Record); err != nil {
		return nil, err
	}
	for i, f := range opts.Fields {
		if err := rd.addField(i, f); err != nil {
			return nil, err
		}
	}
	n := rd.nfields + rd.hidden // with the conditions' hidden fields
	rd.vals, rd.set, rd.lines, rd.bufs = make([]string, n), make([]bool, n), make([]int, n), make([][]byte, n)

	var src io.Reader
	lim := opts.Limits.OrDefault()
	rd.maxDepth, rd.maxText = lim.Depth, int(lim.ValueBytes)
	rd.in = &trackReader{r: &runLimit{r: r, max: lim.RecordBytes}}
	src, rd.decoded = decode(bufio.NewReaderSize(rd.in, 64<<10))
	rd.d = xml.NewDecoder(src)
	rd.d.CharsetReader = rd.charsetReader

	for {
		line, _ := rd.d.InputPos()
		tok, err := rd.d.RawToken()
		if err == io.EOF {
			return nil, rd.parseError(0, ErrEmpty)
		}
		if err != nil {
			return nil, rd.tokenError(err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if !rd.anyDepth && !stepMatches(rd.path[0], t.Name.Local) {
				return nil, rd.parseError(line, fmt.Errorf("the root element is <%s>, but the record path %q starts with <%s>; "+
					"check the record path in the template, or whether this is the right file", t.Name.Local, opts.Record, rd.path[0]))
			}
			if err := rd.start(t, line); err != nil {
				return nil, rd.tokenError(err)
			}
			return rd, nil
		case xml.EndElement:
			return nil, rd.tokenError(rd.pop(t, line))
		case xml.CharData:
			if len(strings.TrimSpace(string(t))) > 0 {
				return nil, rd.parseError(line, errors.New("this is not XML: it starts with text, not with an element; "+
					"check that the file is the XML document the template expects"))
			}
		}
	}
}

// parseRecord parses Options.Record.
func parseRecord(p string) (path []string, anyDepth bool, anchor int, err error) {
	p = strings.TrimSpace(p)
	anyDepth = strings.HasPrefix(p, "//")
	for i, s := range strings.Split(strings.TrimLeft(p, "/"), "/") {
		s = strings.TrimSpace(s)
		if opt, ok := strings.CutSuffix(s, "?"); ok {
			if anyDepth || i == 0 {
				return nil, false, 0, fmt.Errorf("xml: record path %q: optional steps (Name?) need a path from the root, and not on its first step", p)
			}
			if anchor == 0 {
				anchor = i
			}
			s = opt
		} else if anchor > 0 {
			return nil, false, 0, fmt.Errorf("xml: record path %q: only the last steps may be optional (Ntry/NtryDtls?/TxDtls?)", p)
		}
		if s == "" || strings.ContainsAny(s, "@[]()*=.?") {
			return nil, false, 0, fmt.Errorf("xml: record path %q: write element names separated by /, "+
				"from the root (Document/Stmt/Ntry) or after // for any depth (//Ntry)", p)
		}
		alts := strings.Split(s, "|")
		for i, a := range alts {
			if a = strings.TrimSpace(a); a == "" {
				return nil, false, 0, fmt.Errorf("xml: record path %q: an empty name around |", p)
			}
			alts[i] = localName(strings.TrimSpace(a))
		}
		path = append(path, strings.Join(alts, "|"))
	}
	return path, anyDepth, anchor, nil
}

// stepMatches reports whether an element of local name local is step of
// the record path: a name, or names separated by | (Invoice|CreditNote).
func stepMatches(step, local string) bool {
	if step == local {
		return true
	}
	for step != "" {
		var name string
		name, step, _ = strings.Cut(step, "|")
		if name == local {
			return true
		}
	}
	return false
}

// addField parses field path p and adds it to the tree of steps as field i.
func (r *Reader) addField(i int, p string) error {
	bad := func(why string) error {
		return fmt.Errorf("xml: field %q: %s; write a path relative to the record such as Amt, Amt/@Ccy, BookgDt/Dt, @id, ., "+
			"../Acct/Id/IBAN (around the record) or Bal[Tp/CdOrPrtry/Cd=OPBD]/Amt (with a condition)", p, why)
	}
	s := strings.TrimSpace(p)
	if s == "" {
		return bad("the path is empty")
	}
	if strings.HasPrefix(s, "/") {
		return bad("the path must not start with /")
	}
	steps := splitSteps(s)
	n := r.root
	ups := 0
	for ups < len(steps) && strings.TrimSpace(steps[ups]) == ".." {
		ups++
	}
	if ups > 0 {
		if r.anyDepth {
			return bad("a path with ../ needs the record path from the root (Document/BkToCstmrStmt/Stmt/Ntry), not //")
		}
		d := len(r.path) - ups
		if d < 1 {
			return bad(fmt.Sprintf("%d steps up from the record leave the document", ups))
		}
		if r.ctx[d] == nil {
			r.ctx[d] = &node{}
		}
		n = r.ctx[d]
		steps = steps[ups:]
		if len(steps) == 0 {
			return bad("the path names no element after ../")
		}
	}
	var conds []*node
	for j, step := range steps {
		step = strings.TrimSpace(step)
		last := j == len(steps)-1
		switch {
		case step == "":
			return bad("a step is empty")
		case step == ".":
		case step == "text()" && last:
		case strings.HasPrefix(step, "@") && last:
			name := localName(step[1:])
			if name == "" {
				return bad("the attribute has no name")
			}
			n.attrs = append(n.attrs, attrField{name: name, field: i})
			r.placed(i, ups, conds)
			return nil
		case strings.Contains(step, "["):
			name, cond, ok := strings.Cut(step, "[")
			cond, ok2 := strings.CutSuffix(cond, "]")
			cpath, value, ok3 := strings.Cut(cond, "=")
			cpath, value = strings.TrimSpace(cpath), strings.Trim(strings.TrimSpace(value), `"'`)
			if !ok || !ok2 || !ok3 || cpath == "" || !validName(name) {
				return bad(fmt.Sprintf("%q: a condition is written Element[path=value], e.g. Bal[Tp/CdOrPrtry/Cd=OPBD]", step))
			}
			key := cpath + "=" + value
			var c *node
			for _, ex := range n.children[localName(name)] {
				if ex.cond != nil && ex.cond.key == key {
					c = ex
				}
			}
			if c == nil {
				c = &node{cond: &condition{key: key, field: r.nfields + r.hidden, value: value}}
				r.hidden++
				cn := c
				for _, cs := range strings.Split(cpath, "/") {
					cs = strings.TrimSpace(cs)
					if !validName(cs) {
						return bad(fmt.Sprintf("the condition's path %q: write element names separated by /", cpath))
					}
					cn = cn.child(localName(cs))
				}
				cn.text = append(cn.text, c.cond.field)
				c.fields = append(c.fields, c.cond.field)
				r.placed(c.cond.field, ups, conds)
				if n.children == nil {
					n.children = map[string][]*node{}
				}
				n.children[localName(name)] = append(n.children[localName(name)], c)
			}
			conds = append(conds, c)
			n = c
		case !validName(step):
			return bad(fmt.Sprintf("%q is not supported", step))
		default:
			n = n.child(localName(step))
		}
	}
	n.text = append(n.text, i)
	r.placed(i, ups, conds)
	return nil
}

// splitSteps splits a path at the slashes outside conditions.
func splitSteps(s string) []string {
	var out []string
	depth, start := 0, 0
	for k, c := range s {
		switch c {
		case '[':
			depth++
		case ']':
			depth--
		case '/':
			if depth == 0 {
				out = append(out, s[start:k])
				start = k + 1
			}
		}
	}
	return append(out, s[start:])
}

// validName reports whether s is an element step: a name, with an
// optional prefix.
func validName(s string) bool {
	return s != "" && s != ".." && !strings.ContainsAny(s, "@[]()*=/ ")
}

// placed records field i: reset per record, or per element around it.
func (r *Reader) placed(i, ups int, conds []*node) {
	if ups > 0 {
		r.ctxFields[len(r.path)-ups] = append(r.ctxFields[len(r.path)-ups], i)
	} else {
		r.recFields = append(r.recFields, i)
	}
	for _, c := range conds {
		c.fields = append(c.fields, i)
	}
}

// child returns the plain step name below n, made when missing.
func (n *node) child(name string) *node {
	for _, c := range n.children[name] {
		if c.cond == nil {
			return c
		}
	}
	c := &node{}
	if n.children == nil {
		n.children = map[string][]*node{}
	}
	n.children[name] = append(n.children[name], c)
	return c
}

// localName drops a namespace prefix.
func localName(s string) string {
	if i := strings.LastIndexByte(s, ':'); i >= 0 {
		return s[i+1:]
	}
	return s
}

// Header returns the field paths of Options.Fields. The caller must not
// modify the slice.
func (r *Reader) Header() []string { return r.header }

// Read returns the next record, or io.EOF after the last one. Malformed XML
// gives a *formats.ParseError, and every later Read returns it again.
func (r *Reader) Read() (formats.Record, error) {
	if r.err != nil {
		return formats.Record{}, r.err
	}
	for {
		line, _ := r.d.InputPos()
		tok, err := r.d.RawToken()
		if err == io.EOF && len(r.stack) == 0 {
			r.err = io.EOF
			return formats.Record{}, io.EOF
		}
		if err != nil {
			r.err = r.tokenError(err)
			return formats.Record{}, r.err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			err = r.start(t, line)
		case xml.EndElement:
			depth := len(r.stack)
			anchor := r.anchor > 0 && depth == r.anchor && r.stack[depth-1].onWay
			if err = r.pop(t, line); err == nil && depth == r.recDepth {
				r.recDepth = 0
				r.anchorRecords = true
				return r.record(), nil
			}
			if err == nil && anchor && !r.anchorRecords {
				// An anchor element without records is a record itself.
				for _, k := range r.recFields {
					r.set[k] = false
				}
				r.recLine = r.anchorLine
				return r.record(), nil
			}
		case xml.CharData:
			for _, c := range r.active {
				if len(r.bufs[c.field])+len(t) > r.maxText {
					err = r.limitError(line, "a value", int64(r.maxText), "limits.value_bytes")
					break
				}
				r.bufs[c.field] = append(r.bufs[c.field], t...)
			}
		}
		if err != nil {
			r.err = r.tokenError(err)
			return formats.Record{}, r.err
		}
	}
}

// start handles the start element t, on line.
func (r *Reader) start(t xml.StartElement, line int) error {
	var nodes []*node
	if len(r.stack) > 0 {
		if parent := r.stack[len(r.stack)-1].nodes; len(parent) == 1 {
			// The common case, without a copy; capped, so that an append
			// to the frame's nodes never writes into the tree.
			c := parent[0].children[t.Name.Local]
			nodes = c[:len(c):len(c)]
		} else {
			for _, pn := range parent {
				nodes = append(nodes, pn.children[t.Name.Local]...)
			}
		}
	}
	depth := len(r.stack) + 1
	if len(t.Name.Local)+len(t.Name.Space) > r.maxText {
		return r.limitError(line, "an element's name", int64(r.maxText), "limits.value_bytes")
	}
	if depth > r.maxDepth {
		return r.limitError(line, "the nesting of elements", int64(r.maxDepth), "limits.depth")
	}
	f := frame{name: t.Name, line: line, nodes: nodes}
	if r.recDepth > 0 {
		r.stack = append(r.stack, f)
		if len(nodes) == 0 && len(r.active) == 0 {
			return r.skip()
		}
		r.enterAll(t, line)
		return nil
	}
	if !r.anyDepth {
		f.onWay = depth <= len(r.path) && stepMatches(r.path[depth-1], t.Name.Local) && (depth == 1 || r.stack[depth-2].onWay)
		if c := r.ctx[depth]; f.onWay && c != nil {
			// A new element around the records: its "../" fields start blank.
			for _, k := range r.ctxFields[depth] {
				r.set[k], r.vals[k] = false, ""
			}
			f.nodes = append(f.nodes, c)
		}
	}
	r.stack = append(r.stack, f)
	if r.anchor > 0 && depth == r.anchor && f.onWay {
		r.anchorRecords, r.anchorLine = false, line
		// The "../" fields inside it start blank, even those of elements
		// it may not have.
		for d := depth + 1; d <= len(r.path); d++ {
			for _, k := range r.ctxFields[d] {
				r.set[k], r.vals[k] = false, ""
			}
		}
	}
	switch {
	case r.isRecord():
		r.recDepth = depth
		r.recLine = line
		for _, k := range r.recFields {
			r.set[k] = false
		}
		if r.rootNodes == nil {
			r.rootNodes = []*node{r.root}
		}
		r.stack[depth-1].nodes = r.rootNodes[:1:1]
	case !r.anyDepth && !f.onWay && len(f.nodes) == 0 && len(r.active) == 0:
		return r.skip() // neither the record nor a value around it can be inside
	}
	r.enterAll(t, line)
	return nil
}

// enterAll enters every step of the element on top of the stack.
func (r *Reader) enterAll(t xml.StartElement, line int) {
	top := &r.stack[len(r.stack)-1]
	for _, n := range top.nodes {
		if n.cond != nil {
			try := condTry{n: n, fresh: !r.set[n.cond.field]}
			for _, k := range n.fields {
				if !r.set[k] {
					try.took = append(try.took, k)
				}
			}
			top.tries = append(top.tries, try)
		}
		r.enter(n, t, line)
	}
}

// isRecord reports whether the open elements end with the record path.
func (r *Reader) isRecord() bool {
	if !r.anyDepth {
		return len(r.stack) == len(r.path) && r.stack[len(r.stack)-1].onWay
	}
	if len(r.stack) < len(r.path) {
		return false
	}
	open := r.stack[len(r.stack)-len(r.path):]
	for i, name := range r.path {
		if !stepMatches(name, open[i].name.Local) {
			return false
		}
	}
	return true
}

// enter takes what fields need from the start element t of step n.
func (r *Reader) enter(n *node, t xml.StartElement, line int) {
	for _, a := range n.attrs {
		if r.set[a.field] {
			continue
		}
		for _, at := range t.Attr {
			if at.Name.Local == a.name && at.Name.Space != "xmlns" {
				r.vals[a.field], r.set[a.field], r.lines[a.field] = at.Value, true, line
				break
			}
		}
	}
	for _, f := range n.text {
		if !r.set[f] {
			r.bufs[f] = r.bufs[f][:0]
			r.lines[f] = line
			r.active = append(r.active, collector{field: f, depth: len(r.stack)})
		}
	}
}

// skip reads past the rest of the element on top of the stack.
func (r *Reader) skip() error {
	base := len(r.stack)
	for len(r.stack) >= base {
		line, _ := r.d.InputPos()
		tok, err := r.d.RawToken()
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if len(r.stack) >= r.maxDepth {
				return r.limitError(line, "the nesting of elements", int64(r.maxDepth), "limits.depth")
			}
			r.stack = append(r.stack, frame{name: t.Name, line: line})
		case xml.EndElement:
			if err := r.pop(t, line); err != nil {
				return err
			}
		}
	}
	return nil
}

// limitError is a *formats.LimitError at line: what is past limit n (bytes
// for a "limits..._bytes" setting, else a count).
func (r *Reader) limitError(line int, what string, n int64, setting string) error {
	limit := fmt.Sprint(n, " levels")
	if strings.HasSuffix(setting, "_bytes") {
		limit = formats.Size(n)
	}
	return &formats.LimitError{Pos: formats.Pos{File: r.file, Row: line}, What: what, Limit: limit, Setting: setting}
}

// pop closes the element on top of the stack with end element t, on line,
// and completes the fields that took its text.
func (r *Reader) pop(t xml.EndElement, line int) error {
	depth := len(r.stack)
	if depth == 0 {
		return &xml.SyntaxError{Msg: fmt.Sprintf("</%s> closes an element that was never opened", qname(t.Name)), Line: line}
	}
	if open := r.stack[depth-1]; open.name != t.Name {
		return &xml.SyntaxError{Msg: fmt.Sprintf("element <%s> opened on line %d is closed by </%s>",
			qname(open.name), open.line, qname(t.Name)), Line: line}
	}
	for len(r.active) > 0 && r.active[len(r.active)-1].depth == depth {
		f := r.active[len(r.active)-1].field
		r.vals[f], r.set[f] = string(r.bufs[f]), true
		r.active = r.active[:len(r.active)-1]
	}
	for _, try := range r.stack[depth-1].tries {
		c := try.n.cond
		if try.fresh && r.set[c.field] && strings.TrimSpace(r.vals[c.field]) == c.value {
			continue
		}
		// The condition does not hold (or an earlier element decided):
		// what this element filled in is given back.
		for _, k := range try.took {
			r.set[k], r.vals[k] = false, ""
		}
	}
	r.stack = r.stack[:depth-1]
	return nil
}

func qname(n xml.Name) string {
	if n.Space != "" {
		return n.Space + ":" + n.Local
	}
	return n.Local
}

// record returns the record just completed.
func (r *Reader) record() formats.Record {
	fields := make([]string, r.nfields)
	for i := range fields {
		if r.set[i] {
			fields[i] = r.vals[i]
		} else {
			r.lines[i] = r.recLine
		}
	}
	return formats.Record{Pos: formats.Pos{File: r.file, Row: r.recLine}, Fields: fields}
}

// FieldPos returns the position of field i of the record last returned by
// Read: Row is the line of the element the value came from (the record's
// line when the field is missing), Col is i+1.
func (r *Reader) FieldPos(i int) formats.Pos {
	p := formats.Pos{File: r.file, Row: r.recLine}
	if i >= 0 {
		p.Col = i + 1
		if i < len(r.lines) && r.lines[i] > 0 {
			p.Row = r.lines[i]
		}
	}
	return p
}

func (r *Reader) parseError(line int, err error) error {
	return &formats.ParseError{Pos: formats.Pos{File: r.file, Row: line}, Err: err}
}

// hint is an error message for people that still unwraps to its cause.
type hint struct {
	msg string
	err error
}

func (h *hint) Error() string { return h.msg }
func (h *hint) Unwrap() error { return h.err }

// tokenError turns an error from the decoder into one that says what to fix.
func (r *Reader) tokenError(err error) error {
	var se *xml.SyntaxError
	var le *formats.LimitError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &le):
		if le.Pos.File == "" { // from runLimit, which knows no lines
			line, _ := r.d.InputPos()
			le.Pos = formats.Pos{File: r.file, Row: line}
		}
		return le
	case r.charsetErr != nil:
		return r.parseError(1, r.charsetErr)
	case err == io.EOF || errors.As(err, &se) && se.Msg == "unexpected EOF":
		line, _ := r.d.InputPos()
		msg := "the file ends in the middle of the XML; it may be cut off: ask for the complete file"
		if len(r.stack) > 0 {
			open := r.stack[len(r.stack)-1]
			msg = fmt.Sprintf("the file ends before element <%s> opened on line %d is closed; "+
				"it may be cut off: ask for the complete file", qname(open.name), open.line)
		}
		return r.parseError(line, &hint{msg: msg, err: io.ErrUnexpectedEOF})
	case errors.As(err, &se):
		msg := "the XML is not well-formed: " + se.Msg
		if strings.Contains(se.Msg, "UTF-8") {
			msg += "; the file is probably not UTF-8: save it as UTF-8, or name its encoding in the XML declaration " +
				`(<?xml version="1.0" encoding="windows-1252"?>)`
		} else {
			msg += "; fix the file near this line, or ask the sender for a valid file"
		}
		return r.parseError(se.Line, &hint{msg: msg, err: se})
	case r.in.err != nil && errors.Is(err, r.in.err):
		return fmt.Errorf("xml: reading %s: %w", r.file, err)
	}
	// Other complaints of the decoder, such as an XML version it does
	// not know.
	line, _ := r.d.InputPos()
	msg := "the XML is not well-formed: " + strings.TrimPrefix(err.Error(), "xml: ") +
		"; fix the file near this line, or ask the sender for a valid file"
	return r.parseError(line, &hint{msg: msg, err: err})
}

// trackReader remembers the error of the input, to tell errors reading the
// file from errors in its content.
type trackReader struct {
	r   io.Reader
	err error
}

func (t *trackReader) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	if err != nil && err != io.EOF {
		t.err = err
	}
	return n, err
}
