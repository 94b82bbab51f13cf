package transform

import (
	"bufio"
	"errors"
	"os"
	"path/filepath"

	"gopkg.in/yaml.v3"

	"github.com/erpipe/erpipe/formats"
	"github.com/erpipe/erpipe/formats/fixedwidth"
	"github.com/erpipe/erpipe/transform/template"
)

// Fixed-width text in (input.format fixed_width) and out
// (output.fixed_width): the layouts are transform/layout's, the reading
// and writing formats/fixedwidth's.

// checkFixedInput checks input.format fixed_width against its layout:
// the section is given, and each field names a field of the layout.
func (tl *templateLoader) checkFixedInput(n, fieldsNode *yaml.Node) {
	in := &tl.t.input
	if in.format != template.FormatFixedWidth {
		if in.fixed != nil {
			tl.Errorf(n, "input: fixed_width is read with format: fixed_width")
		}
		return
	}
	if in.fixed == nil {
		tl.Errorf(n, "input: format fixed_width needs fixed_width, the layout of the file's records")
		return
	}
	l := in.fixed.Layout
	rec := l.RecordIndex(in.fixed.Record)
	if rec < 0 && len(l.Records) == 1 {
		rec = 0
	}
	if rec < 0 || fieldsNode == nil || tl.Errs != nil {
		return // reported already
	}
	for _, it := range tl.List(fieldsNode, "input.fields") {
		at, ref := fieldColumn(it)
		if at == nil {
			continue
		}
		if _, _, err := l.ResolveField(rec, ref); err != nil {
			tl.Errorf(at, "input.fields: %v", err)
		}
	}
}

// fieldColumn is the node and text of an input field's column, or of its
// name when it has none.
func fieldColumn(item *yaml.Node) (*yaml.Node, string) {
	var name *yaml.Node
	item = template.Resolve(item)
	for i := 0; i+1 < len(item.Content); i += 2 {
		switch item.Content[i].Value {
		case "column":
			return item.Content[i+1], item.Content[i+1].Value
		case "name":
			name = item.Content[i+1]
		}
	}
	if name == nil {
		return nil, ""
	}
	return name, name.Value
}

// openFixed opens a fixed-width input for s.
func (t *Template) openFixed(inputPath string, res *Result, s *source) error {
	f, err := os.Open(inputPath)
	if err != nil {
		return t.fileError(s.pos, err, "check that the file exists and can be read")
	}
	s.closers = append(s.closers, f)
	in := &t.input
	cols := make([]string, len(in.fields))
	for i, fd := range in.fields {
		cols[i] = fd.Column
	}
	r, err := fixedwidth.NewRecords(bufio.NewReaderSize(res.counted(f), 64<<10), in.fixed.Layout, fixedwidth.RecordOptions{
		Options: fixedwidth.Options{File: filepath.Base(inputPath), Limits: t.limits}, Record: in.fixed.Record, Fields: cols, Attach: in.fixed.Attach})
	if err != nil {
		s.close()
		return t.fileError(s.pos, err, "check input.fixed_width in the template")
	}
	s.r = r
	s.idx = make([]int, len(in.fields))
	for i := range s.idx {
		s.idx[i] = i
	}
	return nil
}

// fixedHint is what to do about an error reading a fixed-width file.
func fixedHint(err error) string {
	var pe *formats.ParseError
	if errors.As(err, &pe) && pe.Pos.Col > 0 {
		return "correct the file at that line and column, or ask its sender for a corrected file; the template's input.fixed_width says what each position holds"
	}
	return "check that the file is the fixed-width format the template reads"
}
