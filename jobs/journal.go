package jobs

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	_ "modernc.org/sqlite" // the journal's embedded database

	"github.com/erpipe/erpipe/events"
)

// ErrNotFound is returned by Journal.Get for an unknown job id.
var ErrNotFound = errors.New("no such job")

// Journal is the durable record of jobs, an SQLite database in the
// workspace's .erpipe folder. It is safe for concurrent use, also by several
// processes (erpipe jobs reads it while erpipe run writes).
type Journal struct {
	db    *sql.DB
	path  string
	fault atomic.Pointer[error] // tests: the error of writes, to stand for a full disk where none can be made

	allowancesReady atomic.Bool // the allowances table has its job column (allowanceJobs)
	pg              bool        // the database is PostgreSQL (postgres.go), not SQLite
	events          *events.Store
}

const schema = `
CREATE TABLE IF NOT EXISTS jobs (
	id           TEXT PRIMARY KEY,
	pipeline     TEXT NOT NULL,
	input        TEXT NOT NULL,
	input_sha256 TEXT NOT NULL DEFAULT '',
	status       TEXT NOT NULL,
	final_status TEXT NOT NULL DEFAULT '',
	created      TEXT NOT NULL,
	body         TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS jobs_sha ON jobs(pipeline, input_sha256);
CREATE INDEX IF NOT EXISTS jobs_status ON jobs(status);
CREATE INDEX IF NOT EXISTS jobs_created ON jobs(created, id);
CREATE INDEX IF NOT EXISTS jobs_pipeline_created ON jobs(pipeline, created, id);
CREATE INDEX IF NOT EXISTS jobs_status_created ON jobs(status, created, id);
CREATE TABLE IF NOT EXISTS probe (
	id INTEGER PRIMARY KEY,
	at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS allowances (
	pipeline     TEXT NOT NULL,
	input_sha256 TEXT NOT NULL,
	created      TEXT NOT NULL
);
`

// OpenJournal opens (creating if needed) the journal database at path.
func OpenJournal(path string) (*Journal, error) {
	// The journal holds file names, hashes and errors of every job: only
	// its owner reads it (SQLite gives its -wal and -shm files the same
	// permission).
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open journal %s: %w", path, err)
	}
	err = f.Chmod(0o600)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("open journal %s: %w", path, err)
	}
	for _, side := range []string{"-wal", "-shm"} {
		if err := os.Chmod(path+side, 0o600); err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("open journal %s: %w", path, err)
		}
	}
	dsn := "file:" + path + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open journal %s: %w", path, err)
	}
	db.SetMaxOpenConns(1) // one writer; SQLite serialises anyway
	_, err = db.Exec(schema)
	if err == nil {
		_, err = db.Exec(events.Schema) // the events' outbox (package events)
	}
	if err == nil {
		var body string
		err = db.QueryRow(`SELECT body FROM jobs LIMIT 1`).Scan(&body) // reads past the header
		if errors.Is(err, sql.ErrNoRows) {
			err = nil
		}
	}
	if err != nil {
		db.Close()
		if damaged(err) {
			return nil, &DamagedJournalError{Path: path, Err: err}
		}
		return nil, fmt.Errorf("open journal %s: %w", path, err)
	}
	return &Journal{db: db, path: path, events: events.NewStore(db)}, nil
}

// Events is the outbox of business events in the journal's database.
func (j *Journal) Events() *events.Store { return j.events }

// Probe writes to the journal, to learn whether it can be written (a
// full disk says no).
func (j *Journal) Probe(ctx context.Context) error {
	if err := j.fault.Load(); err != nil {
		return *err
	}
	_, err := j.db.ExecContext(ctx, `INSERT INTO probe(id, at) VALUES(1, ?) ON CONFLICT(id) DO UPDATE SET at = excluded.at`, dbTime(time.Now()))
	return err
}

// Close closes the database.
func (j *Journal) Close() error { return j.db.Close() }

