package templates

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"
	"github.com/shopspring/decimal"

	"github.com/erpipe/erpipe/transform"
	"github.com/erpipe/erpipe/transform/template"
	"github.com/erpipe/erpipe/transform/templatetest"
	"github.com/erpipe/erpipe/xsd"
)

// officialSchemas maps a document's namespace to its official schema, as
// a path in a schema set the built-ins embed (templates/*/schemas/SET/...),
// used to check the golden documents independently of erpipe's validator.
var officialSchemas = map[string]string{
	"urn:iso:std:iso:20022:tech:xsd:pain.001.001.03":            "pain.001.001.03/pain.001.001.03.xsd",
	"urn:iso:std:iso:20022:tech:xsd:pain.001.003.03":            "pain.001.003.03/pain.001.003.03.xsd",
	"urn:iso:std:iso:20022:tech:xsd:pain.001.001.09":            "pain.001.001.09/pain.001.001.09.xsd",
	"urn:StandardAuditFile-Taxation-Financial:NO":               "saf-t-no-financial-1.30/Norwegian_SAF-T_Financial_Schema_v_1.30.xsd",
	"urn:oasis:names:specification:ubl:schema:xsd:Invoice-2":    "ubl-2.1/xsd/maindoc/UBL-Invoice-2.1.xsd",
	"urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2": "ubl-2.1/xsd/maindoc/UBL-CreditNote-2.1.xsd",
}

// officialSums lists the sha256 of every official schema file the
// built-ins embed a copy of, as the publishers distribute it (ISO 20022,
// Skatteetaten, OASIS): the embedded copies are checked against it, so
// that the golden documents are validated against schemas proven to be
// the official ones, in any clone, with nothing outside the repository.
const officialSums = "testdata/official-schemas.sha256"

// embeddedSchemas returns the sha256 of each schema file the built-ins
// embed, by its path in its schema set (SET/...), and the folder of each
// set.
func embeddedSchemas(t *testing.T) (sums map[string]string, sets map[string]string) {
	t.Helper()
	sums, sets = map[string]string{}, map[string]string{}
	roots, _ := filepath.Glob("*/schemas")
	for _, root := range roots {
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || (filepath.Ext(p) != ".xsd" && filepath.Ext(p) != ".xslt") {
				return err
			}
			rel, _ := filepath.Rel(root, p)
			rel = filepath.ToSlash(rel)
			set, _, _ := strings.Cut(rel, "/")
			sets[set] = filepath.Join(root, set)
			sums[rel] = fileSum(t, p)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(sums) == 0 {
		t.Fatal("no embedded schemas under templates/*/schemas")
	}
	return sums, sets
}

func fileSum(t *testing.T, p string) string {
	t.Helper()
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// TestEmbeddedSchemasOfficial checks that every schema the built-ins
// embed is the official file, byte for byte, and that the list names no
// file the built-ins do not embed.
func TestEmbeddedSchemasOfficial(t *testing.T) {
	embedded, _ := embeddedSchemas(t)
	data, err := os.ReadFile(officialSums)
	if err != nil {
		t.Fatal(err)
	}
	official := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		if strings.HasPrefix(line, "#") {
			continue
		}
		sum, rel, ok := strings.Cut(line, "  ")
		if !ok {
			t.Fatalf("%s: %q is not \"sha256  path\"", officialSums, line)
		}
		official[rel] = sum
	}
	for rel, sum := range embedded {
		switch want, ok := official[rel]; {
		case !ok:
			t.Errorf("%s is embedded but not in %s; add the sha256 of the official file", rel, officialSums)
		case sum != want:
			t.Errorf("the embedded copy of %s is not the official schema (sha256 %s, want %s)", rel, sum, want)
		}
	}
	for rel := range official {
		if _, ok := embedded[rel]; !ok {
			t.Errorf("%s lists %s, which no built-in embeds", officialSums, rel)
		}
	}
}

// goldenDocuments returns every XML document among the golden files:
// the outputs of samples (golden/sample-<input>) and of cases
// (golden/<case>/<output>), whatever their names, by their content.
func goldenDocuments(t *testing.T) []string {
	var docs []string
	for _, pattern := range []string{"*/testdata/golden/*", "*/testdata/golden/*/*", "*/testdata/golden/*/*/*"} {
		files, err := filepath.Glob(pattern)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			b := make([]byte, 5)
			fh, err := os.Open(f)
			if err != nil {
				continue
			}
			n, _ := fh.Read(b)
			fh.Close()
			if string(b[:n]) == "<?xml" {
				docs = append(docs, f)
			}
		}
	}
	if len(docs) == 0 {
		t.Fatal("no golden XML documents")
	}
	return docs
}

