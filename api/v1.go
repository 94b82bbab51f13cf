package api

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/erpipe/erpipe/jobs"
	"github.com/erpipe/erpipe/schedule"
	"github.com/erpipe/erpipe/templates"
	"github.com/erpipe/erpipe/transform"
	"github.com/erpipe/erpipe/workspace"
)

// jobView is a job as the API shows it: what a client needs, links to
// what it can fetch, no paths of the server's disk.
type jobView struct {
	ID               string        `json:"id"`
	Pipeline         string        `json:"pipeline"`
	Input            string        `json:"input"`
	InputSHA256      string        `json:"input_sha256,omitempty"`
	InputSize        int64         `json:"input_size"`
	Template         string        `json:"template,omitempty"`
	TemplateVersion  string        `json:"template_version,omitempty"`
	Status           jobs.Status   `json:"status"`
	Final            bool          `json:"final"`
	RowsRead         int           `json:"rows_read"`
	RowsWritten      int           `json:"rows_written"`
	RowsRejected     int           `json:"rows_rejected"`
	Warnings         int           `json:"warnings"`
	Outputs          []outputView  `json:"outputs"`
	Pending          []string      `json:"pending,omitempty"`
	Errors           []string      `json:"errors,omitempty"`
	DeliveryProblems []string      `json:"delivery_problems,omitempty"`
	WarningTexts     []string      `json:"warning_texts,omitempty"`
	Notes            []string      `json:"notes,omitempty"`
	DuplicateOf      string        `json:"duplicate_of,omitempty"`
	RetryOf          string        `json:"retry_of,omitempty"`
	Created          time.Time     `json:"created"`
	Started          *time.Time    `json:"started,omitempty"`
	Finished         *time.Time    `json:"finished,omitempty"`
	Report           string        `json:"report,omitempty"`   // URL of the report, when there is one
	Rejected         string        `json:"rejected,omitempty"` // URL of the rejected rows, when there are
	Schedule         string        `json:"schedule,omitempty"`
	Period           string        `json:"period,omitempty"`
	Progress         *progressView `json:"progress,omitempty"` // how far a running job has read its input
}

type outputView struct {
	Name        string `json:"name"`
	Size        int64  `json:"size"`
	SHA256      string `json:"sha256"`
	Destination string `json:"destination"`
	Download    string `json:"download,omitempty"` // URL, for outputs kept on this machine
}

func viewJob(j *jobs.Job) jobView {
	v := jobView{ID: j.ID, Pipeline: j.Pipeline, Input: j.Input, InputSHA256: j.InputSHA256, InputSize: j.InputSize,
		Template: j.Template, TemplateVersion: j.TemplateVersion, Status: j.Status, Final: j.Status.Final(),
		RowsRead: j.Read, RowsWritten: j.Written, RowsRejected: j.Rejected, Warnings: j.Warnings, Outputs: []outputView{},
		Pending: j.Pending, Errors: j.Errors, DeliveryProblems: j.DeliveryProblems, WarningTexts: j.WarningTexts, Notes: j.Notes,
		DuplicateOf: j.DuplicateOf, RetryOf: j.RetryOf, Created: j.Created}
	if !j.Started.IsZero() {
		v.Started = &j.Started
	}
	if !j.Finished.IsZero() {
		v.Finished = &j.Finished
	}
	base := "/api/v1/jobs/" + url.PathEscape(j.ID)
	if j.Report != "" {
		v.Report = base + "/report"
	}
	if j.Report != "" && j.RejectedFile != "" {
		v.Rejected = base + "/rejected"
	}
	if j.Submission != nil {
		v.Schedule, v.Period = j.Submission.Schedule, j.Submission.Period
	}
	if j.Progress != nil && !j.Status.Final() {
		v.Progress = viewProgress(j)
	}
	for _, o := range j.Outputs {
		ov := outputView{Name: o.Name, Size: o.Size, SHA256: o.SHA256, Destination: o.Destination}
		if localFile(o.Location) != "" {
			ov.Download = base + "/outputs/" + url.PathEscape(o.Name)
		}
		v.Outputs = append(v.Outputs, ov)
	}
	return v
}