// Put inserts or replaces the record of job, and writes the deliveries of
// evs, the events its change causes, in the same transaction: both are
// recorded, or neither.
func (j *Journal) Put(ctx context.Context, job *Job, evs ...*events.Event) error {
	if err := j.fault.Load(); err != nil {
		return fmt.Errorf("journal: record job %s: %w", job.ID, *err)
	}
	if f := fenceOf(ctx, job.ID); f != nil {
		job.Node = f.node
	}
	body, err := jobBody(job)
	if err != nil {
		return err
	}
	if f := fenceOf(ctx, job.ID); f != nil && j.pg {
		return j.putFenced(ctx, f, job, body, nonNil(evs...))
	}
	if len(evs) > 0 {
		return j.putEvents(ctx, job, body, evs)
	}
	_, err = j.db.ExecContext(ctx, `INSERT INTO jobs(id, pipeline, input, input_sha256, status, final_status, created, body)
		VALUES(?,?,?,?,?,?,?,?)
		ON CONFLICT(id) DO UPDATE SET input_sha256=excluded.input_sha256, status=excluded.status,
			final_status=excluded.final_status, body=excluded.body`,
		job.ID, job.Pipeline, job.Input, job.InputSHA256, string(job.Status), string(job.FinalStatus),
		dbTime(job.Created), string(body))
	if err != nil {
		return fmt.Errorf("journal: record job %s: %w", job.ID, err)
	}
	return nil
}

// jobBody is the record of job as the journal stores it.
func jobBody(job *Job) ([]byte, error) {
	return json.Marshal(jobRecord{Job: job, FinalStatus: job.FinalStatus})
}

// jobRecord stores the fields of Job that are not in its JSON form.
type jobRecord struct {
	*Job
	FinalStatus Status `json:"final_status,omitempty"`
	// Events hides Job.Events: they are read from the outbox, not kept
	// in the record.
	Events []*events.Delivery `json:"events,omitempty"`
}

// Get returns the job with the given id, or ErrNotFound.
func (j *Journal) Get(ctx context.Context, id string) (*Job, error) {
	jobs, err := j.query(ctx, `SELECT `+jobColumns+` FROM jobs WHERE id = ?`, id)
	if err != nil {
		return nil, err
	}
	if len(jobs) == 0 {
		return nil, fmt.Errorf("job %q: %w", id, ErrNotFound)
	}
	return jobs[0], j.withEvents(ctx, jobs)
}

// NewJobID returns a new job id for now (NewID) that no job in the
// journal has.
func (j *Journal) NewJobID(ctx context.Context, now time.Time) (string, error) {
	for {
		id := NewID(now)
		_, err := j.Get(ctx, id)
		if errors.Is(err, ErrNotFound) {
			return id, nil
		}
		if err != nil {
			return "", err
		}
	}
}

// Filter selects jobs for List. Zero fields select everything.
type Filter struct {
	Status   Status
	Pipeline string
	Since    time.Time
	Limit    int
}

// List returns jobs, oldest first.
func (j *Journal) List(ctx context.Context, f Filter) ([]*Job, error) {
	var where []string
	var args []any
	if f.Status != "" {
		where = append(where, "status = ?")
		args = append(args, string(f.Status))
	}
	if f.Pipeline != "" {
		where = append(where, "pipeline = ?")
		args = append(args, f.Pipeline)
	}
	if !f.Since.IsZero() {
		where = append(where, "created >= ?")
		args = append(args, dbTime(f.Since))
	}
	q := "SELECT " + jobColumns + " FROM jobs"
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	if f.Limit <= 0 {
		jobs, err := j.query(ctx, q+" ORDER BY created, id", args...)
		if err == nil {
			err = j.withEvents(ctx, jobs)
		}
		return jobs, err
	}
	// The newest Limit jobs, still listed oldest first.
	jobs, err := j.query(ctx, q+fmt.Sprintf(" ORDER BY created DESC, id DESC LIMIT %d", f.Limit), args...)
	slices.Reverse(jobs)
	if err == nil {
		err = j.withEvents(ctx, jobs)
	}
	return jobs, err
}

// Unfinished returns the jobs that have not ended, oldest first: after a
// crash these are resumed.
func (j *Journal) Unfinished(ctx context.Context) ([]*Job, error) {
	return j.query(ctx, `SELECT `+jobColumns+` FROM jobs WHERE status IN (?, ?) ORDER BY created, id`,
		string(Enqueued), string(Processing))
}

// FindContent returns the earliest job of pipeline whose input had the given
// sha256 and was (or is being) processed, or nil. Failed jobs and
// duplicates don't count: a file that failed may be dropped again.
func (j *Journal) FindContent(ctx context.Context, pipeline, sha256 string, except string) (*Job, error) {
	jobs, err := j.query(ctx, `SELECT `+jobColumns+` FROM jobs WHERE pipeline = ? AND input_sha256 = ? AND id != ?
		AND status NOT IN (?, ?) ORDER BY created, id LIMIT 1`,
		pipeline, sha256, except, string(Failed), string(Duplicate))
	if err != nil || len(jobs) == 0 {
		return nil, err
	}
	return jobs[0], nil
}

