package emulator

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Scope says which requests a Fault applies to.
type Scope int

const (
	AllRequests   Scope = iota // every request
	APIRequests                // the package API (/data/) and the connector (/api/connector/)
	TokenRequests              // the Entra ID endpoints
	BlobRequests               // the blob storage the SAS URLs point at
)

func (sc Scope) String() string {
	switch sc {
	case APIRequests:
		return "api"
	case TokenRequests:
		return "token"
	case BlobRequests:
		return "blob"
	}
	return "all"
}

// scopeOf tells which scope a request path is in.
func scopeOf(path string) Scope {
	switch {
	case strings.HasPrefix(path, "/data/"), strings.HasPrefix(path, "/api/"):
		return APIRequests
	case strings.HasPrefix(path, blobPrefix):
		return BlobRequests
	}
	return TokenRequests
}

// Fault is a misbehaviour injected into the answers of some requests.
type Fault struct {
	Scope Scope
	// Status is answered instead of the real answer: 429, 408, 500, 503…
	// 0 answers normally (after Delay).
	Status int
	// Count is how many requests the fault takes; Until, when set, makes
	// it take every request until then instead. Neither set means one.
	Count int
	Until time.Time
	// RetryAfter, when set, is sent as the Retry-After header: in whole
	// seconds, or as an HTTP date when RetryAfterDate.
	RetryAfter     time.Duration
	RetryAfterDate bool
	// Delay stalls the answer that long (a slow server); with Status 0
	// the real answer follows.
	Delay time.Duration
}

type fault struct {
	Fault
	left int // requests left when counted
}

// Inject adds a fault. Faults apply in the order injected; a request
// meets at most one.
func (s *Server) Inject(f Fault) {
	ff := &fault{Fault: f, left: f.Count}
	if f.Count == 0 && f.Until.IsZero() {
		ff.left = 1
	}
	s.mu.Lock()
	s.faults = append(s.faults, ff)
	s.mu.Unlock()
	s.opts.Logger.Info("d365 emulator: fault injected", "scope", f.Scope, "status", f.Status, "count", f.Count, "until", f.Until, "retry_after", f.RetryAfter, "delay", f.Delay)
}

// Throttle answers the next n API requests with 429 and Retry-After in
// seconds.
func (s *Server) Throttle(n int, retryAfter time.Duration) {
	s.Inject(Fault{Scope: APIRequests, Status: http.StatusTooManyRequests, Count: n, RetryAfter: retryAfter})
}

// ClearFaults drops every fault not yet spent.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	s.faults = nil
	s.mu.Unlock()
}

// takeFault returns the fault the request meets, if any, spending one of
// its count. Called with s.mu held.
func (s *Server) takeFault(sc Scope, now time.Time) *Fault {
	kept := s.faults[:0]
	var hit *Fault
	for _, f := range s.faults {
		timed := !f.Until.IsZero()
		if timed && !now.Before(f.Until) || !timed && f.left <= 0 {
			continue // spent
		}
		if hit == nil && (f.Scope == AllRequests || f.Scope == sc) {
			c := f.Fault
			hit = &c
			if !timed {
				f.left--
			}
		}
		if timed || f.left > 0 {
			kept = append(kept, f)
		}
	}
	s.faults = kept
	return hit
}

// Request is a request the server received.
type Request struct {
	At     time.Time // when it arrived
	Method string
	Path   string // with the query
	Scope  Scope
	Status int // the status answered
	// RetryAfter is, for an answer with a Retry-After header, the
	// earliest moment the header lets the client come back.
	RetryAfter time.Time
}

// Requests returns every request received so far, in order of arrival.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// EarlyRequests returns the requests that came before the Retry-After of
// an earlier answer in their scope let them: the requests a client
// honouring Retry-After never sends. It assumes one client, which waits
// with every request to a service that told it to (a 429 from the API
// does not hold back a token request).
func (s *Server) EarlyRequests() []Request {
	var early []Request
	until := map[Scope]time.Time{}
	for _, r := range s.Requests() {
		if r.At.Before(until[r.Scope]) {
			early = append(early, r)
		}
		if r.RetryAfter.After(until[r.Scope]) {
			until[r.Scope] = r.RetryAfter
		}
	}
	return early
}

// retryAfter sets the Retry-After header for f and returns the moment it
// names.
func retryAfter(w http.ResponseWriter, f *Fault, now time.Time) time.Time {
	if f.RetryAfter <= 0 {
		return time.Time{}
	}
	if f.RetryAfterDate {
		// An HTTP date has whole seconds: round up so that the wait is at
		// least RetryAfter.
		at := now.Add(f.RetryAfter).Truncate(time.Second).Add(time.Second)
		w.Header().Set("Retry-After", at.UTC().Format(http.TimeFormat))
		return at
	}
	secs := int((f.RetryAfter + time.Second - 1) / time.Second)
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	return now.Add(time.Duration(secs) * time.Second)
}

// answerFault writes the error answer of f in the manner of the service
// the request was for.
func answerFault(w http.ResponseWriter, sc Scope, f *Fault) {
	code := f.Status
	switch sc {
	case BlobRequests:
		azCode, msg := "InternalError", "Server encountered an internal error. Please try again after some time."
		switch code {
		case http.StatusServiceUnavailable, http.StatusTooManyRequests:
			azCode, msg = "ServerBusy", "The server is currently unable to receive requests. Please retry your request."
		case http.StatusRequestTimeout:
			azCode, msg = "OperationTimedOut", "The operation could not be completed within the permitted time."
		}
		azureError(w, code, azCode, msg, "")
	case TokenRequests:
		writeJSON(w, code, map[string]any{
			"error":             "temporarily_unavailable",
			"error_description": fmt.Sprintf("AADSTS90033: A transient error has occurred (emulated %d). Please try again.", code),
			"error_codes":       []int{90033},
		})
	default:
		msg := fmt.Sprintf("The service is unavailable (emulated %d); try again.", code)
		switch code {
		case http.StatusTooManyRequests:
			msg = "The request was throttled: the number of requests exceeded the limit of the priority-based throttling; try again after the time Retry-After gives."
		case http.StatusRequestTimeout:
			msg = "The request timed out (emulated 408); try again."
		}
		odataError(w, code, msg)
	}
}
