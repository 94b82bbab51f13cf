package jobs

import (
	"context"
	"database/sql"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/erpipe/erpipe/workspace"
)

// openWS opens the workspace at dir.
func openWS(t *testing.T, dir string) *workspace.Workspace {
	t.Helper()
	ws, err := workspace.Open(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	return ws
}

// TestLostJournal: a journal deleted or emptied while erpipe was stopped is
// refused where the workspace has a history; accepted, the new journal
// learns the archive's inputs, so that the same content is still a
// Duplicate.
func TestLostJournal(t *testing.T) {
	ctx := context.Background()
	for _, lose := range []struct {
		name string
		do   func(path string) error
	}{
		{"deleted", os.Remove},
		{"truncated", func(p string) error { return os.Truncate(p, 0) }},
	} {
		t.Run(lose.name, func(t *testing.T) {
			dir := t.TempDir()
			ws := openWS(t, dir)
			j, created, err := OpenWorkspaceJournal(ws, false)
			if err != nil || !created {
				t.Fatalf("a new workspace: %v, created %v", err, created)
			}
			s, err := NewService(ws, j, discardLog())
			if err != nil {
				t.Fatal(err)
			}
			first, err := s.Take(ctx, "customers-v3", dropFile(t, ws, "customers-v3", "c.csv", sampleBytes(t)))
			if err != nil || first.Status != Processed {
				t.Fatalf("%v %+v", err, first)
			}
			j.Close()
			os.Remove(ws.JournalPath() + "-wal")
			os.Remove(ws.JournalPath() + "-shm")
			if err := lose.do(ws.JournalPath()); err != nil {
				t.Fatal(err)
			}
			_, _, err = OpenWorkspaceJournal(ws, false)
			var lost *LostJournalError
			if !errors.As(err, &lost) || !strings.Contains(err.Error(), "--accept-new-journal") {
				t.Fatalf("a lost journal opened: %v", err)
			}
			j, created, err = OpenWorkspaceJournal(ws, true)
			if err != nil || !created {
				t.Fatalf("accepted: %v, created %v", err, created)
			}
			defer j.Close()
			if n, err := RebuildFromArchive(ctx, ws, j); err != nil || n != 1 {
				t.Fatalf("rebuilt %d inputs: %v", n, err)
			}
			s, _ = NewService(ws, j, discardLog())
			again, err := s.Take(ctx, "customers-v3", dropFile(t, ws, "customers-v3", "again.csv", sampleBytes(t)))
			if err != nil || again.Status != Duplicate || again.DuplicateOf != first.ID {
				t.Fatalf("the same content after the new journal: %v %+v", err, again)
			}
		})
	}
}

// TestDamagedJournal: a journal cut in the middle says it is damaged and
// what to do, instead of SQLite's "malformed (11)" alone.
func TestDamagedJournal(t *testing.T) {
	ws := openWS(t, t.TempDir())
	j, _, err := OpenWorkspaceJournal(ws, false)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 300 {
		if err := j.Put(context.Background(), &Job{ID: NewID(testTime(i)), Pipeline: "p", Input: strings.Repeat("x", 200), Status: Processed}); err != nil {
			t.Fatal(err)
		}
	}
	j.Close()
	fi, _ := os.Stat(ws.JournalPath())
	if err := os.Truncate(ws.JournalPath(), fi.Size()/2); err != nil {
		t.Fatal(err)
	}
	_, _, err = OpenWorkspaceJournal(ws, false)
	var damaged *DamagedJournalError
	if !errors.As(err, &damaged) || !strings.Contains(err.Error(), "restore the journal") {
		t.Fatalf("a damaged journal: %v", err)
	}
}

// TestDamagedRecord: one damaged record neither makes the listing fail
// nor leaves its claimed input stuck: the job is listed with what is
// known, and resumed from where every claim puts the input.
func TestDamagedRecord(t *testing.T) {
	ctx := context.Background()
	s, ws := newService(t, "")
	dir := filepath.Join(ws.Claimed(), "customers-v3", "20260101-000000-abcd")
	os.MkdirAll(dir, 0o700)
	os.WriteFile(filepath.Join(dir, "c.csv"), sampleBytes(t), 0o644)
	job := &Job{ID: "20260101-000000-abcd", Pipeline: "customers-v3", Input: "c.csv", Status: Processing, ClaimedPath: filepath.Join(dir, "c.csv")}
	if err := s.journal.Put(ctx, job); err != nil {
		t.Fatal(err)
	}
	if err := s.journal.Put(ctx, &Job{ID: "20260101-000000-ffff", Pipeline: "customers-v3", Input: "ok.csv", Status: Processed}); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", s.journal.path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`UPDATE jobs SET body = '{"id": "20260101-000000-abcd", "outp' WHERE id = '20260101-000000-abcd'`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	list, err := s.journal.List(ctx, Filter{})
	if err != nil || len(list) != 2 || !strings.Contains(strings.Join(list[0].Errors, " "), "damaged") {
		t.Fatalf("listing with a damaged record: %v %+v", err, list)
	}
	if err := s.Recover(ctx); err != nil {
		t.Fatal(err)
	}
	j, err := s.journal.Get(ctx, job.ID)
	if err != nil || j.Status != Processed || exists(filepath.Join(dir, "c.csv")) {
		t.Fatalf("the damaged job after a restart: %v %+v", err, j)
	}
}

func discardLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// testTime is a time i seconds into 2026.
func testTime(i int) time.Time { return time.Date(2026, 1, 1, 0, 0, i, 0, time.UTC) }
