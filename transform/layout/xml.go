package layout

import (
	"fmt"
	"io/fs"
	"maps"
	"path"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/parser"
	"gopkg.in/yaml.v3"

	"github.com/erpipe/erpipe/schematron"
	"github.com/erpipe/erpipe/transform/expression"
	"github.com/erpipe/erpipe/transform/template"
	"github.com/erpipe/erpipe/xsd"
)

// Column is a column of an output table: its name and the expression
// that computes it per row (CSV and workbook columns, a DMF entity's
// fields). An XML layout's columns are the values it spools of each row.
type Column struct {
	Name string
	Prog *expression.Program
}

// An XML output (output.xml) is written in the shape of the document it
// makes: the layout is a tree of the document's own element names, each
// holding an expression (its text) or its child elements, with a few
// $-keys that say how often an element is written:
//
//	PmtInf:
//	  $group: [debtor_iban, execution_date, currency]   # one PmtInf per group
//	  NbOfTxs: COUNT()                                   # rows of the group
//	  CdtTrfTxInf:
//	    $each: row                                       # one per row of the group
//	    Amt:
//	      InstdAmt: {"@Ccy": currency, $value: amount}
//
// Running it takes two passes (see xmlrun.go): the good rows are spooled
// to disk with their group and the groups' aggregates are summed; then the
// document is written from the spool, sorted by group, so totals can be
// written in headers before the lines they count.

// XML is the output.xml section.
type XML struct {
	typed   bool // element texts are EncodeValue's, for a workbook (workbook.go)
	schemas []schemaChoice
	prefix  map[string]string // extra namespace prefixes → URI, written on the root
	prefOrd []string
	root    *xnode
	totals  []controlTotal
	rules   *schematron.Rules // output.xml.schematron; nil for none

	columns  []Column    // spooled per row: fields first, then group keys level by level
	nfields  int         // how many of columns are fields
	fields   []string    // names of the spooled fields
	hiers    []*hierSpec // the groupings: one per outermost $group of the layout
	aggs     []aggSpec
	used     map[scope][]int // the aggregates read in each scope: only those are counted there
	rootEach bool            // a $each outside any $group: every row is kept for it
	perDoc   bool            // the root element has $group: one document per group
	docName  *expression.Program
}

// scope is where an expression is evaluated: a grouping (-1 for the
// whole document) and a group level in it (0 for its root).
type scope struct{ hier, level int }

// hierSpec is one grouping of the rows: an outermost $group and the
// $group elements inside it. A layout may have several side by side
// (SAF-T's accounts, customers and journals), each with its own groups;
// $where picks the rows that belong to it.
type hierSpec struct {
	levels [][]int      // levels[k]: the columns of the keys of group level k+1
	where  int          // the column of its $where condition; -1 for every row
	fields map[int]bool // the fields its rows keep: those its elements' expressions and aggregates read
}

// schemaChoice is one schema the document may be validated against.
type schemaChoice struct {
	when      *expression.Program // nil: always
	whenNode  *yaml.Node          // compiled once the layout is read
	file      string
	namespace string
	schema    *xsd.Schema
}

// xnode is one element of the layout.
type xnode struct {
	name     string
	line     int
	attrs    []xattr
	value    *expression.Program // text; nil for an element with children
	cond     *expression.Program // $if
	rename   *expression.Program // $name: the name written, when it depends on the data
	each     bool                // $each: row
	level    int                 // $group: the group level (1 for the outermost group); 0 otherwise
	hier     int                 // $group: its grouping (index in XML.hiers)
	where    *expression.Program // $each: the rows it is written for
	children []*xnode
	fieldOf  string // the first field its value uses, for messages
}

type xattr struct {
	name string
	prog *expression.Program
}

// aggSpec is an aggregate used in the layout: COUNT(), COUNT(f), SUM(f),
// MIN(f), MAX(f) over the rows of the enclosing group (or document).
type aggSpec struct {
	fn    string
	col   int    // column of the field; -1 for COUNT()
	field string // the field's name, for messages
	v     string

	// GROUPCOUNT(Element): the number of Element written (one per group)
	// in the scope. GROUPSUM(Element, field, decimals): the sum over those
	// groups of SUM(field) of each, rounded to decimals (aggregate sumOf).
	target      string
	hier, level int
	sumOf       int
	places      int32
}

// aggFuncs are the aggregate functions of layouts.
var aggFuncs = map[string]bool{"COUNT": true, "SUM": true, "MIN": true, "MAX": true, "GROUPCOUNT": true, "GROUPSUM": true, "POSITION": true}

// SoftwareVersion is erpipe's version, as layouts see it (erpipe.version:
// audit files name the software that made them). The binary sets it.
var SoftwareVersion = "dev"