// TestGoldenDocumentsValid validates every golden document twice: with
// erpipe's validator and, independently, with xmllint against the
// official schema (the embedded copy TestEmbeddedSchemasOfficial proves
// to be the official file).
func TestGoldenDocumentsValid(t *testing.T) {
	xmllint, err := exec.LookPath("xmllint")
	if err != nil {
		t.Fatal("xmllint is needed (Debian: apt-get install libxml2-utils; scripts/test.sh installs it)")
	}
	_, sets := embeddedSchemas(t)
	for _, doc := range goldenDocuments(t) {
		t.Run(doc, func(t *testing.T) {
			d := etree.NewDocument()
			if err := d.ReadFromFile(doc); err != nil {
				t.Fatal(err)
			}
			ns := d.Root().SelectAttrValue("xmlns", "")
			rel, ok := officialSchemas[ns]
			if !ok {
				t.Fatalf("no official schema known for namespace %q", ns)
			}
			// The schema's set folder, for the files it imports (UBL's ../common).
			set, entry, _ := strings.Cut(rel, "/")
			dir, ok := sets[set]
			if !ok {
				t.Fatalf("no built-in embeds the schema set %s of namespace %q", set, ns)
			}
			schemaPath := filepath.Join(dir, entry)
			out, err := exec.Command(xmllint, "--noout", "--schema", schemaPath, doc).CombinedOutput()
			if err != nil {
				t.Errorf("xmllint: %v\n%s", err, out)
			}
			s, err := xsd.Compile(os.DirFS(dir), ".", entry)
			if err != nil {
				t.Fatal(err)
			}
			if err := s.ValidateFile(doc); err != nil {
				t.Errorf("erpipe's validator: %v", err)
			}
		})
	}
}

// TestPain001ControlTotals recomputes the control totals of every golden
// pain.001 document from its payments.
func TestPain001ControlTotals(t *testing.T) {
	checked := 0
	defer func() {
		if checked == 0 {
			t.Error("no golden pain.001 document was checked")
		}
	}()
	for _, doc := range goldenDocuments(t) {
		if !strings.HasPrefix(doc, "pain001") {
			continue
		}
		checked++
		t.Run(doc, func(t *testing.T) {
			d := etree.NewDocument()
			if err := d.ReadFromFile(doc); err != nil {
				t.Fatal(err)
			}
			sum := func(els []*etree.Element) decimal.Decimal {
				var s decimal.Decimal
				for _, e := range els {
					s = s.Add(decimal.RequireFromString(e.Text()))
				}
				return s
			}
			check := func(where string, scope *etree.Element, nbPath, sumPath string) {
				amounts := scope.FindElements(".//CdtTrfTxInf/Amt/InstdAmt")
				nb := scope.FindElement(nbPath)
				ctrl := scope.FindElement(sumPath)
				if nb == nil || ctrl == nil {
					t.Fatalf("%s: no %s or %s", where, nbPath, sumPath)
				}
				if want := decimal.NewFromInt(int64(len(amounts))).String(); nb.Text() != want {
					t.Errorf("%s: NbOfTxs %s, counted %s", where, nb.Text(), want)
				}
				if got, want := decimal.RequireFromString(ctrl.Text()), sum(amounts); !got.Equal(want) {
					t.Errorf("%s: CtrlSum %s, added up %s", where, got, want)
				}
			}
			root := d.Root()
			check("GrpHdr", root, "CstmrCdtTrfInitn/GrpHdr/NbOfTxs", "CstmrCdtTrfInitn/GrpHdr/CtrlSum")
			blocks := root.FindElements("CstmrCdtTrfInitn/PmtInf")
			if len(blocks) == 0 {
				t.Fatal("no PmtInf")
			}
			seen, ids := map[string]bool{}, map[string]bool{}
			for _, b := range blocks {
				id := b.FindElement("PmtInfId").Text()
				if ids[id] {
					t.Errorf("two PmtInf blocks with the id %s", id)
				}
				ids[id] = true
				check("PmtInf "+id, b, "NbOfTxs", "CtrlSum")
				date := b.FindElement("ReqdExctnDt")
				if dt := date.FindElement("Dt"); dt != nil { // pain.001.001.09
					date = dt
				}
				amounts := b.FindElements("CdtTrfTxInf/Amt/InstdAmt")
				ccy := amounts[0].SelectAttrValue("Ccy", "")
				text := func(path string) string {
					if e := b.FindElement(path); e != nil {
						return e.Text()
					}
					return ""
				}
				key := strings.Join([]string{text("DbtrAcct/Id/IBAN"), date.Text(), ccy, text("PmtTpInf/InstrPrty"), text("PmtTpInf/CtgyPurp/Cd")}, "|")
				if seen[key] {
					t.Errorf("two PmtInf blocks for %s", key)
				}
				seen[key] = true
				for _, a := range amounts {
					if a.SelectAttrValue("Ccy", "") != ccy {
						t.Errorf("PmtInf %s holds payments in %s and %s", id, ccy, a.SelectAttrValue("Ccy", ""))
					}
				}
			}
		})
	}
}

