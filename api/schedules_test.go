package api

import (
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/erpipe/erpipe/schedule"
)

// scheduleEnv is newEnv with a schedule, saft-monthly (saft-no over
// data/ledger/*.csv, the template's sample ledger of January 2026), run
// by a schedule.Runner whose clock says 10 February 2026, and clients
// viewer-token and operator-token.
func scheduleEnv(t *testing.T) *testEnv {
	t.Helper()
	yaml := rolesYAML() + `schedules:
  - name: saft-monthly
    template: saft-no
    cron: "0 6 1 * *"
    time_zone: Europe/Oslo
    period: previous-month
    input:
      files: data/ledger/*.csv
`
	e := newEnv(t, yaml)
	ledger, err := os.ReadFile("../templates/saft-no/samples/ledger.csv")
	if err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(e.ws, "data", "ledger"), 0o755)
	if err := os.WriteFile(filepath.Join(e.ws, "data", "ledger", "ledger.csv"), ledger, 0o644); err != nil {
		t.Fatal(err)
	}
	ws := e.svc.Workspace()
	list, err := schedule.Load(ws)
	if err != nil {
		t.Fatal(err)
	}
	r, err := schedule.NewRunner(t.Context(), ws, e.svc.Journal(), e.api.log, list)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 2, 10, 9, 0, 0, 0, time.UTC)
	r.Now = func() time.Time { return now }
	e.api.runner = r
	return e
}

func TestSchedulesPeriodsCorrection(t *testing.T) {
	e := scheduleEnv(t)
	get := func(path string, v any) {
		t.Helper()
		code, _, b := e.do("GET", path, "viewer-token", nil)
		if code != 200 || json.Unmarshal(b, v) != nil {
			t.Fatalf("GET %s: %d %s", path, code, b)
		}
	}
	var list struct{ Schedules []scheduleView }
	get("/api/v1/schedules", &list)
	if len(list.Schedules) != 1 || list.Schedules[0].Period != "2026-01" || list.Schedules[0].Counts["Produced"] != 0 || list.Schedules[0].Periods != "/api/v1/schedules/saft-monthly" {
		t.Fatalf("schedules: %+v", list.Schedules)
	}
	run := "/api/v1/schedules/saft-monthly/run?period=2026-01"
	// A viewer may not run it.
	if code, _, b := e.do("POST", run, "viewer-token", nil); code != 403 {
		t.Errorf("a viewer runs a period: %d %s", code, b)
	}
	code, _, b := e.do("POST", run, "operator-token", nil)
	var job jobView
	if code != 200 || json.Unmarshal(b, &job) != nil || job.Status != "Processed" || job.Period != "2026-01" {
		t.Fatalf("run 2026-01: %d %s", code, b)
	}
	// Once produced, again is refused; a correction needs a reason.
	if code, _, b := e.do("POST", run, "operator-token", nil); code != 409 || !strings.Contains(string(b), "force=true") {
		t.Errorf("run 2026-01 again: %d %s", code, b)
	}
	if code, _, b := e.do("POST", run+"&force=true", "operator-token", nil); code != 400 || !strings.Contains(string(b), "reason_required") {
		t.Errorf("a correction without a reason: %d %s", code, b)
	}
	reason := "the January ledger was exported before the last invoices were posted"
	code, _, b = e.do("POST", run+"&force=true&reason="+url.QueryEscape(reason), "operator-token", nil)
	var fix jobView
	if code != 200 || json.Unmarshal(b, &fix) != nil || fix.Status != "Processed" || !strings.Contains(strings.Join(fix.Notes, " "), "asked for by client operator: "+reason) {
		t.Fatalf("the correction: %d %s", code, b)
	}
	var one struct {
		Schedule scheduleView
		Periods  []periodView
	}
	get("/api/v1/schedules/saft-monthly", &one)
	if one.Schedule.Counts["Produced"] != 1 || len(one.Periods) != 1 {
		t.Fatalf("the schedule: %+v", one)
	}
	p := one.Periods[0]
	if p.Period != "2026-01" || p.Version != 2 || p.Job != fix.ID || p.CorrectionOf != job.ID || len(p.Versions) != 2 || p.Versions[0].Job != job.ID || p.Receipt == "" {
		t.Errorf("period 2026-01: %+v", p)
	}
	code, _, b = e.do("GET", p.Receipt, "viewer-token", nil)
	var rc schedule.Receipt
	if code != 200 || json.Unmarshal(b, &rc) != nil || rc.Reason != reason || rc.RequestedBy != "client operator" || rc.Version != 2 {
		t.Errorf("the correction's receipt: %d %s", code, b)
	}
	if code, _, _ := e.do("GET", "/api/v1/schedules/nothing", "viewer-token", nil); code != 404 {
		t.Errorf("an unknown schedule: %d", code)
	}
}
