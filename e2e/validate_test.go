package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// termsTemplate compares a text field with a number: every row with
// payment terms would fail.
const termsTemplate = `name: terms
status: completed
input:
  fields:
    - name: account
    - name: payment_terms
filter: payment_terms != 30
output:
  csv:
    columns:
      Account: account
`

// TestValidateTypeMistakes: through the real binary, a template whose
// expression would reject every row fails templates validate at its place
// with a fix, and a workspace serving it does not check or start; the
// fix it names validates. A YAML indentation mistake is reported at its
// line.
func TestValidateTypeMistakes(t *testing.T) {
	ws := newWorkspace(t)
	path := filepath.Join(ws, "templates", "terms.yaml")
	writeFile(t, path, []byte(termsTemplate))
	want := path + `:7:9: filter: payment_terms is text and 30 is a number, so payment_terms != 30 would fail on every row; compare it with text, payment_terms != "30", or declare the field type: integer`

	stdout, stderr, code := erpipe(t, "templates", "validate", path)
	if code != 1 || strings.TrimSpace(stdout) != want {
		t.Errorf("templates validate: exit %d\nstdout: %s\nstderr: %s\nwant: %s", code, stdout, stderr, want)
	}
	_, stderr, code = erpipe(t, "check", "-w", ws)
	if code != 2 || !strings.Contains(stderr, want) {
		t.Errorf("check: exit %d\nstderr: %s", code, stderr)
	}
	// erpipe run does not start: it exits at once (a daemon that started
	// is killed after 30s).
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	run := exec.CommandContext(ctx, bin, "run", "-w", ws)
	out, err := run.CombinedOutput()
	if code := run.ProcessState.ExitCode(); err == nil || code != 2 || !strings.Contains(string(out), want) {
		t.Errorf("run: exit %d, %v\n%s", code, err, out)
	}

	writeFile(t, path, []byte(strings.Replace(termsTemplate, "!= 30", `!= "30"`, 1)))
	if stdout, stderr, code := erpipe(t, "templates", "validate", path); code != 0 {
		t.Errorf("the fixed template: exit %d\n%s%s", code, stdout, stderr)
	}
	if _, stderr, code := erpipe(t, "check", "-w", ws); code != 0 {
		t.Errorf("check with the fixed template: exit %d\n%s", code, stderr)
	}

	// A key one space short of its item's other keys, far below where
	// the list starts.
	var b strings.Builder
	b.WriteString("name: wide\ninput:\n  fields:\n")
	for i := range 40 {
		b.WriteString("    - name: f" + string(rune('a'+i%26)) + string(rune('a'+i/26)) + "\n      type: string\n")
	}
	b.WriteString("    - name: amount\n     type: decimal\noutput:\n  csv:\n    columns:\n      A: amount\n")
	wide := filepath.Join(t.TempDir(), "wide.yaml")
	if err := os.WriteFile(wide, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	stdout, _, code = erpipe(t, "templates", "validate", wide)
	if want := wide + ":85:6: YAML syntax error: did not find expected '-' indicator; this line is indented 5 spaces"; code != 1 || !strings.HasPrefix(stdout, want) {
		t.Errorf("templates validate: exit %d\n%s\nwant it to start with %s", code, stdout, want)
	}
}
