package transform

import (
	"maps"
	"slices"

	"github.com/erpipe/erpipe/transform/expression"
)

// A row's values (its input fields, model fields and the parameters) are
// kept in a slice, by slot, when every expression the row runs is a name
// or a direct call (expression.Program.Bind): then no map is filled and looked up per
// field and row. A template with an expression the VM must run, or with
// group checks, keeps its values in the map the VM reads (rowEval.env).

// bindSlots numbers the template's names and points the names in its row
// expressions at their slots. It is called once the template is loaded.
func (t *Template) bindSlots() {
	names := slices.Sorted(maps.Keys(t.vars))
	t.slots = make(map[string]int, len(names))
	for i, n := range names {
		t.slots[n] = i
	}
	ok := true
	bind := func(p *expression.Program) {
		if p != nil && !p.Bind(t.slots) {
			ok = false
		}
	}
	for _, m := range t.model {
		bind(m.prog)
	}
	bind(t.filter)
	for _, v := range t.validations {
		bind(v.prog)
	}
	for _, tb := range t.tables() {
		for _, c := range tb.columns {
			bind(c.Prog)
		}
	}
	t.inputSlots = make([]int, len(t.input.fields))
	for i, f := range t.input.fields {
		var has bool
		if t.inputSlots[i], has = t.slots[f.Name]; !has {
			ok = false
		}
	}
	t.modelSlots = make([]int, len(t.model))
	for i, m := range t.model {
		var has bool
		if t.modelSlots[i], has = t.slots[m.name]; !has {
			ok = false
		}
	}
	t.slotted = ok
}

// put sets the row's value of name, the input or model field i whose
// slots are slots.
func (r *rowEval) put(slots []int, i int, name string, v any) {
	if r.slotted {
		r.vals[slots[i]] = v
		return
	}
	r.env[name] = v
}

// eval runs prog over the row's values.
func (r *rowEval) eval(prog *expression.Program) (any, error) {
	if r.slotted {
		return r.ev.EvalSlots(prog, r.vals)
	}
	return r.ev.Eval(prog, r.env)
}
