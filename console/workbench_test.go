package console_test

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// The workbench's files are served as the console's others are, and
// every API path workbench.js calls is one docs/openapi.yaml documents:
// the workbench has no endpoint of its own.
func TestWorkbenchAssets(t *testing.T) {
	base := serve(t, clientsYAML("tok-ops-0123456789"), "127.0.0.1:0")
	for path, c := range map[string]struct{ ctype, has string }{
		"/console/":              {"text/html; charset=utf-8", `<script src="workbench.js" defer></script>`},
		"/console/workbench.js":  {"text/javascript; charset=utf-8", "/api/v1/template-schema"},
		"/console/workbench.css": {"text/css; charset=utf-8", ".wb-editor"},
	} {
		resp, body := get(t, "GET", base+path, "")
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != c.ctype || !strings.Contains(body, c.has) ||
			!strings.Contains(resp.Header.Get("Content-Security-Policy"), "script-src 'self'") {
			t.Errorf("GET %s: %d %q %q", path, resp.StatusCode, resp.Header.Get("Content-Type"), resp.Header.Get("Content-Security-Policy"))
		}
	}
	js, err := os.ReadFile("static/workbench.js")
	if err != nil {
		t.Fatal(err)
	}
	spec, err := os.ReadFile("../docs/openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	// "/api/v1/templates/" + enc(name) + "/validate" is
	// /api/v1/templates/{name}/validate.
	calls := regexp.MustCompile(`"(/api/v1/[a-z/-]*)"(?: \+ enc\([^)]*\) \+ "(/[a-z]*)?)?`).FindAllStringSubmatch(string(js), -1)
	if len(calls) < 6 {
		t.Fatalf("found only %d API calls in workbench.js", len(calls))
	}
	for _, m := range calls {
		p := m[1]
		if strings.HasSuffix(p, "/") {
			p += "{name}" + m[2]
		}
		if !strings.Contains(string(spec), "\n  "+p+":") {
			t.Errorf("workbench.js calls %s, which docs/openapi.yaml does not document", p)
		}
	}
}
