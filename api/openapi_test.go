package api

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
)

// spec loads docs/openapi.yaml and checks it is valid OpenAPI 3.
func spec(t *testing.T) (*openapi3.T, routers.Router) {
	t.Helper()
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromFile("../docs/openapi.yaml")
	if err != nil {
		t.Fatalf("docs/openapi.yaml: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("docs/openapi.yaml is not valid OpenAPI 3: %v", err)
	}
	doc.Servers = nil // match any host: the test server's
	router, err := legacy.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	return doc, router
}

// checker is a transport that validates every request and response
// against the spec, and counts the operations it saw.
type checker struct {
	t      *testing.T
	router routers.Router
	mu     sync.Mutex
	seen   map[string]bool
}

func (c *checker) RoundTrip(req *http.Request) (*http.Response, error) {
	var reqBody []byte
	if req.Body != nil {
		reqBody, _ = io.ReadAll(req.Body)
		req.Body = io.NopCloser(bytes.NewReader(reqBody))
	}
	route, params, err := c.router.FindRoute(req)
	if err != nil {
		c.t.Errorf("%s %s is not in docs/openapi.yaml: %v", req.Method, req.URL.Path, err)
		return http.DefaultTransport.RoundTrip(req)
	}
	c.mu.Lock()
	c.seen[req.Method+" "+route.Path] = true
	c.mu.Unlock()
	opts := &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}
	in := &openapi3filter.RequestValidationInput{Request: req.Clone(req.Context()), PathParams: params, Route: route, Options: opts}
	in.Request.Body = io.NopCloser(bytes.NewReader(reqBody))
	reqErr := openapi3filter.ValidateRequest(req.Context(), in)
	req.Body = io.NopCloser(bytes.NewReader(reqBody))
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body = io.NopCloser(bytes.NewReader(body))
	// A request the server refuses (4xx) may break the spec on purpose.
	if reqErr != nil && resp.StatusCode < 400 {
		c.t.Errorf("%s %s was served (%d) but does not follow docs/openapi.yaml: %v", req.Method, req.URL, resp.StatusCode, reqErr)
	}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: resp.StatusCode, Header: resp.Header, Options: opts}
	out.SetBodyBytes(body)
	if err := openapi3filter.ValidateResponse(req.Context(), out); err != nil {
		c.t.Errorf("the answer to %s %s (%d %.200s) does not follow docs/openapi.yaml: %v", req.Method, req.URL, resp.StatusCode, body, err)
	}
	return resp, nil
}

func init() {
	for _, ct := range []string{"application/octet-stream", "text/csv", "application/zip", "text/plain"} {
		openapi3filter.RegisterBodyDecoder(ct, openapi3filter.FileBodyDecoder)
	}
}

