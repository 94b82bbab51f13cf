package transform

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"strings"

	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/parser"
	"github.com/shopspring/decimal"
	"gopkg.in/yaml.v3"

	"github.com/erpipe/erpipe/formats"
	"github.com/erpipe/erpipe/internal/extsort"
	"github.com/erpipe/erpipe/transform/expression"
	"github.com/erpipe/erpipe/transform/template"
)

// Group checks. A check is a condition over a group of rows, such as "the
// lines of a voucher balance":
//
//	checks:
//	  - name: voucher-balanced
//	    group_by: voucher
//	    condition: SUM(debit) == SUM(credit)
//	    message: The voucher does not balance; debit and credit must be equal.
//
// The condition uses the aggregates SUM(x), COUNT() or COUNT(x), MIN(x)
// and MAX(x) over the good rows of each group (rows that pass the
// validations and the filter), and nothing else. Run reads the input twice:
// the first pass computes the aggregates of every group (in a map, spilled
// to disk beyond checkGroupBytes, so that memory stays flat however many
// groups there are: see checkgroups.go); the second writes the output and
// rejects every row of a group whose check fails (severity error), or
// warns once per group (severity warning).

// checkAggFuncs are the aggregates a check condition may use, with their
// argument counts.
var checkAggFuncs = map[string][2]int{"SUM": {1, 1}, "COUNT": {0, 1}, "MIN": {1, 1}, "MAX": {1, 1}}

// groupCheck is one loaded check.
type groupCheck struct {
	name     string
	message  string
	severity string
	groupBy  *expression.Program
	field    string // the first field group_by names, for messages
	aggs     []aggregate
	cond     *expression.Program // over the aggregates' variables
}

// aggregate is one aggregate call of a check condition.
type aggregate struct {
	fn   string              // SUM, COUNT, MIN or MAX
	arg  *expression.Program // nil for COUNT()
	text string              // as written, e.g. SUM(debit)
	name string              // the variable cond uses for it
}

// loadChecks reads the checks section.
func (tl *templateLoader) loadChecks(n *yaml.Node) {
	seen := map[string]int{}
	for _, it := range tl.List(n, "checks") {
		c := &groupCheck{severity: template.SeverityError}
		var groupNode, condNode *yaml.Node
		ok := tl.Mapping(it, "check", map[string]template.KeyHandler{
			"name": func(_, v *yaml.Node) {
				c.name, _ = tl.NonEmpty(v, "check name")
				if line, dup := seen[c.name]; dup && c.name != "" {
					tl.Errorf(v, "check name %q is already used on line %d", c.name, line)
				}
				seen[c.name] = v.Line
			},
			"group_by":  func(_, v *yaml.Node) { groupNode = v },
			"condition": func(_, v *yaml.Node) { condNode = v },
			"message":   func(_, v *yaml.Node) { c.message, _ = tl.NonEmpty(v, "message") },
			"severity": func(_, v *yaml.Node) {
				c.severity, _ = tl.OneOf(v, "severity", template.SeverityError, template.SeverityWarning)
			},
		}, "name", "group_by", "condition", "message")
		if !ok || groupNode == nil || condNode == nil {
			continue
		}
		c.groupBy = tl.Compile(groupNode, fmt.Sprintf("check %q group_by", c.name), tl.env)
		if c.groupBy != nil && len(c.groupBy.Idents) > 0 {
			c.field = c.groupBy.Idents[0]
		}
		if !tl.compileCheckCondition(c, condNode) || c.groupBy == nil {
			continue
		}
		tl.t.checks = append(tl.t.checks, c)
	}
}

