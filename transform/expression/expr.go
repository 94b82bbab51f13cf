package expression

import (
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"sync"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/vm"
	"github.com/shopspring/decimal"
)

// Expressions are compiled with expr-lang/expr, sandboxed: its builtins are
// disabled, so an expression sees only the template's fields and the
// function library. Because fields are typed only at run time (a blank cell
// is nil), the operators are not left to expr: a patch rewrites every
// arithmetic and comparison operator into a call of a function that
// dispatches on the values (see values.go), float literals into exact
// decimal constants, && || ! and the condition of IF and ?: into calls
// that accept blank as false, and IF(c, a, b) into expr's lazy conditional,
// so only the branch taken is evaluated.

// opFuncs maps operators to the functions that implement them.
var opFuncs = map[string]string{
	"+": "__add", "-": "__sub", "*": "__mul", "/": "__div", "%": "__mod", "**": "__pow", "^": "__pow",
	"==": "__eq", "!=": "__ne", "<": "__lt", "<=": "__le", ">": "__gt", ">=": "__ge",
	// expr's own checker refuses these on a field's value, whose type it
	// does not know: "mismatched types unknown and string".
	"matches": "__matches", "contains": "__contains", "startsWith": "__startswith", "endsWith": "__endswith",
}

// directFuncs are the functions of opOptions by name, for the direct
// evaluator (see direct below).
var directFuncs = map[string]func(args ...any) (any, error){}

// fnOption registers a function with expr, and for the direct evaluator.
func fnOption(name string, fn func(args ...any) (any, error), types ...any) expr.Option {
	directFuncs[name] = fn
	return expr.Function(name, fn, types...)
}

// opOptions are the expr options every expression is compiled with.
var opOptions = func() []expr.Option {
	opts := []expr.Option{expr.DisableAllBuiltins(), expr.MaxNodes(10000)}
	for _, op := range []string{"+", "-", "*", "/", "%", "**"} {
		op := op
		opts = append(opts, fnOption(opFuncs[op], func(args ...any) (any, error) {
			return arith(op, args[0], args[1])
		}, new(func(any, any) any)))
	}
	opts = append(opts,
		fnOption("__eq", func(args ...any) (any, error) { return equal(args[0], args[1]) }, new(func(any, any) bool)),
		fnOption("__ne", func(args ...any) (any, error) {
			eq, err := equal(args[0], args[1])
			return !eq, err
		}, new(func(any, any) bool)),
		fnOption("__neg", func(args ...any) (any, error) { return negate(args[0]) }, new(func(any) any)),
		fnOption("__not", func(args ...any) (any, error) {
			b, err := Truth(args[0])
			return !b, err
		}, new(func(any) bool)),
		fnOption("__bool", func(args ...any) (any, error) { return Truth(args[0]) }, new(func(any) bool)),
	)
	opts = append(opts,
		fnOption("__matches", func(args ...any) (any, error) { return matches(args[0], args[1]) }, new(func(any, any) bool)),
		fnOption("__contains", textPredicate(strings.Contains), new(func(any, any) bool)),
		fnOption("__startswith", textPredicate(strings.HasPrefix), new(func(any, any) bool)),
		fnOption("__endswith", textPredicate(strings.HasSuffix), new(func(any, any) bool)),
	)
	for _, op := range []string{"<", "<=", ">", ">="} {
		op := op
		opts = append(opts, fnOption(opFuncs[op], func(args ...any) (any, error) {
			return Order(op, args[0], args[1])
		}, new(func(any, any) bool)))
	}
	for _, f := range registry {
		if f.fn != nil {
			opts = append(opts, fnOption(f.Name, f.fn))
		}
	}
	return opts
}()

// Env is what an expression may refer to: names of fields, and the
// lookup tables for LOOKUP.
type Env struct {
	Vars    map[string]any      // names an expression may use (values are ignored)
	Types   map[string]NameType // the types of names in Vars (typecheck.go); a name without one may hold anything
	Lookups map[string]map[string]string
	Later   map[string]bool // model fields defined further down, for hints
	Patches []ast.Visitor   // rewrites applied before the operators are (layout aggregates)
}

// Program is one compiled expression.
type Program struct {
	Src    string
	prog   *vm.Program
	Idents []string // names the expression uses, in order of appearance
	ident  string   // when the expression is only a name: the name (eval skips the VM)
	slot   int      // with ident: the name's slot (Bind)
	direct *direct  // the expression for the direct evaluator, or nil (the VM runs it)
	typ    Type     // the kinds of value it may give (typecheck.go)
	decl   string   // with ident: what declares its type (NameType.Decl)
}

