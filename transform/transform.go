// Package transform runs templates (format configurations): records
// from a formats.Reader become typed fields, computed fields, validated
// rows and, finally, output files. It is the record pipeline; the parts
// it runs live in packages of their own:
//
//   - package template is the template language: the YAML read with line
//     and column, extends and rebase, the key reference and JSON Schema,
//     diff, and the errors (template.Errors, template.FieldError);
//   - package expression is the expression language: compilation over
//     expr-lang, the ER function library, exact decimals, typed values;
//   - package layout is the document layouts: the XML document layout and
//     its two-pass writer, the XLSX writer;
//   - package templatetest runs a template's test cases.
//
// Load and LoadFS read a template and compile it into a Template: loading
// checks the whole file and compiles every expression, so a template that
// loads can only fail at run time on data. All problems are reported
// together, each as "file:line:col: message" (template.Errors).
//
// Template.Run and RunWith run it over one input file (Preview and
// Explain over its first rows): the rows are read, typed, computed,
// filtered, validated and checked in groups (checks.go), in parallel when
// the template allows (pipeline.go), several sheets or a DMF package at a
// time (multiinput.go). Every data problem is a template.FieldError in
// the Result; rejected rows go to RunOptions.OnReject, and WriteRejected
// writes them back out, as they were, for a finance user to correct.
package transform

import (
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/erpipe/erpipe/formats"
	"github.com/erpipe/erpipe/transform/expression"
	"github.com/erpipe/erpipe/transform/template"
)

// Template is a loaded, checked and compiled template. It is safe for
// concurrent use: each Run keeps its own state.
type Template struct {
	Name        string
	Version     string
	Status      string // draft or completed
	Description string
	Path        string // where it was loaded from, for messages
	Hash        string // sha256 (hex) of the template file's bytes

	input       inputSpec
	lookups     map[string]map[string]string
	summary     []summarySpec // values over the whole input (summary.go)
	model       []modelField
	filter      *expression.Program
	validations []validation
	output      outputSpec
	vars        map[string]any // every field name expressions may use
	slots       map[string]int // the slot of each name of vars (slots.go)
	slotted     bool           // rows keep their values by slot, not in a map
	inputSlots  []int          // the slot of each input field
	modelSlots  []int          // the slot of each model field
	tests       []TestCase     // the tests: key (tests.go)

	checks []*groupCheck // group checks (checks.go)
	multi  *multiInput   // several sheets, or a DMF package, as input (multiinput.go)

	params     map[string]any // parameter values, by name (params.go)
	paramSpecs []Parameter

	limits         formats.Limits // what one input may make a reader hold (WithLimits)
	legacyEncoding string         // the pipeline's encoding of inputs that are not UTF-8 (WithLegacyEncoding)
}

// WithLegacyEncoding returns t reading a CSV input that has no BOM and is
// not UTF-8 as enc (one of template.LegacyEncodings), over what the
// template says; "" keeps the template's.
func (t *Template) WithLegacyEncoding(enc string) *Template {
	cp := *t
	cp.legacyEncoding = enc
	return &cp
}

// WithLimits returns t reading its inputs within lim (zero fields: the
// formats package's defaults), which bound the memory a single input may
// take whatever it holds.
func (t *Template) WithLimits(lim formats.Limits) *Template {
	cp := *t
	cp.limits = lim
	return &cp
}

// Load loads a template from a file on disk. See LoadFS. Messages name
// the file as path is given.
func Load(path string) (*Template, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	return load(template.DirFS(dir), base, path, data)
}

// Validate checks the template at path in fsys without running it. It
// returns the same problems as LoadFS.
func Validate(fsys fs.FS, path string) error {
	_, err := LoadFS(fsys, path)
	return err
}

// InputFormats returns the input formats the template reads: "csv",
// "xlsx", "xml". A template with format auto reads csv and xlsx, and xml
// when it says which element repeats.
func (t *Template) InputFormats() []string {
	if t.input.format != template.FormatAuto {
		return []string{t.input.format}
	}
	f := []string{template.FormatCSV, template.FormatXLSX}
	if t.input.xmlRecord != "" {
		f = append(f, template.FormatXML)
	}
	if t.input.json != nil {
		f = append(f, template.FormatJSON)
	}
	return f
}

