package cli

import (
	"strings"
	"testing"
	"time"

	"github.com/erpipe/erpipe/jobs"
	"github.com/erpipe/erpipe/schedule"
	"github.com/erpipe/erpipe/transform"
)

// TestScheduleListWarnings: erpipe schedule list says when a schedule's
// last run produced its period with warnings (a period without
// transactions), and says nothing of them once a later run is clean.
func TestScheduleListWarnings(t *testing.T) {
	s := &schedule.Schedule{Name: "saft-monthly", Template: &transform.Template{Name: "saft-no", Version: "1.3.0"},
		CronText: "0 6 1 * *", Location: time.UTC, Rule: schedule.PreviousMonth}
	at := time.Date(2026, 11, 1, 6, 0, 0, 0, time.UTC)
	warned := &jobs.Job{ID: "20261101-060000-aaaaaa", Status: jobs.Processed, Warnings: 1,
		WarningTexts: []string{"ledger.csv: row 2: rule transactions-in-period (warning): The period has no transactions;\nno Line row is dated in it"}}
	for _, tt := range []struct {
		name string
		last *jobs.Job
		want []string
		not  []string
	}{
		{"warned", warned, []string{"2026-10 Produced 2026-11-01 06:00 (1 warning)",
			"WARNING saft-monthly 2026-10 (job 20261101-060000-aaaaaa; erpipe jobs show 20261101-060000-aaaaaa lists them): ledger.csv: row 2: rule transactions-in-period (warning): The period has no transactions; no Line row is dated in it\n"}, nil},
		{"clean", &jobs.Job{ID: "20261101-060000-aaaaaa", Status: jobs.Processed}, []string{"2026-10 Produced 2026-11-01 06:00  "}, []string{"WARNING", "warning"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			o := schedule.Overview{Schedule: s, NextRun: at.AddDate(0, 1, 0), NextPeriod: schedule.Period{Name: "2026-11"},
				Last:    &jobs.Run{Schedule: s.Name, Period: "2026-10", Status: jobs.RunProduced, Job: tt.last.ID, Updated: at},
				LastJob: tt.last}
			var b strings.Builder
			printSchedules(&b, []schedule.Overview{o})
			for _, w := range tt.want {
				if !strings.Contains(b.String(), w) {
					t.Errorf("schedule list has no %q:\n%s", w, b.String())
				}
			}
			for _, w := range tt.not {
				if strings.Contains(b.String(), w) {
					t.Errorf("schedule list says %q:\n%s", w, b.String())
				}
			}
		})
	}
}
