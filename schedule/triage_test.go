package schedule

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/erpipe/erpipe/jobs"
)

// logBuffer is a log sink that goroutines may share.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// lines returns the logged lines that contain s.
func (l *logBuffer) lines(s string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, line := range strings.Split(l.b.String(), "\n") {
		if strings.Contains(line, s) {
			out = append(out, line)
		}
	}
	return out
}

// TestSchedulePeriodsDueLoggedOnce: a period is said to be due once, when
// it becomes due. A failed period with no attempts left is said once, when
// its last attempt fails, and not again at every tick (the runner's clock
// moves a minute at a time, as the daemon polls) until its state changes.
func TestSchedulePeriodsDueLoggedOnce(t *testing.T) {
	r, now := testWorkspace(t, monthly+"    from: 2026-09\n", map[string]string{
		"data/ledger/a.csv": ledgerHeader + "2026-10-01,1920,7.00,October 1\n",
	})
	var logs logBuffer
	r.log = slog.New(slog.NewTextHandler(&logs, nil))
	ctx := context.Background()
	*now = time.Date(2026, 11, 3, 0, 0, 0, 0, time.UTC)
	tick := func() {
		t.Helper()
		if err := r.Tick(ctx); err != nil {
			t.Fatal(err)
		}
	}
	tick()                           // 2026-09 fails (no data), 2026-10 is produced
	*now = now.Add(11 * time.Minute) // the retry's delay: its last attempt fails
	tick()
	o, _ := r.Overview(ctx)
	if len(o[0].Failed) != 1 || !o[0].Failed[0].NextAttempt.IsZero() {
		t.Fatalf("2026-09 should have failed with no attempts left: %+v", o[0].Failed)
	}
	for range 5 {
		*now = now.Add(time.Minute)
		tick()
	}
	if due := logs.lines("periods due"); len(due) != 1 || !strings.Contains(due[0], `periods="2026-09, 2026-10"`) {
		t.Errorf("periods due was said %d times, want once for 2026-09 and 2026-10:\n%s", len(due), strings.Join(due, "\n"))
	}
	if left := logs.lines("no attempts are left"); len(left) != 1 {
		t.Errorf("the failed period's last attempt was said %d times, want once:\n%s", len(left), strings.Join(left, "\n"))
	}
	// The next month's run: that period alone is due.
	*now = time.Date(2026, 12, 1, 6, 0, 0, 0, time.UTC)
	tick()
	if due := logs.lines("periods due"); len(due) != 2 || !strings.Contains(due[1], `periods=2026-11`) {
		t.Errorf("periods due after 1 December:\n%s", strings.Join(due, "\n"))
	}
}

// TestScheduleEmptyPeriodWarns: a period whose records were all outside it
// (a ledger of another month) with on_empty: submit is produced, and said
// to have none in its job, its receipt and the schedule's overview.
func TestScheduleEmptyPeriodWarns(t *testing.T) {
	r, now := testWorkspace(t, strings.Replace(monthly, "retry:", "on_empty: submit\n    retry:", 1), map[string]string{
		"data/ledger/a.csv": ledgerHeader + "2026-09-01,1920,10.50,September 1\n2026-09-30,3000,-20.25,September 30\n",
	})
	ctx := context.Background()
	*now = time.Date(2026, 11, 3, 0, 0, 0, 0, time.UTC)
	p, _ := r.schedules[0].Rule.Parse("2026-10")
	job, err := r.Produce(ctx, r.schedules[0], p, false)
	if err != nil {
		t.Fatal(err)
	}
	if job.Status != jobs.Processed || job.Warnings != 1 || len(job.WarningTexts) != 1 ||
		!strings.Contains(job.WarningTexts[0], "the period has no records: 2 records read from the 1 input files (data/ledger/*.csv), none of them in period 2026-10 (2026-10-01 to 2026-10-31)") {
		t.Errorf("job %s, %d warnings: %q", job.Status, job.Warnings, job.WarningTexts)
	}
	if rc := readReceipt(t, job.Submission.Receipt); rc.Validation != "passed: 0 records, 1 warnings" || len(rc.Warnings) != 1 {
		t.Errorf("receipt: %q, %q", rc.Validation, rc.Warnings)
	}
	o, err := r.Overview(ctx)
	if err != nil || o[0].LastJob == nil || o[0].LastJob.ID != job.ID || o[0].LastJob.Warnings != 1 {
		t.Errorf("the overview's last run does not carry its warning: %v %+v", err, o[0].LastJob)
	}
	// A period that has records is not warned about.
	os.WriteFile(filepath.Join(r.ws.Root, "data/ledger/b.csv"), []byte(ledgerHeader+"2026-11-02,1920,1.00,November\n"), 0o644)
	p11, _ := r.schedules[0].Rule.Parse("2026-11")
	*now = time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC)
	if job, err := r.Produce(ctx, r.schedules[0], p11, false); err != nil || job.Warnings != 0 {
		t.Errorf("2026-11: %v, %d warnings %q", err, job.Warnings, job.WarningTexts)
	}
}

