package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"
)

// filledPipeline runs a daemon whose one pipeline, name, has the test
// template of transform/testdata/DIR (its design files copied beside it), drops
// input (from the same folder) as dropped, waits for its job to end
// Processed, and returns the workspace and the outbox's files, sorted.
func filledPipeline(t *testing.T, dir, name, template string, design []string, input, dropped string) (string, []string) {
	t.Helper()
	if _, err := exec.LookPath("soffice"); err != nil && os.Getenv("ERPIPE_REQUIRE_OFFICE") == "" {
		t.Skip("LibreOffice is not installed (ERPIPE_REQUIRE_OFFICE makes this fail)")
	}
	src := filepath.Join("..", "transform", "testdata", dir)
	ws := t.TempDir()
	tdir := filepath.Join(ws, "templates", name)
	if err := os.MkdirAll(tdir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range append(design, template) {
		writeFile(t, filepath.Join(tdir, f), readFile(t, filepath.Join(src, f)))
	}
	writeFile(t, filepath.Join(ws, "erpipe.yaml"), []byte(`settle: 200ms
rescan: 500ms
builtin_pipelines: false
pipelines:
  - name: `+name+`
    template: templates/`+name+`/`+template+`
`))
	d := startWatching(t, ws, nil)
	drop(t, filepath.Join(ws, "inbox", name), dropped, readFile(t, filepath.Join(src, input)))
	j := waitJobs(t, ws, 1)[dropped]
	if j.Status != "Processed" {
		t.Fatalf("%s: %s %v", dropped, j.Status, j.Errors)
	}
	d.stop(t)
	got := files(t, filepath.Join(ws, "outbox", name))
	slices.Sort(got)
	return ws, got
}

// TestWorkbookPipeline: a pipeline whose template fills a workbook
// designed in Excel, one per invoice, with a PDF of each (LibreOffice),
// turns a dropped CSV file into two workbooks and two PDFs in its outbox,
// each with its invoice's lines and sums.
func TestWorkbookPipeline(t *testing.T) {
	ws, got := filledPipeline(t, "workbook", "invoices", "per-invoice.yaml", []string{"invoice.xlsx"}, "lines.csv", "november.csv")
	if want := []string{"invoice-1041.pdf", "invoice-1041.xlsx", "invoice-1042.pdf", "invoice-1042.xlsx"}; !slices.Equal(got, want) {
		t.Fatalf("outbox/invoices holds %q, want %q", got, want)
	}
	f, err := excelize.OpenFile(filepath.Join(ws, "outbox", "invoices", "invoice-1042.xlsx"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for cell, want := range map[string]string{"B3": "Müller Maschinenbau GmbH", "B4": "1042", "A9": "0150", "E12": "14"} {
		if v, _ := f.GetCellValue("Invoice", cell, excelize.Options{RawCellValue: true}); v != want {
			t.Errorf("invoice-1042.xlsx %s = %q, want %q", cell, v, want)
		}
	}
	if pdf := readFile(t, filepath.Join(ws, "outbox", "invoices", "invoice-1041.pdf")); !strings.HasPrefix(string(pdf), "%PDF-") {
		t.Errorf("invoice-1041.pdf is not a PDF: %.20q", pdf)
	}
}

// TestDocumentPipeline: a pipeline whose template fills a Word document
// designed with content controls, one remittance advice per vendor with
// its PDF, turns a dropped payment run into those documents.
func TestDocumentPipeline(t *testing.T) {
	ws, got := filledPipeline(t, "document", "remittances", "remittance.yaml", []string{"remittance.docx"}, "payments.csv", "run-2026-12-04.csv")
	if want := []string{"remittance-fabrikam-bergen-as.docx", "remittance-fabrikam-bergen-as.pdf", "remittance-litware-inc.docx", "remittance-litware-inc.pdf"}; !slices.Equal(got, want) {
		t.Fatalf("outbox/remittances holds %q, want %q", got, want)
	}
	if pdf := readFile(t, filepath.Join(ws, "outbox", "remittances", "remittance-litware-inc.pdf")); !strings.HasPrefix(string(pdf), "%PDF-") {
		t.Errorf("remittance-litware-inc.pdf is not a PDF: %.20q", pdf)
	}
}
