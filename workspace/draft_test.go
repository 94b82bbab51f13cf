package workspace

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDraftTemplates: a pipeline runs a draft template only with
// allow_draft: true.
func TestDraftTemplates(t *testing.T) {
	root := t.TempDir()
	tmpl := "name: d\nversion: 0.1.0\nstatus: draft\ninput:\n  fields: [{name: a}]\noutput:\n  csv:\n    columns: {A: a}\n"
	if err := os.MkdirAll(filepath.Join(root, "templates"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "templates", "d.yaml"), []byte(tmpl), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := func(s string) {
		if err := os.WriteFile(filepath.Join(root, ConfigFile), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cfg("builtin_pipelines: false\npipelines:\n  - name: p\n    template: d\n")
	_, err := Open(root, "")
	if err == nil || !strings.Contains(err.Error(), `pipeline "p": template d 0.1.0 is a draft`) || !strings.Contains(err.Error(), "allow_draft: true") {
		t.Errorf("got %v", err)
	}
	cfg("builtin_pipelines: false\npipelines:\n  - name: p\n    template: d\n    allow_draft: true\n")
	w, err := Open(root, "")
	if err != nil {
		t.Fatal(err)
	}
	if p := w.Pipeline("p"); p == nil || p.Template.Status != "draft" {
		t.Errorf("pipeline p: %+v", p)
	}

	// A draft workspace template is not served as a pipeline of its own,
	// unless the workspace allows drafts.
	cfg("")
	w, err = Open(root, "")
	if err != nil {
		t.Fatal(err)
	}
	if w.Pipeline("d") != nil || len(w.Notes) != 1 || !strings.Contains(w.Notes[0], "template d 0.1.0 is a draft") {
		t.Errorf("draft served: %v, notes %q", w.Pipeline("d") != nil, w.Notes)
	}
	cfg("allow_drafts: true\n")
	if w, err = Open(root, ""); err != nil || w.Pipeline("d") == nil {
		t.Errorf("allow_drafts: %v, pipeline %v", err, w.Pipeline("d"))
	}
}
