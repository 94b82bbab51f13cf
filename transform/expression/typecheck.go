package expression

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/expr-lang/expr/ast"
)

// Types. When an expression is compiled, each part of it gets the kinds
// of value it may have at run time, from the types the template declares
// for its names (Env.Types), its literals and the function library
// (FunctionSpec.Args and Result). An operation that fails for every value
// of those kinds is refused with a Problem that says how to fix it:
// comparing a text field with a number, arithmetic on text, a date where
// a number must be, a number used as a condition. Such an expression
// would reject every row that has a value, so it is a mistake in the
// template, found when the template is loaded rather than on every row.
//
// Blank is a kind of its own. Every field may be blank, and the language
// lets blank through nearly everywhere (arithmetic with blank gives blank,
// ordering with blank is false), so only the other kinds decide: an
// operation is refused when no combination of its operands' kinds other
// than blank works. A name without a type in Env.Types may hold anything
// and is never refused.
//
// expr-lang's own checker can't do this: the operators are rewritten into
// calls that dispatch on the values (values.go), decimals are two Go types
// (decimal.Decimal and Dec64), integers and decimals mix, and every name
// may be nil. So the kinds below mirror values.go and the functions'
// argument helpers; TestTypesMatchRuntime and FuzzExpression hold them to
// what evaluation does.

// Type is the set of kinds of value an expression may have.
type Type uint8

// The kinds of value.
const (
	KindBlank  Type = 1 << iota // an empty cell, nil
	KindText                    // string
	KindNumber                  // int64, decimal.Decimal or Dec64
	KindDate                    // time.Time
	KindBool                    // true or false
	// KindAny is every kind: what a name of unknown type may hold.
	KindAny = KindBlank | KindText | KindNumber | KindDate | KindBool
)

var kindOrder = []Type{KindText, KindNumber, KindDate, KindBool, KindBlank}

