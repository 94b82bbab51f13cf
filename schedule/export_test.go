package schedule

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/erpipe/erpipe/d365/emulator"
	"github.com/erpipe/erpipe/formats/dmf"
	"github.com/erpipe/erpipe/jobs"
)

// ledgerExport is an exported package of one entity, the ledger lines.
func ledgerExport(t *testing.T, rows ...[]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := dmf.NewWriter(&buf, dmf.Options{DefinitionGroup: "Ledger export"}, []dmf.Entity{
		{Name: "Ledger lines", Target: "LedgerLineEntity", Columns: []string{"Date", "Account", "Amount", "Text"}, SourceFormat: dmf.CSV},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if err := w.Write(0, r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// exportSchedule is a monthly schedule over the entity "Ledger lines" of
// the export data project "Ledger export" of the emulator s.
func exportSchedule(t *testing.T, s *emulator.Server, ca string) string {
	t.Helper()
	t.Setenv("ERPIPE_D365_CLIENT_SECRET", s.ClientSecret())
	return fmt.Sprintf(`  - name: ledger-monthly
    template: ledger-period
    cron: "0 6 1 * *"
    period: previous-month
    input:
      d365:
        environment: %s
        authority_host: %s
        tenant: %s
        client_id: %s
        ca_file: %s
        definition_group: Ledger export
        legal_entity: USMF
        entity: Ledger lines
    parameters: {company: "912345678"}
`, s.URL(), s.URL(), s.Tenant(), s.ClientID(), ca)
}

// TestScheduleFromD365Export: a period's input is the entity's data file
// of an export run for that run alone; the receipt names the export; an
// export without the entity's rows is an empty period, and a failed one
// fails the run with D365's words.
func TestScheduleFromD365Export(t *testing.T) {
	pkg := ledgerExport(t, []string{"2026-09-01", "1920", "10.50", "September 1"}, []string{"2026-09-30", "3000", "-20.25", "September 30"},
		[]string{"2026-10-01", "1920", "7.00", "October 1"})
	ca := filepath.Join(t.TempDir(), "ca.pem")
	s := emulator.New(emulator.Options{CAFile: ca, QueueTime: 20 * time.Millisecond, ExecuteTime: 50 * time.Millisecond,
		ExportPackages: map[string][]byte{"Ledger export": pkg}})
	if err := s.Start(""); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	r, now := testWorkspace(t, exportSchedule(t, s, ca), nil)
	ctx := context.Background()
	*now = time.Date(2026, 10, 2, 0, 0, 0, 0, time.UTC)
	p, _ := r.schedules[0].Rule.Parse("2026-09")
	job, err := r.Produce(ctx, r.schedules[0], p, false)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(job.FinalPath)
	want := "PERIOD,DATE,ACCOUNT,AMOUNT,TEXT\n2026-09,2026-09-01,1920,10.50,September 1\n2026-09,2026-09-30,3000,-20.25,September 30\n"
	if err != nil || string(got) != want {
		t.Errorf("the submission holds %q, %v; want %q", got, err, want)
	}
	if filepath.Base(job.FinalPath) != "LEDGER_912345678_2026-09.csv" {
		t.Errorf("the submission is %s", job.FinalPath)
	}
	exec, ok := s.Execution("erpipe-" + job.ID)
	if !ok || !strings.EqualFold(exec.DefinitionGroup, "Ledger export") {
		t.Errorf("the emulator has no export erpipe-%s of Ledger export: %+v", job.ID, exec)
	}
	var rc Receipt
	b, _ := os.ReadFile(job.Submission.Receipt)
	if err := json.Unmarshal(b, &rc); err != nil {
		t.Fatal(err)
	}
	if len(rc.Inputs) != 1 || rc.Inputs[0].Path != "d365:Ledger export/erpipe-"+job.ID+"/Ledger lines.csv" || rc.Inputs[0].SHA256 == "" {
		t.Errorf("the receipt's inputs: %+v", rc.Inputs)
	}
	if list, _ := os.ReadDir(filepath.Join(r.ws.State(), "submissions")); len(list) != 0 {
		t.Errorf("the work folder was left behind: %v", list)
	}

	// An export that has no rows of the entity: the period has no data.
	s.SetExportPackage("Ledger export", without(t, pkg, "Ledger lines.csv"))
	p, _ = r.schedules[0].Rule.Parse("2026-08")
	_, err = r.Produce(ctx, r.schedules[0], p, false)
	if err == nil || !strings.Contains(err.Error(), "no input data for period 2026-08") || !strings.Contains(err.Error(), `entity "Ledger lines" of the D365 export`) {
		t.Errorf("an export without rows: %v", err)
	}

	// An export that fails.
	s.SetExportPackage("Ledger export", []byte("not a package"))
	p, _ = r.schedules[0].Rule.Parse("2026-07")
	job, err = r.Produce(ctx, r.schedules[0], p, false)
	if err == nil || !strings.Contains(err.Error(), "ended Failed") {
		t.Errorf("a failed export: %v", err)
	}
	if job == nil || job.Status != jobs.Failed {
		t.Errorf("the job of a failed export: %+v", job)
	}
}

// without returns pkg without its zip entry name.
func without(t *testing.T, pkg []byte, name string) []byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(pkg), int64(len(pkg)))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range zr.File {
		if f.Name == name {
			continue
		}
		if err := zw.Copy(f); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
