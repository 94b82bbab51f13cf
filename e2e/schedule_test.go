package e2e

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
)

// scheduleConfig is the workspace configuration of TestSchedule: the
// built-in saft-no, monthly at 06:00 Oslo time on the 1st, over
// data/ledger/*.csv (the example erpipe init writes).
const scheduleConfig = `settle: 1s
rescan: 1s
schedules:
  - name: saft-monthly
    template: saft-no
    cron: "0 6 1 * *"
    time_zone: Europe/Oslo
    period: previous-month
    input:
      files: data/ledger/*.csv
`

// saftColumns are the columns of saft-no's input table.
var saftColumns = strings.Split("Record,ID,Name,Registration number,Street,City,Postal code,Country,Contact first name,Contact last name,Telephone,Currency,Period start,Period end,Grouping category,Grouping code,Opening balance,Journal,Journal description,Journal type,Transaction,Date,Line no,Description,Account,Customer,Supplier,Debit,Credit", ",")

// saftRow is one row of saft-no's input table, from column → value.
func saftRow(values map[string]string) string {
	cells := make([]string, len(saftColumns))
	for i, c := range saftColumns {
		cells[i] = values[c]
	}
	return strings.Join(cells, ",") + "\n"
}

// ledgerMaster is the company (without a period: the schedule gives it)
// and its chart of accounts, with the balances at the start of the ledger.
var ledgerMaster = func() string {
	s := saftRow(map[string]string{"Record": "Company", "Name": "Fjordkraft Verksted AS", "Registration number": "987654321",
		"Street": "Havnegata 12", "City": "Ålesund", "Postal code": "6004", "Country": "NO", "Contact first name": "Ingrid",
		"Contact last name": "Solberg", "Telephone": "+47 70 11 22 33", "Currency": "NOK"})
	for _, a := range [][3]string{{"1500", "Kundefordringer", "0"}, {"1920", "Bankinnskudd", "1000.00"},
		{"2050", "Annen egenkapital", "-1000.00"}, {"3000", "Salgsinntekt", "0"}, {"6300", "Leie lokale", "0"}} {
		s += saftRow(map[string]string{"Record": "Account", "ID": a[0], "Name": a[1], "Grouping category": "RF-1167", "Grouping code": a[0], "Opening balance": a[2]})
	}
	return s
}()

// ledgerTx is a transaction of the test ledger: amount from the credit
// account to the debit account on date.
type ledgerTx struct{ id, date, debit, credit, amount string }

// ledgerTxs are the transactions of the test ledger, across five months.
var ledgerTxs = []ledgerTx{
	{"T-0831", "2026-08-31", "1500", "3000", "100.00"},
	{"T-0901", "2026-09-01", "1920", "1500", "10.50"},
	{"T-0930", "2026-09-30", "6300", "1920", "20.25"},
	{"T-1001", "2026-10-01", "1920", "3000", "7.00"},
	{"T-1031", "2026-10-31", "1500", "3000", "1.10"},
	{"T-1101", "2026-11-01", "1920", "1500", "5.00"},
	{"T-1130", "2026-11-30", "6300", "1920", "0.01"},
	{"T-1201", "2026-12-01", "1920", "3000", "9.99"},
}

// ledgerLines are the two lines of each transaction.
func ledgerLines(txs ...ledgerTx) string {
	var s string
	for _, tx := range txs {
		line := map[string]string{"Record": "Line", "Journal": "GL", "Journal description": "General ledger", "Transaction": tx.id,
			"Date": tx.date, "Description": "Bilag " + tx.id}
		line["Line no"], line["Account"], line["Debit"] = "1", tx.debit, tx.amount
		s += saftRow(line)
		delete(line, "Debit")
		line["Line no"], line["Account"], line["Credit"] = "2", tx.credit, tx.amount
		s += saftRow(line)
	}
	return s
}

