package azblob_test

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/erpipe/erpipe/outbox"
)

// fault is an answer the injector gives instead of the server's.
type fault struct {
	status     int
	code       string // x-ms-error-code
	retryAfter string // Retry-After header, if any
	// forward sends the request to the server first and throws its answer
	// away: the write happened, but the client never hears of it.
	forward bool
}

// hit is one request the injector saw.
type hit struct {
	method, query string
	status        int
	at            time.Time
	header        http.Header
}

// injector is a reverse proxy in front of a server that answers the first
// requests matching match with faults, in order. Shared key and SAS
// signatures do not cover the host, so requests signed for the proxy are
// good for the server.
type injector struct {
	proxy  *httputil.ReverseProxy
	match  func(*http.Request) bool
	mu     sync.Mutex
	faults []fault
	hits   []hit
}

func newInjector(t *testing.T, srv *server, match func(*http.Request) bool, faults ...fault) (*injector, string) {
	t.Helper()
	target, err := url.Parse(srv.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	target.Path = ""
	inj := &injector{match: match, faults: faults}
	inj.proxy = &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) { pr.SetURL(target) }}
	ts := httptest.NewServer(inj)
	t.Cleanup(ts.Close)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("requests seen by the fault injector:\n%s", inj.log())
		}
	})
	return inj, ts.URL + target.Path + strings.TrimPrefix(srv.Endpoint, target.String())
}

func (inj *injector) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	inj.mu.Lock()
	var f *fault
	if len(inj.faults) > 0 && (inj.match == nil || inj.match(r)) {
		f = &inj.faults[0]
		inj.faults = inj.faults[1:]
	}
	inj.mu.Unlock()

	rec := &statusRecorder{ResponseWriter: w}
	switch {
	case f == nil:
		inj.proxy.ServeHTTP(rec, r)
	default:
		if f.forward {
			inj.proxy.ServeHTTP(httptest.NewRecorder(), r)
		} else {
			_, _ = io.Copy(io.Discard, r.Body)
		}
		if f.retryAfter != "" {
			w.Header().Set("Retry-After", f.retryAfter)
		}
		code := f.code
		if code == "" {
			code = map[int]string{503: "ServerBusy", 500: "InternalError", 404: "BlobNotFound"}[f.status]
		}
		w.Header().Set("x-ms-error-code", code)
		w.Header().Set("Content-Type", "application/xml")
		rec.WriteHeader(f.status)
		if r.Method != http.MethodHead {
			fmt.Fprintf(w, "<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>%s</Code><Message>injected fault</Message></Error>", code)
		}
	}
	inj.mu.Lock()
	inj.hits = append(inj.hits, hit{method: r.Method, query: r.URL.RawQuery, status: rec.status, at: time.Now(), header: r.Header.Clone()})
	inj.mu.Unlock()
}

func (inj *injector) requests() []hit {
	inj.mu.Lock()
	defer inj.mu.Unlock()
	return append([]hit(nil), inj.hits...)
}

func (inj *injector) log() string {
	var b strings.Builder
	for _, h := range inj.requests() {
		fmt.Fprintf(&b, "  %s %s %s → %d\n", h.at.Format("15:04:05.000"), h.method, op(h.query), h.status)
	}
	return b.String()
}

