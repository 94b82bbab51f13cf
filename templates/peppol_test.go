package templates

import (
	"bytes"
	"context"
	"encoding/csv"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"
	"github.com/shopspring/decimal"
	"github.com/xuri/excelize/v2"

	"github.com/erpipe/erpipe/schematron"
	"github.com/erpipe/erpipe/transform"
)

// The Peppol corpus: peppol-invoice/testdata/cases/corpus-*/input.csv, a
// file per seller country (NO, SE, DK, NL, and DE and ES selling across
// borders), each invoice and credit note a realistic case. TestGolden
// runs them like any case, with the official rules on, and keeps their
// documents; the tests here check those documents independently of
// erpipe: the official rules run by Saxon-HE's own command line, the
// totals recomputed from the lines, the same documents from an Excel
// workbook of the same rows, and what the corpus covers.

const peppolRules = "peppol-invoice/schemas/peppol-bis-billing-3.0"

// peppolDocs returns the golden Peppol documents.
func peppolDocs(t *testing.T) []string {
	var docs []string
	for _, d := range goldenDocuments(t) {
		if strings.HasPrefix(d, "peppol-invoice") {
			docs = append(docs, d)
		}
	}
	return docs
}

// saxon finds Saxon-HE's command line, or fails: scripts/test.sh installs it.
func saxon(t testing.TB) *schematron.Processor {
	t.Helper()
	p, err := schematron.Find()
	if err != nil {
		if os.Getenv("ERPIPE_REQUIRE_SAXON") == "" {
			t.Skipf("no Saxon-HE here (scripts/test.sh installs it): %v", err)
		}
		t.Fatal(err)
	}
	return p
}

// failedAssertRE matches an SVRL failed assert; assertIDRE and
// assertFlagRE its id and flag, in either attribute order.
var (
	failedAssertRE = regexp.MustCompile(`<svrl:failed-assert\b[^>]*>`)
	assertIDRE     = regexp.MustCompile(`\bid="([^"]*)"`)
	assertFlagRE   = regexp.MustCompile(`\bflag="([^"]*)"`)
)

// officialRuleFailures runs both official rule files over every document
// in dir with Saxon-HE's command line (one JVM per rule file, the whole
// folder at once), and returns the failed asserts flagged fatal, as
// "document: id" lines.
func officialRuleFailures(t *testing.T, p *schematron.Processor, dir string) (fatal []string, warnings int) {
	t.Helper()
	for _, rules := range []string{"CEN-EN16931-UBL.xslt", "PEPPOL-EN16931-UBL.xslt"} {
		out := t.TempDir()
		cmd := exec.Command(p.Java, "-cp", p.Jar, "net.sf.saxon.Transform",
			"-s:"+dir, "-xsl:"+filepath.Join(peppolRules, rules), "-o:"+out)
		if msg, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("saxon %s: %v\n%s", rules, err, msg)
		}
		reports, _ := filepath.Glob(filepath.Join(out, "*"))
		if len(reports) == 0 {
			t.Fatalf("saxon %s wrote no reports", rules)
		}
		for _, r := range reports {
			b, err := os.ReadFile(r)
			if err != nil {
				t.Fatal(err)
			}
			for _, a := range failedAssertRE.FindAll(b, -1) {
				id := assertIDRE.FindSubmatch(a)
				flag := assertFlagRE.FindSubmatch(a)
				if flag != nil && string(flag[1]) == "warning" {
					warnings++
					continue
				}
				name := "?"
				if id != nil {
					name = string(id[1])
				}
				fatal = append(fatal, filepath.Base(r)+": "+name)
			}
		}
	}
	return fatal, warnings
}