// periodTxs returns the ids of the transactions dated in period (yyyy-MM).
func periodTxs(period string, txs []ledgerTx) []string {
	var ids []string
	for _, tx := range txs {
		if strings.HasPrefix(tx.date, period+"-") {
			ids = append(ids, tx.id)
		}
	}
	return ids
}

// startDaemonAt starts erpipe run with "now" at the given time (the clock
// runs on from there), so that months pass without waiting for them.
func startDaemonAt(t *testing.T, ws, now string) *daemon {
	t.Helper()
	return startDaemonEnv(t, ws, append(os.Environ(), "ERPIPE_NOW="+now), "the daemon to start its schedules", func(d *daemon) bool {
		return strings.Contains(d.logs.String(), "schedules started")
	})
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
		if j.Pipeline == "saft-monthly" {
			out = append(out, j)
		}
	}
	return out
}

// TestSchedule runs a monthly SAF-T submission through missed runs, a run
// on time, a refused second run, a correction and configuration mistakes.
// The ledger's two files each hold transactions of several months.
func TestSchedule(t *testing.T) {
	ws := t.TempDir()
	writeFile(t, filepath.Join(ws, "erpipe.yaml"), []byte(scheduleConfig))
	os.MkdirAll(filepath.Join(ws, "data", "ledger"), 0o755)
	header := strings.Join(saftColumns, ",") + "\n"
	writeFile(t, filepath.Join(ws, "data", "ledger", "part1.csv"), []byte(header+ledgerMaster+ledgerLines(ledgerTxs[:4]...)))
	writeFile(t, filepath.Join(ws, "data", "ledger", "part2.csv"), []byte(header+ledgerLines(ledgerTxs[4:]...)))

	// First start in mid-September: nothing is due yet.
	d := startDaemonAt(t, ws, "2026-09-15T12:00:00Z")
	out, errOut, code := erpipeAt(t, "2026-09-15T12:00:00Z", "schedule", "list", "--workspace", ws)
	if code != 0 {
		t.Fatalf("schedule list: exit %d: %s", code, errOut)
	}
	version := regexp.MustCompile(`(?m)^version: (\S+)$`).FindStringSubmatch(string(readFile(t, filepath.Join("..", "templates", "saft-no", "template.yaml"))))
	if version == nil {
		t.Fatal("saft-no has no version line")
	}
	contains(t, "schedule list", out, "saft-monthly", "saft-no "+version[1], "previous-month", "never", "2026-10-01 06:00 CEST (2026-09)")
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
		checkSubmission(t, ws, s, ledgerTxs)
	}
	checkRollForward(t, ws, subs[0], subs[1])

	// A second run of a produced period is refused without --force.
	_, errOut, code = erpipeAt(t, "2026-11-03T01:00:00Z", "schedule", "run", "saft-monthly", "--period", "2026-10", "--workspace", ws)
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
		{[]string{"schedule", "run", "saft-monthly", "--period", "2026-13"}, `period "2026-13" is not a period of rule previous-month; write a month as yyyy-MM, like 2026-10`},
		{[]string{"schedule", "run", "saft-montly"}, `there is no schedule "saft-montly"; the schedules are saft-monthly`},
		{[]string{"schedule", "run", "saft-monthly", "--period", "2026-11"}, "period 2026-11 has not ended"},
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
		"Validation:  passed:", "the document is valid against its schema", "period.start = 2026-10-01", "period.name = 2026-10",
		"data/ledger/part1.csv", sha(readFile(t, filepath.Join(ws, "data", "ledger", "part1.csv"))),
		"data/ledger/part2.csv", sha(readFile(t, filepath.Join(ws, "data", "ledger", "part2.csv"))),
		"Acknowledgements:", "receipt.json", "Template sha256:")

	// A correction with --force: a late October transaction; the first
	// version is kept.
	outbox := filepath.Join(ws, "outbox", "saft-monthly")
	first := readFile(t, filepath.Join(outbox, "SAF-T_2026-10.xml"))
	late := ledgerTx{"T-1015", "2026-10-15", "1920", "1500", "3.00"}
	writeFile(t, filepath.Join(ws, "data", "ledger", "part3.csv"), []byte(header+ledgerLines(late)))
	out, errOut, code = erpipeAt(t, "2026-11-04T08:00:00Z", "schedule", "run", "saft-monthly", "--period", "2026-10", "--force", "--workspace", ws)
	if code != 0 {
		t.Fatalf("schedule run --force: exit %d: %s", code, errOut)
	}
	contains(t, "correction", out, "Version:     2, attempt 1, a correction of job "+subs[1].ID)
	if got := readFile(t, filepath.Join(outbox, "SAF-T_2026-10.xml")); !bytes.Equal(got, first) {
		t.Errorf("the first version was changed:\n%s", got)
	}
	if got := files(t, outbox); len(got) != 3 {
		t.Errorf("outbox holds %v; want September, October and October's correction", got)
	}
	subs = submissions(t, ws)
	if len(subs) != 3 {
		t.Fatalf("%d submissions after the correction", len(subs))
	}
	checkTransactions(t, filepath.Join(ws, "archive", "saft-monthly", "2026-10", subs[2].ID, "SAF-T_2026-10.xml"), "2026-10", append(ledgerTxs, late))
	// The late transaction stays in the ledger: November opens with it.

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
	checkSubmission(t, ws, subs[3], ledgerTxs)
	checkRollForward(t, ws, subs[2], subs[3]) // October's correction, then November
	out, _, _ = erpipeAt(t, "2026-12-01T05:00:10Z", "schedule", "list", "--workspace", ws)
	contains(t, "schedule list", out, "2026-11 Produced", "2027-01-01 06:00 CET (2026-12)")
}

