package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/erpipe/erpipe/events"
	"github.com/erpipe/erpipe/workspace"
)

// TestExampleWebhook checks that the webhook erpipe init writes, commented
// out, is a valid webhook once the # in front of its lines is removed.
func TestExampleWebhook(t *testing.T) {
	_, rest, ok := strings.Cut(exampleConfig, "\n#webhooks:\n")
	if !ok {
		t.Fatal("the example configuration has no commented webhooks: section")
	}
	block, _, _ := strings.Cut(rest, "\n\n")
	var lines []string
	for _, l := range strings.Split(block, "\n") {
		if !strings.HasPrefix(l, "#") {
			t.Fatalf("line %q of the example webhook is not commented out", l)
		}
		lines = append(lines, strings.TrimPrefix(l, "#"))
	}
	config := strings.Replace(exampleConfig, "\n#webhooks:\n"+block+"\n", "\nwebhooks:\n"+strings.Join(lines, "\n")+"\n", 1)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, workspace.ConfigFile), []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	ws, err := workspace.Open(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	hooks := ws.Webhooks()
	if len(hooks) != 1 || hooks[0].Name != "erp-events" || !hooks[0].Wants(events.JobFailed, "customers-v3", "") ||
		hooks[0].Wants(events.JobEnded, "customers-v3", "") || hooks[0].Wants(events.JobFailed, "vendors-v2", "") {
		t.Fatalf("the example webhook loads as %+v", hooks)
	}
	t.Setenv(events.DefaultSecretEnv, "")
	if err := ws.CheckWebhooks(true); err == nil || !strings.Contains(err.Error(), events.DefaultSecretEnv) {
		t.Errorf("without its secret: %v; want the variable named", err)
	}
}