// localFile is an output's location when it is a file on this machine.
func localFile(loc string) string {
	if !filepath.IsAbs(loc) {
		return ""
	}
	if fi, err := os.Stat(loc); err != nil || !fi.Mode().IsRegular() {
		return ""
	}
	return loc
}

// meView is who the caller is, for the console: what to show.
type meView struct {
	Name      string         `json:"name,omitempty"` // "" when the API is open
	Role      workspace.Role `json:"role"`
	Pipelines []string       `json:"pipelines"` // none: every pipeline
	May       []string       `json:"may"`       // what the role allows: read, operate, author, admin
	Via       string         `json:"via"`       // token, session or open
	CSRFToken string         `json:"csrf_token,omitempty"`
}

func (a *API) me(w http.ResponseWriter, r *http.Request, c *caller) {
	v := meView{Name: c.name, Role: c.role, Pipelines: c.pipelines, May: []string{}, Via: "token", CSRFToken: c.csrf}
	switch {
	case c.user:
		v.Via = "session"
	case c.name == "":
		v.Via = "open"
	}
	w.Header().Set("Cache-Control", "no-store")
	if v.Pipelines == nil {
		v.Pipelines = []string{}
	}
	for i, what := range []string{"read", "operate", "author", "admin"} {
		if c.role.AtLeast(workspace.Roles[i]) {
			v.May = append(v.May, what)
		}
	}
	writeJSON(w, http.StatusOK, v)
}

type pipelineView struct {
	Name            string   `json:"name"`
	Template        string   `json:"template"`
	TemplateVersion string   `json:"template_version"`
	TemplateStatus  string   `json:"template_status"`
	Description     string   `json:"description,omitempty"`
	FilePatterns    []string `json:"file_patterns,omitempty"`
	Destinations    []string `json:"destinations"`
	AllowDuplicates bool     `json:"allow_duplicates"`
	Upload          string   `json:"upload"` // URL to POST files to
}

func (a *API) listPipelines(w http.ResponseWriter, r *http.Request, c *caller) {
	out := []pipelineView{}
	for _, p := range a.svc.Workspace().Pipelines {
		if !c.may(p.Name) {
			continue
		}
		v := pipelineView{Name: p.Name, Template: p.Template.Name, TemplateVersion: p.Template.Version, TemplateStatus: p.Template.Status,
			Description: p.Template.Description, FilePatterns: p.Inbox.Patterns, Destinations: []string{}, AllowDuplicates: p.AllowDuplicates,
			Upload: "/api/v1/pipelines/" + url.PathEscape(p.Name) + "/jobs"}
		for _, d := range p.Destinations {
			v.Destinations = append(v.Destinations, destKind(d))
		}
		if len(p.Destinations) == 0 {
			v.Destinations = append(v.Destinations, "folder")
		}
		out = append(out, v)
	}
	writeJSON(w, http.StatusOK, map[string]any{"pipelines": out})
}

// upload serves POST /api/v1/pipelines/{pipeline}/jobs: the body is the
// file, streamed to disk, then claimed as a dropped file is.
func (a *API) upload(w http.ResponseWriter, r *http.Request, c *caller) {
	pipeline := r.PathValue("pipeline")
	p := a.svc.Workspace().Pipeline(pipeline)
	if p == nil {
		writeError(w, http.StatusNotFound, "no_pipeline", fmt.Sprintf("no pipeline %q; list them with GET /api/v1/pipelines", pipeline))
		return
	}
	if c.forbid(w, pipeline) {
		return
	}
	name, err := uploadName(r, "")
	if err != nil {
		writeError(w, http.StatusBadRequest, "bad_name", err.Error()+" (or a Content-Disposition filename)")
		return
	}
	if _, err := p.Template.InputFormat(name); err != nil {
		writeError(w, http.StatusUnprocessableEntity, "bad_type", fmt.Sprintf("pipeline %s cannot take a file named %q: %v", pipeline, name, err))
		return
	}
	key := r.Header.Get("Idempotency-Key")
	if len(key) > 200 {
		writeError(w, http.StatusBadRequest, "bad_key", "the Idempotency-Key is longer than 200 characters; use a UUID")
		return
	}
	got, ok := a.receive(w, r, name)
	if !ok {
		return
	}
	job, replayed, ok := a.submit(w, r, jobs.Upload{Pipeline: pipeline, Path: got.path, SHA256: got.sha256, Client: c.name, Key: key})
	if !ok {
		return
	}
	w.Header().Set("Location", "/api/v1/jobs/"+url.PathEscape(job.ID))
	v := viewJob(job)
	if !replayed && v.InputSize == 0 {
		v.InputSize, v.InputSHA256 = got.size, got.sha256 // what was received; the job records them when it starts
	}
	status := http.StatusAccepted
	if replayed {
		w.Header().Set("Idempotency-Replayed", "true")
		status = http.StatusOK
	}
	writeJSON(w, status, v)
}

