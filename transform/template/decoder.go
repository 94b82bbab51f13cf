package template

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/erpipe/erpipe/transform/expression"
	"gopkg.in/yaml.v3"
)

// Decoder reads the nodes of one template file and collects its problems
// in Errs. Every value is read from the yaml.Node tree, so each problem
// names its line and column. Set File to the name messages show.
type Decoder struct {
	File   string
	Errs   Errors
	origin map[*yaml.Node]*nodeOrigin // nodes merged in from a base template (extends.go)
	// sources are the lines of the files read, by the name messages
	// show (exprpos.go).
	sources map[string][]string
}

// ErrorAt reports a problem at a line and column of the template file.
func (l *Decoder) ErrorAt(line, col int, format string, args ...any) {
	l.Errs = append(l.Errs, &PosError{File: l.File, Line: line, Col: col, Msg: fmt.Sprintf(format, args...)})
}

// ErrorIn reports a problem at a line and column of the file node n
// comes from.
func (l *Decoder) ErrorIn(n *yaml.Node, line, col int, format string, args ...any) {
	l.Errs = append(l.Errs, &PosError{File: l.fileOf(n), Line: line, Col: col, Msg: fmt.Sprintf(format, args...)})
}

// Errorf reports a problem at node n, in the file n comes from (a base
// template's nodes name the base).
func (l *Decoder) Errorf(n *yaml.Node, format string, args ...any) {
	line, col := 0, 0
	if n != nil {
		line, col = n.Line, n.Column
	}
	l.ErrorIn(n, line, col, format, args...)
}

// KindOf names a node's kind for messages.
func KindOf(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping (key: value lines)"
	case yaml.SequenceNode:
		return "a list (lines starting with -)"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "empty"
		}
		return fmt.Sprintf("%q", n.Value)
	case yaml.AliasNode:
		return "an alias"
	}
	return "a document"
}

// Resolve follows aliases.
func Resolve(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

// KeyHandler reads the value of one key.
type KeyHandler func(key, val *yaml.Node)

// Mapping walks a mapping node: it calls the handler of each known key, in
// file order, and reports unknown keys (with a suggestion), duplicate keys,
// and required keys that are missing. what names the mapping in messages,
// e.g. `input`.
func (l *Decoder) Mapping(n *yaml.Node, what string, handlers map[string]KeyHandler, required ...string) bool {
	n = Resolve(n)
	if n == nil {
		return false
	}
	if n.Kind != yaml.MappingNode {
		l.Errorf(n, "%s must be a mapping (key: value lines), not %s", what, KindOf(n))
		return false
	}
	seen := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], Resolve(n.Content[i+1])
		if k.Kind != yaml.ScalarNode {
			l.Errorf(k, "%s: keys must be plain names", what)
			continue
		}
		if first, dup := seen[k.Value]; dup {
			l.Errorf(k, "%s: key %q appears twice (first on line %d)", what, k.Value, first.Line)
			continue
		}
		seen[k.Value] = k
		h, ok := handlers[k.Value]
		if !ok {
			l.Errorf(k, "unknown key %q in %s%s", k.Value, what, expression.DidYouMean(k.Value, slices.Sorted(maps.Keys(handlers))))
			continue
		}
		h(k, v)
	}
	for _, r := range required {
		if seen[r] == nil {
			l.Errorf(n, "%s: the key %q is missing", what, r)
		}
	}
	return true
}

// Pairs returns the key and value nodes of a mapping, in file order,
// reporting non-scalar keys and duplicates. It is used for mappings whose
// keys are the user's (lookup codes, output columns).
func (l *Decoder) Pairs(n *yaml.Node, what string) (keys, vals []*yaml.Node) {
	n = Resolve(n)
	if n.Kind != yaml.MappingNode {
		l.Errorf(n, "%s must be a mapping (key: value lines), not %s", what, KindOf(n))
		return nil, nil
	}
	seen := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], Resolve(n.Content[i+1])
		if k.Kind != yaml.ScalarNode {
			l.Errorf(k, "%s: keys must be plain text", what)
			continue
		}
		if first, dup := seen[k.Value]; dup {
			l.Errorf(k, "%s: %q appears twice (first on line %d)", what, k.Value, first.Line)
			continue
		}
		seen[k.Value] = k
		keys = append(keys, k)
		vals = append(vals, v)
	}
	return keys, vals
}

// List returns the items of a sequence node.
func (l *Decoder) List(n *yaml.Node, what string) []*yaml.Node {
	n = Resolve(n)
	if n.Kind != yaml.SequenceNode {
		l.Errorf(n, "%s must be a list (lines starting with -), not %s", what, KindOf(n))
		return nil
	}
	out := make([]*yaml.Node, len(n.Content))
	for i, c := range n.Content {
		out[i] = Resolve(c)
	}
	return out
}

// Str reads a scalar as text. Any scalar is accepted (version: 1.0 is the
// text "1.0"); an empty value is "".
func (l *Decoder) Str(n *yaml.Node, what string) (string, bool) {
	if n.Kind != yaml.ScalarNode {
		l.Errorf(n, "%s must be a single value, not %s", what, KindOf(n))
		return "", false
	}
	if n.Tag == "!!null" {
		return "", true
	}
	return n.Value, true
}

// NonEmpty reads a scalar that must not be empty.
func (l *Decoder) NonEmpty(n *yaml.Node, what string) (string, bool) {
	s, ok := l.Str(n, what)
	if ok && strings.TrimSpace(s) == "" {
		l.Errorf(n, "%s is empty", what)
		return "", false
	}
	return s, ok
}