// TestPeppolOfficialRules runs the official Peppol BIS Billing 3.0 rules
// over every golden Peppol document: none may fail a fatal rule. The same
// run over Peppol's own example documents, all valid, proves the check.
func TestPeppolOfficialRules(t *testing.T) {
	p := saxon(t)
	dir := t.TempDir()
	docs := peppolDocs(t)
	for _, d := range docs {
		// Golden folders may hold documents of the same name.
		name := strings.NewReplacer("/", "_").Replace(strings.TrimPrefix(d, "peppol-invoice/testdata/golden/"))
		b, err := os.ReadFile(d)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	fatal, warnings := officialRuleFailures(t, p, dir)
	for _, f := range fatal {
		t.Errorf("fatal: %s", f)
	}
	t.Logf("%d documents: %d fatal, %d warnings", len(docs), len(fatal), warnings)

	fatal, _ = officialRuleFailures(t, p, "peppol-invoice/testdata/peppol-examples")
	if len(fatal) > 0 {
		t.Errorf("Peppol's own examples fail: %v", fatal)
	}
}

// TestPeppolRulesCatchBrokenDocument shows the check can fail: a valid
// golden invoice with its seller's endpoint broken fails R041.
func TestPeppolRulesCatchBrokenDocument(t *testing.T) {
	p := saxon(t)
	b, err := os.ReadFile("peppol-invoice/testdata/golden/corpus-no/invoice-NO-2026-101.xml")
	if err != nil {
		t.Fatal(err)
	}
	broken := bytes.Replace(b, []byte(`schemeID="0192">987654325<`), []byte(`schemeID="0192">987654321<`), 1)
	if bytes.Equal(b, broken) {
		t.Fatal("the seller's endpoint is not in the document")
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "broken.xml"), broken, 0o644); err != nil {
		t.Fatal(err)
	}
	fatal, _ := officialRuleFailures(t, p, dir)
	if !slices.Contains(fatal, "broken.xml: PEPPOL-COMMON-R041") {
		t.Errorf("fatal = %v, want PEPPOL-COMMON-R041", fatal)
	}
}

// TestPeppolTotals recomputes the EN 16931 totals rules BR-CO-10 to
// BR-CO-17 of every golden Peppol invoice and credit note from its lines,
// allowances and charges.
func TestPeppolTotals(t *testing.T) {
	docs := peppolDocs(t)
	for _, doc := range docs {
		t.Run(doc, func(t *testing.T) {
			d := etree.NewDocument()
			if err := d.ReadFromFile(doc); err != nil {
				t.Fatal(err)
			}
			root := d.Root()
			lineTag, qtyTag := "cac:InvoiceLine", "cbc:InvoicedQuantity"
			if root.Tag == "CreditNote" {
				lineTag, qtyTag = "cac:CreditNoteLine", "cbc:CreditedQuantity"
			}
			key := func(cat *etree.Element) string {
				return cat.FindElement("cbc:ID").Text() + "/" + amount(cat, "cbc:Percent").String()
			}
			// Lines: quantity × price, less line allowances, plus line charges.
			var lines, allowances, charges decimal.Decimal
			base := map[string]decimal.Decimal{}
			for _, l := range root.FindElements(lineTag) {
				net := amount(l, qtyTag).Mul(amount(l, "cac:Price/cbc:PriceAmount")).Round(2)
				for _, ac := range l.FindElements("cac:AllowanceCharge") {
					if ac.FindElement("cbc:ChargeIndicator").Text() == "true" {
						net = net.Add(amount(ac, "cbc:Amount"))
					} else {
						net = net.Sub(amount(ac, "cbc:Amount"))
					}
				}
				if got := amount(l, "cbc:LineExtensionAmount"); !got.Equal(net) {
					t.Errorf("line %s: net %s, recomputed %s", l.FindElement("cbc:ID").Text(), got, net)
				}
				lines = lines.Add(net)
				k := key(l.FindElement("cac:Item/cac:ClassifiedTaxCategory"))
				base[k] = base[k].Add(net)
			}
			for _, ac := range root.SelectElements("cac:AllowanceCharge") {
				a, k := amount(ac, "cbc:Amount"), key(ac.FindElement("cac:TaxCategory"))
				if ac.FindElement("cbc:ChargeIndicator").Text() == "true" {
					charges, base[k] = charges.Add(a), base[k].Add(a)
				} else {
					allowances, base[k] = allowances.Add(a), base[k].Sub(a)
				}
			}
			var vat decimal.Decimal
			for _, st := range root.FindElements("cac:TaxTotal/cac:TaxSubtotal") {
				k := key(st.FindElement("cac:TaxCategory"))
				taxable, tax := amount(st, "cbc:TaxableAmount"), amount(st, "cbc:TaxAmount")
				if !taxable.Equal(base[k]) {
					t.Errorf("VAT %s: taxable %s, recomputed %s", k, taxable, base[k])
				}
				if want := taxable.Mul(amount(st, "cac:TaxCategory/cbc:Percent")).Div(decimal.NewFromInt(100)).Round(2); !tax.Equal(want) {
					t.Errorf("BR-CO-17: VAT %s: %s, want %s", k, tax, want)
				}
				delete(base, k)
				vat = vat.Add(tax)
			}
			if len(base) > 0 {
				t.Errorf("no VAT breakdown for %v", base)
			}
			m := root.FindElement("cac:LegalMonetaryTotal")
			check := func(rule string, got, want decimal.Decimal) {
				if !got.Equal(want) {
					t.Errorf("%s: %s, want %s", rule, got, want)
				}
			}
			excl := lines.Sub(allowances).Add(charges)
			check("BR-CO-10", amount(m, "cbc:LineExtensionAmount"), lines)
			check("BR-CO-11", amount(m, "cbc:AllowanceTotalAmount"), allowances)
			check("BR-CO-12", amount(m, "cbc:ChargeTotalAmount"), charges)
			check("BR-CO-13", amount(m, "cbc:TaxExclusiveAmount"), excl)
			check("BR-CO-14", amount(root, "cac:TaxTotal/cbc:TaxAmount"), vat)
			check("BR-CO-15", amount(m, "cbc:TaxInclusiveAmount"), excl.Add(vat))
			check("BR-CO-16", amount(m, "cbc:PayableAmount"),
				excl.Add(vat).Sub(amount(m, "cbc:PrepaidAmount")).Add(amount(m, "cbc:PayableRoundingAmount")))
		})
	}
	if len(docs) < 25 {
		t.Fatalf("%d golden Peppol documents; the corpus must hold at least 25", len(docs))
	}
}

