package api

// The template workbench (issue 19, item 5): what the console's template
// pages call to look at a template with its keys explained, derive a new
// workspace template from a built-in, check an edit as it is typed, run
// it on a sample with each value's lineage, run its test cases, compare
// it with its base, and save it with a version bump.
//
// An edit is always checked in the place it is saved to (the template's
// folder, through template.DirFS, as the daemon loads it), so that the
// problems, the runs and the diff are those the daemon would have; a
// template that does not load is never written.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/erpipe/erpipe/templates"
	"github.com/erpipe/erpipe/transform"
	"github.com/erpipe/erpipe/transform/template"
	"github.com/erpipe/erpipe/transform/templatetest"
	"github.com/erpipe/erpipe/workspace"
)

// maxTemplateText is the largest template text the workbench takes (the
// largest built-in is about 60 KB).
const maxTemplateText = 1 << 20

// templateNameRE is what a new template may be called: a plain folder
// name.
var templateNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$`)

// workbenchMu makes derives and saves one at a time.
var workbenchMu sync.Mutex

func (a *API) workbenchRoutes() []route {
	return []route{
		{pattern: "GET /api/v1/template-schema", role: viewer, h: a.templateSchema},
		{pattern: "GET /api/v1/templates/{name}/source", role: viewer, h: a.templateSource},
		// Checking, comparing and running an edit write nothing; they are
		// POSTs (the edit is the body), which are an operator's, as a
		// preview is.
		{pattern: "POST /api/v1/templates/{name}/validate", role: operator, h: a.validateTemplate},
		{pattern: "POST /api/v1/templates/{name}/diff", role: operator, h: a.diffTemplate},
		{pattern: "POST /api/v1/templates/{name}/run", role: operator, h: a.runTemplate},
		{pattern: "POST /api/v1/templates/{name}/test", role: operator, h: a.testTemplate},
		{pattern: "POST /api/v1/templates/{name}/derive", role: author, h: a.deriveTemplate},
		{pattern: "PUT /api/v1/templates/{name}", role: author, h: a.saveTemplate},
	}
}

// mayAuthor answers 403 unless the caller may change templates.
func (a *API) mayAuthor(w http.ResponseWriter, c *caller) bool {
	return a.require(w, c, workspace.RoleAuthor)
}

// place is where a template is: the folder it is loaded from and its
// file there.
type place struct {
	name    string
	builtin bool
	fsys    fs.FS  // the template's folder
	file    string // its file in fsys
	display string // how the loader names it: the file on disk, or builtin:NAME/template.yaml
	disk    string // the file on disk; "" for a built-in
	rel     string // the file as people see it: templates/NAME/template.yaml, or builtin:...
}

// place finds the template of the path's {name}: only the names the
// workspace lists, never a path.
func (a *API) place(w http.ResponseWriter, r *http.Request) (place, bool) {
	name := r.PathValue("name")
	ws := a.svc.Workspace()
	if !slices.Contains(ws.TemplateNames(), name) {
		writeError(w, http.StatusNotFound, "no_template", fmt.Sprintf("no template %q; list them with GET /api/v1/templates", name))
		return place{}, false
	}
	if p := ws.TemplateFile(name); p != "" {
		rel, err := filepath.Rel(ws.Root, p)
		if err != nil {
			rel = filepath.Base(p)
		}
		return place{name: name, fsys: template.DirFS(filepath.Dir(p)), file: filepath.Base(p), display: p, disk: p, rel: filepath.ToSlash(rel)}, true
	}
	sub, err := fs.Sub(templates.FS(), name)
	if err != nil {
		a.internalError(w, r, err)
		return place{}, false
	}
	d := "builtin:" + name + "/template.yaml"
	return place{name: name, builtin: true, fsys: sub, file: "template.yaml", display: d, rel: d}, true
}

// saved is the template's text as it is now.
func (p place) saved() ([]byte, error) {
	if p.disk != "" {
		return os.ReadFile(p.disk)
	}
	return fs.ReadFile(p.fsys, p.file)
}

// with is the template's folder with text in place of its file.
func (p place) with(text []byte) fs.FS { return editFS{FS: p.fsys, name: p.file, text: text} }

// load loads text as the template's file, in its folder.
func (p place) load(text []byte) (*transform.Template, error) {
	return transform.LoadText(p.with(text), p.file, p.display, text)
}

// shown makes a message name files as people see them (templates/...,
// not the server's folders).
func (a *API) shown(s string) string {
	return strings.ReplaceAll(s, a.svc.Workspace().Root+string(filepath.Separator), "")
}

// problemView is one problem of a template: what erpipe templates
// validate prints (Text), and its parts.
type problemView struct {
	Line    int    `json:"line,omitempty"`
	Col     int    `json:"col,omitempty"`
	Message string `json:"message"`
	Hint    string `json:"hint,omitempty"` // the did-you-mean suggestion, when there is one
	Text    string `json:"text"`           // file:line:col: message
}

var didYouMean = regexp.MustCompile(`did you mean "([^"]+)"`)

