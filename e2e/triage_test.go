package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// triageJob is the part of `erpipe jobs --json` the triage tests look at.
type triageJob struct {
	ID       string   `json:"id"`
	Pipeline string   `json:"pipeline"`
	Input    string   `json:"input"`
	Status   string   `json:"status"`
	RetryOf  string   `json:"retry_of"`
	Notes    []string `json:"notes"`
	Errors   []string `json:"errors"`
	Warnings int      `json:"warnings"`
}

// triageJobs returns the journal's jobs, oldest first.
func triageJobs(t *testing.T, ws string) []triageJob {
	t.Helper()
	out, errOut, code := erpipe(t, "jobs", "--json", "--workspace", ws)
	if code != 0 {
		t.Fatalf("erpipe jobs: exit %d: %s", code, errOut)
	}
	var list []triageJob
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatalf("erpipe jobs --json: %v\n%s", err, out)
	}
	return list
}

// jobLine returns the line of erpipe jobs that lists job id.
func jobLine(t *testing.T, table, id string) string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^` + id + `\s.*$`).FindString(table)
	if m == "" {
		t.Fatalf("erpipe jobs has no line for job %s:\n%s", id, table)
	}
	return m
}

// TestJobsTriage: what erpipe jobs shows an operator of the jobs of a
// running daemon: the name a result really landed under when the outbox
// kept an earlier one of its name, that rows were rejected and where they
// are, and a retry as a note on both jobs, not as an error.
func TestJobsTriage(t *testing.T) {
	t.Setenv("COLUMNS", "300")
	ws := workspaceWith(t, "settle: 200ms\nrescan: 500ms\n")
	d := startDaemon(t, ws)
	defer d.stop(t)
	in := filepath.Join(ws, "inbox", "customers-v3")
	ended := func(n int) []triageJob {
		var list []triageJob
		waitFor(t, 60*time.Second, "the jobs to end", func() bool {
			list = triageJobs(t, ws)
			if len(list) < n {
				return false
			}
			for _, j := range list {
				if j.Status == "Enqueued" || j.Status == "Processing" {
					return false
				}
			}
			return true
		})
		return list
	}
	drop(t, in, "c.csv", customers(t, 1))
	ended(1)
	drop(t, in, "c.csv", customers(t, 2)) // another c.zip: the outbox keeps both
	bad := strings.Replace(string(customers(t, 3)), "3.50,30", "3.5O,30", 1)
	drop(t, in, "partly.csv", []byte(bad))
	list := ended(3)

	table, _, code := erpipe(t, "jobs", "--workspace", ws)
	if code != 0 {
		t.Fatalf("erpipe jobs: exit %d", code)
	}
	contains(t, "erpipe jobs header", table, "STARTED", "OUTPUTS", "NOTE")
	byInput := map[string][]triageJob{}
	for _, j := range list {
		byInput[j.Input] = append(byInput[j.Input], j)
	}
	if !strings.Contains(jobLine(t, table, byInput["c.csv"][0].ID), "  c.zip") ||
		!strings.Contains(jobLine(t, table, byInput["c.csv"][1].ID), "  c (2).zip") {
		t.Errorf("OUTPUTS do not name the files as they landed (c.zip, then c (2).zip):\n%s", table)
	}
	if _, err := os.Stat(filepath.Join(ws, "outbox", "customers-v3", "c (2).zip")); err != nil {
		t.Errorf("the outbox: %v", err)
	}
	partly := jobLine(t, table, byInput["partly.csv"][0].ID)
	if !strings.Contains(partly, "ProcessedWithErrors") || !strings.Contains(partly, "1 row rejected: errors/customers-v3/partly.csv.rejected.csv") {
		t.Errorf("the line of a job with a rejected row does not say where the row is:\n%s", partly)
	}

	// A retry is a note on both jobs.
	first := byInput["c.csv"][0]
	if _, stderr, code := erpipe(t, "retry", first.ID, "-w", ws); code != 0 {
		t.Fatalf("retry: exit %d: %s", code, stderr)
	}
	list = ended(4)
	again := list[len(list)-1]
	if again.Status != "Processed" || again.RetryOf != first.ID || len(again.Errors) != 0 || len(again.Notes) != 1 {
		t.Errorf("the retry: %+v", again)
	}
	table, _, _ = erpipe(t, "jobs", "--workspace", ws)
	if line := jobLine(t, table, again.ID); !strings.Contains(line, "a retry of job "+first.ID) {
		t.Errorf("the retry's line has no note of the job it retries:\n%s", line)
	}
	if line := jobLine(t, table, first.ID); !strings.Contains(line, "retried (erpipe retry) at ") || !strings.Contains(line, "inbox/customers-v3/c.csv") {
		t.Errorf("the retried job's line has no note of its retry:\n%s", line)
	}
}

// TestScheduleRetryAndEmptyPeriod: a produced period with no transactions
// (a ledger of another month) is made, and said to have none in the run's
// output, its job and erpipe schedule list; erpipe retry of a schedule's
// job runs its period again, or, for a period produced, says how to make a
// correction instead.
func TestScheduleRetryAndEmptyPeriod(t *testing.T) {
	ws := t.TempDir()
	writeFile(t, filepath.Join(ws, "erpipe.yaml"), []byte(scheduleConfig))
	ledger := filepath.Join(ws, "data", "ledger")
	os.MkdirAll(ledger, 0o755)
	header := strings.Join(saftColumns, ",") + "\n"
	// Only December's transaction: October has none.
	writeFile(t, filepath.Join(ledger, "december.csv"), []byte(header+ledgerMaster+ledgerLines(ledgerTxs[7])))
	// Each command an hour later: ERPIPE_NOW starts every process's clock
	// at its time, and jobs are listed in the order of their times.
	clock := time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC)
	at := func() string { clock = clock.Add(time.Hour); return clock.Format(time.RFC3339) }

	out, stderr, code := erpipeAt(t, at(), "schedule", "run", "saft-monthly", "--period", "2026-10", "-w", ws)
	if code != 0 {
		t.Fatalf("schedule run of a period without transactions: exit %d: %s\n%s", code, stderr, out)
	}
	contains(t, "schedule run", out, "Status:", "Processed", "Warnings:", "The period has no transactions")
	list, _, _ := erpipeAt(t, at(), "schedule", "list", "-w", ws)
	contains(t, "schedule list", list, "2026-10 Produced", "(1 warning)", "WARNING saft-monthly 2026-10", "The period has no transactions")
	produced := triageJobs(t, ws)[0]
	if produced.Status != "Processed" || produced.Warnings != 1 {
		t.Fatalf("the produced period's job: %+v", produced)
	}

	// Its retry is refused, with the command that makes a correction.
	_, stderr, code = erpipeAt(t, at(), "retry", produced.ID, "-w", ws)
	if code != 2 || !strings.Contains(stderr, "erpipe schedule run saft-monthly --period 2026-10 --force") || strings.Contains(stderr, "no longer has") {
		t.Errorf("retry of a produced period: exit %d: %s", code, stderr)
	}

	// A failed period, retried once its data is there.
	if err := os.Rename(filepath.Join(ledger, "december.csv"), filepath.Join(ws, "december.csv")); err != nil {
		t.Fatal(err)
	}
	if _, stderr, code := erpipeAt(t, at(), "schedule", "run", "saft-monthly", "--period", "2026-11", "-w", ws); code != 1 {
		t.Fatalf("schedule run without input files: exit %d, want 1: %s", code, stderr)
	}
	failedJob := triageJobs(t, ws)[1]
	if failedJob.Status != "Failed" {
		t.Fatalf("the period without input: %+v", failedJob)
	}
	writeFile(t, filepath.Join(ledger, "november.csv"), []byte(header+ledgerMaster+ledgerLines(ledgerTxs[5:7]...)))
	out, stderr, code = erpipeAt(t, at(), "retry", failedJob.ID, "-w", ws)
	if code != 0 {
		t.Fatalf("retry of a failed period: exit %d: %s\n%s", code, stderr, out)
	}
	contains(t, "retry output", out, "period 2026-11 of schedule saft-monthly was run again as job", "Status:", "Processed", "Retry of:", failedJob.ID)
	jobs := triageJobs(t, ws)
	again := jobs[len(jobs)-1]
	if again.Status != "Processed" || again.RetryOf != failedJob.ID || len(again.Notes) != 1 || again.Warnings != 0 {
		t.Errorf("the retry of the period: %+v", again)
	}
	if notes := strings.Join(jobs[1].Notes, " "); !strings.Contains(notes, "retried (erpipe retry) as job "+again.ID) {
		t.Errorf("the failed job does not note its retry: %q", jobs[1].Notes)
	}
	list, _, _ = erpipeAt(t, at(), "schedule", "list", "-w", ws)
	if strings.Contains(list, "FAILED") {
		t.Errorf("the period is still failed after its retry:\n%s", list)
	}
}
