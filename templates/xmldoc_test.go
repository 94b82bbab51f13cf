package templates

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"
	"github.com/shopspring/decimal"

	"github.com/erpipe/erpipe/transform"
	"github.com/erpipe/erpipe/transform/templatetest"
	"github.com/erpipe/erpipe/xsd"
)

// goldenTime is the modification time the inputs of document templates
// are given before the tests run: a payment file's creation time is the
// time its input was dropped, and golden files must not depend on when the
// repository was checked out.
var goldenTime = time.Date(2026, 1, 30, 9, 15, 0, 0, time.UTC)

func TestMain(m *testing.M) {
	for _, pattern := range []string{"pain001/samples/*", "pain001/testdata/*/*/input.*"} {
		files, _ := filepath.Glob(pattern)
		for _, f := range files {
			os.Chtimes(f, goldenTime, goldenTime)
		}
	}
	os.Exit(m.Run())
}

// sharedSchemas maps a document's namespace to the official schema in
// ../shared/schemas (beside the repository), used to check the golden
// documents independently of erpipe's validator.
var sharedSchemas = map[string]string{
	"urn:iso:std:iso:20022:tech:xsd:pain.001.001.03": "pain.001.001.03/pain.001.001.03.xsd",
	"urn:iso:std:iso:20022:tech:xsd:pain.001.003.03": "pain.001.003.03/pain.001.003.03.xsd",
}

// sharedSchemaDir finds ../shared/schemas from the repository root.
func sharedSchemaDir(t *testing.T) string {
	t.Helper()
	wd, _ := os.Getwd()
	for dir := wd; ; dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			p := filepath.Join(dir, "..", "shared", "schemas")
			if _, err := os.Stat(p); err != nil {
				t.Fatalf("the official schemas are not at %s: %v", p, err)
			}
			return p
		}
		if filepath.Dir(dir) == dir {
			t.Fatal("no go.mod above the test's folder")
		}
	}
}

// goldenDocuments returns every XML document among the golden files.
func goldenDocuments(t *testing.T) []string {
	docs, err := filepath.Glob("*/testdata/golden/*/*.xml")
	if err != nil {
		t.Fatal(err)
	}
	if len(docs) == 0 {
		t.Fatal("no golden XML documents")
	}
	return docs
}

// TestGoldenDocumentsValid validates every golden document twice: with
// erpipe's validator and, independently, with xmllint against the
// official schema in ../shared/schemas.
func TestGoldenDocumentsValid(t *testing.T) {
	xmllint, err := exec.LookPath("xmllint")
	if err != nil {
		t.Fatal("xmllint is needed (Debian: apt-get install libxml2-utils; scripts/test.sh installs it)")
	}
	shared := sharedSchemaDir(t)
	for _, doc := range goldenDocuments(t) {
		t.Run(doc, func(t *testing.T) {
			d := etree.NewDocument()
			if err := d.ReadFromFile(doc); err != nil {
				t.Fatal(err)
			}
			ns := d.Root().SelectAttrValue("xmlns", "")
			rel, ok := sharedSchemas[ns]
			if !ok {
				t.Fatalf("no official schema known for namespace %q", ns)
			}
			schemaPath := filepath.Join(shared, rel)
			out, err := exec.Command(xmllint, "--noout", "--schema", schemaPath, doc).CombinedOutput()
			if err != nil {
				t.Errorf("xmllint: %v\n%s", err, out)
			}
			s, err := xsd.Compile(os.DirFS(filepath.Dir(schemaPath)), ".", filepath.Base(schemaPath))
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
	for _, doc := range goldenDocuments(t) {
		if !strings.HasPrefix(doc, "pain001") {
			continue
		}
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
			seen := map[string]bool{}
			for _, b := range blocks {
				id := b.FindElement("PmtInfId").Text()
				check("PmtInf "+id, b, "NbOfTxs", "CtrlSum")
				key := b.FindElement("DbtrAcct/Id/IBAN").Text() + "|" + b.FindElement("ReqdExctnDt").Text() + "|" + b.FindElement("DbtrAcct/Ccy").Text()
				if seen[key] {
					t.Errorf("two PmtInf blocks for %s", key)
				}
				seen[key] = true
				for _, a := range b.FindElements("CdtTrfTxInf/Amt/InstdAmt") {
					if a.SelectAttrValue("Ccy", "") != b.FindElement("DbtrAcct/Ccy").Text() {
						t.Errorf("PmtInf %s holds a payment in %s", id, a.SelectAttrValue("Ccy", ""))
					}
				}
			}
		})
	}
}

// TestPain001SEPA runs the SEPA cases (testdata/sepa-cases) with the
// parameter sepa set, against their golden files.
func TestPain001SEPA(t *testing.T) {
	tmpl, err := transform.Load(filepath.Join("pain001", "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	sepa, err := tmpl.WithParameters(map[string]string{"sepa": "true"})
	if err != nil {
		t.Fatal(err)
	}
	dirs, _ := filepath.Glob(filepath.Join("pain001", "testdata", "sepa-cases", "*"))
	if len(dirs) == 0 {
		t.Fatal("no SEPA cases")
	}
	for _, dir := range dirs {
		name := "sepa-" + strings.TrimPrefix(filepath.Base(dir), "sepa-")
		c := templatetest.Case{Name: name, Input: filepath.Join(dir, "input.csv"), Expect: filepath.Join("pain001", "testdata", "golden", name)}
		t.Run(name, func(t *testing.T) {
			o, err := templatetest.Run(context.Background(), sepa, c, *update)
			if err != nil {
				t.Fatal(err)
			}
			if !o.Pass {
				t.Errorf("%s differs (go test ./templates -update rewrites it):\n%s", name, o.Diff)
			}
		})
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
	broken := strings.Replace(string(base), `PmtMtd: '"TRF"'`, `PmtMtd: '"TRF"'`+"\n            Memo: '\"not in the schema\"'", 1)
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
	var fe *transform.FieldError
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
