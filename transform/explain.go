package transform

import (
	"context"
	"errors"
	"io"

	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/parser"

	"github.com/erpipe/erpipe/formats"
	"github.com/erpipe/erpipe/transform/expression"
)

// InputCell is an input value an output column was computed from.
type InputCell struct {
	Field  string      // the template's input field
	Column string      // the header of its column in the file
	Pos    formats.Pos // the cell (Col 0 when the column is missing)
	Text   string      // the cell's text
}

// LookupUse is a LOOKUP an output column went through.
type LookupUse struct {
	Table string
	Key   string // the key looked up, as text
	Found bool   // the key is in the table
	Value string // what the table gives for it
}

// ColumnExplanation says where one output value came from.
type ColumnExplanation struct {
	Table   int    // the output table (a DMF entity), as in Columns
	Column  string // the output column
	Value   string
	Expr    string      // the column's expression
	Via     []string    // the model fields it uses, directly or not
	Inputs  []InputCell // the input cells behind it
	Lookups []LookupUse
}

// Explain says, for each written row of a preview, where each output
// value came from: the input cells behind it (through model fields) and
// the lookups it used. It reads inputPath again; rows are those Preview
// returned for it. The result is indexed like rows; rows that were left
// out have no explanation.
func (t *Template) Explain(ctx context.Context, inputPath string, rows []PreviewRow) ([][]ColumnExplanation, error) {
	src, err := t.open(inputPath, &Result{})
	if err != nil {
		return nil, err
	}
	defer src.close()
	out := make([][]ColumnExplanation, len(rows))
	tables := t.tables()
	var ev expression.Evaluator
	for i, row := range rows {
		if row.Values == nil {
			continue
		}
		// Find the row's record.
		var rec formats.Record
		for {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			rec, err = src.r.Read()
			if errors.Is(err, io.EOF) {
				return out, nil
			}
			if err != nil {
				continue
			}
			if rec.Pos.Row == row.Pos.Row && rec.Pos.Sheet == row.Pos.Sheet {
				break
			}
		}
		env, cells := t.explainEnv(&ev, src, rec)
		for ti, tb := range tables {
			for ci, c := range tb.columns {
				e := ColumnExplanation{Table: ti, Column: c.Name, Expr: c.Prog.Src}
				if ti < len(row.Values) && ci < len(row.Values[ti]) {
					e.Value = row.Values[ti][ci]
				}
				t.trace(&ev, c.Prog, env, cells, &e, map[string]bool{})
				out[i] = append(out[i], e)
			}
		}
	}
	return out, nil
}

// explainEnv computes the fields of one record as process does.
func (t *Template) explainEnv(ev *expression.Evaluator, src *source, rec formats.Record) (map[string]any, map[string]InputCell) {
	env := make(map[string]any, len(t.vars))
	cells := map[string]InputCell{}
	for i, f := range t.input.fields {
		j := src.idx[i]
		cell := InputCell{Field: f.Name, Column: f.Column, Pos: rec.Pos}
		if j >= 0 && j < len(rec.Fields) {
			cell.Text = rec.Fields[j]
			cell.Pos = src.r.FieldPos(j)
		}
		cells[f.Name] = cell
		v, err := f.Parse(cell.Text, src.fromExcel)
		if err != nil {
			v = nil
		}
		env[f.Name] = v
	}
	for _, m := range t.model {
		v, err := ev.Eval(m.prog, env)
		if err != nil {
			v = nil
		}
		env[m.name] = v
	}
	return env, cells
}

// trace adds to e the inputs, model fields and lookups behind prog.
func (t *Template) trace(ev *expression.Evaluator, prog *expression.Program, env map[string]any, cells map[string]InputCell, e *ColumnExplanation, seen map[string]bool) {
	if prog == nil {
		return
	}
	for _, l := range lookupCalls(prog.Src) {
		use := LookupUse{Table: l.table}
		if kp, probs := expression.Compile(l.keySrc, &expression.Env{Vars: t.vars, Lookups: t.lookups}); len(probs) == 0 {
			if k, err := ev.Eval(kp, env); err == nil {
				use.Key = expression.Text(k)
				use.Value, use.Found = t.lookups[l.table][use.Key]
			}
		}
		e.Lookups = append(e.Lookups, use)
	}
	for _, name := range prog.Idents {
		if seen[name] {
			continue
		}
		seen[name] = true
		if c, ok := cells[name]; ok {
			e.Inputs = append(e.Inputs, c)
			continue
		}
		for _, m := range t.model {
			if m.name == name {
				e.Via = append(e.Via, name)
				t.trace(ev, m.prog, env, cells, e, seen)
			}
		}
	}
}

// lookupCall is one LOOKUP("table", key, ...) in an expression.
type lookupCall struct {
	table, keySrc string
}

// lookupCalls finds the LOOKUP calls of src.
func lookupCalls(src string) []lookupCall {
	tree, err := parser.Parse(src)
	if err != nil {
		return nil
	}
	var calls []lookupCall
	ast.Find(tree.Node, func(n ast.Node) bool {
		c, ok := n.(*ast.CallNode)
		if !ok || len(c.Arguments) < 2 {
			return false
		}
		if id, ok := c.Callee.(*ast.IdentifierNode); !ok || id.Value != "LOOKUP" {
			return false
		}
		s, ok := c.Arguments[0].(*ast.StringNode)
		if !ok {
			return false
		}
		calls = append(calls, lookupCall{table: s.Value, keySrc: c.Arguments[1].String()})
		return false
	})
	return calls
}

// TableNames names the output tables of Columns: each DMF entity's name,
// or "output" for a single file.
func (t *Template) TableNames() []string {
	tables := t.tables()
	out := make([]string, len(tables))
	for i := range tables {
		out[i] = "output"
		if t.output.kind == "dmf" && i < len(t.output.dmfEntities) {
			out[i] = "entity " + t.output.dmfEntities[i].entity.Name
		}
	}
	return out
}
