package transform

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"github.com/erpipe/erpipe/formats/dmf"
	"github.com/erpipe/erpipe/transform/expression"
	"github.com/erpipe/erpipe/transform/layout"
	"github.com/erpipe/erpipe/transform/template"
)

// inputSpec is the template's input section.
type inputSpec struct {
	format string

	csvComma      rune
	csvHeader     bool
	csvEncoding   string
	csvLegacy     string // the encoding of a file that is not UTF-8, when encoding sniffs
	csvCommaSet   bool   // the template names the delimiter; else it is sniffed
	csvLazyQuotes bool
	csvHeaderRow  int // 0: the first row, or the one below a title that holds the columns (header.go)

	xlsxSheet        string
	xlsxSheetIndex   int
	xlsxHeaderRow    int
	xlsxMissingSheet string // "first" or "error"
	sheetsEntry      bool   // the input is a sheet of input.sheets (multiinput.go)

	xmlRecord string

	fixed *layout.FixedWidth // input.fixed_width (fixedwidth.go)

	json *jsonInput // input.json (json.go)

	fields []*expression.InputField
}

// comma is the CSV delimiter the template names, or 0 when it leaves it
// to the file's header row.
func (in *inputSpec) comma() rune {
	if !in.csvCommaSet {
		return 0
	}
	return in.csvComma
}

type modelField struct {
	name  string
	prog  *expression.Program
	input int // index of the input field its first name comes from, or -1
}

type validation struct {
	name     string
	message  string
	severity string
	prog     *expression.Program
	field    string // the first input or model field the condition names
	input    int    // index of the input field it comes from, or -1
}

type outputSpec struct {
	fileName *expression.Program
	kind     string // "csv", "xlsx", "dmf", "xml", "workbook" or "document"

	csvComma    rune
	csvEncoding string
	csvCRLF     bool
	csvEscape   bool // escape values a spreadsheet would run as formulas
	csvHeader   bool
	csvColumns  []layout.Column // the columns of a csv or xlsx output
	xlsx        *layout.XLSX    // a workbook: the output (kind "xlsx"), or beside the CSV file (layout.XLSX)

	dmfGroup       string
	dmfDescription string
	dmfEntities    []dmfEntity

	fixed *layout.FixedWidth // output.fixed_width (fixedwidth.go)

	xml    *layout.XML
	filled layout.Filled // a designed workbook or document filled from a layout (its XML)
}

type dmfEntity struct {
	entity    dmf.Entity
	columns   []layout.Column
	dependsOn *yaml.Node // depends_on: labels of entities that must come first (order.go)
	node      *yaml.Node // the entity's mapping, for messages
}

// fileNameInput and fileNameTemplate are what output.file_name sees as
// input and template.
type fileNameInput struct {
	Name string `expr:"name"` // base name without extension
	Ext  string `expr:"ext"`  // extension with its dot, e.g. ".csv"
}

type fileNameTemplate struct {
	Name    string `expr:"name"`
	Version string `expr:"version"`
}

var fieldNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// reserved are words of the expression language that can't name fields.
var reserved = map[string]bool{
	"in": true, "or": true, "and": true, "not": true, "matches": true, "contains": true, "startsWith": true,
	"endsWith": true, "let": true, "if": true, "else": true, "nil": true, "true": true, "false": true,
}

// LoadFS loads the template file at path in fsys (files it refers to, such
// as lookup tables, are resolved beside it) and compiles it. Problems are
// returned together as a template.Errors, each "file:line:col: message".
func LoadFS(fsys fs.FS, name string) (*Template, error) {
	data, err := fs.ReadFile(fsys, name)
	if err != nil {
		return nil, err
	}
	return load(fsys, name, name, data)
}