// software is what layout expressions see as erpipe.
type software struct {
	Version string `expr:"version"`
}

// layoutInput is what layout expressions see as input.
type layoutInput struct {
	Name     string    `expr:"name"`
	Ext      string    `expr:"ext"`
	Modified time.Time `expr:"modified"`
	ID       string    `expr:"id"` // the run's id: the job's, else a hash of the file
}

// controlTotal is one check of the written document: in every element
// named in, the count of elements at count (or the sum of the values at
// sum) must equal the value of the element at equals.
type controlTotal struct {
	name      string
	in        string
	count     string
	sum       string
	equals    string
	equalsSum string   // the sum of these elements must equal the sum at sum
	sums      []string // sum as a list: the values of all these paths are added up
}

// Loader reads a template's output layouts (output.xml, output.xlsx)
// with the template's Decoder, so that their problems are reported with
// the template's other problems.
type Loader struct {
	*template.Decoder
	FS     fs.FS // the template's file system and folder: schema files are found beside the template
	Dir    string
	Env    *expression.Env // the names the template's expressions may use, and its lookup tables
	Params map[string]any  // the template's parameters, by name
}

// fileBase is where the files a node names are found: beside the base
// template the node was merged in from (extends), else beside the
// template itself. Both give a folder in their file system.
func (l *Loader) fileBase(n *yaml.Node) (fs.FS, string) {
	if fsys, dir, ok := l.Origin(n); ok {
		return fsys, dir
	}
	return l.FS, l.Dir
}

// xmlLoader loads output.xml.
type xmlLoader struct {
	l      *Loader
	spec   *XML
	env    *expression.Env
	fields map[string]int // spooled field → column
	aggIdx map[string]int
	hier   int   // the grouping of the $group being read; -1 outside any
	scope  scope // where the expression being compiled is evaluated
	counts []groupCountUse
}

// groupCountUse is a GROUPCOUNT(Element) to resolve once the layout is read.
type groupCountUse struct {
	agg  int
	node *yaml.Node
	what string
}

// LoadXML reads output.xml: the schema, namespaces, the layout of the
// document and its control totals, compiling the layout's expressions.
func (l *Loader) LoadXML(n *yaml.Node) *XML {
	spec := &XML{prefix: map[string]string{}, used: map[scope][]int{}}
	xl := &xmlLoader{l: l, spec: spec, fields: map[string]int{}, aggIdx: map[string]int{}, hier: -1, scope: scope{-1, 0}}
	xl.env = &expression.Env{Vars: map[string]any{}, Types: l.Env.Types, Lookups: l.Env.Lookups, Later: map[string]bool{}}
	for k, v := range l.Env.Vars {
		xl.env.Vars[k] = v
	}
	if _, taken := xl.env.Vars["input"]; !taken {
		xl.env.Vars["input"] = layoutInput{}
	}
	if _, taken := xl.env.Vars["erpipe"]; !taken {
		xl.env.Vars["erpipe"] = software{}
	}
	var schemaNode, nsNode, layout, totals, docName *yaml.Node
	ok := l.Mapping(n, "output.xml", map[string]template.KeyHandler{
		"schema":         func(_, v *yaml.Node) { schemaNode = v },
		"namespace":      func(_, v *yaml.Node) { nsNode = v },
		"namespaces":     func(_, v *yaml.Node) { xl.prefixes(v) },
		"layout":         func(_, v *yaml.Node) { layout = v },
		"control_totals": func(_, v *yaml.Node) { totals = v },
		"document_name":  func(_, v *yaml.Node) { docName = v },
		"schematron":     func(_, v *yaml.Node) { xl.loadRules(v) },
	}, "layout")
	if !ok {
		return spec
	}
	if schemaNode != nil {
		xl.schemas(schemaNode, nsNode)
	} else if nsNode != nil {
		ns, _ := l.Str(nsNode, "output.xml.namespace")
		spec.schemas = []schemaChoice{{namespace: ns}}
	} else {
		spec.schemas = []schemaChoice{{}}
	}
	if layout != nil {
		keys, vals := l.Pairs(layout, "output.xml.layout")
		if len(keys) != 1 {
			l.Errorf(layout, "output.xml.layout must hold exactly one element, the document's root (e.g. Document:)")
		} else {
			spec.root = xl.element(keys[0], vals[0], 0, false)
		}
	}
	xl.resolveGroupCounts()
	if spec.root != nil && spec.root.level > 0 {
		spec.perDoc = true
		if docName == nil {
			l.Errorf(layout, "output.xml: the root element %s has $group, so one document is written per group; "+
				"give output.xml.document_name, the name of each document (e.g. \"invoice-\" + invoice_number + \".xml\")", spec.root.name)
		}
	}
	xl.compileWhens()
	if docName != nil {
		if spec.root == nil || spec.root.level == 0 {
			l.Errorf(docName, "output.xml.document_name names one document per group: give the root element a $group")
		} else {
			xl.scope = scope{spec.root.hier, 1} // evaluated in each document's group
			spec.docName = xl.compile(docName, "output.xml.document_name")
		}
	}
	if totals != nil {
		xl.controlTotals(totals)
	}
	return spec
}