func (a *API) listJobs(w http.ResponseWriter, r *http.Request, c *caller) {
	q := r.URL.Query()
	limit := 0
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			writeError(w, http.StatusBadRequest, "bad_filter", fmt.Sprintf("limit %q is not a number of jobs", s))
			return
		}
		limit = n
	}
	f, err := jobs.ParseFilter(q.Get("status"), q.Get("pipeline"), q.Get("since"), limit, a.now())
	if err != nil {
		writeError(w, http.StatusBadRequest, "bad_filter", err.Error())
		return
	}
	if f.Pipeline != "" && c.forbid(w, f.Pipeline) {
		return
	}
	if q.Has("page_size") || q.Has("cursor") || q.Has("q") {
		a.pageJobs(w, r, c, f)
		return
	}
	list, err := a.svc.Journal().List(r.Context(), f)
	if err != nil {
		a.internalError(w, r, err)
		return
	}
	out := []jobView{}
	for _, j := range list {
		if c.may(j.Pipeline) {
			out = append(out, viewJob(j))
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"jobs": out})
}

// job finds the job of the path's {id} that the caller may see.
func (a *API) job(w http.ResponseWriter, r *http.Request, c *caller) (*jobs.Job, bool) {
	id := r.PathValue("id")
	j, err := a.svc.Journal().Get(r.Context(), id)
	if err != nil {
		a.jobError(w, r, id, err)
		return nil, false
	}
	if c.forbid(w, j.Pipeline) {
		return nil, false
	}
	return j, true
}

func (a *API) getJob(w http.ResponseWriter, r *http.Request, c *caller) {
	if j, ok := a.job(w, r, c); ok {
		writeJSON(w, http.StatusOK, viewJob(j))
	}
}

func (a *API) jobReport(w http.ResponseWriter, r *http.Request, c *caller) {
	j, ok := a.job(w, r, c)
	if !ok {
		return
	}
	if j.Report == "" {
		writeError(w, http.StatusNotFound, "no_report", fmt.Sprintf("job %s has no report (it is %s); reports are written for jobs that failed or left rows out", j.ID, j.Status))
		return
	}
	serveFile(w, r, j.Report, "text/plain; charset=utf-8")
}

func (a *API) jobRejected(w http.ResponseWriter, r *http.Request, c *caller) {
	j, ok := a.job(w, r, c)
	if !ok {
		return
	}
	if j.Report == "" || j.RejectedFile == "" {
		writeError(w, http.StatusNotFound, "no_rejected", fmt.Sprintf("job %s has no rejected rows", j.ID))
		return
	}
	serveFile(w, r, filepath.Join(filepath.Dir(j.Report), j.RejectedFile), "")
}

func (a *API) jobOutput(w http.ResponseWriter, r *http.Request, c *caller) {
	j, ok := a.job(w, r, c)
	if !ok {
		return
	}
	name := r.PathValue("name")
	for _, o := range j.Outputs {
		if o.Name != name {
			continue
		}
		if p := localFile(o.Location); p != "" {
			serveFile(w, r, p, "")
			return
		}
		writeError(w, http.StatusNotFound, "not_local", fmt.Sprintf("output %s of job %s was delivered to %s, not kept on this machine; fetch it there", name, j.ID, o.Destination))
		return
	}
	writeError(w, http.StatusNotFound, "no_output", fmt.Sprintf("job %s has no output %q; GET /api/v1/jobs/%s lists its outputs", j.ID, name, j.ID))
}