// compileCheckCondition splits a check's condition into its aggregates,
// each compiled as a row expression, and the condition over them.
func (tl *templateLoader) compileCheckCondition(c *groupCheck, n *yaml.Node) bool {
	what := fmt.Sprintf("check %q condition", c.name)
	src, ok := tl.Str(n, what)
	if !ok {
		return false
	}
	tree, err := parser.Parse(src)
	if err != nil {
		tl.Compile(n, what, tl.env) // reports the syntax error with its place
		return false
	}
	v := &aggVisitor{fields: tl.env.Vars}
	ast.Walk(&tree.Node, v)
	ast.Walk(&tree.Node, outsideVisitor{v}) // fields left once the aggregates are out
	for _, p := range v.problems {
		tl.Errorf(n, "%s: %s", what, p)
	}
	if len(v.problems) > 0 {
		return false
	}
	if len(v.aggs) == 0 {
		tl.Errorf(n, "%s: use SUM(x), COUNT(), MIN(x) or MAX(x); a check is about a group of rows (for one row, write a validation)", what)
		return false
	}
	condEnv := &expression.Env{Vars: map[string]any{}, Types: map[string]expression.NameType{}, Lookups: tl.env.Lookups}
	// Messages about the condition name the aggregates as written, not
	// the variables that stand for them (agg_10 before agg_1).
	names := make([]string, 0, 2*len(v.aggs))
	for i := len(v.aggs) - 1; i >= 0; i-- {
		names = append(names, v.aggs[i].name, v.aggs[i].text)
	}
	asWritten := strings.NewReplacer(names...)
	for i, a := range v.aggs {
		condEnv.Vars[a.name] = nil
		if a.argSrc == "" {
			condEnv.Types[a.name] = expression.NameType{Type: expression.KindNumber}
			c.aggs = append(c.aggs, aggregate{fn: a.fn, text: a.text, name: a.name})
			continue
		}
		prog, probs := expression.Compile(a.argSrc, tl.env)
		for _, p := range probs {
			tl.Errorf(n, "%s: in %s: %s", what, a.text, p.Msg)
		}
		if prog == nil {
			return false
		}
		if msg := aggregateProblem(a.fn, a.argSrc, prog.Type()); msg != "" {
			tl.Errorf(n, "%s: %s", what, msg)
			return false
		}
		condEnv.Types[a.name] = expression.NameType{Type: aggregateType(a.fn, prog.Type())}
		c.aggs = append(c.aggs, aggregate{fn: a.fn, arg: prog, text: a.text, name: v.aggs[i].name})
	}
	cond, probs := expression.Compile(tree.Node.String(), condEnv)
	for _, p := range probs {
		tl.Errorf(n, "%s: %s", what, asWritten.Replace(p.Msg))
	}
	if cond != nil {
		if msg := cond.ConditionProblem(); msg != "" {
			tl.Errorf(n, "%s: %s", what, asWritten.Replace(msg))
			return false
		}
	}
	c.cond = cond
	return cond != nil
}

// aggregateType is the type of fn (SUM, COUNT, MIN, MAX) over values of
// type arg: a group may have no value (fold).
func aggregateType(fn string, arg expression.Type) expression.Type {
	switch fn {
	case "COUNT":
		return expression.KindNumber
	case "SUM":
		return expression.KindNumber | expression.KindBlank
	}
	return arg | expression.KindBlank
}

// aggregateProblem says why fn can't fold values of type arg, the values
// of src, or returns "".
func aggregateProblem(fn, src string, arg expression.Type) string {
	valued := arg &^ expression.KindBlank
	switch {
	case valued == 0:
	case fn == "SUM" && valued&expression.KindNumber == 0:
		return fmt.Sprintf("SUM needs numbers, but %s is %s, so SUM(%s) would fail for every group; convert it with VALUE(%s)", src, valued, src, src)
	case (fn == "MIN" || fn == "MAX") && valued == expression.KindBool:
		return fmt.Sprintf("%s needs values that can be ordered, but %s is true/false", fn, src)
	}
	return ""
}

type aggCall struct {
	fn, argSrc, text, name string
}

// aggVisitor replaces the aggregate calls of a condition with variables
// and refuses fields used outside them.
type aggVisitor struct {
	fields   map[string]any
	aggs     []aggCall
	problems []string
}

