package cli

import (
	"strings"
	"testing"

	"github.com/erpipe/erpipe/jobs"
)

// TestJobsEscapeNames: a file name with terminal control characters (a
// colour escape, a bell, a newline that fakes a second row, a
// right-to-left override) is printed escaped, not acted on.
func TestJobsEscapeNames(t *testing.T) {
	name := "in\x1b[31mvoice\a\nFAKE-ROW\u202ecsv.exe"
	var b strings.Builder
	printJobs(&b, []*jobs.Job{{ID: "j1", Pipeline: "p", Input: name, Status: jobs.Processed,
		Outputs: []jobs.Output{{Name: name + ".zip"}}, Errors: []string{"bad " + name}}})
	printJob(&b, &jobs.Job{ID: "j1", Pipeline: "p", Input: name, Status: jobs.Processed, Errors: []string{"bad " + name}})
	out := b.String()
	if strings.ContainsAny(out, "\x1b\a\u202e") || strings.Contains(out, "\nFAKE-ROW") {
		t.Errorf("control characters reach the terminal:\n%q", out)
	}
	if !strings.Contains(out, `in\x1b[31mvoice\x07\x0aFAKE-ROW\u202ecsv.exe`) {
		t.Errorf("the name is not shown escaped:\n%s", out)
	}
}

// TestJobsStatusFilter: a status is taken in any letter case; an unknown
// one is refused with the list, not answered with "(no jobs)".
func TestJobsStatusFilter(t *testing.T) {
	for in, want := range map[string]jobs.Status{"failed": jobs.Failed, "PROCESSEDWITHERRORS": jobs.ProcessedWithErrors, " Duplicate ": jobs.Duplicate} {
		if got, err := jobs.ParseStatus(in); err != nil || got != want {
			t.Errorf("%q: %v %v", in, got, err)
		}
	}
	if _, err := jobs.ParseStatus("Broken"); err == nil || !strings.Contains(err.Error(), "Enqueued, Processing") {
		t.Errorf("an unknown status: %v", err)
	}
}

// TestJobShowPending: jobs show prints what a job waits for.
func TestJobShowPending(t *testing.T) {
	var b strings.Builder
	printJob(&b, &jobs.Job{ID: "j1", Pipeline: "p", Input: "c.csv", Status: jobs.Processing,
		Pending: []string{`s3 "results": store unavailable (503)`}})
	if !strings.Contains(b.String(), "Waiting for:\n  s3 \"results\": store unavailable (503)") {
		t.Errorf("jobs show:\n%s", b.String())
	}
}
