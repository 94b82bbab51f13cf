package layout

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/erpipe/erpipe/formats"
	"github.com/erpipe/erpipe/schematron"
	"github.com/erpipe/erpipe/transform/template"
)

// The business rules of a document (output.xml.schematron): Schematron
// compiled to XSLT, run by an XSLT 2.0 processor over every document of
// the run at once, after each has passed its schema and control totals. A
// fatal failed assert fails the run as a schema error does, and nothing
// is published; a warning is reported and does not block.

// HasRules reports whether the layout declares business rules, which
// need an XSLT 2.0 processor (schematron.Find).
func (spec *XML) HasRules() bool { return spec.rules != nil }

// CheckRules runs the layout's business rules over the written documents
// (docs: RenderDocs' temporary files, or the one document of Render;
// names: the names they will be published under, for messages). It
// returns the warnings, and as error the first fatal failed assert (with
// how many more there are), or why the rules could not run.
func (x *XMLRun) CheckRules(ctx context.Context, docs, names []string) ([]*template.FieldError, error) {
	r := x.spec.rules
	if r == nil || len(docs) == 0 {
		return nil, nil
	}
	proc, err := schematron.Find()
	if err != nil {
		return nil, &template.FieldError{Pos: formats.Pos{File: x.file}, Template: x.src.Template, Severity: template.SeverityError,
			Err: err, Hint: "nothing was published; install the processor and drop the file again"}
	}
	reports, err := proc.Validate(ctx, r, docs)
	if err != nil {
		if ctx.Err() != nil {
			return nil, err
		}
		return nil, &template.FieldError{Pos: formats.Pos{File: x.file}, Template: x.src.Template, Severity: template.SeverityError,
			Err: err, Hint: "nothing was published"}
	}
	var warnings []*template.FieldError
	var first *template.FieldError
	var others []string // the next fatal asserts, shortly
	fatal := 0
	for i, rep := range reports {
		doc := i
		if !x.spec.perDoc {
			doc = -1
		}
		lines := x.assertLines(rep)
		for k, a := range rep.Asserts {
			fe := x.ruleError(doc, lines[k], filepath.Base(names[i]), a)
			if !a.Fatal() {
				fe.Severity = template.SeverityWarning
				fe.Hint = ""
				warnings = append(warnings, fe)
				continue
			}
			fatal++
			switch {
			case first == nil:
				first = fe
			case len(others) < 5:
				o := a.ID + " in " + filepath.Base(names[i])
				if fe.Pos.Row > 0 {
					o += fmt.Sprintf(" (row %d)", fe.Pos.Row)
				}
				others = append(others, o)
			}
		}
	}
	if first != nil {
		if fatal > 1 {
			first.Hint += fmt.Sprintf(". %d more failed: %s", fatal-1, strings.Join(others, ", "))
			if fatal-1 > len(others) {
				first.Hint += ", ..."
			}
		}
		return warnings, first
	}
	return warnings, nil
}

// assertLines finds the document line of each of a report's asserts, in
// one reading of the document (0 where it can't be found).
func (x *XMLRun) assertLines(rep schematron.Report) []int {
	locs := make([]string, len(rep.Asserts))
	for i, a := range rep.Asserts {
		locs[i] = a.Location
	}
	if len(locs) == 0 {
		return nil
	}
	f, err := os.Open(rep.Doc)
	if err != nil {
		return make([]int, len(locs))
	}
	defer f.Close()
	return schematron.LocateAll(bufio.NewReader(f), locs)
}

// ruleError places a failed assert: the document (name) and its line, the
// input row that wrote that line, and the layout element with the field
// its value comes from.
func (x *XMLRun) ruleError(doc, line int, name string, a schematron.Assert) *template.FieldError {
	fe := &template.FieldError{Pos: formats.Pos{File: x.file, Sheet: x.sheet}, Template: x.src.Template, Severity: template.SeverityError,
		Rule: a.ID, Hint: "nothing was published; correct the input so that the document keeps the rule (" + path.Base(a.Rules) + ")"}
	where := shortLocation(a.Location)
	if line > 0 {
		fe.Pos.Row = x.docRowAt(doc, line)
		where += fmt.Sprintf(", line %d", line)
	}
	if n := x.layoutAt(a.Location); n != nil && n.fieldOf != "" {
		fe.Field = n.fieldOf
		fe.Column = x.src.Columns[n.fieldOf]
	}
	fe.Err = errors.New(a.Text + " (in " + name + " at " + where + ")")
	return fe
}

// shortLocation writes an SVRL location without its namespaces:
// /Invoice[1]/cac:AccountingSupplierParty[1] becomes
// Invoice/AccountingSupplierParty.
func shortLocation(loc string) string {
	steps := schematron.Path(loc)
	if len(steps) == 0 {
		return loc
	}
	return strings.Join(steps, "/")
}

// layoutAt finds the layout element an SVRL location is about, following
// its steps by local name from the root (an element renamed by $name
// matches any name).
func (x *XMLRun) layoutAt(loc string) *xnode {
	steps := schematron.Path(loc)
	n := x.spec.root
	if n == nil || len(steps) == 0 {
		return nil
	}
	for _, s := range steps[1:] {
		var next *xnode
		for _, c := range n.children {
			if localName(c.name) == s {
				next = c
				break
			}
		}
		if next == nil {
			for _, c := range n.children {
				if c.rename != nil {
					next = c
					break
				}
			}
		}
		if next == nil {
			break
		}
		n = next
	}
	return n
}

func localName(name string) string {
	if i := strings.IndexByte(name, ':'); i >= 0 {
		return name[i+1:]
	}
	return name
}
