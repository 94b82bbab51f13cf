package e2e

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestTemplateAuthoring runs the authoring commands through the real
// binary: every built-in's test cases, the schema, a preview.
func TestTemplateAuthoring(t *testing.T) {
	stdout, stderr, code := erpipe(t, "templates", "test", "../templates")
	if code != 0 || strings.Contains(stdout, "FAIL") || !strings.Contains(stdout, " passed, 0 failed") {
		t.Errorf("templates test: exit %d\n%s\n%s", code, stdout, stderr)
	}
	stdout, _, code = erpipe(t, "templates", "schema")
	var schema map[string]any
	if err := json.Unmarshal([]byte(stdout), &schema); code != 0 || err != nil || schema["$schema"] == nil {
		t.Errorf("templates schema: exit %d, %v", code, err)
	}
	stdout, stderr, code = erpipe(t, "templates", "preview", "--template", "customers-v3", "--rows", "1", "--explain", sampleCSV)
	if code != 0 || !strings.Contains(stdout, `lookup payment_terms["30"] gives "Net30"`) {
		t.Errorf("templates preview: exit %d\n%s\n%s", code, stdout, stderr)
	}
}
