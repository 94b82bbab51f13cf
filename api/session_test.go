package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/erpipe/erpipe/workspace"
)

// usersYAML registers the users alice (operator) and victor (viewer),
// whose passwords are their names followed by "-password", and the
// client erp.
func usersYAML(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("http:\n  listen: 127.0.0.1:0\n  clients:\n    - {name: erp, token_sha256: " + HashToken("erp-token") + "}\n  users:\n")
	for _, u := range [][2]string{{"alice", "operator"}, {"victor", "viewer"}} {
		h, err := workspace.HashPassword(u[0] + "-password")
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "    - {name: %s, password_hash: %q, role: %s}\n", u[0], h, u[1])
	}
	return b.String()
}

// signIn signs name in and returns the session cookie and CSRF token.
func (e *testEnv) signIn(name, password string) (int, *http.Cookie, string) {
	e.t.Helper()
	code, h, b := e.do("POST", "/api/v1/session", "", strings.NewReader(fmt.Sprintf(`{"name":%q,"password":%q}`, name, password)), "Content-Type", "application/json")
	if code != 200 {
		return code, nil, string(b)
	}
	resp := http.Response{Header: h}
	var v sessionView
	json.Unmarshal(b, &v)
	for _, c := range resp.Cookies() {
		if c.Name == SessionCookie {
			return code, c, v.CSRFToken
		}
	}
	e.t.Fatalf("sign-in answered no session cookie: %v", h)
	return 0, nil, ""
}

func TestSignInSessionCSRF(t *testing.T) {
	e := newEnv(t, usersYAML(t))
	if code, _, _ := e.signIn("alice", "wrong-password"); code != 401 {
		t.Errorf("a wrong password: %d", code)
	}
	if code, _, _ := e.signIn("nobody", "alice-password"); code != 401 {
		t.Errorf("an unknown user: %d", code)
	}
	code, ck, csrf := e.signIn("alice", "alice-password")
	if code != 200 || csrf == "" {
		t.Fatalf("sign-in: %d %q", code, csrf)
	}
	if !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode || ck.Path != "/" || ck.Secure {
		t.Errorf("the cookie over plain HTTP: %+v; want HttpOnly, SameSite=Strict, Path=/, not Secure", ck)
	}
	cookie := SessionCookie + "=" + ck.Value
	code, _, b := e.do("GET", "/api/v1/me", "", nil, "Cookie", cookie)
	var me meView
	if code != 200 || json.Unmarshal(b, &me) != nil || me.Name != "alice" || me.Role != "operator" || me.Via != "session" || me.CSRFToken != csrf {
		t.Errorf("me with the cookie: %d %s", code, b)
	}
	// A change without the CSRF token, or with another, is refused
	// before anything is done; with it, it is the handler's to answer.
	for _, tok := range []string{"", "not-the-token"} {
		code, _, b = e.do("POST", "/api/v1/jobs/nothing/retry", "", nil, "Cookie", cookie, CSRFHeader, tok)
		if code != 403 || !strings.Contains(string(b), `"csrf"`) {
			t.Errorf("retry with CSRF token %q: %d %s", tok, code, b)
		}
	}
	if code, _, b = e.do("POST", "/api/v1/jobs/nothing/retry", "", nil, "Cookie", cookie, CSRFHeader, csrf); code != 404 {
		t.Errorf("retry with the CSRF token: %d %s", code, b)
	}
	// A viewer's session may read, not change.
	code, vck, vcsrf := e.signIn("victor", "victor-password")
	if code != 200 {
		t.Fatal(code)
	}
	vcookie := SessionCookie + "=" + vck.Value
	if code, _, _ := e.do("GET", "/api/v1/jobs", "", nil, "Cookie", vcookie); code != 200 {
		t.Errorf("a viewer lists jobs: %d", code)
	}
	code, _, b = e.do("POST", "/api/v1/pipelines/customers-v3/jobs?name=c.csv", "", strings.NewReader("x"), "Cookie", vcookie, CSRFHeader, vcsrf)
	if code != 403 || !strings.Contains(string(b), "user victor has the role viewer, and this needs operator") || !strings.Contains(string(b), "http: users: role") {
		t.Errorf("a viewer uploads: %d %s", code, b)
	}
	// Sign-out needs the token too, then the cookie is worth nothing.
	if code, _, _ := e.do("DELETE", "/api/v1/session", "", nil, "Cookie", cookie); code != 403 {
		t.Errorf("sign-out without the CSRF token: %d", code)
	}
	code, h, _ := e.do("DELETE", "/api/v1/session", "", nil, "Cookie", cookie, CSRFHeader, csrf)
	if code != 204 || !strings.Contains(h.Get("Set-Cookie"), "Max-Age=0") {
		t.Errorf("sign-out: %d %v", code, h)
	}
	if code, _, _ := e.do("GET", "/api/v1/me", "", nil, "Cookie", cookie); code != 401 {
		t.Errorf("me after sign-out: %d", code)
	}
	// The API's tokens still work beside the users.
	if code, _, _ := e.do("GET", "/api/v1/me", "erp-token", nil); code != 200 {
		t.Errorf("a client's token: %d", code)
	}
	// Neither token nor cookie: 401, saying both ways in.
	if code, _, b := e.do("GET", "/api/v1/jobs", "", nil); code != 401 || !strings.Contains(string(b), "sign in") {
		t.Errorf("no credentials: %d %s", code, b)
	}
}

