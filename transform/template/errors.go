package template

import (
	"fmt"
	"sort"
	"strings"
)

// PosError is a problem in a template file at a line and column (both
// 1-based; 0 when unknown). It renders as "file:line:col: message", the
// form editors and CI tools recognise.
type PosError struct {
	File string
	Line int
	Col  int
	Msg  string
}

// Error renders the problem as "file:line:col: message", leaving out the
// line or column when unknown.
func (e *PosError) Error() string {
	switch {
	case e.Line > 0 && e.Col > 0:
		return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Col, e.Msg)
	case e.Line > 0:
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	default:
		return fmt.Sprintf("%s: %s", e.File, e.Msg)
	}
}

// Errors is every problem found in one template, in file order.
// LoadFS returns it, not just the first problem, so a finance user can fix
// them all in one pass.
type Errors []*PosError

// Error returns the problems one per line.
func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap returns the problems, for errors.As.
func (es Errors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

// Sorted returns es ordered by line and column, keeping the order of
// problems reported at the same place.
func (es Errors) Sorted() Errors {
	sort.SliceStable(es, func(i, j int) bool {
		if es[i].Line != es[j].Line {
			return es[i].Line < es[j].Line
		}
		return es[i].Col < es[j].Col
	})
	return es
}