func (a *API) problem(e *template.PosError) problemView {
	e = &template.PosError{File: a.shown(e.File), Line: e.Line, Col: e.Col, Msg: a.shown(e.Msg)}
	v := problemView{Line: e.Line, Col: e.Col, Message: e.Msg, Text: e.Error()}
	if m := didYouMean.FindStringSubmatch(e.Msg); m != nil {
		v.Hint = m[1]
	}
	return v
}

// check loads text in the template's place and returns it, or every
// problem: the loader's, and the workbench's own (the name, extends:).
func (a *API) check(p place, text []byte) (*transform.Template, []problemView) {
	var out []problemView
	t, err := p.load(text)
	if err != nil {
		var es template.Errors
		var pe *template.PosError
		switch {
		case errors.As(err, &es):
			for _, e := range es {
				out = append(out, a.problem(e))
			}
		case errors.As(err, &pe):
			out = append(out, a.problem(pe))
		default:
			out = append(out, a.problem(&template.PosError{File: p.display, Msg: template.PathCause(err).Error()}))
		}
	}
	var root yaml.Node
	if yaml.Unmarshal(text, &root) != nil || len(root.Content) == 0 || root.Content[0].Kind != yaml.MappingNode {
		return nil, out
	}
	doc := root.Content[0]
	// A base is named, not reached by a path: a path could lead the
	// loader to a file outside the workspace's templates.
	if ext, _ := template.MapGet(doc, "extends"); ext != nil {
		n := ext
		if ext.Kind == yaml.MappingNode {
			n, _ = template.MapGet(ext, "template")
		}
		if n != nil && n.Kind == yaml.ScalarNode && (strings.ContainsAny(n.Value, `/\`) || strings.HasSuffix(n.Value, ".yaml") || strings.HasSuffix(n.Value, ".yml")) {
			out = append(out, a.problem(&template.PosError{File: p.display, Line: n.Line, Col: n.Column,
				Msg: fmt.Sprintf("extends: %q is a path; in the console, name the base template (a built-in such as customers-v3, or a workspace template)", n.Value)}))
		}
	}
	if t != nil && t.Name != p.name {
		line, col := 1, 1
		if v, _ := template.MapGet(doc, "name"); v != nil {
			line, col = v.Line, v.Column
		}
		out = append(out, a.problem(&template.PosError{File: p.display, Line: line, Col: col,
			Msg: fmt.Sprintf("name: the template is called %q here and %q in the workspace (its file); keep name: %s", t.Name, p.name, p.name)}))
	}
	if len(out) > 0 {
		slices.SortStableFunc(out, func(x, y problemView) int {
			if x.Line != y.Line {
				return x.Line - y.Line
			}
			return x.Col - y.Col
		})
		return nil, out
	}
	return t, nil
}

// placeAndText finds the template of the path's {name} and reads the
// request's body as its text (what validate, diff and test take).
func (a *API) placeAndText(w http.ResponseWriter, r *http.Request) (place, []byte, bool) {
	p, ok := a.place(w, r)
	if !ok {
		return place{}, nil, false
	}
	text, ok := a.readText(w, r, p)
	return p, text, ok
}

// readText reads a request's body as template text, at most
// maxTemplateText bytes; empty is the template as saved.
func (a *API) readText(w http.ResponseWriter, r *http.Request, p place) ([]byte, bool) {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxTemplateText))
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		writeError(w, http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("the template is larger than %d bytes, the most the workbench takes", maxTemplateText))
		return nil, false
	case err != nil:
		writeError(w, http.StatusBadRequest, "truncated", "the template text could not be read: "+err.Error())
		return nil, false
	case len(b) == 0:
		if b, err = p.saved(); err != nil {
			a.internalError(w, r, err)
			return nil, false
		}
	}
	return b, true
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// templateSchema serves the JSON Schema of template files: each key
// with its description, for the editor's explanations.
func (a *API) templateSchema(w http.ResponseWriter, r *http.Request, c *caller) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(template.Schema())
}

type sourceView struct {
	Name        string   `json:"name"`
	Source      string   `json:"source"` // built-in or workspace
	File        string   `json:"file"`   // templates/NAME/template.yaml, or builtin:NAME/template.yaml
	Editable    bool     `json:"editable"`
	MaySave     bool     `json:"may_save"`   // editable, and the caller is an author
	MayDerive   bool     `json:"may_derive"` // a built-in, and the caller is an author
	MayTry      bool     `json:"may_try"`    // the caller may check, run, test and compare edits (operator)
	Extends     string   `json:"extends,omitempty"`
	Version     string   `json:"version,omitempty"`
	Status      string   `json:"status,omitempty"`
	Description string   `json:"description,omitempty"`
	SHA256      string   `json:"sha256"` // of the text, for If-Match when saving
	Text        string   `json:"text"`
	Samples     []string `json:"samples"`            // the files of its samples/ folder, to run it on
	Problems    []string `json:"problems,omitempty"` // why it does not load as saved
}

func (a *API) source(p place, c *caller) (sourceView, error) {
	text, err := p.saved()
	if err != nil {
		return sourceView{}, err
	}
	author := c.role.AtLeast(workspace.RoleAuthor)
	v := sourceView{Name: p.name, Source: "workspace", File: p.rel, Editable: !p.builtin, MaySave: !p.builtin && author,
		MayDerive: p.builtin && author, MayTry: c.role.AtLeast(workspace.RoleOperator), Extends: extendsOf(text), SHA256: sha(text), Text: string(text),
		Samples: p.samples()}
	if p.builtin {
		v.Source = "built-in"
	}
	t, probs := a.check(p, text)
	if t != nil {
		v.Version, v.Status, v.Description = t.Version, t.Status, t.Description
	}
	for _, pr := range probs {
		v.Problems = append(v.Problems, pr.Text)
	}
	return v, nil
}

func (a *API) templateSource(w http.ResponseWriter, r *http.Request, c *caller) {
	p, ok := a.place(w, r)
	if !ok {
		return
	}
	v, err := a.source(p, c)
	if err != nil {
		a.internalError(w, r, err)
		return
	}
	w.Header().Set("ETag", `"`+v.SHA256+`"`)
	writeJSON(w, http.StatusOK, v)
}

// extendsOf is the base a template's text names in extends:, or "".
func extendsOf(text []byte) string {
	var root yaml.Node
	if yaml.Unmarshal(text, &root) != nil || len(root.Content) == 0 {
		return ""
	}
	ext, _ := template.MapGet(root.Content[0], "extends")
	if ext != nil && ext.Kind == yaml.MappingNode {
		ext, _ = template.MapGet(ext, "template")
	}
	if ext == nil || ext.Kind != yaml.ScalarNode {
		return ""
	}
	return ext.Value
}

type validationView struct {
	Valid    bool          `json:"valid"`
	Problems []problemView `json:"problems"`
	Name     string        `json:"name,omitempty"`
	Version  string        `json:"version,omitempty"`
	Status   string        `json:"status,omitempty"`
}

// validateTemplate checks the body as the template's text, as erpipe
// templates validate does: 200 with the problems, if any.
func (a *API) validateTemplate(w http.ResponseWriter, r *http.Request, c *caller) {
	p, text, ok := a.placeAndText(w, r)
	if !ok {
		return
	}
	t, probs := a.check(p, text)
	v := validationView{Valid: t != nil, Problems: append([]problemView{}, probs...)}
	if t != nil {
		v.Name, v.Version, v.Status = t.Name, t.Version, t.Status
	}
	writeJSON(w, http.StatusOK, v)
}

// invalid answers 422 with the problems of a template.
func invalid(w http.ResponseWriter, what string, probs []problemView) {
	var e apiError
	e.Error.Code = "invalid_template"
	e.Error.Message = fmt.Sprintf("%s: the template has %d problems, the first: %s", what, len(probs), probs[0].Text)
	writeJSON(w, http.StatusUnprocessableEntity, struct {
		apiError
		Problems []problemView `json:"problems"`
	}{e, probs})
}

type changeView struct {
	Kind    string `json:"kind"` // added, removed or changed
	Path    string `json:"path"`
	Old     string `json:"old,omitempty"`
	New     string `json:"new,omitempty"`
	OldLine int    `json:"old_line,omitempty"`
	NewLine int    `json:"new_line,omitempty"`
}

// diffTemplate compares the body (or the saved text) with its base: the
// template extends: names, else the template as saved.
func (a *API) diffTemplate(w http.ResponseWriter, r *http.Request, c *caller) {
	p, text, ok := a.placeAndText(w, r)
	if !ok {
		return
	}
	if _, probs := a.check(p, text); len(probs) > 0 {
		invalid(w, "diff", probs)
		return
	}
	// The base, as extends: finds it: a template beside, or a built-in.
	var bfs fs.FS
	var bname, bdisplay, against string
	if base := extendsOf(text); base != "" {
		ws := a.svc.Workspace()
		if bp := ws.TemplateFile(base); bp != "" && !strings.ContainsAny(base, `/\`) {
			bfs, bname, bdisplay = template.DirFS(filepath.Dir(bp)), filepath.Base(bp), bp
			against = "workspace template " + base
		} else {
			bfs, bname, bdisplay = templates.FS(), base+"/template.yaml", "builtin:"+base+"/template.yaml"
			against = "built-in " + base
		}
	} else {
		bfs, bname, bdisplay = p.fsys, p.file, p.display
		against = "the saved " + p.rel
	}
	changes, err := template.DiffFS(bfs, bname, bdisplay, p.with(text), p.file, p.display)
	if err != nil {
		writeError(w, http.StatusUnprocessableEntity, "diff_failed", a.shown(err.Error()))
		return
	}
	out := []changeView{}
	for _, ch := range changes {
		out = append(out, changeView{Kind: ch.Kind, Path: ch.Path, Old: ch.Old, New: ch.New, OldLine: ch.OldLine, NewLine: ch.NewLine})
	}
	writeJSON(w, http.StatusOK, map[string]any{"against": against, "changes": out})
}

type caseView struct {
	Name    string `json:"name"`
	Input   string `json:"input"` // the input file, beside the template
	Pass    bool   `json:"pass"`
	Updated bool   `json:"updated,omitempty"` // update=true wrote what it makes now as expected
	Diff    string `json:"diff,omitempty"`
}

// testTemplate runs the template's test cases (erpipe templates test),
// with the body as its text when there is one; nothing is written. With
// update=true (an author's, on the saved text only) the failing cases'
// expected results become what the template makes now (--update).
func (a *API) testTemplate(w http.ResponseWriter, r *http.Request, c *caller) {
	update := r.URL.Query().Get("update") == "true"
	if update && !a.mayAuthor(w, c) {
		return
	}
	p, text, ok := a.placeAndText(w, r)
	if !ok {
		return
	}
	if update {
		if p.disk == "" {
			writeError(w, http.StatusConflict, "builtin", fmt.Sprintf("%s is a built-in template; its expected results are part of erpipe", p.name))
			return
		}
		workbenchMu.Lock()
		defer workbenchMu.Unlock()
		if saved, err := p.saved(); err != nil || !bytes.Equal(saved, text) {
			writeError(w, http.StatusConflict, "not_saved", "the expected results are rewritten from the template as saved: save the edit first, then accept its results")
			return
		}
	}
	t, probs := a.check(p, text)
	if len(probs) > 0 {
		invalid(w, "test", probs)
		return
	}
	out := []caseView{}
	if p.disk == "" {
		writeJSON(w, http.StatusOK, map[string]any{"cases": out, "passed": 0, "failed": 0,
			"note": "a built-in's test cases are not in the erpipe binary; derive a template to have cases of your own"})
		return
	}
	cases, err := templatetest.Cases(t, p.disk)
	if err != nil {
		writeError(w, http.StatusUnprocessableEntity, "bad_cases", a.shown(err.Error()))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Minute)
	defer cancel()
	passed, failed := 0, 0
	for _, tc := range cases {
		// A case's input is read through the template's folder: a link
		// out of it (samples/ is listed from the disk) is not run.
		rel, _ := filepath.Rel(filepath.Dir(p.disk), tc.Input)
		if f, err := p.fsys.Open(filepath.ToSlash(rel)); err != nil {
			out = append(out, caseView{Name: tc.Name, Input: filepath.ToSlash(rel), Diff: fmt.Sprintf("the input %s is not run: %v", filepath.ToSlash(rel), template.PathCause(err))})
			failed++
			continue
		} else {
			f.Close()
		}
		o, err := templatetest.Run(ctx, t, tc, update)
		if err != nil {
			a.internalError(w, r, err)
			return
		}
		out = append(out, caseView{Name: tc.Name, Input: filepath.ToSlash(rel), Pass: o.Pass, Updated: o.Updated, Diff: a.shown(o.Diff)})
		if o.Pass {
			passed++
		} else {
			failed++
		}
	}
	v := map[string]any{"cases": out, "passed": passed, "failed": failed}
	if len(cases) == 0 {
		v["note"] = "the template has no test cases: add files to its samples/ folder, testdata/cases/, or a tests: key"
	}
	writeJSON(w, http.StatusOK, v)
}

type lineageView struct {
	Column  string          `json:"column"`
	Expr    string          `json:"expr"`
	Via     []string        `json:"via,omitempty"`
	Inputs  []inputCellView `json:"inputs"`
	Lookups []lookupView    `json:"lookups,omitempty"`
}

type inputCellView struct {
	Field  string `json:"field"`
	Column string `json:"column"`
	Sheet  string `json:"sheet,omitempty"`
	Row    int    `json:"row"`
	Col    int    `json:"col"` // 0: the column is missing from the file
	Text   string `json:"text"`
}

type lookupView struct {
	Table string `json:"table"`
	Key   string `json:"key"`
	Found bool   `json:"found"`
	Value string `json:"value,omitempty"`
}

type runRow struct {
	Row     int             `json:"row,omitempty"`
	Values  [][]string      `json:"values,omitempty"`  // per output table
	Lineage [][]lineageView `json:"lineage,omitempty"` // per output table and column, as Values
	Errors  []string        `json:"errors,omitempty"`  // why the row is left out
}

// runTemplate runs the template (the multipart part "template", else as
// saved) on the first rows of the part "sample", or of its own sample
// ?sample=NAME (samples/NAME beside it), writing nothing, and says where
// each value came from (erpipe templates preview --explain).
func (a *API) runTemplate(w http.ResponseWriter, r *http.Request, c *caller) {
	p, ok := a.place(w, r)
	if !ok {
		return
	}
	rows := 20
	if s := r.URL.Query().Get("rows"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 1000 {
			writeError(w, http.StatusBadRequest, "bad_rows", fmt.Sprintf("rows %q: give a number from 1 to 1000", s))
			return
		}
		rows = n
	}
	limit := a.config().UploadLimit()
	r.Body = http.MaxBytesReader(w, r.Body, limit+maxTemplateText+64<<10)
	mr, err := r.MultipartReader()
	if err != nil {
		writeError(w, http.StatusBadRequest, "bad_form", "send multipart/form-data with the parts template (optional: the text to run) and sample (the file)")
		return
	}
	var text []byte
	sample := ""
	defer func() {
		if sample != "" {
			a.svc.DiscardUpload(sample)
		}
	}()
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			a.formError(w, err)
			return
		}
		switch part.FormName() {
		case "template":
			if text, err = io.ReadAll(io.LimitReader(part, maxTemplateText+1)); err != nil {
				a.formError(w, err)
				return
			}
			if len(text) > maxTemplateText {
				writeError(w, http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("the template is larger than %d bytes, the most the workbench takes", maxTemplateText))
				return
			}
		case "sample":
			if sample != "" {
				writeError(w, http.StatusBadRequest, "bad_form", "send one sample")
				return
			}
			name, err := safeName(part.FileName())
			if err != nil {
				writeError(w, http.StatusBadRequest, "bad_name", err.Error())
				return
			}
			if sample, err = a.svc.NewUploadFile(name); err != nil {
				a.internalError(w, r, err)
				return
			}
			if err := copyFile(sample, io.LimitReader(part, limit+1), limit); err != nil {
				a.formError(w, err)
				return
			}
		}
		part.Close()
	}
	if own := r.URL.Query().Get("sample"); own != "" && sample == "" {
		if sample, ok = a.ownSample(w, r, p, own, limit); !ok {
			return
		}
	}
	if sample == "" {
		writeError(w, http.StatusBadRequest, "no_sample", "send the sample file as the part sample of a multipart/form-data body, or name one of the template's samples with ?sample=")
		return
	}
	if len(text) == 0 {
		if text, err = p.saved(); err != nil {
			a.internalError(w, r, err)
			return
		}
	}
	t, probs := a.check(p, text)
	if len(probs) > 0 {
		invalid(w, "run", probs)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Minute)
	defer cancel()
	name := filepath.Base(sample)
	prev, res, err := t.Preview(ctx, sample, rows)
	var why [][]transform.ColumnExplanation
	if err == nil {
		why, err = t.Explain(ctx, sample, prev)
	}
	if err != nil {
		writeError(w, http.StatusUnprocessableEntity, "run_failed", fmt.Sprintf("template %s cannot read %s: %s", p.name, name, a.shown(err.Error())))
		return
	}
	cols := t.Columns()
	out := []runRow{}
	written := 0
	for i, pr := range prev {
		rr := runRow{Row: pr.Pos.Row, Values: pr.Values}
		for _, e := range pr.Errors {
			rr.Errors = append(rr.Errors, e.Error())
		}
		if pr.Values != nil {
			written++
			rr.Lineage = make([][]lineageView, len(pr.Values))
			for ti := range pr.Values {
				rr.Lineage[ti] = make([]lineageView, len(pr.Values[ti]))
			}
			if i < len(why) {
				for _, e := range why[i] {
					if e.Table >= len(cols) {
						continue
					}
					ci := slices.Index(cols[e.Table], e.Column)
					if ci < 0 || ci >= len(rr.Lineage[e.Table]) {
						continue
					}
					rr.Lineage[e.Table][ci] = lineage(e)
				}
			}
		}
		out = append(out, rr)
	}
	warnings := []string{}
	read, rejected, skipped := 0, 0, 0
	if res != nil {
		for _, w := range res.Warnings {
			warnings = append(warnings, fmt.Sprint(w))
		}
		read, rejected, skipped = res.Read, res.Rejected, res.Skipped
	}
	writeJSON(w, http.StatusOK, map[string]any{"template": p.name, "version": t.Version, "sample": name,
		"tables": t.TableNames(), "columns": cols, "rows": out, "warnings": warnings,
		"read": read, "written": written, "rejected": rejected, "skipped": skipped})
}

// samples are the names of the files in the template's samples/ folder
// (plain files only: a link there is not offered).
func (p place) samples() []string {
	entries, _ := fs.ReadDir(p.fsys, "samples")
	out := []string{}
	for _, e := range entries {
		if e.Type().IsRegular() && !strings.HasPrefix(e.Name(), ".") {
			out = append(out, e.Name())
		}
	}
	return out
}

// ownSample copies the template's sample name (of its samples/ folder,
// read through the folder's confined file system) into a new upload file.
func (a *API) ownSample(w http.ResponseWriter, r *http.Request, p place, name string, limit int64) (string, bool) {
	if !slices.Contains(p.samples(), name) {
		writeError(w, http.StatusNotFound, "no_sample", fmt.Sprintf("template %s has no sample %q (its samples: %s)", p.name, name, strings.Join(p.samples(), ", ")))
		return "", false
	}
	f, err := p.fsys.Open(path.Join("samples", name))
	if err != nil {
		writeError(w, http.StatusNotFound, "no_sample", fmt.Sprintf("template %s's sample %s cannot be read: %v", p.name, name, template.PathCause(err)))
		return "", false
	}
	defer f.Close()
	dst, err := a.svc.NewUploadFile(name)
	if err != nil {
		a.internalError(w, r, err)
		return "", false
	}
	if err := copyFile(dst, io.LimitReader(f, limit+1), limit); err != nil {
		a.svc.DiscardUpload(dst)
		a.formError(w, err)
		return "", false
	}
	return dst, true
}

func lineage(e transform.ColumnExplanation) lineageView {
	v := lineageView{Column: e.Column, Expr: e.Expr, Via: e.Via, Inputs: []inputCellView{}}
	for _, in := range e.Inputs {
		v.Inputs = append(v.Inputs, inputCellView{Field: in.Field, Column: in.Column, Sheet: in.Pos.Sheet, Row: in.Pos.Row, Col: in.Pos.Col, Text: in.Text})
	}
	for _, l := range e.Lookups {
		v.Lookups = append(v.Lookups, lookupView{Table: l.Table, Key: l.Key, Found: l.Found, Value: l.Value})
	}
	return v
}

var errSampleTooLarge = errors.New("the sample is larger than the upload limit")

// copyFile writes r into the new file path, failing past limit bytes.
func copyFile(path string, r io.Reader, limit int64) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	n, err := io.Copy(f, r)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil && n > limit {
		err = errSampleTooLarge
	}
	return err
}

// formError answers the failure to read a multipart body.
func (a *API) formError(w http.ResponseWriter, err error) {
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) || errors.Is(err, errSampleTooLarge) {
		writeError(w, http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("the sample is larger than %d bytes, the most this erpipe takes (http: max_upload in erpipe.yaml)", a.config().UploadLimit()))
		return
	}
	writeError(w, http.StatusBadRequest, "bad_form", "the form could not be read: "+err.Error())
}

// deriveTemplate makes a new workspace template from a built-in: a folder
// templates/NEW/ with template.yaml (extends: the built-in, at its
// version; a draft, version 1.0.0), the built-in's samples, and as the
// samples' expected results what the built-in makes of them now, so that
// the new template's test cases show what an edit changes.
func (a *API) deriveTemplate(w http.ResponseWriter, r *http.Request, c *caller) {
	if !a.mayAuthor(w, c) {
		return
	}
	p, ok := a.place(w, r)
	if !ok {
		return
	}
	var req struct {
		Name        string `json:"name"`
		Description string `json:"description"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 8<<10)).Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, "bad_request", `send {"name": "the new template's name"} as JSON`)
		return
	}
	if !p.builtin || !slices.Contains(templates.Names(), p.name) {
		writeError(w, http.StatusUnprocessableEntity, "not_builtin", fmt.Sprintf("%s is a workspace template; derive from a built-in (%s), or edit %s itself", p.name, strings.Join(templates.Names(), ", "), p.name))
		return
	}
	if !templateNameRE.MatchString(req.Name) {
		writeError(w, http.StatusBadRequest, "bad_name", fmt.Sprintf("the name %q is not a template name: use letters, digits, - and _ (at most 64), starting with a letter or digit, such as customers-acme", req.Name))
		return
	}
	workbenchMu.Lock()
	defer workbenchMu.Unlock()
	ws := a.svc.Workspace()
	if slices.Contains(ws.TemplateNames(), req.Name) {
		writeError(w, http.StatusConflict, "exists", fmt.Sprintf("there is already a template %s; choose another name", req.Name))
		return
	}
	base, err := templates.Load(p.name)
	if err != nil {
		a.internalError(w, r, err)
		return
	}
	text := deriveText(base, req.Name, req.Description, c.who(), time.Now())
	tmp, err := os.MkdirTemp(mkdir(ws.Temp()), "derive-")
	if err != nil {
		a.internalError(w, r, err)
		return
	}
	defer os.RemoveAll(tmp)
	dir := filepath.Join(tmp, req.Name)
	notes, err := writeDerived(r.Context(), dir, p.name, text)
	if err != nil {
		a.internalError(w, r, err)
		return
	}
	tdir := filepath.Join(ws.Root, "templates")
	if err := os.MkdirAll(tdir, 0o755); err != nil {
		a.internalError(w, r, err)
		return
	}
	if err := os.Rename(dir, filepath.Join(tdir, req.Name)); err != nil {
		writeError(w, http.StatusConflict, "exists", fmt.Sprintf("templates/%s could not be made: %v", req.Name, err))
		return
	}
	a.log.Info("template derived in the workbench", "template", req.Name, "from", p.name, "client", c.name)
	np := place{name: req.Name, fsys: template.DirFS(filepath.Join(tdir, req.Name)), file: "template.yaml",
		display: filepath.Join(tdir, req.Name, "template.yaml"), disk: filepath.Join(tdir, req.Name, "template.yaml"),
		rel: "templates/" + req.Name + "/template.yaml"}
	v, err := a.source(np, c)
	if err != nil {
		a.internalError(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/templates/"+req.Name)
	writeJSON(w, http.StatusCreated, struct {
		sourceView
		Notes []string `json:"notes,omitempty"`
	}{v, notes})
}

func mkdir(dir string) string {
	_ = os.MkdirAll(dir, 0o700)
	return dir
}

// deriveText is the template.yaml of a template derived from base.
func deriveText(base *transform.Template, name, description, who string, now time.Time) []byte {
	if description == "" {
		description = base.Description
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "# %s: derived from the built-in %s (version %s) in the erpipe console by %s\n", name, base.Name, base.Version, who)
	fmt.Fprintf(&b, "# on %s. It is %s with what this file says merged in: add keys\n", now.UTC().Format("2006-01-02"), base.Name)
	b.WriteString("# to change the base's parts; list the parts to leave out under remove\n")
	b.WriteString("# (see \"Derived templates\" in docs/templates.md).\n")
	fmt.Fprintf(&b, "extends:\n  template: %s\n  version: %s\n", base.Name, yamlScalar(base.Version))
	fmt.Fprintf(&b, "name: %s\nversion: 1.0.0\nstatus: draft\n", name)
	if description != "" {
		fmt.Fprintf(&b, "description: %s\n", yamlScalar(description))
	}
	return b.Bytes()
}

// yamlScalar writes s as a YAML scalar, quoted when needed.
func yamlScalar(s string) string {
	out, err := yaml.Marshal(s)
	if err != nil {
		return strconv.Quote(s)
	}
	return strings.TrimSuffix(string(out), "\n")
}

// writeDerived writes a derived template into dir: its text, the base's
// samples, and their expected results.
func writeDerived(ctx context.Context, dir, base string, text []byte) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	file := filepath.Join(dir, "template.yaml")
	if err := os.WriteFile(file, text, 0o644); err != nil {
		return nil, err
	}
	samples := templates.Samples(base)
	if len(samples) == 0 {
		return nil, nil
	}
	if err := os.MkdirAll(filepath.Join(dir, "samples"), 0o755); err != nil {
		return nil, err
	}
	for _, s := range samples {
		b, err := fs.ReadFile(templates.FS(), s)
		if err != nil {
			return nil, err
		}
		if err := os.WriteFile(filepath.Join(dir, "samples", path.Base(s)), b, 0o644); err != nil {
			return nil, err
		}
	}
	t, err := transform.Load(file)
	if err != nil {
		return nil, fmt.Errorf("the derived template does not load: %w", err)
	}
	cases, err := templatetest.Cases(t, file)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
	defer cancel()
	var notes []string
	for _, tc := range cases {
		// A folder: result.txt and every output (a zip's entries each),
		// as the built-ins keep theirs.
		if err := os.MkdirAll(tc.Expect, 0o755); err != nil {
			return nil, err
		}
		if _, err := templatetest.Run(ctx, t, tc, true); err != nil {
			notes = append(notes, fmt.Sprintf("the expected results of %s could not be recorded: %v", tc.Name, err))
			continue
		}
	}
	return notes, nil
}

