package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/erpipe/erpipe/d365/emulator"
	"github.com/erpipe/erpipe/formats/dmf"
)

// dmfPackage is a data package of one entity with the given columns and
// rows, as D365 exports one.
func dmfPackage(t *testing.T, project, entity string, columns []string, rows [][]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := dmf.NewWriter(&buf, dmf.Options{DefinitionGroup: project}, []dmf.Entity{
		{Name: entity, Target: strings.ReplaceAll(entity, " ", "") + "Entity", Columns: columns, SourceFormat: dmf.CSV},
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

// d365Conn is a D365 connection to the emulator s in erpipe.yaml, indented
// by indent.
func d365Conn(s *emulator.Server, ca, indent string) string {
	return strings.ReplaceAll(fmt.Sprintf("environment: %s\nauthority_host: %s\nca_file: %s\ntenant: %s\nclient_id: %s",
		s.URL(), s.URL(), ca, s.Tenant(), s.ClientID()), "\n", "\n"+indent)
}

// TestD365ExportSchedule: a monthly SAF-T submission whose ledger is an
// export data project of (emulated) D365: erpipe schedule run exports it
// for the period, takes the ledger entity's data file, and produces the
// period's SAF-T file; the receipt names the export.
func TestD365ExportSchedule(t *testing.T) {
	var rows [][]string
	for _, line := range strings.Split(strings.TrimSpace(ledgerMaster+ledgerLines(ledgerTxs...)), "\n") {
		rows = append(rows, strings.Split(line, ","))
	}
	pkg := dmfPackage(t, "General ledger export", "SAF-T ledger", saftColumns, rows)
	s, ca := startD365(t, emulator.Options{QueueTime: 50 * time.Millisecond, ExecuteTime: 200 * time.Millisecond,
		ExportPackages: map[string][]byte{"General ledger export": pkg}})
	ws := t.TempDir()
	writeFile(t, filepath.Join(ws, "erpipe.yaml"), []byte(`builtin_pipelines: false
schedules:
  - name: saft-monthly
    template: saft-no
    cron: "0 6 1 * *"
    time_zone: Europe/Oslo
    period: previous-month
    input:
      d365:
        `+d365Conn(s, ca, "        ")+`
        definition_group: General ledger export
        legal_entity: USMF
        entity: SAF-T ledger
`))
	t.Setenv("ERPIPE_D365_CLIENT_SECRET", s.ClientSecret())
	_, errOut, code := erpipeAt(t, "2026-11-03T01:00:00Z", "schedule", "run", "saft-monthly", "--period", "2026-10", "--workspace", ws)
	if code != 0 {
		t.Fatalf("schedule run: exit %d: %s", code, errOut)
	}
	subs := submissions(t, ws)
	if len(subs) != 1 || subs[0].Status != "Processed" {
		t.Fatalf("submissions: %+v", subs)
	}
	sub := subs[0]
	checkTransactions(t, filepath.Join(ws, "outbox", "saft-monthly", "SAF-T_2026-10.xml"), "2026-10", ledgerTxs)
	var rc receipt
	if err := json.Unmarshal(readFile(t, filepath.Join(ws, "archive", "saft-monthly", "2026-10", sub.ID, "receipt.json")), &rc); err != nil {
		t.Fatal(err)
	}
	if len(rc.Inputs) != 1 || rc.Inputs[0].Path != "d365:General ledger export/erpipe-"+sub.ID+"/SAF-T ledger.csv" {
		t.Errorf("the receipt's inputs: %+v", rc.Inputs)
	}
	if e, ok := s.Execution("erpipe-" + sub.ID); !ok || e.LegalEntity != "USMF" {
		t.Errorf("no export erpipe-%s in the emulator (%+v)", sub.ID, e)
	}
	out, _, _ := erpipe(t, "jobs", "show", sub.ID, "--workspace", ws)
	contains(t, "jobs show", out, "d365:General ledger export/erpipe-"+sub.ID)
	if strings.Contains(out+errOut, s.ClientSecret()) {
		t.Error("the client secret shows in the output")
	}
}

// TestD365ExportSource: a pipeline whose source is a recurring export job
// of (emulated) D365 takes each file D365 puts on the job's queue into its
// inbox, runs it (dmf-unpack: a package becomes CSV files), and acks it
// once, each message dequeued once. (A file D365 hands out again after a
// crash before its ack is acked and not taken twice: inbox/d365's
// TestPoller.)
func TestD365ExportSource(t *testing.T) {
	s, ca := startD365(t, emulator.Options{VisibilityTimeout: 2 * time.Second})
	act := emulator.DefaultActivities[1]
	if !act.Export || !act.Package {
		t.Fatalf("the emulator's second default activity is not a package export job: %+v", act)
	}
	ws := t.TempDir()
	writeFile(t, filepath.Join(ws, "erpipe.yaml"), []byte(`settle: 200ms
rescan: 500ms
builtin_pipelines: false
pipelines:
  - name: exports
    template: dmf-unpack
    source:
      d365:
        `+d365Conn(s, ca, "        ")+`
        activity_id: "`+act.ID+`"
        every: 200ms
`))
	env := append(os.Environ(), "ERPIPE_D365_CLIENT_SECRET="+s.ClientSecret())
	customers := dmfPackage(t, "Customer export", "Customers V3", []string{"CUSTOMERACCOUNT", "ORGANIZATIONNAME"},
		[][]string{{"US-001", "Contoso Retail"}, {"US-002", "Fabrikam"}})
	vendors := dmfPackage(t, "Vendor export", "Vendors V2", []string{"VENDORACCOUNTNUMBER", "VENDORORGANIZATIONNAME"},
		[][]string{{"V-1", "Litware"}})
	// Each message's file becomes a CSV file of its entity.
	want := map[string]string{} // message id → the CSV file dmf-unpack makes
	for entity, pkg := range map[string][]byte{"Customers V3": customers, "Vendors V2": vendors} {
		id, err := s.Publish(act.ID, strings.ToLower(entity)+".zip", pkg)
		if err != nil {
			t.Fatal(err)
		}
		want[strings.ToLower(id)] = "d365-" + strings.ToLower(id) + "-" + entity + ".csv"
	}
	d := startWatching(t, ws, env)
	byInput := waitJobs(t, ws, 2)
	for id := range want {
		j, ok := byInput["d365-"+id+".zip"]
		if !ok || j.Status != "Processed" {
			t.Errorf("message %s: job %+v", id, j)
		}
	}
	waitFor(t, 10*time.Second, "both messages to be acked", func() bool {
		for _, m := range s.Messages() {
			if !m.Acked {
				return false
			}
		}
		return true
	})
	d.stop(t)
	var got, wantFiles []string
	for _, f := range files(t, filepath.Join(ws, "outbox", "exports")) {
		if strings.HasSuffix(f, ".csv") {
			got = append(got, f)
		}
	}
	for _, f := range want {
		wantFiles = append(wantFiles, f)
	}
	slices.Sort(got)
	slices.Sort(wantFiles)
	if !slices.Equal(got, wantFiles) {
		t.Errorf("outbox/exports holds the CSV files %q; want %q", got, wantFiles)
	}
	for _, f := range got {
		if strings.Contains(f, "Customers") && !bytes.Contains(readFile(t, filepath.Join(ws, "outbox", "exports", f)), []byte("Contoso Retail")) {
			t.Errorf("%s does not hold the exported rows", f)
		}
	}
	for _, m := range s.Messages() {
		if m.Dequeues != 1 {
			t.Errorf("message %s was dequeued %d times", m.ID, m.Dequeues)
		}
	}
	if n := len(listJobs(t, ws)); n != 2 {
		t.Errorf("%d jobs, want 2", n)
	}
}
