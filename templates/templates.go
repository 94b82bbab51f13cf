// Package templates holds erpipe's built-in format configurations, embedded
// in the binary. Each lives in a folder of its own name with template.yaml,
// the files it refers to, samples/ (inputs a newcomer can drop into an inbox)
// and testdata/ (golden cases, not embedded).
package templates

import (
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"

	"github.com/erpipe/erpipe/transform"
	"github.com/erpipe/erpipe/transform/template"
)

//go:embed */template.yaml */samples */schemas peppol-invoice/codes
var files embed.FS

// The built-ins are the bases a template can name in extends:.
func init() { template.RegisterBuiltins(files) }

// FS returns the built-in templates as a file system: <name>/template.yaml,
// <name>/samples/*.
func FS() fs.FS { return files }

// Names returns the names of the built-in templates, sorted.
func Names() []string {
	entries, _ := fs.ReadDir(files, ".")
	var names []string
	for _, e := range entries {
		if _, err := fs.Stat(files, path.Join(e.Name(), "template.yaml")); e.IsDir() && err == nil {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	return names
}

// Load loads and compiles the built-in template name.
func Load(name string) (*transform.Template, error) {
	p := path.Join(name, "template.yaml")
	if _, err := fs.Stat(files, p); err != nil {
		return nil, fmt.Errorf("no built-in template %q (built-ins: %v)", name, Names())
	}
	return transform.LoadFS(files, p)
}

// Samples returns the paths in FS of the sample inputs of template name.
func Samples(name string) []string {
	entries, _ := fs.ReadDir(files, path.Join(name, "samples"))
	var out []string
	for _, e := range entries {
		if !e.IsDir() {
			out = append(out, path.Join(name, "samples", e.Name()))
		}
	}
	return out
}
