package s3_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/erpipe/erpipe/outbox"
	"github.com/erpipe/erpipe/outbox/s3"
)

// fault is an answer the injector gives instead of the server's.
type fault struct {
	status     int
	retryAfter string // Retry-After header, if any
	// forward sends the request to the server first and throws its answer
	// away: the write happened, but the client never hears of it.
	forward bool
}

// hit is one request the injector saw.
type hit struct {
	method string
	query  string
	status int
	at     time.Time
	header http.Header
}

// injector is a reverse proxy in front of a server that answers the first
// requests matching match with faults, in order.
type injector struct {
	proxy  *httputil.ReverseProxy
	match  func(*http.Request) bool
	mu     sync.Mutex
	faults []fault
	hits   []hit
}

func newInjector(t *testing.T, srv *server, match func(*http.Request) bool, faults ...fault) *httptest.Server {
	t.Helper()
	target, err := url.Parse(srv.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	hc, err := srv.HTTPClient()
	if err != nil {
		t.Fatal(err)
	}
	inj := &injector{match: match, faults: faults}
	inj.proxy = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.Out.Host = pr.In.Host // the client signed the Host it sent
		},
		Transport: hc.Transport,
	}
	ts := httptest.NewServer(inj)
	t.Cleanup(ts.Close)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("requests seen by the fault injector:\n%s", inj.log())
		}
	})
	injectors.Store(ts.URL, inj)
	return ts
}

var injectors sync.Map // URL → *injector

func injectorOf(ts *httptest.Server) *injector {
	v, _ := injectors.Load(ts.URL)
	return v.(*injector)
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
		code := map[int]string{503: "SlowDown", 429: "TooManyRequests", 500: "InternalError", 404: "NotFound"}[f.status]
		w.Header().Set("Content-Type", "application/xml")
		rec.WriteHeader(f.status)
		if r.Method != http.MethodHead {
			fmt.Fprintf(w, "<Error><Code>%s</Code><Message>injected fault</Message></Error>", code)
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
		fmt.Fprintf(&b, "  %s %s ?%s → %d\n", h.at.Format("15:04:05.000"), h.method, h.query, h.status)
	}
	return b.String()
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 && code >= 200 { // not 100 Continue
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

func isPut(r *http.Request) bool  { return r.Method == http.MethodPut }
func isHead(r *http.Request) bool { return r.Method == http.MethodHead }
func isComplete(r *http.Request) bool {
	return r.Method == http.MethodPost && r.URL.Query().Has("uploadId")
}

// TestRetryAfter: 503 and 429 answers with Retry-After are retried after
// the wait they ask for, and the put succeeds.
func TestRetryAfter(t *testing.T) {
	needServers(t)
	t.Parallel()
	faults := []fault{
		{status: 503, retryAfter: "1"},
		{status: 429, retryAfter: "1"},
		{status: 503}, // no Retry-After: plain back-off
	}
	ts := newInjector(t, servers[0], isPut, faults...)
	cfg := config(t, servers[0])
	cfg.Endpoint, cfg.CAFile, cfg.MaxAttempts = ts.URL, "", 4
	d := newDest(t, cfg)
	content := []byte("retried\n")
	loc, err := d.Put(t.Context(), "retried.csv", bytes.NewReader(content), int64(len(content)))
	if err != nil {
		t.Fatalf("Put: %v", err)
	}
	if got, _ := get(t, servers[0], keyOf(t, loc)); got.sha256 != sumBytes(content) {
		t.Errorf("stored content differs")
	}
	hits := injectorOf(ts).requests()
	var puts []hit
	for _, h := range hits {
		if h.method == http.MethodPut {
			puts = append(puts, h)
		}
	}
	// 1 HEAD (not found) + 3 failed PUTs + 1 good PUT.
	if len(hits) != 5 || len(puts) != 4 {
		t.Fatalf("requests: %d (%d PUT), want 5 (4 PUT):\n%s", len(hits), len(puts), injectorOf(ts).log())
	}
	for i, want := range []int{503, 429, 503, 200} {
		if puts[i].status != want {
			t.Errorf("PUT %d answered %d, want %d", i+1, puts[i].status, want)
		}
	}
	// The SDK's own back-off for these is well under a second at first;
	// only Retry-After explains a wait of a second or more.
	for i := range 2 {
		if gap := puts[i+1].at.Sub(puts[i].at); gap < time.Second {
			t.Errorf("PUT %d came %v after a Retry-After: 1 answer, want ≥ 1s", i+2, gap)
		}
	}
}

// TestRetriesExhausted: a store that keeps failing gives a transient error
// after exactly MaxAttempts attempts.
func TestRetriesExhausted(t *testing.T) {
	needServers(t)
	t.Parallel()
	var faults []fault
	for range 10 {
		faults = append(faults, fault{status: 503})
	}
	ts := newInjector(t, servers[0], isHead, faults...)
	cfg := config(t, servers[0])
	cfg.Endpoint, cfg.CAFile, cfg.MaxAttempts = ts.URL, "", 3
	d := newDest(t, cfg)
	_, err := d.Put(t.Context(), "down.csv", strings.NewReader("x"), 1)
	if err == nil {
		t.Fatal("Put succeeded against a failing store")
	}
	if !outbox.IsTransient(err) {
		t.Errorf("IsTransient(%v) = false, want true", err)
	}
	if n := len(injectorOf(ts).requests()); n != 3 {
		t.Errorf("%d attempts, want MaxAttempts = 3", n)
	}
	if _, ok := get(t, servers[0], cfgKey(d, "down.csv")); ok {
		t.Errorf("object stored")
	}
}

// TestLostAnswer: the store writes the object but the answer is lost; the
// retry meets "If-None-Match: *" (412), finds its own content there, and
// succeeds. This is the path of a retry after a crash.
func TestLostAnswer(t *testing.T) {
	needServers(t)
	t.Parallel()
	for _, size := range []int64{100, 6 << 20} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			t.Parallel()
			match := isPut
			if size > 5<<20 {
				match = isComplete
			}
			ts := newInjector(t, servers[0], match, fault{status: 503, forward: true})
			cfg := config(t, servers[0])
			cfg.Endpoint, cfg.CAFile = ts.URL, ""
			d := newDest(t, cfg)
			loc, err := d.Put(t.Context(), "lost.zip", gen(5, size), size)
			if err != nil {
				t.Fatalf("Put: %v\n%s", err, injectorOf(ts).log())
			}
			if got, _ := get(t, servers[0], keyOf(t, loc)); got.sha256 != sumOf(gen(5, size)) {
				t.Errorf("stored content differs")
			}
			// A retried PutObject meets 412. A retried
			// CompleteMultipartUpload of the same upload id succeeds
			// again (as on AWS): the retry must reach the store.
			var saw412, completes int
			for _, h := range injectorOf(ts).requests() {
				if h.status == http.StatusPreconditionFailed {
					saw412++
				}
				if h.method == http.MethodPost && strings.Contains(h.query, "uploadId=") {
					completes++
				}
			}
			if size < 5<<20 && saw412 != 1 || size > 5<<20 && completes != 2 {
				t.Errorf("the retry did not reach the store as expected; requests:\n%s", injectorOf(ts).log())
			}
		})
	}
}