// outsideVisitor reports fields used outside the aggregates.
type outsideVisitor struct{ v *aggVisitor }

func (o outsideVisitor) Visit(node *ast.Node) {
	if n, ok := (*node).(*ast.IdentifierNode); ok {
		if _, ok := o.v.fields[n.Value]; ok {
			o.v.problems = append(o.v.problems, fmt.Sprintf("%s is used outside SUM, COUNT, MIN or MAX; a check's condition is about the whole group, so write e.g. SUM(%s) or MAX(%s)", n.Value, n.Value, n.Value))
		}
	}
}

func (v *aggVisitor) Visit(node *ast.Node) {
	switch n := (*node).(type) {
	case *ast.CallNode:
		id, ok := n.Callee.(*ast.IdentifierNode)
		if !ok {
			return
		}
		counts, ok := checkAggFuncs[id.Value]
		if !ok {
			return
		}
		if len(n.Arguments) < counts[0] || len(n.Arguments) > counts[1] {
			v.problems = append(v.problems, fmt.Sprintf("%s takes %d argument(s), not %d", id.Value, counts[1], len(n.Arguments)))
			return
		}
		call := aggCall{fn: id.Value, text: n.String(), name: fmt.Sprintf("agg_%d", len(v.aggs))}
		if len(n.Arguments) == 1 {
			call.argSrc = n.Arguments[0].String()
			if strings.Contains(call.argSrc, "agg_") {
				v.problems = append(v.problems, fmt.Sprintf("%s: aggregates can't be nested", call.text))
				return
			}
		}
		for _, seen := range v.aggs {
			if seen.text == call.text { // the same aggregate twice: one value
				ast.Patch(node, &ast.IdentifierNode{Value: seen.name})
				return
			}
		}
		v.aggs = append(v.aggs, call)
		ast.Patch(node, &ast.IdentifierNode{Value: call.name})
	}
}

// checkRun is the state of a template's checks during one run.
type checkRun struct {
	t          *Template
	collecting bool                     // first pass
	groups     []map[string]*groupState // per check: group key → aggregates, in memory
	spills     []*extsort.Sorter        // per check: its groups spilled to disk; nil for none
	size       int                      // about the memory groups take
	failed     []*failedSet             // per check: the groups that failed
	dir        string                   // the run's temporary folder, once made
	err        error                    // a spill that failed in the first pass
}

// prepareChecks runs the first pass of the template's group checks over
// the input at inputPath. It returns nil when the template has no checks.
func (t *Template) prepareChecks(ctx context.Context, inputPath string) (*checkRun, error) {
	if len(t.checks) == 0 {
		return nil, nil
	}
	res := &Result{}
	src, err := t.open(inputPath, res)
	if err != nil {
		return nil, err
	}
	defer src.close()
	cr := &checkRun{t: t, collecting: true}
	seed := maphash.MakeSeed()
	for range t.checks {
		cr.groups = append(cr.groups, map[string]*groupState{})
		cr.spills = append(cr.spills, nil)
		cr.failed = append(cr.failed, &failedSet{seed: seed})
	}
	src.checks = cr
	src.parallel = true
	err = t.process(ctx, src, res, func(formats.Pos, [][]string) error { return nil })
	src.checks = nil // not closed with the source: the second pass needs it
	if err == nil {
		err = cr.err
	}
	if err == nil {
		err = cr.finish()
	}
	if err != nil {
		cr.close()
		var fe *template.FieldError
		if !errors.As(err, &fe) && ctx.Err() == nil {
			err = t.fileError(src.pos, fmt.Errorf("group checks: %w", err), "check that the temporary folder has room")
		}
		return nil, err
	}
	return cr, nil
}

