package jobs

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5/stdlib"

	"github.com/erpipe/erpipe/events"
)

// The journal on PostgreSQL (cluster mode, docs/cluster.md) runs the same
// SQL as on SQLite: its queries are written with ? placeholders, which a
// thin database/sql driver, "erpipe-pgx", numbers ($1, $2...) for
// PostgreSQL. A query that already has numbered placeholders (River's own)
// goes through untouched. The few statements whose SQL differs between the
// two (JSON functions, rowid) branch on Journal.pg.

const pgDriverName = "erpipe-pgx"

var registerPG sync.Once

// OpenPostgres opens the PostgreSQL database at dsn through the numbering
// driver.
func OpenPostgres(dsn string) (*sql.DB, error) {
	registerPG.Do(func() { sql.Register(pgDriverName, pgDriver{}) })
	return sql.Open(pgDriverName, dsn)
}

type pgDriver struct{}

func (pgDriver) Open(name string) (driver.Conn, error) {
	c, err := stdlib.GetDefaultDriver().Open(name)
	if err != nil {
		return nil, err
	}
	return &pgConn{c.(*stdlib.Conn)}, nil
}

// pgConn is pgx's connection, numbering the placeholders of the queries
// it is given.
type pgConn struct{ *stdlib.Conn }

func (c *pgConn) Prepare(q string) (driver.Stmt, error) { return c.Conn.Prepare(rebind(q)) }
func (c *pgConn) PrepareContext(ctx context.Context, q string) (driver.Stmt, error) {
	return c.Conn.PrepareContext(ctx, rebind(q))
}
func (c *pgConn) ExecContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Result, error) {
	return c.Conn.ExecContext(ctx, rebind(q), args)
}
func (c *pgConn) QueryContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Rows, error) {
	return c.Conn.QueryContext(ctx, rebind(q), args)
}

var numbered = regexp.MustCompile(`\$[0-9]`)

// rebind numbers the ? placeholders of q that stand outside quotes; a
// query with numbered placeholders is returned as it is.
func rebind(q string) string {
	if !strings.Contains(q, "?") || numbered.MatchString(q) {
		return q
	}
	var b strings.Builder
	n, quoted := 0, byte(0)
	for i := 0; i < len(q); i++ {
		ch := q[i]
		switch {
		case quoted != 0:
			if ch == quoted {
				quoted = 0
			}
		case ch == '\'' || ch == '"':
			quoted = ch
		case ch == '?':
			n++
			fmt.Fprintf(&b, "$%d", n)
			continue
		}
		b.WriteByte(ch)
	}
	return b.String()
}

// pgSchema is the journal's tables on PostgreSQL: those of the SQLite
// journal (with the events' outbox), and what a cluster adds: the fencing
// attempt and the node of a job, the inbox's claims and the nodes.
const pgSchema = `
CREATE TABLE IF NOT EXISTS jobs (
	id           TEXT PRIMARY KEY,
	pipeline     TEXT NOT NULL,
	input        TEXT NOT NULL,
	input_sha256 TEXT NOT NULL DEFAULT '',
	status       TEXT NOT NULL,
	final_status TEXT NOT NULL DEFAULT '',
	created      TEXT NOT NULL,
	body         TEXT NOT NULL,
	attempt      INTEGER NOT NULL DEFAULT 0,
	node         TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS jobs_sha ON jobs(pipeline, input_sha256);
CREATE INDEX IF NOT EXISTS jobs_status ON jobs(status);
CREATE INDEX IF NOT EXISTS jobs_created ON jobs(created, id);
CREATE TABLE IF NOT EXISTS probe (
	id INTEGER PRIMARY KEY,
	at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS allowances (
	pipeline     TEXT NOT NULL,
	input_sha256 TEXT NOT NULL,
	created      TEXT NOT NULL,
	job          TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS event_deliveries (
	seq          BIGSERIAL PRIMARY KEY,
	event_id     TEXT NOT NULL,
	webhook      TEXT NOT NULL,
	type         TEXT NOT NULL,
	pipeline     TEXT NOT NULL DEFAULT '',
	schedule     TEXT NOT NULL DEFAULT '',
	job          TEXT NOT NULL DEFAULT '',
	created      TEXT NOT NULL,
	body         TEXT NOT NULL,
	status       TEXT NOT NULL,
	attempts     INTEGER NOT NULL DEFAULT 0,
	next_attempt TEXT NOT NULL,
	last_attempt TEXT NOT NULL DEFAULT '',
	last_code    INTEGER NOT NULL DEFAULT 0,
	last_error   TEXT NOT NULL DEFAULT '',
	delivered    TEXT NOT NULL DEFAULT '',
	UNIQUE (event_id, webhook)
);
CREATE INDEX IF NOT EXISTS event_deliveries_due ON event_deliveries(status, next_attempt);
CREATE INDEX IF NOT EXISTS event_deliveries_job ON event_deliveries(job);
CREATE TABLE IF NOT EXISTS inbox_claims (
	pipeline TEXT NOT NULL,
	key      TEXT NOT NULL,
	version  TEXT NOT NULL,
	job      TEXT NOT NULL,
	node     TEXT NOT NULL,
	state    TEXT NOT NULL DEFAULT 'claimed',
	created  TEXT NOT NULL,
	ended    TEXT NOT NULL DEFAULT '',
	PRIMARY KEY (pipeline, key, version)
);
CREATE INDEX IF NOT EXISTS inbox_claims_job ON inbox_claims(job);
CREATE TABLE IF NOT EXISTS nodes (
	name    TEXT PRIMARY KEY,
	config  TEXT NOT NULL,
	pid     INTEGER NOT NULL,
	started TEXT NOT NULL,
	seen    TEXT NOT NULL
);
`

