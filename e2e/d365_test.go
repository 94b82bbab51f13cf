package e2e

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/erpipe/erpipe/d365/emulator"
	"github.com/erpipe/erpipe/internal/azuritetest"
)

// packageMode is a d365 destination's settings for the package mode.
const packageMode = `definition_group: erpipe-customers
          legal_entity: USMF`

// d365Workspace is a workspace whose pipeline customers imports into the
// emulator s with the mode's settings, and the environment its daemon runs
// with (the secret).
func d365Workspace(t *testing.T, s *emulator.Server, ca, mode string) (string, []string) {
	t.Helper()
	ws := t.TempDir()
	writeFile(t, filepath.Join(ws, "erpipe.yaml"), fmt.Appendf(nil, `settle: 200ms
rescan: 500ms
builtin_pipelines: false
pipelines:
  - name: customers
    template: customers-v3
    destinations:
      - d365:
          environment: %s
          authority_host: %s
          ca_file: %s
          tenant: %s
          client_id: %s
          %s
          wait: 1s
`, s.URL(), s.URL(), ca, s.Tenant(), s.ClientID(), mode))
	return ws, append(os.Environ(), "ERPIPE_D365_CLIENT_SECRET="+s.ClientSecret())
}

func startD365(t *testing.T, opts emulator.Options) (*emulator.Server, string) {
	t.Helper()
	opts.CAFile = filepath.Join(t.TempDir(), "ca.pem")
	s := emulator.New(opts)
	if err := s.Start(""); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, opts.CAFile
}

// startWatching starts the daemon on ws with env (nil: the test's) and
// waits until it watches its inboxes, whatever its pipelines.
func startWatching(t *testing.T, ws string, env []string) *daemon {
	t.Helper()
	return startDaemonEnv(t, ws, env, "the daemon to watch its inboxes", func(d *daemon) bool {
		return strings.Contains(d.logs.String(), "watching inboxes")
	})
}

// TestD365Destination: a file dropped into an inbox ends as an execution
// in (emulated) D365, and the job shows D365's outcome: processed, or
// processed with the rows D365 refused and its staging error file beside
// the report. The client secret shows nowhere.
//
// The emulator keeps its blobs in Azurite, as D365 keeps them in Azure
// Storage: packages go to Azurite with GetAzureWriteUrl's SAS, and the
// staging error file comes from there.
func TestD365Destination(t *testing.T) {
	az := azuritetest.New(t, azuritetest.Options{Containers: []string{"dmf"}})
	hc, err := az.HTTPClient()
	if err != nil {
		t.Fatal(err)
	}
	store, err := emulator.NewAzureBlobs(az.Endpoint, azuritetest.Account, azuritetest.Key, "dmf", hc)
	if err != nil {
		t.Fatal(err)
	}
	s, ca := startD365(t, emulator.Options{QueueTime: 100 * time.Millisecond, ExecuteTime: 300 * time.Millisecond, Blobs: store})
	ws, env := d365Workspace(t, s, ca, packageMode)
	if _, errOut, code := erpipe(t, "check", "--workspace", ws); code != 2 || !strings.Contains(errOut, "ERPIPE_D365_CLIENT_SECRET") {
		t.Errorf("erpipe check without the secret: exit %d, want 2 naming the variable:\n%s", code, errOut)
	}
	d := startWatching(t, ws, env)
	sample := readFile(t, "../templates/customers-v3/samples/customers.csv")
	drop(t, filepath.Join(ws, "inbox", "customers"), "good.csv", sample)
	drop(t, filepath.Join(ws, "inbox", "customers"), "refused.csv", bytes.Replace(sample, []byte("\nUS-001,"), []byte("\nFAIL-001,"), 1))
	byInput := waitJobs(t, ws, 2)
	good, refused := byInput["good.csv"], byInput["refused.csv"]
	if good.Status != "Processed" || len(good.Outputs) != 1 || !strings.Contains(good.Outputs[0].Location, "/executions/erpipe-"+good.ID) {
		t.Errorf("good.csv: %s, outputs %+v", good.Status, good.Outputs)
	}
	if refused.Status != "ProcessedWithErrors" {
		t.Errorf("refused.csv: %s, want ProcessedWithErrors", refused.Status)
	}
	show, _, _ := erpipe(t, "jobs", "show", refused.ID, "--workspace", ws)
	contains(t, "jobs show", show, "What the receiver refused:", "PartiallySucceeded", "staging-errors.csv")
	files, _ := filepath.Glob(filepath.Join(ws, "errors", "customers", "refused.*.staging-errors.csv"))
	if len(files) != 1 || !strings.Contains(string(readFile(t, files[0])), "FAIL-001") {
		t.Errorf("staging error file: %v", files)
	}
	if len(s.Imports()) != 2 {
		t.Errorf("%d imports, want 2", len(s.Imports()))
	}
	for _, im := range s.Imports() {
		if !strings.HasPrefix(im.PackageURL, az.Endpoint+"/dmf/") {
			t.Errorf("import %s took its package from %s, not from Azurite", im.ExecutionID, im.PackageURL)
		}
	}
	d.stop(t)
	jobsJSON, _, _ := erpipe(t, "jobs", "--json", "--workspace", ws)
	for what, text := range map[string]string{"the daemon's log": d.logs.String(), "jobs --json": jobsJSON, "jobs show": show} {
		if strings.Contains(text, s.ClientSecret()) {
			t.Errorf("%s shows the client secret", what)
		}
	}
}