// load parses and compiles a template; display is the path used in
// messages.
func load(fsys fs.FS, name, display string, data []byte) (*Template, error) {
	sum := sha256.Sum256(data)
	t := &Template{Path: display, Hash: hex.EncodeToString(sum[:])}
	l := &template.Decoder{File: display}

	root, ok := l.ParseDocument(data)
	if !ok {
		return nil, l.Errs
	}
	root, hash := l.Extend(fsys, name, root) // a derived template's base merged in
	if hash != "" {
		t.Hash = hash
	}
	tl := &templateLoader{Decoder: l, t: t, fsys: fsys, dir: path.Dir(name)}
	tl.load(root)
	tl.loadTests() // tests.go
	if len(l.Errs) > 0 {
		return nil, l.Errs.Sorted()
	}
	return t, nil
}

// templateLoader reads the sections of a template in the order their names
// depend on each other: input fields, lookups, model, then the rest.
type templateLoader struct {
	*template.Decoder
	t    *Template
	fsys fs.FS
	dir  string

	env   *expression.Env
	names map[string]*yaml.Node // field names declared so far
	// paramGroups are the names before the dot of dotted parameter names
	// (period of period.start); see declareParameter.
	paramGroups map[string]bool
	tests       *yaml.Node
	inputSet    bool
}

func (tl *templateLoader) load(root *yaml.Node) {
	t := tl.t
	sections := map[string]*yaml.Node{}
	keep := func(k, v *yaml.Node) { sections[k.Value] = v }
	ok := tl.Mapping(root, "the template", map[string]template.KeyHandler{
		"name":        keep,
		"version":     keep,
		"status":      keep,
		"description": keep,
		"input":       keep,
		"lookups":     keep,
		"model":       keep,
		"filter":      keep,
		"validations": keep,
		"output":      keep,
		"tests":       keep,
		"checks":      keep,
		"summary":     keep, // summary.go
		"parameters":  keep, // params.go
	}, "name", "input", "output")
	if !ok {
		return
	}
	if n := sections["name"]; n != nil {
		t.Name, _ = tl.NonEmpty(n, "name")
	}
	t.Version = "0"
	if n := sections["version"]; n != nil {
		t.Version, _ = tl.NonEmpty(n, "version")
	}
	t.Status = "draft"
	if n := sections["status"]; n != nil {
		t.Status, _ = tl.OneOf(n, "status", "draft", "completed")
	}
	if n := sections["description"]; n != nil {
		t.Description, _ = tl.Str(n, "description")
	}
	tl.tests = sections["tests"]

	tl.env = &expression.Env{Vars: map[string]any{}, Types: map[string]expression.NameType{}, Lookups: map[string]map[string]string{}, Later: map[string]bool{}}
	tl.names = map[string]*yaml.Node{}
	if n := sections["parameters"]; n != nil {
		tl.loadParameters(n)
	}
	if n := sections["input"]; n != nil {
		tl.loadInput(n)
	}
	if n := sections["summary"]; n != nil {
		tl.loadSummary(n)
	}
	if n := sections["lookups"]; n != nil {
		tl.loadLookups(n)
	}
	t.lookups = tl.env.Lookups
	if n := sections["model"]; n != nil {
		tl.loadModel(n)
	}
	if n := sections["filter"]; n != nil {
		t.filter = tl.CompileCondition(n, "filter", tl.env)
	}
	if n := sections["validations"]; n != nil {
		tl.loadValidations(n)
	}
	if n := sections["output"]; n != nil {
		tl.loadOutput(n)
	}
	if n := sections["checks"]; n != nil {
		tl.loadChecks(n) // checks.go
	}
	tl.finishMulti(sections["input"]) // multiinput.go
	t.vars = tl.env.Vars
	t.bindSlots() // slots.go
}

// declare adds a field name, checking that it is usable in expressions
// and unique.
func (tl *templateLoader) declare(n *yaml.Node, name, what string) bool {
	switch {
	case !fieldNameRE.MatchString(name):
		tl.Errorf(n, "%s name %q must start with a letter and hold only letters, digits and _ (e.g. credit_limit)", what, name)
		return false
	case reserved[name]:
		tl.Errorf(n, "%s name %q is a word of the expression language; choose another name", what, name)
		return false
	case expression.IsFunction(name):
		tl.Errorf(n, "%s name %q is the name of a function; choose another name", what, name)
		return false
	case tl.names[name] != nil:
		tl.Errorf(n, "%s name %q is already used on line %d", what, name, tl.names[name].Line)
		return false
	}
	tl.names[name] = n
	tl.env.Vars[name] = nil
	return true
}

