package events

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Schema is the outbox: one row per delivery of an event to a webhook.
// The job journal creates it (package jobs), beside its own tables.
const Schema = `
CREATE TABLE IF NOT EXISTS event_deliveries (
	seq          INTEGER PRIMARY KEY AUTOINCREMENT,
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
`

// DeliveryStatus is where the delivery of an event to a webhook is.
type DeliveryStatus string

// Delivery statuses.
const (
	Pending   DeliveryStatus = "pending"   // not delivered yet; tried at NextAttempt
	Delivered DeliveryStatus = "delivered" // the webhook answered 2xx
	GivenUp   DeliveryStatus = "given-up"  // not delivered within the webhook's give_up_after
	Dropped   DeliveryStatus = "dropped"   // the webhook left erpipe.yaml before it was delivered
)

// Delivery is one event's delivery to one webhook.
type Delivery struct {
	Seq         int64          `json:"-"`
	EventID     string         `json:"event_id"`
	Type        Type           `json:"type"`
	Webhook     string         `json:"webhook"`
	Pipeline    string         `json:"pipeline,omitempty"`
	Schedule    string         `json:"schedule,omitempty"`
	Job         string         `json:"job,omitempty"`
	Created     time.Time      `json:"created"`
	Status      DeliveryStatus `json:"status"`
	Attempts    int            `json:"attempts"`
	NextAttempt time.Time      `json:"next_attempt,omitzero"`
	LastAttempt time.Time      `json:"last_attempt,omitzero"`
	LastCode    int            `json:"last_code,omitempty"`  // the HTTP status of the last answer
	LastError   string         `json:"last_error,omitempty"` // why the last attempt failed
	Delivered   time.Time      `json:"delivered,omitzero"`
	Body        []byte         `json:"-"`
}

// Execer is a transaction or a database.
type Execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// Add writes a pending delivery of ev to each of its Webhooks, through tx:
// the caller's transaction, which records the change of state the event
// tells of, so that both are written or neither. An event with no
// webhooks (or nil) writes nothing. job names the job the event belongs to, for
// erpipe jobs show.
func Add(ctx context.Context, tx Execer, ev *Event, job string) error {
	if ev == nil || len(ev.Webhooks) == 0 {
		return nil
	}
	body, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	created := dbTime(ev.Time)
	for _, hook := range ev.Webhooks {
		_, err := tx.ExecContext(ctx, `INSERT INTO event_deliveries(event_id, webhook, type, pipeline, schedule, job, created, body, status, next_attempt)
			VALUES(?,?,?,?,?,?,?,?,?,?) ON CONFLICT(event_id, webhook) DO NOTHING`,
			ev.ID, hook, string(ev.Type), ev.Pipeline, ev.Schedule, job, created, string(body), string(Pending), created)
		if err != nil {
			return fmt.Errorf("journal: record event %s for webhook %s: %w", ev.ID, hook, err)
		}
	}
	return nil
}

// Store reads and updates the outbox.
type Store struct {
	db   *sql.DB
	wake chan struct{}
}

// NewStore returns the outbox in db, whose tables Schema made.
func NewStore(db *sql.DB) *Store { return &Store{db: db, wake: make(chan struct{}, 1)} }

// Notify tells a Dispatcher in this process that events were added.
func (s *Store) Notify() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

const deliveryColumns = `seq, event_id, type, webhook, pipeline, schedule, job, created, status, attempts, next_attempt, last_attempt, last_code, last_error, delivered`

func scanDeliveries(rows *sql.Rows, withBody bool) ([]*Delivery, error) {
	defer rows.Close()
	var out []*Delivery
	for rows.Next() {
		var d Delivery
		var typ, status, created, next, last, delivered, body string
		dest := []any{&d.Seq, &d.EventID, &typ, &d.Webhook, &d.Pipeline, &d.Schedule, &d.Job, &created, &status,
			&d.Attempts, &next, &last, &d.LastCode, &d.LastError, &delivered}
		if withBody {
			dest = append(dest, &body)
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, fmt.Errorf("journal: events: %w", err)
		}
		d.Type, d.Status = Type(typ), DeliveryStatus(status)
		d.Created, d.LastAttempt, d.Delivered = parseTime(created), parseTime(last), parseTime(delivered)
		if d.Status == Pending {
			d.NextAttempt = parseTime(next)
		}
		d.Body = []byte(body)
		out = append(out, &d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("journal: events: %w", err)
	}
	return out, nil
}

// Due returns up to limit pending deliveries whose next attempt has come
// at now, oldest first, with their bodies.
func (s *Store) Due(ctx context.Context, now time.Time, limit int) ([]*Delivery, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+deliveryColumns+`, body FROM event_deliveries
		WHERE status = ? AND next_attempt <= ? ORDER BY next_attempt, seq LIMIT ?`, string(Pending), dbTime(now), limit)
	if err != nil {
		return nil, fmt.Errorf("journal: events: %w", err)
	}
	return scanDeliveries(rows, true)
}

// DueFor is Due for one webhook's deliveries.
func (s *Store) DueFor(ctx context.Context, webhook string, now time.Time, limit int) ([]*Delivery, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+deliveryColumns+`, body FROM event_deliveries
		WHERE status = ? AND next_attempt <= ? AND webhook = ? ORDER BY next_attempt, seq LIMIT ?`, string(Pending), dbTime(now), webhook, limit)
	if err != nil {
		return nil, fmt.Errorf("journal: events: %w", err)
	}
	return scanDeliveries(rows, true)
}