// Type returns the kinds of value the expression may give.
func (p *Program) Type() Type { return p.typ }

// Problem is a compile error at a 1-based line and 0-based column of
// the expression text (line 0: unknown).
type Problem struct {
	Line, Col int
	Msg       string
}

// Compile compiles src. Problems are returned with their place in src.
func Compile(src string, env *Env) (*Program, []Problem) {
	if strings.TrimSpace(src) == "" {
		return nil, []Problem{{Msg: "the expression is empty"}}
	}
	p := &patcher{src: []rune(src), env: env}
	opts := make([]expr.Option, 0, len(opOptions)+4)
	opts = append(opts, expr.Env(env.Vars))
	opts = append(opts, opOptions...)
	for _, v := range env.Patches {
		opts = append(opts, expr.Patch(v))
	}
	lookup := lookupFunc(env.Lookups)
	// The types are checked on the expression as written, before the
	// patcher rewrites its operators.
	tc := &typeChecker{env: env, src: p.src, types: map[ast.Node]Type{}}
	opts = append(opts, expr.Function("LOOKUP", lookup), expr.Patch(tc), expr.Patch(p))
	prog, err := expr.Compile(src, opts...)
	probs := p.problems
	if err != nil {
		probs = append(probs, p.translate(err))
	}
	if len(probs) == 0 {
		probs = tc.problems // only when the names and calls are right
	}
	if len(probs) > 0 {
		return nil, dedupe(probs)
	}
	pr := &Program{Src: src, prog: prog, Idents: p.idents, typ: tc.of(tc.root)}
	if name := strings.TrimSpace(src); len(p.idents) == 1 && p.idents[0] == name {
		pr.ident = name // a plain copy of a field, the commonest output column
		pr.decl = env.Types[name].Decl
	} else {
		pr.direct = compileDirect(prog.Node(), env.Vars, lookup)
	}
	return pr, nil
}

// direct is an expression compiled for the direct evaluator: a tree of
// function calls over names and constants, which is what most template
// expressions are once the operators are rewritten into calls (amount > 0,
// ROUND(amount * rate, 2), NUMBERFORMAT(x, "0.00")). It calls the very
// functions the VM calls, with the same arguments in the same order, but
// without the VM's set-up and its allocation per run. Anything else
// (conditionals, member access, ...) is left to the VM.
type direct struct {
	name string // a name of the environment (slot: its slot, slots.go), or
	slot int
	val  any // a constant (when fn is nil and name is ""), or
	fn   func(args ...any) (any, error)
	args []*direct // a call of fn
}

// compileDirect returns the direct form of the (patched) tree n, or nil
// when it has parts the direct evaluator does not do.
func compileDirect(n ast.Node, vars map[string]any, lookup func(args ...any) (any, error)) *direct {
	switch n := n.(type) {
	case *ast.IdentifierNode:
		if _, ok := vars[n.Value]; ok {
			return &direct{name: n.Value}
		}
	case *ast.IntegerNode:
		if t := n.Type(); t == nil || t.Kind() == reflect.Int {
			return &direct{val: n.Value}
		}
	case *ast.StringNode:
		return &direct{val: n.Value}
	case *ast.BoolNode:
		return &direct{val: n.Value}
	case *ast.NilNode:
		return &direct{}
	case *ast.ConstantNode:
		return &direct{val: n.Value}
	case *ast.CallNode:
		id, ok := n.Callee.(*ast.IdentifierNode)
		if !ok {
			return nil
		}
		fn := directFuncs[id.Value]
		if id.Value == "LOOKUP" {
			fn = lookup
		}
		if fn == nil {
			return nil
		}
		d := &direct{fn: fn, args: make([]*direct, len(n.Arguments))}
		for i, a := range n.Arguments {
			if d.args[i] = compileDirect(a, vars, lookup); d.args[i] == nil {
				return nil
			}
		}
		return d
	}
	return nil
}