// typed gives a declared name the kinds of value it holds, which the
// expressions using it are checked against (expression/typecheck.go);
// decl says what declares them ("field", "parameter"), for hints, or is
// "" when they are computed.
func (tl *templateLoader) typed(name string, t expression.Type, decl string) {
	tl.env.Types[name] = expression.NameType{Type: t, Decl: decl}
}

// sourceOf returns the index of the input field that name is, or that
// the model field name first refers to, or -1.
func (tl *templateLoader) sourceOf(name string) int {
	for i, f := range tl.t.input.fields {
		if f.Name == name {
			return i
		}
	}
	for _, m := range tl.t.model {
		if m.name == name {
			return m.input
		}
	}
	return -1
}

// layoutLoader is the Loader of the template's output layouts.
func (tl *templateLoader) layoutLoader() *layout.Loader {
	return &layout.Loader{Decoder: tl.Decoder, FS: tl.fsys, Dir: tl.dir, Env: tl.env, Params: tl.t.params}
}

func (tl *templateLoader) loadInput(n *yaml.Node) {
	in := &tl.t.input
	in.format = template.FormatAuto
	in.csvHeader = true
	in.csvComma = ','
	in.xlsxMissingSheet = "first"
	var fieldsNode *yaml.Node
	tl.Mapping(n, "input", map[string]template.KeyHandler{
		"format": func(_, v *yaml.Node) {
			in.format, _ = tl.OneOf(v, "input.format", template.FormatAuto, template.FormatCSV, template.FormatXLSX, template.FormatXML, template.FormatDMF, template.FormatFixedWidth, template.FormatJSON)
		},
		"csv": func(_, v *yaml.Node) {
			tl.Mapping(v, "input.csv", map[string]template.KeyHandler{
				"delimiter": func(_, v *yaml.Node) { in.csvComma, in.csvCommaSet = tl.delimiter(v, "input.csv.delimiter"), true },
				"header": func(_, v *yaml.Node) {
					in.csvHeader, _ = tl.Bool(v, "input.csv.header")
				},
				"encoding": func(_, v *yaml.Node) {
					in.csvEncoding, _ = tl.OneOf(v, "input.csv.encoding", "auto", "utf-8", "utf-16le", "utf-16be", "windows-1252")
					if in.csvEncoding == "auto" {
						in.csvEncoding = ""
					}
				},
				"legacy_encoding": func(_, v *yaml.Node) {
					in.csvLegacy, _ = tl.OneOf(v, "input.csv.legacy_encoding", template.LegacyEncodings...)
				},
				"lazy_quotes": func(_, v *yaml.Node) { in.csvLazyQuotes, _ = tl.Bool(v, "input.csv.lazy_quotes") },
				"header_row":  func(_, v *yaml.Node) { in.csvHeaderRow, _ = tl.Int(v, "input.csv.header_row", 1, 1048576) },
			})
		},
		"xlsx": func(_, v *yaml.Node) {
			tl.Mapping(v, "input.xlsx", map[string]template.KeyHandler{
				"sheet":       func(_, v *yaml.Node) { in.xlsxSheet, _ = tl.NonEmpty(v, "input.xlsx.sheet") },
				"sheet_index": func(_, v *yaml.Node) { in.xlsxSheetIndex, _ = tl.Int(v, "input.xlsx.sheet_index", 1, 10000) },
				"header_row":  func(_, v *yaml.Node) { in.xlsxHeaderRow, _ = tl.Int(v, "input.xlsx.header_row", 1, 1048576) },
				"missing_sheet": func(_, v *yaml.Node) {
					in.xlsxMissingSheet, _ = tl.OneOf(v, "input.xlsx.missing_sheet", "first", "error")
				},
			})
		},
		"xml": func(_, v *yaml.Node) {
			tl.Mapping(v, "input.xml", map[string]template.KeyHandler{
				"record": func(_, v *yaml.Node) { in.xmlRecord, _ = tl.NonEmpty(v, "input.xml.record") },
			}, "record")
		},
		"fixed_width": func(_, v *yaml.Node) {
			in.fixed = tl.layoutLoader().LoadFixedWidth(v, "input.fixed_width", false)
		},
		"json":   func(_, v *yaml.Node) { in.json = tl.loadJSONInput(v) }, // json.go
		"fields": func(_, v *yaml.Node) { fieldsNode = v },
		"sheets": func(_, v *yaml.Node) { tl.loadSheets(v) }, // multiinput.go
	})
	if fieldsNode == nil && !tl.fieldsOptional(n) {
		tl.Errorf(n, "input: the key %q is missing", "fields")
	}
	if in.format == template.FormatXML && in.xmlRecord == "" {
		tl.Errorf(n, "input: format xml needs xml.record, the path of the element that repeats, e.g. Document/Stmt/Ntry")
	}
	if fieldsNode == nil {
		return
	}
	items := tl.List(fieldsNode, "input.fields")
	if len(items) == 0 && template.Resolve(fieldsNode).Kind == yaml.SequenceNode {
		tl.Errorf(fieldsNode, "input.fields is empty; list the columns to read")
	}
	for _, it := range items {
		if f := tl.loadField(it); f != nil {
			in.fields = append(in.fields, f)
		}
	}
	tl.checkFixedInput(n, fieldsNode) // fixedwidth.go
	tl.checkJSONInput(n)              // json.go
}