// saveTemplate writes the body as the workspace template {name}, once it
// validates in its place, with its version raised: to the version the
// text says when that is above the saved one, else the saved one bumped
// (?bump=patch, the default, minor or major). If-Match, when sent, must
// be the saved text's sha256 (someone else's save in between is not
// overwritten). The daemon takes the new version at once.
func (a *API) saveTemplate(w http.ResponseWriter, r *http.Request, c *caller) {
	if !a.mayAuthor(w, c) {
		return
	}
	p, ok := a.place(w, r)
	if !ok {
		return
	}
	if p.builtin {
		writeError(w, http.StatusConflict, "builtin", fmt.Sprintf("%s is a built-in template, which is part of erpipe; derive a workspace template from it (POST /api/v1/templates/%s/derive) and save that", p.name, p.name))
		return
	}
	bump := r.URL.Query().Get("bump")
	if bump == "" {
		bump = "patch"
	}
	if !slices.Contains([]string{"patch", "minor", "major"}, bump) {
		writeError(w, http.StatusBadRequest, "bad_bump", fmt.Sprintf("bump %q: use patch, minor or major", bump))
		return
	}
	text, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxTemplateText))
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		writeError(w, http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("the template is larger than %d bytes, the most the workbench takes", maxTemplateText))
		return
	case err != nil:
		writeError(w, http.StatusBadRequest, "truncated", "the template text could not be read: "+err.Error())
		return
	case len(bytes.TrimSpace(text)) == 0:
		writeError(w, http.StatusBadRequest, "empty", "send the template's text as the body")
		return
	}
	if _, probs := a.check(p, text); len(probs) > 0 {
		invalid(w, "not saved", probs)
		return
	}
	workbenchMu.Lock()
	defer workbenchMu.Unlock()
	old, err := p.saved()
	if err != nil {
		a.internalError(w, r, err)
		return
	}
	if m := strings.Trim(r.Header.Get("If-Match"), `"`); m != "" && m != sha(old) {
		writeError(w, http.StatusPreconditionFailed, "changed", fmt.Sprintf("%s was saved by someone else since you opened it; open it again (your text is not saved)", p.rel))
		return
	}
	oldT, _ := transform.Load(p.disk)
	prev := rootScalar(old, "version")
	if oldT != nil && oldT.Version != "" {
		prev = oldT.Version
	}
	next, err := nextVersion(prev, rootScalar(text, "version"), bump)
	if err != nil {
		writeError(w, http.StatusUnprocessableEntity, "bad_version", err.Error())
		return
	}
	text, err = setVersion(text, next)
	if err != nil {
		a.internalError(w, r, err)
		return
	}
	t, probs := a.check(p, text)
	if len(probs) > 0 {
		invalid(w, "not saved", probs)
		return
	}
	if err := writeAtomic(p.disk, text); err != nil {
		a.internalError(w, r, err)
		return
	}
	a.log.Info("template saved in the workbench", "template", p.name, "version", t.Version, "previous", prev, "client", c.name)
	v := map[string]any{"name": p.name, "version": t.Version, "previous_version": prev, "status": t.Status, "sha256": sha(text), "file": p.rel, "text": string(text)}
	// The daemon takes it now rather than once the file has settled.
	if err := a.svc.Reload(context.WithoutCancel(r.Context())); err != nil {
		v["reload_error"] = a.shown(err.Error())
	}
	var uses []string
	for _, pl := range a.svc.Workspace().Pipelines {
		if pl.Template.Name == p.name && pl.Template.Version == t.Version {
			uses = append(uses, pl.Name)
		}
	}
	if len(uses) > 0 {
		v["pipelines"] = uses
	}
	writeJSON(w, http.StatusOK, v)
}

