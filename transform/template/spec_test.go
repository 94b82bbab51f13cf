package template

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/erpipe/erpipe/internal/docsection"
	"github.com/erpipe/erpipe/transform/expression"
)

// update rewrites the generated schema and key reference in docs/.
var update = flag.Bool("update", false, "rewrite docs/template.schema.json and the key reference of docs/templates.md")

// TestSchemaCommitted checks docs/template.schema.json is the schema the
// spec gives; -update rewrites it.
func TestSchemaCommitted(t *testing.T) {
	const path = "../../docs/template.schema.json"
	got := Schema()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./transform/template -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s is out of date; run go test ./transform/template -run SchemaCommitted -update", path)
	}
}

// keyReference renders the key reference of docs/templates.md.
func keyReference() string {
	var b strings.Builder
	b.WriteString("\n| key | kind | default | meaning |\n|---|---|---|---|\n")
	for _, k := range templateKeys {
		kind := k.Type
		switch k.Type {
		case keyEnum:
			kind = "one of " + strings.Join(expression.QuoteAll(k.Enum), ", ")
		case keyInteger:
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
// one templateKeys gives; -update rewrites it.
func TestKeysDocumented(t *testing.T) {
	docsection.Check(t, "../../docs/templates.md", "keys", keyReference(), *update, "go test ./transform/template -run KeysDocumented")
}

// TestSpecConsistent checks the key reference itself: every path once,
// with a type and a text, under a parent it lists.
func TestSpecConsistent(t *testing.T) {
	if len(specByPath) != len(templateKeys) {
		t.Errorf("templateKeys lists a path twice")
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
