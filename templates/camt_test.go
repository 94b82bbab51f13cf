package templates

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/beevik/etree"
	"github.com/shopspring/decimal"
)

// TestCamtIndependently reads every camt053-import case again, with etree
// rather than erpipe's streaming reader, and checks the golden statement
// lines field by field: one line per transaction detail, one per entry
// without details, in file order, with the signed amount (the detail's,
// else the entry's), currency, end-to-end id and entry reference; none of
// a statement whose booked balances don't add up with its lines.
func TestCamtIndependently(t *testing.T) {
	inputs, _ := filepath.Glob("camt053-import/testdata/cases/*/input.xml")
	inputs = append(inputs, "camt053-import/samples/statement.xml")
	checked := 0
	for _, in := range inputs {
		name := filepath.Base(filepath.Dir(in))
		golden := filepath.Join("camt053-import/testdata/golden", name, "input.csv")
		if strings.HasSuffix(in, "statement.xml") {
			golden = "camt053-import/testdata/golden/sample-statement.xml/statement.csv"
		}
		if _, err := os.Stat(golden); err != nil {
			continue // a case whose file is refused: no lines
		}
		checked++
		t.Run(name, func(t *testing.T) {
			want := camtLines(t, in)
			rows := readCSV(t, golden)
			head := map[string]int{}
			for i, h := range rows[0] {
				head[strings.TrimPrefix(h, "\ufeff")] = i
			}
			got := rows[1:]
			if len(got) != len(want) {
				t.Fatalf("%d lines, the file has %d transactions and entries without details", len(got), len(want))
			}
			for i, w := range want {
				g := got[i]
				amt := decimal.RequireFromString(g[head["Amount"]])
				if !amt.Equal(w.amount) || g[head["Account"]] != w.account || g[head["Currency"]] != w.currency ||
					g[head["End-to-end id"]] != w.e2e || g[head["Entry reference"]] != w.entryRef {
					t.Errorf("line %d: %v, want %+v", i+1, g, w)
				}
			}
		})
	}
	if checked < 15 {
		t.Fatalf("%d camt cases checked", checked)
	}
}

type camtLine struct {
	account, currency, e2e, entryRef string
	amount                           decimal.Decimal
	valueDate                        string // yyyy-mm-dd, or ""
}

// camtLines extracts the statement lines of a camt.053 or camt.054 file.
func camtLines(t *testing.T, file string) []camtLine {
	d := etree.NewDocument()
	if err := d.ReadFromFile(file); err != nil {
		t.Fatal(err)
	}
	text := func(e *etree.Element, path string) string {
		if e == nil {
			return ""
		}
		if x := e.FindElement(path); x != nil {
			return x.Text()
		}
		return ""
	}
	var lines []camtLine
	for _, st := range append(d.FindElements("/Document/*/Stmt"), d.FindElements("/Document/*/Ntfctn")...) {
		var stmt []camtLine
		account := text(st, "Acct/Id/IBAN")
		if account == "" {
			account = text(st, "Acct/Id/Othr/Id")
		}
		for _, n := range st.SelectElements("Ntry") {
			sign := decimal.NewFromInt(1)
			if text(n, "CdtDbtInd") == "DBIT" {
				sign = sign.Neg()
			}
			entryAmt := n.SelectElement("Amt")
			details := n.FindElements("NtryDtls/TxDtls")
			if len(details) == 0 {
				stmt = append(stmt, camtLine{account, entryAmt.SelectAttrValue("Ccy", ""), "", text(n, "AcctSvcrRef"),
					decimal.RequireFromString(entryAmt.Text()).Mul(sign), text(n, "ValDt/Dt")})
				continue
			}
			for _, tx := range details {
				// The detail's own amount (version .04 on), else its
				// amount details' (.02), else the entry's.
				amt := tx.SelectElement("Amt")
				if amt == nil {
					amt = tx.FindElement("AmtDtls/TxAmt/Amt")
				}
				if amt == nil {
					amt = entryAmt
				}
				stmt = append(stmt, camtLine{account, amt.SelectAttrValue("Ccy", ""), text(tx, "Refs/EndToEndId"), text(n, "AcctSvcrRef"),
					decimal.RequireFromString(amt.Text()).Mul(sign), text(n, "ValDt/Dt")})
			}
		}
		// A statement that does not add up is rejected whole.
		if camtBalances(st, stmt) {
			lines = append(lines, stmt...)
		}
	}
	return lines
}

// camtBalances says whether a statement's booked balances hold with its
// lines: opening + lines = closing, the lines counted by booking (all of
// them) or by value date (those valued on or before the closing balance's
// date, as PostFinance counts). ok is true when it has none to check.
func camtBalances(st *etree.Element, lines []camtLine) bool {
	bal := func(code string) (decimal.Decimal, string, bool) {
		for _, b := range st.SelectElements("Bal") {
			if c := b.FindElement("Tp/CdOrPrtry/Cd"); c != nil && c.Text() == code {
				v := decimal.RequireFromString(b.SelectElement("Amt").Text())
				if ind := b.SelectElement("CdtDbtInd"); ind != nil && ind.Text() == "DBIT" {
					v = v.Neg()
				}
				date := ""
				if d := b.FindElement("Dt/Dt"); d != nil {
					date = d.Text()
				}
				return v, date, true
			}
		}
		return decimal.Zero, "", false
	}
	opening, _, ok1 := bal("OPBD")
	closing, closingDate, ok2 := bal("CLBD")
	if !ok1 || !ok2 {
		return true
	}
	booked, valued := opening, opening
	for _, l := range lines {
		booked = booked.Add(l.amount)
		if closingDate == "" || l.valueDate == "" || l.valueDate <= closingDate {
			valued = valued.Add(l.amount)
		}
	}
	return booked.Equal(closing) || valued.Equal(closing)
}
