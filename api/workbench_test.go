package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3filter"

	"github.com/erpipe/erpipe/transform"
	"github.com/erpipe/erpipe/transform/template"
)

// wbEnv is a daemon with a client per role (rolesYAML), settling fast.
func wbEnv(t *testing.T) *testEnv {
	t.Helper()
	return newEnv(t, "settle: 1s\nrescan: 1s\n"+rolesYAML())
}

// derive derives customers-acme from customers-v3 as an author.
func (e *testEnv) derive(name string) sourceView {
	e.t.Helper()
	code, h, b := e.do("POST", "/api/v1/templates/customers-v3/derive", "author-token", strings.NewReader(`{"name":"`+name+`"}`))
	var v sourceView
	if code != http.StatusCreated || json.Unmarshal(b, &v) != nil || h.Get("Location") != "/api/v1/templates/"+name {
		e.t.Fatalf("derive: %d %s", code, b)
	}
	return v
}

// acmeEdit is the derived template with a change: the city in capitals,
// another file name, completed.
func acmeEdit(derived, suffix string) string {
	s := strings.Replace(derived, "status: draft", "status: completed", 1)
	return s + "output:\n  file_name: input.name + \"-" + suffix + ".zip\"\n  dmf:\n    entities:\n      - name: Customers V3\n        columns:\n          ADDRESSCITY: UPPER(TRIM(city))\n"
}

type validation struct {
	Valid    bool
	Problems []problemView
	Version  string
}

func (e *testEnv) validate(name, text string) validation {
	e.t.Helper()
	code, _, b := e.do("POST", "/api/v1/templates/"+name+"/validate", "operator-token", strings.NewReader(text))
	var v validation
	if code != 200 || json.Unmarshal(b, &v) != nil {
		e.t.Fatalf("validate: %d %s", code, b)
	}
	return v
}

