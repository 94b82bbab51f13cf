package layout

import (
	"errors"
	"fmt"
	"io"
	"path"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/shopspring/decimal"
	"gopkg.in/yaml.v3"

	"github.com/erpipe/erpipe/formats"
	"github.com/erpipe/erpipe/formats/fixedwidth"
	"github.com/erpipe/erpipe/transform/expression"
	"github.com/erpipe/erpipe/transform/template"
)

// A fixed-width layout (input.fixed_width, output.fixed_width) lists the
// file's record types and their fields by position:
//
//	fixed_width:
//	  discriminator: {start: 1, length: 1}   # where the record type code is
//	  records:
//	    - name: entry
//	      code: "6"
//	      length: 94
//	      write: each                          # output: once per row
//	      fields:
//	        - {name: code, length: 1}
//	        - {name: amount, length: 10, numeric: true, decimals: 2, value: amount}
//
// For output, each record type says when it is written (write: start,
// group_start, each, group_end, end) and each field its value, an
// expression over the row. A group is a run of rows with the same
// group_by values. Control fields (count, sum, hash, blocks) are
// filled by the writer.

// Writing moments of a record type (records[].write).
const (
	WriteStart      = "start"
	WriteGroupStart = "group_start"
	WriteEach       = "each"
	WriteGroupEnd   = "group_end"
	WriteEnd        = "end"
)

// FixedWidth is a fixed-width layout.
type FixedWidth struct {
	Layout *fixedwidth.Layout
	// Record is the record type that makes a row (input).
	Record string
	// Attach are record types that belong to the row before them (input).
	Attach []string

	write   []string                // per record type: when it is written (output)
	when    []*expression.Program   // per record type: the condition it is written on, or nil
	values  [][]*expression.Program // per record type and field: its value, or nil
	groupBy []*expression.Program
	columns []Column // the row's fields the expressions use
	fields  map[string]int
}

// fixedLoader reads one fixed_width section.
type fixedLoader struct {
	l          *Loader
	spec       *FixedWidth
	what       string
	output     bool
	env        *expression.Env // the template's names, and input (file name, modified, id)
	whenNodes  []*yaml.Node    // per record type: its when, or nil
	recNodes   []*yaml.Node
	fldNodes   [][]*yaml.Node
	valueNodes [][]*yaml.Node // per record type and field: its value expression (output)
}

// LoadFixedWidth reads input.fixed_width (output false) or
// output.fixed_width, compiling the output's expressions.
func (l *Loader) LoadFixedWidth(n *yaml.Node, what string, output bool) *FixedWidth {
	spec := &FixedWidth{Layout: &fixedwidth.Layout{}, fields: map[string]int{}}
	fl := &fixedLoader{l: l, spec: spec, what: what, output: output}
	fl.env = &expression.Env{Vars: map[string]any{}, Types: l.Env.Types, Lookups: l.Env.Lookups, Later: l.Env.Later}
	for k, v := range l.Env.Vars {
		fl.env.Vars[k] = v
	}
	if _, taken := fl.env.Vars["input"]; !taken {
		fl.env.Vars["input"] = layoutInput{}
	}
	lay := spec.Layout
	var records, groupBy, recordNode, attachNode *yaml.Node
	handlers := map[string]template.KeyHandler{
		"encoding": func(_, v *yaml.Node) { lay.Encoding, _ = l.OneOf(v, what+".encoding", fixedwidth.Encodings...) },
		"line_ending": func(_, v *yaml.Node) {
			lay.LineEnding, _ = l.OneOf(v, what+".line_ending", fixedwidth.LF, fixedwidth.CRLF, fixedwidth.None)
		},
		"discriminator": func(_, v *yaml.Node) {
			l.Mapping(v, what+".discriminator", map[string]template.KeyHandler{
				"start":  func(_, v *yaml.Node) { lay.CodeStart, _ = l.Int(v, what+".discriminator.start", 1, 100000) },
				"length": func(_, v *yaml.Node) { lay.CodeLength, _ = l.Int(v, what+".discriminator.length", 1, 100) },
			}, "start", "length")
		},
		"block": func(_, v *yaml.Node) {
			l.Mapping(v, what+".block", map[string]template.KeyHandler{
				"lines": func(_, v *yaml.Node) { lay.BlockLines, _ = l.Int(v, what+".block.lines", 1, 1000) },
				"fill":  func(_, v *yaml.Node) { lay.BlockFill = fl.char(v, what+".block.fill") },
			}, "lines")
		},
		"records": func(_, v *yaml.Node) { records = v },
		"group_by": func(k, v *yaml.Node) {
			if fl.only(k, true) {
				groupBy = v
			}
		},
		"record": func(k, v *yaml.Node) {
			if fl.only(k, false) {
				recordNode = v
				spec.Record, _ = l.NonEmpty(v, what+".record")
			}
		},
		"attach": func(k, v *yaml.Node) {
			if fl.only(k, false) {
				attachNode = v
				spec.Attach, _ = l.StrList(v, what+".attach")
			}
		},
	}
	if !l.Mapping(n, what, handlers, "records") {
		return spec
	}
	for _, r := range l.List(records, what+".records") {
		fl.record(r)
	}
	fl.compile(n)
	if output {
		fl.groups(groupBy)
		fl.checkWrites(n)
	} else if spec.Record == "" && len(lay.Records) > 1 {
		l.Errorf(n, "%s: give record, the record type that makes a row (e.g. the detail line)", what)
	} else if spec.Record != "" && lay.RecordIndex(spec.Record) < 0 && len(lay.Records) > 0 {
		l.Errorf(recordNode, "%s.record: %q is not one of the record types listed", what, spec.Record)
	}
	for _, a := range spec.Attach {
		if lay.RecordIndex(a) < 0 || a == spec.Record {
			l.Errorf(attachNode, "%s.attach: %q is not one of the record types listed other than the row's", what, a)
		}
	}
	return spec
}

