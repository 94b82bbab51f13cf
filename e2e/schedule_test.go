package e2e

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// scheduleConfig is the workspace configuration of TestSchedule: a monthly
// submission at 06:00 Oslo time on the 1st, over data/ledger/*.csv.
const scheduleConfig = `settle: 1s
rescan: 1s
schedules:
  - name: ledger-monthly
    template: ledger-period
    cron: "0 6 1 * *"
    time_zone: Europe/Oslo
    period: previous-month
    input:
      files: data/ledger/*.csv
    parameters:
      company: "912345678"
`

const scheduleLedgerHeader = "Date,Account,Amount,Text\n"

// periodLines are the ledger lines of each month, as the template writes
// them; the data files mix the months.
var periodLines = map[string][]string{
	"2026-08": {"2026-08-31,1920,100.00,August 31"},
	"2026-09": {"2026-09-01,1920,10.50,September 1", "2026-09-30,3000,-20.25,September 30"},
	"2026-10": {"2026-10-01,1920,7.00,October 1", "2026-10-31,3000,1.10,October 31"},
	"2026-11": {"2026-11-01,1920,5.00,November 1", "2026-11-30,1500,-0.01,November 30"},
	"2026-12": {"2026-12-01,1920,9.99,December 1"},
}

// startDaemonAt starts erpipe run with "now" at the given time (the clock
// runs on from there), so that months pass without waiting for them.
func startDaemonAt(t *testing.T, ws, now string) *daemon {
	t.Helper()
	d := &daemon{logs: new(bytes.Buffer)}
	d.cmd = exec.Command(bin, "run", "--workspace", ws)
	d.cmd.Env = append(os.Environ(), "ERPIPE_NOW="+now)
	d.cmd.Stdout, d.cmd.Stderr = d.logs, d.logs
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if d.cmd.ProcessState == nil {
			_ = d.cmd.Process.Kill()
			_ = d.cmd.Wait()
		}
		if t.Failed() {
			t.Logf("daemon log (now %s):\n%s", now, d.logs)
		}
	})
	waitFor(t, 20*time.Second, "the daemon to start its schedules", func() bool {
		return strings.Contains(d.logs.String(), "schedules started")
	})
	return d
}

// erpipeAt runs the binary with "now" at the given time.
func erpipeAt(t *testing.T, now string, args ...string) (string, string, int) {
	t.Helper()
	t.Setenv("ERPIPE_NOW", now)
	return erpipe(t, args...)
}

// submissions returns the jobs of the schedule, oldest first.
func submissions(t *testing.T, ws string) []job {
	var out []job
	for _, j := range listJobs(t, ws) {
		if j.Pipeline == "ledger-monthly" {
			out = append(out, j)
		}
	}
	return out
}

func sha256File(t *testing.T, path string) string {
	t.Helper()
	sum := sha256.Sum256(readFile(t, path))
	return hex.EncodeToString(sum[:])
}

