package api

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/erpipe/erpipe/jobs"
	"github.com/erpipe/erpipe/schedule"
	"github.com/erpipe/erpipe/workspace"
)

// Deps are what the API serves from.
type Deps struct {
	// Service is the daemon: the workspace's configuration as it serves
	// it (http: included, so clients and activities follow a reload), its
	// journal, and Submit for uploads.
	Service *jobs.Service
	// Runner runs the schedules; nil: no schedules.
	Runner *schedule.Runner
	Logger *slog.Logger
	// OnRequest, when set, is told of every API request once answered:
	// the client's name ("" when the API is open), the route's pattern,
	// the status and how long it took (for metrics).
	OnRequest func(client, route string, status int, elapsed time.Duration)
}

// API is erpipe's JSON API (/api/v1/) and the recurring-integrations
// facade (/api/connector/).
type API struct {
	svc      *jobs.Service
	runner   *schedule.Runner
	log      *slog.Logger
	loopback bool // the server listens on a loopback address only
	throttle *throttle
	buckets  sync.Map // client name -> *bucket
	now      func() time.Time
	observe  func(client, route string, status int, elapsed time.Duration)
	sessions sessionStore
	signins  signinLimiter
}

// Register mounts the API on s. Call it before s serves (and after
// Listen, so that the API knows whether it listens on loopback only).
func Register(s *Server, d Deps) *API {
	a := &API{svc: d.Service, runner: d.Runner, log: cmp.Or(d.Logger, slog.Default()), throttle: newThrottle(), now: time.Now, observe: d.OnRequest}
	a.loopback = isLoopbackAddr(cmp.Or(s.opts.Addr, DefaultAddr))
	hc := a.config()
	if len(hc.Users) > 0 && !a.loopback && s.opts.CertFile == "" {
		a.log.Warn("the HTTP server has console users and listens beyond loopback without TLS: their passwords and session cookies travel in the clear; give http: cert_file and key_file")
	}
	if len(hc.Clients) == 0 && len(hc.Users) == 0 {
		if a.loopback {
			a.log.Warn("the HTTP API has no clients in erpipe.yaml: it is open to requests from this machine (loopback) only, without a token; add clients (erpipe tokens new NAME) before listening on another address")
		} else {
			a.log.Warn("the HTTP API has no clients in erpipe.yaml and listens beyond loopback: every API request is refused (401) until clients are added (erpipe tokens new NAME)")
		}
	}
	// An activity's dequeue queue holds the outputs of jobs claimed from
	// its first start on: the history before it is not handed out.
	for _, act := range hc.Activities {
		if _, err := a.svc.Journal().ActivitySince(context.Background(), workspace.NormActivity(act.ID), a.now()); err != nil {
			a.log.Error("could not record the start of a recurring-integrations activity", "activity", act.ID, "err", err)
		}
	}
	for _, r := range a.routes() {
		s.Handle(r.pattern, a.guard(r))
	}
	for _, r := range a.openRoutes() {
		s.Handle(r.pattern, a.open(r))
	}
	return a
}

// route is one endpoint: its pattern, the least role that may call it,
// whether it makes work (submits a job), which the queue limit applies
// to, and its handler.
type route struct {
	pattern string
	role    workspace.Role
	work    bool
	h       func(w http.ResponseWriter, r *http.Request, c *caller)
}

// Roles' short names in the routes' table.
const (
	viewer   = workspace.RoleViewer
	operator = workspace.RoleOperator
	author   = workspace.RoleAuthor
	admin    = workspace.RoleAdmin
)