func (tl *templateLoader) delimiter(v *yaml.Node, what string) rune {
	s, ok := tl.Str(v, what)
	if !ok {
		return ','
	}
	switch strings.ToLower(s) {
	case "tab", `\t`:
		return '\t'
	}
	if utf8.RuneCountInString(s) != 1 || s == "\"" || s == "\r" || s == "\n" {
		tl.Errorf(v, `%s must be one character such as "," ";" "|" or "tab", not %q`, what, s)
		return ','
	}
	r, _ := utf8.DecodeRuneInString(s)
	return r
}

func (tl *templateLoader) loadField(n *yaml.Node) *expression.InputField {
	f := &expression.InputField{Type: expression.TypeString, DecSep: "."}
	var nameNode, typeNode, layoutNode *yaml.Node
	var trueVals, falseVals []string
	ok := tl.Mapping(n, "input field", map[string]template.KeyHandler{
		"name":   func(_, v *yaml.Node) { nameNode = v; f.Name, _ = tl.NonEmpty(v, "field name") },
		"column": func(_, v *yaml.Node) { f.Column, _ = tl.NonEmpty(v, "column") },
		"type": func(_, v *yaml.Node) {
			typeNode = v
			f.Type, _ = tl.OneOf(v, "type", expression.FieldTypes...)
		},
		"layout": func(_, v *yaml.Node) {
			layoutNode = v
			srcs, ok := tl.StrList(v, "layout")
			if !ok {
				return
			}
			for _, s := range srcs {
				l, err := expression.ParseDateLayout(s)
				if err != nil {
					tl.Errorf(v, "%v", err)
					continue
				}
				f.Layouts = append(f.Layouts, l)
			}
		},
		"decimal_separator": func(_, v *yaml.Node) {
			f.DecSep, _ = tl.OneOf(v, "decimal_separator", ".", ",")
			f.DecSepSet = true
		},
		"thousands_separator": func(_, v *yaml.Node) {
			f.ThouSep, _ = tl.OneOf(v, "thousands_separator", " ", ".", ",", "'")
		},
		"true_values":  func(_, v *yaml.Node) { trueVals, _ = tl.StrList(v, "true_values") },
		"false_values": func(_, v *yaml.Node) { falseVals, _ = tl.StrList(v, "false_values") },
		"required":     func(_, v *yaml.Node) { f.Required, _ = tl.Bool(v, "required") },
		"default": func(_, v *yaml.Node) {
			s, ok := tl.Str(v, "default")
			if ok {
				f.Default = &s
			}
		},
	}, "name")
	if !ok || f.Name == "" {
		return nil
	}
	if !tl.declare(nameNode, f.Name, "field") {
		return nil
	}
	tl.typed(f.Name, expression.FieldType(f.Type), "field")
	if f.Column == "" {
		f.Column = f.Name
	}
	if f.Type == "" {
		f.Type = expression.TypeString
	}
	isTime := f.Type == expression.TypeDate || f.Type == expression.TypeDatetime
	if layoutNode != nil && !isTime {
		tl.Errorf(layoutNode, "field %q: layout is only for date and datetime fields (the type is %s)", f.Name, f.Type)
	}
	if isTime && layoutNode == nil {
		defaults := expression.DefaultDateLayouts
		if f.Type == expression.TypeDatetime {
			defaults = expression.DefaultDatetimeLayouts
		}
		for _, s := range defaults {
			l, _ := expression.ParseDateLayout(s)
			f.Layouts = append(f.Layouts, l)
		}
	}
	if isTime && len(f.Layouts) == 0 {
		return nil // reported above
	}
	if f.DecSep != "" && f.DecSep == f.ThouSep {
		tl.Errorf(n, "field %q: the decimal and thousands separators are both %q", f.Name, f.DecSep)
	}
	if f.Type == expression.TypeBoolean {
		if trueVals == nil {
			trueVals = expression.DefaultTrueValues
		}
		if falseVals == nil {
			falseVals = expression.DefaultFalseValues
		}
		f.TrueList, f.FalseList = trueVals, falseVals
		f.TrueSet, f.FalseSet = map[string]bool{}, map[string]bool{}
		for _, s := range trueVals {
			f.TrueSet[strings.ToLower(strings.TrimSpace(s))] = true
		}
		for _, s := range falseVals {
			s = strings.ToLower(strings.TrimSpace(s))
			if f.TrueSet[s] {
				tl.Errorf(n, "field %q: %q is both a true and a false value", f.Name, s)
			}
			f.FalseSet[s] = true
		}
	} else if trueVals != nil || falseVals != nil {
		tl.Errorf(n, "field %q: true_values and false_values are only for boolean fields (the type is %s)", f.Name, f.Type)
	}
	if f.Default != nil && strings.TrimSpace(*f.Default) != "" && typeNode != nil {
		probe := *f
		probe.Default = nil
		if _, err := probe.Parse(*f.Default, false); err != nil {
			tl.Errorf(n, "field %q: the default %q is not a valid %s value: %v", f.Name, *f.Default, f.Type, err)
		}
	}
	f.SetHint()
	return f
}