// peppolCoverPaths are elements the corpus must hold, each in some document.
var peppolCoverPaths = []string{
	"cbc:DueDate", "cac:PaymentTerms", "cac:BillingReference", "cbc:Note", "cac:OrderReference", "cac:ContractDocumentReference",
	"cac:ProjectReference", "cac:AdditionalDocumentReference", "cac:Delivery/cbc:ActualDeliveryDate", "cac:Delivery/cac:DeliveryLocation/cac:Address",
	"cac:AllowanceCharge", "cac:InvoiceLine/cac:AllowanceCharge", "cac:PaymentMeans/cac:PayeeFinancialAccount/cac:FinancialInstitutionBranch",
	"cac:PaymentMeans/cac:CardAccount", "cac:PaymentMeans/cac:PaymentMandate", "cac:PaymentMeans/cbc:PaymentDueDate",
	"cac:LegalMonetaryTotal/cbc:PrepaidAmount", "cac:LegalMonetaryTotal/cbc:PayableRoundingAmount",
	"cac:AccountingCustomerParty/cac:Party/cac:PartyTaxScheme", "cac:AccountingSupplierParty/cac:Party/cac:PartyTaxScheme",
	"cac:InvoiceLine/cac:Item/cac:SellersItemIdentification", "cac:InvoiceLine/cac:Item/cac:StandardItemIdentification",
	"cac:InvoiceLine/cac:Item/cac:CommodityClassification", "cac:InvoiceLine/cac:OrderLineReference",
}

