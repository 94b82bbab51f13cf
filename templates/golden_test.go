package templates

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/erpipe/erpipe/transform"
	"github.com/erpipe/erpipe/transform/templatetest"
)

// TestGolden runs every built-in template on each of its cases and compares
// what it makes with the files under testdata/, the way a finance user
// reviews a change: `go test ./templates -update` rewrites them, and git
// diff shows what changed. `erpipe templates test templates/NAME` runs the
// same cases with the same code (transform/templatetest).
//
// The cases of template T are its samples (T/samples/*), the folders
// T/testdata/cases/<case>/ holding one input.* file, and the entries of its
// tests: key. What a case makes is kept in T/testdata/golden/<case>/: one
// file per output (a zip's entries as <zip>/<entry>, UTF-16 text as UTF-8),
// plus result.txt with the counts and every rejected row and warning, or
// the file-level error.
func TestGolden(t *testing.T) {
	for _, name := range Names() {
		file := filepath.Join(name, "template.yaml")
		tmpl, err := transform.Load(file)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		cases, err := templatetest.Cases(tmpl, file)
		if err != nil {
			t.Fatal(err)
		}
		if len(cases) == 0 {
			t.Errorf("%s has no test cases", name)
		}
		for _, c := range cases {
			t.Run(name+"/"+c.Name, func(t *testing.T) {
				o, err := templatetest.Run(context.Background(), tmpl, c, *update)
				if err != nil {
					t.Fatal(err)
				}
				if !o.Pass {
					t.Errorf("%s differs (go test ./templates -update rewrites the expectations):\n%s", c.Name, o.Diff)
				}
			})
		}
	}
}