func (a *API) routes() []route {
	return append([]route{
		{"GET /api/v1/me", viewer, false, a.me},
		{"GET /api/v1/pipelines", viewer, false, a.listPipelines},
		{"POST /api/v1/pipelines/{pipeline}/jobs", operator, true, a.upload},
		{"GET /api/v1/jobs", viewer, false, a.listJobs},
		{"GET /api/v1/jobs/{id}", viewer, false, a.getJob},
		{"GET /api/v1/jobs/{id}/report", viewer, false, a.jobReport},
		{"GET /api/v1/jobs/{id}/rejected", viewer, false, a.jobRejected},
		{"GET /api/v1/jobs/{id}/outputs/{name}", viewer, false, a.jobOutput},
		{"POST /api/v1/jobs/{id}/retry", operator, true, a.retryJob},
		{"POST /api/v1/jobs/{id}/corrections", operator, true, a.correctJob}, // corrections.go
		{"GET /api/v1/jobs/{id}/receipt", viewer, false, a.jobReceipt},
		{"GET /api/v1/schedules", viewer, false, a.listSchedules},
		{"GET /api/v1/schedules/{name}", viewer, false, a.getSchedule},
		{"POST /api/v1/schedules/{name}/run", operator, true, a.runSchedule},
		{"GET /api/v1/templates", viewer, false, a.listTemplates},
		{"GET /api/v1/templates/{name}", viewer, false, a.showTemplate},
		// A preview writes nothing, but runs the template on an upload.
		{"POST /api/v1/templates/{name}/preview", operator, false, a.previewTemplate},
		{"POST /api/connector/enqueue/{activity}", operator, true, a.enqueue},
		// A dequeue hides the message from others until it is acked.
		{"GET /api/connector/dequeue/{activity}", operator, false, a.dequeue},
		{"GET /api/connector/download/{activity}", viewer, false, a.download},
		{"POST /api/connector/ack/{activity}", operator, false, a.ack},
		{"GET /api/connector/jobstatus/{activity}", viewer, false, a.jobStatus},
	}, a.workbenchRoutes()...) // workbench.go
}

func (a *API) config() workspace.HTTPConfig { return a.svc.Workspace().Config.HTTP }

// caller is who makes a request.
type caller struct {
	name      string // "" when the API is open (no clients, no users)
	user      bool   // a user signed in to the console (a session), not a client
	role      workspace.Role
	priority  int // index in workspace.Priorities
	pipelines []string
	csrf      string // a user's session's CSRF token
}

// who names the caller in messages.
func (c *caller) who() string {
	switch {
	case c.name == "":
		return "this request"
	case c.user:
		return "user " + c.name
	}
	return "client " + c.name
}

// where says where the caller's role is set.
func (c *caller) where() string {
	if c.user {
		return "http: users: role"
	}
	return "http: clients: role"
}

// require answers 403 unless the caller's role is at least min; it
// reports whether the request may go on. Handlers call it for what needs
// more than their route's role.
func (a *API) require(w http.ResponseWriter, c *caller, min workspace.Role) bool {
	if c.role.AtLeast(min) {
		return true
	}
	writeError(w, http.StatusForbidden, "role", fmt.Sprintf("%s has the role %s, and this needs %s or above (roles: %s); ask the workspace owner to give it the role in erpipe.yaml (%s)", c.who(), c.role, min, workspace.RoleNames(), c.where()))
	return false
}

// may reports whether the caller may use pipeline.
func (c *caller) may(pipeline string) bool {
	return len(c.pipelines) == 0 || slices.Contains(c.pipelines, pipeline)
}

// forbid answers 403 unless the caller may use pipeline.
func (c *caller) forbid(w http.ResponseWriter, pipeline string) bool {
	if c.may(pipeline) {
		return false
	}
	writeError(w, http.StatusForbidden, "forbidden", fmt.Sprintf("client %s may not use pipeline %q (its pipelines: %s); ask the workspace owner to add it to the client's pipelines in erpipe.yaml", c.name, pipeline, strings.Join(c.pipelines, ", ")))
	return true
}

// HashToken is how a token is kept in erpipe.yaml: its SHA-256 in hex.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// authenticate finds the caller of r, or answers 401: a client by its
// bearer token, a console user by its session cookie, or anyone on
// loopback when erpipe has neither clients nor users.
func (a *API) authenticate(w http.ResponseWriter, r *http.Request, hc workspace.HTTPConfig) (*caller, bool) {
	auth := r.Header.Get("Authorization")
	if len(hc.Users) > 0 {
		// A 401 tells the console to offer the users' sign-in form.
		w.Header().Set(SignInHeader, "password, token")
	}
	if auth == "" && len(hc.Users) > 0 {
		if ck, err := r.Cookie(SessionCookie); err == nil && ck.Value != "" {
			return a.sessionCaller(w, r, hc, ck.Value)
		}
	}
	if len(hc.Clients) == 0 && len(hc.Users) == 0 {
		if a.loopback && isLoopbackRemote(r.RemoteAddr) {
			// A web page of another site cannot make this browser's
			// changes here either.
			if !safeMethod(r.Method) {
				if err := http.NewCrossOriginProtection().Check(r); err != nil {
					writeError(w, http.StatusForbidden, "csrf", "a change sent from a page of another site is refused; use the console at this server's own address")
					return nil, false
				}
			}
			return &caller{role: workspace.RoleAdmin, priority: len(workspace.Priorities) - 1}, true
		}
		unauthorized(w, "this erpipe has no API clients: it answers only requests from its own machine when it listens on loopback; ask its owner for a token (erpipe tokens new NAME)")
		return nil, false
	}
	scheme, token, ok := strings.Cut(auth, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
		if len(hc.Users) > 0 {
			unauthorized(w, "sign in to the console (POST /api/v1/session), or send an API client's token as Authorization: Bearer <token>")
		} else {
			unauthorized(w, "send the client's token as Authorization: Bearer <token>")
		}
		return nil, false
	}
	sum := HashToken(strings.TrimSpace(token))
	for _, cl := range hc.Clients {
		if !strings.EqualFold(cl.TokenSHA256, sum) {
			continue
		}
		if cl.Revoked {
			unauthorized(w, fmt.Sprintf("the token of client %s is revoked; ask the workspace owner for a new one", cl.Name))
			return nil, false
		}
		return &caller{name: cl.Name, role: cl.Role(), priority: max(slices.Index(workspace.Priorities, cmp.Or(cl.Priority, "medium")), 0), pipelines: cl.Pipelines}, true
	}
	unauthorized(w, "the token is not known: check it, or ask the workspace owner for one (erpipe tokens new NAME)")
	return nil, false
}