// TestPeppolCorpusCovers checks the corpus holds every case peppol-invoice
// is made for: sellers in at least four countries, credit notes, each VAT
// category, allowances and charges, payment means, references...
func TestPeppolCorpusCovers(t *testing.T) {
	seen := map[string]bool{}
	sellers := map[string]bool{}
	for _, doc := range peppolDocs(t) {
		if !strings.Contains(doc, "/corpus-") {
			continue
		}
		d := etree.NewDocument()
		if err := d.ReadFromFile(doc); err != nil {
			t.Fatal(err)
		}
		root := d.Root()
		sellers[root.FindElement("cac:AccountingSupplierParty/cac:Party/cac:PostalAddress/cac:Country/cbc:IdentificationCode").Text()] = true
		seen["root "+root.Tag] = true
		for _, e := range root.FindElements("//cac:TaxSubtotal/cac:TaxCategory/cbc:ID") {
			seen["VAT "+e.Text()] = true
		}
		for _, e := range root.FindElements("//cbc:PaymentMeansCode") {
			seen["means "+e.Text()] = true
		}
		for _, e := range root.FindElements("//cbc:EndpointID") {
			seen["endpoint "+e.SelectAttrValue("schemeID", "")] = true
		}
		for _, e := range root.FindElements("//cbc:TaxExemptionReasonCode") {
			seen["VATEX"] = seen["VATEX"] || e.Text() != ""
		}
		for _, p := range peppolCoverPaths {
			if root.FindElement(p) != nil {
				seen[p] = true
			}
		}
		if root.FindElement("cbc:DueDate") == nil && root.FindElement("cac:PaymentTerms") != nil && root.Tag == "Invoice" {
			seen["terms without due date"] = true
		}
	}
	if len(sellers) < 4 {
		t.Errorf("sellers from %v; want at least 4 countries", sellers)
	}
	want := []string{"root Invoice", "root CreditNote", "VAT S", "VAT Z", "VAT E", "VAT AE", "VAT K", "VAT G", "VAT O", "VAT L", "VAT M", "VATEX",
		"means 30", "means 58", "means 49", "means 59", "means 48", "endpoint 0192", "endpoint 0007", "endpoint 0184", "endpoint 0106",
		"endpoint 0088", "endpoint 9930", "terms without due date"}
	for _, w := range want {
		if !seen[w] {
			t.Errorf("the corpus has no document with %s", w)
		}
	}
	for _, p := range peppolCoverPaths {
		if !seen[p] {
			t.Errorf("the corpus has no document with %s", p)
		}
	}
	var keys []string
	for k := range seen {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if len(keys) < len(want)+20 {
		t.Errorf("the corpus covers only %v", keys)
	}
}

// peppolNumberColumns and peppolDateColumns are typed cells in the
// workbook made from a corpus file, as Excel keeps what people type.
var (
	peppolNumberColumns = []string{"Quantity", "Unit price", "Amount", "VAT rate", "Line allowance", "Line charge", "Prepaid amount", "Rounding amount"}
	peppolDateColumns   = []string{"Issue date", "Due date", "Delivery date", "Corrected invoice date"}
)

// TestPeppolCorpusFromExcel makes each corpus file into a workbook, with
// numbers and dates in typed cells as Excel keeps them, runs it, and
// checks it gives byte for byte the documents the CSV gave.
func TestPeppolCorpusFromExcel(t *testing.T) {
	saxon(t)
	tmpl, err := transform.Load("peppol-invoice/template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	inputs, _ := filepath.Glob("peppol-invoice/testdata/cases/corpus-*/input.csv")
	if len(inputs) < 4 {
		t.Fatalf("corpus files: %v", inputs)
	}
	for _, in := range inputs {
		name := filepath.Base(filepath.Dir(in))
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			book := filepath.Join(dir, name+".xlsx")
			corpusWorkbook(t, in, book)
			out := filepath.Join(dir, "out")
			if err := os.Mkdir(out, 0o755); err != nil {
				t.Fatal(err)
			}
			res, err := tmpl.Run(context.Background(), book, out)
			if err != nil {
				t.Fatal(err)
			}
			if res.Rejected > 0 || len(res.Warnings) > 0 {
				t.Fatalf("rejected %d: %v; warnings: %v", res.Rejected, res.Errors, res.Warnings)
			}
			golden, _ := filepath.Glob(filepath.Join("peppol-invoice/testdata/golden", name, "*.xml"))
			if len(res.Outputs) != len(golden) {
				t.Fatalf("%d documents from the workbook, %d from the CSV", len(res.Outputs), len(golden))
			}
			for _, g := range golden {
				want, _ := os.ReadFile(g)
				got, err := os.ReadFile(filepath.Join(out, filepath.Base(g)))
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, want) {
					t.Errorf("%s from the workbook differs from the CSV's", filepath.Base(g))
				}
			}
		})
	}
}

