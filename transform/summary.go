package transform

import (
	"context"
	"fmt"
	"io"

	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/parser"
	"gopkg.in/yaml.v3"

	"github.com/erpipe/erpipe/transform/expression"
	"github.com/erpipe/erpipe/transform/template"
)

// A summary value is computed over the whole input before any row is
// processed, and every row's expressions may use it: the period a SAF-T
// file's Company row gives, which decides for every ledger line whether it
// is in the period, whichever row comes first.
//
//	summary:
//	  - name: company_period_start
//	    expr: MIN(file_period_start)
//
// Its expression is one aggregate over an input field: MIN, MAX, SUM,
// COUNT(field) or COUNT(). Blank cells and cells that are not a value of
// the field's type are left out (those rows are rejected anyway). The
// input is read once more for it, before the rows.

// summarySpec is one summary value.
type summarySpec struct {
	name  string
	fn    string // MIN, MAX, SUM or COUNT
	field int    // the input field; -1 for COUNT()
}

var summaryFuncs = map[string]bool{"MIN": true, "MAX": true, "SUM": true, "COUNT": true}

// loadSummary reads summary: after the input fields, before the model.
func (tl *templateLoader) loadSummary(n *yaml.Node) {
	for _, it := range tl.List(n, "summary") {
		var nameNode, exprNode *yaml.Node
		if !tl.Mapping(it, "summary value", map[string]template.KeyHandler{
			"name": func(_, v *yaml.Node) { nameNode = v },
			"expr": func(_, v *yaml.Node) { exprNode = v },
		}, "name", "expr") {
			continue
		}
		name, ok1 := tl.NonEmpty(nameNode, "summary name")
		src, ok2 := tl.NonEmpty(exprNode, "summary expr")
		if !ok1 || !ok2 {
			continue
		}
		spec, err := tl.summaryAggregate(src)
		if err != nil {
			tl.Errorf(exprNode, "summary %s: %v", name, err)
			continue
		}
		if !tl.declare(nameNode, name, "summary value") {
			continue
		}
		switch spec.fn {
		case "COUNT":
			tl.typed(name, expression.KindNumber, "")
		case "SUM":
			tl.typed(name, expression.KindNumber|expression.KindBlank, "")
		default: // MIN and MAX: a value of the field, or blank when it has none
			tl.typed(name, expression.FieldType(tl.t.input.fields[spec.field].Type), "")
		}
		spec.name = name
		tl.t.summary = append(tl.t.summary, spec)
	}
}

// summaryAggregate reads "FN(field)" or "COUNT()".
func (tl *templateLoader) summaryAggregate(src string) (summarySpec, error) {
	bad := fmt.Errorf("write one aggregate over an input field: MIN(field), MAX(field), SUM(field), COUNT(field) or COUNT()")
	tree, err := parser.Parse(src)
	if err != nil {
		return summarySpec{}, bad
	}
	call, ok := tree.Node.(*ast.CallNode)
	if !ok {
		return summarySpec{}, bad
	}
	fn, ok := call.Callee.(*ast.IdentifierNode)
	if !ok || !summaryFuncs[fn.Value] {
		return summarySpec{}, bad
	}
	spec := summarySpec{fn: fn.Value, field: -1}
	switch {
	case len(call.Arguments) == 0 && fn.Value == "COUNT":
		return spec, nil
	case len(call.Arguments) != 1:
		return summarySpec{}, bad
	}
	arg, ok := call.Arguments[0].(*ast.IdentifierNode)
	if !ok {
		return summarySpec{}, bad
	}
	for i, f := range tl.t.input.fields {
		if f.Name == arg.Value {
			spec.field = i
			return spec, nil
		}
	}
	return summarySpec{}, fmt.Errorf("%s is not an input field; a summary is over an input field, as it is read before the model", arg.Value)
}

// summarized returns the template with its summary values computed over
// the input at inputPath, as parameters every expression sees; t itself
// when it has none.
func (t *Template) summarized(ctx context.Context, inputPath string) (*Template, error) {
	if len(t.summary) == 0 {
		return t, nil
	}
	src, err := t.open(inputPath, &Result{})
	if err != nil {
		return nil, err
	}
	defer src.close()
	acc := make([]any, len(t.summary))
	for i, s := range t.summary {
		if s.fn == "COUNT" {
			acc[i] = int64(0)
		}
	}
	for n := 0; ; n++ {
		if n%256 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		rec, err := src.r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			continue // reported by the rows' pass
		}
		for i, s := range t.summary {
			var v any
			if s.field >= 0 {
				j := src.idx[s.field]
				if j < 0 || j >= len(rec.Fields) {
					continue
				}
				if v, err = t.input.fields[s.field].Parse(rec.Fields[j], src.fromExcel); err != nil {
					continue
				}
			}
			if acc[i], err = fold(s.fn, acc[i], v, s.field < 0); err != nil {
				return nil, t.fileError(rec.Pos, fmt.Errorf("summary %s: %w", s.name, err), "check the summary's field")
			}
		}
	}
	cp := *t
	cp.params = make(map[string]any, len(t.params)+len(t.summary))
	for k, v := range t.params {
		cp.params[k] = v
	}
	for i, s := range t.summary {
		cp.params[s.name] = expression.Normalize(acc[i])
	}
	return &cp, nil
}