// rootScalar is the value of a top-level key of a template's text.
func rootScalar(text []byte, key string) string {
	var root yaml.Node
	if yaml.Unmarshal(text, &root) != nil || len(root.Content) == 0 {
		return ""
	}
	v, _ := template.MapGet(root.Content[0], key)
	if v == nil || v.Kind != yaml.ScalarNode {
		return ""
	}
	return v.Value
}

// nextVersion is the version a save writes: edited when it is above
// saved, else saved bumped.
func nextVersion(saved, edited, bump string) (string, error) {
	if saved == "" {
		saved = "0.0.0"
	}
	s, ok := semver(saved)
	if !ok {
		if edited != "" && edited != saved {
			return edited, nil // the author chose a version of their own
		}
		return "", fmt.Errorf("version: %q is not a version such as 1.2.0, which the workbench can raise; write the new version yourself", saved)
	}
	if e, ok := semver(edited); ok && slices.Compare(e, s) > 0 {
		return edited, nil
	}
	switch bump {
	case "major":
		s[0], s[1], s[2] = s[0]+1, 0, 0
	case "minor":
		s[1], s[2] = s[1]+1, 0
	default:
		s[2]++
	}
	return fmt.Sprintf("%d.%d.%d", s[0], s[1], s[2]), nil
}

