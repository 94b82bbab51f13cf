package transform

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/erpipe/erpipe/transform/expression"
	"github.com/erpipe/erpipe/transform/template"
	"github.com/shopspring/decimal"
	"gopkg.in/yaml.v3"
)

// Parameter is one option of a template (its `parameters:` section): a
// name expressions can use, with a type and a default value. A pipeline or
// a derived template sets it with WithParameters.
//
// A name may have one dot, period.start, to group related parameters
// under one name: expressions write period.start as they write input.name.
// A schedule sets period.start, period.end and period.name this way.
type Parameter struct {
	Name        string
	Type        string // string, boolean, integer, decimal or date
	Default     string // as written in the template
	Description string
}

// parseParameter turns text into a value of the parameter's type. Empty
// text is blank (nil) for every type but string, as an empty cell is.
func parseParameter(typ, text string) (any, error) {
	s := strings.TrimSpace(text)
	if s == "" && typ != expression.TypeString {
		return nil, nil
	}
	switch typ {
	case expression.TypeDate:
		d, err := time.Parse("2006-01-02", s)
		if err != nil {
			return nil, fmt.Errorf("%q is not a date; write it as yyyy-MM-dd, like 2026-10-31", text)
		}
		return d, nil
	case expression.TypeBoolean:
		for _, w := range expression.DefaultTrueValues {
			if strings.EqualFold(s, w) {
				return true, nil
			}
		}
		for _, w := range expression.DefaultFalseValues {
			if strings.EqualFold(s, w) {
				return false, nil
			}
		}
		return nil, fmt.Errorf("%q is not true or false", text)
	case expression.TypeInteger:
		i, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%q is not a whole number", text)
		}
		return i, nil
	case expression.TypeDecimal:
		d, err := decimal.NewFromString(s)
		if err != nil || strings.ContainsAny(s, "eE") {
			return nil, fmt.Errorf("%q is not a decimal number (write it like 1250.50)", text)
		}
		return d, nil
	}
	return text, nil
}

// loadParameters reads the parameters section; each parameter becomes a
// name every expression may use.
func (tl *templateLoader) loadParameters(n *yaml.Node) {
	t := tl.t
	t.params = map[string]any{}
	for _, it := range tl.List(n, "parameters") {
		p := Parameter{Type: expression.TypeString}
		var nameNode, defNode *yaml.Node
		ok := tl.Mapping(it, "parameter", map[string]template.KeyHandler{
			"name":        func(_, v *yaml.Node) { nameNode = v; p.Name, _ = tl.NonEmpty(v, "parameter name") },
			"type":        func(_, v *yaml.Node) { p.Type, _ = tl.OneOf(v, "parameter type", template.ParameterTypes...) },
			"default":     func(_, v *yaml.Node) { defNode = v; p.Default, _ = tl.Str(v, "parameter default") },
			"description": func(_, v *yaml.Node) { p.Description, _ = tl.Str(v, "parameter description") },
		}, "name", "default")
		if !ok || p.Name == "" || defNode == nil {
			continue
		}
		v, err := parseParameter(p.Type, p.Default)
		if err != nil {
			tl.Errorf(defNode, "parameter %q: default: %v", p.Name, err)
			continue
		}
		if !tl.declareParameter(nameNode, p.Name) {
			continue
		}
		tl.typed(p.Name, expression.FieldType(p.Type), "parameter")
		t.params[p.Name] = v
		t.paramSpecs = append(t.paramSpecs, p)
	}
}

// declareParameter declares the name of a parameter: an identifier, or
// two joined by a dot (period.start). The part before the dot names a
// group of parameters, and can't be the name of anything else.
func (tl *templateLoader) declareParameter(n *yaml.Node, name string) bool {
	group, member, dotted := strings.Cut(name, ".")
	if !dotted {
		if tl.paramGroups[name] {
			tl.Errorf(n, "parameter name %q is already used by parameters named %s.<name>; choose another name", name, name)
			return false
		}
		return tl.declare(n, name, "parameter")
	}
	for _, part := range []string{group, member} {
		if !fieldNameRE.MatchString(part) || reserved[part] {
			tl.Errorf(n, "parameter name %q must be a name, or two names joined by one dot (period.start), each starting with a letter and holding only letters, digits and _", name)
			return false
		}
	}
	if first := tl.names[group]; first != nil && !tl.paramGroups[group] {
		tl.Errorf(n, "parameter name %q: %q is already the name of something else (line %d); choose another name before the dot", name, group, first.Line)
		return false
	}
	if expression.IsFunction(group) {
		tl.Errorf(n, "parameter name %q: %q is the name of a function; choose another name before the dot", name, group)
		return false
	}
	if first := tl.names[name]; first != nil {
		tl.Errorf(n, "parameter name %q is already used on line %d", name, first.Line)
		return false
	}
	if tl.paramGroups == nil {
		tl.paramGroups = map[string]bool{}
	}
	tl.paramGroups[group] = true
	if tl.names[group] == nil {
		tl.names[group] = n // a field called like the group is refused
	}
	tl.names[name] = n
	tl.env.Vars[name] = nil
	return true
}

// Parameters returns the template's parameters, in template order, with
// their values as set (the default unless WithParameters changed it).
func (t *Template) Parameters() []Parameter {
	out := make([]Parameter, len(t.paramSpecs))
	for i, p := range t.paramSpecs {
		out[i] = p
		out[i].Default = expression.Text(t.params[p.Name])
	}
	return out
}

// WithParameters returns a copy of the template with some parameters set,
// by name, from text (booleans as true/false, decimals with a "."). An
// unknown name or a bad value is an error.
func (t *Template) WithParameters(values map[string]string) (*Template, error) {
	cp := *t
	cp.params = make(map[string]any, len(t.params))
	for k, v := range t.params {
		cp.params[k] = v
	}
	names := slices.Sorted(maps.Keys(values))
	for _, name := range names {
		var spec *Parameter
		for i := range t.paramSpecs {
			if t.paramSpecs[i].Name == name {
				spec = &t.paramSpecs[i]
			}
		}
		if spec == nil {
			known := make([]string, len(t.paramSpecs))
			for i, p := range t.paramSpecs {
				known[i] = p.Name
			}
			sort.Strings(known)
			return nil, fmt.Errorf("template %s has no parameter %q%s; its parameters are %s", t.Name, name, expression.DidYouMean(name, known), quoteList(known))
		}
		v, err := parseParameter(spec.Type, values[name])
		if err != nil {
			return nil, fmt.Errorf("template %s, parameter %s: %v", t.Name, name, err)
		}
		cp.params[name] = v
	}
	return &cp, nil
}
