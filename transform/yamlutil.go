package transform

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/erpipe/erpipe/transform/expression"
	"gopkg.in/yaml.v3"
)

// loader collects the problems of one template file. Every value is read
// from the yaml.Node tree, so each problem names its line and column.
type loader struct {
	file   string
	errs   TemplateErrors
	origin map[*yaml.Node]*nodeOrigin // nodes merged in from a base template (extends.go)
}

func (l *loader) errorAt(line, col int, format string, args ...any) {
	l.errs = append(l.errs, &PosError{File: l.file, Line: line, Col: col, Msg: fmt.Sprintf(format, args...)})
}

// errorIn reports a problem at a line and column of the file node n
// comes from.
func (l *loader) errorIn(n *yaml.Node, line, col int, format string, args ...any) {
	l.errs = append(l.errs, &PosError{File: l.fileOf(n), Line: line, Col: col, Msg: fmt.Sprintf(format, args...)})
}

func (l *loader) errorf(n *yaml.Node, format string, args ...any) {
	line, col := 0, 0
	if n != nil {
		line, col = n.Line, n.Column
	}
	l.errorIn(n, line, col, format, args...)
}

// kindOf names a node's kind for messages.
func kindOf(n *yaml.Node) string {
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

// resolve follows aliases.
func resolve(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

// keyHandler reads the value of one key.
type keyHandler func(key, val *yaml.Node)

// mapping walks a mapping node: it calls the handler of each known key, in
// file order, and reports unknown keys (with a suggestion), duplicate keys,
// and required keys that are missing. what names the mapping in messages,
// e.g. `input`.
func (l *loader) mapping(n *yaml.Node, what string, handlers map[string]keyHandler, required ...string) bool {
	n = resolve(n)
	if n == nil {
		return false
	}
	if n.Kind != yaml.MappingNode {
		l.errorf(n, "%s must be a mapping (key: value lines), not %s", what, kindOf(n))
		return false
	}
	seen := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], resolve(n.Content[i+1])
		if k.Kind != yaml.ScalarNode {
			l.errorf(k, "%s: keys must be plain names", what)
			continue
		}
		if first, dup := seen[k.Value]; dup {
			l.errorf(k, "%s: key %q appears twice (first on line %d)", what, k.Value, first.Line)
			continue
		}
		seen[k.Value] = k
		h, ok := handlers[k.Value]
		if !ok {
			l.errorf(k, "unknown key %q in %s%s", k.Value, what, expression.DidYouMean(k.Value, slices.Sorted(maps.Keys(handlers))))
			continue
		}
		h(k, v)
	}
	for _, r := range required {
		if seen[r] == nil {
			l.errorf(n, "%s: the key %q is missing", what, r)
		}
	}
	return true
}

// pairs returns the key and value nodes of a mapping, in file order,
// reporting non-scalar keys and duplicates. It is used for mappings whose
// keys are the user's (lookup codes, output columns).
func (l *loader) pairs(n *yaml.Node, what string) (keys, vals []*yaml.Node) {
	n = resolve(n)
	if n.Kind != yaml.MappingNode {
		l.errorf(n, "%s must be a mapping (key: value lines), not %s", what, kindOf(n))
		return nil, nil
	}
	seen := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], resolve(n.Content[i+1])
		if k.Kind != yaml.ScalarNode {
			l.errorf(k, "%s: keys must be plain text", what)
			continue
		}
		if first, dup := seen[k.Value]; dup {
			l.errorf(k, "%s: %q appears twice (first on line %d)", what, k.Value, first.Line)
			continue
		}
		seen[k.Value] = k
		keys = append(keys, k)
		vals = append(vals, v)
	}
	return keys, vals
}

// list returns the items of a sequence node.
func (l *loader) list(n *yaml.Node, what string) []*yaml.Node {
	n = resolve(n)
	if n.Kind != yaml.SequenceNode {
		l.errorf(n, "%s must be a list (lines starting with -), not %s", what, kindOf(n))
		return nil
	}
	out := make([]*yaml.Node, len(n.Content))
	for i, c := range n.Content {
		out[i] = resolve(c)
	}
	return out
}

// str reads a scalar as text. Any scalar is accepted (version: 1.0 is the
// text "1.0"); an empty value is "".
func (l *loader) str(n *yaml.Node, what string) (string, bool) {
	if n.Kind != yaml.ScalarNode {
		l.errorf(n, "%s must be a single value, not %s", what, kindOf(n))
		return "", false
	}
	if n.Tag == "!!null" {
		return "", true
	}
	return n.Value, true
}

// nonEmpty reads a scalar that must not be empty.
func (l *loader) nonEmpty(n *yaml.Node, what string) (string, bool) {
	s, ok := l.str(n, what)
	if ok && strings.TrimSpace(s) == "" {
		l.errorf(n, "%s is empty", what)
		return "", false
	}
	return s, ok
}

// boolean reads true or false.
func (l *loader) boolean(n *yaml.Node, what string) (bool, bool) {
	if n.Kind == yaml.ScalarNode {
		switch strings.ToLower(n.Value) {
		case "true", "yes":
			return true, true
		case "false", "no":
			return false, true
		}
	}
	l.errorf(n, "%s must be true or false, not %s", what, kindOf(n))
	return false, false
}

// integer reads a whole number in [lo, hi].
func (l *loader) integer(n *yaml.Node, what string, lo, hi int) (int, bool) {
	if n.Kind == yaml.ScalarNode {
		if i, err := strconv.Atoi(n.Value); err == nil {
			if i < lo || i > hi {
				l.errorf(n, "%s must be between %d and %d, not %d", what, lo, hi, i)
				return 0, false
			}
			return i, true
		}
	}
	l.errorf(n, "%s must be a whole number, not %s", what, kindOf(n))
	return 0, false
}

// oneOf reads a scalar that must be one of choices.
func (l *loader) oneOf(n *yaml.Node, what string, choices ...string) (string, bool) {
	s, ok := l.str(n, what)
	if !ok {
		return "", false
	}
	for _, c := range choices {
		if s == c {
			return s, true
		}
	}
	l.errorf(n, "%s must be one of %s, not %q%s", what, strings.Join(expression.QuoteAll(choices), ", "), s, expression.DidYouMean(s, choices))
	return "", false
}

// strList reads one text or a list of texts.
func (l *loader) strList(n *yaml.Node, what string) ([]string, bool) {
	if n.Kind == yaml.ScalarNode {
		s, ok := l.str(n, what)
		return []string{s}, ok
	}
	items := l.list(n, what)
	if items == nil {
		return nil, false
	}
	out := make([]string, 0, len(items))
	ok := true
	for _, it := range items {
		s, good := l.str(it, what)
		ok = ok && good
		out = append(out, s)
	}
	return out, ok
}

// exprPos maps a place inside an expression (1-based line, 0-based column
// of the expression text) to the template file, given the YAML node that
// holds the expression.
func exprPos(n *yaml.Node, line, col int) (int, int) {
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
