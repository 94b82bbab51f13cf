package transform

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/erpipe/erpipe/formats"
	"github.com/erpipe/erpipe/formats/csv"
	"github.com/erpipe/erpipe/formats/excel"
	"github.com/erpipe/erpipe/transform/expression"
	"github.com/erpipe/erpipe/transform/template"
)

// What LOOKUP does with a code that is not in a table (lookups.*.missing):
// give the default, or expression.LookupMissingError.
const lookupMissingDefault = "default"

// isCodesLookup says whether a lookup table is written as {codes: ...}.
func isCodesLookup(n *yaml.Node) bool {
	codes, _ := template.MapGet(n, "codes")
	return codes != nil
}

// inlineCodes reads code: value lines.
func (tl *templateLoader) inlineCodes(name string, v *yaml.Node) map[string]string {
	table := map[string]string{}
	codes, results := tl.Pairs(v, fmt.Sprintf("lookup table %q", name))
	for j, c := range codes {
		r := results[j]
		if r.Kind != yaml.ScalarNode {
			tl.Errorf(r, "lookup table %q: the value for %q must be a single value, not %s", name, c.Value, template.KindOf(r))
			continue
		}
		table[c.Value] = r.Value
		if r.Tag == "!!null" {
			table[c.Value] = ""
		}
	}
	return table
}

// openXLSXLookup opens a lookup workbook. The Excel reader reads files on
// disk, so one from another file system (the embedded built-ins) is copied
// to a temporary file first; lookup tables are small.
func openXLSXLookup(f fs.File, name, sheet string) (*excel.Reader, error) {
	tmp, err := os.CreateTemp("", "erpipe-lookup-*.xlsx")
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp.Name())
	_, err = io.Copy(tmp, io.LimitReader(f, 64<<20))
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	return excel.Open(tmp.Name(), excel.Options{File: name, Sheet: sheet})
}

// loadLookupTable reads a lookup table given as a mapping of its keys:
// {codes: ...} or {file: ..., key: ..., value: ...}, each with what a
// missing code does (missing:, default:).
func (tl *templateLoader) loadLookupTable(name string, n *yaml.Node) map[string]string {
	var file, key, value, encoding, sheet, missing, def string
	var fileNode, codesNode *yaml.Node
	hasDefault := false
	comma := ','
	tl.Mapping(n, fmt.Sprintf("lookup table %q", name), map[string]template.KeyHandler{
		"codes": func(_, v *yaml.Node) { codesNode = v },
		"sheet": func(_, v *yaml.Node) { sheet, _ = tl.NonEmpty(v, "sheet") },
		"missing": func(_, v *yaml.Node) {
			missing, _ = tl.OneOf(v, "missing", lookupMissingDefault, expression.LookupMissingError)
		},
		"default":   func(_, v *yaml.Node) { def, hasDefault = tl.Str(v, "default") },
		"file":      func(_, v *yaml.Node) { fileNode = v; file, _ = tl.NonEmpty(v, "file") },
		"key":       func(_, v *yaml.Node) { key, _ = tl.NonEmpty(v, "key") },
		"value":     func(_, v *yaml.Node) { value, _ = tl.NonEmpty(v, "value") },
		"delimiter": func(_, v *yaml.Node) { comma = tl.delimiter(v, "delimiter") },
		"encoding": func(_, v *yaml.Node) {
			encoding, _ = tl.OneOf(v, "encoding", "auto", "utf-8", "utf-16le", "utf-16be", "windows-1252")
			if encoding == "auto" {
				encoding = ""
			}
		},
	})
	table := tl.lookupRows(name, n, codesNode, fileNode, file, key, value, sheet, comma, encoding)
	if table == nil {
		return nil
	}
	if missing == expression.LookupMissingError {
		table[expression.LookupMissingKey] = expression.LookupMissingError
		if hasDefault {
			tl.Errorf(n, "lookup table %q: default is for missing: default; with missing: error a missing code leaves the row out", name)
		}
	}
	if hasDefault {
		table[expression.LookupDefaultKey] = def
	}
	return table
}

// lookupRows reads the codes of a structured lookup table.
func (tl *templateLoader) lookupRows(name string, n, codesNode, fileNode *yaml.Node, file, key, value, sheet string, comma rune, encoding string) map[string]string {
	what := fmt.Sprintf("lookup table %q", name)
	switch {
	case codesNode != nil && fileNode != nil:
		tl.Errorf(codesNode, "%s: give either codes or file, not both", what)
		return nil
	case codesNode != nil:
		return tl.inlineCodes(name, codesNode)
	case fileNode == nil:
		tl.Errorf(n, "%s: give its codes (codes: followed by code: value lines) or a file (file: codes.csv with key: and value:)", what)
		return nil
	}
	if key == "" || value == "" {
		tl.Errorf(n, "%s: a table in a file needs key: (the column of the codes) and value: (the column of what they become)", what)
		return nil
	}
	dir, fsys := tl.dir, tl.fsys
	if f, d, ok := tl.Origin(n); ok {
		fsys, dir = f, d
	}
	p := path.Join(dir, file)
	if file == "" {
		return nil
	}
	if path.IsAbs(file) || !fs.ValidPath(p) {
		tl.Errorf(fileNode, "lookup table %q: the file %q must be a path beside the template, such as codes.csv", name, file)
		return nil
	}
	f, err := fsys.Open(p)
	if err != nil {
		tl.Errorf(fileNode, "lookup table %q: can't open %s: %v", name, file, template.PathCause(err))
		return nil
	}
	defer f.Close()
	var r formats.Reader
	switch strings.ToLower(path.Ext(file)) {
	case ".xlsx":
		xr, err := openXLSXLookup(f, path.Base(p), sheet)
		if err != nil {
			tl.Errorf(fileNode, "lookup table %q: %v", name, err)
			return nil
		}
		defer xr.Close()
		r = xr
	default:
		if sheet != "" {
			tl.Errorf(fileNode, "lookup table %q: sheet is for Excel (.xlsx) files, and %s is not one", name, file)
		}
		cr, err := csv.NewReader(f, csv.Options{File: path.Base(p), Comma: comma, Encoding: encoding})
		if err != nil {
			tl.Errorf(fileNode, "lookup table %q: %v", name, err)
			return nil
		}
		r = cr
	}
	ki, vi := -1, -1
	for i, h := range r.Header() {
		h = strings.TrimSpace(h)
		if ki < 0 && strings.EqualFold(h, key) {
			ki = i
		}
		if vi < 0 && strings.EqualFold(h, value) {
			vi = i
		}
	}
	if ki < 0 || vi < 0 {
		missing := key
		if ki >= 0 {
			missing = value
		}
		tl.Errorf(fileNode, "lookup table %q: %s has no column %q; its columns are %s", name, file, missing, quoteList(r.Header()))
		return nil
	}
	table := map[string]string{}
	firstRow := map[string]int{}
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			tl.Errorf(fileNode, "lookup table %q: %v", name, err)
			return nil
		}
		if ki >= len(rec.Fields) || vi >= len(rec.Fields) {
			continue
		}
		k := rec.Fields[ki]
		if row, dup := firstRow[k]; dup {
			tl.Errorf(fileNode, "lookup table %q: %s row %d: the key %q is already on row %d", name, file, rec.Pos.Row, k, row)
			continue
		}
		firstRow[k] = rec.Pos.Row
		table[k] = rec.Fields[vi]
	}
	return table
}