func (xl *xmlLoader) prefixes(n *yaml.Node) {
	keys, vals := xl.l.Pairs(n, "output.xml.namespaces")
	for i, k := range keys {
		if !xmlNameRE.MatchString(k.Value) || strings.Contains(k.Value, ":") {
			xl.l.Errorf(k, "output.xml.namespaces: %q is not a namespace prefix (letters, digits, - and _, e.g. cbc)", k.Value)
			continue
		}
		uri, ok := xl.l.NonEmpty(vals[i], "namespace "+k.Value)
		if ok {
			xl.spec.prefix[k.Value] = uri
			xl.spec.prefOrd = append(xl.spec.prefOrd, k.Value)
		}
	}
}

// schemas reads output.xml.schema: a file (with output.xml.namespace), or
// a list of {file, namespace, when} tried in order.
func (xl *xmlLoader) schemas(n, nsNode *yaml.Node) {
	l := xl.l
	if n.Kind == yaml.ScalarNode {
		c := schemaChoice{}
		c.file, _ = l.NonEmpty(n, "output.xml.schema")
		if nsNode != nil {
			c.namespace, _ = l.NonEmpty(nsNode, "output.xml.namespace")
		}
		xl.compileSchema(n, &c)
		xl.spec.schemas = append(xl.spec.schemas, c)
		return
	}
	if nsNode != nil {
		l.Errorf(nsNode, "output.xml.namespace: with a list of schemas, give each its namespace")
	}
	items := l.List(n, "output.xml.schema")
	for i, it := range items {
		c := schemaChoice{}
		var fileNode *yaml.Node
		ok := l.Mapping(it, "schema", map[string]template.KeyHandler{
			"file":      func(_, v *yaml.Node) { fileNode = v; c.file, _ = l.NonEmpty(v, "schema file") },
			"namespace": func(_, v *yaml.Node) { c.namespace, _ = l.NonEmpty(v, "schema namespace") },
			"when":      func(_, v *yaml.Node) { c.whenNode = v },
		}, "file")
		if !ok {
			continue
		}
		if c.whenNode == nil && i < len(items)-1 {
			l.Errorf(it, "schema: only the last schema of the list may leave out when:")
		}
		xl.compileSchema(fileNode, &c)
		xl.spec.schemas = append(xl.spec.schemas, c)
	}
}

// loadRules reads output.xml.schematron: the rule files (Schematron
// compiled to XSLT) beside the template. An empty list turns the rules of
// a base template off.
func (xl *xmlLoader) loadRules(n *yaml.Node) {
	l := xl.l
	var paths []string
	var fsys fs.FS
	var rulesDir string
	var rulesFromBase bool
	items := []*yaml.Node{n}
	if n.Kind != yaml.ScalarNode {
		items = l.List(n, "output.xml.schematron")
	}
	for _, it := range items {
		f, ok := l.NonEmpty(it, "output.xml.schematron")
		if !ok {
			continue
		}
		itFS, dir := l.fileBase(it)
		_, _, fromBase := l.Origin(it)
		p := path.Join(dir, f)
		if path.IsAbs(f) || !fs.ValidPath(p) {
			l.Errorf(it, "output.xml.schematron: %q must be a path beside the template, such as schemas/rules.xslt", f)
			continue
		}
		if fsys != nil && (fromBase != rulesFromBase || dir != rulesDir) {
			l.Errorf(it, "output.xml.schematron: give all the rule files in one template (this one or its base)")
			continue
		}
		fsys, rulesDir, rulesFromBase = itFS, dir, fromBase
		if _, err := fs.Stat(fsys, p); err != nil {
			l.Errorf(it, "output.xml.schematron: %q: %v", f, template.PathCause(err))
			continue
		}
		paths = append(paths, p)
	}
	if len(paths) == 0 {
		return
	}
	r, err := schematron.Load(fsys, paths...)
	if err != nil {
		l.Errorf(n, "output.xml.schematron: %v", err)
		return
	}
	xl.spec.rules = r
}