// serveFile serves a file with Range and conditional requests
// (http.ServeContent).
func serveFile(w http.ResponseWriter, r *http.Request, path, ctype string) {
	f, err := os.Open(path)
	if err != nil {
		writeError(w, http.StatusGone, "gone", fmt.Sprintf("the file %s is no longer there (moved or removed on the server)", filepath.Base(path)))
		return
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		writeError(w, http.StatusGone, "gone", fmt.Sprintf("the file %s is no longer there", filepath.Base(path)))
		return
	}
	if ctype != "" {
		w.Header().Set("Content-Type", ctype)
	}
	w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": filepath.Base(path)}))
	http.ServeContent(w, r, filepath.Base(path), fi.ModTime(), f)
}

func (a *API) retryJob(w http.ResponseWriter, r *http.Request, c *caller) {
	j, ok := a.job(w, r, c)
	if !ok {
		return
	}
	if j.Submission != nil {
		a.retrySubmission(w, r, j)
		return
	}
	ws := a.svc.Workspace()
	dst, err := jobs.RetryInput(r.Context(), ws, a.svc.Journal(), j, "HTTP API, client "+c.name)
	var re *jobs.RetryError
	switch {
	case errors.As(err, &re):
		writeError(w, http.StatusConflict, "not_retryable", err.Error())
		return
	case err != nil && dst == "":
		a.internalError(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"retried": j.ID,
		"message": fmt.Sprintf("job %s's input is back in pipeline %s's inbox as %s; the daemon runs it as a new job", j.ID, j.Pipeline, filepath.Base(dst))})
}

func (a *API) retrySubmission(w http.ResponseWriter, r *http.Request, j *jobs.Job) {
	if a.runner == nil {
		writeError(w, http.StatusConflict, "no_schedules", "this erpipe runs no schedules")
		return
	}
	s, err := schedule.Find(a.runner.Schedules(), j.Submission.Schedule)
	if err != nil {
		writeError(w, http.StatusConflict, "not_retryable", fmt.Sprintf("job %s is a run of schedule %s, which erpipe.yaml no longer has", j.ID, j.Submission.Schedule))
		return
	}
	p, err := s.Rule.Parse(j.Submission.Period)
	if err != nil {
		writeError(w, http.StatusConflict, "not_retryable", err.Error())
		return
	}
	again, err := a.runner.Retry(context.WithoutCancel(r.Context()), s, p, j.ID)
	a.answerProduced(w, r, again, err)
}

func (a *API) answerProduced(w http.ResponseWriter, r *http.Request, job *jobs.Job, err error) {
	switch {
	case errors.Is(err, jobs.ErrProduced):
		writeError(w, http.StatusConflict, "produced", err.Error()+"; to send a correction, run the period with force=true")
	case errors.Is(err, jobs.ErrRunning):
		w.Header().Set("Retry-After", "30")
		writeError(w, http.StatusConflict, "running", err.Error())
	case err != nil && job == nil:
		a.internalError(w, r, err)
	default:
		writeJSON(w, http.StatusOK, viewJob(job)) // a failed run is a job that says why
	}
}

type templateView struct {
	Name         string   `json:"name"`
	Version      string   `json:"version,omitempty"`
	Status       string   `json:"status,omitempty"`
	Description  string   `json:"description,omitempty"`
	Source       string   `json:"source"` // built-in or workspace
	FilePatterns []string `json:"file_patterns,omitempty"`
	Error        string   `json:"error,omitempty"`      // why it does not load
	Definition   string   `json:"definition,omitempty"` // the template's YAML (show only)
}

func (a *API) viewTemplate(name string) (templateView, *transform.Template) {
	ws := a.svc.Workspace()
	v := templateView{Name: name, Source: "built-in"}
	if ws.TemplateFile(name) != "" {
		v.Source = "workspace"
	}
	t, err := ws.LoadTemplate(name)
	if err != nil {
		v.Error = err.Error()
		return v, nil
	}
	v.Version, v.Status, v.Description, v.FilePatterns = t.Version, t.Status, t.Description, t.FilePatterns()
	return v, t
}

