package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// reloadTemplate is the workspace template the reload test edits: version
// v, the account written under header.
func reloadTemplate(v, header string) []byte {
	return fmt.Appendf(nil, `# The reload test's template, version %s.
name: mine
version: %s
status: completed
input:
  csv: {delimiter: ","}
  fields:
    - {name: account, column: Account, required: true}
output:
  csv:
    columns: {%s: account}
`, v, v, header)
}

const reloadConfig = `builtin_pipelines: false
settle: 200ms
rescan: 500ms
pipelines:
  - name: mine
`

// reloadJob is what the reload test reads of erpipe jobs --json.
type reloadJob struct {
	ID              string `json:"id"`
	Pipeline        string `json:"pipeline"`
	Input           string `json:"input"`
	Status          string `json:"status"`
	TemplateVersion string `json:"template_version"`
}

func reloadJobs(t *testing.T, ws string) []reloadJob {
	t.Helper()
	out, errOut, code := erpipe(t, "jobs", "--json", "--workspace", ws)
	if code != 0 {
		t.Fatalf("erpipe jobs: exit %d: %s", code, errOut)
	}
	var list []reloadJob
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatalf("erpipe jobs --json: %v\n%s", err, out)
	}
	return list
}

// daemonStatus is what the test reads of erpipe status --json.
type daemonStatus struct {
	Running     bool `json:"running"`
	ConfigError *struct {
		Message string `json:"message"`
	} `json:"config_error"`
	Config struct {
		Pipelines []struct{ Name, Version string } `json:"pipelines"`
	} `json:"config"`
}

func readDaemonStatus(t *testing.T, ws string) daemonStatus {
	t.Helper()
	out, errOut, code := erpipe(t, "status", "--json", "--workspace", ws)
	if code != 0 {
		t.Fatalf("erpipe status: exit %d: %s", code, errOut)
	}
	var st daemonStatus
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("erpipe status --json: %v\n%s", err, out)
	}
	return st
}