// auditFile is the part of a SAF-T file the test checks.
type auditFile struct {
	Selection struct {
		Start     string `xml:"PeriodStart"`
		StartYear string `xml:"PeriodStartYear"`
	} `xml:"Header>SelectionCriteria"`
	Accounts []struct {
		ID            string `xml:"AccountID"`
		OpeningDebit  string `xml:"OpeningDebitBalance"`
		OpeningCredit string `xml:"OpeningCreditBalance"`
		ClosingDebit  string `xml:"ClosingDebitBalance"`
		ClosingCredit string `xml:"ClosingCreditBalance"`
	} `xml:"MasterFiles>GeneralLedgerAccounts>Account"`
	Transactions []struct {
		ID   string `xml:"TransactionID"`
		Date string `xml:"TransactionDate"`
	} `xml:"GeneralLedgerEntries>Journal>Transaction"`
}

func readAuditFile(t *testing.T, path string) auditFile {
	t.Helper()
	var af auditFile
	if err := xml.Unmarshal(readFile(t, path), &af); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return af
}

// checkTransactions checks that the SAF-T file at path holds exactly the
// transactions of period among txs.
func checkTransactions(t *testing.T, path, period string, txs []ledgerTx) {
	t.Helper()
	af := readAuditFile(t, path)
	var got []string
	for _, tx := range af.Transactions {
		got = append(got, tx.ID)
		if !strings.HasPrefix(tx.Date, period+"-") {
			t.Errorf("%s: transaction %s of %s is not in the period", filepath.Base(path), tx.ID, tx.Date)
		}
	}
	slices.Sort(got)
	want := periodTxs(period, txs)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("%s holds the transactions %v; want exactly the period's, %v", filepath.Base(path), got, want)
	}
	if m := strings.TrimLeft(period[5:], "0"); af.Selection.Start != m || af.Selection.StartYear != period[:4] {
		t.Errorf("%s: SelectionCriteria starts in %s/%s; want %s/%s", filepath.Base(path), af.Selection.Start, af.Selection.StartYear, m, period[:4])
	}
}