func (tl *templateLoader) loadLookups(n *yaml.Node) {
	keys, vals := tl.Pairs(n, "lookups")
	for i, k := range keys {
		name, v := k.Value, vals[i]
		if !fieldNameRE.MatchString(name) {
			tl.Errorf(k, "lookup table name %q must start with a letter and hold only letters, digits and _", name)
			continue
		}
		if v.Kind != yaml.MappingNode {
			tl.Errorf(v, "lookup table %q must be a mapping of codes (\"30\": Net30), or {file: codes.csv, key: Code, value: Name}", name)
			continue
		}
		if isFileLookup(v) || isCodesLookup(v) {
			tl.env.Lookups[name] = tl.loadLookupTable(name, v) // lookups.go
			continue
		}
		tl.env.Lookups[name] = tl.inlineCodes(name, v)
	}
}

func isFileLookup(n *yaml.Node) bool {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == "file" {
			return true
		}
	}
	return false
}

func quoteList(ss []string) string {
	if len(ss) == 0 {
		return "(none)"
	}
	return strings.Join(expression.QuoteAll(ss), ", ")
}

func (tl *templateLoader) loadModel(n *yaml.Node) {
	items := tl.List(n, "model")
	type entry struct {
		name     string
		nameNode *yaml.Node
		expr     *yaml.Node
		item     *yaml.Node
	}
	var entries []entry
	for _, it := range items {
		var e entry
		e.item = it
		tl.Mapping(it, "model field", map[string]template.KeyHandler{
			"name": func(_, v *yaml.Node) { e.nameNode = v; e.name, _ = tl.NonEmpty(v, "model field name") },
			"expr": func(_, v *yaml.Node) { e.expr = v },
		}, "name", "expr")
		entries = append(entries, e)
	}
	for _, e := range entries {
		if e.name != "" && fieldNameRE.MatchString(e.name) {
			tl.env.Later[e.name] = true
		}
	}
	for _, e := range entries {
		delete(tl.env.Later, e.name)
		var prog *expression.Program
		if e.expr != nil && e.name != "" {
			what := fmt.Sprintf("model field %q", e.name)
			prog = tl.Compile(e.expr, what, tl.env)
			if prog != nil {
				m := modelField{name: e.name, prog: prog, input: -1}
				if len(prog.Idents) > 0 {
					m.input = tl.sourceOf(prog.Idents[0])
				}
				tl.t.model = append(tl.t.model, m)
			}
		}
		if e.name != "" && tl.declare(e.nameNode, e.name, "model field") && prog != nil {
			tl.typed(e.name, prog.Type(), "") // what its expression gives
		}
	}
}

