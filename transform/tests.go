package transform

import (
	"io/fs"
	"path"

	"github.com/erpipe/erpipe/transform/template"
	"gopkg.in/yaml.v3"
)

// TestCase is one entry of a template's tests: an input file and what the
// template must make of it. Paths are relative to the template file.
type TestCase struct {
	Name   string // the input's base name when not given
	Input  string
	Expect string // a file or folder of expected output; "" when Error is given
	Error  string // a part of the message the run must give
	Line   int    // where the case is in the template
}

// Tests returns the template's test cases (its tests: key), in file order.
func (t *Template) Tests() []TestCase { return append([]TestCase(nil), t.tests...) }

// loadTests reads the tests: key. Input files must exist beside the
// template.
func (tl *templateLoader) loadTests() {
	if tl.tests == nil {
		return
	}
	names := map[string]int{}
	for _, it := range tl.List(tl.tests, "tests") {
		var c TestCase
		var inNode, expectNode, errNode *yaml.Node
		ok := tl.Mapping(it, "test", map[string]template.KeyHandler{
			"name":   func(_, v *yaml.Node) { c.Name, _ = tl.NonEmpty(v, "test name") },
			"input":  func(_, v *yaml.Node) { inNode = v; c.Input, _ = tl.NonEmpty(v, "test input") },
			"expect": func(_, v *yaml.Node) { expectNode = v; c.Expect, _ = tl.NonEmpty(v, "test expect") },
			"error":  func(_, v *yaml.Node) { errNode = v; c.Error, _ = tl.NonEmpty(v, "test error") },
		}, "input")
		if !ok || c.Input == "" {
			continue
		}
		c.Line = it.Line
		switch {
		case expectNode != nil && errNode != nil:
			tl.Errorf(errNode, "test %q: give either expect (the output) or error (a part of the message), not both", c.Input)
		case expectNode == nil && errNode == nil:
			tl.Errorf(it, "test %q: say what the run must give: expect: a file or folder of expected output, or error: a part of the expected message", c.Input)
		}
		p := path.Join(tl.dir, c.Input)
		if path.IsAbs(c.Input) || !fs.ValidPath(p) {
			tl.Errorf(inNode, "test input %q must be a path beside the template, such as testdata/customers.csv", c.Input)
			continue
		}
		if _, err := fs.Stat(tl.fsys, p); err != nil {
			tl.Errorf(inNode, "test input %s: %v", c.Input, template.PathCause(err))
		}
		if c.Name == "" {
			c.Name = path.Base(c.Input)
		}
		if line, dup := names[c.Name]; dup {
			tl.Errorf(it, "test %q is already on line %d; give it a name: of its own", c.Name, line)
		}
		names[c.Name] = it.Line
		tl.t.tests = append(tl.t.tests, c)
	}
}
