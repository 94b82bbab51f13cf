package layout_test

import (
	"os"
	"path/filepath"
	"testing"
	"testing/fstest"

	"github.com/erpipe/erpipe/transform"
)

// The layouts are tested through the runner, as templates use them:
// loaded by transform.Load, run by Template.Run.

// writeFile writes content to dir/name, failing the test on an error, and
// returns the file's path.
func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// loadString loads the template src.
func loadString(t *testing.T, src string) (*transform.Template, error) {
	t.Helper()
	return transform.LoadFS(fstest.MapFS{"t.yaml": {Data: []byte(src)}}, "t.yaml")
}