// A session idle longer than session_timeout, or older than 12 hours,
// has ended.
func TestSessionExpiry(t *testing.T) {
	e := newEnv(t, usersYAML(t))
	now := time.Now()
	e.api.now = func() time.Time { return now }
	_, ck, _ := e.signIn("alice", "alice-password")
	cookie := SessionCookie + "=" + ck.Value
	for i := 0; i < 13; i++ { // used every 59 minutes: 12h47m in all
		now = now.Add(59 * time.Minute)
		code, _, _ := e.do("GET", "/api/v1/me", "", nil, "Cookie", cookie)
		if want := map[bool]int{true: 200, false: 401}[i < 12]; code != want {
			t.Fatalf("after %s: %d, want %d", time.Duration(i+1)*59*time.Minute, code, want)
		}
	}
	_, ck, _ = e.signIn("alice", "alice-password")
	now = now.Add(61 * time.Minute)
	if code, _, _ := e.do("GET", "/api/v1/me", "", nil, "Cookie", SessionCookie+"="+ck.Value); code != 401 {
		t.Errorf("idle 61 minutes: %d", code)
	}
}

// Five failed sign-ins for a name lock it for 30 s, the right password
// too; the lock doubles on each further failure.
func TestSignInRateLimit(t *testing.T) {
	e := newEnv(t, usersYAML(t))
	now := time.Now()
	e.api.now = func() time.Time { return now }
	for i := 0; i < 5; i++ {
		if code, _, _ := e.signIn("alice", "guess"); code != 401 {
			t.Fatalf("failure %d: %d", i+1, code)
		}
	}
	code, h, b := e.do("POST", "/api/v1/session", "", strings.NewReader(`{"name":"alice","password":"alice-password"}`), "Content-Type", "application/json")
	if code != 429 || h.Get("Retry-After") != "30" {
		t.Errorf("after 5 failures: %d %s %v", code, b, h.Get("Retry-After"))
	}
	now = now.Add(31 * time.Second)
	if code, _, _ := e.signIn("alice", "guess"); code != 401 {
		t.Errorf("after the wait: %d", code)
	}
	if code, h, _ := e.do("POST", "/api/v1/session", "", strings.NewReader(`{"name":"alice","password":"x"}`), "Content-Type", "application/json"); code != 429 || h.Get("Retry-After") != "60" {
		t.Errorf("after the 6th failure: %d %v", code, h.Get("Retry-After"))
	}
	now = now.Add(61 * time.Second)
	if code, _, _ := e.signIn("alice", "alice-password"); code != 200 {
		t.Errorf("the right password after the wait: %d", code)
	}
}

// A sign-in from another site's page, or not as JSON, is refused; so is
// a change another site's page makes to an open (loopback) erpipe.
func TestCrossSite(t *testing.T) {
	e := newEnv(t, usersYAML(t))
	body := `{"name":"alice","password":"alice-password"}`
	if code, _, _ := e.do("POST", "/api/v1/session", "", strings.NewReader(body), "Content-Type", "text/plain"); code != 415 {
		t.Errorf("a sign-in as text/plain: %d", code)
	}
	if code, _, _ := e.do("POST", "/api/v1/session", "", strings.NewReader(body), "Content-Type", "application/json", "Sec-Fetch-Site", "cross-site"); code != 403 {
		t.Errorf("a cross-site sign-in: %d", code)
	}
	open := newEnv(t, "http:\n  listen: 127.0.0.1:0\n")
	if code, _, b := open.do("POST", "/api/v1/jobs/nothing/retry", "", nil, "Sec-Fetch-Site", "cross-site"); code != 403 || !strings.Contains(string(b), "csrf") {
		t.Errorf("a cross-site change to the open API: %d %s", code, b)
	}
	if code, _, _ := open.do("POST", "/api/v1/jobs/nothing/retry", "", nil, "Origin", "https://evil.example"); code != 403 {
		t.Errorf("a change from another origin to the open API: %d", code)
	}
	if code, _, _ := open.do("POST", "/api/v1/jobs/nothing/retry", "", nil); code != 404 {
		t.Errorf("curl's change to the open API: %d", code)
	}
}
