package api

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/erpipe/erpipe/workspace"
)

// rolesYAML registers a client per role, named after it (its token is
// "<role>-token"), and one without a role.
func rolesYAML() string {
	var b strings.Builder
	b.WriteString("http:\n  listen: 127.0.0.1:0\n  clients:\n")
	for _, r := range workspace.Roles {
		fmt.Fprintf(&b, "    - {name: %s, token_sha256: %s, role: %s}\n", r, HashToken(string(r)+"-token"), r)
	}
	fmt.Fprintf(&b, "    - {name: unset, token_sha256: %s}\n", HashToken("unset-token"))
	return b.String()
}

// Every route × every role: a role below the route's is refused with 403
// and code "role" before anything else happens; a role at or above it
// gets past the check (whatever the handler then answers for the made-up
// names in the path). A client without a role is an operator.
func TestRolesByRoute(t *testing.T) {
	e := newEnv(t, rolesYAML())
	param := regexp.MustCompile(`\{[^}]+\}`)
	want := map[string]workspace.Role{}
	for _, rt := range e.api.routes() {
		want[rt.pattern] = rt.role
	}
	// The ordering the issue asks for: viewers read, operators make
	// work, nothing a viewer may do writes.
	for pattern, role := range want {
		if strings.HasPrefix(pattern, "POST ") && role == workspace.RoleViewer {
			t.Errorf("%s: a viewer may POST it", pattern)
		}
	}
	for _, p := range []string{"POST /api/v1/pipelines/{pipeline}/jobs", "POST /api/v1/jobs/{id}/retry", "POST /api/v1/schedules/{name}/run"} {
		if want[p] != workspace.RoleOperator {
			t.Errorf("%s needs %s, want operator", p, want[p])
		}
	}
	for _, rt := range e.api.routes() {
		method, path, _ := strings.Cut(rt.pattern, " ")
		path = param.ReplaceAllString(path, "nothing")
		for _, who := range []string{"viewer", "operator", "author", "admin", "unset"} {
			role := workspace.Role(who)
			if who == "unset" {
				role = workspace.DefaultRole
			}
			code, _, b := e.do(method, path, who+"-token", strings.NewReader("x"))
			var ae apiError
			_ = json.Unmarshal(b, &ae)
			refused := code == 403 && ae.Error.Code == "role"
			if mayCall := role.AtLeast(rt.role); refused == mayCall {
				t.Errorf("%s as %s: %d %s; want refused=%v", rt.pattern, who, code, b, !mayCall)
			}
			if refused && !strings.Contains(ae.Error.Message, "client "+who+" has the role "+string(role)+", and this needs "+string(rt.role)) {
				t.Errorf("%s as %s: the message does not say what is missing: %s", rt.pattern, who, ae.Error.Message)
			}
		}
	}
}

// GET /api/v1/me tells a client its role and what it may do.
func TestMe(t *testing.T) {
	e := newEnv(t, rolesYAML())
	for who, may := range map[string]string{"viewer": "read", "operator": "read,operate", "author": "read,operate,author", "admin": "read,operate,author,admin", "unset": "read,operate"} {
		code, _, b := e.do("GET", "/api/v1/me", who+"-token", nil)
		var v meView
		if code != 200 || json.Unmarshal(b, &v) != nil || v.Name != who || strings.Join(v.May, ",") != may {
			t.Errorf("me as %s: %d %s, want may %s", who, code, b, may)
		}
	}
}

// The open API (no clients, loopback) acts as admin.
func TestOpenIsAdmin(t *testing.T) {
	e := newEnv(t, "http:\n  listen: 127.0.0.1:0\n")
	code, _, b := e.do("GET", "/api/v1/me", "", nil)
	var v meView
	if code != 200 || json.Unmarshal(b, &v) != nil || v.Role != workspace.RoleAdmin {
		t.Errorf("open me: %d %s", code, b)
	}
}
