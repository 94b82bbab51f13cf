// Package transform loads templates (format configurations), compiles their
// expressions and runs them: records from a formats.Reader become typed
// fields, computed fields, validated rows and, finally, output files.
package transform

import (
	"context"
	"errors"
	"io/fs"
)

// Template is a loaded, checked and compiled template.
type Template struct {
	Name        string
	Version     string
	Status      string // draft or completed
	Description string
	Path        string // where it was loaded from, for messages
	Hash        string // sha256 (hex) of the template file's bytes
}

// LoadFS loads the template file at path in fsys (files it refers to, such
// as lookup tables, are resolved beside it) and compiles it. Problems are
// returned together as a TemplateErrors, each "file:line:col: message".
func LoadFS(fsys fs.FS, path string) (*Template, error) { return nil, errors.New("TODO") }

// Load loads a template from a file on disk. See LoadFS.
func Load(path string) (*Template, error) { return nil, errors.New("TODO") }

// Result is what one run of a template made.
type Result struct {
	Read     int           // records read
	Written  int           // rows written (to the first output table)
	Rejected int           // rows left out by error validations or bad values
	Errors   []*FieldError // rejected rows' errors, the first 1000
	Warnings []*FieldError // warnings, the first 1000
	Outputs  []string      // paths of the files written in the output folder
}

// Run reads the input file at inputPath, transforms it and writes the
// outputs into outDir (which must exist). It returns an error, and no
// outputs, when the file as a whole can't be used: unreadable, empty, or a
// required column missing. Bad rows don't fail the run: they are counted in
// Rejected and listed in Errors.
func (t *Template) Run(ctx context.Context, inputPath, outDir string) (*Result, error) {
	return nil, errors.New("TODO")
}
