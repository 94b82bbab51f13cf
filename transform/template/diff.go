package template

import (
	"io/fs"
	"path/filepath"
	"strings"

	"gopkg.in/yaml.v3"
)

// Kinds of Change.
const (
	ChangeAdded   = "added"
	ChangeRemoved = "removed"
	ChangeChanged = "changed"
)

// Change is one difference between two templates, part by part: a key of
// a mapping, or an item of a named list (fields, model fields,
// validations, entities) by its name.
type Change struct {
	Path     string // e.g. validations.email-present.severity
	Kind     string // ChangeAdded, ChangeRemoved or ChangeChanged
	Old, New string // the values, on one line ("" for an added or removed part's missing side)
	OldLine  int    // where the part is in the first template (0 when added)
	NewLine  int    // where it is in the second (0 when removed)
}

// DiffFiles compares the templates in two files, as loaded (a derived
// template with its base merged in), field by field rather than line by
// line: moving a key or changing a comment is not a change.
func DiffFiles(a, b string) ([]Change, error) {
	ra, err := effectiveFile(a)
	if err != nil {
		return nil, err
	}
	rb, err := effectiveFile(b)
	if err != nil {
		return nil, err
	}
	return diffTrees(ra, rb), nil
}

// DiffFS is DiffFiles for templates in file systems (built-ins).
func DiffFS(afs fs.FS, aname, adisplay string, bfs fs.FS, bname, bdisplay string) ([]Change, error) {
	ra, err := effectiveRoot(afs, aname, adisplay)
	if err != nil {
		return nil, err
	}
	rb, err := effectiveRoot(bfs, bname, bdisplay)
	if err != nil {
		return nil, err
	}
	return diffTrees(ra, rb), nil
}

func effectiveFile(p string) (*yaml.Node, error) {
	dir, base := filepath.Split(p)
	if dir == "" {
		dir = "."
	}
	return effectiveRoot(DirFS(dir), base, p)
}

// diffTrees compares two template trees.
func diffTrees(a, b *yaml.Node) []Change {
	var out []Change
	diffNodes(a, b, nil, &out)
	return out
}

func diffNodes(a, b *yaml.Node, p []string, out *[]Change) {
	a, b = Resolve(a), Resolve(b)
	sub := func(seg string) []string { return append(append([]string(nil), p...), seg) }
	switch {
	case a.Kind == yaml.MappingNode && b.Kind == yaml.MappingNode:
		for i := 0; i+1 < len(a.Content); i += 2 {
			k := a.Content[i]
			if bv, _ := MapGet(b, k.Value); bv != nil {
				diffNodes(a.Content[i+1], bv, sub(k.Value), out)
			} else {
				*out = append(*out, Change{Path: pathString(sub(k.Value)), Kind: ChangeRemoved, Old: oneLine(a.Content[i+1]), OldLine: k.Line})
			}
		}
		for i := 0; i+1 < len(b.Content); i += 2 {
			k := b.Content[i]
			if mapIndex(a, k.Value) < 0 {
				*out = append(*out, Change{Path: pathString(sub(k.Value)), Kind: ChangeAdded, New: oneLine(b.Content[i+1]), NewLine: k.Line})
			}
		}
	case a.Kind == yaml.SequenceNode && b.Kind == yaml.SequenceNode && namedList(a) && namedList(b):
		for _, it := range a.Content {
			name := itemName(it)
			if j := findNamed(b, name); j >= 0 {
				diffNodes(it, b.Content[j], sub(name), out)
			} else {
				*out = append(*out, Change{Path: pathString(sub(name)), Kind: ChangeRemoved, Old: oneLine(it), OldLine: it.Line})
			}
		}
		for _, it := range b.Content {
			if findNamed(a, itemName(it)) < 0 {
				*out = append(*out, Change{Path: pathString(sub(itemName(it))), Kind: ChangeAdded, New: oneLine(it), NewLine: it.Line})
			}
		}
		if len(a.Content) == len(b.Content) && !sameOrder(a, b) {
			*out = append(*out, Change{Path: pathString(p), Kind: ChangeChanged, Old: names(a), New: names(b), OldLine: a.Line, NewLine: b.Line})
		}
	default:
		if !equalNodes(a, b) {
			*out = append(*out, Change{Path: pathString(p), Kind: ChangeChanged, Old: oneLine(a), New: oneLine(b), OldLine: a.Line, NewLine: b.Line})
		}
	}
}

func sameOrder(a, b *yaml.Node) bool {
	for i := range a.Content {
		if itemName(a.Content[i]) != itemName(b.Content[i]) {
			return false
		}
	}
	return true
}

func names(n *yaml.Node) string {
	var s []string
	for _, it := range n.Content {
		s = append(s, itemName(it))
	}
	return "order " + strings.Join(s, ", ")
}

// oneLine renders a node on one line: a value as it is, anything else in
// YAML's flow style, cut at 120 characters.
func oneLine(n *yaml.Node) string {
	n = Resolve(n)
	if n.Kind == yaml.ScalarNode {
		return n.Value
	}
	c := deepCopy(n)
	var flow func(*yaml.Node)
	flow = func(x *yaml.Node) {
		x.Style |= yaml.FlowStyle
		x.HeadComment, x.LineComment, x.FootComment = "", "", ""
		for _, y := range x.Content {
			flow(y)
		}
	}
	flow(c)
	b, err := yaml.Marshal(c)
	if err != nil {
		return "?"
	}
	s := strings.TrimSpace(string(b))
	if r := []rune(s); len(r) > 120 {
		s = string(r[:117]) + "..."
	}
	return s
}