// semver reads 1, 1.2 or 1.2.3.
func semver(v string) ([]int, bool) {
	parts := strings.Split(strings.TrimPrefix(v, "v"), ".")
	if len(parts) == 0 || len(parts) > 3 {
		return nil, false
	}
	out := make([]int, 3)
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 {
			return nil, false
		}
		out[i] = n
	}
	return out, true
}

// setVersion writes version into text's top-level version: key, keeping
// everything else as written (comments too); without the key, a line is
// added below name:.
func setVersion(text []byte, version string) ([]byte, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(text, &root); err != nil || len(root.Content) == 0 {
		return nil, fmt.Errorf("the template's YAML cannot be read: %v", err)
	}
	doc := root.Content[0]
	lines := strings.SplitAfter(string(text), "\n")
	v, _ := template.MapGet(doc, "version")
	if v != nil && v.Kind == yaml.ScalarNode && v.Line >= 1 && v.Line <= len(lines) {
		line := lines[v.Line-1]
		start := v.Column - 1
		if start >= 0 && start <= len(line) {
			body := strings.TrimRight(line[start:], "\r\n")
			eol := line[start+len(body):]
			// The scalar's own text: up to a comment.
			end := len(body)
			if i := strings.Index(body, " #"); i >= 0 {
				end = i
			}
			repl := version
			if v.Style == yaml.DoubleQuotedStyle || v.Style == yaml.SingleQuotedStyle {
				q := body[:1]
				if j := strings.Index(body[1:], q); j >= 0 {
					end = j + 2
				}
				repl = q + version + q
			} else {
				end = len(strings.TrimRight(body[:end], " \t"))
			}
			lines[v.Line-1] = line[:start] + repl + body[end:] + eol
			return []byte(strings.Join(lines, "")), nil
		}
	}
	at := 0 // the line after which version: goes
	if n, _ := template.MapGet(doc, "name"); n != nil {
		at = n.Line
	}
	out := append([]string{}, lines[:at]...)
	if at > 0 && !strings.HasSuffix(out[at-1], "\n") {
		out[at-1] += "\n"
	}
	out = append(out, "version: "+version+"\n")
	out = append(out, lines[at:]...)
	return []byte(strings.Join(out, "")), nil
}

