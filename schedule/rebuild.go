package schedule

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/erpipe/erpipe/jobs"
	"github.com/erpipe/erpipe/workspace"
)

// RebuildRuns records in the journal j, as produced, every period whose
// receipt is in the archive (archive/<schedule>/<period>/<job id>/
// receipt.json) and that j does not know produced, so that a new journal
// (jobs.OpenWorkspaceJournal) does not produce a submitted period again.
// It returns how many periods it recorded.
func RebuildRuns(ctx context.Context, ws *workspace.Workspace, j *jobs.Journal) (int, error) {
	paths, _ := filepath.Glob(filepath.Join(ws.Root, "archive", "*", "*", "*", "receipt.json"))
	var receipts []Receipt
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			return 0, err
		}
		var r Receipt
		if err := json.Unmarshal(data, &r); err != nil || r.Schedule == "" || r.Period == "" {
			return 0, fmt.Errorf("%s is not a receipt of a scheduled submission: %v", p, err)
		}
		receipts = append(receipts, r)
	}
	// Versions in order: a correction is recorded on top of what it corrects.
	slices.SortFunc(receipts, func(a, b Receipt) int {
		return cmp.Or(cmp.Compare(a.Schedule, b.Schedule), cmp.Compare(a.Period, b.Period), cmp.Compare(a.Version, b.Version))
	})
	runs, err := j.Runs(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, r := range receipts {
		if prev, err := runs.Latest(ctx, r.Schedule, r.Period); err != nil {
			return n, err
		} else if prev != nil && prev.Version >= r.Version && prev.Status == jobs.RunProduced {
			continue
		}
		run, err := runs.Claim(ctx, r.Schedule, r.Period, r.PeriodStart, r.Version > 1, "rebuilt from the archive", r.Job, r.Produced)
		if err != nil {
			return n, fmt.Errorf("schedule %s period %s: %w", r.Schedule, r.Period, err)
		}
		run.Status, run.Updated = jobs.RunProduced, r.Produced
		if err := runs.Finish(ctx, run); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}
