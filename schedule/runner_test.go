package schedule

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/erpipe/erpipe/jobs"
	"github.com/erpipe/erpipe/workspace"
)

const ledgerHeader = "Date,Account,Amount,Text\n"

// testWorkspace makes a workspace with the ledger-period template, the
// given schedules section and ledger files, and a runner on it whose clock
// is *now, moving on a millisecond each time it is read.
func testWorkspace(t *testing.T, schedules string, data map[string]string) (*Runner, *time.Time) {
	t.Helper()
	root := t.TempDir()
	write := func(rel, text string) {
		t.Helper()
		p := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tmpl, err := os.ReadFile("testdata/ledger-period.yaml")
	if err != nil {
		t.Fatal(err)
	}
	write("templates/ledger-period.yaml", string(tmpl))
	write("erpipe.yaml", "builtin_pipelines: false\nschedules:\n"+schedules)
	for name, text := range data {
		write(name, text)
	}
	ws, err := workspace.Open(root, "")
	if err != nil {
		t.Fatal(err)
	}
	list, err := Load(ws)
	if err != nil {
		t.Fatal(err)
	}
	j, err := jobs.OpenJournal(filepath.Join(root, "journal.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	r, err := NewRunner(context.Background(), ws, j, slog.New(slog.NewTextHandler(io.Discard, nil)), list)
	if err != nil {
		t.Fatal(err)
	}
	now := new(time.Time)
	r.Now = func() time.Time { *now = now.Add(time.Millisecond); return *now } // a clock that moves on
	return r, now
}

const monthly = `  - name: ledger-monthly
    template: ledger-period
    cron: "0 6 1 * *"
    time_zone: Europe/Oslo
    period: previous-month
    input: {files: data/ledger/*.csv}
    parameters: {company: "912345678"}
    retry: {attempts: 2, delay: 10m}
`

var ledger = map[string]string{
	"data/ledger/a.csv": ledgerHeader + "2026-08-31,1920,100.00,August\n2026-09-01,1920,10.50,September 1\n2026-09-30,3000,-20.25,September 30\n",
	"data/ledger/b.csv": ledgerHeader + "2026-10-01,1920,7.00,October 1\n2026-10-31,3000,1.10,October 31\n2026-11-01,1920,5.00,November\n",
}

func sha(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// TestScheduleMakesUpMissedPeriods checks catch-up (oldest first), that
// each period's file holds exactly its lines, the receipt, and exactly
// once with --force corrections.
func TestScheduleMakesUpMissedPeriods(t *testing.T) {
	r, now := testWorkspace(t, monthly, ledger)
	ctx := context.Background()
	root := r.ws.Root
	*now = time.Date(2026, 9, 15, 12, 0, 0, 0, time.UTC)
	if err := r.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	if runs, _ := r.Runs(ctx, ""); len(runs) != 0 {
		t.Fatalf("first start made %d runs; nothing was due", len(runs))
	}
	// Down until 3 November: the runs of 1 October and 1 November are made up.
	*now = time.Date(2026, 11, 3, 0, 0, 0, 0, time.UTC)
	if err := r.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	runs, err := r.Runs(ctx, "ledger-monthly")
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 2 || runs[0].Period != "2026-09" || runs[1].Period != "2026-10" {
		t.Fatalf("runs = %+v, want 2026-09 and 2026-10", runs)
	}
	for _, run := range runs {
		if run.Status != jobs.RunProduced {
			t.Fatalf("%s: %s: %s", run.Period, run.Status, run.Error)
		}
	}
	// September was produced before October.
	j9, _ := r.journal.Get(ctx, runs[0].Job)
	j10, _ := r.journal.Get(ctx, runs[1].Job)
	if !j9.Finished.Before(j10.Started) {
		t.Errorf("2026-10 (job %s) was not produced after 2026-09 (job %s)", j10.ID, j9.ID)
	}
	out := filepath.Join(root, "outbox", "ledger-monthly")
	want := map[string]string{
		"LEDGER_912345678_2026-09.csv": "PERIOD,DATE,ACCOUNT,AMOUNT,TEXT\n2026-09,2026-09-01,1920,10.50,September 1\n2026-09,2026-09-30,3000,-20.25,September 30\n",
		"LEDGER_912345678_2026-10.csv": "PERIOD,DATE,ACCOUNT,AMOUNT,TEXT\n2026-10,2026-10-01,1920,7.00,October 1\n2026-10,2026-10-31,3000,1.10,October 31\n",
	}
	for name, text := range want {
		got, err := os.ReadFile(filepath.Join(out, name))
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != text {
			t.Errorf("%s =\n%s\nwant\n%s", name, got, text)
		}
	}

	// The receipt, beside the archived output, matches the files.
	rc := readReceipt(t, j10.Submission.Receipt)
	if rc.Period != "2026-10" || rc.PeriodStart != "2026-10-01" || rc.PeriodEnd != "2026-10-31" || rc.Version != 1 || rc.Job != j10.ID {
		t.Errorf("receipt = %+v", rc)
	}
	if len(rc.Inputs) != 2 {
		t.Fatalf("receipt inputs = %+v", rc.Inputs)
	}
	for _, in := range rc.Inputs {
		if got := sha(t, filepath.Join(root, in.Path)); got != in.SHA256 {
			t.Errorf("receipt: %s sha256 %s, the file's is %s", in.Path, in.SHA256, got)
		}
	}
	archived := filepath.Join(filepath.Dir(j10.Submission.Receipt), "LEDGER_912345678_2026-10.csv")
	if len(rc.Outputs) != 1 || rc.Outputs[0].SHA256 != sha(t, archived) || rc.Outputs[0].SHA256 != sha(t, filepath.Join(out, rc.Outputs[0].Name)) {
		t.Errorf("receipt outputs %+v do not match the archived and delivered file", rc.Outputs)
	}
	if rc.Template.Name != "ledger-period" || rc.Template.Version != "1.2.0" || rc.Template.SHA256 != sha(t, filepath.Join(root, "templates", "ledger-period.yaml")) {
		t.Errorf("receipt template = %+v", rc.Template)
	}
	if rc.Parameters["period.start"] != "2026-10-01" || rc.Parameters["company"] != "912345678" {
		t.Errorf("receipt parameters = %v", rc.Parameters)
	}
	if len(rc.Acks) != 1 || !strings.HasSuffix(rc.Acks[0].Location, "LEDGER_912345678_2026-10.csv") {
		t.Errorf("receipt acknowledgements = %+v", rc.Acks)
	}
	if !strings.HasPrefix(rc.Validation, "passed: 2 records") {
		t.Errorf("validation = %q", rc.Validation)
	}

	// Exactly once: later ticks and a second run do nothing.
	if err := r.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	s := r.schedules[0]
	p10, _ := s.Rule.Parse("2026-10")
	if _, err := r.Produce(ctx, s, p10, false); !errors.Is(err, jobs.ErrProduced) || !strings.Contains(err.Error(), "--force") {
		t.Fatalf("second run of 2026-10: %v, want it refused", err)
	}
	// A correction: late data, --force; the first version stays.
	os.WriteFile(filepath.Join(root, "data/ledger/c.csv"), []byte(ledgerHeader+"2026-10-15,1920,3.00,Late\n"), 0o644)
	j, err := r.Produce(ctx, s, p10, true)
	if err != nil {
		t.Fatal(err)
	}
	if j.Submission.Version != 2 || j.Submission.CorrectionOf != j10.ID || j.Written != 3 {
		t.Errorf("correction: version %d, correction of %q (want %s), %d written", j.Submission.Version, j.Submission.CorrectionOf, j10.ID, j.Written)
	}
	names, _ := filepath.Glob(filepath.Join(out, "LEDGER_912345678_2026-10*"))
	if len(names) != 2 {
		t.Errorf("outbox holds %v; want the first version and the correction", names)
	}
	if got, _ := os.ReadFile(filepath.Join(out, "LEDGER_912345678_2026-10.csv")); string(got) != want["LEDGER_912345678_2026-10.csv"] {
		t.Errorf("the first version was changed:\n%s", got)
	}
	if _, err := os.Stat(j10.Submission.Receipt); err != nil {
		t.Errorf("the first version's receipt is gone: %v", err)
	}
}

func readReceipt(t *testing.T, path string) Receipt {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var rc Receipt
	if err := json.Unmarshal(data, &rc); err != nil {
		t.Fatal(err)
	}
	return rc
}

// TestScheduleFailedPeriodStaysVisible checks that a period with no data
// fails loudly, is retried per policy, and stays failed behind later
// periods until produced.
func TestScheduleFailedPeriodStaysVisible(t *testing.T) {
	r, now := testWorkspace(t, monthly+"    from: 2026-09\n", map[string]string{
		"data/ledger/a.csv": ledgerHeader + "2026-10-01,1920,7.00,October 1\n",
	})
	ctx := context.Background()
	*now = time.Date(2026, 11, 3, 0, 0, 0, 0, time.UTC)
	if err := r.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	runs, _ := r.Runs(ctx, "ledger-monthly")
	if len(runs) != 2 || runs[0].Status != jobs.RunFailed || runs[1].Status != jobs.RunProduced {
		t.Fatalf("runs = %+v; want 2026-09 failed, 2026-10 produced", runs)
	}
	if !strings.Contains(runs[0].Error, "no records of period 2026-09") || runs[0].NextAttempt.IsZero() {
		t.Errorf("2026-09: error %q, next attempt %v", runs[0].Error, runs[0].NextAttempt)
	}
	job, _ := r.journal.Get(ctx, runs[0].Job)
	if job.Status != jobs.Failed || job.Submission == nil || job.Submission.Validation != "failed: no records in the period" {
		t.Errorf("failed job = %+v", job)
	}
	// The retry comes after the delay; the second and last attempt fails too.
	*now = now.Add(11 * time.Minute)
	if err := r.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	o, err := r.Overview(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(o[0].Failed) != 1 || o[0].Failed[0].Period != "2026-09" || o[0].Failed[0].Attempts != 2 || !o[0].Failed[0].NextAttempt.IsZero() {
		t.Fatalf("overview failed = %+v", o[0].Failed)
	}
	// Data arrives; a run by hand resolves it, without --force.
	os.WriteFile(filepath.Join(r.ws.Root, "data/ledger/b.csv"), []byte(ledgerHeader+"2026-09-10,1920,1.00,September\n"), 0o644)
	p9, _ := r.schedules[0].Rule.Parse("2026-09")
	if _, err := r.Produce(ctx, r.schedules[0], p9, false); err != nil {
		t.Fatal(err)
	}
	if o, _ := r.Overview(ctx); len(o[0].Failed) != 0 {
		t.Errorf("still failed: %+v", o[0].Failed)
	}
}

// TestScheduleEmptySubmission checks on_empty: submit with no input files.
func TestScheduleEmptySubmission(t *testing.T) {
	r, now := testWorkspace(t, strings.Replace(monthly, "retry:", "on_empty: submit\n    retry:", 1), nil)
	ctx := context.Background()
	*now = time.Date(2026, 11, 3, 0, 0, 0, 0, time.UTC)
	p, _ := r.schedules[0].Rule.Parse("2026-10")
	job, err := r.Produce(ctx, r.schedules[0], p, false)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(job.FinalPath)
	if err != nil || string(got) != "PERIOD,DATE,ACCOUNT,AMOUNT,TEXT\n" {
		t.Errorf("empty submission = %q, %v", got, err)
	}
}

// TestScheduleInterruptedRunIsRetried checks a run left Running by a
// process that died.
func TestScheduleInterruptedRunIsRetried(t *testing.T) {
	r, now := testWorkspace(t, monthly, ledger)
	ctx := context.Background()
	*now = time.Date(2026, 11, 3, 0, 0, 0, 0, time.UTC)
	if _, err := r.runs.Claim(ctx, "ledger-monthly", "2026-10", "2026-10-01", false, "999999999@"+hostname(), "20261103-000000-dead00", *now); err != nil {
		t.Fatal(err)
	}
	if err := r.recoverInterrupted(ctx); err != nil {
		t.Fatal(err)
	}
	p, _ := r.schedules[0].Rule.Parse("2026-10")
	job, err := r.Produce(ctx, r.schedules[0], p, false)
	if err != nil {
		t.Fatal(err)
	}
	if job.Submission.Attempt != 2 || job.Submission.Version != 1 {
		t.Errorf("attempt %d version %d, want attempt 2 of version 1", job.Submission.Attempt, job.Submission.Version)
	}
}

func hostname() string { h, _ := os.Hostname(); return h }

// TestScheduleConfigErrors checks that bad schedules are reported, each
// saying what to write.
// d365Conn is a D365 connection in a schedule's input.
const d365Conn = `environment: "https://x.operations.dynamics.com", tenant: t, client_id: c`

func TestScheduleConfigErrors(t *testing.T) {
	cases := []struct{ yaml, want string }{
		{`{name: a, template: ledger-period, cron: "0 6 32 * *", period: previous-month, input: {files: "*.csv"}}`, `cron "0 6 32 * *" is not a cron expression`},
		{`{name: a, template: ledger-period, cron: "@monthly", time_zone: Europe/Bergen, period: previous-month, input: {files: "*.csv"}}`, `time_zone "Europe/Bergen" is not a time zone`},
		{`{name: a, template: ledger-period, cron: "@monthly", period: monthly, input: {files: "*.csv"}}`, `period "monthly" is not a period rule; use one of previous-month`},
		{`{name: a, template: ledger-period, cron: "@monthly", period: previous-month, from: 2026-9, input: {files: "*.csv"}}`, `from: period "2026-9" is not a period of rule previous-month`},
		{`{name: a, template: nope, cron: "@monthly", period: previous-month, input: {files: "*.csv"}}`, `template:`},
		{`{name: a, template: ledger-period, cron: "@monthly", period: previous-month}`, `say where its data comes from`},
		{`{name: a, template: ledger-period, cron: "@monthly", period: previous-month, input: {files: "*.csv"}, on_empty: skip}`, `on_empty "skip"`},
		{`{name: a, template: ledger-period, cron: "@monthly", period: previous-month, input: {files: "*.csv"}, parameters: {period_name: x}}`, `period_name is set by the schedule`},
		{`{name: a, template: ledger-period, cron: "@monthly", period: previous-month, input: {files: "*.csv"}, parameters: {period.end: x}}`, `period.end is set by the schedule`},
		{`{name: a, template: ledger-period, cron: "@monthly", period: previous-month, input: {files: "*.csv"}, parameters: {compnay: x}}`, `has no parameter "compnay"`},
		{`{name: a, template: ledger-period, cron: "@monthly", period: previous-month, input: {files: "*.csv", d365: {definition_group: x}}}`, `give one of files, pipeline and d365`},
		{`{name: a, template: ledger-period, cron: "@monthly", period: previous-month, input: {d365: {definition_group: x}}}`, `environment, tenant and client_id`},
		{`{name: a, template: ledger-period, cron: "@monthly", period: previous-month, input: {d365: {` + d365Conn + `}}}`, `say which export data project to run (definition_group)`},
		{`{name: a, template: ledger-period, cron: "@monthly", period: previous-month, input: {d365: {` + d365Conn + `, definition_group: x, activity_id: "{A}"}}}`, `activity_id and every are for a pipeline's source`},
		{`{name: a, template: ledger-period, cron: "@monthly", period: previous-month, input: {d365: {` + d365Conn + `, definition_group: x, secret_env: ERPIPE_TEST_UNSET_SECRET}}}`, `environment variable ERPIPE_TEST_UNSET_SECRET`},
	}
	for _, c := range cases {
		root := t.TempDir()
		tmpl, _ := os.ReadFile("testdata/ledger-period.yaml")
		os.MkdirAll(filepath.Join(root, "templates"), 0o755)
		os.WriteFile(filepath.Join(root, "templates", "ledger-period.yaml"), tmpl, 0o644)
		os.WriteFile(filepath.Join(root, "erpipe.yaml"), []byte("builtin_pipelines: false\nschedules:\n  - "+c.yaml+"\n"), 0o644)
		ws, err := workspace.Open(root, "")
		if err != nil {
			t.Fatal(err)
		}
		_, err = Load(ws)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), `erpipe.yaml: schedule "a"`) {
			t.Errorf("%s:\n got %v\nwant an error saying %q", c.yaml, err, c.want)
		}
	}
}

// TestScheduleLegacyPeriodParameters checks that a template written with
// the period parameters' earlier names (period_start, period_end,
// period_name) still gets the period.
func TestScheduleLegacyPeriodParameters(t *testing.T) {
	tmpl, err := os.ReadFile("testdata/ledger-period.yaml")
	if err != nil {
		t.Fatal(err)
	}
	legacy := strings.NewReplacer("period.start", "period_start", "period.end", "period_end", "period.name", "period_name").Replace(string(tmpl))
	data := map[string]string{"templates/ledger-period.yaml": legacy}
	for k, v := range ledger {
		data[k] = v
	}
	r, now := testWorkspace(t, monthly, data)
	*now = time.Date(2026, 11, 3, 0, 0, 0, 0, time.UTC)
	s := r.Schedules()[0]
	p, err := s.Rule.Parse("2026-10")
	if err != nil {
		t.Fatal(err)
	}
	job, err := r.Produce(context.Background(), s, p, false)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(r.ws.Root, "outbox", "ledger-monthly", "LEDGER_912345678_2026-10.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if want := "PERIOD,DATE,ACCOUNT,AMOUNT,TEXT\n2026-10,2026-10-01,1920,7.00,October 1\n2026-10,2026-10-31,3000,1.10,October 31\n"; string(got) != want {
		t.Errorf("the period's file =\n%s\nwant\n%s", got, want)
	}
	if job.Submission.Parameters["period_start"] != "2026-10-01" {
		t.Errorf("parameters = %v", job.Submission.Parameters)
	}
}

// TestScheduleArchiveInputsOnce checks input: {pipeline: ...}: the files the
// pipeline archived in the period, each content once: not the inputs of
// Duplicate jobs, nor a second copy from a retried job; files outside the
// period, reports and files no job knows of are handled as before.
func TestScheduleArchiveInputsOnce(t *testing.T) {
	const sched = `  - name: ledger-from-pipeline
    template: ledger-period
    cron: "0 6 1 * *"
    period: previous-month
    input: {pipeline: ledger}
    parameters: {company: "912345678"}
pipelines:
  - name: ledger
    template: ledger-period
`
	day := "archive/ledger/2026-09-15/"
	data := map[string]string{
		day + "20260915-080000-aaaaaa-a.csv":                     ledgerHeader + "2026-09-01,1920,10.50,A\n",
		day + "20260915-090000-bbbbbb-a.csv":                     ledgerHeader + "2026-09-01,1920,10.50,A\n", // dropped again: Duplicate
		day + "20260915-100000-cccccc-a.csv":                     ledgerHeader + "2026-09-01,1920,10.50,A\n", // erpipe retry of the first
		day + "20260915-110000-dddddd-b.csv":                     ledgerHeader + "2026-09-02,3000,-1.00,B\n",
		day + "manual.csv":                                       ledgerHeader + "2026-09-03,3000,-2.00,C\n",
		day + "20260915-110000-dddddd-b.csv.error.txt":           "report",
		"archive/ledger/2026-10-01/20261001-080000-eeeeee-c.csv": ledgerHeader + "2026-10-01,1920,1.00,October\n",
	}
	r, _ := testWorkspace(t, sched, data)
	ctx := context.Background()
	root := r.ws.Root
	for _, j := range []struct {
		id, file string
		status   jobs.Status
	}{
		{"20260915-080000-aaaaaa", "a.csv", jobs.Processed},
		{"20260915-090000-bbbbbb", "a.csv", jobs.Duplicate},
		{"20260915-100000-cccccc", "a.csv", jobs.Processed},
		{"20260915-110000-dddddd", "b.csv", jobs.ProcessedWithErrors},
	} {
		path := filepath.Join(root, day, j.id+"-"+j.file)
		job := &jobs.Job{ID: j.id, Pipeline: "ledger", Input: j.file, InputSHA256: sha(t, path), Status: j.status,
			FinalPath: path, Created: time.Date(2026, 9, 15, 8, 0, 0, 0, time.UTC)}
		if err := r.journal.Put(ctx, job); err != nil {
			t.Fatal(err)
		}
	}
	var s *Schedule
	for _, sc := range r.schedules {
		if sc.Name == "ledger-from-pipeline" {
			s = sc
		}
	}
	if s == nil {
		t.Fatal("no schedule ledger-from-pipeline")
	}
	september := Period{Name: "2026-09", Start: time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC), End: time.Date(2026, 9, 30, 0, 0, 0, 0, time.UTC)}
	got, _, err := r.selectInputs(ctx, s, september)
	if err != nil {
		t.Fatal(err)
	}
	for i := range got {
		got[i] = strings.TrimPrefix(filepath.ToSlash(got[i]), filepath.ToSlash(root)+"/")
	}
	want := []string{day + "20260915-080000-aaaaaa-a.csv", day + "20260915-110000-dddddd-b.csv", day + "manual.csv"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("inputs:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestScheduleReloader: a changed erpipe.yaml's schedules are checked
// before they are taken; a refused change leaves the runner as it was,
// a valid one reaches it (Run takes it between ticks).
func TestScheduleReloader(t *testing.T) {
	r, _ := testWorkspace(t, monthly, ledger)
	cfg := filepath.Join(r.ws.Root, "erpipe.yaml")
	reopen := func(schedules string) *workspace.Workspace {
		t.Helper()
		if err := os.WriteFile(cfg, []byte("builtin_pipelines: false\nschedules:\n"+schedules), 0o644); err != nil {
			t.Fatal(err)
		}
		ws, err := workspace.Open(r.ws.Root, "")
		if err != nil {
			t.Fatal(err)
		}
		return ws
	}
	if _, err := r.Reloader(reopen(strings.Replace(monthly, `cron: "0 6 1 * *"`, `cron: "61 6 1 * *"`, 1))); err == nil {
		t.Fatal("a schedule with a bad cron was accepted")
	}
	select {
	case <-r.reloaded:
		t.Fatal("a refused change reached the runner")
	default:
	}
	take, err := r.Reloader(reopen(strings.Replace(monthly, "ledger-monthly", "ledger-renamed", 1)))
	if err != nil {
		t.Fatal(err)
	}
	take()
	r.take(<-r.reloaded)
	if got := r.Schedules(); len(got) != 1 || got[0].Name != "ledger-renamed" {
		t.Errorf("schedules after the reload: %v", got)
	}
}