// writeAtomic replaces path with data: a temporary file beside it (a
// dotfile, which the daemon does not take for a template), synced, then
// renamed over it, keeping its mode.
func writeAtomic(path string, data []byte) error {
	mode := os.FileMode(0o644)
	if fi, err := os.Stat(path); err == nil {
		mode = fi.Mode().Perm()
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+"-*.tmp")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp, mode)
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}

// editFS is a template's folder with the text of its file replaced.
type editFS struct {
	fs.FS
	name string
	text []byte
}

func (e editFS) Open(name string) (fs.File, error) {
	if name == e.name {
		return &memFile{Reader: bytes.NewReader(e.text), name: name, size: int64(len(e.text))}, nil
	}
	return e.FS.Open(name)
}

func (e editFS) ReadFile(name string) ([]byte, error) {
	if name == e.name {
		return bytes.Clone(e.text), nil
	}
	return fs.ReadFile(e.FS, name)
}

type memFile struct {
	*bytes.Reader
	name string
	size int64
}

func (m *memFile) Stat() (fs.FileInfo, error) { return memInfo{m}, nil }
func (m *memFile) Close() error               { return nil }

type memInfo struct{ m *memFile }

func (i memInfo) Name() string       { return path.Base(i.m.name) }
func (i memInfo) Size() int64        { return i.m.size }
func (i memInfo) Mode() fs.FileMode  { return 0o444 }
func (i memInfo) ModTime() time.Time { return time.Time{} }
func (i memInfo) IsDir() bool        { return false }
func (i memInfo) Sys() any           { return nil }
