package jobs

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/erpipe/erpipe/transform"
	"github.com/erpipe/erpipe/workspace"
)

// mineTemplate is a small workspace template: version v, the account
// column written under header.
func mineTemplate(v, header string) string {
	return fmt.Sprintf("name: mine\nversion: %s\nstatus: completed\ninput:\n  csv: {delimiter: \",\"}\n  fields:\n"+
		"    - {name: account, column: Account, required: true}\noutput:\n  csv:\n    columns: {%s: account}\n", v, header)
}

// mineConfig serves only the template mine, delivering to folder out.
func mineConfig(out string) string {
	return "builtin_pipelines: false\npipelines:\n  - name: mine\n    destinations:\n      - folder: {path: " + out + "}\n"
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// newMineService is a service on a workspace that serves the template mine.
func newMineService(t *testing.T) (*Service, *workspace.Workspace) {
	t.Helper()
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "templates", "mine.yaml"), mineTemplate("1.0.0", "Account"))
	writeFile(t, filepath.Join(dir, "erpipe.yaml"), mineConfig("out-a"))
	ws, err := workspace.Open(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	j, err := OpenJournal(filepath.Join(t.TempDir(), "journal.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	s, err := NewService(ws, j, discardLog())
	if err != nil {
		t.Fatal(err)
	}
	return s, ws
}

// takeMine drops a file for mine and runs it, failing the test unless it
// is processed; it returns the job.
func takeMine(t *testing.T, s *Service, ws *workspace.Workspace, name string) *Job {
	t.Helper()
	job, err := s.Take(context.Background(), "mine", dropFile(t, ws, "mine", name, []byte("Account\n"+name+"\n")))
	if err != nil || job.Status != Processed {
		t.Fatalf("%s: %v, %+v", name, err, job)
	}
	return job
}

// TestReloadValidInvalidValid: a changed template is taken by the next
// job; an invalid change is refused with the old configuration serving
// on and the refusal in the status, until a valid change mends it.
func TestReloadValidInvalidValid(t *testing.T) {
	s, ws := newMineService(t)
	ctx := context.Background()
	tp := filepath.Join(ws.Root, "templates", "mine.yaml")
	if job := takeMine(t, s, ws, "a1.csv"); job.TemplateVersion != "1.0.0" {
		t.Fatalf("first job ran %s", job.TemplateVersion)
	}

	writeFile(t, tp, mineTemplate("1.1.0", "ACCOUNT"))
	if err := s.Reload(ctx); err != nil {
		t.Fatalf("valid change: %v", err)
	}
	job := takeMine(t, s, ws, "a2.csv")
	out, _ := os.ReadFile(filepath.Join(ws.Root, "out-a", "a2.csv"))
	if job.TemplateVersion != "1.1.0" || !strings.HasPrefix(string(out), "ACCOUNT") {
		t.Fatalf("after the change: template %s, output %q", job.TemplateVersion, out)
	}

	// Invalid: a key the template language does not have.
	writeFile(t, tp, mineTemplate("1.2.0", "ACCOUNT")+"outptu: {}\n")
	err := s.Reload(ctx)
	var rerr *ReloadError
	if !errors.As(err, &rerr) || !strings.Contains(err.Error(), "mine.yaml") {
		t.Fatalf("invalid change: %v, want a ReloadError naming the file", err)
	}
	st, serr := ReadStatus(ws)
	if serr != nil || st.ConfigError == nil || !strings.Contains(st.ConfigError.Message, "outptu") {
		t.Fatalf("status after the invalid change: %+v, %v", st, serr)
	}
	if job := takeMine(t, s, ws, "a3.csv"); job.TemplateVersion != "1.1.0" {
		t.Fatalf("during the invalid change the job ran %s, want the old 1.1.0", job.TemplateVersion)
	}

	writeFile(t, tp, mineTemplate("1.2.0", "Konto"))
	if err := s.Reload(ctx); err != nil {
		t.Fatalf("mended: %v", err)
	}
	if job := takeMine(t, s, ws, "a4.csv"); job.TemplateVersion != "1.2.0" {
		t.Fatalf("after the mend the job ran %s", job.TemplateVersion)
	}
	st, _ = ReadStatus(ws)
	if st.ConfigError != nil || st.Config == nil || len(st.Config.Pipelines) != 1 || st.Config.Pipelines[0].Version != "1.2.0" {
		t.Fatalf("status after the mend: %+v", st)
	}
}

// TestReloadInFlightJobKeepsItsConfiguration: a job claimed before a
// reload runs and delivers by the configuration it was claimed by; the
// next job by the new one.
func TestReloadInFlightJobKeepsItsConfiguration(t *testing.T) {
	s, ws := newMineService(t)
	reloaded := false
	s.run = func(tm *transform.Template, ctx context.Context, in, out string, o transform.RunOptions) (*transform.Result, error) {
		if !reloaded { // the change lands while the first job runs
			reloaded = true
			writeFile(t, filepath.Join(ws.Root, "templates", "mine.yaml"), mineTemplate("2.0.0", "Account"))
			writeFile(t, filepath.Join(ws.Root, "erpipe.yaml"), mineConfig("out-b"))
			if err := s.Reload(ctx); err != nil {
				t.Errorf("reload: %v", err)
			}
		}
		return tm.RunWith(ctx, in, out, o)
	}
	first := takeMine(t, s, ws, "b1.csv")
	second := takeMine(t, s, ws, "b2.csv")
	if first.TemplateVersion != "1.0.0" || !exists(filepath.Join(ws.Root, "out-a", "b1.csv")) {
		t.Errorf("in-flight job: template %s, outputs %+v; want 1.0.0 into out-a", first.TemplateVersion, first.Outputs)
	}
	if second.TemplateVersion != "2.0.0" || !exists(filepath.Join(ws.Root, "out-b", "b2.csv")) {
		t.Errorf("next job: template %s, outputs %+v; want 2.0.0 into out-b", second.TemplateVersion, second.Outputs)
	}
}

// TestReloadRefusedByReloader: a part of the daemon that refuses the
// change (a schedule naming a template that is gone) keeps all of it out.
func TestReloadRefusedByReloader(t *testing.T) {
	s, ws := newMineService(t)
	took := false
	s.Reloaders = append(s.Reloaders, func(*workspace.Workspace) (func(), error) {
		return nil, errors.New("erpipe.yaml: schedule \"saft\": no template \"gone\"")
	}, func(*workspace.Workspace) (func(), error) {
		return func() { took = true }, nil
	})
	writeFile(t, filepath.Join(ws.Root, "templates", "mine.yaml"), mineTemplate("3.0.0", "Account"))
	if err := s.Reload(context.Background()); err == nil || !strings.Contains(err.Error(), "no template") {
		t.Fatalf("reload: %v, want the reloader's refusal", err)
	}
	if took {
		t.Error("a part took a change another part refused")
	}
	if job := takeMine(t, s, ws, "c1.csv"); job.TemplateVersion != "1.0.0" {
		t.Errorf("job ran %s after a refused change", job.TemplateVersion)
	}
}

func TestRestartOnly(t *testing.T) {
	a := workspace.Config{Workers: 2}
	b := workspace.Config{Workers: 4, Poll: true, AllowDrafts: true}
	if got := strings.Join(restartOnly(a, b), ","); got != "poll,workers" {
		t.Errorf("restartOnly = %q, want poll,workers", got)
	}
}
