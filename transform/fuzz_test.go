package transform

import (
	"testing"
	"testing/fstest"

	"github.com/erpipe/erpipe/transform/template"
)

// FuzzLoad loads arbitrary template files: they must load or give
// positioned problems, never panic.
func FuzzLoad(f *testing.F) {
	// Small seeds keep the minimisation of new inputs quick.
	for _, s := range []string{
		"name: x\ninput: {fields: [{name: a, type: decimal}]}\noutput: {csv: {columns: {A: a * 2}}}\n",
		"name: x\ninput:\n  fields:\n    - {name: d, type: date, layout: dd.MM.yyyy}\nlookups: {t: {a: b}}\nmodel:\n  - {name: m, expr: 'LOOKUP(\"t\", d, \"\")'}\noutput: {csv: {columns: {M: m}}}\n",
		"name: x\ninput: {fields: [{name: a}]}\nvalidations: [{name: v, condition: a != nil, message: m}]\n" +
			"output: {dmf: {entities: [{name: E, target: T, columns: {A: a}}]}}\n",
		"name: x\ninput: {format: xml, xml: {record: a}, fields: [{name: a, colum: b}]}\noutput: {}\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		fsys := fstest.MapFS{"t.yaml": {Data: []byte(src)}}
		tpl, err := LoadFS(fsys, "t.yaml")
		if err == nil {
			if tpl.Name == "" || tpl.output.kind == "" {
				t.Errorf("loaded a template without name or output: %q", src)
			}
			return
		}
		te, ok := err.(template.Errors)
		if !ok || len(te) == 0 {
			t.Fatalf("error %T %v", err, err)
		}
		for _, e := range te {
			if e.File != "t.yaml" || e.Msg == "" {
				t.Errorf("problem %#v", e)
			}
		}
	})
}