// corpusWorkbook writes the CSV file in as a workbook with the sheet
// peppol-invoice reads, numbers and dates typed.
func corpusWorkbook(t *testing.T, in, out string) {
	t.Helper()
	data, err := os.ReadFile(in)
	if err != nil {
		t.Fatal(err)
	}
	r := csv.NewReader(bytes.NewReader(data))
	if first, _, _ := strings.Cut(string(data), "\n"); strings.Count(first, ";") > strings.Count(first, ",") {
		r.Comma = ';'
	}
	rows, err := r.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	f := excelize.NewFile()
	defer f.Close()
	const sheet = "Invoice lines"
	if err := f.SetSheetName("Sheet1", sheet); err != nil {
		t.Fatal(err)
	}
	dateStyle, err := f.NewStyle(&excelize.Style{NumFmt: 14})
	if err != nil {
		t.Fatal(err)
	}
	for i, row := range rows {
		for j, v := range row {
			cell, _ := excelize.CoordinatesToCellName(j+1, i+1)
			col := rows[0][j]
			switch {
			case i == 0 || v == "":
				err = f.SetCellStr(sheet, cell, v)
			case slices.Contains(peppolNumberColumns, col):
				if _, perr := decimal.NewFromString(v); perr != nil {
					t.Fatalf("%s row %d %s: %q is not a number", in, i+1, col, v)
				}
				err = f.SetCellDefault(sheet, cell, v) // a number cell, as typed
			case slices.Contains(peppolDateColumns, col):
				d, perr := time.Parse("2006-01-02", v)
				if perr != nil {
					d, perr = time.Parse("02.01.2006", v)
				}
				if perr != nil {
					t.Fatalf("%s row %d %s: %q is not a date", in, i+1, col, v)
				}
				serial := int(d.Sub(time.Date(1899, 12, 30, 0, 0, 0, 0, time.UTC)).Hours() / 24)
				if err = f.SetCellDefault(sheet, cell, decimal.NewFromInt(int64(serial)).String()); err == nil {
					err = f.SetCellStyle(sheet, cell, cell, dateStyle)
				}
			default:
				err = f.SetCellStr(sheet, cell, v)
			}
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := f.SaveAs(out); err != nil {
		t.Fatal(err)
	}
}

// TestPeppolDerivedTemplate: a template of a user's own, in a folder of
// its own, that extends peppol-invoice finds the base's schemas, rule
// files and code lists beside the base, and can turn the rules off.
func TestPeppolDerivedTemplate(t *testing.T) {
	dir := t.TempDir()
	for name, body := range map[string]string{
		"with-rules.yaml": "extends:\n  template: peppol-invoice\nname: my-invoices\nversion: 1.0.0\nstatus: completed\n",
		"no-rules.yaml":   "extends:\n  template: peppol-invoice\nname: my-invoices-unchecked\nversion: 1.0.0\nstatus: completed\noutput:\n  xml:\n    schematron: []\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		file  string
		rules bool
	}{{"with-rules.yaml", true}, {"no-rules.yaml", false}} {
		t.Run(tc.file, func(t *testing.T) {
			tmpl, err := transform.Load(filepath.Join(dir, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			// Without a processor, only the template with rules fails.
			t.Setenv("ERPIPE_SAXON_JAR", filepath.Join(dir, "no-saxon.jar"))
			out := t.TempDir()
			res, err := tmpl.Run(context.Background(), "peppol-invoice/samples/invoices.csv", out)
			if tc.rules {
				if err == nil || !strings.Contains(err.Error(), "libsaxonhe-java") {
					t.Fatalf("err = %v, want the processor missing", err)
				}
				if files, _ := os.ReadDir(out); len(files) != 0 {
					t.Errorf("published %d files without the rules", len(files))
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Outputs) != 2 {
				t.Errorf("outputs %v, want the sample's two invoices", res.Outputs)
			}
		})
	}
}

// TestPeppolExamplesReadBack reads each of Peppol's own example documents
// with peppol-import and writes it again with peppol-invoice: the new
// document must have the example's totals. Where it can't, the table says
// why, and the test checks that it is so.
func TestPeppolExamplesReadBack(t *testing.T) {
	saxon(t)
	imp, err := transform.Load("peppol-import/template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	inv, err := transform.Load("peppol-invoice/template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	// A valid Swedish IBAN, for the examples whose account is not one.
	const fakeIBAN, realIBAN = "SE1212341234123412", "SE4550000000058398257466"
	for _, tc := range []struct {
		example string
		refused string // the row rule that refuses the example as it is
	}{
		{example: "base-example.xml"},
		{example: "base-creditnote-correction.xml"},
		{example: "base-negative-inv-correction.xml"},
		{example: "sales-order-example.xml"},
		{example: "Vat-category-S.xml"},
		{example: "Allowance-example.xml"},
		// These give a made-up account that fails the IBAN check digits.
		{example: "vat-category-E.xml", refused: "payment-account-iban"},
		{example: "vat-category-O.xml", refused: "payment-account-iban"},
		{example: "vat-category-Z.xml", refused: "payment-account-iban"},
	} {
		t.Run(tc.example, func(t *testing.T) {
			src := filepath.Join("peppol-invoice/testdata/peppol-examples", tc.example)
			lines := t.TempDir()
			res, err := imp.Run(context.Background(), src, lines)
			if err != nil {
				t.Fatal(err)
			}
			if res.Rejected > 0 || len(res.Outputs) != 1 {
				t.Fatalf("import: rejected %d %v, outputs %v", res.Rejected, res.Errors, res.Outputs)
			}
			csvFile := res.Outputs[0]
			out := t.TempDir()
			if tc.refused != "" {
				res, err := inv.Run(context.Background(), csvFile, out)
				if err != nil {
					t.Fatal(err)
				}
				if res.Rejected == 0 || res.Errors[0].Rule != tc.refused {
					t.Fatalf("rejected %d %v, want rule %s", res.Rejected, res.Errors, tc.refused)
				}
				b, _ := os.ReadFile(csvFile)
				if !bytes.Contains(b, []byte(fakeIBAN)) {
					t.Fatalf("the example's account %s is not in the lines", fakeIBAN)
				}
				if err := os.WriteFile(csvFile, bytes.ReplaceAll(b, []byte(fakeIBAN), []byte(realIBAN)), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			res, err = inv.Run(context.Background(), csvFile, out)
			if err != nil {
				t.Fatal(err)
			}
			if res.Rejected > 0 || len(res.Outputs) != 1 {
				t.Fatalf("peppol-invoice: rejected %d %v, outputs %v", res.Rejected, res.Errors, res.Outputs)
			}
			want, got := docTotals(t, src), docTotals(t, res.Outputs[0])
			for k, w := range want {
				if got[k] != w {
					t.Errorf("%s: %s, the example has %s", k, got[k], w)
				}
			}
		})
	}
}

// docTotals returns a UBL document's totals, by element name.
func docTotals(t *testing.T, file string) map[string]string {
	t.Helper()
	d := etree.NewDocument()
	if err := d.ReadFromFile(file); err != nil {
		t.Fatal(err)
	}
	root := d.Root()
	totals := map[string]string{"TaxAmount": amount(root, "cac:TaxTotal/cbc:TaxAmount").StringFixed(2)}
	for _, e := range root.FindElement("cac:LegalMonetaryTotal").ChildElements() {
		totals[e.Tag] = amount(root, "cac:LegalMonetaryTotal/"+e.FullTag()).StringFixed(2)
	}
	return totals
}
