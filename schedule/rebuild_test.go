package schedule

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/erpipe/erpipe/jobs"
	"github.com/erpipe/erpipe/workspace"
)

// TestRebuildRuns: the receipts in the archive tell a new journal which
// periods were produced, corrections included, so that none is produced
// again.
func TestRebuildRuns(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	for _, r := range []Receipt{
		{Schedule: "saft-monthly", Period: "2026-10", PeriodStart: "2026-10-01", Version: 1, Job: "20261101-060000-aaaaaa", Produced: time.Date(2026, 11, 1, 6, 0, 1, 0, time.UTC)},
		{Schedule: "saft-monthly", Period: "2026-10", PeriodStart: "2026-10-01", Version: 2, CorrectionOf: "20261101-060000-aaaaaa", Job: "20261105-090000-bbbbbb", Produced: time.Date(2026, 11, 5, 9, 0, 1, 0, time.UTC)},
		{Schedule: "saft-monthly", Period: "2026-09", PeriodStart: "2026-09-01", Version: 1, Job: "20261001-060000-cccccc", Produced: time.Date(2026, 10, 1, 6, 0, 1, 0, time.UTC)},
	} {
		p := filepath.Join(dir, "archive", r.Schedule, r.Period, r.Job, "receipt.json")
		data, _ := json.Marshal(r)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ws, err := workspace.Open(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	j, _, err := jobs.OpenWorkspaceJournal(ws, true)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	if n, err := RebuildRuns(ctx, ws, j); err != nil || n != 3 {
		t.Fatalf("recorded %d periods: %v", n, err)
	}
	if n, err := RebuildRuns(ctx, ws, j); err != nil || n != 0 {
		t.Fatalf("a second rebuild recorded %d periods: %v", n, err)
	}
	runs, _ := j.Runs(ctx)
	for period, version := range map[string]int{"2026-10": 2, "2026-09": 1} {
		r, err := runs.Latest(ctx, "saft-monthly", period)
		if err != nil || r == nil || r.Status != jobs.RunProduced || r.Version != version {
			t.Errorf("period %s: %v %+v", period, err, r)
		}
		if _, err := runs.Claim(ctx, "saft-monthly", period, "", false, "test", "x", time.Now()); err == nil {
			t.Errorf("period %s could be produced again", period)
		}
	}
}