// TestConditionalComplete: the existence check misses the object (a
// writer got there in between); the conditional write still refuses to
// replace it: PutObject and CompleteMultipartUpload carry If-None-Match.
func TestConditionalComplete(t *testing.T) {
	needServers(t)
	t.Parallel()
	for _, size := range []int64{100, 6 << 20} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			t.Parallel()
			srv := servers[0]
			cfg := config(t, srv)
			first := newDest(t, cfg)
			if _, err := first.Put(t.Context(), "taken.zip", gen(1, size), size); err != nil {
				t.Fatal(err)
			}
			ts := newInjector(t, srv, isHead, fault{status: 404}) // the first HEAD lies
			cfg.Endpoint, cfg.CAFile = ts.URL, ""
			d := newDest(t, cfg)
			_, err := d.Put(t.Context(), "taken.zip", gen(2, size), size)
			if !errors.Is(err, outbox.ErrExists) {
				t.Fatalf("Put = %v, want ErrExists\n%s", err, injectorOf(ts).log())
			}
			key := cfgKey(d, "taken.zip")
			if got, _ := get(t, srv, key); got.sha256 != sumOf(gen(1, size)) {
				t.Errorf("the stored object was replaced")
			}
			if p := pendingUploads(t, srv, key); len(p) > 0 {
				t.Errorf("pending multipart uploads left: %v", p)
			}
		})
	}
}

// TestRequestHeaders: what Config and PutMeta ask for reaches the store
// (versitygw ignores storage classes and SSE, so look at the requests).
func TestRequestHeaders(t *testing.T) {
	needServers(t)
	t.Parallel()
	ts := newInjector(t, servers[0], nil)
	cfg := config(t, servers[0])
	cfg.Endpoint, cfg.CAFile = ts.URL, ""
	cfg.StorageClass, cfg.SSE, cfg.SSEKMSKeyID = "STANDARD_IA", "aws:kms", "alias/erpipe"
	d := newDest(t, cfg)
	meta := map[string]string{s3.MetaJob: "j-1"}
	for _, size := range []int64{10, 6 << 20} {
		if _, err := d.PutMeta(t.Context(), fmt.Sprintf("h%d.xml", size), gen(1, size), size, meta); err != nil {
			t.Fatal(err)
		}
	}
	want := map[string]string{
		"X-Amz-Storage-Class":                         "STANDARD_IA",
		"X-Amz-Server-Side-Encryption":                "aws:kms",
		"X-Amz-Server-Side-Encryption-Aws-Kms-Key-Id": "alias/erpipe",
		"X-Amz-Meta-Job":                              "j-1",
		"Content-Type":                                "application/xml",
	}
	var puts, creates, completes int
	for _, h := range injectorOf(ts).requests() {
		var check map[string]string
		switch {
		case h.method == http.MethodPut && !strings.Contains(h.query, "partNumber"): // PutObject
			puts++
			check = maps.Clone(want)
			check["If-None-Match"] = "*"
			check["X-Amz-Meta-Sha256"] = sumOf(gen(1, 10))
		case h.method == http.MethodPost && strings.HasPrefix(h.query, "uploads"): // CreateMultipartUpload
			creates++
			check = maps.Clone(want)
			check["X-Amz-Meta-Sha256"] = sumOf(gen(1, 6<<20))
		case h.method == http.MethodPost && strings.Contains(h.query, "uploadId="): // Complete
			completes++
			check = map[string]string{"If-None-Match": "*"}
		}
		for k, v := range check {
			if got := h.header.Get(k); got != v {
				t.Errorf("%s ?%s: header %s = %q, want %q", h.method, h.query, k, got, v)
			}
		}
	}
	if puts != 1 || creates != 1 || completes != 1 {
		t.Errorf("saw %d PutObject, %d CreateMultipartUpload, %d Complete; want 1 each:\n%s",
			puts, creates, completes, injectorOf(ts).log())
	}
}
