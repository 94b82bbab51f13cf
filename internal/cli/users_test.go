package cli

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/erpipe/erpipe/workspace"
)

// withStdin runs f with the standard input reading s.
func withStdin(t *testing.T, s string, f func()) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	go func() { w.WriteString(s); w.Close() }()
	old := os.Stdin
	os.Stdin = r
	defer func() { os.Stdin = old; r.Close() }()
	f()
}

// erpipe users hash prints the lines of a user whose bcrypt hash is the
// password's, which erpipe check takes; the password is nowhere in them.
func TestUsersHash(t *testing.T) {
	var out, errOut string
	var code int
	withStdin(t, "correct horse battery\n", func() { out, errOut, code = run(t, "users", "hash", "alice", "--role", "operator") })
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	m := regexp.MustCompile(`password_hash: "([^"]+)"`).FindStringSubmatch(out)
	if m == nil || !workspace.CheckPassword(m[1], "correct horse battery") || strings.Contains(out, "correct horse") || !strings.Contains(out, "role: operator") {
		t.Fatalf("the lines:\n%s", out)
	}
	dir := t.TempDir()
	lines := out[strings.Index(out, "    - name:"):]
	write(t, dir+"/erpipe.yaml", "http:\n  listen: 127.0.0.1:8780\n  users:\n"+lines)
	if o, e, code := run(t, "check", "--workspace", dir); code != 0 {
		t.Errorf("erpipe check of the printed lines: exit %d\n%s\n%s", code, o, e)
	}
	write(t, dir+"/erpipe.yaml", "http:\n  users:\n"+strings.Replace(lines, "role: operator", "role: boss", 1))
	if _, e, code := run(t, "check", "--workspace", dir); code != 2 || !strings.Contains(e, "use viewer, operator, author or admin") {
		t.Errorf("erpipe check of an unknown role: exit %d\n%s", code, e)
	}
	withStdin(t, "short\n", func() { _, errOut, code = run(t, "users", "hash", "bob") })
	if code != 2 || !strings.Contains(errOut, "shorter than 8") {
		t.Errorf("a short password: exit %d %s", code, errOut)
	}
}

func TestTokensRole(t *testing.T) {
	out, _, code := run(t, "tokens", "new", "wallboard", "--role", "viewer")
	if code != 0 || !strings.Contains(out, "role: viewer") {
		t.Errorf("tokens new --role viewer: exit %d\n%s", code, out)
	}
	if _, e, code := run(t, "tokens", "new", "x", "--role", "boss"); code != 2 || !strings.Contains(e, "viewer, operator, author or admin") {
		t.Errorf("tokens new --role boss: exit %d %s", code, e)
	}
}