// compileWhens compiles the schemas' when conditions: over the parameters,
// or, with one document per group, over each document's group too (a
// credit note and an invoice from one input follow different schemas).
func (xl *xmlLoader) compileWhens() {
	for i := range xl.spec.schemas {
		c := &xl.spec.schemas[i]
		if c.whenNode == nil {
			continue
		}
		if xl.spec.perDoc {
			xl.scope = scope{xl.spec.root.hier, 1}
			c.when = xl.compile(c.whenNode, "output.xml.schema when")
		} else {
			c.when = xl.l.Compile(c.whenNode, "output.xml.schema when", xl.l.Env)
		}
	}
}

// compileSchema compiles the schema file named beside the template; the
// files it imports are looked up in the template's folder.
func (xl *xmlLoader) compileSchema(n *yaml.Node, c *schemaChoice) {
	l := xl.l
	if c.file == "" {
		return
	}
	fsys, dir := l.fileBase(n)
	p := path.Join(dir, c.file)
	if path.IsAbs(c.file) || !fs.ValidPath(p) {
		l.Errorf(n, "schema %q must be a path beside the template, such as schemas/pain.001.001.03.xsd", c.file)
		return
	}
	if _, err := fs.Stat(fsys, p); err != nil {
		l.Errorf(n, "schema %q: %v", c.file, template.PathCause(err))
		return
	}
	s, err := xsd.Compile(fsys, dir, p)
	if err != nil {
		l.Errorf(n, "schema %q: %v", c.file, err)
		return
	}
	c.schema = s
}

