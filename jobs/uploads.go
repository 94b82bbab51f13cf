package jobs

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
)

// The journal's record of inputs sent over HTTP (package api): who sent
// each, with which Idempotency-Key and body, and, for the recurring
// integrations facade, its message ID and the activity, entity, company
// and external identifier it came with; and the facade's queue of
// outputs to dequeue. Tokens are never stored here: a client is its name.

const uploadsSchema = `
CREATE TABLE IF NOT EXISTS uploads (
	job          TEXT PRIMARY KEY,
	client       TEXT NOT NULL,
	idem_key     TEXT NOT NULL,
	body_sha256  TEXT NOT NULL,
	message_id   TEXT NOT NULL,
	activity     TEXT NOT NULL,
	entity       TEXT NOT NULL,
	company      TEXT NOT NULL,
	external_id  TEXT NOT NULL,
	created      TEXT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS uploads_key ON uploads(client, idem_key) WHERE idem_key != '';
CREATE INDEX IF NOT EXISTS uploads_message ON uploads(message_id) WHERE message_id != '';
CREATE TABLE IF NOT EXISTS connector_queue (
	message_id   TEXT PRIMARY KEY,
	activity     TEXT NOT NULL,
	job          TEXT NOT NULL,
	output       TEXT NOT NULL,
	blob         TEXT NOT NULL,
	pop_receipt  TEXT NOT NULL DEFAULT '',
	visible_at   TEXT NOT NULL DEFAULT '',
	dequeues     INTEGER NOT NULL DEFAULT 0,
	last_dequeue TEXT NOT NULL DEFAULT '',
	downloaded   INTEGER NOT NULL DEFAULT 0,
	acked        INTEGER NOT NULL DEFAULT 0,
	created      TEXT NOT NULL,
	UNIQUE(activity, job, output)
);
CREATE TABLE IF NOT EXISTS connector_activities (
	activity     TEXT PRIMARY KEY,
	since        TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS connector_marks (
	activity     TEXT PRIMARY KEY,
	until        TEXT NOT NULL
);
`

var uploadsReady sync.Map // *Journal -> true once uploadsSchema ran

func (j *Journal) uploadsTables(ctx context.Context) error {
	if _, ok := uploadsReady.Load(j); ok {
		return nil
	}
	if _, err := j.db.ExecContext(ctx, uploadsSchema); err != nil {
		return j.dbError(err)
	}
	uploadsReady.Store(j, true)
	return nil
}

// UploadRecord is how an input came over HTTP.
type UploadRecord struct {
	Job        string
	Client     string // the client's name; "" when the API is open
	Key        string // Idempotency-Key
	BodySHA256 string
	MessageID  string // the facade's message ID (a GUID); "" for /api/v1 uploads
	Activity   string
	Entity     string
	Company    string
	ExternalID string // x-ms-dyn-externalidentifier
	Created    time.Time
}

const uploadColumns = `job, client, idem_key, body_sha256, message_id, activity, entity, company, external_id, created`