// only reports key k when it is given where it has no use: output
// says whether it belongs to output.fixed_width, else to input.
func (fl *fixedLoader) only(k *yaml.Node, output bool) bool {
	switch {
	case output && !fl.output:
		fl.l.Errorf(k, "%s: %s is for output.fixed_width; a layout that is read has none", fl.what, k.Value)
		return false
	case !output && fl.output:
		fl.l.Errorf(k, "%s: %s is for input.fixed_width; leave it out of an output", fl.what, k.Value)
		return false
	}
	return true
}

func (fl *fixedLoader) char(v *yaml.Node, what string) rune {
	s, ok := fl.l.Str(v, what)
	if !ok {
		return 0
	}
	if utf8.RuneCountInString(s) != 1 {
		fl.l.Errorf(v, "%s must be one character, such as \" \" or \"0\", not %q", what, s)
		return 0
	}
	r, _ := utf8.DecodeRuneInString(s)
	return r
}

func (fl *fixedLoader) record(n *yaml.Node) {
	l, what := fl.l, fl.what+".records"
	rec := fixedwidth.Record{}
	write := ""
	var fields, when *yaml.Node
	handlers := map[string]template.KeyHandler{
		"name":   func(_, v *yaml.Node) { rec.Name, _ = l.NonEmpty(v, "record type name") },
		"code":   func(_, v *yaml.Node) { rec.Code, _ = l.Str(v, "record type code") },
		"length": func(_, v *yaml.Node) { rec.Length, _ = l.Int(v, "record length", 1, 100000) },
		"fields": func(_, v *yaml.Node) { fields = v },
		"write": func(k, v *yaml.Node) {
			if fl.only(k, true) {
				write, _ = l.OneOf(v, "write", WriteStart, WriteGroupStart, WriteEach, WriteGroupEnd, WriteEnd)
			}
		},
		"when": func(k, v *yaml.Node) {
			if fl.only(k, true) {
				when = v
			}
		},
	}
	if !l.Mapping(n, what+" item", handlers, "name", "fields") {
		return
	}
	var nodes []*yaml.Node
	var progs []*yaml.Node
	for _, f := range l.List(fields, what+"[].fields") {
		fd, value := fl.field(f)
		rec.Fields = append(rec.Fields, fd)
		nodes, progs = append(nodes, f), append(progs, value)
	}
	fl.spec.Layout.Records = append(fl.spec.Layout.Records, rec)
	fl.spec.write = append(fl.spec.write, write)
	fl.whenNodes = append(fl.whenNodes, when)
	fl.recNodes = append(fl.recNodes, n)
	fl.fldNodes = append(fl.fldNodes, nodes)
	fl.valueNodes = append(fl.valueNodes, progs)
}

