package transform

import (
	"bufio"
	"os"
	"path/filepath"

	"gopkg.in/yaml.v3"

	fjson "github.com/erpipe/erpipe/formats/json"
	"github.com/erpipe/erpipe/transform/template"
)

// JSON in: input.format json (or auto with input.json), records picked
// by input.json.record, fields by their paths in the record (column).

type jsonInput struct {
	record string // the path of the array of records; "" the document (an array, or JSON Lines)
}

func (tl *templateLoader) loadJSONInput(n *yaml.Node) *jsonInput {
	j := &jsonInput{}
	tl.Mapping(n, "input.json", map[string]template.KeyHandler{
		"record": func(_, v *yaml.Node) {
			j.record, _ = tl.Str(v, "input.json.record")
			if err := fjson.Check(j.record, nil); err != nil {
				tl.Errorf(v, "input.json.record: %v", err)
			}
		},
	})
	return j
}

// checkJSONInput checks the fields' paths, and that format json has its
// section.
func (tl *templateLoader) checkJSONInput(n *yaml.Node) {
	in := &tl.t.input
	if in.format == template.FormatJSON && in.json == nil {
		in.json = &jsonInput{} // the document itself: an array of records, or JSON Lines
	}
	if in.json == nil {
		return
	}
	if fjson.Check(in.json.record, nil) != nil {
		return // reported at the record path
	}
	for _, f := range in.fields {
		if err := fjson.Check(in.json.record, []string{f.Column}); err != nil {
			tl.Errorf(n, "input.fields: field %q: %v", f.Name, err)
		}
	}
}

// openJSON opens a JSON input for s.
func (t *Template) openJSON(inputPath string, res *Result, s *source) error {
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
	r, err := fjson.NewReader(bufio.NewReaderSize(res.counted(f), 64<<10), fjson.Options{File: filepath.Base(inputPath), Record: in.json.record, Fields: cols, Limits: t.limits})
	if err != nil {
		s.close()
		return t.fileError(s.pos, err, "check input.json in the template")
	}
	s.closers = append(s.closers, r)
	s.r = r
	s.idx = make([]int, len(in.fields))
	for i := range s.idx {
		s.idx[i] = i
	}
	return nil
}