// Bool reads true or false.
func (l *Decoder) Bool(n *yaml.Node, what string) (bool, bool) {
	if n.Kind == yaml.ScalarNode {
		switch strings.ToLower(n.Value) {
		case "true", "yes":
			return true, true
		case "false", "no":
			return false, true
		}
	}
	l.Errorf(n, "%s must be true or false, not %s", what, KindOf(n))
	return false, false
}

// Int reads a whole number in [lo, hi].
func (l *Decoder) Int(n *yaml.Node, what string, lo, hi int) (int, bool) {
	if n.Kind == yaml.ScalarNode {
		if i, err := strconv.Atoi(n.Value); err == nil {
			if i < lo || i > hi {
				l.Errorf(n, "%s must be between %d and %d, not %d", what, lo, hi, i)
				return 0, false
			}
			return i, true
		}
	}
	l.Errorf(n, "%s must be a whole number, not %s", what, KindOf(n))
	return 0, false
}

// OneOf reads a scalar that must be one of choices.
func (l *Decoder) OneOf(n *yaml.Node, what string, choices ...string) (string, bool) {
	s, ok := l.Str(n, what)
	if !ok {
		return "", false
	}
	for _, c := range choices {
		if s == c {
			return s, true
		}
	}
	l.Errorf(n, "%s must be one of %s, not %q%s", what, strings.Join(expression.QuoteAll(choices), ", "), s, expression.DidYouMean(s, choices))
	return "", false
}

// StrList reads one text or a list of texts.
func (l *Decoder) StrList(n *yaml.Node, what string) ([]string, bool) {
	if n.Kind == yaml.ScalarNode {
		s, ok := l.Str(n, what)
		return []string{s}, ok
	}
	items := l.List(n, what)
	if items == nil {
		return nil, false
	}
	out := make([]string, 0, len(items))
	ok := true
	for _, it := range items {
		s, good := l.Str(it, what)
		ok = ok && good
		out = append(out, s)
	}
	return out, ok
}

// ExprPos maps a place inside an expression (1-based line, 0-based column
// of the expression text) to the template file, given the YAML node that
// holds the expression, from the node alone; Decoder.ExprPlace, which
// reads the source, is exact.
func ExprPos(n *yaml.Node, line, col int) (int, int) {
	if line <= 0 {
		return n.Line, n.Column
	}
	switch n.Style {
	case yaml.LiteralStyle, yaml.FoldedStyle:
		// The text starts on the line after the indicator; its indentation
		// is not known here, so point at the line's start.
		return n.Line + line, n.Column + 2 + col
	case yaml.DoubleQuotedStyle, yaml.SingleQuotedStyle:
		if line == 1 {
			return n.Line, n.Column + 1 + col
		}
	default:
		if line == 1 {
			return n.Line, n.Column + col
		}
	}
	return n.Line + line - 1, n.Column
}

// ParseDocument parses a template file's YAML and returns its root node,
// or records why it can't and returns false.
func (l *Decoder) ParseDocument(data []byte) (*yaml.Node, bool) {
	l.keepSource(l.File, data)
	root, err := decodeRoot(data)
	if err != nil {
		if errors.Is(err, io.EOF) {
			l.ErrorAt(1, 1, "the template is empty")
		} else {
			line, col, msg := yamlError(data, err) // yamlpos.go
			l.ErrorAt(line, col, "%s", msg)
		}
		return nil, false
	}
	return root, true
}

// decodeRoot parses YAML and returns its root node, aliases resolved; an
// empty document gives io.EOF.
func decodeRoot(data []byte) (*yaml.Node, error) {
	var doc yaml.Node
	if err := yaml.NewDecoder(strings.NewReader(string(data))).Decode(&doc); err != nil {
		return nil, err
	}
	root := Resolve(&doc)
	if root.Kind == yaml.DocumentNode && len(root.Content) > 0 {
		root = Resolve(root.Content[0])
	}
	return root, nil
}

// Compile compiles the expression in node n; what names it in messages,
// e.g. `model field "terms"`. Each problem is reported at its place in
// the file (ExprPlace); the program is nil when there is one.
func (l *Decoder) Compile(n *yaml.Node, what string, env *expression.Env) *expression.Program {
	src, ok := l.Str(n, what)
	if !ok {
		return nil
	}
	prog, probs := expression.Compile(src, env)
	for _, p := range probs {
		line, col := l.ExprPlace(n, p.Line, p.Col)
		l.ErrorIn(n, line, col, "%s: %s", what, p.Msg)
	}
	return prog
}

// CompileCondition compiles the expression in node n, whose value is a
// condition (a filter, a validation); one whose value can never be true
// or false is reported as well, and gives nil.
func (l *Decoder) CompileCondition(n *yaml.Node, what string, env *expression.Env) *expression.Program {
	prog := l.Compile(n, what, env)
	if prog != nil && !l.Condition(n, what, prog) {
		return nil
	}
	return prog
}

// Condition reports, at node n, a compiled condition whose value can
// never be true or false; it returns false then.
func (l *Decoder) Condition(n *yaml.Node, what string, prog *expression.Program) bool {
	msg := prog.ConditionProblem()
	if msg == "" {
		return true
	}
	line, col := l.ExprPlace(n, 1, 0)
	l.ErrorIn(n, line, col, "%s: %s", what, msg)
	return false
}

// PathCause returns the cause of a *fs.PathError, without the path that
// a message about a file the template names already shows ("no such
// file or directory").
func PathCause(err error) error {
	if outside(err) {
		return errOutside
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
