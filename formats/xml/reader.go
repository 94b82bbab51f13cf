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
	Record string
	// Fields are paths relative to the record element: "Amt", "Amt/@Ccy",
	// "NtryDtls/TxDtls/Refs/EndToEndId", "@id", or "." for the record's own
	// text. The first match wins; a missing element yields "".
	Fields []string
}

// Reader reads records. Header returns Options.Fields.
type Reader struct {
	d      *xml.Decoder
	file   string
	header []string

	path     []string // record path, local names
	anyDepth bool     // path matches at any depth ("//")
	root     *node    // what the fields need, from the record element down

	stack    []frame // open elements, from the document root
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
	children map[string]*node
	text     []int
	attrs    []attrField
}

type attrField struct {
	name  string
	field int
}

// frame is an open element.
type frame struct {
	name  xml.Name
	line  int
	node  *node // inside a record: the field step this element is, if any
	onWay bool  // outside a record, absolute path: the element is on the record path
}

// collector gathers the text of field's element, open at depth.
type collector struct{ field, depth int }

// NewReader returns a Reader of r. It reads up to the root element, so an
// empty document is reported here: a *formats.ParseError wrapping ErrEmpty.
// Malformed input gives a *formats.ParseError, now or from Read; a bad
// record or field path gives a plain error.
func NewReader(r io.Reader, opts Options) (*Reader, error) {
	rd := &Reader{file: opts.File, header: append([]string(nil), opts.Fields...), root: &node{}}
	var err error
	if rd.path, rd.anyDepth, err = parseRecord(opts.Record); err != nil {
		return nil, err
	}
	for i, f := range opts.Fields {
		if err := rd.addField(i, f); err != nil {
			return nil, err
		}
	}
	n := len(opts.Fields)
	rd.vals, rd.set, rd.lines, rd.bufs = make([]string, n), make([]bool, n), make([]int, n), make([][]byte, n)

	var src io.Reader
	rd.in = &trackReader{r: r}
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
			if !rd.anyDepth && t.Name.Local != rd.path[0] {
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
func parseRecord(p string) (path []string, anyDepth bool, err error) {
	p = strings.TrimSpace(p)
	anyDepth = strings.HasPrefix(p, "//")
	for _, s := range strings.Split(strings.TrimLeft(p, "/"), "/") {
		s = strings.TrimSpace(s)
		if s == "" || strings.ContainsAny(s, "@[]()*=.") {
			return nil, false, fmt.Errorf("xml: record path %q: write element names separated by /, "+
				"from the root (Document/Stmt/Ntry) or after // for any depth (//Ntry)", p)
		}
		path = append(path, localName(s))
	}
	return path, anyDepth, nil
}

// addField parses field path p and adds it to the tree of steps as field i.
func (r *Reader) addField(i int, p string) error {
	bad := func(why string) error {
		return fmt.Errorf("xml: field %q: %s; write a path relative to the record such as Amt, Amt/@Ccy, BookgDt/Dt, @id or .", p, why)
	}
	s := strings.TrimSpace(p)
	if s == "" {
		return bad("the path is empty")
	}
	if strings.HasPrefix(s, "/") {
		return bad("the path must not start with /")
	}
	n := r.root
	steps := strings.Split(s, "/")
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
			return nil
		case strings.ContainsAny(step, "@[]()*=") || step == "..":
			return bad(fmt.Sprintf("%q is not supported", step))
		default:
			name := localName(step)
			c := n.children[name]
			if c == nil {
				c = &node{}
				if n.children == nil {
					n.children = map[string]*node{}
				}
				n.children[name] = c
			}
			n = c
		}
	}
	n.text = append(n.text, i)
	return nil
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
			if err = r.pop(t, line); err == nil && depth == r.recDepth {
				r.recDepth = 0
				return r.record(), nil
			}
		case xml.CharData:
			for _, c := range r.active {
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
	if r.recDepth > 0 {
		var n *node
		if top := r.stack[len(r.stack)-1]; top.node != nil {
			n = top.node.children[t.Name.Local]
		}
		r.stack = append(r.stack, frame{name: t.Name, line: line, node: n})
		if n == nil && len(r.active) == 0 {
			return r.skip()
		}
		if n != nil {
			r.enter(n, t, line)
		}
		return nil
	}
	depth := len(r.stack) + 1
	f := frame{name: t.Name, line: line}
	if !r.anyDepth {
		f.onWay = depth <= len(r.path) && t.Name.Local == r.path[depth-1] && (depth == 1 || r.stack[depth-2].onWay)
	}
	r.stack = append(r.stack, f)
	switch {
	case r.isRecord():
		r.recDepth = depth
		r.recLine = line
		clear(r.set)
		r.stack[depth-1].node = r.root
		r.enter(r.root, t, line)
	case !r.anyDepth && !f.onWay:
		return r.skip() // the record can't be inside
	}
	return nil
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
		if open[i].name.Local != name {
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
			r.stack = append(r.stack, frame{name: t.Name, line: line})
		case xml.EndElement:
			if err := r.pop(t, line); err != nil {
				return err
			}
		}
	}
	return nil
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
	fields := make([]string, len(r.vals))
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
	switch {
	case err == nil:
		return nil
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
