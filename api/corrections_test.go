package api

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/erpipe/erpipe/jobs"
)

// TestCorrectWorkbook: a workbook with a row left out (its Name blank,
// below a title) gets a rejected-rows workbook; the row sent back
// corrected becomes customers-corrected.xlsx, a job of its own that is
// Processed, and the first job stays as it was. What cannot be a
// correction is refused with the reason.
func TestCorrectWorkbook(t *testing.T) {
	e := newEnv(t, tokenYAML([3]string{"op", "high", ""}))
	rows, err := csv.NewReader(bytes.NewReader(sample(t))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	rows = rows[:4] // the header and three customers
	rows[2][1] = "" // the second customer's Name
	book := excelize.NewFile()
	book.SetSheetName("Sheet1", "Customers")
	book.SetCellStr("Customers", "A1", "Customers exported 2026-12-01")
	for r, row := range rows {
		for c, v := range row {
			cell, _ := excelize.CoordinatesToCellName(c+1, r+3)
			book.SetCellStr("Customers", cell, v)
		}
	}
	var xb bytes.Buffer
	if err := book.Write(&xb); err != nil {
		t.Fatal(err)
	}
	code, _, b := e.do("POST", "/api/v1/pipelines/customers-v3/jobs?name=customers.xlsx", "op-token", &xb)
	var first jobView
	if code != http.StatusAccepted || json.Unmarshal(b, &first) != nil {
		t.Fatalf("upload: %d %s", code, b)
	}
	first = e.waitJob(first.ID, "op-token")
	if first.Status != jobs.ProcessedWithErrors || first.RowsRejected != 1 || first.Rejected == "" {
		t.Fatalf("the workbook's job: %+v", first)
	}
	// The rejected row, as the rejected-rows workbook holds it.
	code, _, b = e.do("GET", first.Rejected, "op-token", nil)
	if code != 200 {
		t.Fatalf("rejected rows: %d %s", code, b)
	}
	rej, err := excelize.OpenReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	got, _ := rej.GetRows(rej.GetSheetName(0))
	row := got[len(got)-1]
	if row[0] != rows[2][0] || row[len(row)-1] == "" {
		t.Fatalf("the rejected row is %q", row)
	}
	fixed := append([]string(nil), row[:len(row)-1]...)
	fixed[1] = "Corrected Customer Name"

	send := func(body string, key string) (int, []byte) {
		code, _, b := e.do("POST", "/api/v1/jobs/"+first.ID+"/corrections", "op-token", strings.NewReader(body),
			"Content-Type", "application/json", "Idempotency-Key", key)
		return code, b
	}
	for _, c := range []struct{ body, code string }{
		{`{"rows": [`, "bad_correction"},
		{`{"rows": []}`, "bad_correction"},
		{`{"rows": [["a","b","c","d","e","f","g","h","i","j","k","l","m","n","o","p","q"]]}`, "bad_correction"},
	} {
		if code, b := send(c.body, ""); code != http.StatusBadRequest || !strings.Contains(string(b), c.code) {
			t.Errorf("%s: %d %s, want 400 %s", c.body, code, b, c.code)
		}
	}
	body, _ := json.Marshal(correctionRequest{Rows: [][]string{fixed}})
	code, b = send(string(body), "fix-1")
	var corr jobView
	if code != http.StatusAccepted || json.Unmarshal(b, &corr) != nil {
		t.Fatalf("the correction: %d %s", code, b)
	}
	corr = e.waitJob(corr.ID, "op-token")
	if corr.Status != jobs.Processed || corr.RowsWritten != 1 || corr.Input != "customers-corrected.xlsx" || corr.ID == first.ID {
		t.Errorf("the corrected job: %+v", corr)
	}
	if code, b := send(string(body), "fix-1"); code != http.StatusOK || !strings.Contains(string(b), corr.ID) {
		t.Errorf("the same correction again: %d %s, want the job it made", code, b)
	}
	if again := e.waitJob(first.ID, "op-token"); again.Status != jobs.ProcessedWithErrors {
		t.Errorf("the first job is now %s", again.Status)
	}

	// A CSV's rejected rows are sent as a file, not here.
	csvData := []byte(strings.Join([]string{strings.Join(rows[0], ","), "US-009,,10,USD,USA,,,,,,,,,,"}, "\n") + "\n")
	code, _, b = e.do("POST", "/api/v1/pipelines/customers-v3/jobs?name=bad.csv", "op-token", bytes.NewReader(csvData))
	var csvJob jobView
	if code != http.StatusAccepted || json.Unmarshal(b, &csvJob) != nil {
		t.Fatalf("csv upload: %d %s", code, b)
	}
	csvJob = e.waitJob(csvJob.ID, "op-token")
	code, _, b = e.do("POST", "/api/v1/jobs/"+csvJob.ID+"/corrections", "op-token", bytes.NewReader(body), "Content-Type", "application/json")
	if code != http.StatusConflict || !strings.Contains(string(b), "not_workbook") {
		t.Errorf("a CSV job's correction: %d %s, want 409 not_workbook", code, b)
	}
}
