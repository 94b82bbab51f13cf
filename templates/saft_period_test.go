package templates

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/beevik/etree"
	"github.com/shopspring/decimal"

	"github.com/erpipe/erpipe/transform"
	"github.com/erpipe/erpipe/transform/templatetest"
)

// TestSAFTPeriods runs saft-no the way a monthly schedule does: with the
// period parameters, over a ledger whose lines span January to March (and
// whose Company row is not the first row). Each month's file is kept in
// saft-no/testdata/golden/period-<month>/ (so the golden checks validate
// it against the official schema and recompute its totals); `go test
// ./templates -update` rewrites them. The test checks that a month's file
// lists exactly that month's transactions, and that each account's
// closing balance of a month is its opening balance of the next.
func TestSAFTPeriods(t *testing.T) {
	tmpl, err := transform.Load(filepath.Join("saft-no", "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	input := filepath.Join("saft-no", "testdata", "scheduled", "ledger-2026.csv")
	months := []struct{ name, start, end string }{
		{"2026-01", "2026-01-01", "2026-01-31"},
		{"2026-02", "2026-02-01", "2026-02-28"},
		{"2026-03", "2026-03-01", "2026-03-31"},
	}
	inputLines := strings.Split(string(readFileT(t, input)), "\n")
	var prevClosing map[string]decimal.Decimal
	for _, m := range months {
		p, err := tmpl.WithParameters(map[string]string{"period.start": m.start, "period.end": m.end, "period.name": m.name})
		if err != nil {
			t.Fatal(err)
		}
		golden := filepath.Join("saft-no", "testdata", "golden", "period-"+m.name)
		o, err := templatetest.Run(context.Background(), p, templatetest.Case{Name: m.name, Input: input, Expect: golden}, *update)
		if err != nil {
			t.Fatal(err)
		}
		if !o.Pass {
			t.Fatalf("%s differs (go test ./templates -update rewrites it):\n%s", m.name, o.Diff)
		}
		d := etree.NewDocument()
		if err := d.ReadFromFile(filepath.Join(golden, "SAF-T_"+m.name+".xml")); err != nil {
			t.Fatal(err)
		}
		sel := d.Root().FindElement("Header/SelectionCriteria")
		if got := sel.FindElement("PeriodStart").Text() + "/" + sel.FindElement("PeriodStartYear").Text(); got != strings.TrimLeft(m.name[5:], "0")+"/2026" {
			t.Errorf("%s: SelectionCriteria starts in %s", m.name, got)
		}
		txs := d.Root().FindElements("GeneralLedgerEntries/Journal/Transaction")
		if len(txs) == 0 {
			t.Errorf("%s: no transactions", m.name)
		}
		for _, tx := range txs {
			if date := tx.FindElement("TransactionDate").Text(); date < m.start || date > m.end {
				t.Errorf("%s: transaction %s of %s is not in the period", m.name, tx.FindElement("TransactionID").Text(), date)
			}
		}
		// The month's transactions are exactly the input's lines of the month.
		want := map[string]bool{}
		for _, line := range inputLines {
			f := strings.Split(line, ",")
			if len(f) > 21 && f[0] == "Line" && f[21] >= m.start && f[21] <= m.end {
				want[f[20]] = true
			}
		}
		if len(want) != len(txs) {
			t.Errorf("%s: %d transactions, the input has %d in the month", m.name, len(txs), len(want))
		}
		closing := map[string]decimal.Decimal{}
		for _, a := range d.Root().FindElements("MasterFiles/GeneralLedgerAccounts/Account") {
			id := a.FindElement("AccountID").Text()
			opening := amount(a, "OpeningDebitBalance").Sub(amount(a, "OpeningCreditBalance"))
			closing[id] = amount(a, "ClosingDebitBalance").Sub(amount(a, "ClosingCreditBalance"))
			if prevClosing != nil && !opening.Equal(prevClosing[id]) {
				t.Errorf("%s: account %s opens at %s, but closed the month before at %s", m.name, id, opening, prevClosing[id])
			}
		}
		prevClosing = closing
	}
}

// amount is the decimal at path below e, or 0 when there is none.
func amount(e *etree.Element, path string) decimal.Decimal {
	if f := e.FindElement(path); f != nil {
		return decimal.RequireFromString(f.Text())
	}
	return decimal.Zero
}

func readFileT(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestSAFTOneInputOneBehaviour: the same ledger, reported for February by
// its Company row (as a file dropped into the inbox or run with erpipe
// transform) and by a schedule's period parameters, gives the same file,
// whichever row the Company row is: the period decides in every mode.
func TestSAFTOneInputOneBehaviour(t *testing.T) {
	tmpl, err := transform.Load(filepath.Join("saft-no", "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	src := string(readFileT(t, filepath.Join("saft-no", "testdata", "scheduled", "ledger-2026.csv")))
	// The Company row says February, and comes last.
	var company string
	var rows []string
	for _, line := range strings.Split(strings.TrimSpace(src), "\n") {
		if strings.HasPrefix(line, "Company,") {
			company = strings.Replace(line, "2026-01-01,2026-01-31", "2026-02-01,2026-02-28", 1)
			continue
		}
		rows = append(rows, line)
	}
	if company == "" || !strings.Contains(company, "2026-02-01,2026-02-28") {
		t.Fatal("the ledger's Company row changed; update the test")
	}
	dir := t.TempDir()
	in := filepath.Join(dir, "ledger.csv")
	if err := os.WriteFile(in, []byte(strings.Join(append(rows, company), "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(tm *transform.Template) []byte {
		res, err := tm.RunWith(context.Background(), in, t.TempDir(), transform.RunOptions{Time: templatetest.CaseTime, ID: templatetest.CaseID})
		if err != nil {
			t.Fatal(err)
		}
		if res.Rejected > 0 {
			t.Fatalf("rejected %d: %v", res.Rejected, res.Errors)
		}
		return readFileT(t, res.Outputs[0])
	}
	byCompanyRow := run(tmpl)
	scheduled, err := tmpl.WithParameters(map[string]string{"period.start": "2026-02-01", "period.end": "2026-02-28"})
	if err != nil {
		t.Fatal(err)
	}
	if bySchedule := run(scheduled); string(byCompanyRow) != string(bySchedule) {
		t.Errorf("the Company row's period and the schedule's give different files")
	}
	d := etree.NewDocument()
	if err := d.ReadFromBytes(byCompanyRow); err != nil {
		t.Fatal(err)
	}
	txs := d.Root().FindElements("GeneralLedgerEntries/Journal/Transaction")
	if len(txs) == 0 {
		t.Fatal("no transactions")
	}
	for _, tx := range txs {
		if date := tx.FindElement("TransactionDate").Text(); date < "2026-02-01" || date > "2026-02-28" {
			t.Errorf("transaction %s of %s is outside February", tx.FindElement("TransactionID").Text(), date)
		}
	}
}

// TestSAFTTaxTotals recomputes, from the sample ledger's rows, the VAT per
// tax code and checks the file's lines carry it, and that its tax table
// lists exactly the codes the lines use.
func TestSAFTTaxTotals(t *testing.T) {
	rows := readCSV(t, filepath.Join("saft-no", "samples", "ledger.csv"))
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	want := map[string]decimal.Decimal{}
	for _, r := range rows[1:] {
		if r[col["Record"]] != "Line" || r[col["Tax code"]] == "" {
			continue
		}
		want[r[col["Tax code"]]] = want[r[col["Tax code"]]].Add(decimal.RequireFromString(r[col["Tax amount"]]))
	}
	if len(want) < 2 {
		t.Fatalf("the sample has VAT on %d codes; want at least 2", len(want))
	}
	d := etree.NewDocument()
	if err := d.ReadFromFile(filepath.Join("saft-no", "testdata", "golden", "sample-ledger.csv")); err != nil {
		t.Fatal(err)
	}
	got := map[string]decimal.Decimal{}
	for _, ti := range d.Root().FindElements("GeneralLedgerEntries/Journal/Transaction/Line/TaxInformation") {
		code := ti.FindElement("TaxCode").Text()
		got[code] = got[code].Add(amount(ti, "DebitTaxAmount/Amount")).Add(amount(ti, "CreditTaxAmount/Amount"))
	}
	table := map[string]bool{}
	for _, c := range d.Root().FindElements("MasterFiles/TaxTable/TaxTableEntry/TaxCodeDetails/TaxCode") {
		table[c.Text()] = true
	}
	for code, w := range want {
		if !got[code].Equal(w) {
			t.Errorf("tax code %s: the lines carry %s, the ledger has %s", code, got[code], w)
		}
		if !table[code] {
			t.Errorf("tax code %s is not in the tax table", code)
		}
	}
	if len(got) != len(want) || len(table) != len(want) {
		t.Errorf("codes in the lines %v, in the table %v, in the ledger %v", got, table, want)
	}
}

// TestSAFTPartyBalances recomputes every customer's and supplier's
// opening and closing balance on each account from the ledger, month by
// month and for a case whose parties are on several accounts, and
// compares them with the BalanceAccounts of the files: a party row's own
// Opening balance is on the Account it names (none: a BalanceAccount
// without AccountID), a line's amount on the line's account, lines before
// the period count into the opening balance, lines after it into neither.
func TestSAFTPartyBalances(t *testing.T) {
	type period struct{ input, golden, start, end string }
	var periods []period
	for _, m := range []string{"2026-01", "2026-02", "2026-03"} {
		end := map[string]string{"2026-01": "31", "2026-02": "28", "2026-03": "31"}[m]
		periods = append(periods, period{filepath.Join("saft-no", "testdata", "scheduled", "ledger-2026.csv"),
			filepath.Join("saft-no", "testdata", "golden", "period-"+m, "SAF-T_"+m+".xml"), m + "-01", m + "-" + end})
	}
	periods = append(periods, period{filepath.Join("saft-no", "testdata", "cases", "party-balances-per-account", "input.csv"),
		filepath.Join("saft-no", "testdata", "golden", "party-balances-per-account", "input.xml"), "2026-01-01", "2026-01-31"})
	accounts := 0
	for _, p := range periods {
		want := saftPartyBalances(t, p.input, p.start, p.end)
		d := etree.NewDocument()
		if err := d.ReadFromFile(p.golden); err != nil {
			t.Fatal(err)
		}
		got := map[string][2]decimal.Decimal{}
		for _, kind := range []string{"Customer", "Supplier"} {
			for _, party := range d.Root().FindElements("MasterFiles/" + kind + "s/" + kind) {
				for _, b := range party.SelectElements("BalanceAccount") {
					account := ""
					if a := b.SelectElement("AccountID"); a != nil {
						account = a.Text()
					}
					key := kind + " " + party.FindElement(kind+"ID").Text() + " on " + account
					if _, dup := got[key]; dup {
						t.Errorf("%s: %s has two BalanceAccounts", p.golden, key)
					}
					got[key] = [2]decimal.Decimal{amount(b, "OpeningDebitBalance").Sub(amount(b, "OpeningCreditBalance")),
						amount(b, "ClosingDebitBalance").Sub(amount(b, "ClosingCreditBalance"))}
				}
			}
		}
		for key, w := range want {
			g, ok := got[key]
			if !ok && w[0].IsZero() && w[1].IsZero() {
				continue // nothing on it: no BalanceAccount needed
			}
			if !ok || !g[0].Equal(w[0]) || !g[1].Equal(w[1]) {
				t.Errorf("%s: %s: opening and closing %v, the ledger gives %v", p.golden, key, g, w)
			}
			accounts++
		}
		for key := range got {
			if _, ok := want[key]; !ok {
				t.Errorf("%s: %s is in the file, not in the ledger", p.golden, key)
			}
		}
	}
	if accounts < 10 {
		t.Fatalf("%d party balances checked", accounts)
	}
}

// saftPartyBalances reads a saft-no input and gives each party's opening
// and closing balance per account ("Customer 10001 on 1500"; "... on "
// for a row's opening balance that names no account) for a period.
func saftPartyBalances(t *testing.T, input, start, end string) map[string][2]decimal.Decimal {
	rows := readCSV(t, input)
	col := map[string]int{}
	for i, h := range rows[0] {
		col[strings.TrimPrefix(h, "\ufeff")] = i
	}
	num := func(s string) decimal.Decimal {
		if s == "" {
			return decimal.Zero
		}
		return decimal.RequireFromString(s)
	}
	bal := map[string][2]decimal.Decimal{}
	add := func(key string, opening, closing decimal.Decimal) {
		b := bal[key]
		bal[key] = [2]decimal.Decimal{b[0].Add(opening), b[1].Add(closing)}
	}
	for _, r := range rows[1:] {
		account := strings.TrimSpace(r[col["Account"]])
		switch r[col["Record"]] {
		case "Customer", "Supplier":
			ob := num(r[col["Opening balance"]])
			add(r[col["Record"]]+" "+r[col["ID"]]+" on "+account, ob, ob)
		case "Line":
			for _, kind := range []string{"Customer", "Supplier"} {
				id := r[col[kind]]
				if id == "" || r[col["Date"]] > end {
					continue
				}
				amt := num(r[col["Debit"]]).Sub(num(r[col["Credit"]]))
				opening := decimal.Zero
				if r[col["Date"]] < start {
					opening = amt
				}
				add(kind+" "+id+" on "+account, opening, amt)
			}
		}
	}
	return bal
}

// TestSAFTSelectionDates: a period that is not whole months is written as
// selection dates, and the file is still valid.
func TestSAFTSelectionDates(t *testing.T) {
	tmpl, err := transform.Load(filepath.Join("saft-no", "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := tmpl.WithParameters(map[string]string{"period.start": "2026-01-15", "period.end": "2026-02-14", "period.name": "2026-01-15"})
	if err != nil {
		t.Fatal(err)
	}
	res, err := p.RunWith(context.Background(), filepath.Join("saft-no", "testdata", "scheduled", "ledger-2026.csv"), t.TempDir(),
		transform.RunOptions{Time: templatetest.CaseTime, ID: templatetest.CaseID})
	if err != nil {
		t.Fatal(err) // the run validates the file against the official schema
	}
	d := etree.NewDocument()
	if err := d.ReadFromFile(res.Outputs[0]); err != nil {
		t.Fatal(err)
	}
	sel := d.Root().FindElement("Header/SelectionCriteria")
	if sel.FindElement("SelectionStartDate") == nil || sel.FindElement("SelectionStartDate").Text() != "2026-01-15" ||
		sel.FindElement("SelectionEndDate").Text() != "2026-02-14" || sel.FindElement("PeriodStart") != nil {
		t.Errorf("SelectionCriteria: %v", sel.ChildElements())
	}
	for _, tx := range d.Root().FindElements("GeneralLedgerEntries/Journal/Transaction") {
		if date := tx.FindElement("TransactionDate").Text(); date < "2026-01-15" || date > "2026-02-14" {
			t.Errorf("transaction of %s is outside the period", date)
		}
	}
}