func dedupe(ps []Problem) []Problem {
	seen := map[Problem]bool{}
	out := ps[:0]
	for _, p := range ps {
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	return out
}

// patcher rewrites the tree as described at the top of this file and
// checks calls of the function library (argument counts, LOOKUP table
// names).
type patcher struct {
	src      []rune
	env      *Env
	problems []Problem
	idents   []string
}

func (p *patcher) problem(loc file.Location, format string, args ...any) {
	line, col := position(p.src, loc.From)
	p.problems = append(p.problems, Problem{Line: line, Col: col, Msg: fmt.Sprintf(format, args...)})
}

// position returns the 1-based line and 0-based column of the rune at
// offset from in src.
func position(src []rune, from int) (line, col int) {
	line = 1
	for i := 0; i < from && i < len(src); i++ {
		if src[i] == '\n' {
			line++
			col = 0
		} else {
			col++
		}
	}
	return line, col
}

func call(name string, loc file.Location, args ...ast.Node) ast.Node {
	callee := &ast.IdentifierNode{Value: name}
	callee.SetLocation(loc)
	n := &ast.CallNode{Callee: callee, Arguments: args}
	n.SetLocation(loc)
	return n
}

func boolNode(b bool, loc file.Location) ast.Node {
	n := &ast.BoolNode{Value: b}
	n.SetLocation(loc)
	return n
}

func conditional(cond, a, b ast.Node, loc file.Location) ast.Node {
	n := &ast.ConditionalNode{Ternary: true, Cond: call("__bool", loc, cond), Exp1: a, Exp2: b}
	n.SetLocation(loc)
	return n
}

// Visit implements ast.Visitor.
func (p *patcher) Visit(node *ast.Node) {
	loc := (*node).Location()
	switch n := (*node).(type) {
	case *ast.FloatNode:
		text := ""
		if loc.From >= 0 && loc.To <= len(p.src) && loc.From < loc.To {
			text = strings.ReplaceAll(string(p.src[loc.From:loc.To]), "_", "")
		}
		d, err := decimal.NewFromString(text)
		if err != nil {
			d = decimal.NewFromFloat(n.Value)
		}
		ast.Patch(node, &ast.ConstantNode{Value: d})
	case *ast.IdentifierNode:
		if strings.HasPrefix(n.Value, "$") {
			p.problem(loc, "unknown name %q; name the field itself", n.Value)
		}
		if _, ok := p.env.Vars[n.Value]; ok {
			p.idents = append(p.idents, n.Value)
		} else if registryByName[n.Value] == nil && directFuncs[n.Value] == nil && !strings.HasPrefix(n.Value, "$") && !p.group(n.Value) {
			// expr's checker misses an unknown name inside a comparison
			// (foo > 1), so names are checked here.
			p.problem(loc, "%s", p.unknownName(n.Value))
		}
	case *ast.MemberNode:
		// period.start: a dotted parameter name (params.go) is one name.
		if name, ok := p.dottedName(n); ok {
			id := &ast.IdentifierNode{Value: name}
			id.SetLocation(loc)
			ast.Patch(node, id)
			if _, ok := p.env.Vars[name]; ok {
				p.idents = append(p.idents, name)
			}
		}
	case *ast.BinaryNode:
		switch n.Operator {
		case "&&", "and":
			*node = conditional(n.Left, call("__bool", loc, n.Right), boolNode(false, loc), loc)
		case "||", "or":
			*node = conditional(n.Left, boolNode(true, loc), call("__bool", loc, n.Right), loc)
		default:
			if fn, ok := opFuncs[n.Operator]; ok {
				if s, isText := n.Right.(*ast.StringNode); isText && n.Operator == "matches" {
					if _, err := regexpOf(s.Value); err != nil {
						p.problem(n.Right.Location(), "%v", err)
					}
				}
				*node = call(fn, loc, n.Left, n.Right)
			}
		}
	case *ast.UnaryNode:
		switch n.Operator {
		case "-":
			*node = call("__neg", loc, n.Node)
		case "!", "not":
			*node = call("__not", loc, n.Node)
		case "+":
			*node = n.Node
		}
	case *ast.ConditionalNode:
		n.Cond = call("__bool", n.Cond.Location(), n.Cond)
	case *ast.CallNode:
		id, ok := n.Callee.(*ast.IdentifierNode)
		if !ok {
			return
		}
		f := registryByName[id.Value]
		if f == nil {
			return
		}
		if len(n.Arguments) < f.MinArgs || f.MaxArgs >= 0 && len(n.Arguments) > f.MaxArgs {
			p.problem(loc, "%s takes %s, not %d; write it as %s", f.Name, argCount(f), len(n.Arguments), f.Signature)
			return
		}
		switch f.Name {
		case "IF":
			*node = conditional(n.Arguments[0], n.Arguments[1], n.Arguments[2], loc)
		case "LOOKUP":
			s, ok := n.Arguments[0].(*ast.StringNode)
			if !ok {
				p.problem(n.Arguments[0].Location(), `the first argument of LOOKUP must be the name of a lookup table in quotes, e.g. LOOKUP("payment_terms", code, "")`)
				return
			}
			if _, ok := p.env.Lookups[s.Value]; !ok {
				p.problem(s.Location(), "unknown lookup table %q%s", s.Value, DidYouMean(s.Value, mapKeys(p.env.Lookups)))
			}
		}
	}
}

// dottedName returns "group.member" when n is group.member and group is
// not a name of the environment but the group of dotted names in it
// (period of period.start), so that a misspelt member is reported as an
// unknown name with a suggestion.
func (p *patcher) dottedName(n *ast.MemberNode) (string, bool) {
	id, ok := n.Node.(*ast.IdentifierNode)
	prop, isStr := n.Property.(*ast.StringNode)
	if !ok || !isStr || n.Method || n.Optional {
		return "", false
	}
	if _, isVar := p.env.Vars[id.Value]; isVar {
		return "", false
	}
	name := id.Value + "." + prop.Value
	if _, ok := p.env.Vars[name]; ok || p.group(id.Value) {
		return name, true
	}
	return "", false
}

// group reports whether name is the group of dotted names in the
// environment (period of period.start).
func (p *patcher) group(name string) bool {
	for v := range p.env.Vars {
		if strings.HasPrefix(v, name+".") {
			return true
		}
	}
	return false
}

func argCount(f *FunctionSpec) string {
	switch {
	case f.MaxArgs < 0:
		return fmt.Sprintf("at least %d arguments", f.MinArgs)
	case f.MinArgs == f.MaxArgs && f.MinArgs == 1:
		return "1 argument"
	case f.MinArgs == f.MaxArgs:
		return fmt.Sprintf("%d arguments", f.MinArgs)
	}
	return fmt.Sprintf("%d to %d arguments", f.MinArgs, f.MaxArgs)
}

// translate turns an expr compile error into a problem with a message for
// finance users.
func (p *patcher) translate(err error) Problem {
	var fe *file.Error
	if !errors.As(err, &fe) {
		return Problem{Msg: err.Error()}
	}
	msg := fe.Message
	if name, ok := strings.CutPrefix(msg, "unknown name "); ok {
		msg = p.unknownName(name)
	} else if _, field, ok := strings.Cut(msg, " has no field "); ok && strings.HasPrefix(msg, "type transform.fileName") {
		msg = fmt.Sprintf("%q is not known; use input.name, input.ext, template.name or template.version", field)
	} else if strings.HasPrefix(msg, "unexpected") {
		msg = "syntax error: " + msg
	}
	return Problem{Line: fe.Line, Col: fe.Column, Msg: msg}
}

func (p *patcher) unknownName(name string) string {
	if p.env.Later[name] {
		return fmt.Sprintf("%q is a model field defined further down; model fields can only use the fields above them, so move it up", name)
	}
	if registryByName[strings.ToUpper(name)] != nil {
		return fmt.Sprintf("unknown name %q (did you mean %q? functions are written in capitals)", name, strings.ToUpper(name))
	}
	if hint := spreadsheetHint(name); hint != "" {
		return fmt.Sprintf("unknown name %q%s", name, hint) // Excel's CONCATENATE
	}
	cands := mapKeys(p.env.Vars)
	if name == strings.ToUpper(name) {
		for _, f := range registry {
			cands = append(cands, f.Name)
		}
	}
	return fmt.Sprintf("unknown name %q%s", name, DidYouMean(name, cands))
}

// mapKeys returns the keys of m, sorted.
func mapKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// A lookup table's settings travel in the table itself, under keys no code
// can have, so that LOOKUP needs nothing else: LookupMissingKey holds
// LookupMissingError when a missing code is an error, LookupDefaultKey
// the value of a missing code.
const (
	LookupMissingKey   = "\x00missing"
	LookupDefaultKey   = "\x00default"
	LookupMissingError = "error"
)

// lookupFunc is LOOKUP(table, key, default) over tables.
func lookupFunc(tables map[string]map[string]string) func(args ...any) (any, error) {
	return func(args ...any) (any, error) {
		name, ok := args[0].(string)
		if !ok {
			return nil, fmt.Errorf("LOOKUP: the table name must be text")
		}
		t, ok := tables[name]
		if !ok {
			return nil, fmt.Errorf("LOOKUP: unknown lookup table %q", name)
		}
		key := Text(args[1])
		if v, ok := t[key]; ok {
			return v, nil
		}
		if t[LookupMissingKey] == LookupMissingError {
			return nil, fmt.Errorf("the code %q is not in the lookup table %q, which says a missing code is an error; add the code to the table or correct the file", key, name)
		}
		if len(args) > 2 {
			return Normalize(args[2]), nil
		}
		if d, ok := t[LookupDefaultKey]; ok {
			return d, nil
		}
		return nil, nil
	}
}

// Evaluator runs programs; it reuses one VM and is not safe for
// concurrent use.
type Evaluator struct {
	vm    vm.VM
	stack []any // arguments of the direct evaluator's calls
}

// Eval runs prog over env and returns its value, normalised to the value
// types of the package. Run-time errors are returned without the
// expression snippet expr adds.
func (e *Evaluator) Eval(prog *Program, env map[string]any) (any, error) {
	if prog.ident != "" {
		return Normalize(env[prog.ident]), nil
	}
	if prog.direct != nil {
		out, err := e.runDirect(prog.direct, env, nil)
		if err != nil {
			return nil, err
		}
		return Normalize(out), nil
	}
	out, err := e.vm.Run(prog.prog, env)
	if err != nil {
		return nil, runtimeError(err)
	}
	return Normalize(out), nil
}

// EvalSlots is Eval over a row's values by slot (Bind); prog must be
// a name or direct.
func (e *Evaluator) EvalSlots(prog *Program, vals []any) (any, error) {
	if prog.ident != "" {
		return Normalize(vals[prog.slot]), nil
	}
	out, err := e.runDirect(prog.direct, nil, vals)
	if err != nil {
		return nil, err
	}
	return Normalize(out), nil
}

// runDirect evaluates d over env, or over vals by slot when vals is not
// nil. Like the VM, it turns a panic of a function into an error.
func (e *Evaluator) runDirect(d *direct, env map[string]any, vals []any) (out any, err error) {
	defer func() {
		if r := recover(); r != nil {
			clear(e.stack)
			e.stack = e.stack[:0]
			if re, ok := r.(error); ok {
				err = re
			} else {
				err = errors.New(fmt.Sprintf("%v", r))
			}
		}
	}()
	return e.call(d, env, vals)
}

func (e *Evaluator) call(d *direct, env map[string]any, vals []any) (any, error) {
	switch {
	case d.fn != nil:
		base := len(e.stack)
		for _, a := range d.args {
			v, err := e.call(a, env, vals)
			if err != nil {
				clear(e.stack[base:])
				e.stack = e.stack[:base]
				return nil, err
			}
			e.stack = append(e.stack, v)
		}
		out, err := d.fn(e.stack[base:]...)
		clear(e.stack[base:])
		e.stack = e.stack[:base]
		return out, err
	case d.name != "":
		if vals != nil {
			return vals[d.slot], nil
		}
		return env[d.name], nil
	}
	return d.val, nil
}

func runtimeError(err error) error {
	var fe *file.Error
	if errors.As(err, &fe) {
		if fe.Prev != nil {
			return fe.Prev
		}
		return errors.New(fe.Message)
	}
	return err
}

// Bind points the names p uses at their slots in slots, so that
// evalSlots can run it over a row's values kept by slot. It reports
// whether p can run that way: false when p is run by the VM or names
// something without a slot.
func (p *Program) Bind(slots map[string]int) bool {
	switch {
	case p.ident != "":
		var has bool
		p.slot, has = slots[p.ident]
		return has
	case p.direct != nil:
		return p.direct.bind(slots)
	}
	return false // run by the VM
}

// bind points the names of d at their slots; it reports whether all of
// them have one.
func (d *direct) bind(slots map[string]int) bool {
	ok := true
	if d.name != "" {
		d.slot, ok = slots[d.name]
	}
	for _, a := range d.args {
		if !a.bind(slots) {
			ok = false
		}
	}
	return ok
}

// regexps are the compiled patterns of matches, by pattern.
var regexps sync.Map

// regexpOf compiles pattern once.
func regexpOf(pattern string) (*regexp.Regexp, error) {
	if re, ok := regexps.Load(pattern); ok {
		return re.(*regexp.Regexp), nil
	}
	re, err := regexp.Compile(pattern)
	if err != nil {
		return nil, fmt.Errorf("%q is not a regular expression: %v", pattern, err)
	}
	regexps.Store(pattern, re)
	return re, nil
}

// matches is the matches operator: whether the text of value has a match
// of the regular expression pattern (anchor it with ^ and $ for the whole
// value). A blank value matches nothing.
func matches(value, pattern any) (bool, error) {
	if value == nil {
		return false, nil
	}
	re, err := regexpOf(argText(pattern))
	if err != nil {
		return false, err
	}
	return re.MatchString(argText(value)), nil
}