// TestOpenAPI runs every endpoint through a client that checks each
// request and answer against docs/openapi.yaml, and checks that the spec
// and the server have the same endpoints.
func TestOpenAPI(t *testing.T) {
	doc, router := spec(t)
	e := newEnv(t, tokenYAML([3]string{"c", "high", ""}))
	ck := &checker{t: t, router: router, seen: map[string]bool{}}
	client := &http.Client{Transport: ck}
	call := func(method, path string, body []byte, hdr ...string) (int, []byte) {
		t.Helper()
		var r io.Reader
		if body != nil {
			r = bytes.NewReader(body)
		}
		req, _ := http.NewRequest(method, e.srv.URL+path, r)
		req.Header.Set("Authorization", "Bearer c-token")
		if body != nil {
			req.Header.Set("Content-Type", "application/octet-stream")
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
	data := sample(t)
	bad := []byte("Account,Name\nUS-001,\n")
	call("GET", "/healthz", nil)
	call("GET", "/readyz", nil)
	call("GET", "/api/v1/me", nil)
	call("POST", "/api/v1/session", []byte(`{"name":"a","password":"b"}`), "Content-Type", "application/json")
	call("DELETE", "/api/v1/session", nil)
	call("GET", "/api/v1/pipelines", nil)
	_, b := call("POST", "/api/v1/pipelines/customers-v3/jobs?name=customers.csv", data, "Idempotency-Key", "spec-1")
	var ok jobView
	json.Unmarshal(b, &ok)
	call("POST", "/api/v1/pipelines/customers-v3/jobs?name=customers.csv", data, "Idempotency-Key", "spec-1")
	call("POST", "/api/v1/pipelines/customers-v3/jobs?name=customers.csv", bad, "Idempotency-Key", "spec-1")
	_, b = call("POST", "/api/v1/pipelines/customers-v3/jobs?name=bad.csv", bad)
	var failed jobView
	json.Unmarshal(b, &failed)
	e.waitJob(ok.ID, "c-token")
	failed = e.waitJob(failed.ID, "c-token")
	_, b = call("GET", "/api/v1/jobs/"+ok.ID, nil)
	json.Unmarshal(b, &ok)
	call("GET", "/api/v1/jobs?status=processed&limit=10", nil)
	call("GET", "/api/v1/jobs?status=nothing", nil)
	_, b = call("GET", "/api/v1/jobs?page_size=1&q=csv", nil)
	var page struct{ Next string }
	json.Unmarshal(b, &page)
	if page.Next == "" {
		t.Errorf("a page of one job of several has no next: %s", b)
	} else {
		call("GET", page.Next, nil)
	}
	call("GET", "/api/v1/jobs?page_size=1&cursor=bad", nil)
	call("GET", ok.Outputs[0].Download, nil)
	call("GET", ok.Outputs[0].Download, nil, "Range", "bytes=0-9")
	call("GET", "/api/v1/jobs/"+failed.ID+"/report", nil)
	call("GET", "/api/v1/jobs/"+failed.ID+"/rejected", nil)
	call("POST", "/api/v1/jobs/"+failed.ID+"/corrections", []byte(`{"rows":[["US-001","Name"]]}`), "Content-Type", "application/json") // a CSV's: 409
	call("POST", "/api/v1/jobs/"+failed.ID+"/retry", nil)
	call("GET", "/api/v1/jobs/nothing", nil)
	call("GET", "/api/v1/schedules", nil)
	call("GET", "/api/v1/schedules/nothing", nil)
	call("GET", "/api/v1/jobs/"+ok.ID+"/receipt", nil)
	call("POST", "/api/v1/schedules/nothing/run?period=2026-10", nil)
	call("GET", "/api/v1/templates", nil)
	call("GET", "/api/v1/templates/customers-v3", nil)
	code, b := call("POST", "/api/v1/templates/customers-v3/preview?name=customers.csv&rows=3", data)
	if code != 200 || !strings.Contains(string(b), "US-001") {
		t.Errorf("preview: %d %s", code, b)
	}
	act := "/" + url.PathEscape("{"+activity+"}")
	code, b = call("POST", "/api/connector/enqueue"+act+"?entity=Customers&company=USMF", bytes.ReplaceAll(data, []byte("US-0"), []byte("MX-0")), "x-ms-dyn-externalidentifier", "mx.csv")
	var msg string
	json.Unmarshal(b, &msg)
	if code != 200 {
		t.Fatalf("enqueue: %d %s", code, b)
	}
	call("GET", "/api/connector/jobstatus"+act+"?jobId="+msg, nil)
	_, dq := call("GET", "/api/connector/dequeue"+act, nil)
	var m struct{ DownloadLocation string }
	json.Unmarshal(dq, &m)
	if u, err := url.Parse(m.DownloadLocation); err == nil && m.DownloadLocation != "" {
		call("GET", u.RequestURI(), nil)
	}
	call("POST", "/api/connector/ack"+act, dq, "Content-Type", "application/json")
	call("POST", "/api/connector/ack"+act, []byte("{"), "Content-Type", "application/json")
	call("GET", "/api/connector/dequeue"+act, nil)

	openAPIWorkbench(t, e, client) // workbench_test.go

	// Every operation of the spec was served, and every route is in it.
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			if !ck.seen[method+" "+path] {
				t.Errorf("%s %s of docs/openapi.yaml was not exercised", method, path)
			}
		}
	}
	for _, r := range e.api.openRoutes() {
		method, path, _ := strings.Cut(r.pattern, " ")
		if doc.Paths.Find(path) == nil || doc.Paths.Find(path).GetOperation(method) == nil {
			t.Errorf("route %s is not in docs/openapi.yaml", r.pattern)
		}
	}
	for _, r := range e.api.routes() {
		method, path, _ := strings.Cut(r.pattern, " ")
		path = strings.ReplaceAll(path, "{activity}", "{activityId}")
		if doc.Paths.Find(path) == nil || doc.Paths.Find(path).GetOperation(method) == nil {
			t.Errorf("route %s is not in docs/openapi.yaml", r.pattern)
			continue
		}
		if role := doc.Paths.Find(path).GetOperation(method).Extensions["x-erpipe-role"]; role != string(r.role) {
			t.Errorf("route %s needs the role %s, docs/openapi.yaml's x-erpipe-role says %v", r.pattern, r.role, role)
		}
	}
}
