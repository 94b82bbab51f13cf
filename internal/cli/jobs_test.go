package cli

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/erpipe/erpipe/jobs"
)

// TestJobsEscapeNames: a file name with terminal control characters (a
// colour escape, a bell, a newline that fakes a second row, a
// right-to-left override) is printed escaped, not acted on.
func TestJobsEscapeNames(t *testing.T) {
	name := "in\x1b[31mvoice\a\nFAKE-ROW\u202ecsv.exe"
	var b strings.Builder
	printJobs(&b, []*jobs.Job{{ID: "j1", Pipeline: "p", Input: name, Status: jobs.Processed,
		Outputs: []jobs.Output{{Name: name + ".zip"}}, Errors: []string{"bad " + name}}}, jobsView{width: 1000})
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

// triageJobs are jobs of every kind, as erpipe jobs lists them for triage.
func triageJobs() []*jobs.Job {
	cet := time.FixedZone("CET", 3600)
	at := func(day, h, m, s int) time.Time { return time.Date(2026, 11, day, h, m, s, 0, cet) }
	return []*jobs.Job{
		{ID: "20251230-230000-aaaaaa", Pipeline: "customers-v3", Input: "old.csv", Status: jobs.Processed, Read: 10, Written: 10,
			Started: time.Date(2025, 12, 31, 0, 0, 0, 0, cet), Outputs: []jobs.Output{{Name: "old.zip", Location: "/ws/outbox/customers-v3/old.zip"}}},
		{ID: "20261126-070000-bbbbbb", Pipeline: "customers-v3", Input: "customers.csv", Status: jobs.Processed, Read: 10, Written: 10,
			Started: at(26, 8, 0, 0), RetryOf: "20261125-070000-ffffff",
			Notes: []string{"a retry of job 20261125-070000-ffffff (erpipe retry): processed again past the duplicate check"},
			Outputs: []jobs.Output{
				{Name: "customers.zip", Destination: "folder /ws/outbox/customers-v3", Location: "/ws/outbox/customers-v3/customers (3).zip"},
				{Name: "customers.zip", Destination: "s3://results/d365", Location: "s3://results/d365/customers.zip"},
			}},
		{ID: "20261127-080000-cccccc", Pipeline: "customers-v3", Input: "partly.csv", Status: jobs.ProcessedWithErrors, Read: 10, Written: 8, Rejected: 2,
			Started: at(27, 9, 0, 0), Report: "/ws/errors/customers-v3/partly.csv.error.txt", RejectedFile: "partly.csv.rejected.csv",
			Outputs: []jobs.Output{{Name: "partly.zip", Location: "/ws/outbox/customers-v3/partly.zip"}}},
		{ID: "20261127-081000-dddddd", Pipeline: "customers-v3", Input: "bad.csv", Status: jobs.Failed, Started: at(27, 9, 10, 0),
			Errors: []string{"bad.csv: the file has no column Account\nthe columns are: Acount, Name", "second error"}},
		{ID: "20261127-082000-eeeeee", Pipeline: "saft-no", Input: "ledger.csv", Status: jobs.Processed, Read: 29, Written: 29, Warnings: 1,
			WarningTexts: []string{"ledger.csv: check one-date-per-transaction: the lines have different dates"}, Started: at(27, 9, 20, 0),
			Outputs: []jobs.Output{{Name: "ledger.xml", Location: "/ws/outbox/saft-no/ledger.xml"}}},
		{ID: "20261127-083000-ffffff", Pipeline: "customers-v3", Input: "again.csv", Status: jobs.Duplicate, Started: at(27, 9, 30, 0),
			DuplicateOf: "20261126-070000-bbbbbb"},
		{ID: "20261127-085000-111111", Pipeline: "customers-v3", Input: "big.csv", Status: jobs.Processing, Started: at(27, 9, 50, 0),
			InputSize: 27_300_000, Progress: &jobs.Progress{Rows: 410000, Bytes: 12_300_000, At: at(27, 9, 50, 50)}},
		{ID: "20261127-085500-222222", Pipeline: "customers-v3", Input: "s3.csv", Status: jobs.Processing, Started: at(27, 9, 55, 0), Read: 10, Written: 10,
			Pending: []string{`customers.zip -> s3://results/d365: store unavailable (503)`}},
		{ID: "20261127-085900-333333", Pipeline: "customers-v3", Input: "new.csv", Status: jobs.Enqueued, Created: at(27, 9, 59, 0)},
	}
}

// TestJobsList: the list of jobs for triage, line by line: the local time
// (the time of day for today's jobs), the names the outputs landed under,
// and the note: progress or the wait of a running job, the first error of
// a failed one, the rejected rows and where they are, warnings, and a
// retry as a note, cut to the width.
func TestJobsList(t *testing.T) {
	now := time.Date(2026, 11, 27, 10, 0, 0, 0, time.FixedZone("CET", 3600))
	var b strings.Builder
	printJobs(&b, triageJobs(), jobsView{now: now, width: 190, root: "/ws"})
	want := `ID                      STARTED       PIPELINE      INPUT          STATUS               READ    WRITTEN  REJECTED  OUTPUTS                           NOTE
20251230-230000-aaaaaa  2025-12-31    customers-v3  old.csv        Processed            10      10       0         old.zip
20261126-070000-bbbbbb  Nov 26 08:00  customers-v3  customers.csv  Processed            10      10       0         customers (3).zip, customers.zip  a retry of job 20261125-070000-ffffff (e…
20261127-080000-cccccc  09:00:00      customers-v3  partly.csv     ProcessedWithErrors  10      8        2         partly.zip                        2 rows rejected: errors/customers-v3/par…
20261127-081000-dddddd  09:10:00      customers-v3  bad.csv        Failed               0       0        0                                           bad.csv: the file has no column Account
20261127-082000-eeeeee  09:20:00      saft-no       ledger.csv     Processed            29      29       0         ledger.xml                        1 warning: ledger.csv: check one-date-pe…
20261127-083000-ffffff  09:30:00      customers-v3  again.csv      Duplicate            0       0        0                                           same content as job 20261126-070000-bbbb…
20261127-085000-111111  09:50:00      customers-v3  big.csv        Processing           410000  0        0                                           410000 rows, 8200 rows/s, 45% of 27.3 MB
20261127-085500-222222  09:55:00      customers-v3  s3.csv         Processing           10      10       0                                           waiting: customers.zip -> s3://results/d…
20261127-085900-333333  09:59:00      customers-v3  new.csv        Enqueued             0       0        0
`
	if b.String() != want {
		t.Errorf("erpipe jobs printed:\n%s\nwant:\n%s", b.String(), want)
	}
	for _, line := range strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n") {
		if n := utf8.RuneCountInString(line); n > 190 {
			t.Errorf("a line of %d characters is wider than 190: %s", n, line)
		}
	}
}