// extensions maps file extensions to the formats auto picks.
var extensions = map[string]string{".csv": template.FormatCSV, ".txt": template.FormatCSV, ".xlsx": template.FormatXLSX, ".xml": template.FormatXML,
	".json": template.FormatJSON, ".jsonl": template.FormatJSON, ".ndjson": template.FormatJSON}

// FilePatterns returns the glob patterns of the file names the template
// reads ("*.csv", "*.txt", "*.xlsx"...), or nil when it reads a file of
// any name (a template that fixes its input format).
func (t *Template) FilePatterns() []string {
	if t.input.format != template.FormatAuto {
		return nil
	}
	var out []string
	for _, ext := range slices.Sorted(maps.Keys(extensions)) {
		if _, err := t.InputFormat("x" + ext); err == nil {
			out = append(out, "*"+ext)
		}
	}
	return out
}

// InputFormat returns the format the template reads the named file with,
// or an error, naming the extension and the accepted formats, when the
// template can't read it.
func (t *Template) InputFormat(name string) (string, error) {
	if t.input.format != template.FormatAuto {
		return t.input.format, nil
	}
	ext := strings.ToLower(filepath.Ext(name))
	if f, ok := extensions[ext]; ok {
		for _, accepted := range t.InputFormats() {
			if f == accepted {
				return f, nil
			}
		}
	}
	what := fmt.Sprintf("files ending in %q", ext)
	if ext == "" {
		what = "files without an extension"
	}
	return "", fmt.Errorf("template %s can't read %s; it reads %s", t.Name, what, t.acceptedFiles())
}

func (t *Template) acceptedFiles() string {
	var parts []string
	for _, f := range t.InputFormats() {
		switch f {
		case template.FormatCSV:
			parts = append(parts, "CSV (.csv, .txt)")
		case template.FormatXLSX:
			parts = append(parts, "Excel (.xlsx)")
		case template.FormatXML:
			parts = append(parts, "XML (.xml)")
		case template.FormatDMF:
			parts = append(parts, "DMF data packages (.zip)")
		case template.FormatFixedWidth:
			parts = append(parts, "fixed-width text files")
		case template.FormatJSON:
			parts = append(parts, "JSON (.json, .jsonl, .ndjson)")
		}
	}
	return strings.Join(parts, ", ")
}

// Outputs describes what the template writes, one line per output file,
// e.g. "DMF package: Customers V3" or "CSV file".
func (t *Template) Outputs() []string {
	switch t.output.kind {
	case "dmf":
		names := make([]string, len(t.output.dmfEntities))
		for i, e := range t.output.dmfEntities {
			names[i] = e.entity.Name
		}
		return []string{"DMF package: " + strings.Join(names, ", ")}
	case "csv":
		if t.output.xlsx != nil {
			return []string{"CSV file", "Excel workbook"}
		}
		return []string{"CSV file"}
	case "xlsx":
		return []string{"Excel workbook"}
	case "xml":
		return []string{"XML document" + t.output.xml.Describe()}
	case "workbook", "document":
		kind := map[string]string{"workbook": "Excel workbook", "document": "Word document"}[t.output.kind]
		out := []string{kind + " filled from " + t.output.filled.File()}
		if t.output.filled.WantsPDF() {
			out = append(out, "PDF of the "+strings.ToLower(strings.Fields(kind)[1]))
		}
		return out
	case "fixed_width":
		return []string{"Fixed-width text file" + t.output.fixed.Describe()}
	case "json":
		if s := t.output.filled.File(); s != "" {
			return []string{"JSON document" + t.output.xml.Describe() + ", checked against " + s}
		}
		return []string{"JSON document" + t.output.xml.Describe()}
	case "unpack":
		return t.multi.unpack.outputs() // multiinput.go
	}
	return nil
}

// Streaming reports whether a run of t holds only the rows in flight: a
// tabular output (CSV, Excel, DMF package) from one input table, with no
// group checks. Such a run's live memory stays small, so a caller may let
// the garbage collector run less often (see erpipe transform).
func (t *Template) Streaming() bool {
	switch t.output.kind {
	case "csv", "xlsx", "dmf":
		return t.multi == nil && len(t.checks) == 0
	}
	return false
}

// Fields returns the names of the template's input fields, then its model
// fields, in template order.
func (t *Template) Fields() []string {
	var out []string
	for _, f := range t.input.fields {
		out = append(out, f.Name)
	}
	for _, m := range t.model {
		out = append(out, m.name)
	}
	return out
}