// finish judges every group's condition and keeps the failures.
func (cr *checkRun) finish() error {
	for i, c := range cr.t.checks {
		if cr.spills[i] != nil {
			if err := cr.judgeSpilled(i, c); err != nil { // checkgroups.go
				return err
			}
		} else {
			for key, st := range cr.groups[i] {
				if err := cr.judge(i, c, key, st); err != nil {
					return err
				}
			}
		}
		cr.groups[i] = nil // the failures are all the second pass needs
		if err := cr.failed[i].seal(); err != nil {
			return err
		}
	}
	cr.collecting = false
	return nil
}

// judge evaluates check i's condition over one group's aggregates, and
// keeps the group with what failed when it does not hold.
func (cr *checkRun) judge(i int, c *groupCheck, key string, st *groupState) error {
	if st.failed != "" {
		return cr.failed[i].add(cr, key, st.failed)
	}
	env := make(map[string]any, len(c.aggs))
	var parts []string
	for j, a := range c.aggs {
		env[a.name] = st.vals[j]
		parts = append(parts, a.text+" = "+showAgg(st.vals[j]))
	}
	var ev expression.Evaluator
	out, err := ev.Eval(c.cond, env)
	var ok bool
	if err == nil {
		ok, err = expression.Truth(out)
	}
	switch {
	case err != nil:
		return cr.failed[i].add(cr, key, fmt.Sprintf("the condition could not be checked: %v (%s)", err, strings.Join(parts, ", ")))
	case !ok:
		return cr.failed[i].add(cr, key, strings.Join(parts, ", "))
	}
	return nil
}

func showAgg(v any) string {
	if v == nil {
		return "blank"
	}
	return expression.Text(v)
}

// checkOut is what one good row gives the group checks, taken on the
// goroutine that evaluates the row and applied in input order (apply): in
// the first pass each check's group and the values its aggregates fold;
// in the second the warnings of failed warning checks, each reported once
// per group.
type checkOut struct {
	parts []checkPart // by check
	warns []checkWarn
}

// checkPart is one row's part in the group of one check.
type checkPart struct {
	ok     bool // the row has a group (its group_by could be computed)
	key    string
	vals   []any  // by aggregate: the value it folds (nil for COUNT())
	failed string // an aggregate could not be computed: the group fails
}

// checkWarn is a warning about a row's group, given once per group.
type checkWarn struct {
	check, idx int
	fe         *template.FieldError
}

// reset empties out for a row.
func (out *checkOut) reset() {
	for i := range out.parts {
		out.parts[i].ok = false
	}
	out.warns = out.warns[:0]
}

// row handles one good row: in the first pass it computes the row's groups
// and the values their aggregates fold, into out; in the second it returns
// the errors of failed error checks, and puts the warnings of failed
// warning checks into out.
func (cr *checkRun) row(ev *expression.Evaluator, env map[string]any, pos formats.Pos, out *checkOut) []*template.FieldError {
	var errs []*template.FieldError
	for len(out.parts) < len(cr.t.checks) {
		out.parts = append(out.parts, checkPart{})
	}
	for i, c := range cr.t.checks {
		kv, err := ev.Eval(c.groupBy, env)
		if err != nil {
			errs = append(errs, &template.FieldError{Pos: pos, Template: cr.t.Name, Rule: c.name, Severity: template.SeverityError,
				Err: fmt.Errorf("group_by: %w", err), Hint: "check the group_by of check " + c.name + " against this row's values"})
			continue
		}
		key := expression.Text(kv)
		if cr.collecting {
			p := &out.parts[i]
			p.ok, p.key, p.vals, p.failed = true, key, p.vals[:0], ""
			for _, a := range c.aggs {
				var v any
				if a.arg != nil {
					if v, err = ev.Eval(a.arg, env); err != nil {
						p.failed = fmt.Sprintf("%s could not be computed: %v", a.text, err)
						break
					}
				}
				p.vals = append(p.vals, v)
			}
			continue
		}
		detail, idx, bad, err := cr.failed[i].lookup(key)
		if err != nil {
			errs = append(errs, &template.FieldError{Pos: pos, Template: cr.t.Name, Rule: c.name, Severity: template.SeverityError,
				Err: fmt.Errorf("the group's result could not be read back: %w", err), Hint: "check that the temporary folder is not cleaned while erpipe runs"})
			continue
		}
		if !bad {
			continue
		}
		fe := &template.FieldError{Pos: pos, Template: cr.t.Name, Rule: c.name, Severity: c.severity, Field: c.field, Value: key,
			Err: fmt.Errorf("%s (%s %q: %s)", c.message, groupWord(c), key, detail)}
		if c.severity == template.SeverityWarning {
			out.warns = append(out.warns, checkWarn{check: i, idx: idx, fe: fe})
			continue
		}
		errs = append(errs, fe)
	}
	return errs
}