// TestSchedule runs a monthly submission through missed runs, a run on
// time, a refused second run, a correction and configuration mistakes.
func TestSchedule(t *testing.T) {
	ws := t.TempDir()
	writeFile(t, filepath.Join(ws, "erpipe.yaml"), []byte(scheduleConfig))
	os.MkdirAll(filepath.Join(ws, "templates"), 0o755)
	os.MkdirAll(filepath.Join(ws, "data", "ledger"), 0o755)
	writeFile(t, filepath.Join(ws, "templates", "ledger-period.yaml"), readFile(t, "testdata/schedule/ledger-period.yaml"))
	// Two files, each holding lines of several months.
	writeFile(t, filepath.Join(ws, "data", "ledger", "part1.csv"), []byte(scheduleLedgerHeader+
		strings.Join(append(append(periodLines["2026-08"], periodLines["2026-09"]...), periodLines["2026-10"][0]), "\n")+"\n"))
	writeFile(t, filepath.Join(ws, "data", "ledger", "part2.csv"), []byte(scheduleLedgerHeader+
		strings.Join(append(append(periodLines["2026-10"][1:], periodLines["2026-11"]...), periodLines["2026-12"]...), "\n")+"\n"))

	// First start in mid-September: nothing is due yet.
	d := startDaemonAt(t, ws, "2026-09-15T12:00:00Z")
	out, errOut, code := erpipeAt(t, "2026-09-15T12:00:00Z", "schedule", "list", "--workspace", ws)
	if code != 0 {
		t.Fatalf("schedule list: exit %d: %s", code, errOut)
	}
	contains(t, "schedule list", out, "ledger-monthly", "ledger-period 1.2.0", "previous-month", "never", "2026-10-01 06:00 CEST (2026-09)")
	d.stop(t)
	if n := len(submissions(t, ws)); n != 0 {
		t.Fatalf("%d submissions before any run was due", n)
	}

	// erpipe was down on 1 October and 1 November: both runs are made up
	// at the next start, oldest first.
	d = startDaemonAt(t, ws, "2026-11-03T00:00:00Z")
	var subs []job
	waitFor(t, 30*time.Second, "the missed periods to be made up", func() bool {
		subs = submissions(t, ws)
		return len(subs) == 2 && subs[0].Status != "Processing" && subs[1].Status != "Processing"
	})
	d.stop(t)
	if subs[0].Input != "2026-09" || subs[1].Input != "2026-10" {
		t.Fatalf("made up %s then %s; want 2026-09 then 2026-10", subs[0].Input, subs[1].Input)
	}
	for _, s := range subs {
		if s.Status != "Processed" {
			t.Fatalf("%s: %s %v", s.Input, s.Status, s.Errors)
		}
		checkSubmission(t, ws, s)
	}

	// A second run of a produced period is refused without --force.
	_, errOut, code = erpipeAt(t, "2026-11-03T01:00:00Z", "schedule", "run", "ledger-monthly", "--period", "2026-10", "--workspace", ws)
	if code != 2 {
		t.Fatalf("second run of 2026-10: exit %d, want 2: %s", code, errOut)
	}
	contains(t, "refusal", errOut, "period 2026-10 was already produced", "--force")
	if n := len(submissions(t, ws)); n != 2 {
		t.Fatalf("the refused run made a job (%d submissions)", n)
	}
	// Malformed periods and unknown schedules are usage errors.
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"schedule", "run", "ledger-monthly", "--period", "2026-13"}, `period "2026-13" is not a period of rule previous-month; write a month as yyyy-MM, like 2026-10`},
		{[]string{"schedule", "run", "ledger-montly"}, `there is no schedule "ledger-montly"; the schedules are ledger-monthly`},
		{[]string{"schedule", "run", "ledger-monthly", "--period", "2026-11"}, "period 2026-11 has not ended"},
	} {
		_, errOut, code := erpipeAt(t, "2026-11-03T01:00:00Z", append(c.args, "--workspace", ws)...)
		if code != 2 || !strings.Contains(errOut, c.want) {
			t.Errorf("erpipe %v: exit %d, %q; want exit 2 saying %q", c.args, code, errOut, c.want)
		}
	}

	// The audit trail in erpipe jobs show.
	out, _, code = erpipe(t, "jobs", "show", subs[1].ID, "--workspace", ws)
	if code != 0 {
		t.Fatalf("jobs show: exit %d", code)
	}
	contains(t, "jobs show", out, "Submission:", "Period:      2026-10 (2026-10-01 to 2026-10-31)", "Version:     1, attempt 1",
		"Validation:  passed: 2 records", "period_start = 2026-10-01", "company = 912345678",
		"data/ledger/part1.csv", sha256File(t, filepath.Join(ws, "data", "ledger", "part1.csv")),
		"data/ledger/part2.csv", sha256File(t, filepath.Join(ws, "data", "ledger", "part2.csv")),
		"Acknowledgements:", "receipt.json", "Template sha256:")

	// A correction with --force: the first version is kept.
	writeFile(t, filepath.Join(ws, "data", "ledger", "part3.csv"), []byte(scheduleLedgerHeader+"2026-10-15,1920,3.00,Late October\n"))
	out, errOut, code = erpipeAt(t, "2026-11-04T08:00:00Z", "schedule", "run", "ledger-monthly", "--period", "2026-10", "--force", "--workspace", ws)
	if code != 0 {
		t.Fatalf("schedule run --force: exit %d: %s", code, errOut)
	}
	contains(t, "correction", out, "Version:     2, attempt 1, a correction of job "+subs[1].ID)
	outbox := filepath.Join(ws, "outbox", "ledger-monthly")
	if got := string(readFile(t, filepath.Join(outbox, "LEDGER_912345678_2026-10.csv"))); got != periodCSV("2026-10") {
		t.Errorf("the first version was changed:\n%s", got)
	}
	if got := files(t, outbox); len(got) != 3 {
		t.Errorf("outbox holds %v; want September, October and October's correction", got)
	}
	os.Remove(filepath.Join(ws, "data", "ledger", "part3.csv"))

	// A run on time: the daemon is up two seconds before 06:00 Oslo time
	// on 1 December and produces November then.
	d = startDaemonAt(t, ws, "2026-12-01T04:59:58Z")
	waitFor(t, 30*time.Second, "November's run", func() bool {
		subs = submissions(t, ws)
		return len(subs) == 4 && subs[3].Status != "Processing"
	})
	d.stop(t)
	if subs[3].Input != "2026-11" || subs[3].Status != "Processed" {
		t.Fatalf("the run on time: %s %s %v", subs[3].Input, subs[3].Status, subs[3].Errors)
	}
	checkSubmission(t, ws, subs[3])
	out, _, _ = erpipeAt(t, "2026-12-01T05:00:10Z", "schedule", "list", "--workspace", ws)
	contains(t, "schedule list", out, "2026-11 Produced", "2027-01-01 06:00 CET (2026-12)")
}