// Derive a template from a built-in, make a typo (the problem and its
// hint at the line and column erpipe templates validate gives), refuse to
// save it, save it fixed (the version raised, the file written), and the
// daemon runs a file dropped afterwards with the new version.
func TestWorkbenchDeriveValidateSave(t *testing.T) {
	e := wbEnv(t)
	v := e.derive("customers-acme")
	dir := filepath.Join(e.ws, "templates", "customers-acme")
	for _, f := range []string{"template.yaml", "samples/customers.csv", "testdata/golden/sample-customers.csv/result.txt", "testdata/golden/sample-customers.csv/customers.zip/Customers V3.csv"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("derive did not write %s: %v", f, err)
		}
	}
	if v.Source != "workspace" || v.Extends != "customers-v3" || v.Version != "1.0.0" || v.Status != "draft" || !v.MaySave || v.File != "templates/customers-acme/template.yaml" {
		t.Errorf("the derived template: %+v", v)
	}
	for _, c := range []struct {
		token, body string
		code        int
	}{
		{"operator-token", `{"name":"other"}`, 403},
		{"author-token", `{"name":"customers-acme"}`, 409},
		{"author-token", `{"name":"vendors-v2"}`, 409},
		{"author-token", `{"name":"../escape"}`, 400},
		{"author-token", `{"name":".hidden"}`, 400},
		{"author-token", `not json`, 400},
	} {
		if code, _, b := e.do("POST", "/api/v1/templates/customers-v3/derive", c.token, strings.NewReader(c.body)); code != c.code {
			t.Errorf("derive %s as %s: %d %s, want %d", c.body, c.token, code, b, c.code)
		}
	}
	if code, _, b := e.do("POST", "/api/v1/templates/customers-acme/derive", "author-token", strings.NewReader(`{"name":"x2"}`)); code != 422 {
		t.Errorf("derive from a workspace template: %d %s", code, b)
	}
	if _, err := os.Stat(filepath.Join(e.ws, "templates", "escape")); !errors.Is(err, os.ErrNotExist) {
		t.Error("a refused derive left a folder")
	}

	// A typo: the same problem, at the same place, as erpipe templates
	// validate (the loader on the file) gives.
	typo := v.Text + "input:\n  fields:\n    - name: email\n      colum: E-mail\n"
	got := e.validate("customers-acme", typo)
	if got.Valid || len(got.Problems) != 1 {
		t.Fatalf("the typo: %+v", got)
	}
	p := got.Problems[0]
	line := strings.Count(v.Text, "\n") + 4
	if p.Line != line || p.Col != 7 || p.Hint != "column" || !strings.Contains(p.Message, `unknown key "colum"`) ||
		p.Text != fmt.Sprintf("templates/customers-acme/template.yaml:%d:7: %s", line, p.Message) {
		t.Errorf("the typo's problem: %+v, want line %d col 7, hint column", p, line)
	}
	cli := filepath.Join(t.TempDir(), "customers-acme", "template.yaml")
	os.MkdirAll(filepath.Dir(cli), 0o755)
	os.WriteFile(cli, []byte(typo), 0o644)
	_, err := transform.Load(cli)
	var es template.Errors
	if !errors.As(err, &es) || len(es) != 1 || es[0].Msg != p.Message || es[0].Line != p.Line || es[0].Col != p.Col {
		t.Errorf("erpipe templates validate says %v, the workbench %+v", err, p)
	}

	// Saving it is refused, and nothing is written.
	before, _ := os.ReadFile(filepath.Join(dir, "template.yaml"))
	code, _, b := e.do("PUT", "/api/v1/templates/customers-acme", "author-token", strings.NewReader(typo))
	var refused struct {
		Error    struct{ Code string }
		Problems []problemView
	}
	if code != 422 || json.Unmarshal(b, &refused) != nil || refused.Error.Code != "invalid_template" || len(refused.Problems) != 1 || refused.Problems[0].Hint != "column" {
		t.Errorf("save with a typo: %d %s", code, b)
	}
	if after, _ := os.ReadFile(filepath.Join(dir, "template.yaml")); !bytes.Equal(before, after) {
		t.Error("the template was written although it does not validate")
	}
	// Nor by someone who is not an author, nor over a built-in, nor
	// over a save made since (If-Match).
	fixed := acmeEdit(v.Text, "v1")
	if code, _, b := e.do("PUT", "/api/v1/templates/customers-acme", "operator-token", strings.NewReader(fixed)); code != 403 {
		t.Errorf("save as an operator: %d %s", code, b)
	}
	if code, _, b := e.do("PUT", "/api/v1/templates/customers-v3", "author-token", strings.NewReader(fixed)); code != 409 {
		t.Errorf("save a built-in: %d %s", code, b)
	}
	if code, _, b := e.do("PUT", "/api/v1/templates/customers-acme", "author-token", strings.NewReader(fixed), "If-Match", `"0000"`); code != 412 {
		t.Errorf("save over another save: %d %s", code, b)
	}
	if after, _ := os.ReadFile(filepath.Join(dir, "template.yaml")); !bytes.Equal(before, after) {
		t.Error("a refused save wrote the template")
	}

	// Saved: version 1.0.1 (the text said 1.0.0), written, and the daemon
	// runs the next file dropped with it.
	save := func(text, query string) map[string]any {
		t.Helper()
		code, _, b := e.do("PUT", "/api/v1/templates/customers-acme"+query, "author-token", strings.NewReader(text), "If-Match", `"`+sha(mustRead(t, filepath.Join(dir, "template.yaml")))+`"`)
		var out map[string]any
		if code != 200 || json.Unmarshal(b, &out) != nil {
			t.Fatalf("save: %d %s", code, b)
		}
		return out
	}
	out := save(fixed, "")
	if out["version"] != "1.0.1" || out["previous_version"] != "1.0.0" || out["reload_error"] != nil || fmt.Sprint(out["pipelines"]) != "[customers-acme]" {
		t.Errorf("saved: %v", out)
	}
	written := string(mustRead(t, filepath.Join(dir, "template.yaml")))
	if !strings.Contains(written, "\nversion: 1.0.1\n") || strings.Replace(written, "version: 1.0.1", "version: 1.0.0", 1) != fixed || out["text"] != written {
		t.Errorf("the file written:\n%s", written)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".*")); len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
	job := e.dropAndWait("customers-acme", "first.csv")
	if job.TemplateVersion != "1.0.1" || len(job.Outputs) != 1 || job.Outputs[0].Name != "first-v1.zip" {
		t.Errorf("the job after the save: version %s, outputs %+v", job.TemplateVersion, job.Outputs)
	}
	// Again: 1.1.0 with bump=minor, then the version the text says when
	// it is above the saved one.
	out = save(acmeEdit(v.Text, "v2"), "?bump=minor")
	if out["version"] != "1.1.0" {
		t.Errorf("bump=minor: %v", out["version"])
	}
	job = e.dropAndWait("customers-acme", "second.csv")
	if job.TemplateVersion != "1.1.0" || len(job.Outputs) != 1 || job.Outputs[0].Name != "second-v2.zip" {
		t.Errorf("the job after the second save: version %s, outputs %+v", job.TemplateVersion, job.Outputs)
	}
	if out = save(strings.Replace(acmeEdit(v.Text, "v2"), "version: 1.0.0", "version: \"2.0.0\"", 1), ""); out["version"] != "2.0.0" ||
		!strings.Contains(string(mustRead(t, filepath.Join(dir, "template.yaml"))), `version: "2.0.0"`) {
		t.Errorf("the text's own version: %v", out["version"])
	}
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// dropAndWait drops the customers sample into pipeline's inbox as name
// and waits for its job.
func (e *testEnv) dropAndWait(pipeline, name string) jobView {
	e.t.Helper()
	inbox := filepath.Join(e.ws, "inbox", pipeline)
	os.MkdirAll(inbox, 0o755)
	data := bytes.Replace(sample(e.t), []byte("US-001"), []byte("US-"+strings.TrimSuffix(name, ".csv")), 1) // not a duplicate
	if err := os.WriteFile(filepath.Join(inbox, name), data, 0o644); err != nil {
		e.t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		_, _, b := e.do("GET", "/api/v1/jobs?pipeline="+pipeline, "admin-token", nil)
		var l struct{ Jobs []jobView }
		json.Unmarshal(b, &l)
		for _, j := range l.Jobs {
			if j.Input == name && j.Final {
				return j
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	e.t.Fatalf("no job of %s in pipeline %s", name, pipeline)
	return jobView{}
}

// runForm is a multipart body with the template text (when not empty)
// and a sample.
func runForm(t *testing.T, text, name string, sample []byte) (io.Reader, string) {
	t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	if text != "" {
		w, _ := mw.CreateFormFile("template", "template.yaml")
		w.Write([]byte(text))
	}
	if name != "" {
		w, _ := mw.CreateFormFile("sample", name)
		w.Write(sample)
	}
	mw.Close()
	return &b, mw.FormDataContentType()
}

// Run an edit on a sample (values and their lineage), its test cases
// (the derived template's samples, with what the built-in made of them
// as expected), and its diff against the base.
func TestWorkbenchRunTestDiff(t *testing.T) {
	e := wbEnv(t)
	v := e.derive("customers-acme")
	edit := acmeEdit(v.Text, "acme")

	body, ctype := runForm(t, edit, "customers.csv", sample(t))
	code, _, b := e.do("POST", "/api/v1/templates/customers-acme/run?rows=3", "operator-token", body, "Content-Type", ctype)
	var run struct {
		Columns          [][]string
		Rows             []runRow
		Read, Written    int
		Template, Sample string
	}
	if code != 200 || json.Unmarshal(b, &run) != nil || run.Read != 3 || len(run.Rows) != 3 || run.Sample != "customers.csv" {
		t.Fatalf("run: %d %s", code, b)
	}
	cols := run.Columns[0]
	at := func(name string) int {
		for i, c := range cols {
			if c == name {
				return i
			}
		}
		t.Fatalf("no column %s in %v", name, cols)
		return -1
	}
	r := run.Rows[0]
	if city := r.Values[0][at("ADDRESSCITY")]; city != "SAN DIEGO" {
		t.Errorf("the edit's ADDRESSCITY: %q", city)
	}
	lin := r.Lineage[0][at("CUSTOMERACCOUNT")]
	if lin.Expr != "account_id" || len(lin.Inputs) != 1 || lin.Inputs[0].Column != "Account" || lin.Inputs[0].Text != "US-001" || lin.Inputs[0].Row != 2 || lin.Inputs[0].Col != 1 || len(lin.Via) == 0 {
		t.Errorf("CUSTOMERACCOUNT's lineage: %+v", lin)
	}
	// Without a template part, the template as saved; a built-in too.
	body, ctype = runForm(t, "", "customers.csv", sample(t))
	if code, _, b := e.do("POST", "/api/v1/templates/customers-v3/run?rows=1", "operator-token", body, "Content-Type", ctype); code != 200 || !strings.Contains(string(b), `"San Diego"`) {
		t.Errorf("run the built-in: %d %.300s", code, b)
	}
	// The template's own samples, by name: only those of its samples/.
	body, ctype = runForm(t, edit, "", nil)
	code, _, b = e.do("POST", "/api/v1/templates/customers-acme/run?rows=2&sample=customers.csv", "operator-token", body, "Content-Type", ctype)
	if code != 200 || !strings.Contains(string(b), `"SAN DIEGO"`) || !strings.Contains(string(b), `"sample":"customers.csv"`) {
		t.Errorf("run on its own sample: %d %.300s", code, b)
	}
	os.WriteFile(filepath.Join(e.ws, "secret.csv"), sample(t), 0o644)
	linked := filepath.Join(e.ws, "templates", "customers-acme", "samples", "linked.csv")
	os.Symlink(filepath.Join(e.ws, "secret.csv"), linked)
	for _, name := range []string{"../../../secret.csv", "linked.csv", "nope.csv", "..", ""} {
		body, ctype = runForm(t, edit, "", nil)
		if code, _, b := e.do("POST", "/api/v1/templates/customers-acme/run?sample="+url.QueryEscape(name), "operator-token", body, "Content-Type", ctype); code != 404 && code != 400 {
			t.Errorf("run on the sample %q: %d %.200s", name, code, b)
		}
	}
	if code, _, b := e.do("GET", "/api/v1/templates/customers-acme/source", "viewer-token", nil); code != 200 || !strings.Contains(string(b), `"samples":["customers-workbook.xlsx","customers.csv"]`) {
		t.Errorf("the source's samples: %d %.300s", code, b)
	}
	// Nor is the link a test case (templatetest lists only the files of
	// samples/ themselves).
	code, _, b = e.do("POST", "/api/v1/templates/customers-acme/test", "operator-token", nil)
	if code != 200 || strings.Contains(string(b), "linked.csv") || strings.Contains(string(b), "US-001") || !strings.Contains(string(b), `"passed":2`) {
		t.Errorf("a linked sample as a test case: %d %s", code, b)
	}
	os.Remove(linked)

	// An edit that does not validate is not run.
	body, ctype = runForm(t, v.Text+"filter: nosuchfield == 1\n", "customers.csv", sample(t))
	if code, _, b := e.do("POST", "/api/v1/templates/customers-acme/run", "operator-token", body, "Content-Type", ctype); code != 422 || !strings.Contains(string(b), "nosuchfield") {
		t.Errorf("run an invalid edit: %d %s", code, b)
	}
	if code, _, _ := e.do("POST", "/api/v1/templates/customers-acme/run", "viewer-token", strings.NewReader("")); code != 403 {
		t.Errorf("run as a viewer: %d", code)
	}

	// The test cases: as saved, every case passes; the edit changes
	// ADDRESSCITY, which the failing cases' diffs name.
	type cases struct {
		Cases          []caseView
		Passed, Failed int
	}
	code, _, b = e.do("POST", "/api/v1/templates/customers-acme/test", "operator-token", nil)
	var tc cases
	if code != 200 || json.Unmarshal(b, &tc) != nil || tc.Passed != 2 || tc.Failed != 0 {
		t.Errorf("test as saved: %d %s", code, b)
	}
	city := v.Text + "output:\n  dmf:\n    entities:\n      - name: Customers V3\n        columns:\n          ADDRESSCITY: UPPER(TRIM(city))\n"
	code, _, b = e.do("POST", "/api/v1/templates/customers-acme/test", "operator-token", strings.NewReader(city))
	if code != 200 || json.Unmarshal(b, &tc) != nil || tc.Failed != 2 || !strings.Contains(tc.Cases[0].Diff, "ADDRESSCITY") || strings.Contains(string(b), e.ws) {
		t.Errorf("test the edit: %d %s", code, b)
	}

	// Accepting new results: an author's, and only for the saved text.
	if code, _, b := e.do("POST", "/api/v1/templates/customers-acme/test?update=true", "operator-token", nil); code != 403 {
		t.Errorf("update as an operator: %d %s", code, b)
	}
	if code, _, b := e.do("POST", "/api/v1/templates/customers-acme/test?update=true", "author-token", strings.NewReader(city)); code != 409 {
		t.Errorf("update with an unsaved edit: %d %s", code, b)
	}

	// A new version alone changes no output: the cases still pass.
	if code, _, b := e.do("PUT", "/api/v1/templates/customers-acme", "author-token", strings.NewReader(v.Text)); code != 200 || !strings.Contains(string(b), `"version":"1.0.1"`) {
		t.Fatalf("save as derived: %d %s", code, b)
	}
	code, _, b = e.do("POST", "/api/v1/templates/customers-acme/test", "operator-token", nil)
	if code != 200 || json.Unmarshal(b, &tc) != nil || tc.Passed != 2 || tc.Failed != 0 {
		t.Errorf("test at 1.0.1: %d %s", code, b)
	}

	// Saved with the city in capitals, the cases fail until their new
	// results are accepted.
	if code, _, b := e.do("PUT", "/api/v1/templates/customers-acme", "author-token", strings.NewReader(city)); code != 200 {
		t.Fatalf("save the city: %d %s", code, b)
	}
	saved := string(mustRead(t, filepath.Join(e.ws, "templates", "customers-acme", "template.yaml")))
	code, _, b = e.do("POST", "/api/v1/templates/customers-acme/test?update=true", "author-token", strings.NewReader(saved))
	if code != 200 || json.Unmarshal(b, &tc) != nil || tc.Passed != 2 || !tc.Cases[0].Updated {
		t.Errorf("accept the new results: %d %s", code, b)
	}
	if golden := string(mustRead(t, filepath.Join(e.ws, "templates", "customers-acme", "testdata", "golden", "sample-customers.csv", "customers.zip", "Customers V3.csv"))); !strings.Contains(golden, "SAN DIEGO") {
		t.Errorf("the expected results were not rewritten:\n%.300s", golden)
	}
	code, _, b = e.do("POST", "/api/v1/templates/customers-acme/test", "operator-token", nil)
	tc = cases{}
	if code != 200 || json.Unmarshal(b, &tc) != nil || tc.Passed != 2 || tc.Cases[0].Updated {
		t.Errorf("test after accepting: %d %s", code, b)
	}

	// The diff against the base, customers-v3.
	code, _, b = e.do("POST", "/api/v1/templates/customers-acme/diff", "operator-token", strings.NewReader(edit))
	var d struct {
		Against string
		Changes []changeView
	}
	if code != 200 || json.Unmarshal(b, &d) != nil || d.Against != "built-in customers-v3" {
		t.Fatalf("diff: %d %s", code, b)
	}
	paths := map[string]changeView{}
	for _, c := range d.Changes {
		paths[c.Path] = c
	}
	if c := paths["output.dmf.entities.Customers V3.columns.ADDRESSCITY"]; c.Kind != "changed" || c.Old != "TRIM(city)" || c.New != "UPPER(TRIM(city))" || c.NewLine == 0 {
		t.Errorf("the diff's ADDRESSCITY: %+v (all: %+v)", c, d.Changes)
	}
	if _, ok := paths["output.file_name"]; !ok {
		t.Errorf("the diff lacks output.file_name: %+v", d.Changes)
	}
}

// The editor's endpoints keep to the template's folder and to the names
// the workspace lists, and bound what they read.
func TestWorkbenchBounds(t *testing.T) {
	e := wbEnv(t)
	v := e.derive("customers-acme")
	os.WriteFile(filepath.Join(e.ws, "secret.csv"), []byte("Code,Rate\nX,1\n"), 0o644)
	for _, c := range []struct{ text, want string }{
		{v.Text + "lookups:\n  rates:\n    file: ../../secret.csv\n    key: Code\n    value: Rate\n", "secret.csv"},
		{strings.Replace(v.Text, "template: customers-v3", "template: ../../erpipe.yaml", 1), "is a path"},
		{strings.Replace(v.Text, "name: customers-acme", "name: customers-v3", 1), `keep name: customers-acme`},
		{"name: [\n", "YAML"},
	} {
		got := e.validate("customers-acme", c.text)
		if got.Valid || len(got.Problems) == 0 || !strings.Contains(fmt.Sprint(got.Problems), c.want) {
			t.Errorf("validate %q: %+v, want a problem with %q", c.text[len(c.text)-min(len(c.text), 60):], got, c.want)
		}
		if code, _, _ := e.do("PUT", "/api/v1/templates/customers-acme", "author-token", strings.NewReader(c.text)); code != 422 {
			t.Errorf("save %q: %d, want 422", c.want, code)
		}
	}
	for _, path := range []string{"/api/v1/templates/..%2Ferpipe/validate", "/api/v1/templates/nothing/validate", "/api/v1/templates/secret.csv/validate"} {
		if code, _, b := e.do("POST", path, "operator-token", strings.NewReader(v.Text)); code != 404 {
			t.Errorf("POST %s: %d %s, want 404", path, code, b)
		}
	}
	big := strings.Repeat("# padding\n", maxTemplateText/10+1)
	if code, _, _ := e.do("POST", "/api/v1/templates/customers-acme/validate", "operator-token", strings.NewReader(big)); code != 413 {
		t.Errorf("a template over the limit: %d, want 413", code)
	}
	if code, _, _ := e.do("PUT", "/api/v1/templates/customers-acme", "author-token", strings.NewReader(big)); code != 413 {
		t.Errorf("saving a template over the limit: %d, want 413", code)
	}
	// A viewer sees a template and its explanations, and may not save.
	code, _, b := e.do("GET", "/api/v1/templates/customers-acme/source", "viewer-token", nil)
	var src sourceView
	if code != 200 || json.Unmarshal(b, &src) != nil || src.MaySave || src.MayTry || src.Text == "" {
		t.Errorf("source as a viewer: %d %s", code, b)
	}
	code, _, b = e.do("GET", "/api/v1/template-schema", "viewer-token", nil)
	if code != 200 || !strings.Contains(string(b), `"description"`) || !json.Valid(b) {
		t.Errorf("schema: %d %.200s", code, b)
	}
}

func TestNextVersion(t *testing.T) {
	for _, c := range []struct{ saved, edited, bump, want string }{
		{"1.0.0", "1.0.0", "patch", "1.0.1"},
		{"1.0.0", "", "patch", "1.0.1"},
		{"1.2.3", "1.2.3", "minor", "1.3.0"},
		{"1.2.3", "1.2.3", "major", "2.0.0"},
		{"1.2.3", "1.2.9", "patch", "1.2.9"},
		{"1.2.3", "1.0.0", "patch", "1.2.4"},
		{"1.2", "1.2", "patch", "1.2.1"},
		{"", "", "patch", "0.0.1"},
		{"beta", "gamma", "patch", "gamma"},
	} {
		if got, err := nextVersion(c.saved, c.edited, c.bump); err != nil || got != c.want {
			t.Errorf("nextVersion(%q, %q, %s) = %q, %v; want %q", c.saved, c.edited, c.bump, got, err, c.want)
		}
	}
	if _, err := nextVersion("beta", "beta", "patch"); err == nil {
		t.Error("a version that is not a number was raised")
	}
	for _, c := range []struct{ in, want string }{
		{"name: x\nversion: 1.0.0 # ours\nstatus: draft\n", "name: x\nversion: 1.0.1 # ours\nstatus: draft\n"},
		{"name: x\nversion: '1.0.0'\n", "name: x\nversion: '1.0.1'\n"},
		{"# c\nname: x\nstatus: draft\n", "# c\nname: x\nversion: 1.0.1\nstatus: draft\n"},
	} {
		if got, err := setVersion([]byte(c.in), "1.0.1"); err != nil || string(got) != c.want {
			t.Errorf("setVersion(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
}

func init() {
	openapi3filter.RegisterBodyDecoder("application/yaml", openapi3filter.FileBodyDecoder)
}

// openAPIWorkbench calls each workbench endpoint through TestOpenAPI's
// checking client, as an author added to its workspace.
func openAPIWorkbench(t *testing.T, e *testEnv, client *http.Client) {
	t.Helper()
	cfg := filepath.Join(e.ws, "erpipe.yaml")
	y := string(mustRead(t, cfg)) + fmt.Sprintf("    - {name: wb, token_sha256: %s, role: author}\n", HashToken("wb-token"))
	if err := os.WriteFile(cfg, []byte(y), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	call := func(method, path, ctype string, body io.Reader, hdr ...string) (int, []byte) {
		t.Helper()
		req, _ := http.NewRequest(method, e.srv.URL+path, body)
		req.Header.Set("Authorization", "Bearer wb-token")
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
		}
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	call("GET", "/api/v1/template-schema", "", nil)
	call("GET", "/api/v1/templates/customers-v3/source", "", nil)
	code, b := call("POST", "/api/v1/templates/customers-v3/derive", "application/json", strings.NewReader(`{"name":"spec-acme"}`))
	var v sourceView
	if code != 201 || json.Unmarshal(b, &v) != nil {
		t.Fatalf("derive: %d %s", code, b)
	}
	call("POST", "/api/v1/templates/customers-v3/derive", "application/json", strings.NewReader(`{"name":"spec-acme"}`))
	edit := acmeEdit(v.Text, "spec")
	call("POST", "/api/v1/templates/spec-acme/validate", "application/yaml", strings.NewReader(edit))
	call("POST", "/api/v1/templates/spec-acme/validate", "application/yaml", strings.NewReader(edit+"  colum: x\n"))
	call("POST", "/api/v1/templates/spec-acme/diff", "application/yaml", strings.NewReader(edit))
	call("POST", "/api/v1/templates/spec-acme/test", "application/yaml", strings.NewReader(edit))
	body, ctype := runForm(t, edit, "customers.csv", sample(t))
	if code, b := call("POST", "/api/v1/templates/spec-acme/run?rows=2", ctype, body); code != 200 {
		t.Errorf("run: %d %s", code, b)
	}
	body, ctype = runForm(t, edit, "", nil)
	if code, b := call("POST", "/api/v1/templates/spec-acme/run?rows=2&sample=customers.csv", ctype, body); code != 200 {
		t.Errorf("run on its own sample: %d %s", code, b)
	}
	call("PUT", "/api/v1/templates/spec-acme", "application/yaml", strings.NewReader(edit+"  colum: x\n"))
	if code, b := call("PUT", "/api/v1/templates/spec-acme?bump=minor", "application/yaml", strings.NewReader(edit), "If-Match", `"`+v.SHA256+`"`); code != 200 {
		t.Errorf("save: %d %s", code, b)
	}
}

// How long one check takes, as the editor makes it while its user types
// (logged; over 3 s a check would make typing feel stuck):
// a derived customers-v3 with an edit, and the largest built-ins.
func TestWorkbenchValidateLatency(t *testing.T) {
	e := wbEnv(t)
	v := e.derive("customers-acme")
	for _, c := range []struct{ name, text string }{
		{"customers-acme", acmeEdit(v.Text, "x")},
		{"peppol-invoice", ""},
		{"saft-no", ""},
	} {
		const n = 20
		start := time.Now()
		for range n {
			code, _, body := e.do("POST", "/api/v1/templates/"+c.name+"/validate", "operator-token", strings.NewReader(c.text))
			if code != 200 || !bytes.Contains(body, []byte(`"valid":true`)) {
				t.Fatalf("validate %s: %d %s", c.name, code, body)
			}
		}
		each := time.Since(start) / n
		t.Logf("validate %s: %v a check", c.name, each)
		if each > 3*time.Second {
			t.Errorf("validate %s takes %v a check", c.name, each)
		}
	}
}