// op names the operation of a request by its comp= parameter.
func op(query string) string {
	q, _ := url.ParseQuery(query)
	if c := q.Get("comp"); c != "" {
		return "comp=" + c
	}
	return ""
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 && code >= 200 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

func isPutBlob(r *http.Request) bool {
	return r.Method == http.MethodPut && r.URL.Query().Get("comp") == ""
}
func isCommit(r *http.Request) bool {
	return r.Method == http.MethodPut && r.URL.Query().Get("comp") == "blocklist"
}
func isStage(r *http.Request) bool {
	return r.Method == http.MethodPut && r.URL.Query().Get("comp") == "block"
}
func isHead(r *http.Request) bool { return r.Method == http.MethodHead }

// TestRetryAfter: 503 ServerBusy and 429 answers are retried after the
// wait their Retry-After asks for, and the put succeeds.
func TestRetryAfter(t *testing.T) {
	needServers(t)
	inj, ep := newInjector(t, servers[0], isPutBlob,
		fault{status: 503, retryAfter: "1"},
		fault{status: 429, code: "TooManyRequests", retryAfter: "1"},
		fault{status: 500}) // no Retry-After: plain back-off
	cfg := config(t, servers[0])
	cfg.Endpoint, cfg.CAFile, cfg.MaxAttempts = ep, "", 4
	d := newDest(t, cfg)
	loc, err := d.Put(t.Context(), "retried.csv", strings.NewReader("retried\n"), 8)
	if err != nil {
		t.Fatalf("Put: %v", err)
	}
	if o, _ := get(t, servers[0], strings.Replace(loc, ep, servers[0].Endpoint, 1)); string(o.data) != "retried\n" {
		t.Errorf("stored %q", o.data)
	}
	var puts []hit
	for _, h := range inj.requests() {
		if h.method == http.MethodPut {
			puts = append(puts, h)
		}
	}
	if len(puts) != 4 {
		t.Fatalf("%d PUT, want 4", len(puts))
	}
	for i, want := range []int{503, 429, 500, 201} {
		if puts[i].status != want {
			t.Errorf("PUT %d answered %d, want %d", i+1, puts[i].status, want)
		}
	}
	for i := range 2 {
		if gap := puts[i+1].at.Sub(puts[i].at); gap < time.Second {
			t.Errorf("PUT %d came %v after a Retry-After: 1 answer, want ≥ 1s", i+2, gap)
		}
	}
}

// TestRetriesExhausted: an account that keeps failing, or that asks for a
// longer pause than a put waits, gives a transient error.
func TestRetriesExhausted(t *testing.T) {
	needServers(t)
	for _, tc := range []struct {
		name     string
		faults   []fault
		attempts int
	}{
		{"ServerBusy", []fault{{status: 503}, {status: 503}, {status: 503}, {status: 503}}, 3},
		{"throttled for long", []fault{{status: 503, retryAfter: "120"}}, 1},
		{"timeout", []fault{{status: 500, code: "OperationTimedOut"}, {status: 500, code: "OperationTimedOut"}, {status: 500, code: "OperationTimedOut"}}, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			inj, ep := newInjector(t, servers[0], isHead, tc.faults...)
			cfg := config(t, servers[0])
			cfg.Endpoint, cfg.CAFile, cfg.MaxAttempts = ep, "", 3
			d := newDest(t, cfg)
			start := time.Now()
			_, err := d.Put(t.Context(), "down.csv", strings.NewReader("x"), 1)
			if err == nil || !outbox.IsTransient(err) {
				t.Fatalf("Put = %v, want a transient error", err)
			}
			if took := time.Since(start); took > 30*time.Second {
				t.Errorf("took %v", took)
			}
			if n := len(inj.requests()); n != tc.attempts {
				t.Errorf("%d attempts, want %d", n, tc.attempts)
			}
			if got := listNames(t, servers[0], d); len(got) != 0 {
				t.Errorf("stored %q", got)
			}
		})
	}
}

// TestLostAnswer: the account stores the blob but the answer is lost; the
// retry meets "If-None-Match: *", finds its own content there, and
// succeeds. This is the path of a retry after a crash.
func TestLostAnswer(t *testing.T) {
	needServers(t)
	for _, size := range []int64{100, 3 << 20} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			match := isPutBlob
			if size > 1<<20 {
				match = isCommit
			}
			inj, ep := newInjector(t, servers[0], match, fault{status: 500, forward: true})
			cfg := config(t, servers[0])
			cfg.Endpoint, cfg.CAFile = ep, ""
			d := newDest(t, cfg)
			loc, err := d.Put(t.Context(), "lost.zip", gen(5, size), size)
			if err != nil {
				t.Fatalf("Put: %v", err)
			}
			if o, _ := get(t, servers[0], strings.Replace(loc, ep, servers[0].Endpoint, 1)); sumBytes(o.data) != sumOf(gen(5, size)) {
				t.Errorf("stored content differs")
			}
			var conflicts int
			for _, h := range inj.requests() {
				if h.status == http.StatusConflict || h.status == http.StatusPreconditionFailed {
					conflicts++
				}
			}
			if conflicts != 1 {
				t.Errorf("the retry did not meet the stored blob once (%d conflicts)", conflicts)
			}
		})
	}
}