// field reads one field; value is its value expression's node (output).
func (fl *fixedLoader) field(n *yaml.Node) (f fixedwidth.Field, value *yaml.Node) {
	l := fl.l
	var ctrl fixedwidth.Control
	hasCtrl := false
	handlers := map[string]template.KeyHandler{
		"name":     func(_, v *yaml.Node) { f.Name, _ = l.NonEmpty(v, "field name") },
		"start":    func(_, v *yaml.Node) { f.Start, _ = l.Int(v, "start", 1, 100000) },
		"length":   func(_, v *yaml.Node) { f.Length, _ = l.Int(v, "length", 1, 100000) },
		"align":    func(_, v *yaml.Node) { f.Align, _ = l.OneOf(v, "align", "left", "right") },
		"pad":      func(_, v *yaml.Node) { f.Pad = fl.char(v, "pad") },
		"numeric":  func(_, v *yaml.Node) { f.Numeric, _ = l.Bool(v, "numeric") },
		"decimals": func(_, v *yaml.Node) { f.Decimals, _ = l.Int(v, "decimals", 0, 18) },
		"sign": func(_, v *yaml.Node) {
			f.Sign, _ = l.OneOf(v, "sign", fixedwidth.SignNone, fixedwidth.SignLeading, fixedwidth.SignTrailing, fixedwidth.SignOverpunch)
		},
		"truncate": func(_, v *yaml.Node) { f.Truncate, _ = l.Bool(v, "truncate") },
		"text":     func(_, v *yaml.Node) { f.Value, _ = l.NonEmpty(v, "text") },
		"count":    func(_, v *yaml.Node) { ctrl.Count, _ = l.StrList(v, "count"); hasCtrl = true },
		"sum":      func(_, v *yaml.Node) { ctrl.Sum, _ = l.NonEmpty(v, "sum"); hasCtrl = true },
		"hash":     func(_, v *yaml.Node) { ctrl.Hash, _ = l.NonEmpty(v, "hash"); hasCtrl = true },
		"blocks":   func(_, v *yaml.Node) { ctrl.Blocks, _ = l.Bool(v, "blocks"); hasCtrl = true },
		"scope":    func(_, v *yaml.Node) { ctrl.Scope, _ = l.NonEmpty(v, "scope") },
		"where":    func(_, v *yaml.Node) { ctrl.Where, _ = l.NonEmpty(v, "where") },
		"in":       func(_, v *yaml.Node) { ctrl.In, _ = l.StrList(v, "in") },
		"value": func(k, v *yaml.Node) {
			if fl.only(k, true) {
				value = v
			}
		},
	}
	l.Mapping(n, "field", handlers, "name", "length")
	if hasCtrl {
		f.Control = &ctrl
	} else if ctrl.Scope != "" || ctrl.Where != "" || ctrl.In != nil {
		l.Errorf(n, "field %q: scope, where and in are for control fields (count, sum, hash)", f.Name)
	}
	if value != nil && (hasCtrl || f.Value != "") {
		l.Errorf(value, "field %q: value is for data fields; a text or control field is filled by itself", f.Name)
		value = nil
	}
	return f, value
}

// compile checks the layout and compiles the value expressions.
func (fl *fixedLoader) compile(n *yaml.Node) {
	spec, l := fl.spec, fl.l
	for _, e := range spec.Layout.Compile() {
		at := n
		switch {
		case e.Record >= 0 && e.Field >= 0 && e.Record < len(fl.fldNodes) && e.Field < len(fl.fldNodes[e.Record]):
			at = fl.fldNodes[e.Record][e.Field]
		case e.Record >= 0 && e.Record < len(fl.recNodes):
			at = fl.recNodes[e.Record]
		}
		l.Errorf(at, "%s: %s", fl.what, e.Msg)
	}
	spec.values = make([][]*expression.Program, len(spec.Layout.Records))
	spec.when = make([]*expression.Program, len(spec.Layout.Records))
	for ri, rec := range spec.Layout.Records {
		if fl.output && fl.whenNodes[ri] != nil {
			if p := fl.compileValue(fl.whenNodes[ri], fl.what+" record "+rec.Name+" when"); p != nil && l.Condition(fl.whenNodes[ri], fl.what+" record "+rec.Name+" when", p) {
				spec.when[ri] = p
			}
		}
		spec.values[ri] = make([]*expression.Program, len(rec.Fields))
		for fi := range rec.Fields {
			if fl.output && fl.valueNodes[ri][fi] != nil {
				spec.values[ri][fi] = fl.compileValue(fl.valueNodes[ri][fi], fl.what+" field "+rec.Name+"."+rec.Fields[fi].Name)
			}
		}
	}
}