// TestD365KilledWhileImporting kills the daemon while D365 runs an import
// and starts it again: the job asks for the execution's status first,
// finds it, and ends with D365's outcome; the package is imported once.
func TestD365KilledWhileImporting(t *testing.T) {
	s, ca := startD365(t, emulator.Options{QueueTime: 100 * time.Millisecond, ExecuteTime: 4 * time.Second})
	ws, env := d365Workspace(t, s, ca, packageMode)
	d := startWatching(t, ws, env)
	drop(t, filepath.Join(ws, "inbox", "customers"), "slow.csv", readFile(t, "../templates/customers-v3/samples/customers.csv"))
	waitFor(t, 30*time.Second, "the import to start", func() bool { return len(s.Imports()) == 1 })
	d.kill(t)
	d = startWatching(t, ws, env)
	byInput := waitJobs(t, ws, 1)
	if j := byInput["slow.csv"]; j.Status != "Processed" {
		t.Errorf("slow.csv: %s (%q)", j.Status, j.Errors)
	}
	if n := len(s.Imports()); n != 1 {
		t.Errorf("the package was imported %d times, want once", n)
	}
	d.stop(t)
}

// TestD365Recurring: in recurring mode a dropped file is enqueued to the
// recurring data job (emulator.DefaultActivities' import job) with the
// job's id as external identifier, once; it ends Processed with the
// message ID as its output's location, and a file with a refused row ends
// ProcessedWithErrors with the counts, D365's errors and the staging error
// file.
func TestD365Recurring(t *testing.T) {
	s, ca := startD365(t, emulator.Options{QueueTime: 100 * time.Millisecond, ExecuteTime: 300 * time.Millisecond})
	ws, env := d365Workspace(t, s, ca, fmt.Sprintf(`mode: recurring
          activity_id: "%s"
          company: USMF`, emulator.DefaultActivities[0].ID))
	d := startWatching(t, ws, env)
	sample := readFile(t, "../templates/customers-v3/samples/customers.csv")
	drop(t, filepath.Join(ws, "inbox", "customers"), "good.csv", sample)
	drop(t, filepath.Join(ws, "inbox", "customers"), "refused.csv", bytes.Replace(sample, []byte("\nUS-001,"), []byte("\nFAIL-001,"), 1))
	byInput := waitJobs(t, ws, 2)
	good, refused := byInput["good.csv"], byInput["refused.csv"]
	msgs := map[string]emulator.Message{}
	for _, m := range s.Messages() {
		msgs[m.ID] = m
	}
	if len(msgs) != 2 {
		t.Fatalf("%d messages, want 2", len(msgs))
	}
	if good.Status != "Processed" || len(good.Outputs) != 1 {
		t.Fatalf("good.csv: %s, outputs %+v (%q)", good.Status, good.Outputs, good.Errors)
	}
	id, ok := strings.CutPrefix(good.Outputs[0].Location, s.URL()+"/messages/")
	if m := msgs[id]; !ok || m.State != emulator.StateProcessed || !strings.HasPrefix(m.ExternalIdentifier, "erpipe-"+good.ID+"-") ||
		m.ActivityID != emulator.DefaultActivities[0].ID || m.Company != "USMF" {
		t.Errorf("good.csv's location %s; message %+v", good.Outputs[0].Location, m)
	}
	if refused.Status != "ProcessedWithErrors" {
		t.Errorf("refused.csv: %s, want ProcessedWithErrors", refused.Status)
	}
	show, _, _ := erpipe(t, "jobs", "show", refused.ID, "--workspace", ws)
	contains(t, "jobs show", show, "What the receiver refused:", "ProcessedWithErrors", "Customers V3", "1 with errors", "FAIL-001", "staging-errors.csv")
	files, _ := filepath.Glob(filepath.Join(ws, "errors", "customers", "refused.*.staging-errors.csv"))
	if len(files) != 1 || !strings.Contains(string(readFile(t, files[0])), "FAIL-001") {
		t.Errorf("staging error file: %v", files)
	}
	if len(s.Imports()) != 2 {
		t.Errorf("%d imports, want 2", len(s.Imports()))
	}
	d.stop(t)
}

// TestD365RecurringKilledWhileProcessing kills the daemon while D365
// processes an enqueued message and starts it again: the job finds the
// message ID it recorded, asks for its status instead of enqueueing again,
// and ends with D365's outcome; the file is enqueued once.
func TestD365RecurringKilledWhileProcessing(t *testing.T) {
	s, ca := startD365(t, emulator.Options{QueueTime: 100 * time.Millisecond, ExecuteTime: 4 * time.Second})
	ws, env := d365Workspace(t, s, ca, fmt.Sprintf(`mode: recurring
          activity_id: "%s"`, emulator.DefaultActivities[0].ID))
	d := startWatching(t, ws, env)
	drop(t, filepath.Join(ws, "inbox", "customers"), "slow.csv", readFile(t, "../templates/customers-v3/samples/customers.csv"))
	waitFor(t, 30*time.Second, "the message ID to be recorded", func() bool {
		files, _ := filepath.Glob(filepath.Join(ws, ".erpipe", "d365", "*.enqueue"))
		return len(files) == 1 && len(strings.Fields(string(readFile(t, files[0])))) == 2
	})
	d.kill(t)
	d = startWatching(t, ws, env)
	byInput := waitJobs(t, ws, 1)
	if j := byInput["slow.csv"]; j.Status != "Processed" || len(j.Outputs) != 1 || !strings.Contains(j.Outputs[0].Location, "/messages/") {
		t.Errorf("slow.csv: %s (%q), outputs %+v", j.Status, j.Errors, j.Outputs)
	}
	if n := len(s.Messages()); n != 1 {
		t.Errorf("the file was enqueued %d times, want once", n)
	}
	d.stop(t)
}