// String names the kinds other than blank for messages ("text", "a
// number", "text or a number"); "blank" when blank is the only one.
func (t Type) String() string {
	var names []string
	for _, k := range kindOrder {
		if t&k != 0 && k != KindBlank {
			names = append(names, kindPhrase(k))
		}
	}
	switch {
	case len(names) == 0 && t == KindBlank:
		return "blank"
	case len(names) == 0:
		return "nothing"
	case len(names) == 1:
		return names[0]
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

func kindPhrase(k Type) string {
	switch k {
	case KindText:
		return "text"
	case KindNumber:
		return "a number"
	case KindDate:
		return "a date"
	case KindBool:
		return "true/false"
	}
	return "blank"
}

// kinds lists the single kinds of t.
func (t Type) kinds() []Type {
	var out []Type
	for _, k := range kindOrder {
		if t&k != 0 {
			out = append(out, k)
		}
	}
	return out
}

// valued is t without blank: the kinds a value may have when there is one.
func (t Type) valued() Type { return t &^ KindBlank }

// KindOf returns the kind of a value of the package (see Normalize).
func KindOf(v any) Type {
	switch KindName(v) {
	case "blank":
		return KindBlank
	case "text":
		return KindText
	case "number":
		return KindNumber
	case "date":
		return KindDate
	case "true/false":
		return KindBool
	}
	return KindAny
}

// FieldType is the Type of an input field or a parameter of type typ
// (TypeString, TypeDecimal...): a value of that kind, or blank.
func FieldType(typ string) Type {
	switch typ {
	case TypeString:
		return KindText | KindBlank
	case TypeInteger, TypeDecimal:
		return KindNumber | KindBlank
	case TypeDate, TypeDatetime:
		return KindDate | KindBlank
	case TypeBoolean:
		return KindBool | KindBlank
	}
	return KindAny
}

// NameType is the type of a name of an Env.
type NameType struct {
	Type Type
	// Decl is what declares the type in the template, for hints:
	// "field" (input.fields[].type) or "parameter" (parameters[].type);
	// "" for names whose type is computed (model fields, summary values).
	Decl string
}

// The kinds of values of each operation, as values.go computes them: the
// kind of the result for operands of kinds a and b, and whether the
// operation works for them.

func arithKind(op string) func(a, b Type) (Type, bool) {
	return func(a, b Type) (Type, bool) {
		switch {
		case op == "+" && (a == KindText || b == KindText):
			return KindText, (a == KindText || a == KindBlank) && (b == KindText || b == KindBlank)
		case a == KindBlank || b == KindBlank:
			return KindBlank, (a == KindBlank || a == KindNumber) && (b == KindBlank || b == KindNumber)
		}
		return KindNumber, a == KindNumber && b == KindNumber
	}
}

func equalKind(a, b Type) (Type, bool) { return KindBool, a == KindBlank || b == KindBlank || a == b }

func orderKind(a, b Type) (Type, bool) {
	return KindBool, a == KindBlank || b == KindBlank || a == b && a != KindBool
}

func negKind(a Type) (Type, bool) { return a, a == KindBlank || a == KindNumber }

func truthKind(a Type) (Type, bool) { return KindBool, a == KindBlank || a == KindBool }

// binary applies a kind table to operands of types l and r. It returns
// the type of the result and whether the operation can work when both
// operands have a value; when it can't, the result is KindAny, so that one
// mistake is reported once.
func binary(l, r Type, f func(a, b Type) (Type, bool)) (Type, bool) {
	var res Type
	works := l.valued() == 0 || r.valued() == 0
	for _, a := range l.kinds() {
		for _, b := range r.kinds() {
			if k, ok := f(a, b); ok {
				res |= k
				works = works || a != KindBlank && b != KindBlank
			}
		}
	}
	if !works || res == 0 {
		return KindAny, works
	}
	return res, true
}

// unary is binary for one operand.
func unary(t Type, f func(a Type) (Type, bool)) (Type, bool) {
	return binary(t, KindBlank|KindText|KindNumber|KindDate|KindBool, func(a, _ Type) (Type, bool) { return f(a) })
}

// typeChecker gives every node of an expression its Type, reporting the
// operations that can't work. It is an ast.Visitor run before the patcher
// rewrites the operators, so it sees the expression as written; ast.Walk
// visits children before their parent.
type typeChecker struct {
	env      *Env
	src      []rune
	types    map[ast.Node]Type
	root     ast.Node
	problems []Problem
}

// Visit implements ast.Visitor.
func (c *typeChecker) Visit(node *ast.Node) {
	n := *node
	c.types[n] = c.typeOf(n)
	c.root = n
}

// of is the type of a node already visited.
func (c *typeChecker) of(n ast.Node) Type {
	if t, ok := c.types[n]; ok {
		return t
	}
	return KindAny
}

func (c *typeChecker) typeOf(n ast.Node) Type {
	switch n := n.(type) {
	case *ast.NilNode:
		return KindBlank
	case *ast.StringNode:
		return KindText
	case *ast.IntegerNode, *ast.FloatNode:
		return KindNumber
	case *ast.BoolNode:
		return KindBool
	case *ast.ConstantNode:
		return KindOf(Normalize(n.Value))
	case *ast.IdentifierNode:
		return c.name(n.Value)
	case *ast.MemberNode:
		if name, ok := c.dotted(n); ok {
			return c.name(name)
		}
	case *ast.UnaryNode:
		t := c.of(n.Node)
		switch n.Operator {
		case "-":
			res, ok := unary(t, negKind)
			if !ok {
				c.problem(n, "%s is %s, so %s would fail on every row (only numbers have a sign)%s", c.show(n.Node), t.valued(), c.show(n), joinFixes(c.toNumber(n.Node, t, TypeDecimal)))
			}
			return res
		case "!", "not":
			c.condition(n.Node, t)
			return KindBool
		}
		return t
	case *ast.BinaryNode:
		return c.binaryNode(n)
	case *ast.ConditionalNode:
		c.condition(n.Cond, c.of(n.Cond))
		return c.of(n.Exp1) | c.of(n.Exp2)
	case *ast.CallNode:
		return c.call(n)
	}
	return KindAny
}

// name is the type of a name of the environment.
func (c *typeChecker) name(name string) Type {
	if nt, ok := c.env.Types[name]; ok && nt.Type != 0 {
		return nt.Type
	}
	return KindAny
}

// dotted returns period.start for a member node that is a dotted name.
func (c *typeChecker) dotted(n *ast.MemberNode) (string, bool) {
	id, ok := n.Node.(*ast.IdentifierNode)
	prop, isStr := n.Property.(*ast.StringNode)
	if !ok || !isStr || n.Method || n.Optional {
		return "", false
	}
	if _, isVar := c.env.Vars[id.Value]; isVar {
		return "", false
	}
	return id.Value + "." + prop.Value, true
}

// decl returns what declares the type of n in the template ("field",
// "parameter") when n is a name with a declared type.
func (c *typeChecker) decl(n ast.Node) string {
	name := ""
	switch n := n.(type) {
	case *ast.IdentifierNode:
		name = n.Value
	case *ast.MemberNode:
		name, _ = c.dotted(n)
	}
	return c.env.Types[name].Decl
}

func (c *typeChecker) binaryNode(n *ast.BinaryNode) Type {
	l, r := c.of(n.Left), c.of(n.Right)
	switch n.Operator {
	case "&&", "and", "||", "or":
		c.condition(n.Left, l)
		c.condition(n.Right, r)
		return KindBool
	case "==", "!=":
		if _, ok := binary(l, r, equalKind); !ok {
			c.mismatch(n, n.Left, n.Right, n.Operator, l, r)
		}
		return KindBool
	case "<", "<=", ">", ">=":
		if _, ok := binary(l, r, orderKind); !ok {
			if l.valued() == KindBool || r.valued() == KindBool {
				c.problem(n, "true/false values can't be ordered, so %s would fail on every row; compare them with == or !=", c.show(n))
			} else {
				c.mismatch(n, n.Left, n.Right, n.Operator, l, r)
			}
		}
		return KindBool
	case "+", "-", "*", "/", "%", "**", "^":
		op := n.Operator
		if op == "^" {
			op = "**"
		}
		res, ok := binary(l, r, arithKind(op))
		if !ok {
			c.arithProblem(n, l, r)
		}
		return res
	case "??":
		if l&KindBlank == 0 {
			return l
		}
		return l.valued() | r
	case "in", "matches", "contains", "startsWith", "endsWith":
		return KindBool
	}
	return KindAny
}

// condition reports a value used as a condition that is never true or
// false (nor blank, which counts as false).
func (c *typeChecker) condition(n ast.Node, t Type) {
	if _, ok := unary(t, truthKind); ok {
		return
	}
	c.problem(n, "%s", conditionMessage(c.show(n), t, c.decl(n)))
}

// ConditionProblem says why the value of p can't be a condition (true
// or false, or blank, which counts as false) whatever the row, or returns
// "" when it may be one. Filters and validations are conditions.
func (p *Program) ConditionProblem() string {
	if _, ok := unary(p.typ, truthKind); ok {
		return ""
	}
	what := strings.TrimSpace(p.Src)
	if strings.ContainsRune(what, '\n') || len([]rune(what)) > 60 {
		what = ""
	}
	return conditionMessage(what, p.typ, p.decl)
}

// conditionMessage says that what, of type t, is not a condition; what
// is "" for an expression too long to repeat.
func conditionMessage(what string, t Type, decl string) string {
	if what == "" {
		return fmt.Sprintf("the expression gives %s, not a condition (true or false), so it would fail on every row; compare its value, e.g. with ==, > or ISBLANK(...)", t.valued())
	}
	var fixes []string
	switch t.valued() {
	case KindNumber:
		fixes = append(fixes, fmt.Sprintf("compare it, e.g. %s > 0", what))
	case KindText:
		fixes = append(fixes, fmt.Sprintf("compare it, e.g. %s == \"yes\"", what))
		if decl != "" {
			fixes = append(fixes, fmt.Sprintf("declare the %s type: boolean", decl))
		}
	case KindDate:
		fixes = append(fixes, fmt.Sprintf("compare it, e.g. %s <= DATEVALUE(\"2026-12-31\")", what))
	}
	return fmt.Sprintf("%s is %s, not a condition (true or false), so it would fail on every row%s", what, t.valued(), joinFixes(fixes))
}

// joinFixes renders fixes after a message: "; a, or b".
func joinFixes(fixes []string) string {
	if len(fixes) == 0 {
		return ""
	}
	return "; " + strings.Join(fixes, ", or ")
}

var isoDateRE = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)

// mismatch reports a comparison of values of kinds that can't be
// compared: l op r, of types lt and rt.
func (c *typeChecker) mismatch(at ast.Node, l, r ast.Node, op string, lt, rt Type) {
	whole := c.show(l) + " " + op + " " + c.show(r)
	var fixes []string
	// The text side, and the other one.
	txt, other, tt, ot, textLeft := l, r, lt.valued(), rt.valued(), true
	if tt != KindText {
		txt, other, tt, ot, textLeft = r, l, rt.valued(), lt.valued(), false
	}
	rebuild := func(newText, newOther string) string {
		if textLeft {
			return newText + " " + op + " " + newOther
		}
		return newOther + " " + op + " " + newText
	}
	if tt == KindText && (ot == KindNumber || ot == KindDate || ot == KindBool) {
		if lit, ok := numberLiteral(other); ok && ot == KindNumber {
			fixes = append(fixes, "compare it with text, "+rebuild(c.show(txt), strconv.Quote(lit)))
		}
		s, isLit := txt.(*ast.StringNode)
		// Converting a declared field's text is the third way at most.
		convert := len(fixes) == 0 || c.decl(txt) == ""
		switch {
		case isLit && ot == KindNumber && isNumberText(s.Value):
			fixes = append(fixes, "compare it with a number, "+rebuild(s.Value, c.show(other)))
		case isLit && ot == KindDate && isoDateRE.MatchString(s.Value):
			fixes = append(fixes, "compare it with a date, "+rebuild("DATEVALUE("+strconv.Quote(s.Value)+")", c.show(other)))
		case isLit && ot == KindBool:
			fixes = append(fixes, "compare it with true or false")
		case !isLit && ot == KindNumber && convert:
			fixes = append(fixes, fmt.Sprintf("convert the text with VALUE(%s)", c.show(txt)))
		case !isLit && ot == KindDate && convert:
			fixes = append(fixes, fmt.Sprintf("convert the text with DATEVALUE(%s, \"yyyy-MM-dd\")", c.show(txt)))
		}
		if d := c.decl(txt); d != "" {
			fixes = append(fixes, fmt.Sprintf("declare the %s type: %s", d, typeFor(ot, other)))
		} else if d := c.decl(other); d != "" && isLit && !(ot == KindNumber && isNumberText(s.Value)) {
			fixes = append(fixes, fmt.Sprintf("declare the %s type: string", d))
		}
	} else {
		// Numbers, dates and true/false with each other: the declared
		// type of a name may be what is wrong.
		for _, side := range []struct {
			n, other ast.Node
			t        Type
		}{{l, r, rt.valued()}, {r, l, lt.valued()}} {
			if d := c.decl(side.n); d != "" && len(side.t.kinds()) == 1 {
				fixes = append(fixes, fmt.Sprintf("declare the %s type of %s: %s", d, c.show(side.n), typeFor(side.t, side.other)))
			}
		}
	}
	c.problem(at, "%s is %s and %s is %s, so %s would fail on every row%s", c.show(l), lt.valued(), c.show(r), rt.valued(), whole, joinFixes(fixes))
}

// typeFor names the field type of values of kind k; n is the value of
// that kind (an integer literal makes the type integer).
func typeFor(k Type, n ast.Node) string {
	switch k {
	case KindNumber:
		if _, isInt := n.(*ast.IntegerNode); isInt {
			return TypeInteger
		}
		if u, ok := n.(*ast.UnaryNode); ok {
			if _, isInt := u.Node.(*ast.IntegerNode); isInt {
				return TypeInteger
			}
		}
		return TypeDecimal
	case KindDate:
		return TypeDate
	case KindBool:
		return TypeBoolean
	}
	return TypeString
}

// numberLiteral returns the text of a number literal (30, 12.50, -1).
func numberLiteral(n ast.Node) (string, bool) {
	neg := ""
	if u, ok := n.(*ast.UnaryNode); ok && u.Operator == "-" {
		neg, n = "-", u.Node
	}
	switch x := n.(type) {
	case *ast.IntegerNode:
		return neg + strconv.Itoa(x.Value), true
	case *ast.FloatNode:
		return neg + strconv.FormatFloat(x.Value, 'f', -1, 64), true
	}
	return "", false
}

var numberTextRE = regexp.MustCompile(`^-?\d+(\.\d+)?$`)

func isNumberText(s string) bool { return numberTextRE.MatchString(strings.TrimSpace(s)) }

// arithProblem reports arithmetic that can't work on values of types l
// and r.
func (c *typeChecker) arithProblem(n *ast.BinaryNode, l, r Type) {
	lv, rv := l.valued(), r.valued()
	whole := c.show(n)
	if n.Operator == "+" && (lv == KindText && rv&KindNumber != 0 || rv == KindText && lv&KindNumber != 0) {
		txt, txtT := n.Left, l
		if rv == KindText {
			txt, txtT = n.Right, r
		}
		fixes := []string{fmt.Sprintf("join them as text with CONCAT(%s, %s)", c.show(n.Left), c.show(n.Right))}
		fixes = append(fixes, c.toNumber(txt, txtT, TypeDecimal)...)
		c.problem(n, "%s is %s and %s is %s, so %s would fail on every row%s", c.show(n.Left), lv, c.show(n.Right), rv, whole, joinFixes(fixes))
		return
	}
	// The operand that can't be used in arithmetic at all.
	bad, badT, other := n.Left, l, n.Right
	if _, ok := unary(l, func(a Type) (Type, bool) { return arithKind(n.Operator)(a, KindNumber) }); ok {
		bad, badT, other = n.Right, r, n.Left
	}
	var fixes []string
	switch badT.valued() {
	case KindText:
		fixes = c.toNumber(bad, badT, TypeDecimal)
	case KindDate:
		if (n.Operator == "+" || n.Operator == "-") && c.of(other).valued() == KindNumber && bad == n.Left {
			days := c.show(other)
			if n.Operator == "-" {
				days = "-" + days
			}
			fixes = append(fixes, fmt.Sprintf("move a date by days with ADDDAYS(%s, %s)", c.show(bad), days))
		}
	case KindBool:
		fixes = append(fixes, fmt.Sprintf("turn it into a number with IF(%s, 1, 0)", c.show(bad)))
	}
	if badT.valued() == KindText || badT.valued() == KindDate || badT.valued() == KindBool {
		c.problem(n, "%s is %s, so %s would fail on every row (arithmetic needs numbers)%s", c.show(bad), badT.valued(), whole, joinFixes(fixes))
		return
	}
	c.problem(n, "%s is %s and %s is %s, so %s would fail on every row (arithmetic needs numbers)", c.show(n.Left), lv, c.show(n.Right), rv, whole)
}

// toNumber returns the ways to make n, of type t, a number: typ is the
// field type to suggest.
func (c *typeChecker) toNumber(n ast.Node, t Type, typ string) []string {
	if t.valued() != KindText {
		return nil
	}
	var fixes []string
	if s, ok := n.(*ast.StringNode); ok {
		if isNumberText(s.Value) {
			fixes = append(fixes, "write the number without quotes, "+strings.TrimSpace(s.Value))
		}
		return fixes
	}
	fixes = append(fixes, fmt.Sprintf("convert it with VALUE(%s)", c.show(n)))
	if d := c.decl(n); d != "" {
		fixes = append(fixes, fmt.Sprintf("declare the %s type: %s", d, typ))
	}
	return fixes
}

// call checks the arguments of a call of the function library and returns
// the type of its result.
func (c *typeChecker) call(n *ast.CallNode) Type {
	id, ok := n.Callee.(*ast.IdentifierNode)
	if !ok {
		return KindAny
	}
	f := registryByName[id.Value]
	if f == nil || len(n.Arguments) < f.MinArgs || f.MaxArgs >= 0 && len(n.Arguments) > f.MaxArgs {
		return KindAny // not a function of the library (a layout's aggregates), or reported by the patcher
	}
	args := make([]Type, len(n.Arguments))
	for i, a := range n.Arguments {
		args[i] = c.of(a)
	}
	switch f.Name {
	case "IF":
		c.condition(n.Arguments[0], args[0])
		return args[1] | args[2]
	case "CASE":
		// CASE(value, option1, result1, ..., default) compares value
		// with each option as == does.
		var res Type
		i := 1
		for ; i+1 < len(args); i += 2 {
			if _, ok := binary(args[0], args[i], equalKind); !ok {
				c.mismatch(n.Arguments[i], n.Arguments[0], n.Arguments[i], "==", args[0], args[i])
			}
			res |= args[i+1]
		}
		if i < len(args) {
			return res | args[i]
		}
		return res | KindBlank
	case "LOOKUP":
		// The tables hold text; a missing code gives the default or blank.
		res := KindText | KindBlank
		if len(args) > 2 {
			res |= args[2]
		}
		return res
	}
	for i, t := range args {
		want := f.arg(i)
		if t.valued() != 0 && t.valued()&want == 0 {
			c.argProblem(f, i, n, t, want)
		}
	}
	return f.Result
}

// arg is the type argument i of f takes.
func (f *FunctionSpec) arg(i int) Type {
	switch {
	case len(f.Args) == 0:
		return KindAny
	case i < len(f.Args):
		return f.Args[i]
	}
	return f.Args[len(f.Args)-1]
}

// paramName is the name the signature gives argument i ("count" in
// LEFT(text, count)).
func (f *FunctionSpec) paramName(i int) string {
	inner := f.Signature[strings.IndexByte(f.Signature, '(')+1 : strings.LastIndexByte(f.Signature, ')')]
	params := strings.Split(inner, ",")
	if i >= len(params) {
		i = len(params) - 1
	}
	return strings.Trim(strings.TrimSpace(params[i]), `"`)
}

// argProblem reports argument i of a call of f, of type t, where f takes
// values of type want.
func (c *typeChecker) argProblem(f *FunctionSpec, i int, call *ast.CallNode, t, want Type) {
	arg := call.Arguments[i]
	needs := f.Name + " needs " + want.String()
	if i > 0 {
		needs += " as its " + f.paramName(i)
	}
	var fixes []string
	switch {
	case want == KindNumber && t.valued() == KindText:
		typ := TypeDecimal
		if i > 0 {
			typ = TypeInteger // counts, decimals, days
		}
		fixes = c.toNumber(arg, t, typ)
	case want == KindDate && t.valued() == KindText:
		if s, ok := arg.(*ast.StringNode); ok && isoDateRE.MatchString(s.Value) {
			fixes = append(fixes, fmt.Sprintf("convert it with DATEVALUE(%s)", c.show(arg)))
		} else {
			fixes = append(fixes, fmt.Sprintf("convert it with DATEVALUE(%s, \"yyyy-MM-dd\")", c.show(arg)))
		}
		if d := c.decl(arg); d != "" {
			fixes = append(fixes, fmt.Sprintf("declare the %s type: date", d))
		}
	}
	c.problem(arg, "%s, but %s is %s, so %s would fail on every row%s", needs, c.show(arg), t.valued(), c.show(call), joinFixes(fixes))
}

// show renders n as written: the source text of a name or literal,
// else expr's rendering of the part.
func (c *typeChecker) show(n ast.Node) string {
	switch n.(type) {
	case *ast.IdentifierNode, *ast.IntegerNode, *ast.FloatNode, *ast.StringNode, *ast.BoolNode, *ast.NilNode:
		if loc := n.Location(); loc.From >= 0 && loc.From < loc.To && loc.To <= len(c.src) {
			return string(c.src[loc.From:loc.To])
		}
	case *ast.MemberNode:
		if name, ok := c.dotted(n.(*ast.MemberNode)); ok {
			return name
		}
	}
	return n.String()
}

// problem reports a problem at the start of n.
func (c *typeChecker) problem(n ast.Node, format string, args ...any) {
	line, col := position(c.src, start(n).Location().From)
	c.problems = append(c.problems, Problem{Line: line, Col: col, Msg: fmt.Sprintf(format, args...)})
}

// start returns the location of the leftmost part of n (a binary node's
// location is its operator's).
func start(n ast.Node) ast.Node {
	switch x := n.(type) {
	case *ast.BinaryNode:
		return start(x.Left)
	case *ast.ConditionalNode:
		if !x.Ternary {
			return n // if cond {...}: the node is at "if"
		}
		return start(x.Cond)
	case *ast.MemberNode:
		return start(x.Node)
	case *ast.ChainNode:
		return start(x.Node)
	}
	return n
}