func unauthorized(w http.ResponseWriter, msg string) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="erpipe"`)
	w.Header().Set("Cache-Control", "no-store")
	writeError(w, http.StatusUnauthorized, "unauthorized", msg)
}

// guard authenticates, rate-limits and admits a request before its handler.
func (a *API) guard(rt route) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		hc := a.config()
		w := &recorder{ResponseWriter: rw, status: http.StatusOK}
		start := time.Now()
		name := ""
		defer func() {
			if a.observe != nil {
				a.observe(name, rt.pattern, w.status, time.Since(start))
			}
		}()
		// A slow client may take body_timeout to send a body, no longer
		// (an upload's own deadline is set when it is received).
		_, bodyTimeout, _, _ := hc.Timeouts()
		_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(bodyTimeout))
		c, ok := a.authenticate(w, r, hc)
		if ok {
			name = c.name
		}
		if !ok {
			return
		}
		if !a.require(w, c, rt.role) {
			return
		}
		if wait, ok := a.bucket(c, hc).take(a.now()); !ok {
			w.Header().Set("Retry-After", strconv.Itoa(seconds(wait)))
			writeError(w, http.StatusTooManyRequests, "rate", fmt.Sprintf("client %s makes more requests a second than it may (http: clients: rate in erpipe.yaml); wait %d s", c.name, seconds(wait)))
			return
		}
		queued := -1
		if rt.work {
			queued = a.svc.Queued()
		}
		release, wait, ok := a.throttle.admit(c.priority, hc.Limits, queued, a.svc.Workspace().Config.WorkerCount())
		if !ok {
			w.Header().Set("Retry-After", strconv.Itoa(seconds(wait)))
			writeError(w, http.StatusTooManyRequests, "busy", fmt.Sprintf("erpipe is busy (%s); %s-priority requests wait: try again in %d s", a.throttle.describe(a.svc.Queued()), workspace.Priorities[c.priority], seconds(wait)))
			return
		}
		defer release()
		rt.h(w, r, c)
	})
}

// seconds is d rounded up to whole seconds, at least 1.
func seconds(d time.Duration) int {
	return max(1, int((d+time.Second-1)/time.Second))
}

// apiError is every error's body: {"error":{"code","message"}}, the shape
// D365 answers in (so that its clients show the message).
type apiError struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	var e apiError
	e.Error.Code, e.Error.Message = code, msg
	writeJSON(w, status, e)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// internalError answers 500 and logs err.
func (a *API) internalError(w http.ResponseWriter, r *http.Request, err error) {
	a.log.Error("HTTP API request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	writeError(w, http.StatusInternalServerError, "internal", "erpipe could not answer: "+err.Error())
}

// jobError answers the error of a journal lookup.
func (a *API) jobError(w http.ResponseWriter, r *http.Request, id string, err error) {
	if errors.Is(err, jobs.ErrNotFound) {
		writeError(w, http.StatusNotFound, "not_found", fmt.Sprintf("no job %q; list the jobs with GET /api/v1/jobs", id))
		return
	}
	a.internalError(w, r, err)
}

func isLoopbackAddr(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func isLoopbackRemote(remote string) bool {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// recorder keeps the status a handler answered.
type recorder struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (r *recorder) WriteHeader(code int) {
	if !r.wrote {
		r.status, r.wrote = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	r.wrote = true
	return r.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection.
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