func scanUpload(row interface{ Scan(...any) error }) (*UploadRecord, error) {
	var u UploadRecord
	var created string
	err := row.Scan(&u.Job, &u.Client, &u.Key, &u.BodySHA256, &u.MessageID, &u.Activity, &u.Entity, &u.Company, &u.ExternalID, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	u.Created = parseDBTime(created)
	return &u, nil
}

// putUpload records how job's input came.
func (j *Journal) putUpload(ctx context.Context, u *UploadRecord) error {
	if err := j.uploadsTables(ctx); err != nil {
		return err
	}
	if err := j.fault.Load(); err != nil {
		return fmt.Errorf("journal: record upload of job %s: %w", u.Job, *err)
	}
	_, err := j.db.ExecContext(ctx, `INSERT INTO uploads(`+uploadColumns+`) VALUES(?,?,?,?,?,?,?,?,?,?)`,
		u.Job, u.Client, u.Key, u.BodySHA256, u.MessageID, u.Activity, u.Entity, u.Company, u.ExternalID, dbTime(u.Created))
	if err != nil {
		return fmt.Errorf("journal: record upload of job %s: %w", u.Job, err)
	}
	return nil
}

// UploadByKey returns the upload client sent with Idempotency-Key key, or nil.
func (j *Journal) UploadByKey(ctx context.Context, client, key string) (*UploadRecord, error) {
	if err := j.uploadsTables(ctx); err != nil {
		return nil, err
	}
	return scanUpload(j.db.QueryRowContext(ctx, `SELECT `+uploadColumns+` FROM uploads WHERE client = ? AND idem_key = ?`, client, key))
}

// UploadOfJob returns how job's input came over HTTP, or nil. It only
// reads: a journal of a workspace that never served the API has no
// uploads, and gets no table for them (erpipe jobs show reads with it).
func (j *Journal) UploadOfJob(ctx context.Context, job string) (*UploadRecord, error) {
	u, err := scanUpload(j.db.QueryRowContext(ctx, `SELECT `+uploadColumns+` FROM uploads WHERE job = ?`, job))
	if err != nil && strings.Contains(err.Error(), "no such table") {
		return nil, nil
	}
	return u, err
}

// UploadByMessage returns the upload whose facade message ID is id, or nil.
func (j *Journal) UploadByMessage(ctx context.Context, id string) (*UploadRecord, error) {
	if err := j.uploadsTables(ctx); err != nil {
		return nil, err
	}
	return scanUpload(j.db.QueryRowContext(ctx, `SELECT `+uploadColumns+` FROM uploads WHERE message_id = ? COLLATE NOCASE`, id))
}

// QueueMessage is an output on the facade's dequeue queue.
type QueueMessage struct {
	MessageID   string // the CorrelationId
	Activity    string
	Job         string
	Output      string // the output's name in the job
	Blob        string
	PopReceipt  string
	Dequeues    int
	LastDequeue time.Time // the dequeue before this one; zero at the first
	Acked       bool
	Downloaded  bool
}

// ActivitySince is when the facade first served activity: its queue
// holds the outputs of jobs that ended from then on.
func (j *Journal) ActivitySince(ctx context.Context, activity string, now time.Time) (time.Time, error) {
	if err := j.uploadsTables(ctx); err != nil {
		return time.Time{}, err
	}
	if _, err := j.db.ExecContext(ctx, `INSERT INTO connector_activities(activity, since) VALUES(?, ?) ON CONFLICT(activity) DO NOTHING`, activity, dbTime(now)); err != nil {
		return time.Time{}, fmt.Errorf("journal: %w", err)
	}
	var since string
	if err := j.db.QueryRowContext(ctx, `SELECT since FROM connector_activities WHERE activity = ?`, activity).Scan(&since); err != nil {
		return time.Time{}, fmt.Errorf("journal: %w", err)
	}
	return parseDBTime(since), nil
}

// Offer puts output of job on activity's queue, once: newID makes the
// message and blob IDs of one not there yet.
func (j *Journal) Offer(ctx context.Context, activity, job, output string, created time.Time, newID func() string) error {
	if err := j.uploadsTables(ctx); err != nil {
		return err
	}
	_, err := j.db.ExecContext(ctx, `INSERT INTO connector_queue(message_id, activity, job, output, blob, created) VALUES(?,?,?,?,?,?)
		ON CONFLICT(activity, job, output) DO NOTHING`, newID(), activity, job, output, newID(), dbTime(created))
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	return nil
}

// Dequeue hands out the oldest message of activity that is not acked and
// visible at now, with a new pop receipt, hidden until now+visibility;
// nil when none waits.
func (j *Journal) Dequeue(ctx context.Context, activity string, now time.Time, visibility time.Duration, pop string) (*QueueMessage, error) {
	if err := j.uploadsTables(ctx); err != nil {
		return nil, err
	}
	tx, err := j.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	defer tx.Rollback()
	var m QueueMessage
	var last string
	err = tx.QueryRowContext(ctx, `SELECT message_id, activity, job, output, blob, dequeues, last_dequeue FROM connector_queue
		WHERE activity = ? AND acked = 0 AND visible_at <= ? ORDER BY created, message_id LIMIT 1`, activity, dbTime(now)).
		Scan(&m.MessageID, &m.Activity, &m.Job, &m.Output, &m.Blob, &m.Dequeues, &last)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE connector_queue SET pop_receipt = ?, visible_at = ?, dequeues = dequeues + 1, last_dequeue = ? WHERE message_id = ?`,
		pop, dbTime(now.Add(visibility)), dbTime(now), m.MessageID); err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	m.PopReceipt, m.Dequeues, m.LastDequeue = pop, m.Dequeues+1, parseDBTime(last)
	return &m, nil
}

// QueuedMessage returns message id of activity, or nil.
func (j *Journal) QueuedMessage(ctx context.Context, activity, id string) (*QueueMessage, error) {
	if err := j.uploadsTables(ctx); err != nil {
		return nil, err
	}
	var m QueueMessage
	var last string
	var acked, downloaded int
	err := j.db.QueryRowContext(ctx, `SELECT message_id, activity, job, output, blob, pop_receipt, dequeues, last_dequeue, acked, downloaded
		FROM connector_queue WHERE activity = ? AND message_id = ? COLLATE NOCASE`, activity, id).Scan(&m.MessageID, &m.Activity, &m.Job, &m.Output, &m.Blob, &m.PopReceipt, &m.Dequeues, &last, &acked, &downloaded)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	m.LastDequeue, m.Acked, m.Downloaded = parseDBTime(last), acked != 0, downloaded != 0
	return &m, nil
}

// MarkDownloaded records that message id was downloaded.
func (j *Journal) MarkDownloaded(ctx context.Context, id string) error {
	_, err := j.db.ExecContext(ctx, `UPDATE connector_queue SET downloaded = 1 WHERE message_id = ?`, id)
	return err
}

// Ack acks message id when pop is its last pop receipt, and reports
// whether it did (or had).
func (j *Journal) Ack(ctx context.Context, id, pop string) (bool, error) {
	res, err := j.db.ExecContext(ctx, `UPDATE connector_queue SET acked = 1 WHERE message_id = ? AND (acked = 1 OR pop_receipt = ? COLLATE NOCASE)`, id, pop)
	if err != nil {
		return false, fmt.Errorf("journal: %w", err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// OfferedUntil is the creation time up to which every job of activity's
// pipeline has ended and been offered (zero: none yet): a dequeue looks
// at the jobs from there on only.
func (j *Journal) OfferedUntil(ctx context.Context, activity string) (time.Time, error) {
	if err := j.uploadsTables(ctx); err != nil {
		return time.Time{}, err
	}
	var until string
	err := j.db.QueryRowContext(ctx, `SELECT until FROM connector_marks WHERE activity = ?`, activity).Scan(&until)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("journal: %w", err)
	}
	return parseDBTime(until), nil
}

// SetOfferedUntil records OfferedUntil.
func (j *Journal) SetOfferedUntil(ctx context.Context, activity string, until time.Time) error {
	_, err := j.db.ExecContext(ctx, `INSERT INTO connector_marks(activity, until) VALUES(?, ?)
		ON CONFLICT(activity) DO UPDATE SET until = excluded.until`, activity, dbTime(until))
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	return nil
}
