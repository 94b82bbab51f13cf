package transform

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/erpipe/erpipe/transform/template"
	"github.com/xuri/excelize/v2"
)

// TestValidateClasses has one broken template for each class of problem
// validate reports, each with its exact place.
func TestValidateClasses(t *testing.T) {
	base := `name: t
input:
  fields:
    - name: account
      type: string
lookups:
  terms:
    "30": Net30
model:
  - name: acc
    expr: UPPER(account)
output:
  csv:
    columns:
      A: acc
`
	tests := []struct {
		name, old, new string
		want           string // file:line:col: message part
	}{
		{"unknown key with did-you-mean", "      type: string", "      typ: string", `t.yaml:5:7: unknown key "typ" in input field (did you mean "type"?)`},
		{"wrong type", "      type: string", "      type: [string]", `t.yaml:5:13: type must be a single value, not a list`},
		{"wrong value", "      type: string", "      type: text", `t.yaml:5:13: type must be one of`},
		{"expression syntax, place inside it", "expr: UPPER(account)", "expr: UPPER(account +)", `t.yaml:11:26: model field "acc": syntax error`},
		{"undefined field", "A: acc", "A: acount", `t.yaml:15:10: output column "A": unknown name "acount" (did you mean "account"?)`},
		{"undefined lookup", "expr: UPPER(account)", `expr: LOOKUP("term", account, "")`, `t.yaml:11:18: model field "acc": unknown lookup table "term" (did you mean "terms"?)`},
		{"missing lookup file", `    "30": Net30`, "    file: terms.csv\n    key: Code\n    value: Name", `t.yaml:8:11: lookup table "terms": can't open terms.csv: file does not exist`},
		{"missing test input", "output:", "tests:\n  - input: cases/none.csv\n    error: x\noutput:", `t.yaml:13:12: test input cases/none.csv: file does not exist`},
		{"unknown base", "name: t", "extends: nope\nname: t", `t.yaml:1:10: extends: no base template "nope"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !strings.Contains(base, tt.old) {
				t.Fatalf("base has no %q", tt.old)
			}
			src := strings.Replace(base, tt.old, tt.new, 1)
			_, err := LoadFS(fstest.MapFS{"t.yaml": {Data: []byte(src)}}, "t.yaml")
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v\nwant a line with %s", err, tt.want)
			}
		})
	}
	// Classes that need a template of their own: a DMF entity order that
	// breaks a dependency, and a missing schema file of an XML output.
	whole := []struct{ name, src, want string }{
		{"DMF entity order", "name: t\ninput:\n  fields: [{name: a}]\noutput:\n  dmf:\n    entities:\n" +
			"      - {name: Customers, target: C, sequence: 1, depends_on: Groups, columns: {A: a}}\n" +
			"      - {name: Groups, target: G, sequence: 2, columns: {A: a}}\n",
			`t.yaml:7:63: entity "Customers" depends_on "Groups", but it comes first`},
		{"missing schema", "name: t\ninput:\n  fields: [{name: a}]\noutput:\n  xml:\n    schema: missing.xsd\n    layout:\n      Document:\n        A: a\n",
			`t.yaml:6:13: schema "missing.xsd":`},
	}
	for _, tt := range whole {
		t.Run(tt.name, func(t *testing.T) {
			_, err := LoadFS(fstest.MapFS{"t.yaml": {Data: []byte(tt.src)}}, "t.yaml")
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v\nwant a line with %s", err, tt.want)
			}
		})
	}
	// All problems are listed, not just the first.
	src := strings.NewReplacer("      type: string", "      typ: string", "A: acc", "A: acount").Replace(base)
	_, err := LoadFS(fstest.MapFS{"t.yaml": {Data: []byte(src)}}, "t.yaml")
	if err == nil || len(err.(template.Errors)) != 2 {
		t.Errorf("want 2 problems, got %v", err)
	}
}

const baseTemplate = `name: base
version: 1.1.0
status: completed
input:
  fields:
    - name: account
      column: Account
    - name: email
      column: Email
    - name: phone
      column: Phone
lookups:
  terms:
    "30": Net30
validations:
  - name: email-present
    condition: TRIM(email) != ""
    message: no email
    severity: warning
output:
  csv:
    columns:
      ACCOUNT: UPPER(account)
      EMAIL: email
      PHONE: phone
`

// TestExtendsMerge derives a template: a field added, one changed, a
// validation changed, a lookup code added, a column removed.
func TestExtendsMerge(t *testing.T) {
	derived := `extends: base
name: derived
version: 1.0.0
input:
  fields:
    - name: email
      required: true
    - name: org
      column: Org
lookups:
  terms:
    "60": Net60
validations:
  - name: email-present
    severity: error
remove:
  - output.csv.columns.PHONE
output:
  csv:
    columns:
      ORG: org
      TERMS: LOOKUP("terms", "60")
`
	fsys := fstest.MapFS{"base/template.yaml": {Data: []byte(baseTemplate)}, "derived.yaml": {Data: []byte(derived)}}
	tmpl, err := LoadFS(fsys, "derived.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(tmpl.Fields(), ","); got != "account,email,phone,org" {
		t.Errorf("fields %s", got)
	}
	if got := strings.Join(tmpl.Columns()[0], ","); got != "ACCOUNT,EMAIL,ORG,TERMS" {
		t.Errorf("columns %s", got)
	}
	if !tmpl.input.fields[1].Required || tmpl.input.fields[1].Column != "Email" {
		t.Errorf("email field not merged: %+v", tmpl.input.fields[1])
	}
	if tmpl.validations[0].severity != template.SeverityError || tmpl.validations[0].message != "no email" {
		t.Errorf("validation not merged: %+v", tmpl.validations[0])
	}
	if tmpl.lookups["terms"]["30"] != "Net30" || tmpl.lookups["terms"]["60"] != "Net60" {
		t.Errorf("lookup not merged: %v", tmpl.lookups["terms"])
	}
	if tmpl.Name != "derived" || tmpl.Version != "1.0.0" {
		t.Errorf("name %s version %s", tmpl.Name, tmpl.Version)
	}
	eff, err := template.Effective(fsys, "derived.yaml", "derived.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"name: derived", "ORG: org", "required: true", `"60": Net60`} {
		if !strings.Contains(string(eff), want) {
			t.Errorf("effective template lacks %q:\n%s", want, eff)
		}
	}
	if strings.Contains(string(eff), "PHONE:") || strings.Contains(string(eff), "extends") {
		t.Errorf("effective template keeps removed parts:\n%s", eff)
	}

	// A problem in a part that comes from the base names the base's file.
	broken := strings.Replace(baseTemplate, "UPPER(account)", "UPPER(acount)", 1)
	fsys["base/template.yaml"] = &fstest.MapFile{Data: []byte(broken)}
	_, err = LoadFS(fsys, "derived.yaml")
	if err == nil || !strings.Contains(err.Error(), "base/template.yaml:23:22: output column \"ACCOUNT\": unknown name \"acount\"") {
		t.Errorf("want the base's file and line, got %v", err)
	}
	// An unknown part to remove is reported with a suggestion.
	fsys["base/template.yaml"] = &fstest.MapFile{Data: []byte(baseTemplate)}
	fsys["derived.yaml"] = &fstest.MapFile{Data: []byte(strings.Replace(derived, "columns.PHONE", "columns.PHONES", 1))}
	_, err = LoadFS(fsys, "derived.yaml")
	if err == nil || !strings.Contains(err.Error(), `derived.yaml:17:5: remove: the base base has no part "output.csv.columns.PHONES" (did you mean "output.csv.columns.PHONE"?)`) {
		t.Errorf("got %v", err)
	}
}

// TestExtendsConflict: the base moved from 1.0.0 to 1.1.0, changing the
// validation's severity and the ACCOUNT column. A derived template that
// overrides the severity conflicts; one that overrides only other parts
// picks the changes up.
func TestExtendsConflict(t *testing.T) {
	old := strings.NewReplacer("version: 1.1.0", "version: 1.0.0", "severity: warning", "severity: error", "UPPER(account)", "account").Replace(baseTemplate)
	fsys := fstest.MapFS{
		"base/template.yaml":       {Data: []byte(baseTemplate)},
		"base/versions/1.0.0.yaml": {Data: []byte(old)},
	}
	conflicting := "extends:\n  template: base\n  version: 1.0.0\nname: d\nvalidations:\n  - name: email-present\n    severity: error\n"
	fsys["d.yaml"] = &fstest.MapFile{Data: []byte(conflicting)}
	_, err := LoadFS(fsys, "d.yaml")
	want := "d.yaml:7:15: conflict: validations.email-present.severity is overridden here, and the base base changed it between version 1.0.0 and 1.1.0 (now at base/template.yaml:19:15)"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("got %v\nwant %s", err, want)
	}
	clean := "extends:\n  template: base\n  version: 1.0.0\nname: d\nvalidations:\n  - name: email-present\n    message: add an email\n"
	fsys["d.yaml"] = &fstest.MapFile{Data: []byte(clean)}
	tmpl, err := LoadFS(fsys, "d.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if tmpl.validations[0].severity != template.SeverityWarning || tmpl.validations[0].message != "add an email" {
		t.Errorf("base change not picked up: %+v", tmpl.validations[0])
	}
	// The old version is not kept: say so, and what to do.
	delete(fsys, "base/versions/1.0.0.yaml")
	_, err = LoadFS(fsys, "d.yaml")
	if err == nil || !strings.Contains(err.Error(), "d.yaml:3:12: extends: this template was made against base 1.0.0, but the base is now at version 1.1.0") {
		t.Errorf("got %v", err)
	}
}

// TestDiff compares two versions field by field.
func TestDiff(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "a.yaml")
	b := filepath.Join(dir, "b.yaml")
	newer := strings.NewReplacer("version: 1.1.0", "version: 1.2.0", "severity: warning", "severity: error",
		"    - name: phone\n      column: Phone\n", "", "      PHONE: phone\n", "", "    \"30\": Net30\n", "    \"30\": Net30\n    \"60\": Net60\n",
		"# comment", "").Replace(baseTemplate)
	// Moving keys and comments is no change: reorder input's keys.
	if err := os.WriteFile(a, []byte(baseTemplate), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(b, []byte(newer+"# a comment\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	changes, err := template.DiffFiles(a, b)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range changes {
		got = append(got, c.Kind+" "+c.Path+": "+c.Old+" -> "+c.New)
	}
	want := []string{
		"changed version: 1.1.0 -> 1.2.0",
		"removed input.fields.phone: {name: phone, column: Phone} -> ",
		"added lookups.terms.60:  -> Net60",
		"changed validations.email-present.severity: warning -> error",
		"removed output.csv.columns.PHONE: phone -> ",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestLookupFiles reads lookup tables from CSV and XLSX files, and does
// what the table says with a missing code.
func TestLookupFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name, s string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("terms.csv", "Code,Name\n30,Net30\n")
	x := excelize.NewFile()
	x.SetSheetName("Sheet1", "Groups")
	for i, row := range [][]any{{"Code", "Group"}, {"R", "Retail"}, {10, "Wholesale"}} {
		for j, v := range row {
			cell, _ := excelize.CoordinatesToCellName(j+1, i+1)
			x.SetCellValue("Groups", cell, v)
		}
	}
	if err := x.SaveAs(filepath.Join(dir, "groups.xlsx")); err != nil {
		t.Fatal(err)
	}
	write("t.yaml", `name: t
input:
  fields:
    - name: terms
    - name: group
lookups:
  terms: {file: terms.csv, key: Code, value: Name, missing: error}
  groups: {file: groups.xlsx, sheet: Groups, key: Code, value: Group, default: Other}
  kinds:
    codes: {"A": Alpha}
    missing: default
    default: "?"
output:
  csv:
    columns:
      TERMS: LOOKUP("terms", terms)
      GROUP: LOOKUP("groups", group)
      KIND: LOOKUP("kinds", "B")
`)
	write("in.csv", "terms,group\n30,10\n31,R\n30,X\n")
	tmpl, err := Load(filepath.Join(dir, "t.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	res, err := tmpl.Run(context.Background(), filepath.Join(dir, "in.csv"), out)
	if err != nil {
		t.Fatal(err)
	}
	if res.Written != 2 || res.Rejected != 1 || !strings.Contains(res.Errors[0].Error(), `row 3: field TERMS: the code "31" is not in the lookup table "terms"`) {
		t.Errorf("result %+v %v", res, res.Errors)
	}
	b, _ := os.ReadFile(filepath.Join(out, "in.csv"))
	if string(b) != "TERMS,GROUP,KIND\nNet30,Wholesale,?\nNet30,Other,?\n" {
		t.Errorf("output:\n%s", b)
	}
	// default with missing: error is a mistake in the template.
	write("t.yaml", "name: t\ninput:\n  fields: [{name: a}]\nlookups:\n  x: {codes: {a: b}, missing: error, default: c}\noutput:\n  csv:\n    columns: {A: a}\n")
	if _, err := Load(filepath.Join(dir, "t.yaml")); err == nil || !strings.Contains(err.Error(), `t.yaml:5:6: lookup table "x": default is for missing: default`) {
		t.Errorf("got %v", err)
	}
}

// TestTemplateTests reads the tests: key.
func TestTemplateTests(t *testing.T) {
	src := minimalWith("tests:\n  - input: in.csv\n    expect: out/\n  - name: bad\n    input: in.csv\n    error: boom\n  - input: in.csv\n")
	tmpl, err := LoadFS(fstest.MapFS{"t.yaml": {Data: []byte(src)}, "in.csv": {Data: []byte("a\n")}}, "t.yaml")
	if err == nil || !strings.Contains(err.Error(), "say what the run must give") {
		t.Fatalf("got %v", err)
	}
	src = minimalWith("tests:\n  - input: in.csv\n    expect: out/\n  - name: bad\n    input: in.csv\n    error: boom\n")
	tmpl, err = LoadFS(fstest.MapFS{"t.yaml": {Data: []byte(src)}, "in.csv": {Data: []byte("a\n")}}, "t.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if got := tmpl.Tests(); len(got) != 2 || got[0].Name != "in.csv" || got[0].Expect != "out/" || got[1].Error != "boom" {
		t.Errorf("tests %+v", got)
	}
}

func minimalWith(extra string) string {
	return "name: t\ninput:\n  fields:\n    - name: a\noutput:\n  csv:\n    columns:\n      A: a\n" + extra
}