func (tl *templateLoader) loadValidations(n *yaml.Node) {
	seen := map[string]int{}
	for _, it := range tl.List(n, "validations") {
		v := validation{severity: template.SeverityError}
		var cond *yaml.Node
		ok := tl.Mapping(it, "validation", map[string]template.KeyHandler{
			"name": func(k, val *yaml.Node) {
				v.name, _ = tl.NonEmpty(val, "validation name")
				if line, dup := seen[v.name]; dup && v.name != "" {
					tl.Errorf(val, "validation name %q is already used on line %d", v.name, line)
				}
				seen[v.name] = val.Line
			},
			"condition": func(_, val *yaml.Node) { cond = val },
			"message":   func(_, val *yaml.Node) { v.message, _ = tl.NonEmpty(val, "message") },
			"severity": func(_, val *yaml.Node) {
				v.severity, _ = tl.OneOf(val, "severity", template.SeverityError, template.SeverityWarning)
			},
		}, "name", "condition", "message")
		if !ok || cond == nil {
			continue
		}
		v.prog = tl.CompileCondition(cond, fmt.Sprintf("validation %q", v.name), tl.env)
		if v.prog == nil {
			continue
		}
		v.input = -1
		if len(v.prog.Idents) > 0 {
			v.field = v.prog.Idents[0]
			v.input = tl.sourceOf(v.field)
		}
		tl.t.validations = append(tl.t.validations, v)
	}
}