// compileValue compiles an expression of the layout; the row's fields it
// uses become columns.
func (fl *fixedLoader) compileValue(n *yaml.Node, what string) *expression.Program {
	prog := fl.l.Compile(n, what, fl.env)
	if prog == nil {
		return nil
	}
	for _, id := range prog.Idents {
		if _, done := fl.spec.fields[id]; done {
			continue
		}
		if _, isParam := fl.l.Params[id]; isParam || id == "input" {
			continue
		}
		if _, ok := fl.l.Env.Vars[id]; !ok {
			continue
		}
		if p, _ := expression.Compile(id, fl.l.Env); p != nil {
			fl.spec.fields[id] = len(fl.spec.columns)
			fl.spec.columns = append(fl.spec.columns, Column{Name: id, Prog: p})
		}
	}
	return prog
}

func (fl *fixedLoader) groups(n *yaml.Node) {
	if n == nil {
		return
	}
	var items []*yaml.Node
	if template.Resolve(n).Kind == yaml.SequenceNode {
		items = fl.l.List(n, fl.what+".group_by")
	} else {
		items = []*yaml.Node{n}
	}
	for _, it := range items {
		if prog := fl.compileValue(it, fl.what+".group_by"); prog != nil {
			fl.spec.groupBy = append(fl.spec.groupBy, prog)
		}
	}
}

// checkWrites checks that each record type says when it is written.
func (fl *fixedLoader) checkWrites(n *yaml.Node) {
	each := false
	for ri, w := range fl.spec.write {
		rec := fl.spec.Layout.Records[ri]
		switch {
		case w == "":
			fl.l.Errorf(fl.recNodes[ri], "%s: record type %q: say when it is written: write: start, group_start, each, group_end or end", fl.what, rec.Name)
		case (w == WriteGroupStart || w == WriteGroupEnd) && len(fl.spec.groupBy) == 0:
			fl.l.Errorf(fl.recNodes[ri], "%s: record type %q is written at each %s, but the layout has no group_by", fl.what, rec.Name, w)
		case w == WriteEach:
			each = true
		}
	}
	if !each && len(fl.spec.write) > 0 {
		fl.l.Errorf(n, "%s: no record type is written for each row (write: each)", fl.what)
	}
}

// Columns are the fields of the row the layout's expressions use.
func (spec *FixedWidth) Columns() []Column { return spec.columns }

// Describe says what the output is, e.g. " (4 record types)".
func (spec *FixedWidth) Describe() string {
	return fmt.Sprintf(" (%d record types)", len(spec.Layout.Records))
}

// FixedRun writes a fixed-width file as rows come: the start records
// with the first row, a group's start records with its first row, each
// row's records, and the end records of a group when the next row is of
// another group (or the input ends), with the values of its last row.
type FixedRun struct {
	spec *FixedWidth
	w    *fixedwidth.Writer
	env  map[string]any
	prev []string // the previous row's columns (encoded)
	pos  formats.Pos
	key  string
	vals []string
	rows int
}

// NewRun starts writing to w. src gives the parameters and what
// input.name, input.modified and input.id are.
func (spec *FixedWidth) NewRun(w io.Writer, src Source) *FixedRun {
	ext := path.Ext(src.File)
	x := &FixedRun{spec: spec, w: fixedwidth.NewWriter(w, spec.Layout), env: make(map[string]any, len(src.Params)+len(spec.columns)+1)}
	for k, v := range src.Params {
		x.env[k] = v
	}
	x.env["input"] = layoutInput{Name: strings.TrimSuffix(src.File, ext), Ext: ext, Modified: src.Modified.UTC().Truncate(time.Second), ID: src.ID}
	return x
}

// Add writes the records of one row; values are its columns, encoded
// (EncodeValue).
func (x *FixedRun) Add(pos formats.Pos, values []string) error {
	if x.rows > 0 && len(x.spec.groupBy) > 0 {
		if err := x.setRow(pos, values); err != nil {
			return err
		}
	}
	key, err := x.groupKey(pos, values)
	if err != nil {
		return err
	}
	if x.rows > 0 && key != x.key {
		if err := x.writeAll(WriteGroupEnd, x.pos, x.prev); err != nil {
			return err
		}
	}
	if x.rows == 0 {
		if err := x.writeAll(WriteStart, pos, values); err != nil {
			return err
		}
	}
	if x.rows == 0 || key != x.key {
		if err := x.writeAll(WriteGroupStart, pos, values); err != nil {
			return err
		}
	}
	if err := x.writeAll(WriteEach, pos, values); err != nil {
		return err
	}
	x.rows++
	x.key, x.pos = key, pos
	x.prev = append(x.prev[:0], values...)
	return nil
}

// setRow puts a row's fields in the environment of the expressions.
func (x *FixedRun) setRow(pos formats.Pos, values []string) error {
	for i, c := range x.spec.columns {
		v, err := decodeValue(values[i])
		if err != nil {
			return &template.FieldError{Pos: pos, Severity: template.SeverityError, Err: err}
		}
		x.env[c.Name] = v
	}
	return nil
}

