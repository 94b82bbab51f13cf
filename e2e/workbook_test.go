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

// TestWorkbookPipeline: a pipeline whose template fills a workbook
// designed in Excel, one per invoice, with a PDF of each (LibreOffice),
// turns a dropped CSV file into two workbooks and two PDFs in its outbox,
// each with its invoice's lines and sums.
func TestWorkbookPipeline(t *testing.T) {
	if _, err := exec.LookPath("soffice"); err != nil && os.Getenv("ERPIPE_REQUIRE_OFFICE") == "" {
		t.Skip("LibreOffice is not installed (ERPIPE_REQUIRE_OFFICE makes this fail)")
	}
	ws := t.TempDir()
	tdir := filepath.Join(ws, "templates", "invoices")
	if err := os.MkdirAll(tdir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"per-invoice.yaml", "invoice.xlsx"} {
		writeFile(t, filepath.Join(tdir, f), readFile(t, filepath.Join("..", "transform", "testdata", "workbook", f)))
	}
	writeFile(t, filepath.Join(ws, "erpipe.yaml"), []byte(`settle: 200ms
rescan: 500ms
builtin_pipelines: false
pipelines:
  - name: invoices
    template: templates/invoices/per-invoice.yaml
`))
	d := startDaemonEnv(t, ws, nil, "the daemon to watch its inboxes", func(d *daemon) bool {
		return strings.Contains(d.logs.String(), "watching inboxes")
	})
	drop(t, filepath.Join(ws, "inbox", "invoices"), "november.csv", readFile(t, filepath.Join("..", "transform", "testdata", "workbook", "lines.csv")))
	byInput := waitJobs(t, ws, 1)
	j := byInput["november.csv"]
	if j.Status != "Processed" {
		t.Fatalf("november.csv: %s %v", j.Status, j.Errors)
	}
	d.stop(t)
	got := files(t, filepath.Join(ws, "outbox", "invoices"))
	slices.Sort(got)
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
	if _, err := exec.LookPath("soffice"); err != nil && os.Getenv("ERPIPE_REQUIRE_OFFICE") == "" {
		t.Skip("LibreOffice is not installed (ERPIPE_REQUIRE_OFFICE makes this fail)")
	}
	ws := t.TempDir()
	tdir := filepath.Join(ws, "templates", "remittance")
	if err := os.MkdirAll(tdir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"remittance.yaml", "remittance.docx"} {
		writeFile(t, filepath.Join(tdir, f), readFile(t, filepath.Join("..", "transform", "testdata", "document", f)))
	}
	writeFile(t, filepath.Join(ws, "erpipe.yaml"), []byte(`settle: 200ms
rescan: 500ms
builtin_pipelines: false
pipelines:
  - name: remittances
    template: templates/remittance/remittance.yaml
`))
	d := startDaemonEnv(t, ws, nil, "the daemon to watch its inboxes", func(d *daemon) bool {
		return strings.Contains(d.logs.String(), "watching inboxes")
	})
	drop(t, filepath.Join(ws, "inbox", "remittances"), "run-2026-12-04.csv", readFile(t, filepath.Join("..", "transform", "testdata", "document", "payments.csv")))
	j := waitJobs(t, ws, 1)["run-2026-12-04.csv"]
	if j.Status != "Processed" {
		t.Fatalf("run-2026-12-04.csv: %s %v", j.Status, j.Errors)
	}
	d.stop(t)
	got := files(t, filepath.Join(ws, "outbox", "remittances"))
	slices.Sort(got)
	if want := []string{"remittance-fabrikam-bergen-as.docx", "remittance-fabrikam-bergen-as.pdf", "remittance-litware-inc.docx", "remittance-litware-inc.pdf"}; !slices.Equal(got, want) {
		t.Fatalf("outbox/remittances holds %q, want %q", got, want)
	}
	if pdf := readFile(t, filepath.Join(ws, "outbox", "remittances", "remittance-litware-inc.pdf")); !strings.HasPrefix(string(pdf), "%PDF-") {
		t.Errorf("remittance-litware-inc.pdf is not a PDF: %.20q", pdf)
	}
}