func (tl *templateLoader) loadOutput(n *yaml.Node) {
	out := &tl.t.output
	var fileName, csvNode, dmfNode, xlsxNode *yaml.Node
	ok := tl.Mapping(n, "output", map[string]template.KeyHandler{
		"file_name": func(_, v *yaml.Node) { fileName = v },
		"csv":       func(_, v *yaml.Node) { csvNode = v },
		"xlsx":      func(_, v *yaml.Node) { xlsxNode = v },
		"dmf":       func(_, v *yaml.Node) { dmfNode = v },
		"unpack":    func(_, v *yaml.Node) { out.kind = "unpack"; tl.loadUnpack(v) }, // multiinput.go
		"fixed_width": func(_, v *yaml.Node) {
			out.kind, out.fixed = "fixed_width", tl.layoutLoader().LoadFixedWidth(v, "output.fixed_width", true)
		},
		"json": func(_, v *yaml.Node) {
			out.kind, out.filled = "json", tl.layoutLoader().LoadJSON(v) // layout/json.go
			out.xml = out.filled.XML()
		},
		"xml": func(_, v *yaml.Node) { out.kind = "xml"; out.xml = tl.layoutLoader().LoadXML(v) },
		"workbook": func(_, v *yaml.Node) {
			out.kind = "workbook"
			out.filled = tl.layoutLoader().LoadWorkbook(v)
			out.xml = out.filled.XML()
		},
		"document": func(_, v *yaml.Node) {
			out.kind = "document"
			out.filled = tl.layoutLoader().LoadDocument(v)
			out.xml = out.filled.XML()
		},
	})
	if !ok || out.kind == "unpack" {
		if out.kind == "unpack" && (csvNode != nil || dmfNode != nil || xlsxNode != nil) {
			tl.Errorf(n, "output: give one of csv, dmf or unpack")
		}
		return
	}
	switch {
	case out.kind == "fixed_width" || out.kind == "json":
		if csvNode != nil || dmfNode != nil || xlsxNode != nil {
			tl.Errorf(n, "output: give one of csv, dmf, xml, fixed_width or json, not several")
		}
	case out.kind == "xml" || out.kind == "workbook" || out.kind == "document":
		if csvNode != nil || dmfNode != nil || xlsxNode != nil {
			tl.Errorf(n, "output: give one of csv, dmf, xml, workbook or document, not several")
		}
	case (csvNode != nil || xlsxNode != nil) && dmfNode != nil:
		tl.Errorf(dmfNode, "output: give either csv (and/or xlsx) or dmf, not both")
	case csvNode == nil && dmfNode == nil && xlsxNode == nil:
		tl.Errorf(n, "output: say what to write: csv (a delimited text file), xlsx (an Excel workbook) or dmf (a DMF data package)")
	case csvNode != nil || xlsxNode != nil:
		out.kind = "csv"
		if csvNode != nil {
			tl.loadCSVOutput(csvNode)
		}
		if xlsxNode != nil {
			var cols *yaml.Node
			out.xlsx, cols = tl.layoutLoader().LoadXLSX(xlsxNode)
			switch {
			case csvNode != nil && cols != nil:
				tl.Errorf(cols, "output.xlsx.columns: beside output.csv the workbook has the CSV file's columns; leave them out here")
			case csvNode == nil && cols == nil:
				tl.Errorf(xlsxNode, "output.xlsx: list its columns (header text → expression)")
			case csvNode == nil:
				out.kind = "xlsx"
				out.csvColumns = tl.columns(cols, "output.xlsx.columns", "output column", false)
			}
		}
	default:
		out.kind = "dmf"
		tl.loadDMFOutput(dmfNode)
	}
	fnEnv := &expression.Env{Vars: map[string]any{"input": fileNameInput{}, "template": fileNameTemplate{}}, Types: map[string]expression.NameType{}}
	for name := range tl.t.params {
		fnEnv.Vars[name] = nil // the parameters too, e.g. a schedule's period_name
		fnEnv.Types[name] = tl.env.Types[name]
	}
	if fileName != nil {
		out.fileName = tl.Compile(fileName, "output.file_name", fnEnv)
	} else {
		ext := ".zip"
		switch out.kind {
		case "csv":
			ext = ".csv"
		case "xlsx", "workbook":
			ext = ".xlsx"
		case "document":
			ext = ".docx"
		case "xml":
			ext = ".xml"
		case "fixed_width":
			ext = ".txt"
		case "json":
			ext = ".json"
		}
		out.fileName, _ = expression.Compile(`input.name + "`+ext+`"`, fnEnv)
	}
}

// columns reads an ordered mapping of output column → expression; what
// names the mapping and label one column in messages.
func (tl *templateLoader) columns(n *yaml.Node, what, label string, identifiers bool) []layout.Column {
	keys, vals := tl.Pairs(n, what)
	if len(keys) == 0 && template.Resolve(n).Kind == yaml.MappingNode {
		tl.Errorf(n, "%s is empty; map each output column to an expression", what)
	}
	cols := make([]layout.Column, 0, len(keys))
	for i, k := range keys {
		if identifiers && !fieldNameRE.MatchString(k.Value) {
			tl.Errorf(k, "%s: staging field name %q must be letters, digits and _ only, as D365 names them (e.g. CUSTOMERACCOUNT)", what, k.Value)
		}
		prog := tl.Compile(vals[i], fmt.Sprintf("%s %q", label, k.Value), tl.env)
		cols = append(cols, layout.Column{Name: k.Value, Prog: prog})
	}
	return cols
}

