package transform_test

import (
	"archive/zip"
	"bytes"
	"flag"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/erpipe/erpipe/internal/office"
	"github.com/erpipe/erpipe/transform"
)

var updateDocument = flag.Bool("update-document", false, "write testdata/document/remittance.docx again")

// control is a content control tagged tag holding placeholder text.
func control(tag, placeholder string) string {
	return `<w:sdt><w:sdtPr><w:tag w:val="` + tag + `"/><w:showingPlcHdr/></w:sdtPr><w:sdtContent><w:r><w:rPr><w:rStyle w:val="PlaceholderText"/><w:b/></w:rPr><w:t>` +
		placeholder + `</w:t></w:r></w:sdtContent></w:sdt>`
}

// designRemittance writes the Word document a finance user would design
// for remittance.yaml: a title, inline content controls for the vendor and
// the payment date, a table whose line row is a content control (Lines)
// holding the Invoice and Amount controls, the total, and a paragraph
// repeated per line (Remarks, holding Remark).
func designRemittance(t *testing.T, path string) {
	t.Helper()
	cell := func(inner string) string {
		return `<w:tc><w:tcPr><w:tcW w:w="3000" w:type="dxa"/></w:tcPr><w:p>` + inner + `</w:p></w:tc>`
	}
	body := `<w:p><w:pPr><w:jc w:val="center"/></w:pPr><w:r><w:rPr><w:b/><w:sz w:val="32"/></w:rPr><w:t>Remittance advice</w:t></w:r></w:p>` +
		`<w:p><w:r><w:t xml:space="preserve">To: </w:t></w:r>` + control("Vendor", "Vendor name") + `</w:p>` +
		`<w:p><w:r><w:t xml:space="preserve">Paid on: </w:t></w:r>` + control("PayDate", "Date") + `</w:p>` +
		`<w:tbl><w:tblPr><w:tblBorders><w:top w:val="single" w:sz="4"/><w:bottom w:val="single" w:sz="4"/><w:insideH w:val="single" w:sz="4"/></w:tblBorders></w:tblPr>` +
		`<w:tblGrid><w:gridCol w:w="3000"/><w:gridCol w:w="3000"/></w:tblGrid>` +
		`<w:tr>` + cell(`<w:r><w:rPr><w:b/></w:rPr><w:t>Invoice</w:t></w:r>`) + cell(`<w:r><w:rPr><w:b/></w:rPr><w:t>Amount</w:t></w:r>`) + `</w:tr>` +
		`<w:sdt><w:sdtPr><w:tag w:val="Lines"/></w:sdtPr><w:sdtContent><w:tr>` + cell(control("Invoice", "Invoice")) + cell(control("Amount", "0.00")) + `</w:tr></w:sdtContent></w:sdt>` +
		`</w:tbl>` +
		`<w:p><w:r><w:t xml:space="preserve">Total paid: </w:t></w:r>` + control("Total", "0.00") + `</w:p>` +
		`<w:sdt><w:sdtPr><w:tag w:val="Remarks"/></w:sdtPr><w:sdtContent><w:p><w:r><w:t xml:space="preserve">- </w:t></w:r>` +
		control("Remark", "Remark") + `</w:p></w:sdtContent></w:sdt>` +
		`<w:sectPr><w:pgSz w:w="11906" w:h="16838"/><w:pgMar w:top="1440" w:right="1440" w:bottom="1440" w:left="1440"/></w:sectPr>`
	parts := map[string]string{
		"[Content_Types].xml": `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">` +
			`<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>` +
			`<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>`,
		"_rels/.rels": `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">` +
			`<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>`,
		"word/document.xml": `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>` +
			body + `</w:body></w:document>`,
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, name := range []string{"[Content_Types].xml", "_rels/.rels", "word/document.xml"} {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(w, parts[name])
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestDocumentFilled: one remittance advice per vendor, each with its
// vendor, date, a table row per invoice and the total in the design's
// formatting, no content control left, and its PDF, whose text says it.
func TestDocumentFilled(t *testing.T) {
	design := filepath.Join("testdata", "document", "remittance.docx")
	if *updateDocument {
		designRemittance(t, design)
	}
	if _, err := office.Binary(); err != nil && os.Getenv("ERPIPE_REQUIRE_OFFICE") == "" {
		t.Skip("LibreOffice is not installed; PDFs cannot be made (ERPIPE_REQUIRE_OFFICE makes this fail)")
	}
	dir := t.TempDir()
	for _, f := range []string{"remittance.yaml", "remittance.docx"} {
		b, err := os.ReadFile(filepath.Join("testdata", "document", f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tmpl, err := transform.Load(filepath.Join(dir, "remittance.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	res, err := tmpl.RunWith(t.Context(), filepath.Join("testdata", "document", "payments.csv"), out, transform.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, o := range res.Outputs {
		names = append(names, filepath.Base(o))
	}
	slices.Sort(names)
	if want := []string{"remittance-fabrikam-bergen-as.docx", "remittance-fabrikam-bergen-as.pdf", "remittance-litware-inc.docx", "remittance-litware-inc.pdf"}; !slices.Equal(names, want) {
		t.Fatalf("outputs %q, want %q", names, want)
	}
	xmlText := documentXML(t, filepath.Join(out, "remittance-litware-inc.docx"))
	golden := filepath.Join("testdata", "document", "golden-litware.xml")
	if *updateDocument {
		if err := os.WriteFile(golden, []byte(xmlText), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if want, err := os.ReadFile(golden); err != nil || string(want) != xmlText {
		t.Errorf("the Litware document's XML differs from %s (%v; run with -update-document if it should):\n%s", golden, err, xmlText)
	}
	for _, want := range []string{">Litware Inc<", ">04.12.2026<", ">INV-2207<", ">INV-2213<", ">1,250.00<", ">99.95<", ">1,349.95<", "<w:b/>",
		">INV-2207 is paid in full<"} {
		if !strings.Contains(xmlText, want) {
			t.Errorf("the Litware document lacks %s", want)
		}
	}
	for _, gone := range []string{"sdt", "Vendor name", "PlaceholderText", "Fabrikam", ">Remark<", "INV-2213 is paid"} {
		if strings.Contains(xmlText, gone) {
			t.Errorf("the Litware document still has %q", gone)
		}
	}
	if n := strings.Count(xmlText, "<w:tr>"); n != 3 {
		t.Errorf("the Litware table has %d rows, want the header and 2 lines", n)
	}
	text := pdfText(t, filepath.Join(out, "remittance-fabrikam-bergen-as.pdf"))
	for _, want := range []string{"Remittance advice", "Fabrikam Bergen AS", "F-77", "15,000.50", "Total paid"} {
		if !strings.Contains(text, want) {
			t.Errorf("the Fabrikam PDF does not say %q:\n%s", want, text)
		}
	}
}

// documentXML is a .docx's word/document.xml.
func documentXML(t *testing.T, path string) string {
	t.Helper()
	zr, err := zip.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	for _, f := range zr.File {
		if f.Name == "word/document.xml" {
			rc, err := f.Open()
			if err != nil {
				t.Fatal(err)
			}
			defer rc.Close()
			b, _ := io.ReadAll(rc)
			return string(b)
		}
	}
	t.Fatalf("%s has no word/document.xml", path)
	return ""
}
