// Package docsection keeps the generated parts of the documentation in
// step with the code, for tests: a section of a Markdown file between
// <!-- name:start --> and <!-- name:end --> is compared with the text the
// code generates (the function library, the template keys), or rewritten
// with the test's -update flag.
package docsection

import (
	"os"
	"strings"
	"testing"
)

// Check compares the section name of the Markdown file at path with want,
// or rewrites it when update is set. It returns the whole document. The
// error of an out-of-date section says to rerun the test (rerun, e.g.
// "go test ./transform/expression -run FunctionsDocumented") with -update.
func Check(t testing.TB, path, name, want string, update bool, rerun string) string {
	t.Helper()
	start, end := "<!-- "+name+":start -->\n", "<!-- "+name+":end -->"
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(data)
	i, j := strings.Index(doc, start), strings.Index(doc, end)
	if i < 0 || j < i {
		t.Fatalf("%s has no %q ... %q section", path, start, end)
	}
	want += "\n"
	if update {
		doc = doc[:i+len(start)] + want + doc[j:]
		if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
		return doc
	}
	if got := doc[i+len(start) : j]; got != want {
		t.Errorf("the %s reference in %s is out of date; run %s -update", name, path, rerun)
	}
	return doc
}
