package transform

import (
	"fmt"
	"strings"

	"github.com/erpipe/erpipe/transform/expression"
	"github.com/erpipe/erpipe/transform/template"
	"gopkg.in/yaml.v3"
)

// Entity order in a DMF package. D365 imports the entities of a package
// by execution unit, level and sequence: units run in parallel, a level
// starts when the level before it has finished, and the sequences of a
// level run in turn. An entity that needs another (exchange rates need
// their currencies) says so with depends_on, and the loader checks that
// the order the template declares honours it: the entity depended on is
// in the same execution unit and comes strictly earlier (a lower level,
// or the same level and a lower sequence). A cycle is reported too.

// checkEntityOrder checks the depends_on lists of output.dmf.entities.
func (tl *templateLoader) checkEntityOrder() {
	ents := tl.t.output.dmfEntities
	byName := make(map[string]int, len(ents))
	var names []string
	for i, e := range ents {
		byName[strings.ToLower(e.entity.Name)] = i
		names = append(names, e.entity.Name)
	}
	deps := make([][]int, len(ents))
	for i, e := range ents {
		if e.dependsOn == nil {
			continue
		}
		what := fmt.Sprintf("entity %q depends_on", e.entity.Name)
		var items []*yaml.Node
		if n := template.Resolve(e.dependsOn); n.Kind == yaml.ScalarNode {
			items = []*yaml.Node{n}
		} else {
			items = tl.List(e.dependsOn, what)
		}
		for _, it := range items {
			label, ok := tl.NonEmpty(it, what)
			if !ok {
				continue
			}
			j, found := byName[strings.ToLower(label)]
			switch {
			case !found:
				tl.Errorf(it, "%s: no entity %q in the package%s", what, label, expression.DidYouMean(label, names))
				continue
			case j == i:
				tl.Errorf(it, "%s: an entity can't depend on itself", what)
				continue
			}
			deps[i] = append(deps[i], j)
			a, b := e.entity, ents[j].entity
			switch {
			case a.ExecutionUnit != b.ExecutionUnit:
				tl.Errorf(it, "%s %q, but %q is in execution unit %d and %q in %d, which D365 runs in parallel; put both in the same execution_unit",
					what, b.Name, a.Name, a.ExecutionUnit, b.Name, b.ExecutionUnit)
			case a.Level < b.Level || a.Level == b.Level && a.Sequence <= b.Sequence:
				tl.Errorf(it, "%s %q, but it comes first (level %d, sequence %d against level %d, sequence %d); give %q a higher level or sequence than %q",
					what, b.Name, a.Level, a.Sequence, b.Level, b.Sequence, a.Name, b.Name)
			}
		}
	}
	// Cycles, reported once, at the first entity of the cycle.
	const (
		unseen = iota
		active
		done
	)
	state := make([]int, len(ents))
	var stack []int
	var visit func(i int) bool
	visit = func(i int) bool {
		state[i] = active
		stack = append(stack, i)
		for _, j := range deps[i] {
			if state[j] == active {
				k := len(stack) - 1
				for stack[k] != j {
					k--
				}
				var path []string
				for _, x := range stack[k:] {
					path = append(path, fmt.Sprintf("%q", ents[x].entity.Name))
				}
				path = append(path, fmt.Sprintf("%q", ents[j].entity.Name))
				tl.Errorf(ents[j].dependsOn, "entity %q depends_on: the entities depend on each other in a cycle (%s); D365 can't import them in any order, so remove one dependency",
					ents[j].entity.Name, strings.Join(path, " → "))
				return true
			}
			if state[j] == unseen && visit(j) {
				return true
			}
		}
		stack = stack[:len(stack)-1]
		state[i] = done
		return false
	}
	for i := range ents {
		if state[i] == unseen && visit(i) {
			break // one cycle is enough to fix first
		}
	}
}
