package workspace

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// bcryptHash is the bcrypt hash (cost 10) of "correct horse".
const bcryptHash = "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"

const hash = "9faf09372c4993c1e3b046a1f4ad727838a46d5b7e2259a50aebaef87c1bfe02"

func TestHTTPConfig(t *testing.T) {
	for _, tc := range []struct {
		name, yaml, err string
	}{
		{"none", "", ""},
		{"full", "http:\n  listen: 127.0.0.1:8780\n  max_upload: 10MiB\n  body_timeout: 1m\n  clients:\n    - {name: a, token_sha256: " + hash + ", priority: low, pipelines: [customers-v3]}\n  limits: {concurrent: 4, queued: 10}\n  activities:\n    - {id: \"{6D31E09F-0249-459F-94F0-AAD9C2C47B64}\", pipeline: customers-v3}\n", ""},
		{"bad listen", "http:\n  listen: \"127.0.0.1:80:80\"\n", "write host:port"},
		{"cert without key", "http:\n  listen: :8780\n  cert_file: c.pem\n", "both cert_file and key_file"},
		{"missing cert", "http:\n  listen: :8780\n  cert_file: c.pem\n  key_file: k.pem\n", "c.pem"},
		{"client without name", "http:\n  clients:\n    - {token_sha256: " + hash + "}\n", "has no name"},
		{"short hash", "http:\n  clients:\n    - {name: a, token_sha256: abc}\n", "64 hex digits"},
		{"same token twice", "http:\n  clients:\n    - {name: a, token_sha256: " + hash + "}\n    - {name: b, token_sha256: " + hash + "}\n", "token of another client"},
		{"unknown priority", "http:\n  clients:\n    - {name: a, token_sha256: " + hash + ", priority: urgent}\n", "high, medium or low"},
		{"roles", "http:\n  clients:\n    - {name: a, token_sha256: " + hash + ", role: viewer}\n    - {name: b, token_sha256: " + hash[:63] + "0, role: Admin}\n", ""},
		{"unknown role", "http:\n  clients:\n    - {name: a, token_sha256: " + hash + ", role: editor}\n", `client "a": role "editor" is not known; use viewer, operator, author or admin`},
		{"user", "http:\n  users:\n    - {name: alice, password_hash: \"" + bcryptHash + "\", role: operator, pipelines: [customers-v3]}\n", ""},
		{"user without a hash", "http:\n  users:\n    - {name: alice, role: operator}\n", `user "alice": password_hash is missing; make it with erpipe users hash alice`},
		{"user with a password", "http:\n  users:\n    - {name: alice, password_hash: secret123}\n", "is not a bcrypt hash"},
		{"user with a cheap hash", "http:\n  users:\n    - {name: alice, password_hash: \"$2a$04$W7U2mT8QhXhCq1dHbfvx8OQyyT0yMCnm2N8YlyXc2o2SJxG1bHqG6\"}\n", "cost 4"},
		{"user unknown role", "http:\n  users:\n    - {name: alice, password_hash: \"" + bcryptHash + "\", role: root}\n", `role "root" is not known`},
		{"user named as a client", "http:\n  clients:\n    - {name: alice, token_sha256: " + hash + "}\n  users:\n    - {name: alice, password_hash: \"" + bcryptHash + "\"}\n", "also a client's name"},
		{"user to no pipeline", "http:\n  users:\n    - {name: alice, password_hash: \"" + bcryptHash + "\", pipelines: [nothing]}\n", `user alice: pipelines: there is no pipeline "nothing"`},
		{"unknown scope", "http:\n  clients:\n    - {name: a, token_sha256: " + hash + ", pipelines: [nothing]}\n", `no pipeline "nothing"`},
		{"activity not a GUID", "http:\n  activities:\n    - {id: abc, pipeline: customers-v3}\n", "not a GUID"},
		{"activity to no pipeline", "http:\n  activities:\n    - {id: \"6D31E09F-0249-459F-94F0-AAD9C2C47B64\", pipeline: nothing}\n", "does not have"},
		{"negative limit", "http:\n  limits: {concurrent: -1}\n", "cannot be negative"},
		{"unknown key", "http:\n  port: 80\n", "field port not found"},
	} {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, ConfigFile), []byte(tc.yaml), 0o644)
		_, err := Open(dir, "")
		if tc.err == "" && err != nil || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.err)
		}
	}
}

func TestListenAddr(t *testing.T) {
	for in, want := range map[string]string{
		"":             DefaultListen,
		"8780":         "127.0.0.1:8780",
		":8780":        "127.0.0.1:8780",
		"0.0.0.0:8780": "0.0.0.0:8780",
		"[::1]:8780":   "[::1]:8780",
		"localhost:1":  "localhost:1",
	} {
		if got := ListenAddr(in); got != want {
			t.Errorf("ListenAddr(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestRoles(t *testing.T) {
	for _, tc := range []struct {
		r, min Role
		want   bool
	}{
		{RoleViewer, RoleViewer, true},
		{RoleViewer, RoleOperator, false},
		{RoleOperator, RoleViewer, true},
		{RoleOperator, RoleAuthor, false},
		{RoleAuthor, RoleOperator, true},
		{RoleAuthor, RoleAdmin, false},
		{RoleAdmin, RoleAuthor, true},
		{"boss", RoleViewer, false},
	} {
		if got := tc.r.AtLeast(tc.min); got != tc.want {
			t.Errorf("%s.AtLeast(%s) = %v", tc.r, tc.min, got)
		}
	}
	if r := (ClientConfig{}).Role(); r != RoleOperator {
		t.Errorf("a client without a role is %s, want operator", r)
	}
	if r := (ClientConfig{RoleName: "Author"}).Role(); r != RoleAuthor {
		t.Errorf("role: Author is %s", r)
	}
}