// pain001Profiles are the cases of pain001 run with parameters set: the
// folder testdata/<dir>/<case>/input.csv, expected in
// testdata/golden/<prefix><case>.
var pain001Profiles = []struct {
	dir, prefix string
	params      map[string]string
}{
	{"sepa-cases", "sepa-", map[string]string{"sepa": "true"}},                          // pain.001.003.03
	{"v09-cases", "v09-", map[string]string{"version": "09"}},                           // pain.001.001.09
	{"sepa-v09-cases", "sepa-v09-", map[string]string{"sepa": "true", "version": "09"}}, // pain.001.001.09, SEPA
}

// TestPain001Profiles runs the cases of each profile against their golden
// files (go test ./templates -update rewrites them).
func TestPain001Profiles(t *testing.T) {
	tmpl, err := transform.Load(filepath.Join("pain001", "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pain001Profiles {
		withParams, err := tmpl.WithParameters(p.params)
		if err != nil {
			t.Fatal(err)
		}
		dirs, _ := filepath.Glob(filepath.Join("pain001", "testdata", p.dir, "*"))
		if len(dirs) == 0 {
			t.Fatalf("no cases in %s", p.dir)
		}
		for _, dir := range dirs {
			name := p.prefix + strings.TrimPrefix(filepath.Base(dir), p.prefix)
			c := templatetest.Case{Name: name, Input: filepath.Join(dir, "input.csv"), Expect: filepath.Join("pain001", "testdata", "golden", name)}
			t.Run(name, func(t *testing.T) {
				o, err := templatetest.Run(context.Background(), withParams, c, *update)
				if err != nil {
					t.Fatal(err)
				}
				if !o.Pass {
					t.Errorf("%s differs (go test ./templates -update rewrites it):\n%s", name, o.Diff)
				}
			})
		}
	}
}

// TestPain001InvalidLayout: a layout that makes a document its schema
// refuses fails the run, names the element, and publishes nothing.
func TestPain001InvalidLayout(t *testing.T) {
	base, err := os.ReadFile(filepath.Join("pain001", "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	// PmtMtd "TRF" becomes "CHK"... and then an element the schema has no
	// place for.
	broken := strings.Replace(string(base), `- PmtMtd: '"TRF"'`, `- PmtMtd: '"TRF"'`+"\n            - Memo: '\"not in the schema\"'", 1)
	if broken == string(base) {
		t.Fatal("the layout changed; update the test")
	}
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS("pain001")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "template.yaml"), []byte(broken), 0o644); err != nil {
		t.Fatal(err)
	}
	tmpl, err := transform.Load(filepath.Join(dir, "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	_, err = tmpl.Run(context.Background(), filepath.Join("pain001", "samples", "payments.csv"), out)
	if err == nil {
		t.Fatal("the run succeeded")
	}
	var fe *template.FieldError
	if !errors.As(err, &fe) || fe.Field != "Memo" || !strings.Contains(err.Error(), "element Memo") {
		t.Errorf("the error does not name the element Memo: %v", err)
	}
	if !strings.Contains(err.Error(), "payments.csv: row ") {
		t.Errorf("the error does not name the input row: %v", err)
	}
	entries, _ := os.ReadDir(out)
	if len(entries) != 0 {
		t.Errorf("the output folder holds %d files; nothing may be published", len(entries))
	}
}

// TestSAFTControlTotals recomputes, from every golden SAF-T file, the
// figures an auditor checks: NumberOfEntries, TotalDebit and TotalCredit,
// that each transaction balances, and that each account rolls forward
// (opening + debits - credits = closing).
func TestSAFTControlTotals(t *testing.T) {
	n := 0
	for _, doc := range goldenDocuments(t) {
		if !strings.HasPrefix(doc, "saft-no") {
			continue
		}
		n++
		t.Run(doc, func(t *testing.T) {
			d := etree.NewDocument()
			if err := d.ReadFromFile(doc); err != nil {
				t.Fatal(err)
			}
			gl := d.Root().FindElement("GeneralLedgerEntries")
			txs := gl.FindElements("Journal/Transaction")
			if got := gl.FindElement("NumberOfEntries").Text(); got != decimal.NewFromInt(int64(len(txs))).String() {
				t.Errorf("NumberOfEntries %s, counted %d transactions", got, len(txs))
			}
			var debit, credit decimal.Decimal
			moves := map[string]decimal.Decimal{}
			for _, tx := range txs {
				var td, tc decimal.Decimal
				for _, l := range tx.FindElements("Line") {
					dd, cc := amount(l, "DebitAmount/Amount"), amount(l, "CreditAmount/Amount")
					td, tc = td.Add(dd), tc.Add(cc)
					acc := l.FindElement("AccountID").Text()
					moves[acc] = moves[acc].Add(dd).Sub(cc)
				}
				if !td.Equal(tc) {
					t.Errorf("transaction %s: debit %s, credit %s", tx.FindElement("TransactionID").Text(), td, tc)
				}
				debit, credit = debit.Add(td), credit.Add(tc)
			}
			if got := amount(gl, "TotalDebit"); !got.Equal(debit) {
				t.Errorf("TotalDebit %s, added up %s", got, debit)
			}
			if got := amount(gl, "TotalCredit"); !got.Equal(credit) {
				t.Errorf("TotalCredit %s, added up %s", got, credit)
			}
			accounts := d.Root().FindElements("MasterFiles/GeneralLedgerAccounts/Account")
			if len(accounts) == 0 {
				t.Fatal("no accounts")
			}
			for _, a := range accounts {
				id := a.FindElement("AccountID").Text()
				opening := amount(a, "OpeningDebitBalance").Sub(amount(a, "OpeningCreditBalance"))
				closing := amount(a, "ClosingDebitBalance").Sub(amount(a, "ClosingCreditBalance"))
				if want := opening.Add(moves[id]); !closing.Equal(want) {
					t.Errorf("account %s: opening %s + movements %s = %s, but the closing balance is %s", id, opening, moves[id], want, closing)
				}
				delete(moves, id)
			}
			for id := range moves {
				t.Errorf("lines are posted on account %s, which is not in MasterFiles", id)
			}
		})
	}
	if n == 0 {
		t.Fatal("no golden SAF-T files")
	}
}

// TestPain001MessageIDs: two payment files dropped at the same second get
// different message and block ids (banks refuse a repeated MsgId as a
// duplicate); the same file run again gets the same ones; and every
// PmtInfId of both files is different.
func TestPain001MessageIDs(t *testing.T) {
	tmpl, err := transform.Load(filepath.Join("pain001", "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	sample, err := os.ReadFile(filepath.Join("pain001", "samples", "payments.csv"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.csv"), filepath.Join(dir, "b.csv")
	other := strings.Replace(string(sample), "12500.00", "12600.00", 1)
	for name, body := range map[string]string{a: string(sample), b: other} {
		if err := os.WriteFile(name, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		same := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
		if err := os.Chtimes(name, same, same); err != nil {
			t.Fatal(err)
		}
	}
	ids := func(in string) (msg string, blocks []string) {
		res, err := tmpl.Run(context.Background(), in, t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		d := etree.NewDocument()
		if err := d.ReadFromFile(res.Outputs[0]); err != nil {
			t.Fatal(err)
		}
		for _, e := range d.FindElements("//PmtInfId") {
			blocks = append(blocks, e.Text())
		}
		return d.FindElement("//MsgId").Text(), blocks
	}
	msgA, blocksA := ids(a)
	msgB, blocksB := ids(b)
	again, blocksAgain := ids(a)
	if msgA == msgB {
		t.Errorf("two files, one MsgId %s", msgA)
	}
	if again != msgA || !slices.Equal(blocksA, blocksAgain) {
		t.Errorf("the same file gave %s %v, then %s %v", msgA, blocksA, again, blocksAgain)
	}
	seen := map[string]bool{}
	for _, id := range append(blocksA, blocksB...) {
		if seen[id] {
			t.Errorf("PmtInfId %s twice", id)
		}
		seen[id] = true
		if len(id) > 35 {
			t.Errorf("PmtInfId %s is longer than 35", id)
		}
	}
	if len(msgA) > 35 {
		t.Errorf("MsgId %s is longer than 35", msgA)
	}
}