// schemaLock is the advisory lock that makes nodes starting together
// create the tables one at a time (CREATE TABLE IF NOT EXISTS races in
// PostgreSQL's catalog).
const schemaLock = 0x6572706970650001

// OpenPostgresJournal opens the journal in the PostgreSQL database at dsn,
// creating its tables if needed.
func OpenPostgresJournal(ctx context.Context, dsn string) (*Journal, error) {
	db, err := OpenPostgres(dsn)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(16)
	if err := inSchemaLock(ctx, db, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, pgSchema)
		if err == nil {
			_, err = tx.ExecContext(ctx, runsSchema) // the schedules' (runs.go)
		}
		return err
	}); err != nil {
		db.Close()
		return nil, fmt.Errorf("open the journal in PostgreSQL: %w", err)
	}
	j := &Journal{db: db, path: redactDSN(dsn), pg: true, events: events.NewStore(db)}
	j.allowancesReady.Store(true)
	return j, nil
}

// inSchemaLock runs f in a transaction that holds schemaLock.
func inSchemaLock(ctx context.Context, db *sql.DB, f func(tx *sql.Tx) error) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(schemaLock)); err != nil {
		return err
	}
	if err := f(tx); err != nil {
		return err
	}
	return tx.Commit()
}

// redactDSN is dsn without its password, for messages.
func redactDSN(dsn string) string {
	if i := strings.Index(dsn, "://"); i >= 0 {
		if at := strings.LastIndex(dsn, "@"); at > i {
			if colon := strings.Index(dsn[i+3:at], ":"); colon >= 0 {
				return dsn[:i+3+colon] + ":***" + dsn[at:]
			}
		}
	}
	return dsn
}

// ErrFenced means a newer attempt of the job has started (on this node or
// another): the write of an older one changes nothing, and that attempt
// stops.
var ErrFenced = errors.New("a newer attempt of this job has taken it over; this attempt stops")

// fence is what the journal's writes of one attempt of a job in a
// cluster carry: the attempt, which every write must still hold, and
// what ends the job's claim and its queue entry in the transaction of its
// final record.
type fence struct {
	job     string
	attempt int
	node    string
	// final runs in the transaction that records the job's final status.
	final func(ctx context.Context, tx *sql.Tx) error
}

type fenceKey struct{}

// withFence is ctx carrying f for the journal's writes of f.job.
func withFence(ctx context.Context, f *fence) context.Context {
	return context.WithValue(ctx, fenceKey{}, f)
}

// fenceOf is the fence ctx carries for job id, or nil.
func fenceOf(ctx context.Context, id string) *fence {
	f, _ := ctx.Value(fenceKey{}).(*fence)
	if f == nil || f.job != id {
		return nil
	}
	return f
}

// putFenced writes the record of job as attempt f, with the deliveries of
// evs, in one transaction; the job's final record also ends its claim
// and its River job there (f.final). A newer attempt makes it ErrFenced.
func (j *Journal) putFenced(ctx context.Context, f *fence, job *Job, body []byte, evs []*events.Event) error {
	tx, err := j.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("journal: record job %s: %w", job.ID, err)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `UPDATE jobs SET input_sha256 = ?, status = ?, final_status = ?, body = ?, node = ?
		WHERE id = ? AND attempt = ?`,
		job.InputSHA256, string(job.Status), string(job.FinalStatus), string(body), f.node, job.ID, f.attempt)
	if err != nil {
		return fmt.Errorf("journal: record job %s: %w", job.ID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("journal: record job %s (attempt %d): %w", job.ID, f.attempt, ErrFenced)
	}
	for _, ev := range evs {
		if err := events.Add(ctx, tx, ev, job.ID); err != nil {
			return fmt.Errorf("journal: record job %s: %w", job.ID, err)
		}
	}
	if job.Status.Final() && f.final != nil {
		if err := f.final(ctx, tx); err != nil {
			return fmt.Errorf("journal: end job %s: %w", job.ID, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("journal: record job %s: %w", job.ID, err)
	}
	j.events.Notify()
	return nil
}

// startAttempt makes attempt the job's current one, unless a newer one
// has started: every write of an older attempt then changes nothing
// (ErrFenced).
func (j *Journal) startAttempt(ctx context.Context, id string, attempt int, node string) error {
	res, err := j.db.ExecContext(ctx, `UPDATE jobs SET attempt = ?, node = ? WHERE id = ? AND attempt < ?`, attempt, node, id, attempt)
	if err != nil {
		return fmt.Errorf("journal: start attempt %d of job %s: %w", attempt, id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("journal: start attempt %d of job %s: %w", attempt, id, ErrFenced)
	}
	return nil
}

// lockContent serialises the duplicate check of content sha256 in
// pipeline across the nodes of a cluster (a session's advisory lock,
// released by unlock, or by the session's end when the node dies); on
// SQLite, where the service's mutex does it, it does nothing.
func (j *Journal) lockContent(ctx context.Context, pipeline, sha256 string) (unlock func(), err error) {
	if !j.pg {
		return func() {}, nil
	}
	conn, err := j.db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock(hashtextextended($1, 0))`, pipeline+"/"+sha256); err != nil {
		conn.Close()
		return nil, fmt.Errorf("journal: %w", err)
	}
	return func() {
		_, _ = conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock(hashtextextended($1, 0))`, pipeline+"/"+sha256)
		conn.Close()
	}, nil
}
