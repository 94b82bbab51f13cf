package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestCLI runs the one-shot commands and checks output and exit codes
// (0 ok, 1 the work failed, 2 usage or configuration error).
func TestCLI(t *testing.T) {
	ws := newWorkspace(t)
	out := t.TempDir()
	brokenTemplate := filepath.Join(t.TempDir(), "broken.yaml")
	writeFile(t, brokenTemplate, []byte("name: broken\nversion: 1\ninput:\n  format: csv\n  fields:\n    - name: a\n      colum: A\n      type: text\n"))
	badCSV := filepath.Join(t.TempDir(), "bad.csv")
	writeFile(t, badCSV, []byte("Reference;Date;Amount\nP-1;2026-01-31;1,00\n"))

	tests := []struct {
		name   string
		args   []string
		code   int
		stdout []string // substrings
		stderr []string
		match  string // regexp on stdout
	}{
		{"version", []string{"version"}, 0, []string{"erpipe "}, nil, ""},
		{"help", []string{"--help"}, 0, []string{"run", "transform", "templates", "jobs", "init", "demo"}, nil, ""},
		{"unknown command", []string{"frobnicate"}, 2, nil, []string{"unknown command"}, ""},
		{"unknown flag", []string{"jobs", "--frob"}, 2, nil, []string{"unknown flag"}, ""},
		{"transform without template", []string{"transform", sampleCSV}, 2, nil, []string{"--template"}, ""},
		{"transform unknown template", []string{"transform", "--template", "nope", sampleCSV}, 2, nil, []string{"nope"}, ""},
		{"transform good", []string{"transform", "--template", "customers-v3", "--out", out, sampleCSV}, 0,
			[]string{"10 read, 10 written, 0 rejected", "customers.zip"}, []string{"warning"}, ""},
		{"transform workspace template, bad date", []string{"transform", "-w", ws, "--template", "payments-csv", "--out", out, badCSV}, 1,
			[]string{"1 read, 0 written, 1 rejected: nothing to deliver"}, []string{"rejected", "row 2", "2026-01-31", "dd.MM.yyyy"}, ""},
		{"templates list", []string{"templates", "list", "-w", ws}, 0, []string{"customers-v3", "1.2.0", "completed", "built-in", "payments-csv", "draft"}, nil, ""},
		{"templates validate built-in file", []string{"templates", "validate", "../templates/customers-v3/template.yaml"}, 0, []string{"ok (customers-v3 1.2.0)"}, nil, ""},
		{"templates validate broken", []string{"templates", "validate", brokenTemplate}, 1, []string{"did you mean"}, nil,
			regexp.QuoteMeta(brokenTemplate) + `:7:7: .*colum`},
		{"jobs in a folder that never ran", []string{"jobs", "-w", t.TempDir()}, 2, nil, []string{"not an erpipe workspace"}, ""},
		{"jobs bad since", []string{"jobs", "-w", ws, "--since", "yesterday"}, 2, nil, []string{"--since"}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			stdout, stderr, code := erpipe(t, tc.args...)
			if code != tc.code {
				t.Errorf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tc.code, stdout, stderr)
			}
			contains(t, "stdout", stdout, tc.stdout...)
			contains(t, "stderr", stderr, tc.stderr...)
			if tc.match != "" && !regexp.MustCompile(tc.match).MatchString(stdout) {
				t.Errorf("stdout does not match %s:\n%s", tc.match, stdout)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(out, "customers.zip")); err != nil {
		t.Errorf("transform wrote no package: %v", err)
	}
}

// TestInit checks the scaffolded workspace.
func TestInit(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ws")
	stdout, stderr, code := erpipe(t, "init", dir)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	contains(t, "stdout", stdout, "Workspace ready")
	for _, p := range []string{"erpipe.yaml", "samples/customers-v3/customers.csv", "samples/customers-v3/customers-workbook.xlsx",
		"inbox/customers-v3", "outbox/customers-v3", "inbox/customers-import", "archive", "errors", ".erpipe"} {
		if _, err := os.Stat(filepath.Join(dir, p)); err != nil {
			t.Errorf("init did not create %s", p)
		}
	}
	cfg := string(readFile(t, filepath.Join(dir, "erpipe.yaml")))
	if !strings.Contains(cfg, "# ") || !strings.Contains(cfg, "pipelines:") {
		t.Errorf("erpipe.yaml is not a commented example:\n%s", cfg)
	}
	// The example configuration is valid: the daemon's pipelines load.
	if _, stderr, code := erpipe(t, "templates", "list", "-w", dir); code != 0 {
		t.Errorf("templates list in the new workspace: exit %d: %s", code, stderr)
	}
}

// TestDemo runs the newcomer's first command.
func TestDemo(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "demo")
	stdout, stderr, code := erpipe(t, "demo", "--dir", dir)
	if code != 0 {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	contains(t, "demo output", stdout, "PIPELINE", "customers-v3", "customers.csv", "customers-workbook.xlsx", "Processed", "Workspace: "+dir)
	if _, err := os.Stat(filepath.Join(dir, "outbox", "customers-v3", "customers.zip")); err != nil {
		t.Errorf("demo made no package: %v", err)
	}
}

// TestJSONLogs checks that --log-format json makes every log line a JSON
// object with a level and a message.
func TestJSONLogs(t *testing.T) {
	_, stderr, code := erpipe(t, "demo", "--dir", filepath.Join(t.TempDir(), "demo"), "--log-format", "json", "--log-level", "info")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	if len(lines) < 5 {
		t.Fatalf("only %d log lines:\n%s", len(lines), stderr)
	}
	for _, l := range lines {
		var rec map[string]any
		if err := json.Unmarshal([]byte(l), &rec); err != nil || rec["level"] == nil || rec["msg"] == nil {
			t.Errorf("not a JSON log line: %q (%v)", l, err)
		}
	}
}