func (tl *templateLoader) loadCSVOutput(n *yaml.Node) {
	out := &tl.t.output
	out.csvComma = ','
	out.csvHeader = true
	out.csvEscape = true
	var cols *yaml.Node
	tl.Mapping(n, "output.csv", map[string]template.KeyHandler{
		"delimiter": func(_, v *yaml.Node) { out.csvComma = tl.delimiter(v, "output.csv.delimiter") },
		"encoding": func(_, v *yaml.Node) {
			out.csvEncoding, _ = tl.OneOf(v, "output.csv.encoding", "utf-8", "utf-8-bom", "utf-16le")
		},
		"crlf":   func(_, v *yaml.Node) { out.csvCRLF, _ = tl.Bool(v, "output.csv.crlf") },
		"header": func(_, v *yaml.Node) { out.csvHeader, _ = tl.Bool(v, "output.csv.header") },
		"escape_formulas": func(_, v *yaml.Node) {
			out.csvEscape, _ = tl.Bool(v, "output.csv.escape_formulas")
		},
		"columns": func(_, v *yaml.Node) { cols = v },
	}, "columns")
	if cols != nil {
		out.csvColumns = tl.columns(cols, "output.csv.columns", "output column", false)
	}
}

func (tl *templateLoader) loadDMFOutput(n *yaml.Node) {
	out := &tl.t.output
	var entities *yaml.Node
	tl.Mapping(n, "output.dmf", map[string]template.KeyHandler{
		"definition_group": func(_, v *yaml.Node) { out.dmfGroup, _ = tl.NonEmpty(v, "definition_group") },
		"description":      func(_, v *yaml.Node) { out.dmfDescription, _ = tl.Str(v, "description") },
		"entities":         func(_, v *yaml.Node) { entities = v },
	}, "entities")
	if out.dmfGroup == "" {
		out.dmfGroup = tl.t.Name
	}
	if entities == nil {
		return
	}
	items := tl.List(entities, "output.dmf.entities")
	if len(items) == 0 && template.Resolve(entities).Kind == yaml.SequenceNode {
		tl.Errorf(entities, "output.dmf.entities is empty; list at least one entity")
	}
	names := map[string]int{}
	for _, it := range items {
		e := dmfEntity{entity: dmf.Entity{SourceFormat: dmf.CSVUnicode, ExecutionUnit: 1, Level: 1, Sequence: 1}}
		var cols *yaml.Node
		ok := tl.Mapping(it, "entity", map[string]template.KeyHandler{
			"name": func(_, v *yaml.Node) {
				e.entity.Name, _ = tl.NonEmpty(v, "entity name")
				if line, dup := names[e.entity.Name]; dup {
					tl.Errorf(v, "entity %q is already in the package (line %d)", e.entity.Name, line)
				}
				names[e.entity.Name] = v.Line
			},
			"target": func(_, v *yaml.Node) { e.entity.Target, _ = tl.NonEmpty(v, "target") },
			"source_format": func(_, v *yaml.Node) {
				e.entity.SourceFormat, _ = tl.OneOf(v, "source_format", template.SourceFormats...)
			},
			"execution_unit": func(_, v *yaml.Node) { e.entity.ExecutionUnit, _ = tl.Int(v, "execution_unit", 1, 9999) },
			"level":          func(_, v *yaml.Node) { e.entity.Level, _ = tl.Int(v, "level", 1, 9999) },
			"sequence":       func(_, v *yaml.Node) { e.entity.Sequence, _ = tl.Int(v, "sequence", 1, 9999) },
			"columns":        func(_, v *yaml.Node) { cols = v },
			"depends_on":     func(_, v *yaml.Node) { e.dependsOn = v },
		}, "name", "target", "columns")
		e.node = it
		if !ok || cols == nil {
			continue
		}
		e.columns = tl.columns(cols, fmt.Sprintf("entity %q columns", e.entity.Name), fmt.Sprintf("entity %q column", e.entity.Name), true)
		for _, c := range e.columns {
			e.entity.Columns = append(e.entity.Columns, c.Name)
		}
		out.dmfEntities = append(out.dmfEntities, e)
	}
	tl.checkEntityOrder() // order.go
}
