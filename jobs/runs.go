package jobs

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/erpipe/erpipe/events"
	"github.com/erpipe/erpipe/outbox"
	"github.com/erpipe/erpipe/workspace"
)

// Scheduled submissions (package schedule) keep their bookkeeping here, in
// the journal's database: one row per (schedule, period, version), so that
// each period is produced exactly once, and the audit trail of each run in
// its job record (Job.Submission).

// Submission is the audit trail of a scheduled run: what it read, with
// what, and where its output went. The template's name, version and hash
// and the outputs' sha256 are in the Job itself.
type Submission struct {
	Schedule     string            `json:"schedule"`
	Period       string            `json:"period"`
	PeriodStart  string            `json:"period_start"` // yyyy-MM-dd, included
	PeriodEnd    string            `json:"period_end"`   // yyyy-MM-dd, included
	Version      int               `json:"version"`      // 1, then 2, 3... for corrections
	CorrectionOf string            `json:"correction_of,omitempty"`
	Attempt      int               `json:"attempt"`
	Inputs       []InputFile       `json:"inputs"`
	Parameters   map[string]string `json:"parameters,omitempty"`
	Validation   string            `json:"validation,omitempty"`
	Receipt      string            `json:"receipt,omitempty"` // receipt.json in the archive
	Acks         []Acknowledgement `json:"acknowledgements,omitempty"`
	// RequestedBy and Reason say who ran the period by hand (erpipe
	// schedule run, the API's client or user) and why: a correction's
	// reason, kept in its audit trail and receipt.
	RequestedBy string `json:"requested_by,omitempty"`
	Reason      string `json:"reason,omitempty"`
}

// InputFile is one input file a submission used, as it was read.
type InputFile struct {
	Path     string    `json:"path"` // relative to the workspace when inside it
	SHA256   string    `json:"sha256"`
	Size     int64     `json:"size"`
	Modified time.Time `json:"modified"`
}

// Acknowledgement is a destination's answer to the delivery of an output:
// where it stored it, and when.
type Acknowledgement struct {
	Output      string    `json:"output"`
	Destination string    `json:"destination"`
	Location    string    `json:"location"`
	At          time.Time `json:"at"`
}

// RunStatus is where a (schedule, period) is.
type RunStatus string

// Run statuses.
const (
	RunDue      RunStatus = "Due"      // the period is due and not produced yet
	RunRunning  RunStatus = "Running"  // being produced now
	RunProduced RunStatus = "Produced" // produced and delivered
	RunFailed   RunStatus = "Failed"   // the last attempt failed; NextAttempt says when the next one is (zero: none, until someone runs it)
)

// Run is one version of one period of one schedule.
type Run struct {
	Schedule     string
	Period       string
	Start        string // the period's first day, for ordering
	Version      int
	Status       RunStatus
	Attempts     int
	Job          string // the last attempt's job
	CorrectionOf string // for a version above 1, the job of the version it corrects
	Error        string
	Owner        string // who runs it while Running, "pid@host"
	Due          time.Time
	NextAttempt  time.Time
	Updated      time.Time
}

// ErrProduced is returned by Claim for a period that was produced already.
var ErrProduced = errors.New("the period was already produced")

// ErrRunning is returned by Claim for a period being produced now.
var ErrRunning = errors.New("the period is being produced now")

// Runs is the schedule bookkeeping in the journal's database.
type Runs struct {
	db   *sql.DB
	wake func() // tells the events' dispatcher of new events
	pg   bool   // the cluster's PostgreSQL journal (cluster.go)
}

const runsSchema = `
CREATE TABLE IF NOT EXISTS schedule_runs (
	schedule      TEXT NOT NULL,
	period        TEXT NOT NULL,
	start         TEXT NOT NULL,
	version       INTEGER NOT NULL,
	status        TEXT NOT NULL,
	attempts      INTEGER NOT NULL DEFAULT 0,
	job           TEXT NOT NULL DEFAULT '',
	correction_of TEXT NOT NULL DEFAULT '',
	error         TEXT NOT NULL DEFAULT '',
	owner         TEXT NOT NULL DEFAULT '',
	due           TEXT NOT NULL,
	next_attempt  TEXT NOT NULL DEFAULT '',
	updated       TEXT NOT NULL,
	PRIMARY KEY (schedule, period, version)
);
CREATE TABLE IF NOT EXISTS schedule_state (
	schedule TEXT PRIMARY KEY,
	checked  TEXT NOT NULL
);
`

// Runs returns the schedule bookkeeping, creating its tables if needed.
func (j *Journal) Runs(ctx context.Context) (*Runs, error) {
	if _, err := j.db.ExecContext(ctx, runsSchema); err != nil {
		return nil, fmt.Errorf("journal: schedule tables: %w", err)
	}
	return &Runs{db: j.db, wake: j.events.Notify, pg: j.pg}, nil
}