// apply applies what a row gave the checks (row), in input order: in the
// first pass it folds the row into its groups; in the second it reports
// the warnings of groups not reported yet.
func (cr *checkRun) apply(out *checkOut, res *Result) {
	if cr.collecting {
		for i := range out.parts {
			if p := &out.parts[i]; p.ok {
				cr.add(i, cr.t.checks[i], p)
			}
		}
		return
	}
	for _, w := range out.warns {
		if cr.failed[w.check].warnedOnce(w.idx) {
			res.addWarning(w.fe)
		}
	}
}

// groupWord names a check's groups in messages: the group_by field when
// it is one, else "group".
func groupWord(c *groupCheck) string {
	if src := strings.TrimSpace(c.groupBy.Src); fieldNameRE.MatchString(src) {
		return src
	}
	return "group"
}

// add folds one row's part into its group's aggregates; an aggregate
// that can't be computed fails the group. Groups beyond checkGroupBytes
// are spilled.
func (cr *checkRun) add(i int, c *groupCheck, p *checkPart) {
	st, ok := cr.groups[i][p.key]
	if !ok {
		st = &groupState{vals: make([]any, len(c.aggs))}
		for j, a := range c.aggs {
			switch a.fn {
			case "COUNT":
				st.vals[j] = int64(0)
			case "SUM":
				st.vals[j] = decimal.Zero // the sum of no amounts
			}
		}
		cr.groups[i][p.key] = st
		cr.size += len(p.key) + groupStateBytes(len(c.aggs))
		defer func() {
			if cr.size > checkGroupBytes && cr.err == nil {
				cr.err = cr.spill() // checkgroups.go
			}
		}()
	}
	if st.failed != "" {
		return
	}
	if p.failed != "" {
		st.failed = p.failed
		return
	}
	for j, a := range c.aggs {
		nv, err := fold(a.fn, st.vals[j], p.vals[j], a.arg == nil)
		if err != nil {
			st.failed = fmt.Sprintf("%s could not be computed: %v", a.text, err)
			return
		}
		st.vals[j] = nv
	}
}

// fold adds value v of one row to an aggregate's running value acc.
// Blank values are left out (COUNT() counts every row).
func fold(fn string, acc, v any, countRows bool) (any, error) {
	if fn == "COUNT" {
		if countRows || v != nil {
			return acc.(int64) + 1, nil
		}
		return acc, nil
	}
	if v == nil {
		return acc, nil
	}
	if acc == nil { // MIN and MAX start blank; SUM starts at 0
		return v, nil
	}
	switch fn {
	case "SUM":
		a, _ := expression.ToDecimal(acc)
		b, ok := expression.ToDecimal(v)
		if !ok {
			return nil, fmt.Errorf("SUM needs numbers, got %s %s", expression.KindName(v), expression.Show(v))
		}
		return a.Add(b), nil
	case "MIN", "MAX":
		op := ">"
		if fn == "MIN" {
			op = "<"
		}
		better, err := expression.Order(op, v, acc)
		if err != nil {
			return nil, err
		}
		if better {
			return v, nil
		}
		return acc, nil
	}
	return nil, errors.New("unknown aggregate " + fn)
}
