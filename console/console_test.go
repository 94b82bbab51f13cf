package console_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/erpipe/erpipe/api"
	"github.com/erpipe/erpipe/console"
	"github.com/erpipe/erpipe/internal/servicetest"
)

// serve starts a real daemon (jobs.Service) on a workspace with yaml as
// its erpipe.yaml and a real api.Server on addr with the API and the
// console mounted, as erpipe run does; it returns the base URL.
func serve(t *testing.T, yaml, addr string) string {
	t.Helper()
	_, svc, log := servicetest.New(t, yaml)
	s := api.New(api.Options{Addr: addr, Logger: log})
	if err := s.Listen(); err != nil {
		t.Fatal(err)
	}
	api.Register(s, api.Deps{Service: svc, Logger: log})
	console.Mount(s)
	svc.Background = append(svc.Background, s.Serve)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	base := s.URL()
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the server at %s did not get ready: %v", base, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return base
}

func clientsYAML(token string) string {
	sum := sha256.Sum256([]byte(token))
	return fmt.Sprintf("http:\n  clients:\n    - name: ops\n      token_sha256: %s\n", hex.EncodeToString(sum[:]))
}

// get sends one request without following redirects.
func get(t *testing.T, method, url, token string, hdr ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// The console's files are served with their content types and the
// security headers; / and /console send the browser to /console/.
func TestAssets(t *testing.T) {
	base := serve(t, clientsYAML("tok-ops-0123456789"), "127.0.0.1:0")
	for _, c := range []struct{ path, ctype, has string }{
		{"/console/", "text/html; charset=utf-8", `<script src="console.js" defer></script>`},
		{"/console/index.html", "text/html; charset=utf-8", "<title>erpipe console</title>"},
		{"/console/console.js", "text/javascript; charset=utf-8", "/api/v1/jobs"},
		{"/console/console.css", "text/css; charset=utf-8", ".dropzone"},
	} {
		resp, body := get(t, "GET", base+c.path, "")
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != c.ctype || !strings.Contains(body, c.has) {
			t.Errorf("GET %s: %d %q, body has %q: %v", c.path, resp.StatusCode, resp.Header.Get("Content-Type"), c.has, strings.Contains(body, c.has))
		}
		h := resp.Header
		if csp := h.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") || !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") {
			t.Errorf("GET %s: Content-Security-Policy %q", c.path, csp)
		}
		if h.Get("X-Content-Type-Options") != "nosniff" || h.Get("ETag") == "" {
			t.Errorf("GET %s: X-Content-Type-Options %q, ETag %q", c.path, h.Get("X-Content-Type-Options"), h.Get("ETag"))
		}
		// Revalidation answers 304; HEAD answers the headers.
		if resp2, _ := get(t, "GET", base+c.path, "", "If-None-Match", h.Get("ETag")); resp2.StatusCode != 304 {
			t.Errorf("GET %s with its ETag: %d, want 304", c.path, resp2.StatusCode)
		}
		if resp2, body := get(t, "HEAD", base+c.path, ""); resp2.StatusCode != 200 || body != "" || resp2.Header.Get("Content-Type") != c.ctype {
			t.Errorf("HEAD %s: %d %q", c.path, resp2.StatusCode, resp2.Header.Get("Content-Type"))
		}
	}
	for path, want := range map[string]string{"/": "/console/", "/console": "/console/"} {
		resp, _ := get(t, "GET", base+path, "")
		if resp.StatusCode/100 != 3 || resp.Header.Get("Location") != want {
			t.Errorf("GET %s: %d Location %q, want a redirect to %s", path, resp.StatusCode, resp.Header.Get("Location"), want)
		}
	}
	if resp, _ := get(t, "POST", base+"/console/", ""); resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /console/: %d, want 405", resp.StatusCode)
	}
}

// No folder is listed and nothing but the console's own files is served.
func TestNoListing(t *testing.T) {
	base := serve(t, clientsYAML("tok-ops-0123456789"), "127.0.0.1:0")
	for _, path := range []string{"/console/static/", "/console/static", "/console/static/index.html", "/console/nope.js",
		"/console/console.go", "/console/.", "/console//", "/console/%2e%2e/api/v1/jobs", "/nope"} {
		resp, body := get(t, "GET", base+path, "")
		// The mux's own redirects of unclean paths (/console/. to
		// /console/) are fine; a 200 or a listing is not.
		redirect := resp.StatusCode/100 == 3 && strings.HasPrefix(resp.Header.Get("Location"), "/console/")
		if resp.StatusCode == 200 || (!redirect && (strings.Contains(body, "<a href") || strings.Contains(body, "console.js\""))) {
			t.Errorf("GET %s: %d, a listing or a file:\n%.300s", path, resp.StatusCode, body)
		}
	}
	h := console.Handler() // also on its own, for any path a mux would hand it
	for _, path := range []string{"/console/static", "/console/../go.mod", "/elsewhere/index.html"} {
		req, _ := http.NewRequest("GET", "http://x"+path, nil)
		req.URL.Path = path
		rec := &recorder{h: http.Header{}}
		h.ServeHTTP(rec, req)
		if rec.code != 404 {
			t.Errorf("Handler %s: %d, want 404", path, rec.code)
		}
	}
}

