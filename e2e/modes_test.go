package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestReadinessModes runs one pipeline per readiness mode: marker (taken
// when <name>.done appears, marker consumed), rename (*.tmp never taken,
// the final name at once) and, in another workspace, poll (no file-system
// events at all).
func TestReadinessModes(t *testing.T) {
	ws := workspaceWith(t, `settle: 300ms
rescan: 500ms
builtin_pipelines: false
pipelines:
  - name: marker
    template: customers-v3
    inbox: {readiness: marker}
  - name: rename
    template: customers-v3
    inbox: {readiness: rename}
`)
	d := startDaemonOn(t, ws, "marker", "rename")
	mk := filepath.Join(ws, "inbox", "marker")
	writeFile(t, filepath.Join(mk, "m.csv"), customers(t, 1))
	rn := filepath.Join(ws, "inbox", "rename")
	writeFile(t, filepath.Join(rn, "r.csv.tmp"), customers(t, 2))
	time.Sleep(2 * time.Second) // several settle windows and rescans
	if got := listJobs(t, ws); len(got) != 0 {
		t.Fatalf("files were taken before their marker or rename: %+v", got)
	}
	writeFile(t, filepath.Join(mk, "m.csv.done"), nil)
	if err := os.Rename(filepath.Join(rn, "r.csv.tmp"), filepath.Join(rn, "r.csv")); err != nil {
		t.Fatal(err)
	}
	byInput := waitJobs(t, ws, 2)
	for _, name := range []string{"m.csv", "r.csv"} {
		if byInput[name].Status != "Processed" {
			t.Errorf("%s: %s", name, byInput[name].Status)
		}
	}
	if got := files(t, mk); len(got) != 0 {
		t.Errorf("marker inbox still holds %q; the marker must be consumed with its file", got)
	}
	d.stop(t)

	poll := workspaceWith(t, "settle: 300ms\nrescan: 300ms\npoll: true\n")
	d = startDaemon(t, poll)
	drop(t, filepath.Join(poll, "inbox", "customers-v3"), "p.csv", customers(t, 3))
	if got := waitJobs(t, poll, 1)["p.csv"]; got.Status != "Processed" {
		t.Errorf("poll mode: %s", got.Status)
	}
	d.stop(t)
}

// startDaemonOn starts the daemon and waits for the inboxes of pipelines.
func startDaemonOn(t *testing.T, ws string, pipelines ...string) *daemon {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(ws, "inbox", "customers-v3"), 0o755); err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, ws)
	for _, p := range pipelines {
		waitFor(t, 20*time.Second, "the inbox of "+p, func() bool {
			_, err := os.Stat(filepath.Join(ws, "inbox", p))
			return err == nil
		})
	}
	return d
}

// TestSIGTERMMidJob stops the daemon while it processes a large file: the
// job finishes within the grace period and the daemon exits 0.
func TestSIGTERMMidJob(t *testing.T) {
	ws := workspaceWith(t, "settle: 300ms\nrescan: 500ms\n")
	d := startDaemon(t, ws)
	header := customersHeader
	var b strings.Builder
	b.WriteString(header + "\n")
	for r := range 150000 {
		fmt.Fprintf(&b, "L%07d,Large %d,10,EUR,NOR,Gate 1,Oslo,0150,l%d@example.com,+47 1,%d.00,30\n", r, r, r, r)
	}
	drop(t, filepath.Join(ws, "inbox", "customers-v3"), "large.csv", []byte(b.String()))
	waitFor(t, 30*time.Second, "the large job to start", func() bool {
		for _, j := range listJobs(t, ws) {
			if j.Status == "Processing" {
				return true
			}
		}
		return false
	})
	d.stopWithin(t, 60*time.Second)
	j := listJobs(t, ws)
	if len(j) != 1 || j[0].Status != "Processed" || j[0].Written != 150000 {
		t.Errorf("after SIGTERM mid-job: %+v", j)
	}
}

// TestSameNameOtherContent drops a file, then another file of the same name
// with other content: both are processed, neither result replaces the
// other, and both inputs are archived.
func TestSameNameOtherContent(t *testing.T) {
	ws := workspaceWith(t, "settle: 300ms\nrescan: 500ms\n")
	d := startDaemon(t, ws)
	in := filepath.Join(ws, "inbox", "customers-v3")
	drop(t, in, "c.csv", customers(t, 1))
	waitFor(t, 60*time.Second, "the first c.csv", func() bool {
		j := listJobs(t, ws)
		return len(j) == 1 && j[0].Status == "Processed"
	})
	drop(t, in, "c.csv", customers(t, 2))
	var list []job
	waitFor(t, 60*time.Second, "the second c.csv", func() bool {
		list = listJobs(t, ws)
		return len(list) == 2 && list[1].Status == "Processed"
	})
	d.stop(t)
	if list[1].DuplicateOf != "" {
		t.Errorf("other content under the same name was taken for a duplicate of %s", list[1].DuplicateOf)
	}
	if got := files(t, filepath.Join(ws, "outbox", "customers-v3")); strings.Join(got, ",") != "c (2).zip,c.zip" {
		t.Errorf("outbox holds %q; want both results, neither replaced", got)
	}
	if got := files(t, filepath.Join(ws, "archive")); len(got) != 2 {
		t.Errorf("archive holds %q; want both inputs", got)
	}
}
