package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/erpipe/erpipe/internal/servicetest"
	"github.com/erpipe/erpipe/jobs"
)

// sample is the customers-v3 template's own sample.
func sample(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile("../templates/customers-v3/samples/customers.csv")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// testEnv is a real daemon (jobs.Service) on a temporary workspace, with
// the API served by httptest.
type testEnv struct {
	t   *testing.T
	ws  string
	svc *jobs.Service
	srv *httptest.Server
	api *API
}

const activity = "6D31E09F-0249-459F-94F0-AAD9C2C47B64"

// newEnv starts a daemon on a workspace whose erpipe.yaml is yaml.
func newEnv(t *testing.T, yaml string) *testEnv {
	t.Helper()
	dir, svc, log := servicetest.New(t, yaml)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	for svc.Ready() != nil {
		time.Sleep(10 * time.Millisecond)
	}
	s := New(Options{Addr: "127.0.0.1:0", Logger: log})
	a := Register(s, Deps{Service: svc, Logger: log})
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	return &testEnv{t: t, ws: dir, svc: svc, srv: srv, api: a}
}

// do sends a request and returns the status, headers and body.
func (e *testEnv) do(method, path, token string, body io.Reader, hdr ...string) (int, http.Header, []byte) {
	e.t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, body)
	if err != nil {
		e.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b
}

// waitJob waits until job id has ended and returns it.
func (e *testEnv) waitJob(id, token string) jobView {
	e.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		code, _, b := e.do("GET", "/api/v1/jobs/"+id, token, nil)
		var v jobView
		if code == 200 && json.Unmarshal(b, &v) == nil && v.Final {
			return v
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("job %s did not end: %d %s", id, code, b)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func tokenYAML(clients ...[3]string) string {
	var b strings.Builder
	b.WriteString("http:\n  listen: 127.0.0.1:0\n  activities:\n    - id: \"{" + activity + "}\"\n      pipeline: customers-v3\n  clients:\n")
	for _, c := range clients {
		fmt.Fprintf(&b, "    - name: %s\n      token_sha256: %s\n      priority: %s\n", c[0], HashToken(c[0]+"-token"), c[1])
		if c[2] != "" {
			fmt.Fprintf(&b, "      pipelines: [%s]\n", c[2])
		}
	}
	return b.String()
}

func TestUploadJobDownload(t *testing.T) {
	e := newEnv(t, tokenYAML([3]string{"erp", "high", ""}))
	data := sample(t)
	code, h, b := e.do("POST", "/api/v1/pipelines/customers-v3/jobs?name=customers.csv", "erp-token", bytes.NewReader(data))
	if code != http.StatusAccepted {
		t.Fatalf("upload: %d %s", code, b)
	}
	var v jobView
	if err := json.Unmarshal(b, &v); err != nil || v.ID == "" || h.Get("Location") != "/api/v1/jobs/"+v.ID {
		t.Fatalf("upload answer %s (Location %q): %v", b, h.Get("Location"), err)
	}
	v = e.waitJob(v.ID, "erp-token")
	if v.Status != jobs.Processed || len(v.Outputs) != 1 || v.Outputs[0].Download == "" {
		t.Fatalf("job: %+v", v)
	}
	code, _, zip := e.do("GET", v.Outputs[0].Download, "erp-token", nil)
	if code != 200 || int64(len(zip)) != v.Outputs[0].Size || !bytes.HasPrefix(zip, []byte("PK")) {
		t.Fatalf("download: %d, %d bytes, want %d", code, len(zip), v.Outputs[0].Size)
	}
	// Range: the second ten bytes.
	code, h, part := e.do("GET", v.Outputs[0].Download, "erp-token", nil, "Range", "bytes=10-19")
	if code != http.StatusPartialContent || !bytes.Equal(part, zip[10:20]) || !strings.HasPrefix(h.Get("Content-Range"), "bytes 10-19/") {
		t.Errorf("range: %d %q %q", code, part, h.Get("Content-Range"))
	}
	// The list has it, with the filters of erpipe jobs.
	for _, tc := range []struct {
		query string
		n     int
		code  int
	}{
		{"", 1, 200},
		{"?status=processed", 1, 200},
		{"?status=failed", 0, 200},
		{"?pipeline=customers-v3&since=1h&limit=5", 1, 200},
		{"?pipeline=vendors-v2", 0, 200},
		{"?status=done", 0, 400},
		{"?since=yesterday", 0, 400},
		{"?limit=x", 0, 400},
	} {
		code, _, b := e.do("GET", "/api/v1/jobs"+tc.query, "erp-token", nil)
		var l struct{ Jobs []jobView }
		json.Unmarshal(b, &l)
		if code != tc.code || (code == 200 && len(l.Jobs) != tc.n) {
			t.Errorf("GET /api/v1/jobs%s: %d, %d jobs, want %d, %d: %s", tc.query, code, len(l.Jobs), tc.code, tc.n, b)
		}
	}
	// No upload is left behind in the upload folder.
	if left, _ := os.ReadDir(e.svc.UploadDir()); len(left) != 0 {
		t.Errorf("uploads left: %v", left)
	}
}

func TestIdempotencyKey(t *testing.T) {
	e := newEnv(t, tokenYAML([3]string{"a", "high", ""}, [3]string{"b", "high", ""}))
	data := sample(t)
	up := func(token, key string, body []byte) (int, jobView, []byte) {
		code, _, b := e.do("POST", "/api/v1/pipelines/customers-v3/jobs?name=customers.csv", token, bytes.NewReader(body), "Idempotency-Key", key)
		var v jobView
		json.Unmarshal(b, &v)
		return code, v, b
	}
	code, first, b := up("a-token", "k-1", data)
	if code != http.StatusAccepted {
		t.Fatalf("first: %d %s", code, b)
	}
	code, again, _ := up("a-token", "k-1", data)
	if code != http.StatusOK || again.ID != first.ID {
		t.Errorf("replay: %d job %s, want 200 and job %s", code, again.ID, first.ID)
	}
	other := append(bytes.Clone(data), []byte("US-999,Other,10,USD,USA,1 Road,City,1,x@y.example,1,1.00,30,en-us,CA,CHECK\n")...)
	code, _, b = up("a-token", "k-1", other)
	if code != http.StatusConflict || !strings.Contains(string(b), first.ID) {
		t.Errorf("same key, other body: %d %s, want 409 naming job %s", code, b, first.ID)
	}
	// Keys are each client's own: b's k-1 is a new upload (a Duplicate job of the same content).
	code, fromB, _ := up("b-token", "k-1", data)
	if code != http.StatusAccepted || fromB.ID == first.ID {
		t.Errorf("another client's same key: %d %s", code, fromB.ID)
	}
	e.waitJob(first.ID, "a-token")
	if v := e.waitJob(fromB.ID, "b-token"); v.Status != jobs.Duplicate {
		t.Errorf("the same content again is %s, want Duplicate (the rules of a dropped file)", v.Status)
	}
	// Three jobs were never made of it: one per accepted upload.
	_, _, b = e.do("GET", "/api/v1/jobs", "a-token", nil)
	var l struct{ Jobs []jobView }
	json.Unmarshal(b, &l)
	if len(l.Jobs) != 2 {
		t.Errorf("%d jobs, want 2: %s", len(l.Jobs), b)
	}
	// The key survives a restart: it is in the journal.
	rec, err := e.svc.Journal().UploadByKey(context.Background(), "a", "k-1")
	if err != nil || rec == nil || rec.Job != first.ID {
		t.Errorf("journal record of the key: %+v %v", rec, err)
	}
}

func TestAuthAndScopes(t *testing.T) {
	yaml := tokenYAML([3]string{"all", "high", ""}, [3]string{"scoped", "low", "vendors-v2"}) +
		"    - name: gone\n      token_sha256: " + HashToken("gone-token") + "\n      revoked: true\n"
	e := newEnv(t, yaml)
	for _, tc := range []struct {
		method, path, token string
		code                int
		says                string
	}{
		{"GET", "/api/v1/pipelines", "", 401, "Authorization: Bearer"},
		{"GET", "/api/v1/pipelines", "wrong", 401, "not known"},
		{"GET", "/api/v1/pipelines", "gone-token", 401, "revoked"},
		{"GET", "/api/v1/pipelines", "all-token", 200, "customers-v3"},
		{"GET", "/api/v1/jobs?pipeline=customers-v3", "scoped-token", 403, "may not use pipeline"},
		{"POST", "/api/v1/pipelines/customers-v3/jobs?name=a.csv", "scoped-token", 403, "may not use pipeline"},
		{"POST", "/api/v1/pipelines/nothing/jobs?name=a.csv", "all-token", 404, "no pipeline"},
		{"POST", "/api/v1/pipelines/customers-v3/jobs", "all-token", 400, "plain file name"},
		{"POST", "/api/v1/pipelines/customers-v3/jobs?name=../../etc/passwd.exe", "all-token", 422, "cannot take"},
		{"GET", "/api/v1/jobs/20990101-000000-abcdef", "all-token", 404, "no job"},
		{"GET", "/api/v1/templates/nothing", "all-token", 404, "no template"},
		{"GET", "/api/v1/templates/../../etc/passwd", "all-token", 404, ""},
		{"GET", "/healthz", "", 200, "ok"},
	} {
		code, h, b := e.do(tc.method, tc.path, tc.token, strings.NewReader("x"))
		if code != tc.code || !strings.Contains(string(b), tc.says) {
			t.Errorf("%s %s (%s): %d %s, want %d with %q", tc.method, tc.path, tc.token, code, b, tc.code, tc.says)
		}
		if code == 401 && h.Get("WWW-Authenticate") == "" {
			t.Errorf("%s %s: 401 without WWW-Authenticate", tc.method, tc.path)
		}
	}
	// A scoped client sees only its pipelines.
	_, _, b := e.do("GET", "/api/v1/pipelines", "scoped-token", nil)
	if strings.Contains(string(b), "customers-v3") || !strings.Contains(string(b), "vendors-v2") {
		t.Errorf("scoped client's pipelines: %s", b)
	}
}

// Without clients the API answers loopback only when it listens on
// loopback; listening beyond it, it refuses everything.
func TestOpenWithoutClients(t *testing.T) {
	e := newEnv(t, "http:\n  listen: 127.0.0.1:0\n")
	if code, _, b := e.do("GET", "/api/v1/pipelines", "", nil); code != 200 {
		t.Errorf("loopback without clients: %d %s", code, b)
	}
	s := New(Options{Addr: "0.0.0.0:0"})
	Register(s, Deps{Service: e.svc, Logger: slog.New(slog.DiscardHandler)})
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/api/v1/pipelines")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Errorf("beyond loopback without clients: %d, want 401", resp.StatusCode)
	}
}

func TestBadUploads(t *testing.T) {
	e := newEnv(t, tokenYAML([3]string{"c", "high", ""})+"  max_upload: 1KiB\n")
	big := bytes.Repeat([]byte("x"), 2048)
	for _, tc := range []struct {
		name   string
		body   io.Reader
		length int64 // -1: chunked
		code   int
		says   string
	}{
		{"larger than the limit, declared", bytes.NewReader(big), 2048, 413, "at most 1024"},
		{"larger than the limit, chunked", io.MultiReader(bytes.NewReader(big)), -1, 413, "larger than 1024"},
	} {
		req, _ := http.NewRequest("POST", e.srv.URL+"/api/v1/pipelines/customers-v3/jobs?name=c.csv", tc.body)
		req.ContentLength = tc.length
		req.Header.Set("Authorization", "Bearer c-token")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.code || !strings.Contains(string(b), tc.says) {
			t.Errorf("%s: %d %s, want %d with %q", tc.name, resp.StatusCode, b, tc.code, tc.says)
		}
	}
	// Nothing half-stored: no job, no upload left.
	_, _, b := e.do("GET", "/api/v1/jobs", "c-token", nil)
	if !strings.Contains(string(b), `"jobs":[]`) {
		t.Errorf("jobs after refused uploads: %s", b)
	}
	if left, _ := os.ReadDir(e.svc.UploadDir()); len(left) != 0 {
		t.Errorf("uploads left: %v", left)
	}
}

// A client that sends its body slower than body_timeout is cut off with
// 408, and nothing is kept.
func TestSlowClient(t *testing.T) {
	e := newEnv(t, tokenYAML([3]string{"c", "high", ""})+"  body_timeout: 300ms\n")
	pr, pw := io.Pipe()
	go func() {
		pw.Write(sample(t)[:100])
		time.Sleep(2 * time.Second) // stalls
		pw.Close()
	}()
	start := time.Now()
	code, _, b := e.do("POST", "/api/v1/pipelines/customers-v3/jobs?name=slow.csv", "c-token", pr)
	if code != http.StatusRequestTimeout || !strings.Contains(string(b), "took longer than 300ms") {
		t.Errorf("slow upload: %d %s, want 408", code, b)
	}
	if d := time.Since(start); d > 1500*time.Millisecond {
		t.Errorf("the slow client was answered after %v, want about the 300ms body_timeout", d)
	}
	if left, _ := os.ReadDir(e.svc.UploadDir()); len(left) != 0 {
		t.Errorf("uploads left: %v", left)
	}
}

// OnRequest hears of every API request, by client and status.
func TestOnRequest(t *testing.T) {
	e := newEnv(t, tokenYAML([3]string{"c", "high", ""}))
	var mu sync.Mutex
	got := map[string]int{}
	e.api.observe = func(client, route string, status int, _ time.Duration) {
		mu.Lock()
		got[fmt.Sprintf("%s %s %d", client, route, status)]++
		mu.Unlock()
	}
	e.do("GET", "/api/v1/pipelines", "c-token", nil)
	e.do("GET", "/api/v1/pipelines", "bad", nil)
	e.do("GET", "/api/v1/jobs/nothing", "c-token", nil)
	mu.Lock()
	defer mu.Unlock()
	for _, want := range []string{"c GET /api/v1/pipelines 200", " GET /api/v1/pipelines 401", "c GET /api/v1/jobs/{id} 404"} {
		if got[want] != 1 {
			t.Errorf("OnRequest heard %v, want %q once", got, want)
		}
	}
}

// Clients follow the configuration: a token revoked in erpipe.yaml is
// refused once the daemon reloads it, without a restart.
func TestRevokeOnReload(t *testing.T) {
	yaml := tokenYAML([3]string{"c", "high", ""}, [3]string{"admin", "high", ""})
	e := newEnv(t, yaml)
	if code, _, b := e.do("GET", "/api/v1/pipelines", "c-token", nil); code != 200 {
		t.Fatalf("before: %d %s", code, b)
	}
	revoked := strings.Replace(yaml, "      priority: high\n", "      priority: high\n      revoked: true\n", 1)
	if err := os.WriteFile(filepath.Join(e.ws, "erpipe.yaml"), []byte(revoked), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	if code, _, b := e.do("GET", "/api/v1/pipelines", "c-token", nil); code != 401 || !strings.Contains(string(b), "revoked") {
		t.Errorf("after the reload: %d %s, want 401 revoked", code, b)
	}
	if code, _, _ := e.do("GET", "/api/v1/pipelines", "admin-token", nil); code != 200 {
		t.Errorf("the other client after the reload: %d", code)
	}
}

// Retries of one upload that arrive together make one job: all of them
// are answered with it.
func TestIdempotencyKeyConcurrent(t *testing.T) {
	e := newEnv(t, tokenYAML([3]string{"c", "high", ""}))
	data := sample(t)
	ids := make([]string, 8)
	var wg sync.WaitGroup
	for i := range ids {
		wg.Go(func() {
			req, _ := http.NewRequest("POST", e.srv.URL+"/api/v1/pipelines/customers-v3/jobs?name=customers.csv", bytes.NewReader(data))
			req.Header.Set("Authorization", "Bearer c-token")
			req.Header.Set("Idempotency-Key", "same")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			defer resp.Body.Close()
			var v jobView
			json.NewDecoder(resp.Body).Decode(&v)
			ids[i] = v.ID
		})
	}
	wg.Wait()
	for _, id := range ids {
		if id == "" || id != ids[0] {
			t.Fatalf("concurrent retries answered %v, want one job", ids)
		}
	}
	_, _, b := e.do("GET", "/api/v1/jobs", "c-token", nil)
	if n := strings.Count(string(b), `"id":`); n != 1 {
		t.Errorf("%d jobs, want 1: %s", n, b)
	}
}

// A file with a bad row: the job ends ProcessedWithErrors, and its report
// and rejected rows are served.
func TestReportAndRejected(t *testing.T) {
	e := newEnv(t, tokenYAML([3]string{"c", "high", ""}))
	lines := strings.SplitN(string(sample(t)), "\n", 3)
	bad := strings.Replace(lines[1], "Contoso Retail San Diego", "", 1) // a customer without a name
	body := lines[0] + "\n" + lines[1] + "\n" + bad + "\n"
	code, _, b := e.do("POST", "/api/v1/pipelines/customers-v3/jobs?name=c.csv", "c-token", strings.NewReader(body))
	var v jobView
	if code != 202 || json.Unmarshal(b, &v) != nil {
		t.Fatalf("upload: %d %s", code, b)
	}
	v = e.waitJob(v.ID, "c-token")
	if v.Status != jobs.ProcessedWithErrors || v.RowsRejected != 1 || v.Report == "" || v.Rejected == "" {
		t.Fatalf("job: %+v", v)
	}
	if code, _, b := e.do("GET", v.Report, "c-token", nil); code != 200 || !strings.Contains(string(b), "Name") {
		t.Errorf("report: %d %s", code, b)
	}
	code, h, b := e.do("GET", v.Rejected, "c-token", nil)
	if code != 200 || !strings.Contains(string(b), "US-001") || !strings.Contains(h.Get("Content-Disposition"), "rejected") {
		t.Errorf("rejected rows: %d %q %s", code, h.Get("Content-Disposition"), b)
	}
}

// A client over its rate is answered 429 with the time until its next
// request; another client is not held up by it.
func TestClientRate(t *testing.T) {
	yaml := tokenYAML([3]string{"slow", "high", ""}, [3]string{"other", "low", ""})
	yaml = strings.Replace(yaml, "      priority: high\n", "      priority: high\n      rate: 0.5\n      burst: 2\n", 1)
	e := newEnv(t, yaml)
	for i, want := range []int{200, 200, 429} {
		code, h, b := e.do("GET", "/api/v1/pipelines", "slow-token", nil)
		if code != want {
			t.Errorf("request %d: %d %s, want %d", i, code, b, want)
		}
		if code == 429 && (h.Get("Retry-After") != "2" || !strings.Contains(string(b), "rate")) {
			t.Errorf("over the rate: Retry-After %q, %s; want 2 s", h.Get("Retry-After"), b)
		}
	}
	if code, _, _ := e.do("GET", "/api/v1/pipelines", "other-token", nil); code != 200 {
		t.Errorf("another client: %d", code)
	}
}

// With more queued work than configured, low-priority uploads are refused
// first (half of queued), then medium, and high ones last, each 429 with a
// Retry-After.
func TestQueueLimitByPriority(t *testing.T) {
	yaml := "workers: 1\n" + tokenYAML([3]string{"hi", "high", ""}, [3]string{"mid", "medium", ""}, [3]string{"lo", "low", ""}) +
		"  limits: {queued: 4, rate: 1000, burst: 1000}\n"
	e := newEnv(t, yaml)
	// A large file keeps the one worker busy while the others queue.
	var big strings.Builder
	lines := strings.SplitN(string(sample(t)), "\n", 3)
	big.WriteString(lines[0] + "\n")
	for i := range 60000 {
		fmt.Fprintf(&big, "BIG-%06d%s\n", i, lines[1][len("US-001"):])
	}
	up := func(client string, i int) (int, http.Header) {
		body := lines[0] + "\n" + strings.Replace(lines[1], "US-001", fmt.Sprintf("Q%s-%d", client, i), 1) + "\n"
		code, h, _ := e.do("POST", fmt.Sprintf("/api/v1/pipelines/customers-v3/jobs?name=%s%d.csv", client, i), client+"-token", strings.NewReader(body))
		return code, h
	}
	if code, _, b := e.do("POST", "/api/v1/pipelines/customers-v3/jobs?name=big.csv", "hi-token", strings.NewReader(big.String())); code != 202 {
		t.Fatalf("the large file: %d %s", code, b)
	}
	for e.svc.Queued() > 0 { // the worker has taken it
		time.Sleep(5 * time.Millisecond)
	}
	var got []string
	for _, c := range []string{"lo", "lo", "lo", "mid", "mid", "hi", "hi"} {
		code, h := up(c, len(got))
		if code == 429 && h.Get("Retry-After") == "" {
			t.Errorf("a 429 without Retry-After")
		}
		got = append(got, fmt.Sprintf("%s:%d", c, code))
	}
	// queued 0, 1 take low; at 2 (half of 4) low is refused; medium up to 3; high up to 4.
	want := []string{"lo:202", "lo:202", "lo:429", "mid:202", "mid:429", "hi:202", "hi:429"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("answers %v, want %v (queued now %d)", got, want, e.svc.Queued())
	}
}