// balances returns each account's opening and closing balance in the
// SAF-T file at path (debit positive), as decimals.
func balances(t *testing.T, path string) (opening, closing map[string]decimal.Decimal) {
	t.Helper()
	side := func(debit, credit string) decimal.Decimal {
		d, c := decimal.Zero, decimal.Zero
		if debit != "" {
			d = decimal.RequireFromString(debit)
		}
		if credit != "" {
			c = decimal.RequireFromString(credit)
		}
		return d.Sub(c)
	}
	opening, closing = map[string]decimal.Decimal{}, map[string]decimal.Decimal{}
	for _, a := range readAuditFile(t, path).Accounts {
		opening[a.ID] = side(a.OpeningDebit, a.OpeningCredit)
		closing[a.ID] = side(a.ClosingDebit, a.ClosingCredit)
	}
	return opening, closing
}

// checkRollForward checks that each account opens the later submission's
// period where it closed the earlier's: the lines before a period count
// into its opening balances.
func checkRollForward(t *testing.T, ws string, earlier, later job) {
	t.Helper()
	file := func(s job) string {
		return filepath.Join(ws, "archive", "saft-monthly", s.Input, s.ID, "SAF-T_"+s.Input+".xml")
	}
	_, closing := balances(t, file(earlier))
	opening, _ := balances(t, file(later))
	if len(opening) == 0 {
		t.Fatalf("%s has no accounts", file(later))
	}
	for id, o := range opening {
		if !o.Equal(closing[id]) {
			t.Errorf("account %s opens %s at %s, but closed %s at %s", id, later.Input, o, earlier.Input, closing[id])
		}
	}
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
		Name   string `json:"name"`
		SHA256 string `json:"sha256"`
	} `json:"template"`
}

// checkSubmission checks that a period's file holds exactly its
// transactions, and that its receipt's hashes match the files.
func checkSubmission(t *testing.T, ws string, s job, txs []ledgerTx) {
	t.Helper()
	name := "SAF-T_" + s.Input + ".xml"
	delivered := filepath.Join(ws, "outbox", "saft-monthly", name)
	checkTransactions(t, delivered, s.Input, txs)
	dir := filepath.Join(ws, "archive", "saft-monthly", s.Input, s.ID)
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
		if got := sha(readFile(t, filepath.Join(ws, in.Path))); got != in.SHA256 {
			t.Errorf("receipt of %s: %s sha256 %s, the file's is %s", s.Input, in.Path, in.SHA256, got)
		}
	}
	if len(rc.Outputs) != 1 || rc.Outputs[0].Name != name || rc.Outputs[0].SHA256 != sha(readFile(t, filepath.Join(dir, name))) ||
		rc.Outputs[0].SHA256 != sha(readFile(t, delivered)) {
		t.Errorf("receipt of %s: outputs %+v do not match the archived and the delivered file", s.Input, rc.Outputs)
	}
	// The built-in template, as the binary embeds it from the repository.
	if rc.Template.Name != "saft-no" || rc.Template.SHA256 != sha(readFile(t, filepath.Join("..", "templates", "saft-no", "template.yaml"))) {
		t.Errorf("receipt of %s: template %s sha256 %s is not templates/saft-no/template.yaml's", s.Input, rc.Template.Name, rc.Template.SHA256)
	}
}

// TestScheduleConfigErrors checks that a malformed schedule stops erpipe
// with exit code 2 and a message that says what is wrong.
func TestScheduleConfigErrors(t *testing.T) {
	ws := t.TempDir()
	writeFile(t, filepath.Join(ws, "erpipe.yaml"), []byte(strings.Replace(scheduleConfig, `"0 6 1 * *"`, `"0 6 1 * * *"`, 1)))
	for _, args := range [][]string{{"run"}, {"schedule", "list"}} {
		_, errOut, code := erpipe(t, append(args, "--workspace", ws)...)
		if code != 2 || !strings.Contains(errOut, `schedule "saft-monthly": cron "0 6 1 * * *" is not a cron expression`) {
			t.Errorf("erpipe %v: exit %d, %q; want exit 2 naming the cron expression", args, code, errOut)
		}
	}
}