// TestConditionalWrite: the existence check misses the blob (a writer got
// there in between); the conditional write still refuses to replace it.
func TestConditionalWrite(t *testing.T) {
	needServers(t)
	for _, size := range []int64{100, 3 << 20} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			srv := servers[0]
			cfg := config(t, srv)
			first := newDest(t, cfg)
			loc, err := first.Put(t.Context(), "taken.zip", gen(1, size), size)
			if err != nil {
				t.Fatal(err)
			}
			_, ep := newInjector(t, srv, isHead, fault{status: 404}) // the first HEAD lies
			cfg.Endpoint, cfg.CAFile = ep, ""
			d := newDest(t, cfg)
			_, err = d.Put(t.Context(), "taken.zip", gen(2, size), size)
			if !errors.Is(err, outbox.ErrExists) {
				t.Fatalf("Put = %v, want ErrExists", err)
			}
			if o, _ := get(t, srv, loc); sumBytes(o.data) != sumOf(gen(1, size)) {
				t.Errorf("the stored blob was replaced")
			}
		})
	}
}

// TestRequestHeaders: what Put asks for reaches the account: the
// condition, the metadata, the checksums, the type and the tier.
func TestRequestHeaders(t *testing.T) {
	needServers(t)
	inj, ep := newInjector(t, servers[0], nil)
	cfg := config(t, servers[0])
	cfg.Endpoint, cfg.CAFile, cfg.AccessTier = ep, "", "Cool"
	d := newDest(t, cfg)
	for _, size := range []int64{10, 3 << 20} {
		if _, err := d.PutMeta(t.Context(), fmt.Sprintf("h%d.xml", size), gen(1, size), size,
			map[string]string{outbox.MetaJob: "j-1", outbox.MetaInputSHA256: sumOf(gen(9, 1))}); err != nil {
			t.Fatal(err)
		}
	}
	var puts, stages, commits, heads int
	for _, h := range inj.requests() {
		var check map[string]string
		switch {
		case h.method == http.MethodHead:
			heads++
		case h.method == http.MethodPut && op(h.query) == "":
			puts++
			check = map[string]string{"If-None-Match": "*", "X-Ms-Meta-Sha256": sumOf(gen(1, 10)), "X-Ms-Meta-Job": "j-1",
				"X-Ms-Meta-Input_sha256": sumOf(gen(9, 1)), "X-Ms-Blob-Content-Type": "application/xml", "X-Ms-Access-Tier": "Cool",
				"X-Ms-Blob-Type": "BlockBlob"}
		case op(h.query) == "comp=block":
			stages++
			if h.header.Get("Content-Md5") == "" {
				t.Errorf("Put Block without Content-MD5")
			}
		case op(h.query) == "comp=blocklist":
			commits++
			check = map[string]string{"If-None-Match": "*", "X-Ms-Meta-Sha256": sumOf(gen(1, 3<<20)), "X-Ms-Meta-Job": "j-1",
				"X-Ms-Blob-Content-Type": "application/xml", "X-Ms-Access-Tier": "Cool"}
			if h.header.Get("X-Ms-Blob-Content-Md5") == "" {
				t.Errorf("Put Block List without x-ms-blob-content-md5")
			}
		}
		for k, v := range check {
			if got := h.header.Get(k); got != v {
				t.Errorf("%s %s: header %s = %q, want %q", h.method, op(h.query), k, got, v)
			}
		}
	}
	if heads != 2 || puts != 1 || stages != 3 || commits != 1 {
		t.Errorf("saw %d HEAD, %d Put Blob, %d Put Block, %d Put Block List; want 2, 1, 3, 1", heads, puts, stages, commits)
	}
}

// TestRetryIsCheap: putting the same content again (a job retried after a
// crash) asks whether it is there and uploads nothing.
func TestRetryIsCheap(t *testing.T) {
	needServers(t)
	inj, ep := newInjector(t, servers[0], nil)
	cfg := config(t, servers[0])
	cfg.Endpoint, cfg.CAFile = ep, ""
	d := newDest(t, cfg)
	const size = 3 << 20
	meta := map[string]string{outbox.MetaSHA256: sumOf(gen(4, size))}
	first, err := d.PutMeta(t.Context(), "again.zip", gen(4, size), size, meta)
	if err != nil {
		t.Fatal(err)
	}
	n := len(inj.requests())
	again, err := d.PutMeta(t.Context(), "again.zip", gen(4, size), size, meta)
	if err != nil || again != first {
		t.Fatalf("Put again = %q, %v; want %q", again, err, first)
	}
	if hits := inj.requests()[n:]; len(hits) != 1 || hits[0].method != http.MethodHead {
		t.Errorf("the second put sent:\n%s\nwant one HEAD", inj.log())
	}
}