// xmlNameRE matches element and attribute names, with an optional prefix.
var xmlNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9._-]*(:[A-Za-z_][A-Za-z0-9._-]*)?$`)

// element reads one layout element. depth is the group level of the
// scope it is in; inEach says it is inside a $each element.
func (xl *xmlLoader) element(k, v *yaml.Node, depth int, inEach bool) *xnode {
	l := xl.l
	x := &xnode{name: k.Value, line: k.Line}
	if !xmlNameRE.MatchString(k.Value) {
		l.Errorf(k, "layout: %q is not an XML element name (letters, digits, . - _, an optional prefix such as cbc:)", k.Value)
		return nil
	}
	what := fmt.Sprintf("layout element %s", k.Value)
	if v.Kind == yaml.ScalarNode {
		xl.scope = scope{xl.hier, depth}
		if xl.hier < 0 {
			xl.scope = scope{-1, 0}
		}
		x.value = xl.compile(v, what)
		x.fieldOf = xl.firstField(x.value)
		return x
	}
	var items []*yaml.Node // mappings whose keys are children, attributes and $-keys
	switch v.Kind {
	case yaml.MappingNode:
		items = []*yaml.Node{v}
	case yaml.SequenceNode:
		// A list of one-key mappings, for elements that repeat under one parent.
		items = l.List(v, what)
	default:
		l.Errorf(v, "%s must be an expression or the element's content (key: value lines), not %s", what, template.KindOf(v))
		return nil
	}
	// $-keys first, since they set the scope of the children.
	var valueNode, whereNode, condNode, nameNode *yaml.Node
	for _, m := range items {
		if m.Kind != yaml.MappingNode {
			l.Errorf(m, "%s: each item of the list must be a mapping (Element: value)", what)
			continue
		}
		keys, vals := l.Pairs(m, what)
		for i, ck := range keys {
			switch ck.Value {
			case "$if":
				condNode = vals[i]
			case "$value":
				valueNode = vals[i]
			case "$name":
				nameNode = vals[i]
			case "$where":
				whereNode = vals[i]
			case "$each":
				s, _ := l.Str(vals[i], "$each")
				if s != "row" && s != "rows" {
					l.Errorf(vals[i], "%s: write $each: row (one %s for each row of the enclosing group)", what, k.Value)
				}
				if inEach {
					l.Errorf(ck, "%s: $each inside another $each; an element can repeat for each row only once", what)
				}
				x.each = true
			case "$group":
				if inEach {
					l.Errorf(ck, "%s: $group inside $each; groups hold rows, not the other way round", what)
					continue
				}
				x.level = depth + 1
				x.hier = xl.groupKeys(vals[i], x.level, what)
			default:
				if strings.HasPrefix(ck.Value, "$") {
					l.Errorf(ck, "unknown key %q in %s%s", ck.Value, what, expression.DidYouMean(ck.Value, []string{"$if", "$value", "$each", "$group", "$where", "$name"}))
				}
			}
		}
	}
	if x.each && x.level > 0 {
		l.Errorf(k, "%s: give either $each or $group, not both", what)
	}
	childDepth := depth
	if x.level > 0 {
		childDepth = x.level
	}
	// The element's own expressions are evaluated in its group (a $group
	// element, once per group) or in the enclosing one.
	switch {
	case x.level > 0:
		xl.scope = scope{x.hier, x.level}
	case xl.hier >= 0:
		xl.scope = scope{xl.hier, depth}
	default:
		xl.scope = scope{-1, 0}
	}
	if condNode != nil {
		if x.cond = xl.compile(condNode, what+" $if"); x.cond != nil && !l.Condition(condNode, what+" $if", x.cond) {
			x.cond = nil
		}
	}
	if nameNode != nil {
		x.rename = xl.compile(nameNode, what+" $name")
	}
	if whereNode != nil {
		switch {
		case x.level == 1:
			// Rows join the grouping only when the condition holds.
			if prog := l.CompileCondition(whereNode, what+" $where", l.Env); prog != nil {
				xl.spec.hiers[x.hier].where = len(xl.spec.columns)
				xl.spec.columns = append(xl.spec.columns, Column{Name: "$where " + prog.Src, Prog: prog})
			}
		case x.each:
			if x.where = xl.compile(whereNode, what+" $where"); x.where != nil && !l.Condition(whereNode, what+" $where", x.where) {
				x.where = nil
			}
		default:
			l.Errorf(whereNode, "%s: $where goes with $each, or with the outermost $group of a grouping (it picks the rows the grouping holds)", what)
		}
	}
	if x.each && depth == 0 {
		xl.spec.rootEach = true
	}
	saved := xl.hier
	if x.level > 0 {
		xl.hier = x.hier
	}
	defer func() { xl.hier = saved }()
	own := xl.scope
	if valueNode != nil {
		x.value = xl.compile(valueNode, what+" $value")
		x.fieldOf = xl.firstField(x.value)
	}
	for _, m := range items {
		if m.Kind != yaml.MappingNode {
			continue
		}
		for i := 0; i+1 < len(m.Content); i += 2 {
			ck, cv := m.Content[i], template.Resolve(m.Content[i+1])
			switch {
			case strings.HasPrefix(ck.Value, "$"):
			case strings.HasPrefix(ck.Value, "@"):
				name := ck.Value[1:]
				if !xmlNameRE.MatchString(name) {
					l.Errorf(ck, "%s: %q is not an attribute name", what, ck.Value)
					continue
				}
				xl.scope = own
				x.attrs = append(x.attrs, xattr{name: name, prog: xl.compile(cv, fmt.Sprintf("%s attribute %s", what, name))})
			default:
				if valueNode != nil {
					l.Errorf(ck, "%s has a $value, so it can't also hold the element %s", what, ck.Value)
					continue
				}
				if c := xl.element(ck, cv, childDepth, inEach || x.each); c != nil {
					x.children = append(x.children, c)
				}
			}
		}
	}
	return x
}

// groupKeys reads the keys of a $group and returns its grouping: a new
// one for an outermost $group, else the enclosing one.
func (xl *xmlLoader) groupKeys(n *yaml.Node, level int, what string) int {
	l := xl.l
	var h *hierSpec
	idx := xl.hier
	if level == 1 {
		h = &hierSpec{where: -1}
		idx = len(xl.spec.hiers)
		xl.spec.hiers = append(xl.spec.hiers, h)
	} else {
		h = xl.spec.hiers[idx]
		if level != len(h.levels)+1 {
			l.Errorf(n, "%s: a grouping has one $group per level; this level already has one (put the second grouping inside the first)", what)
			return idx
		}
	}
	var keyNodes []*yaml.Node
	if n.Kind == yaml.SequenceNode {
		keyNodes = l.List(n, what+" $group")
	} else {
		keyNodes = []*yaml.Node{n}
	}
	if len(keyNodes) == 0 {
		l.Errorf(n, "%s: $group needs at least one key, e.g. [debtor_iban, execution_date]", what)
	}
	var cols []int
	for _, kn := range keyNodes {
		prog := l.Compile(kn, what+" $group key", l.Env)
		if prog == nil {
			continue
		}
		cols = append(cols, len(xl.spec.columns))
		xl.spec.columns = append(xl.spec.columns, Column{Name: "$group " + prog.Src, Prog: prog})
	}
	h.levels = append(h.levels, cols)
	return idx
}

// resolveGroupCounts finds the element each GROUPCOUNT names.
func (xl *xmlLoader) resolveGroupCounts() {
	for _, u := range xl.counts {
		a := &xl.spec.aggs[u.agg]
		var found *xnode
		var walk func(*xnode)
		walk = func(n *xnode) {
			if n == nil {
				return
			}
			local := n.name[strings.IndexByte(n.name, ':')+1:]
			if (n.name == a.target || local == a.target) && n.level > 0 {
				found = n
			}
			for _, c := range n.children {
				walk(c)
			}
		}
		walk(xl.spec.root)
		if found == nil {
			xl.l.Errorf(u.node, "%s: %s(%s): the layout has no element %s with $group; %s goes over the elements a $group writes", u.what, a.fn, a.target, a.target, a.fn)
			continue
		}
		a.hier, a.level = found.hier, found.level
		if a.fn == "GROUPSUM" {
			xl.use(scope{a.hier, a.level}, a.sumOf) // the sums it adds up
			xl.keep(scope{a.hier, a.level}, xl.spec.aggs[a.sumOf].col)
		}
	}
}

// use records that aggregate i is read in scope sc.
func (xl *xmlLoader) use(sc scope, i int) {
	if !slices.Contains(xl.spec.used[sc], i) {
		xl.spec.used[sc] = append(xl.spec.used[sc], i)
	}
}

// compile compiles a layout expression: aggregates are replaced by
// names bound per group, and every field it uses is spooled.
func (xl *xmlLoader) compile(n *yaml.Node, what string) *expression.Program {
	l := xl.l
	src, ok := l.Str(n, what)
	if !ok {
		return nil
	}
	env := xl.env
	var patch *aggPatcher
	if tree, err := parser.Parse(src); err == nil {
		patch = &aggPatcher{xl: xl, node: n, what: what}
		ast.Walk(&tree.Node, &aggFinder{p: patch})
		if len(patch.found) > 0 {
			env = &expression.Env{Vars: map[string]any{}, Types: xl.env.Types, Lookups: xl.env.Lookups, Later: xl.env.Later}
			for k, v := range xl.env.Vars {
				env.Vars[k] = v
			}
			for _, name := range patch.found {
				env.Vars[name] = nil
			}
			env.Patches = []ast.Visitor{patch}
		}
	}
	prog, probs := expression.Compile(src, env)
	for _, p := range probs {
		line, col := l.ExprPlace(n, p.Line, p.Col)
		l.ErrorAt(line, col, "%s: %s", what, p.Msg)
	}
	if prog == nil {
		return nil
	}
	for _, id := range prog.Idents {
		xl.keep(xl.scope, xl.spool(id))
	}
	return prog
}

// keep records that field col is read in scope sc: a grouping's rows keep
// it (a grouping's spool holds only the fields its elements read).
func (xl *xmlLoader) keep(sc scope, col int) {
	if sc.hier < 0 || col < 0 {
		return
	}
	h := xl.spec.hiers[sc.hier]
	if h.fields == nil {
		h.fields = map[int]bool{}
	}
	h.fields[col] = true
}

// spool makes field name one of the columns spooled per row; names that
// are not fields (parameters, input, aggregates) are left alone.
func (xl *xmlLoader) spool(name string) int {
	if c, ok := xl.fields[name]; ok {
		return c
	}
	if _, isParam := xl.l.Params[name]; isParam || name == "input" || strings.HasPrefix(name, "__agg") {
		return -1
	}
	if _, ok := xl.l.Env.Vars[name]; !ok {
		return -1
	}
	prog, _ := expression.Compile(name, xl.l.Env)
	if prog == nil {
		return -1
	}
	// Fields go before the group keys: insert and shift the key columns.
	c := xl.spec.nfields
	xl.spec.columns = append(xl.spec.columns, Column{})
	copy(xl.spec.columns[c+1:], xl.spec.columns[c:])
	xl.spec.columns[c] = Column{Name: name, Prog: prog}
	xl.spec.nfields++
	xl.spec.fields = append(xl.spec.fields, name)
	for _, h := range xl.spec.hiers {
		for _, lv := range h.levels {
			for i := range lv {
				lv[i]++
			}
		}
		if h.where >= 0 {
			h.where++
		}
	}
	xl.fields[name] = c
	return c
}

func (xl *xmlLoader) firstField(p *expression.Program) string {
	if p == nil {
		return ""
	}
	for _, id := range p.Idents {
		if _, ok := xl.fields[id]; ok {
			return id
		}
	}
	return ""
}

// aggFinder finds the aggregate calls of an expression before it is
// compiled, so their names can be declared.
type aggFinder struct{ p *aggPatcher }

func (f *aggFinder) Visit(node *ast.Node) {
	if name, ok := f.p.aggregate(*node, true); ok {
		f.p.found = append(f.p.found, name)
	}
}

// aggPatcher replaces each aggregate call by the name its value is bound
// to when the layout is written.
type aggPatcher struct {
	xl    *xmlLoader
	node  *yaml.Node
	what  string
	found []string
}

func (p *aggPatcher) Visit(node *ast.Node) {
	if name, ok := p.aggregate(*node, false); ok {
		id := &ast.IdentifierNode{Value: name}
		id.SetLocation((*node).Location())
		ast.Patch(node, id)
	}
}

// aggregate recognises COUNT(), COUNT(f), SUM(f), MIN(f) and MAX(f) and
// returns the name its value is bound to. With register (the first walk)
// it reports misuse and registers new aggregates.
func (p *aggPatcher) aggregate(n ast.Node, register bool) (string, bool) {
	report := register
	c, ok := n.(*ast.CallNode)
	if !ok {
		return "", false
	}
	id, ok := c.Callee.(*ast.IdentifierNode)
	if !ok || !aggFuncs[id.Value] {
		return "", false
	}
	xl := p.xl
	field := ""
	if id.Value == "GROUPSUM" {
		return p.groupSum(c, register)
	}
	if id.Value == "POSITION" {
		return p.position(c, register)
	}
	switch {
	case len(c.Arguments) == 0 && id.Value == "COUNT":
	case len(c.Arguments) == 1:
		a, ok := c.Arguments[0].(*ast.IdentifierNode)
		if !ok {
			if report {
				xl.l.Errorf(p.node, "%s: %s takes the name of a field, e.g. %s(amount); compute anything else in a model field first", p.what, id.Value, id.Value)
			}
			return "", false
		}
		field = a.Value
	default:
		if report {
			xl.l.Errorf(p.node, "%s: %s takes one field name, e.g. %s(amount)", p.what, id.Value, id.Value)
		}
		return "", false
	}
	key := id.Value + "(" + field + ")"
	if i, ok := xl.aggIdx[key]; ok {
		if register {
			xl.use(xl.scope, i)
			xl.keep(xl.scope, xl.spec.aggs[i].col)
		}
		return xl.spec.aggs[i].v, true
	}
	if !register {
		return "", false
	}
	if id.Value == "GROUPCOUNT" {
		if field == "" {
			xl.l.Errorf(p.node, "%s: GROUPCOUNT takes the name of a layout element with $group, e.g. GROUPCOUNT(Transaction)", p.what)
			return "", false
		}
		name := fmt.Sprintf("__agg%d", len(xl.spec.aggs))
		xl.aggIdx[key] = len(xl.spec.aggs)
		xl.counts = append(xl.counts, groupCountUse{agg: len(xl.spec.aggs), node: p.node, what: p.what})
		xl.spec.aggs = append(xl.spec.aggs, aggSpec{fn: id.Value, col: -1, v: name, target: field})
		return name, true
	}
	col := -1
	if field != "" {
		if _, ok := xl.l.Env.Vars[field]; !ok {
			xl.l.Errorf(p.node, "%s: %s(%s): unknown field %q%s", p.what, id.Value, field, field, expression.DidYouMean(field, slices.Sorted(maps.Keys(xl.l.Env.Vars))))
			return "", false
		}
		col = xl.spool(field)
		if col < 0 {
			xl.l.Errorf(p.node, "%s: %s(%s): %s is not a field of the rows", p.what, id.Value, field, field)
			return "", false
		}
		xl.keep(xl.scope, col)
	}
	name := fmt.Sprintf("__agg%d", len(xl.spec.aggs))
	xl.aggIdx[key] = len(xl.spec.aggs)
	xl.use(xl.scope, len(xl.spec.aggs))
	xl.spec.aggs = append(xl.spec.aggs, aggSpec{fn: id.Value, col: col, field: field, v: name})
	return name, true
}

// position recognises POSITION(): the place of the enclosing group among
// the groups of its element, from 1, in the order they first appear in
// the file (a payment block's number, for its id). It needs no spooled
// values: the group knows its place.
func (p *aggPatcher) position(c *ast.CallNode, register bool) (string, bool) {
	xl := p.xl
	if len(c.Arguments) != 0 {
		if register {
			xl.l.Errorf(p.node, "%s: POSITION() takes nothing between its brackets", p.what)
		}
		return "", false
	}
	const key = "POSITION()"
	if i, ok := xl.aggIdx[key]; ok {
		return xl.spec.aggs[i].v, true
	}
	if !register {
		return "", false
	}
	name := fmt.Sprintf("__agg%d", len(xl.spec.aggs))
	xl.aggIdx[key] = len(xl.spec.aggs)
	xl.spec.aggs = append(xl.spec.aggs, aggSpec{fn: "POSITION", col: -1, v: name})
	return name, true
}

// groupSum recognises GROUPSUM(Element, field, decimals): per group of
// Element, SUM(field) rounded to decimals, added up (a VAT total that is
// the sum of its rounded VAT breakdown).
func (p *aggPatcher) groupSum(c *ast.CallNode, register bool) (string, bool) {
	xl := p.xl
	bad := func() (string, bool) {
		if register {
			xl.l.Errorf(p.node, "%s: write GROUPSUM(Element, field, decimals), e.g. GROUPSUM(TaxSubtotal, vat, 2): Element has $group, field is a field of the rows", p.what)
		}
		return "", false
	}
	if len(c.Arguments) != 3 {
		return bad()
	}
	el, ok1 := c.Arguments[0].(*ast.IdentifierNode)
	f, ok2 := c.Arguments[1].(*ast.IdentifierNode)
	d, ok3 := c.Arguments[2].(*ast.IntegerNode)
	if !ok1 || !ok2 || !ok3 || d.Value < 0 || d.Value > 10 {
		return bad()
	}
	key := fmt.Sprintf("GROUPSUM(%s,%s,%d)", el.Value, f.Value, d.Value)
	if i, ok := xl.aggIdx[key]; ok {
		return xl.spec.aggs[i].v, true
	}
	if !register {
		return "", false
	}
	// The per-group sums it adds up.
	sumKey := "SUM(" + f.Value + ")"
	sumIdx, ok := xl.aggIdx[sumKey]
	if !ok {
		if _, known := xl.l.Env.Vars[f.Value]; !known {
			xl.l.Errorf(p.node, "%s: GROUPSUM: unknown field %q%s", p.what, f.Value, expression.DidYouMean(f.Value, slices.Sorted(maps.Keys(xl.l.Env.Vars))))
			return "", false
		}
		col := xl.spool(f.Value)
		if col < 0 {
			xl.l.Errorf(p.node, "%s: GROUPSUM: %s is not a field of the rows", p.what, f.Value)
			return "", false
		}
		sumIdx = len(xl.spec.aggs)
		xl.aggIdx[sumKey] = sumIdx
		xl.spec.aggs = append(xl.spec.aggs, aggSpec{fn: "SUM", col: col, field: f.Value, v: fmt.Sprintf("__agg%d", sumIdx)})
	}
	name := fmt.Sprintf("__agg%d", len(xl.spec.aggs))
	xl.aggIdx[key] = len(xl.spec.aggs)
	xl.counts = append(xl.counts, groupCountUse{agg: len(xl.spec.aggs), node: p.node, what: p.what})
	xl.spec.aggs = append(xl.spec.aggs, aggSpec{fn: "GROUPSUM", col: -1, v: name, target: el.Value, sumOf: sumIdx, places: int32(d.Value)})
	return name, true
}

func (xl *xmlLoader) controlTotals(n *yaml.Node) {
	l := xl.l
	for _, it := range l.List(n, "output.xml.control_totals") {
		var c controlTotal
		ok := l.Mapping(it, "control total", map[string]template.KeyHandler{
			"name":  func(_, v *yaml.Node) { c.name, _ = l.NonEmpty(v, "control total name") },
			"in":    func(_, v *yaml.Node) { c.in, _ = l.NonEmpty(v, "in") },
			"count": func(_, v *yaml.Node) { c.count, _ = l.NonEmpty(v, "count") },
			"sum": func(_, v *yaml.Node) {
				if v.Kind == yaml.SequenceNode {
					for _, it := range l.List(v, "sum") {
						if p, ok := l.NonEmpty(it, "sum"); ok {
							c.sums = append(c.sums, p)
						}
					}
				} else if p, ok := l.NonEmpty(v, "sum"); ok {
					c.sums = []string{p}
				}
				c.sum = strings.Join(c.sums, " + ")
			},
			"equals":     func(_, v *yaml.Node) { c.equals, _ = l.NonEmpty(v, "equals") },
			"equals_sum": func(_, v *yaml.Node) { c.equalsSum, _ = l.NonEmpty(v, "equals_sum") },
		}, "name", "in")
		if !ok {
			continue
		}
		if (c.equals == "") == (c.equalsSum == "") {
			l.Errorf(it, "control total %q: give either equals (the element holding the total) or equals_sum (elements whose sum must be the same)", c.name)
			continue
		}
		if c.equalsSum != "" && c.sum == "" {
			l.Errorf(it, "control total %q: equals_sum compares two sums; give sum as well", c.name)
			continue
		}
		if (c.count == "") == (c.sum == "") {
			l.Errorf(it, "control total %q: give either count (elements to count) or sum (the element whose values to add up)", c.name)
			continue
		}
		xl.spec.totals = append(xl.spec.totals, c)
	}
}

// Columns returns the values the layout needs of each row, in the order
// Add takes them: the fields it writes, then its group keys level by
// level.
func (s *XML) Columns() []Column { return s.columns }

// Describe names the schema for Template.Outputs: " (pain.001.001.03.xsd)".
func (s *XML) Describe() string {
	var names []string
	for _, c := range s.schemas {
		if c.file != "" {
			names = append(names, path.Base(c.file))
		}
	}
	if len(names) == 0 {
		return ""
	}
	return " (" + strings.Join(names, " or ") + ")"
}
