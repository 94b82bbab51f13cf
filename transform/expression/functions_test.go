package expression

import (
	"flag"
	"fmt"
	"strings"
	"testing"

	"github.com/erpipe/erpipe/internal/docsection"
)

// exampleLookups are the lookup tables the function examples may use.
var exampleLookups = map[string]map[string]string{"payment_terms": {"30": "Net30", "60": "Net60"}}

// evalString compiles and runs src over vars.
func evalString(t testing.TB, src string, vars map[string]any) (any, error) {
	t.Helper()
	names := map[string]any{}
	for k := range vars {
		names[k] = nil
	}
	prog, probs := Compile(src, &Env{Vars: names, Lookups: exampleLookups})
	if len(probs) > 0 {
		t.Fatalf("%s: does not compile: %+v", src, probs)
	}
	env := map[string]any{}
	for k, v := range vars {
		env[k] = v
	}
	var ev Evaluator
	return ev.Eval(prog, env)
}

// TestFunctionExamples runs every example of the function library.
func TestFunctionExamples(t *testing.T) {
	for _, f := range Functions() {
		if len(f.Examples) == 0 {
			t.Errorf("%s has no examples", f.Name)
		}
		if f.Doc == "" || !strings.HasPrefix(f.Signature, f.Name+"(") {
			t.Errorf("%s: doc %q, signature %q", f.Name, f.Doc, f.Signature)
		}
		if f.Result == 0 {
			t.Errorf("%s: the kinds of value it gives (Result) are not declared", f.Name)
		}
		for _, ex := range f.Examples {
			t.Run(ex.Expr, func(t *testing.T) {
				prog, probs := Compile(ex.Expr, &Env{Lookups: exampleLookups})
				if ex.Error != "" && len(probs) > 0 {
					// A mistake the type check finds: refused when the
					// template is loaded, with the run's message.
					if !strings.Contains(probs[0].Msg, ex.Error) {
						t.Errorf("%s: refused with %q, want a message containing %q", ex.Expr, probs[0].Msg, ex.Error)
					}
					return
				}
				got, err := evalString(t, ex.Expr, nil)
				if ex.Error != "" {
					if err == nil || !strings.Contains(err.Error(), ex.Error) {
						t.Errorf("%s: error %v, want one containing %q (result %s)", ex.Expr, err, ex.Error, Show(got))
					}
					return
				}
				if err != nil {
					t.Fatalf("%s: %v", ex.Expr, err)
				}
				if Show(got) != ex.Result {
					t.Errorf("%s = %s, want %s", ex.Expr, Show(got), ex.Result)
				}
				if k := KindOf(got); prog.Type()&k == 0 {
					t.Errorf("%s gives %s, which its type %s leaves out", ex.Expr, Show(got), prog.Type())
				}
			})
		}
	}
}

// functionDocs renders the function reference of docs/templates.md from
// the registry.
func functionDocs() string {
	categories := []struct{ key, title string }{
		{"text", "Text"}, {"number", "Numbers"}, {"date", "Dates"}, {"logical", "Conditions"},
		{"lookup", "Lookups"}, {"finance", "Finance"},
	}
	var b strings.Builder
	for _, c := range categories {
		fmt.Fprintf(&b, "\n### %s functions\n", c.title)
		for _, f := range Functions() {
			if f.Category != c.key {
				continue
			}
			fmt.Fprintf(&b, "\n#### %s\n\n`%s`\n\n%s\n\n| expression | gives |\n|---|---|\n", f.Name, f.Signature, f.Doc)
			for _, ex := range f.Examples {
				res := "`" + ex.Result + "`"
				if ex.Error != "" {
					res = "an error: " + ex.Error
				}
				fmt.Fprintf(&b, "| `%s` | %s |\n", strings.ReplaceAll(ex.Expr, "|", "\\|"), strings.ReplaceAll(res, "|", "\\|"))
			}
		}
	}
	return b.String()
}

// update rewrites the generated parts of docs/templates.md.
var update = flag.Bool("update", false, "rewrite the function reference in docs/templates.md")

// TestFunctionsDocumented checks that the function reference in
// docs/templates.md is the one the registry gives; -update rewrites it.
func TestFunctionsDocumented(t *testing.T) {
	doc := docsection.Check(t, "../../docs/templates.md", "functions", functionDocs(), *update, "go test ./transform/expression -run FunctionsDocumented")
	for _, f := range Functions() {
		if !strings.Contains(doc, "`"+f.Signature+"`") {
			t.Errorf("docs/templates.md does not document %s", f.Signature)
		}
	}
}
