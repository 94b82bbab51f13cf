package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/erpipe/erpipe/templates"
	"github.com/erpipe/erpipe/transform/template"
)

// run runs the command line and returns stdout, stderr and the exit code.
func run(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := Main(args, &out, &errOut)
	return out.String(), errOut.String(), code
}

func write(t *testing.T, p, s string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestBuiltinTemplateTests runs every built-in's test cases the way CI
// and finance users do: erpipe templates test.
func TestBuiltinTemplateTests(t *testing.T) {
	out, errOut, code := run(t, "templates", "test", "../../templates")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	for _, name := range templates.Names() {
		if !strings.Contains(out, "PASS "+name+"/") {
			t.Errorf("no passing case of %s:\n%s", name, out)
		}
	}
	if strings.Contains(out, "FAIL") {
		t.Errorf("a case failed:\n%s", out)
	}
}

const csvTemplate = `name: t
version: 1.0.0
input:
  fields:
    - name: a
    - name: b
      type: decimal
validations:
  - name: b-positive
    condition: b == nil || b > 0
    message: b must be positive
output:
  csv:
    columns:
      A: UPPER(a)
      B: b
tests:
  - input: in.csv
    expect: want.csv
  - name: rejected
    input: in.csv
    error: b must be positive
`

// TestTemplatesTestCommand: a failing case shows the cell that differs
// and exits 1; --update rewrites the expectation; an error case passes.
func TestTemplatesTestCommand(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "t.yaml"), csvTemplate)
	write(t, filepath.Join(dir, "in.csv"), "a,b\nx,1.50\ny,-2\nz,3\n")
	write(t, filepath.Join(dir, "want.csv"), "A,B\nX,1.5\nZ,3\n")
	out, _, code := run(t, "templates", "test", filepath.Join(dir, "t.yaml"))
	if code != 1 {
		t.Fatalf("exit %d, want 1:\n%s", code, out)
	}
	for _, want := range []string{"FAIL t/in.csv", `row 2 column 2 (B): want "1.5", got "1.50"`, "PASS t/rejected", "1 passed, 1 failed"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	out, _, code = run(t, "templates", "test", "--update", dir)
	if code != 0 || !strings.Contains(out, "UPDATED t/in.csv") {
		t.Fatalf("update: exit %d\n%s", code, out)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "want.csv")); string(b) != "A,B\nX,1.50\nZ,3\n" {
		t.Errorf("want.csv after --update:\n%s", b)
	}
	out, _, code = run(t, "templates", "test", dir)
	if code != 0 || !strings.Contains(out, "2 passed, 0 failed") {
		t.Errorf("after update: exit %d\n%s", code, out)
	}
	// An expected message that does not come.
	write(t, filepath.Join(dir, "t.yaml"), strings.Replace(csvTemplate, "error: b must be positive", "error: no such message", 1))
	out, _, code = run(t, "templates", "test", dir)
	if code != 1 || !strings.Contains(out, `want a message containing "no such message"; the run gave:`) {
		t.Errorf("exit %d\n%s", code, out)
	}
}

// TestTemplatesPreview shows values and, with --explain, where they came
// from.
func TestTemplatesPreview(t *testing.T) {
	sample := "../../templates/customers-v3/samples/customers.csv"
	out, errOut, code := run(t, "templates", "preview", "--template", "customers-v3", "--rows", "2", "--explain", sample)
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	for _, want := range []string{
		"customers.csv: row 2:",
		`CUSTOMERACCOUNT = "US-001"`,
		`input account = "US-001" at customers.csv: row 2 column 1 ("Account")`,
		`lookup payment_terms["30"] gives "Net30"`,
		"2 read, 2 would be written",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "customers.csv: row 4:") {
		t.Errorf("more than 2 rows:\n%s", out)
	}
	if _, _, code := run(t, "templates", "preview", sample); code != 2 {
		t.Errorf("without --template: exit %d, want 2", code)
	}
}

// TestTemplatesSchema prints the schema, which the built-ins point at.
func TestTemplatesSchema(t *testing.T) {
	out, _, code := run(t, "templates", "schema")
	if code != 0 || out != string(template.Schema()) {
		t.Fatalf("exit %d", code)
	}
	var v map[string]any
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatal(err)
	}
	for _, name := range templates.Names() {
		b, err := os.ReadFile(filepath.Join("../../templates", name, "template.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(string(b), "# yaml-language-server: $schema=../../docs/template.schema.json\n") {
			t.Errorf("%s/template.yaml does not start with the yaml-language-server line", name)
		}
	}
}

// TestTemplatesShowDiffValidate: a derived template shown merged, a diff
// of two versions, and a conflict reported by validate.
func TestTemplatesShowDiffValidate(t *testing.T) {
	dir := t.TempDir()
	base := strings.Replace(csvTemplate, "version: 1.0.0", "version: 1.1.0", 1)
	base = strings.Replace(base, "b must be positive\n", "b must be positive\n    severity: warning\n", 1)
	write(t, filepath.Join(dir, "base", "template.yaml"), base)
	write(t, filepath.Join(dir, "base", "versions", "1.0.0.yaml"), csvTemplate)
	write(t, filepath.Join(dir, "base", "in.csv"), "a,b\n")
	write(t, filepath.Join(dir, "base", "want.csv"), "A,B\n")
	derived := "extends:\n  template: base\n  version: 1.0.0\nname: d\nvalidations:\n  - name: b-positive\n    severity: error\n"
	write(t, filepath.Join(dir, "d.yaml"), derived)

	out, _, code := run(t, "templates", "validate", filepath.Join(dir, "d.yaml"))
	if code != 1 || !strings.Contains(out, filepath.Join(dir, "d.yaml")+":7:15: conflict: validations.b-positive.severity is overridden here") ||
		!strings.Contains(out, filepath.Join(dir, "base", "template.yaml")+":12:15") {
		t.Errorf("validate: exit %d\n%s", code, out)
	}
	write(t, filepath.Join(dir, "d.yaml"), strings.Replace(derived, "version: 1.0.0", "version: 1.1.0", 1))
	out, _, code = run(t, "templates", "show", "--effective", filepath.Join(dir, "d.yaml"))
	if code != 0 || !strings.Contains(out, "name: d") || !strings.Contains(out, "severity: error") || !strings.Contains(out, "UPPER(a)") {
		t.Errorf("show --effective: exit %d\n%s", code, out)
	}
	out, _, code = run(t, "templates", "diff", filepath.Join(dir, "base", "versions", "1.0.0.yaml"), filepath.Join(dir, "base", "template.yaml"))
	if code != 1 || !strings.Contains(out, "~ version: 1.0.0 → 1.1.0") || !strings.Contains(out, "+ validations.b-positive.severity: warning") {
		t.Errorf("diff: exit %d\n%s", code, out)
	}
	out, _, code = run(t, "templates", "diff", "customers-v3", "customers-v3")
	if code != 0 || !strings.Contains(out, "no changes") {
		t.Errorf("diff of the same: exit %d\n%s", code, out)
	}
}