// PendingWebhooks returns the webhooks that have pending deliveries.
func (s *Store) PendingWebhooks(ctx context.Context) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT DISTINCT webhook FROM event_deliveries WHERE status = ?`, string(Pending))
	if err != nil {
		return nil, fmt.Errorf("journal: events: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return nil, fmt.Errorf("journal: events: %w", err)
		}
		out = append(out, name)
	}
	return out, rows.Err()
}

// NextDue returns when the earliest pending delivery (of webhook, or of
// any when it is "") is due, or false when none is pending.
func (s *Store) NextDue(ctx context.Context, webhook string) (time.Time, bool, error) {
	var next sql.NullString
	err := s.db.QueryRowContext(ctx, `SELECT MIN(next_attempt) FROM event_deliveries WHERE status = ? AND (? = '' OR webhook = ?)`,
		string(Pending), webhook, webhook).Scan(&next)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("journal: events: %w", err)
	}
	if !next.Valid {
		return time.Time{}, false, nil
	}
	return parseTime(next.String), true, nil
}

// Result records the outcome of an attempt: d's Status, Attempts,
// NextAttempt, LastAttempt, LastCode, LastError and Delivered as the
// caller set them.
func (s *Store) Result(ctx context.Context, d *Delivery) error {
	_, err := s.db.ExecContext(ctx, `UPDATE event_deliveries SET status = ?, attempts = ?, next_attempt = ?, last_attempt = ?,
		last_code = ?, last_error = ?, delivered = ? WHERE seq = ?`,
		string(d.Status), d.Attempts, dbTime(d.NextAttempt), dbTime(d.LastAttempt), d.LastCode, d.LastError, dbTime(d.Delivered), d.Seq)
	if err != nil {
		return fmt.Errorf("journal: events: record the delivery of %s to %s: %w", d.EventID, d.Webhook, err)
	}
	return nil
}

// ForJobs returns the deliveries of the events of the given jobs, by job,
// oldest first.
func (s *Store) ForJobs(ctx context.Context, ids []string) (map[string][]*Delivery, error) {
	out := map[string][]*Delivery{}
	for len(ids) > 0 {
		batch := ids[:min(len(ids), 500)]
		ids = ids[len(batch):]
		args := make([]any, len(batch))
		for i, id := range batch {
			args[i] = id
		}
		rows, err := s.db.QueryContext(ctx, `SELECT `+deliveryColumns+` FROM event_deliveries WHERE job IN (?`+
			strings.Repeat(",?", len(batch)-1)+`) ORDER BY seq`, args...)
		if err != nil {
			return nil, fmt.Errorf("journal: events: %w", err)
		}
		list, err := scanDeliveries(rows, false)
		if err != nil {
			return nil, err
		}
		for _, d := range list {
			out[d.Job] = append(out[d.Job], d)
		}
	}
	return out, nil
}

// List returns every delivery, oldest first (limit > 0: the newest
// limit).
func (s *Store) List(ctx context.Context, limit int) ([]*Delivery, error) {
	q := `SELECT ` + deliveryColumns + ` FROM event_deliveries ORDER BY seq`
	if limit > 0 {
		q = fmt.Sprintf(`SELECT * FROM (SELECT %s FROM event_deliveries ORDER BY seq DESC LIMIT %d) ORDER BY seq`, deliveryColumns, limit)
	}
	rows, err := s.db.QueryContext(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("journal: events: %w", err)
	}
	return scanDeliveries(rows, false)
}

// Backlog is the deliveries of one webhook by status, and how old its
// oldest pending one is.
type Backlog struct {
	Webhook       string
	ByStatus      map[DeliveryStatus]int
	OldestPending time.Time // zero when none is pending
}

// Backlogs returns the outbox by webhook.
func (s *Store) Backlogs(ctx context.Context) ([]Backlog, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT webhook, status, COUNT(*), MIN(created) FROM event_deliveries
		GROUP BY webhook, status ORDER BY webhook`)
	if err != nil {
		return nil, fmt.Errorf("journal: events: %w", err)
	}
	defer rows.Close()
	var out []Backlog
	for rows.Next() {
		var hook, status, oldest string
		var n int
		if err := rows.Scan(&hook, &status, &n, &oldest); err != nil {
			return nil, fmt.Errorf("journal: events: %w", err)
		}
		if len(out) == 0 || out[len(out)-1].Webhook != hook {
			out = append(out, Backlog{Webhook: hook, ByStatus: map[DeliveryStatus]int{}})
		}
		b := &out[len(out)-1]
		b.ByStatus[DeliveryStatus(status)] = n
		if DeliveryStatus(status) == Pending {
			b.OldestPending = parseTime(oldest)
		}
	}
	return out, rows.Err()
}

// dbLayout is the journal's: UTC with all nine decimals, so that times
// compare as text.
const dbLayout = "2006-01-02T15:04:05.000000000Z"

func dbTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(dbLayout)
}

func parseTime(s string) time.Time {
	t, _ := time.Parse(time.RFC3339Nano, s)
	return t
}
