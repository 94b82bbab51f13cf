package transform

import (
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/erpipe/erpipe/transform/template"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if string(got) != string(want) {
		t.Errorf("%s differs (run go test -update to accept):\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

func TestLoadBrokenGolden(t *testing.T) {
	_, err := Load("testdata/broken.yaml")
	if err == nil {
		t.Fatal("broken.yaml loaded without errors")
	}
	var te template.Errors
	if !asTemplateErrors(err, &te) {
		t.Fatalf("error is %T, want TemplateErrors", err)
	}
	for _, e := range te {
		if e.File != "testdata/broken.yaml" || e.Line == 0 {
			t.Errorf("problem without a place: %v", e)
		}
	}
	golden(t, "broken.golden", []byte(err.Error()+"\n"))
}

func asTemplateErrors(err error, te *template.Errors) bool {
	x, ok := err.(template.Errors)
	*te = x
	return ok
}

// minimal is a template that loads; tests replace parts of it.
const minimal = `name: t
version: "1"
input:
  fields:
    - name: account
      column: Account
    - name: amount
      type: decimal
lookups:
  codes:
    A: Alpha
model:
  - name: id
    expr: UPPER(account)
validations:
  - name: positive
    condition: amount == nil || amount >= 0
    message: The amount is negative.
output:
  csv:
    columns:
      Id: id
      Amount: amount
`

func loadString(t *testing.T, src string) (*Template, error) {
	t.Helper()
	fsys := fstest.MapFS{"t.yaml": {Data: []byte(src)}}
	return LoadFS(fsys, "t.yaml")
}

func TestLoadMinimal(t *testing.T) {
	tpl, err := loadString(t, minimal)
	if err != nil {
		t.Fatal(err)
	}
	if tpl.Name != "t" || tpl.Version != "1" || tpl.Status != "draft" || len(tpl.Hash) != 64 {
		t.Errorf("metadata = %q %q %q %q", tpl.Name, tpl.Version, tpl.Status, tpl.Hash)
	}
	if got := tpl.Fields(); !slices.Equal(got, []string{"account", "amount", "id"}) {
		t.Errorf("Fields() = %q", got)
	}
	if got := tpl.Outputs(); !slices.Equal(got, []string{"CSV file"}) {
		t.Errorf("Outputs() = %q", got)
	}
	if got := tpl.Columns(); len(got) != 1 || !slices.Equal(got[0], []string{"Id", "Amount"}) {
		t.Errorf("Columns() = %q", got)
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name     string
		old, new string // replace old by new in minimal
		want     string // the whole message list
	}{
		{"unknown top key", "version:", "verison:", `t.yaml:2:1: unknown key "verison" in the template (did you mean "version"?)`},
		{"yaml syntax", "  fields:\n", "  fields:\n  - :\n   bad", `t.yaml:6:4: YAML syntax error: did not find expected key; this line is indented 3 spaces`},
		{"empty file", minimal, "", `t.yaml:1:1: the template is empty`},
		{"not a mapping", minimal, "- a\n- b\n", `t.yaml:1:1: the template must be a mapping (key: value lines), not a list (lines starting with -)`},
		{"missing output", "output:\n  csv:\n    columns:\n      Id: id\n      Amount: amount\n", "", `t.yaml:1:1: the template: the key "output" is missing`},
		{"both outputs", "      Amount: amount\n", "      Amount: amount\n  dmf:\n    entities: []\n", `output: give either csv (and/or xlsx) or dmf, not both`},
		{"no output kind", "  csv:\n    columns:\n      Id: id\n      Amount: amount\n", "  file_name: '\"x\"'\n", `output: say what to write: csv (a delimited text file), xlsx (an Excel workbook) or dmf (a DMF data package)`},
		{"duplicate column", "      Amount: amount\n", "      Amount: amount\n      Id: account\n", `t.yaml:24:7: output.csv.columns: "Id" appears twice (first on line 22)`},
		{"empty columns", "    columns:\n      Id: id\n      Amount: amount\n", "    columns: {}\n", `output.csv.columns is empty`},
		{"unknown field in expr", "expr: UPPER(account)", "expr: UPPER(acount)", `t.yaml:14:17: model field "id": unknown name "acount" (did you mean "account"?)`},
		{"function in lower case", "expr: UPPER(account)", "expr: upper(account)", `did you mean "UPPER"? functions are written in capitals`},
		{"quoted expression column", "      Id: id\n", "      Id: '\"A\" + idd'\n", `t.yaml:22:18: output column "Id": unknown name "idd" (did you mean "id"?)`},
		{"later model field", "expr: UPPER(account)", "expr: UPPER(id)", `model field "id": unknown name "id"`},
		{"unknown lookup", "expr: UPPER(account)", `expr: LOOKUP("cdes", account, "")`, `t.yaml:14:18: model field "id": unknown lookup table "cdes" (did you mean "codes"?)`},
		{"lookup name not literal", "expr: UPPER(account)", `expr: LOOKUP(account, account, "")`, `the first argument of LOOKUP must be the name of a lookup table in quotes`},
		{"argument count", "expr: UPPER(account)", `expr: UPPER(account, 1)`, `UPPER takes 1 argument, not 2; write it as UPPER(text)`},
		{"empty expression", "expr: UPPER(account)", `expr: ""`, `model field "id": the expression is empty`},
		{"bad type", "type: decimal", "type: money", `type must be one of "string", "integer", "decimal", "date", "datetime", "boolean", not "money"`},
		{"bad layout", "type: decimal", "type: date\n      layout: dd.mm.YYYY", `layout "dd.mm.YYYY": "Y" is not a date or time letter`},
		{"layout on decimal", "type: decimal", "type: decimal\n      layout: dd.MM.yyyy", `layout is only for date and datetime fields`},
		{"bad default", "type: decimal", "type: decimal\n      default: abc", `field "amount": the default "abc" is not a valid decimal value`},
		{"true and false", "type: decimal", "type: boolean\n      true_values: [J]\n      false_values: [j]", `"j" is both a true and a false value`},
		{"field name reserved", "name: amount", "name: nil", `field name "nil" is a word of the expression language`},
		{"severity", "message: The amount is negative.", "message: The amount is negative.\n    severity: fatal", `severity must be one of "error", "warning", not "fatal"`},
		{"validation without message", "    message: The amount is negative.\n", "", `validation: the key "message" is missing`},
		{"xml without record", "input:\n", "input:\n  format: xml\n", `format xml needs xml.record`},
		{"delimiter", "input:\n", "input:\n  csv:\n    delimiter: ab\n", `input.csv.delimiter must be one character`},
		{"syntax", "expr: UPPER(account)", "expr: UPPER(account", `model field "id": syntax error`},
		{"file_name field", "  csv:\n", "  file_name: input.nam\n  csv:\n", `output.file_name: "nam" is not known`},
		{"dmf staging name", "  csv:\n    columns:\n      Id: id\n      Amount: amount\n",
			"  dmf:\n    entities:\n      - name: E\n        target: T\n        columns:\n          BAD NAME: id\n",
			`staging field name "BAD NAME" must be letters, digits and _ only`},
		{"dmf source format", "  csv:\n    columns:\n      Id: id\n      Amount: amount\n",
			"  dmf:\n    entities:\n      - name: E\n        target: T\n        source_format: csv\n        columns:\n          ID: id\n",
			`source_format must be one of "CSV-Unicode", "CSV", "XML-Element", "XML-Attribute", "EXCEL", not "csv" (did you mean "CSV"?)`},
		{"dmf missing target", "  csv:\n    columns:\n      Id: id\n      Amount: amount\n",
			"  dmf:\n    entities:\n      - name: E\n        columns:\n          ID: id\n",
			`entity: the key "target" is missing`},
		{"lookup file missing", "    A: Alpha\n", "    file: nothere.csv\n    key: Code\n    value: Name\n", `lookup table "codes": can't open nothere.csv`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !strings.Contains(minimal, tt.old) {
				t.Fatalf("%q is not in the minimal template", tt.old)
			}
			_, err := loadString(t, strings.Replace(minimal, tt.old, tt.new, 1))
			if err == nil {
				t.Fatal("loaded without error")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error:\n%v\nwant it to contain:\n%s", err, tt.want)
			}
		})
	}
}

func TestLoadLookupFile(t *testing.T) {
	src := strings.Replace(minimal, "    A: Alpha\n", "    file: codes.csv\n    key: code\n    value: NAME\n    delimiter: \";\"\n", 1)
	fsys := fstest.MapFS{
		"tpl/t.yaml":    {Data: []byte(src)},
		"tpl/codes.csv": {Data: []byte("\ufeffCode;Name\nA;Alpha\nB;Bravo\n")},
	}
	tpl, err := LoadFS(fsys, "tpl/t.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if got := tpl.lookups["codes"]; len(got) != 2 || got["B"] != "Bravo" {
		t.Errorf("table = %v", got)
	}

	fsys["tpl/codes.csv"] = &fstest.MapFile{Data: []byte("Code;Name\nA;Alpha\nA;Again\n")}
	_, err = LoadFS(fsys, "tpl/t.yaml")
	if err == nil || !strings.Contains(err.Error(), `codes.csv row 3: the key "A" is already on row 2`) {
		t.Errorf("duplicate key: err = %v", err)
	}
	fsys["tpl/codes.csv"] = &fstest.MapFile{Data: []byte("Key;Name\nA;Alpha\n")}
	_, err = LoadFS(fsys, "tpl/t.yaml")
	if err == nil || !strings.Contains(err.Error(), `has no column "code"; its columns are "Key", "Name"`) {
		t.Errorf("missing column: err = %v", err)
	}
}

func TestLoadCustomersV3(t *testing.T) {
	tpl, err := Load("../templates/customers-v3/template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if tpl.Name != "customers-v3" || tpl.Version != "1.2.0" || tpl.Status != "completed" {
		t.Errorf("metadata = %q %q %q", tpl.Name, tpl.Version, tpl.Status)
	}
	if got := tpl.InputFormats(); !slices.Equal(got, []string{"csv", "xlsx"}) {
		t.Errorf("InputFormats() = %q", got)
	}
	if got := tpl.Outputs(); !slices.Equal(got, []string{"DMF package: Customers V3"}) {
		t.Errorf("Outputs() = %q", got)
	}
	cols := tpl.Columns()
	if len(cols) != 1 || len(cols[0]) != 21 || cols[0][0] != "CUSTOMERACCOUNT" || cols[0][20] != "SALESTAXGROUP" {
		t.Errorf("Columns() = %q", cols)
	}
	for _, name := range []string{"customers.csv", "Customers.TXT", "customers.xlsx"} {
		if _, err := tpl.InputFormat(name); err != nil {
			t.Errorf("InputFormat(%q): %v", name, err)
		}
	}
	_, err = tpl.InputFormat("customers.pdf")
	if want := `template customers-v3 can't read files ending in ".pdf"; it reads CSV (.csv, .txt), Excel (.xlsx)`; err == nil || err.Error() != want {
		t.Errorf("InputFormat(pdf) = %v, want %s", err, want)
	}
	if err := Validate(os.DirFS("../templates/customers-v3"), "template.yaml"); err != nil {
		t.Errorf("Validate: %v", err)
	}
}

// TestLookupFileLinkOutside: a lookup file that is a symbolic link out of
// the template's folder (to a 0600 file elsewhere) is not read; a link
// within the folder is.
func TestLookupFileLinkOutside(t *testing.T) {
	src := strings.Replace(minimal, "    A: Alpha\n", "    file: codes.csv\n    key: code\n    value: NAME\n    delimiter: \";\"\n", 1)
	secret := filepath.Join(t.TempDir(), "secret.csv")
	if err := os.WriteFile(secret, []byte("Code;Name\nA;TOP-SECRET\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	tp := filepath.Join(dir, "t.yaml")
	if err := os.WriteFile(tp, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(secret, filepath.Join(dir, "codes.csv")); err != nil {
		t.Fatal(err)
	}
	_, err := Load(tp)
	if err == nil || !strings.Contains(err.Error(), "outside the template's folder") || strings.Contains(err.Error(), "TOP-SECRET") {
		t.Fatalf("a link out of the folder: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "real.csv"), []byte("Code;Name\nA;Alpha\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(dir, "codes.csv"))
	if err := os.Symlink("real.csv", filepath.Join(dir, "codes.csv")); err != nil {
		t.Fatal(err)
	}
	if tpl, err := Load(tp); err != nil || tpl.lookups["codes"]["A"] != "Alpha" {
		t.Fatalf("a link within the folder: %v", err)
	}
}

// TestFilePatterns: a template that picks its format by the file's
// extension takes the names it can read; one with a fixed format any.
func TestFilePatterns(t *testing.T) {
	for path, want := range map[string][]string{
		"../templates/customers-v3/template.yaml":   {"*.csv", "*.txt", "*.xlsx"},
		"../templates/camt053-import/template.yaml": nil,
	} {
		tpl, err := Load(path)
		if err != nil {
			t.Fatal(err)
		}
		if got := tpl.FilePatterns(); !slices.Equal(got, want) {
			t.Errorf("%s: %q, want %q", path, got, want)
		}
	}
}