func (a *API) listTemplates(w http.ResponseWriter, r *http.Request, c *caller) {
	out := []templateView{}
	for _, name := range a.svc.Workspace().TemplateNames() {
		v, _ := a.viewTemplate(name)
		out = append(out, v)
	}
	writeJSON(w, http.StatusOK, map[string]any{"templates": out})
}

// template finds the template of the path's {name}: only the names the
// workspace lists, never a path.
func (a *API) template(w http.ResponseWriter, r *http.Request) (templateView, *transform.Template, bool) {
	name := r.PathValue("name")
	if !slices.Contains(a.svc.Workspace().TemplateNames(), name) {
		writeError(w, http.StatusNotFound, "no_template", fmt.Sprintf("no template %q; list them with GET /api/v1/templates", name))
		return templateView{}, nil, false
	}
	v, t := a.viewTemplate(name)
	return v, t, true
}

func (a *API) showTemplate(w http.ResponseWriter, r *http.Request, c *caller) {
	v, _, ok := a.template(w, r)
	if !ok {
		return
	}
	var def []byte
	if p := a.svc.Workspace().TemplateFile(v.Name); p != "" {
		def, _ = os.ReadFile(p)
	} else {
		def, _ = fs.ReadFile(templates.FS(), v.Name+"/template.yaml")
	}
	v.Definition = string(def)
	writeJSON(w, http.StatusOK, v)
}

type previewView struct {
	Template string       `json:"template"`
	Columns  [][]string   `json:"columns"` // per output table
	Rows     []previewRow `json:"rows"`
	Warnings []string     `json:"warnings"`
}

type previewRow struct {
	Row    int        `json:"row,omitempty"`
	Values [][]string `json:"values,omitempty"` // per output table, in column order
	Errors []string   `json:"errors,omitempty"` // why the row is left out
}

// previewTemplate runs a template on an uploaded sample's first rows,
// writing nothing (erpipe templates preview).
func (a *API) previewTemplate(w http.ResponseWriter, r *http.Request, c *caller) {
	v, t, ok := a.template(w, r)
	if !ok {
		return
	}
	if t == nil {
		writeError(w, http.StatusUnprocessableEntity, "bad_template", fmt.Sprintf("template %s does not load: %s", v.Name, v.Error))
		return
	}
	rows := 10
	if s := r.URL.Query().Get("rows"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 1000 {
			writeError(w, http.StatusBadRequest, "bad_rows", fmt.Sprintf("rows %q: give a number from 1 to 1000", s))
			return
		}
		rows = n
	}
	name, err := uploadName(r, "")
	if err != nil {
		writeError(w, http.StatusBadRequest, "bad_name", err.Error())
		return
	}
	got, ok := a.receive(w, r, name)
	if !ok {
		return
	}
	defer a.svc.DiscardUpload(got.path)
	prev, res, err := t.Preview(r.Context(), got.path, rows)
	if err != nil {
		writeError(w, http.StatusUnprocessableEntity, "preview_failed", fmt.Sprintf("template %s cannot read the sample: %v", v.Name, err))
		return
	}
	out := previewView{Template: v.Name, Columns: t.Columns(), Rows: []previewRow{}, Warnings: []string{}}
	for _, p := range prev {
		pr := previewRow{Row: p.Pos.Row, Values: p.Values}
		for _, e := range p.Errors {
			pr.Errors = append(pr.Errors, e.Error())
		}
		out.Rows = append(out.Rows, pr)
	}
	if res != nil {
		for _, w := range res.Warnings {
			out.Warnings = append(out.Warnings, fmt.Sprint(w))
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// destKind names a destination's kind.
func destKind(d workspace.DestinationConfig) string {
	switch {
	case d.S3 != nil:
		return "s3"
	case d.AzBlob != nil:
		return "azblob"
	case d.D365 != nil:
		return "d365"
	}
	return "folder"
}