// periodCSV is the file the template makes for a period.
func periodCSV(period string) string {
	var b strings.Builder
	b.WriteString("PERIOD,DATE,ACCOUNT,AMOUNT,TEXT\n")
	for _, l := range periodLines[period] {
		b.WriteString(period + "," + l + "\n")
	}
	return b.String()
}

// receipt is the part of receipt.json the test checks.
type receipt struct {
	Period string `json:"period"`
	Job    string `json:"job"`
	Inputs []struct {
		Path   string `json:"path"`
		SHA256 string `json:"sha256"`
	} `json:"inputs"`
	Outputs []struct {
		Name   string `json:"name"`
		SHA256 string `json:"sha256"`
	} `json:"outputs"`
	Template struct {
		SHA256 string `json:"sha256"`
	} `json:"template"`
}

// checkSubmission checks that a period's file holds exactly its lines, and
// that its receipt's hashes match the files.
func checkSubmission(t *testing.T, ws string, s job) {
	t.Helper()
	name := "LEDGER_912345678_" + s.Input + ".csv"
	delivered := filepath.Join(ws, "outbox", "ledger-monthly", name)
	if got := string(readFile(t, delivered)); got != periodCSV(s.Input) {
		t.Errorf("%s =\n%s\nwant exactly the period's lines:\n%s", name, got, periodCSV(s.Input))
	}
	dir := filepath.Join(ws, "archive", "ledger-monthly", s.Input, s.ID)
	var rc receipt
	if err := json.Unmarshal(readFile(t, filepath.Join(dir, "receipt.json")), &rc); err != nil {
		t.Fatal(err)
	}
	if rc.Period != s.Input || rc.Job != s.ID {
		t.Errorf("receipt of %s: period %s job %s", s.ID, rc.Period, rc.Job)
	}
	if len(rc.Inputs) < 2 {
		t.Errorf("receipt of %s lists %d inputs; want both ledger files", s.Input, len(rc.Inputs))
	}
	for _, in := range rc.Inputs {
		if got := sha256File(t, filepath.Join(ws, in.Path)); got != in.SHA256 {
			t.Errorf("receipt of %s: %s sha256 %s, the file's is %s", s.Input, in.Path, in.SHA256, got)
		}
	}
	if len(rc.Outputs) != 1 || rc.Outputs[0].Name != name || rc.Outputs[0].SHA256 != sha256File(t, filepath.Join(dir, name)) ||
		rc.Outputs[0].SHA256 != sha256File(t, delivered) {
		t.Errorf("receipt of %s: outputs %+v do not match the archived and the delivered file", s.Input, rc.Outputs)
	}
	if rc.Template.SHA256 != sha256File(t, filepath.Join(ws, "templates", "ledger-period.yaml")) {
		t.Errorf("receipt of %s: template sha256 %s is not the template file's", s.Input, rc.Template.SHA256)
	}
}

// TestScheduleConfigErrors checks that a malformed schedule stops erpipe
// with exit code 2 and a message that says what is wrong.
func TestScheduleConfigErrors(t *testing.T) {
	ws := t.TempDir()
	writeFile(t, filepath.Join(ws, "erpipe.yaml"), []byte(strings.Replace(scheduleConfig, `"0 6 1 * *"`, `"0 6 1 * * *"`, 1)))
	os.MkdirAll(filepath.Join(ws, "templates"), 0o755)
	writeFile(t, filepath.Join(ws, "templates", "ledger-period.yaml"), readFile(t, "testdata/schedule/ledger-period.yaml"))
	for _, args := range [][]string{{"run"}, {"schedule", "list"}} {
		_, errOut, code := erpipe(t, append(args, "--workspace", ws)...)
		if code != 2 || !strings.Contains(errOut, `schedule "ledger-monthly": cron "0 6 1 * * *" is not a cron expression`) {
			t.Errorf("erpipe %v: exit %d, %q; want exit 2 naming the cron expression", args, code, errOut)
		}
	}
}