type recorder struct {
	h    http.Header
	code int
}

func (r *recorder) Header() http.Header         { return r.h }
func (r *recorder) Write(b []byte) (int, error) { return len(b), nil }
func (r *recorder) WriteHeader(code int)        { r.code = code }

// The console is a client of the API: its page loads without a token (it
// asks for one), but everything it shows comes from the API, whose
// authentication applies as to any client.
func TestAPIAuthApplies(t *testing.T) {
	const tok = "tok-ops-0123456789"
	base := serve(t, clientsYAML(tok), "127.0.0.1:0")
	if resp, _ := get(t, "GET", base+"/console/", ""); resp.StatusCode != 200 {
		t.Fatalf("the console's page without a token: %d", resp.StatusCode)
	}
	for _, path := range apiPaths(t) {
		if path == "/api/v1/session" {
			continue // signing in and out (POST, DELETE): answered without a token
		}
		resp, body := get(t, "GET", base+path, "")
		if resp.StatusCode != 401 || !strings.Contains(body, `"unauthorized"`) || resp.Header.Get("WWW-Authenticate") == "" {
			t.Errorf("GET %s without a token: %d %s, want 401", path, resp.StatusCode, body)
		}
		if resp, body := get(t, "GET", base+path, "not-"+tok); resp.StatusCode != 401 {
			t.Errorf("GET %s with a wrong token: %d %s, want 401", path, resp.StatusCode, body)
		}
	}
	if resp, body := get(t, "GET", base+"/api/v1/jobs?limit=500", tok); resp.StatusCode != 200 || !strings.Contains(body, `"jobs"`) {
		t.Errorf("GET /api/v1/jobs with the token: %d %s", resp.StatusCode, body)
	}
	// A loopback server without clients is open to this machine, the
	// console included (no token asked).
	open := serve(t, "", "127.0.0.1:0")
	if resp, body := get(t, "GET", open+"/api/v1/pipelines", ""); resp.StatusCode != 200 {
		t.Errorf("loopback without clients: %d %s", resp.StatusCode, body)
	}
}

// Beyond loopback without clients the API refuses every request, the
// console's too; the page itself is served (it says why).
func TestNoClientsBeyondLoopback(t *testing.T) {
	ip := nonLoopbackIP(t)
	base := serve(t, "", ip+":0")
	if resp, _ := get(t, "GET", base+"/console/", ""); resp.StatusCode != 200 {
		t.Errorf("the page: %d", resp.StatusCode)
	}
	if resp, body := get(t, "GET", base+"/api/v1/jobs", ""); resp.StatusCode != 401 || !strings.Contains(body, "no API clients") {
		t.Errorf("GET /api/v1/jobs: %d %s, want 401", resp.StatusCode, body)
	}
}

// apiPaths are the API paths console.js calls (those without a job ID),
// each one the API documents in docs/openapi.yaml: the console has no
// endpoint of its own.
func apiPaths(t *testing.T) []string {
	t.Helper()
	js, err := os.ReadFile("static/console.js")
	if err != nil {
		t.Fatal(err)
	}
	spec, err := os.ReadFile("../docs/openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var fixed []string
	seen := map[string]bool{}
	for _, m := range regexp.MustCompile(`"(/api/[a-z0-9/]*)`).FindAllStringSubmatch(string(js), -1) {
		p := strings.TrimSuffix(m[1], "/")
		if seen[p] {
			continue
		}
		seen[p] = true
		// "/api/v1/jobs/" + id + "/retry" is /api/v1/jobs/{id}: its
		// prefix must be documented.
		if !strings.Contains(string(spec), "  "+p) {
			t.Errorf("console.js calls %s, which docs/openapi.yaml does not document", p)
		}
		if !strings.HasSuffix(m[1], "/") {
			fixed = append(fixed, p)
		}
	}
	if len(fixed) < 2 {
		t.Fatalf("found only %v in console.js", fixed)
	}
	return fixed
}

func nonLoopbackIP(t *testing.T) string {
	t.Helper()
	addrs, err := netInterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range addrs {
		if a.To4() != nil && !a.IsLoopback() {
			return a.String()
		}
	}
	t.Fatal("this machine has no IPv4 address but loopback, which the test needs")
	return ""
}

func netInterfaceAddrs() ([]net.IP, error) {
	addrs, err := net.InterfaceAddrs()
	var ips []net.IP
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok {
			ips = append(ips, n.IP)
		}
	}
	return ips, err
}

// Over HTTPS the pages tell the browser to keep to it (HSTS); over HTTP
// they do not (a header a browser ignores there).
func TestHSTS(t *testing.T) {
	srv := httptest.NewTLSServer(console.Handler())
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL + "/console/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := resp.Header.Get("Strict-Transport-Security"); got != "max-age=31536000" {
		t.Errorf("over HTTPS: Strict-Transport-Security %q", got)
	}
	plain := httptest.NewServer(console.Handler())
	defer plain.Close()
	if resp, _ := get(t, "GET", plain.URL+"/console/", ""); resp.Header.Get("Strict-Transport-Security") != "" {
		t.Error("over HTTP: Strict-Transport-Security is set")
	}
}