// TestHotReload edits a template and erpipe.yaml under a running daemon
// (valid, then invalid, then valid) while files flow into its inbox: every
// change that is valid is taken without a restart, the invalid one is
// refused with the old version serving on and the refusal shown by erpipe
// status, erpipe jobs and erpipe check; every job records the template
// version it ran, and no file is lost or taken twice.
func TestHotReload(t *testing.T) {
	ws := t.TempDir()
	tp := filepath.Join(ws, "templates", "mine.yaml")
	if err := os.MkdirAll(filepath.Dir(tp), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, tp, reloadTemplate("1.0.0", "Account"))
	writeFile(t, filepath.Join(ws, "erpipe.yaml"), []byte(reloadConfig))
	if out, errOut, code := erpipe(t, "check", "--workspace", ws); code != 0 || !strings.Contains(out, "valid: 1 pipelines") {
		t.Fatalf("erpipe check of a valid workspace: exit %d\n%s%s", code, out, errOut)
	}
	d := startDaemonEnv(t, ws, nil, "the inbox of mine", func(*daemon) bool {
		_, err := os.Stat(filepath.Join(ws, "inbox", "mine"))
		return err == nil
	})

	// Files flow into the inbox for the whole test.
	stop := make(chan struct{})
	var dropped int
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(150 * time.Millisecond):
			}
			// As drop does, but not fatal: this is not the test's goroutine.
			path := filepath.Join(ws, "inbox", "mine", fmt.Sprintf("f%03d.csv", dropped))
			if err := os.WriteFile(path+".tmp", fmt.Appendf(nil, "Account\nA%03d\n", dropped), 0o644); err != nil {
				t.Error(err)
				return
			}
			if err := os.Rename(path+".tmp", path); err != nil {
				t.Error(err)
				return
			}
			dropped++
		}
	})
	defer func() {
		select {
		case <-stop:
		default:
			close(stop)
		}
		wg.Wait()
	}()
	ranVersion := func(v string) func() bool {
		return func() bool {
			for _, j := range reloadJobs(t, ws) {
				if j.TemplateVersion == v && j.Status == "Processed" {
					return true
				}
			}
			return false
		}
	}
	waitFor(t, 30*time.Second, "a job of template 1.0.0", ranVersion("1.0.0"))

	// A valid change is taken without a restart.
	writeFile(t, tp, reloadTemplate("1.1.0", "ACCOUNT"))
	waitFor(t, 30*time.Second, "a job of template 1.1.0", ranVersion("1.1.0"))

	// An invalid change is refused: the old version serves on.
	writeFile(t, tp, append(reloadTemplate("1.2.0", "ACCOUNT"), "outptu: {}\n"...))
	waitFor(t, 30*time.Second, "erpipe status to show the refused change", func() bool {
		st := readDaemonStatus(t, ws)
		return st.Running && st.ConfigError != nil && strings.Contains(st.ConfigError.Message, "outptu")
	})
	n := len(reloadJobs(t, ws))
	waitFor(t, 30*time.Second, "two more jobs after the refused change", func() bool { return len(reloadJobs(t, ws)) >= n+2 })
	for _, j := range reloadJobs(t, ws)[n:] {
		if j.TemplateVersion == "1.2.0" {
			t.Errorf("job %s ran the refused version 1.2.0", j.ID)
		}
	}
	if _, errOut, code := erpipe(t, "check", "--workspace", ws); code != 2 || !strings.Contains(errOut, "mine.yaml") || !strings.Contains(errOut, "outptu") {
		t.Errorf("erpipe check of the invalid change: exit %d, want 2 naming the file and the key:\n%s", code, errOut)
	}
	if _, errOut, _ := erpipe(t, "jobs", "--workspace", ws); !strings.Contains(errOut, "refused a change of its configuration") {
		t.Errorf("erpipe jobs does not say the change was refused:\n%s", errOut)
	}
	if out, _, _ := erpipe(t, "status", "--workspace", ws); !strings.Contains(out, "WAS NOT TAKEN") || !strings.Contains(out, "mine  ") {
		t.Errorf("erpipe status:\n%s", out)
	}

	// Mended, with a second pipeline in erpipe.yaml: both are taken, and
	// the new pipeline gets its inbox without a restart.
	writeFile(t, tp, reloadTemplate("1.2.0", "Konto"))
	writeFile(t, filepath.Join(ws, "erpipe.yaml"), []byte(reloadConfig+"  - {name: other, template: mine}\n"))
	waitFor(t, 30*time.Second, "a job of template 1.2.0", ranVersion("1.2.0"))
	waitFor(t, 30*time.Second, "the inbox of the new pipeline", func() bool {
		_, err := os.Stat(filepath.Join(ws, "inbox", "other"))
		return err == nil
	})
	drop(t, filepath.Join(ws, "inbox", "other"), "o.csv", []byte("Account\nO1\n"))
	if st := readDaemonStatus(t, ws); st.ConfigError != nil || len(st.Config.Pipelines) != 2 {
		t.Errorf("status after the mend: %+v", st)
	}

	// SIGHUP reloads on request.
	if err := d.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the reload on SIGHUP", func() bool {
		return strings.Contains(d.logs.String(), "reloading the configuration on request")
	})

	close(stop)
	wg.Wait()
	var list []reloadJob
	waitFor(t, 60*time.Second, "every dropped file's job to end", func() bool {
		list = reloadJobs(t, ws)
		if len(list) < dropped+1 {
			return false
		}
		for _, j := range list {
			if j.Status == "Processing" || j.Status == "Enqueued" {
				return false
			}
		}
		return true
	})
	seen := map[string]bool{}
	for _, j := range list {
		if seen[j.Pipeline+"/"+j.Input] {
			t.Errorf("%s/%s was taken twice", j.Pipeline, j.Input)
		}
		seen[j.Pipeline+"/"+j.Input] = true
		if j.Status != "Processed" || j.TemplateVersion == "" {
			t.Errorf("job %s (%s): %s, template version %q", j.ID, j.Input, j.Status, j.TemplateVersion)
		}
	}
	if len(list) != dropped+1 || !seen["other/o.csv"] {
		t.Errorf("%d jobs for %d files dropped (+1 into other)", len(list), dropped)
	}
	d.stop(t)
}
