package transform

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/erpipe/erpipe/internal/docsection"
	"github.com/erpipe/erpipe/transform/expression"
)

// loaderKeys parses the loader's sources and returns every key name of a
// map[string]keyHandler literal, with where it is.
func loaderKeys(t *testing.T) map[string]string {
	t.Helper()
	files, _ := filepath.Glob("*.go")
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
			if id, ok := mt.Value.(*ast.Ident); !ok || id.Name != "keyHandler" {
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

// TestSpecMatchesLoader fails when a key the loader accepts is not in
// TemplateKeys (so not in the schema and the reference), or a key of the
// spec is accepted nowhere.
func TestSpecMatchesLoader(t *testing.T) {
	loader := loaderKeys(t)
	if len(loader) < 20 {
		t.Fatalf("found only %d loader keys; has the loader changed how it reads keys?", len(loader))
	}
	spec := map[string]bool{}
	for _, n := range specKeyNames() {
		spec[n] = true
	}
	for k, where := range loader {
		if !spec[k] {
			t.Errorf("%s: the loader accepts the key %q, which TemplateKeys (transform/spec.go) does not describe; add it there, then run go test ./transform -update", where, k)
		}
	}
	// Keys read before the loader runs: extends.go merges the base in.
	loader["extends"], loader["remove"] = "extends.go", "extends.go"
	for k := range spec {
		if _, ok := loader[k]; !ok {
			t.Errorf("TemplateKeys describes the key %q, which the loader does not accept", k)
		}
	}
	if len(specByPath) != len(templateKeys) {
		t.Errorf("TemplateKeys lists a path twice")
	}
	for _, k := range templateKeys {
		if k.Doc == "" || k.Type == "" {
			t.Errorf("%s: give it a Type and a Doc", k.Path)
		}
		if i := strings.LastIndexAny(k.Path, ".["); i > 0 {
			parent := strings.TrimSuffix(k.Path[:i], "[]")
			if k.Path[i] == '[' {
				parent = k.Path[:i]
			}
			parent = strings.TrimSuffix(parent, "[]")
			if specByPath[parent] == nil {
				t.Errorf("%s: its parent %s is not in the spec", k.Path, parent)
			}
		}
	}
}

// TestSchemaCommitted checks docs/template.schema.json is the schema the
// spec gives; -update rewrites it.
func TestSchemaCommitted(t *testing.T) {
	const path = "../docs/template.schema.json"
	got := Schema()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./transform -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s is out of date; run go test ./transform -run SchemaCommitted -update", path)
	}
}

// keyReference renders the key reference of docs/templates.md.
func keyReference() string {
	var b strings.Builder
	b.WriteString("\n| key | kind | default | meaning |\n|---|---|---|---|\n")
	for _, k := range templateKeys {
		kind := k.Type
		switch k.Type {
		case KeyEnum:
			kind = "one of " + strings.Join(expression.QuoteAll(k.Enum), ", ")
		case KeyInteger:
			kind = fmt.Sprintf("whole number, %d to %d", k.Min, k.Max)
		}
		if k.Required {
			kind += ", **required**"
		}
		def := k.Default
		if def != "" && !strings.Contains(def, "`") && !strings.Contains(def, " ") {
			def = "`" + def + "`"
		}
		esc := func(s string) string { return strings.ReplaceAll(s, "|", "\\|") }
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", esc(k.Path), esc(kind), esc(def), esc(k.Doc))
	}
	return b.String()
}

// TestKeysDocumented checks the key reference in docs/templates.md is the
// one TemplateKeys gives; -update rewrites it.
func TestKeysDocumented(t *testing.T) {
	docsection.Check(t, "../docs/templates.md", "keys", keyReference(), *update, "go test ./transform -run KeysDocumented")
}
