package jobs

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/erpipe/erpipe/workspace"
)

// A workspace's journal is its memory: which content each pipeline took
// (so that the same file dropped again is a Duplicate) and which periods
// each schedule produced (so that a regulatory submission is made once).
// A journal that is deleted or truncated while erpipe is stopped must not
// go unnoticed, or erpipe would start with no memory and process and
// submit again what it did before. OpenWorkspaceJournal therefore
// refuses a missing or empty journal in a workspace that has a history,
// unless told to start a new one; the history of a new journal is then
// rebuilt from the archive (RebuildFromArchive, and schedule.RebuildRuns).

// markerFile, in .erpipe, says that the workspace has had a journal.
const markerFile = "journal.id"

// LostJournalError is a journal that is missing or empty in a workspace
// that has a history.
type LostJournalError struct {
	Path     string // the journal
	Evidence string // what says the workspace has a history
}

func (e *LostJournalError) Error() string {
	return fmt.Sprintf("the job journal %s is missing or empty, but %s: without its journal erpipe would process again the files "+
		"it already processed, and produce scheduled periods again. Restore the journal from a backup; or, to start a new one, "+
		"run erpipe run --accept-new-journal: the inputs in archive/ and the receipts of scheduled submissions are then "+
		"recorded in it, so that they are still recognised", e.Path, e.Evidence)
}

// DamagedJournalError is a journal that SQLite cannot read.
type DamagedJournalError struct {
	Path string
	Err  error
}

func (e *DamagedJournalError) Error() string {
	return fmt.Sprintf("the job journal %s is damaged (%v). Stop erpipe and keep a copy of the file; restore the journal "+
		"from a backup (sqlite3's .recover command may save its records), or move the file aside and run "+
		"erpipe run --accept-new-journal, which starts a new journal with the inputs in archive/ and the receipts of "+
		"scheduled submissions recorded in it", e.Path, e.Err)
}

func (e *DamagedJournalError) Unwrap() error { return e.Err }

// damaged reports whether err is SQLite's answer for a file that is not a
// database, or a damaged one.
func damaged(err error) bool {
	if err == nil {
		return false
	}
	msg := err.Error()
	return strings.Contains(msg, "database disk image is malformed") || strings.Contains(msg, "file is not a database")
}

// OpenWorkspaceJournal opens the journal of ws, making .erpipe if needed.
// A journal that is missing or empty where the workspace has a history is
// refused with a *LostJournalError, unless acceptNew is set; created
// reports that the journal is new. A journal SQLite cannot read is a
// *DamagedJournalError.
func OpenWorkspaceJournal(ws *workspace.Workspace, acceptNew bool) (j *Journal, created bool, err error) {
	if err := ws.MakeState(); err != nil {
		return nil, false, err
	}
	path := ws.JournalPath()
	fi, err := os.Stat(path)
	created = err != nil || fi.Size() == 0
	if created && !acceptNew {
		if ev := history(ws); ev != "" {
			return nil, false, &LostJournalError{Path: path, Evidence: ev}
		}
	}
	j, err = OpenJournal(path)
	if err != nil {
		return nil, false, err
	}
	marker := filepath.Join(ws.State(), markerFile)
	if _, err := os.Stat(marker); err != nil {
		note := "This workspace has a job journal (journal.db). If it is lost, erpipe refuses to start until it is restored\n" +
			"or a new one is accepted (erpipe run --accept-new-journal). Remove this file only with the journal.\n"
		if err := os.WriteFile(marker, []byte(note), 0o600); err != nil {
			j.Close()
			return nil, false, err
		}
	}
	return j, created, nil
}

// history returns what says that ws has processed files before ("" if
// nothing does): the journal's marker, or files in archive/, errors/ or
// .erpipe/claimed.
func history(ws *workspace.Workspace) string {
	if _, err := os.Stat(filepath.Join(ws.State(), markerFile)); err == nil {
		return "the workspace had one (" + filepath.Join(".erpipe", markerFile) + ")"
	}
	for _, d := range []string{filepath.Join(ws.Root, "archive"), filepath.Join(ws.Root, "errors"), ws.Claimed()} {
		if hasFile(d) {
			return filepath.Base(d) + "/ holds files of earlier jobs"
		}
	}
	return ""
}

// errFound stops a walk at the first file.
var errFound = errors.New("found")

// hasFile reports whether there is a file anywhere under dir.
func hasFile(dir string) bool {
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			return errFound
		}
		return nil
	})
	return errors.Is(err, errFound)
}

// archivedInput is the name of an input in archive/<pipeline>/<day>/: the
// job id, a dash, the input's name.
var archivedInput = regexp.MustCompile(`^(\d{8}-\d{6}-[0-9a-f]+)-(.+)$`)

// RebuildFromArchive records in j, as Processed jobs, the inputs filed in
// the archive of each pipeline (archive/<pipeline>/<day>/<job id>-<name>)
// that j does not know, with the sha256 of their content, so that a new
// journal still recognises content processed before. It returns how many
// it recorded. Reports and rejected rows beside them are not inputs.
func RebuildFromArchive(ctx context.Context, ws *workspace.Workspace, j *Journal) (int, error) {
	days, _ := filepath.Glob(filepath.Join(ws.Root, "archive", "*", "*"))
	n := 0
	for _, day := range days {
		entries, err := os.ReadDir(day)
		if err != nil {
			continue // a file, or not readable: not an archive day
		}
		for _, e := range entries {
			m := archivedInput.FindStringSubmatch(e.Name())
			if m == nil || !e.Type().IsRegular() || reportFile(e.Name()) {
				continue
			}
			if _, err := j.Get(ctx, m[1]); err == nil {
				continue
			}
			p := filepath.Join(day, e.Name())
			sum, size, err := hashFile(p)
			if err != nil {
				return n, err
			}
			created, _ := time.Parse("20060102-150405", m[1][:15])
			job := &Job{ID: m[1], Pipeline: filepath.Base(filepath.Dir(day)), Input: m[2], InputSHA256: sum, InputSize: size,
				Status: Processed, FinalStatus: Processed, Created: created, FinalPath: p,
				Errors: []string{"recorded from archive/ when a new journal was started; the job's own record was lost"}}
			if err := j.Put(ctx, job); err != nil {
				return n, err
			}
			n++
		}
	}
	return n, nil
}

// reportFile reports whether name is a report or rejected rows beside an
// archived input.
func reportFile(name string) bool {
	for _, s := range []string{".error.txt", ".error.json", ".rejected.csv", ".rejected.xlsx"} {
		if strings.HasSuffix(name, s) {
			return true
		}
	}
	return false
}