// TestJobsNote: the note column, whole (as --csv writes it), and cut to
// what the width leaves it, never to less than minNote.
func TestJobsNote(t *testing.T) {
	list := triageJobs()
	v := jobsView{now: time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC), width: 100, root: "/ws"}
	for i, want := range []string{
		"",
		"a retry of job 20261125-070000-ffffff (erpipe retry): processed again past the duplicate check",
		"2 rows rejected: errors/customers-v3/partly.csv.rejected.csv",
		"bad.csv: the file has no column Account",
		"1 warning: ledger.csv: check one-date-per-transaction: the lines have different dates",
		"same content as job 20261126-070000-bbbbbb",
		"410000 rows, 8200 rows/s, 45% of 27.3 MB",
		"waiting: customers.zip -> s3://results/d365: store unavailable (503)",
		"",
	} {
		if got := v.note(list[i]); got != want {
			t.Errorf("%s (%s): note %q, want %q", list[i].ID, list[i].Status, got, want)
		}
	}
	var b strings.Builder
	printJobs(&b, list[2:3], v)
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	if len(lines) != 2 || !strings.HasSuffix(lines[1], "  2 rows rejected: errors…") {
		t.Errorf("at width 100 the note is not cut to its least room (%d):\n%s", minNote, b.String())
	}
}

// TestJobsOutputsCell: the OUTPUTS cell names every output while they are
// short, else the first and how many more.
func TestJobsOutputsCell(t *testing.T) {
	for _, tt := range []struct {
		names []string
		want  string
	}{
		{nil, ""},
		{[]string{"customers (3).zip", "customers.zip"}, "customers (3).zip, customers.zip"},
		{[]string{"a-rather-long-name-of-a-single-output-file.zip"}, "a-rather-long-name-of-a-single-output-file.zip"},
		{[]string{"asset-major-types-Fixed asset major type.csv", "asset-major-types.xlsx"}, "asset-major-types-Fixed asset major type.csv (+1 more)"},
	} {
		if got := outputsCell(tt.names); got != tt.want {
			t.Errorf("%q: %q, want %q", tt.names, got, tt.want)
		}
	}
}