// Checked returns when the schedule's due periods were last worked out.
func (r *Runs) Checked(ctx context.Context, schedule string) (time.Time, bool, error) {
	var s string
	err := r.db.QueryRowContext(ctx, `SELECT checked FROM schedule_state WHERE schedule = ?`, schedule).Scan(&s)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, false, nil
	}
	if err != nil {
		return time.Time{}, false, fmt.Errorf("journal: %w", err)
	}
	return parseDBTime(s), true, nil
}

// Plan records periods as due (those that have no row yet) and when the
// schedule was checked, in one transaction: a period found due is never
// forgotten, crash or not. It returns the periods it recorded, those that
// were not known before.
func (r *Runs) Plan(ctx context.Context, schedule string, due []Run, checked time.Time) ([]string, error) {
	tx, err := r.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	defer tx.Rollback()
	now := dbTime(time.Now())
	var added []string
	for _, d := range due {
		q := `INSERT OR IGNORE INTO schedule_runs(schedule, period, start, version, status, due, updated)
			VALUES(?,?,?,1,?,?,?)`
		if r.pg { // every node plans: the first to insert a period wins
			q = `INSERT INTO schedule_runs(schedule, period, start, version, status, due, updated)
			VALUES(?,?,?,1,?,?,?) ON CONFLICT DO NOTHING`
		}
		res, err := tx.ExecContext(ctx, q, schedule, d.Period, d.Start, string(RunDue), dbTime(d.Due), now)
		if err != nil {
			return nil, fmt.Errorf("journal: %w", err)
		}
		if n, _ := res.RowsAffected(); n > 0 {
			added = append(added, d.Period)
		}
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schedule_state(schedule, checked) VALUES(?,?)
		ON CONFLICT(schedule) DO UPDATE SET checked = excluded.checked`, schedule, dbTime(checked)); err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	return added, nil
}

const runColumns = `schedule, period, start, version, status, attempts, job, correction_of, error, owner, due, next_attempt, updated`

func scanRuns(rows *sql.Rows) ([]*Run, error) {
	defer rows.Close()
	var out []*Run
	for rows.Next() {
		var x Run
		var status, due, next, updated string
		if err := rows.Scan(&x.Schedule, &x.Period, &x.Start, &x.Version, &status, &x.Attempts, &x.Job, &x.CorrectionOf,
			&x.Error, &x.Owner, &due, &next, &updated); err != nil {
			return nil, fmt.Errorf("journal: %w", err)
		}
		x.Status, x.Due, x.NextAttempt, x.Updated = RunStatus(status), parseDBTime(due), parseDBTime(next), parseDBTime(updated)
		out = append(out, &x)
	}
	return out, rows.Err()
}

// List returns every run of the schedule ("" for all), oldest period
// first, versions in order.
func (r *Runs) List(ctx context.Context, schedule string) ([]*Run, error) {
	rows, err := r.db.QueryContext(ctx, `SELECT `+runColumns+` FROM schedule_runs WHERE ? = '' OR schedule = ?
		ORDER BY schedule, start, period, version`, schedule, schedule)
	if err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	return scanRuns(rows)
}

// NextAttempt returns the earliest time a failed run is to be attempted
// again, or false when none is.
func (r *Runs) NextAttempt(ctx context.Context) (time.Time, bool, error) {
	var next sql.NullString
	err := r.db.QueryRowContext(ctx, `SELECT MIN(next_attempt) FROM schedule_runs WHERE status = ? AND next_attempt != ''`,
		string(RunFailed)).Scan(&next)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("journal: %w", err)
	}
	if !next.Valid {
		return time.Time{}, false, nil
	}
	return parseDBTime(next.String), true, nil
}

// Latest returns the latest version of a period, or nil.
func (r *Runs) Latest(ctx context.Context, schedule, period string) (*Run, error) {
	rows, err := r.db.QueryContext(ctx, `SELECT `+runColumns+` FROM schedule_runs WHERE schedule = ? AND period = ?
		ORDER BY version DESC LIMIT 1`, schedule, period)
	if err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	list, err := scanRuns(rows)
	if err != nil || len(list) == 0 {
		return nil, err
	}
	return list[0], nil
}

// Pending returns the runs of the schedule to work on at now, oldest period
// first: the latest versions that are due, or failed with a next attempt
// that has come.
func (r *Runs) Pending(ctx context.Context, schedule string, now time.Time) ([]*Run, error) {
	rows, err := r.db.QueryContext(ctx, `SELECT `+runColumns+` FROM schedule_runs AS r WHERE schedule = ?
		AND version = (SELECT MAX(version) FROM schedule_runs WHERE schedule = r.schedule AND period = r.period)
		AND (status = ? OR (status = ? AND next_attempt != '' AND next_attempt <= ?))
		ORDER BY start, period`, schedule, string(RunDue), string(RunFailed), dbTime(now))
	if err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	return scanRuns(rows)
}

// Claim marks a period as being produced by owner in job, and returns its run:
// the period's first version, a due or failed one again (one more
// attempt), or with force a new version that corrects the produced one. It
// returns an error wrapping ErrProduced (without force) or ErrRunning, with
// the run, when the period can't be claimed.
func (r *Runs) Claim(ctx context.Context, schedule, period, start string, force bool, owner, job string, now time.Time) (*Run, error) {
	prev, err := r.Latest(ctx, schedule, period)
	if err != nil {
		return nil, err
	}
	ts := dbTime(now)
	insert := func(version int, correctionOf string) (*Run, error) {
		_, err := r.db.ExecContext(ctx, `INSERT INTO schedule_runs(schedule, period, start, version, status, attempts, job, correction_of, owner, due, updated)
			VALUES(?,?,?,?,?,1,?,?,?,?,?)`, schedule, period, start, version, string(RunRunning), job, correctionOf, owner, ts, ts)
		if err != nil {
			return nil, &ClaimError{Err: ErrRunning, Run: prev} // another process inserted it first
		}
		return &Run{Schedule: schedule, Period: period, Start: start, Version: version, Status: RunRunning, Attempts: 1,
			Job: job, CorrectionOf: correctionOf, Owner: owner, Due: now, Updated: now}, nil
	}
	switch {
	case prev == nil:
		return insert(1, "")
	case prev.Status == RunRunning:
		return nil, &ClaimError{Err: ErrRunning, Run: prev}
	case prev.Status == RunProduced && !force:
		return nil, &ClaimError{Err: ErrProduced, Run: prev}
	case prev.Status == RunProduced:
		return insert(prev.Version+1, prev.Job)
	}
	res, err := r.db.ExecContext(ctx, `UPDATE schedule_runs SET status = ?, attempts = attempts + 1, owner = ?, job = ?, error = '', updated = ?
		WHERE schedule = ? AND period = ? AND version = ? AND status = ? AND attempts = ?`,
		string(RunRunning), owner, job, ts, schedule, period, prev.Version, string(prev.Status), prev.Attempts)
	if err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil, &ClaimError{Err: ErrRunning, Run: prev}
	}
	prev.Status, prev.Attempts, prev.Owner, prev.Job, prev.Error, prev.Updated = RunRunning, prev.Attempts+1, owner, job, "", now
	return prev, nil
}

// ClaimError says why a period could not be claimed, with its run.
type ClaimError struct {
	Err error // ErrProduced or ErrRunning
	Run *Run  // the period's latest version (nil if another process just created it)
}

func (e *ClaimError) Error() string { return e.Err.Error() }
func (e *ClaimError) Unwrap() error { return e.Err }

// Finish records the end of a claimed run: Produced or Failed, the job of
// the attempt, the error, when to try again, and when it ended (Updated;
// zero for now).
//
// evs, the events of the run's end (PeriodEvent), are written in the same
// transaction.
func (r *Runs) Finish(ctx context.Context, run *Run, evs ...*events.Event) error {
	tx, err := r.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	defer tx.Rollback()
	for _, ev := range evs {
		if err := events.Add(ctx, tx, ev, run.Job); err != nil {
			return err
		}
	}
	q := `UPDATE schedule_runs SET status = ?, job = ?, error = ?, owner = '', next_attempt = ?, updated = ?
		WHERE schedule = ? AND period = ? AND version = ?`
	args := []any{string(run.Status), run.Job, run.Error, dbTime(run.NextAttempt), dbTime(cmp.Or(run.Updated, time.Now())), run.Schedule, run.Period, run.Version}
	if r.pg {
		// In a cluster the run's owner is the fencing token: a node whose
		// run was settled and claimed by another meanwhile changes nothing.
		q, args = q+` AND owner = ?`, append(args, run.Owner)
	}
	res, err := tx.ExecContext(ctx, q, args...)
	if err == nil && r.pg {
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("journal: end the run of %s %s: %w", run.Schedule, run.Period, ErrFenced)
		}
	}
	if err == nil {
		err = tx.Commit()
	}
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	if len(evs) > 0 && r.wake != nil {
		r.wake()
	}
	return nil
}

// Abandon turns a run left Running by owner (a process that died) into a
// failed one to be tried again at next.
func (r *Runs) Abandon(ctx context.Context, run *Run, reason string, next time.Time) error {
	_, err := r.db.ExecContext(ctx, `UPDATE schedule_runs SET status = ?, error = ?, owner = '', next_attempt = ?, updated = ?
		WHERE schedule = ? AND period = ? AND version = ? AND status = ? AND owner = ?`,
		string(RunFailed), reason, dbTime(next), dbTime(time.Now()), run.Schedule, run.Period, run.Version, string(RunRunning), run.Owner)
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	return nil
}

// Destinations returns the destinations for outputs of name (a pipeline or
// a schedule) as configured; none configured means outbox/<name>.
func Destinations(ws *workspace.Workspace, name string, dcs []workspace.DestinationConfig) ([]outbox.Destination, error) {
	return destinations(ws, &workspace.Pipeline{Name: name, Destinations: dcs})
}

// HashFile returns the sha256 (hex) and size of the file at path.
func HashFile(path string) (string, int64, error) { return hashFile(path) }
