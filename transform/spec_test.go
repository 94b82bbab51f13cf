package transform

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/erpipe/erpipe/transform/template"
)

// loaderKeys parses the loader's sources (this package's and the
// template language's and the layouts') and returns every key name of a
// map[string]KeyHandler literal, with where it is.
func loaderKeys(t *testing.T) map[string]string {
	t.Helper()
	var files []string
	for _, dir := range []string{".", "template", "layout"} { // the runner's loader, extends.go, the layouts
		fs, _ := filepath.Glob(filepath.Join(dir, "*.go"))
		files = append(files, fs...)
	}
	fset := token.NewFileSet()
	keys := map[string]string{}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(file, func(n ast.Node) bool {
			lit, ok := n.(*ast.CompositeLit)
			if !ok {
				return true
			}
			mt, ok := lit.Type.(*ast.MapType)
			if !ok {
				return true
			}
			if !isKeyHandler(mt.Value) {
				return true
			}
			for _, el := range lit.Elts {
				kv, ok := el.(*ast.KeyValueExpr)
				if !ok {
					continue
				}
				if bl, ok := kv.Key.(*ast.BasicLit); ok && bl.Kind == token.STRING {
					s, _ := strconv.Unquote(bl.Value)
					keys[s] = fset.Position(bl.Pos()).String()
				}
			}
			return true
		})
	}
	return keys
}

// isKeyHandler reports whether e is the type template.KeyHandler.
func isKeyHandler(e ast.Expr) bool {
	if sel, ok := e.(*ast.SelectorExpr); ok {
		e = sel.Sel
	}
	id, ok := e.(*ast.Ident)
	return ok && id.Name == "KeyHandler"
}

// TestSpecMatchesLoader fails when a key the loader accepts is not in
// the key reference (so not in the schema and the reference), or a key of the
// spec is accepted nowhere.
func TestSpecMatchesLoader(t *testing.T) {
	loader := loaderKeys(t)
	if len(loader) < 20 {
		t.Fatalf("found only %d loader keys; has the loader changed how it reads keys?", len(loader))
	}
	spec := map[string]bool{}
	for _, n := range template.KeyNames() {
		spec[n] = true
	}
	for k, where := range loader {
		if !spec[k] {
			t.Errorf("%s: the loader accepts the key %q, which the key reference (templateKeys in transform/template/spec.go) does not describe; add it there, then run go test ./transform/template -update", where, k)
		}
	}
	// Keys read before the loader runs: extends.go merges the base in.
	loader["extends"], loader["remove"] = "extends.go", "extends.go"
	for k := range spec {
		if _, ok := loader[k]; !ok {
			t.Errorf("The key reference describes the key %q, which the loader does not accept", k)
		}
	}
}
