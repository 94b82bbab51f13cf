package jobs

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestScheduleRunsClaim checks the exactly-once bookkeeping of scheduled
// periods: one claim at a time, a produced period refused unless forced,
// a forced run a new version correcting the last, failed and due periods
// claimed again.
func TestScheduleRunsClaim(t *testing.T) {
	ctx := context.Background()
	j, err := OpenJournal(filepath.Join(t.TempDir(), "journal.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	runs, err := j.Runs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 3, 0, 0, 0, 0, time.UTC)
	if added, err := runs.Plan(ctx, "s", []Run{{Period: "2026-09", Start: "2026-09-01", Due: now}, {Period: "2026-10", Start: "2026-10-01", Due: now}}, now); err != nil || strings.Join(added, " ") != "2026-09 2026-10" {
		t.Fatalf("plan: %q, %v", added, err)
	}
	if checked, ok, _ := runs.Checked(ctx, "s"); !ok || !checked.Equal(now) {
		t.Errorf("checked = %v %v", checked, ok)
	}
	if _, ok, err := runs.NextAttempt(ctx); ok || err != nil {
		t.Errorf("NextAttempt before any failure: %v, %v", ok, err)
	}
	pending, _ := runs.Pending(ctx, "s", now)
	if len(pending) != 2 || pending[0].Period != "2026-09" || pending[0].Status != RunDue {
		t.Fatalf("pending = %+v", pending)
	}
	r1, err := runs.Claim(ctx, "s", "2026-09", "2026-09-01", false, "1@h", "job1", now)
	if err != nil || r1.Version != 1 || r1.Attempts != 1 || r1.Status != RunRunning {
		t.Fatalf("claim = %+v, %v", r1, err)
	}
	if _, err := runs.Claim(ctx, "s", "2026-09", "2026-09-01", true, "2@h", "job2", now); !errors.Is(err, ErrRunning) {
		t.Errorf("second claim while running: %v", err)
	}
	// It fails; the retry comes at NextAttempt.
	r1.Status, r1.Error, r1.NextAttempt = RunFailed, "boom", now.Add(time.Minute)
	if err := runs.Finish(ctx, r1); err != nil {
		t.Fatal(err)
	}
	if next, ok, err := runs.NextAttempt(ctx); err != nil || !ok || !next.Equal(now.Add(time.Minute)) {
		t.Errorf("NextAttempt = %v, %v, %v; want %v", next, ok, err, now.Add(time.Minute))
	}
	if pending, _ := runs.Pending(ctx, "s", now); len(pending) != 1 || pending[0].Period != "2026-10" {
		t.Errorf("pending before the retry = %+v", pending)
	}
	if pending, _ := runs.Pending(ctx, "s", now.Add(time.Minute)); len(pending) != 2 {
		t.Errorf("pending at the retry = %+v", pending)
	}
	// Times compare as text in the database: half a second later is later.
	if pending, _ := runs.Pending(ctx, "s", now.Add(time.Minute+500*time.Millisecond)); len(pending) != 2 {
		t.Errorf("pending half a second after the retry = %+v", pending)
	}
	r2, err := runs.Claim(ctx, "s", "2026-09", "2026-09-01", false, "1@h", "job3", now)
	if err != nil || r2.Version != 1 || r2.Attempts != 2 || r2.Job != "job3" {
		t.Fatalf("retry claim = %+v, %v", r2, err)
	}
	r2.Status = RunProduced
	if err := runs.Finish(ctx, r2); err != nil {
		t.Fatal(err)
	}
	var ce *ClaimError
	if _, err := runs.Claim(ctx, "s", "2026-09", "2026-09-01", false, "1@h", "job4", now); !errors.Is(err, ErrProduced) || !errors.As(err, &ce) || ce.Run.Job != "job3" {
		t.Errorf("claim of a produced period: %v", err)
	}
	r3, err := runs.Claim(ctx, "s", "2026-09", "2026-09-01", true, "1@h", "job5", now)
	if err != nil || r3.Version != 2 || r3.CorrectionOf != "job3" {
		t.Fatalf("forced claim = %+v, %v", r3, err)
	}
	// Planning again never resets a period, and says it added nothing.
	if added, err := runs.Plan(ctx, "s", []Run{{Period: "2026-09", Start: "2026-09-01", Due: now}}, now); err != nil || len(added) != 0 {
		t.Fatalf("plan again: %q, %v", added, err)
	}
	list, _ := runs.List(ctx, "s")
	if len(list) != 3 || list[0].Status != RunProduced || list[1].Version != 2 || list[1].Status != RunRunning {
		t.Errorf("list = %+v", list)
	}
	// A run whose owner died is abandoned and claimed again.
	if err := runs.Abandon(ctx, r3, "interrupted", now); err != nil {
		t.Fatal(err)
	}
	if r4, err := runs.Claim(ctx, "s", "2026-09", "2026-09-01", false, "9@h", "job6", now); err != nil || r4.Version != 2 || r4.Attempts != 2 {
		t.Errorf("claim after abandon = %+v, %v", r4, err)
	}
}