func (x *FixedRun) groupKey(pos formats.Pos, values []string) (string, error) {
	if err := x.setRow(pos, values); err != nil {
		return "", err
	}
	var b strings.Builder
	var ev expression.Evaluator
	for _, p := range x.spec.groupBy {
		v, err := ev.Eval(p, x.env)
		if err != nil {
			return "", &template.FieldError{Pos: pos, Severity: template.SeverityError, Err: fmt.Errorf("group_by: %w", err)}
		}
		k := groupKey(EncodeValue(v))
		fmt.Fprintf(&b, "%d:%s", len(k), k)
	}
	return b.String(), nil
}

// Finish writes the last group's and the file's end records and the
// block fill. A file without rows is an error: a bank file with no
// payment in it is never what was meant.
func (x *FixedRun) Finish() error {
	if x.rows == 0 {
		return fmt.Errorf("no row of the input made a record, so no file was written")
	}
	if err := x.writeAll(WriteGroupEnd, x.pos, x.prev); err != nil {
		return err
	}
	if err := x.writeAll(WriteEnd, x.pos, x.prev); err != nil {
		return err
	}
	return x.w.Close()
}

func (x *FixedRun) writeAll(when string, pos formats.Pos, values []string) error {
	set := false
	for ri, w := range x.spec.write {
		if w != when {
			continue
		}
		if !set {
			if err := x.setRow(pos, values); err != nil {
				return err
			}
			set = true
		}
		if err := x.writeRecord(ri, pos); err != nil {
			return err
		}
	}
	return nil
}

func (x *FixedRun) writeRecord(ri int, pos formats.Pos) error {
	rec := &x.spec.Layout.Records[ri]
	x.vals = x.vals[:0]
	var ev expression.Evaluator
	if p := x.spec.when[ri]; p != nil {
		v, err := ev.Eval(p, x.env)
		ok := false
		if err == nil {
			ok, err = expression.Truth(v)
		}
		if err != nil {
			return x.fieldError(pos, rec, -1, fmt.Errorf("record %s: when: %w", rec.Name, err))
		}
		if !ok {
			return nil
		}
	}
	for fi := range rec.Fields {
		s := ""
		if p := x.spec.values[ri][fi]; p != nil {
			v, err := ev.Eval(p, x.env)
			if err == nil {
				s, err = fieldText(&rec.Fields[fi], v)
			}
			if err != nil {
				return x.fieldError(pos, rec, fi, err)
			}
		}
		x.vals = append(x.vals, s)
	}
	if err := x.w.Write(ri, x.vals); err != nil {
		var fe *fixedwidth.FieldError
		if errors.As(err, &fe) {
			return x.fieldError(pos, rec, slices.IndexFunc(rec.Fields, func(f fixedwidth.Field) bool { return f.Name == fe.Field }), fe.Err)
		}
		return err
	}
	return nil
}

// fieldText is the text the writer takes for a field from a value: decimal text for a number, the value's text otherwise.
func fieldText(f *fixedwidth.Field, v any) (string, error) {
	v = expression.Normalize(v)
	if !f.Numeric {
		if t, ok := v.(time.Time); ok {
			return "", fmt.Errorf("the date %s needs a layout: write the field's value as DATEFORMAT(date, \"yyMMdd\"), with the layout the format asks for", t.Format("2006-01-02"))
		}
		return expression.Text(v), nil
	}
	switch n := v.(type) {
	case nil:
		return "", nil
	case int64:
		return decimal.NewFromInt(n).String(), nil
	case decimal.Decimal:
		return n.String(), nil
	case expression.Dec64:
		return n.String(), nil
	case string:
		if _, err := decimal.NewFromString(strings.TrimSpace(n)); err != nil && strings.TrimSpace(n) != "" {
			return "", fmt.Errorf("%q is not a number, and the field is numeric", n)
		}
		return strings.TrimSpace(n), nil
	}
	return "", fmt.Errorf("%s is not a number, and the field is numeric", expression.Text(v))
}

func (x *FixedRun) fieldError(pos formats.Pos, rec *fixedwidth.Record, fi int, err error) error {
	field := ""
	if fi >= 0 {
		field = rec.Name + "." + rec.Fields[fi].Name
	}
	return &template.FieldError{Pos: pos, Severity: template.SeverityError, Field: field, Err: err,
		Hint: "change the value in the input or the field's value in output.fixed_width; the line " + fmt.Sprint(x.w.Lines()+1) + " of the file was not written"}
}