// jobColumns are the columns query reads: the record (body), and the
// columns a damaged record is told by.
const jobColumns = "id, pipeline, input, status, created, body"

func (j *Journal) query(ctx context.Context, q string, args ...any) ([]*Job, error) {
	rows, err := j.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, j.dbError(err)
	}
	defer rows.Close()
	var out []*Job
	for rows.Next() {
		var id, pipeline, input, status, created, body string
		if err := rows.Scan(&id, &pipeline, &input, &status, &created, &body); err != nil {
			return nil, j.dbError(err)
		}
		rec := jobRecord{Job: new(Job)}
		err := json.Unmarshal([]byte(body), &rec)
		if err == nil && rec.Job.ID != id {
			err = fmt.Errorf("it is the record of job %q", rec.Job.ID)
		}
		if err != nil {
			// One damaged record must not hide the others, nor the
			// job: it is listed with what the columns say.
			t, _ := time.Parse(dbLayout, created)
			out = append(out, &Job{ID: id, Pipeline: pipeline, Input: input, Status: Status(status), Created: t,
				Errors: []string{fmt.Sprintf("the journal's record of this job is damaged (%v); only its id, pipeline, input and status are known", err)}})
			continue
		}
		rec.Job.FinalStatus = rec.FinalStatus
		out = append(out, rec.Job)
	}
	if err := rows.Err(); err != nil {
		return nil, j.dbError(err)
	}
	return out, nil
}

// dbError is err from the database, said for people.
func (j *Journal) dbError(err error) error {
	if damaged(err) {
		return &DamagedJournalError{Path: j.path, Err: err}
	}
	return fmt.Errorf("journal: %w", err)
}

// Allow lets content with the given sha256 be processed once more in
// pipeline even though it was processed before: erpipe retry asks for it,
// for the input of job.
func (j *Journal) Allow(ctx context.Context, pipeline, sha256, job string) error {
	if err := j.allowanceJobs(ctx); err != nil {
		return err
	}
	_, err := j.db.ExecContext(ctx, `INSERT INTO allowances(pipeline, input_sha256, created, job) VALUES(?,?,?,?)`,
		pipeline, sha256, dbTime(time.Now()), job)
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	return nil
}

// TakeAllowance consumes one allowance made by Allow for the content, and
// reports whether there was one, and for which job's input it was made
// ("" when the journal did not say).
func (j *Journal) TakeAllowance(ctx context.Context, pipeline, sha256 string) (job string, ok bool, err error) {
	if err := j.allowanceJobs(ctx); err != nil {
		return "", false, err
	}
	q := `DELETE FROM allowances WHERE rowid = (SELECT rowid FROM allowances
		WHERE pipeline = ? AND input_sha256 = ? ORDER BY created LIMIT 1) RETURNING job`
	if j.pg {
		q = `DELETE FROM allowances WHERE ctid = (SELECT ctid FROM allowances
		WHERE pipeline = ? AND input_sha256 = ? ORDER BY created LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING job`
	}
	err = j.db.QueryRowContext(ctx, q, pipeline, sha256).Scan(&job)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("journal: %w", err)
	}
	return job, true, nil
}

// allowanceJobs adds the job column to the allowances of a journal made
// before allowances named their job.
func (j *Journal) allowanceJobs(ctx context.Context) error {
	if j.allowancesReady.Load() {
		return nil
	}
	var n int
	err := j.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM pragma_table_info('allowances') WHERE name = 'job'`).Scan(&n)
	if err == nil && n == 0 {
		_, err = j.db.ExecContext(ctx, `ALTER TABLE allowances ADD COLUMN job TEXT NOT NULL DEFAULT ''`)
	}
	if err != nil && !strings.Contains(err.Error(), "duplicate column") { // another process added it meanwhile
		return fmt.Errorf("journal: %w", err)
	}
	j.allowancesReady.Store(true)
	return nil
}

// retryNote is the note of a job that processes the input of job of
// again, on request.
func retryNote(of string) string {
	if of == "unknown" {
		return "a retry (erpipe retry): processed again past the duplicate check"
	}
	return "a retry of job " + of + " (erpipe retry): processed again past the duplicate check"
}

// dbLayout is RFC 3339 in UTC with all nine decimals: every time has the
// same width, so that the database orders and compares them as text
// (RFC3339Nano drops trailing zeros, and "05Z" sorted after "05.5Z").
const dbLayout = "2006-01-02T15:04:05.000000000Z"

func dbTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(dbLayout)
}

func parseDBTime(s string) time.Time {
	t, _ := time.Parse(time.RFC3339Nano, s)
	return t
}