// TestScheduleSAFTPeriodWithoutTransactions: saft-no's ledger of January
// produced for March is made with its balances, and warned about by the
// template's check: the period has no transactions.
func TestScheduleSAFTPeriodWithoutTransactions(t *testing.T) {
	ledgerFile, err := os.ReadFile("../templates/saft-no/samples/ledger.csv")
	if err != nil {
		t.Fatal(err)
	}
	r, now := testWorkspace(t, `  - name: saft-monthly
    template: saft-no
    cron: "0 6 1 * *"
    time_zone: Europe/Oslo
    period: previous-month
    input: {files: data/ledger/*.csv}
`, map[string]string{"data/ledger/ledger.csv": string(ledgerFile)})
	ctx := context.Background()
	*now = time.Date(2026, 4, 3, 0, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		period   string
		warnings int
	}{
		{"2026-01", 0}, // the ledger's month
		{"2026-03", 1}, // its lines are all before March
	} {
		p, _ := r.schedules[0].Rule.Parse(tt.period)
		job, err := r.Produce(ctx, r.schedules[0], p, false)
		if err != nil {
			t.Fatalf("%s: %v", tt.period, err)
		}
		if job.Status != jobs.Processed || job.Warnings != tt.warnings {
			t.Errorf("%s: %s with %d warnings %q, want %d", tt.period, job.Status, job.Warnings, job.WarningTexts, tt.warnings)
		}
		if tt.warnings > 0 && !strings.Contains(strings.Join(job.WarningTexts, " "), "rule transactions-in-period (warning): The period has no transactions") {
			t.Errorf("%s: warnings %q", tt.period, job.WarningTexts)
		}
	}
}

// TestScheduleRetry: erpipe retry of a schedule's failed job produces its
// period again, noting the job it retries; of a produced one, it is
// refused (a correction is asked for by name, with --force).
func TestScheduleRetry(t *testing.T) {
	r, now := testWorkspace(t, monthly, nil)
	ctx := context.Background()
	*now = time.Date(2026, 11, 3, 0, 0, 0, 0, time.UTC)
	p, _ := r.schedules[0].Rule.Parse("2026-10")
	failedJob, err := r.Produce(ctx, r.schedules[0], p, false)
	if err == nil || failedJob.Status != jobs.Failed {
		t.Fatalf("a period without data: %v %+v", err, failedJob)
	}
	os.MkdirAll(filepath.Join(r.ws.Root, "data/ledger"), 0o755)
	os.WriteFile(filepath.Join(r.ws.Root, "data/ledger/b.csv"), []byte(ledger["data/ledger/b.csv"]), 0o644)
	again, err := r.Retry(ctx, r.schedules[0], p, failedJob.ID)
	if err != nil {
		t.Fatal(err)
	}
	if again.Status != jobs.Processed || again.RetryOf != failedJob.ID || len(again.Notes) != 1 || !strings.Contains(again.Notes[0], "a retry of job "+failedJob.ID) {
		t.Errorf("the retry: %s, retry of %q, notes %q", again.Status, again.RetryOf, again.Notes)
	}
	if _, err := r.Retry(ctx, r.schedules[0], p, again.ID); !errors.Is(err, jobs.ErrProduced) {
		t.Errorf("a retry of a produced period: %v, want ErrProduced", err)
	}
}
