package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestJSON runs JSON through the daemon both ways: invoice lines dropped
// as CSV become a JSON document of invoices with their totals, checked
// against its JSON Schema; lines the schema refuses (a negative total)
// fail the job and publish nothing; and the document written, dropped
// into a template that reads JSON, gives its lines back as CSV.
func TestJSON(t *testing.T) {
	ws := newWorkspace(t)
	for _, f := range []string{"invoices-json.yaml", "invoice-lines.yaml", "invoices.schema.json"} {
		writeFile(t, filepath.Join(ws, "templates", f), readFile(t, filepath.Join("testdata", "templates", f)))
	}
	d := startDaemonEnv(t, ws, nil, "the inboxes", func(*daemon) bool {
		_, err1 := os.Stat(filepath.Join(ws, "inbox", "invoices-json"))
		_, err2 := os.Stat(filepath.Join(ws, "inbox", "invoice-lines"))
		return err1 == nil && err2 == nil
	})
	defer d.stop(t)

	in := filepath.Join(ws, "inbox", "invoices-json")
	drop(t, in, "march.csv", []byte("Company,Number,SKU,Amount,Due,Paid\nFabrikam,INV-1,A,100.10,2026-03-01,true\nFabrikam,INV-1,B,20.40,2026-03-01,true\nFabrikam,INV-2,C,0.000001,2026-03-05,no\n"))
	drop(t, in, "refund.csv", []byte("Company,Number,SKU,Amount,Due,Paid\nFabrikam,INV-3,A,-5.00,2026-03-01,true\n"))
	jobs := waitJobs(t, ws, 2)
	if j := jobs["march.csv"]; j.Status != "Processed" || j.Written != 3 {
		t.Fatalf("march.csv: %+v", j)
	}
	if j := jobs["refund.csv"]; j.Status != "Failed" || !strings.Contains(strings.Join(j.Errors, "\n"), "at '/invoices/0/total': minimum: got -5") {
		t.Fatalf("refund.csv: %+v", j)
	}
	if got := files(t, filepath.Join(ws, "outbox", "invoices-json")); len(got) != 1 || got[0] != "march.json" {
		t.Fatalf("the outbox holds %q, want march.json only", got)
	}
	doc := readFile(t, filepath.Join(ws, "outbox", "invoices-json", "march.json"))
	var parsed struct {
		Company  string
		Count    int
		Invoices []struct {
			Number string
			Paid   bool
			Total  json.Number
			Lines  []struct{ SKU string }
		}
	}
	dec := json.NewDecoder(strings.NewReader(string(doc)))
	dec.UseNumber()
	if err := dec.Decode(&parsed); err != nil {
		t.Fatalf("the document is not JSON: %v\n%s", err, doc)
	}
	if parsed.Company != "Fabrikam" || parsed.Count != 3 || len(parsed.Invoices) != 2 || parsed.Invoices[0].Total != "120.50" ||
		!parsed.Invoices[0].Paid || parsed.Invoices[1].Paid || parsed.Invoices[1].Total != "0.000001" || len(parsed.Invoices[0].Lines) != 2 {
		t.Errorf("the document: %+v\n%s", parsed, doc)
	}

	drop(t, filepath.Join(ws, "inbox", "invoice-lines"), "march.json", doc)
	jobs = waitJobs(t, ws, 3)
	if j := jobs["march.json"]; j.Status != "Processed" || j.Read != 3 {
		t.Fatalf("invoice-lines: %+v", j)
	}
	got := string(readFile(t, filepath.Join(ws, "outbox", "invoice-lines", "march.csv")))
	if want := "Company,Number,SKU,Amount\nFabrikam,INV-1,A,100.10\nFabrikam,INV-1,B,20.40\nFabrikam,INV-2,C,0.000001\n"; got != want {
		t.Errorf("the lines read back:\n%s\nwant:\n%s", got, want)
	}
}
