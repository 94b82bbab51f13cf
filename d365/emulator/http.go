package emulator

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// routes is the emulator's URL space.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	// Entra ID, as MSAL calls it with the emulator as authority host.
	mux.HandleFunc("GET /{tenant}/v2.0/.well-known/openid-configuration", s.openIDConfiguration)
	mux.HandleFunc("POST /{tenant}/oauth2/v2.0/token", s.token)
	// The package API.
	mux.Handle("POST /data/DataManagementDefinitionGroups/{action}", s.authorized(s.action))
	// The recurring integrations connector.
	mux.Handle("POST /api/connector/enqueue/{activity}", s.authorized(s.enqueue))
	mux.Handle("GET /api/connector/dequeue/{activity}", s.authorized(s.dequeue))
	mux.Handle("GET /api/connector/download/{activity}", s.authorized(s.download))
	mux.Handle("POST /api/connector/ack/{activity}", s.authorized(s.ack))
	mux.Handle("GET /api/connector/jobstatus/{activity}", s.authorized(s.jobStatus))
	// Blob storage, authorised by the SAS signature of the URL.
	mux.HandleFunc("PUT "+blobPrefix+"{name}", s.putBlob)
	mux.HandleFunc("GET "+blobPrefix+"{name}", s.getBlob)
	return s.record(mux)
}

// statusWriter remembers the status written.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// record logs every request, applies the faults injected, and passes the
// rest on.
func (s *Server) record(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		now := time.Now()
		sc := scopeOf(r.URL.Path)
		s.mu.Lock()
		f := s.takeFault(sc, now)
		s.requests = append(s.requests, Request{At: now, Method: r.Method, Path: r.URL.RequestURI(), Scope: sc})
		i := len(s.requests) - 1
		s.mu.Unlock()
		sw := &statusWriter{ResponseWriter: w}
		var until time.Time
		if f != nil && f.Delay > 0 {
			select {
			case <-time.After(f.Delay):
			case <-r.Context().Done():
			}
		}
		if f != nil && f.Status != 0 {
			until = retryAfter(sw, f, time.Now())
			answerFault(sw, sc, f)
		} else {
			next.ServeHTTP(sw, withBase(r))
		}
		s.mu.Lock()
		s.requests[i].Status = sw.status
		s.requests[i].RetryAfter = until
		s.mu.Unlock()
		s.opts.Logger.Debug("d365 emulator", "method", r.Method, "path", r.URL.Path, "status", sw.status)
	})
}

// authorized answers 401, as D365 does, to a request without a valid
// bearer token.
func (s *Server) authorized(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if ok {
			s.mu.Lock()
			exp, known := s.tokens[strings.TrimSpace(tok)]
			s.mu.Unlock()
			ok = known && time.Now().Before(exp)
		}
		if !ok {
			// D365 answers an empty 401 with the authority to ask.
			w.Header().Set("WWW-Authenticate", `Bearer authorization_uri="`+baseURL(r.Context())+"/"+s.opts.Tenant+`/oauth2/authorize"`)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		h(w, r)
	})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// odataValue answers an OData action's result: {"@odata.context", "value"}.
func odataValue(w http.ResponseWriter, r *http.Request, edmType string, v any) {
	w.Header().Set("OData-Version", "4.0")
	writeJSON(w, http.StatusOK, struct {
		Context string `json:"@odata.context"`
		Value   any    `json:"value"`
	}{baseURL(r.Context()) + "/data/$metadata#" + edmType, v})
}

// odataError answers an error in the shape D365's OData endpoint uses.
func odataError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("OData-Version", "4.0")
	writeJSON(w, code, map[string]any{"error": map[string]any{
		"code":    "",
		"message": msg,
		"innererror": map[string]any{
			"message":    msg,
			"type":       "Microsoft.Dynamics.Platform.Integration.Services.OData.AxODataException",
			"stacktrace": "",
		},
	}})
}

// normActivity is an activity ID as compared: no braces, lower case.
func normActivity(id string) string {
	if u, err := url.PathUnescape(id); err == nil {
		id = u
	}
	return strings.ToLower(strings.Trim(strings.TrimSpace(id), "{}"))
}
