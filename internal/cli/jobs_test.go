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
