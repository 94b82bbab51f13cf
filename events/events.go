// Package events is erpipe's business events: what happened to a job or a
// scheduled period, told to other systems by webhooks. An event is written
// to a durable outbox in the job journal's database in the same
// transaction as the change of state that causes it (Add), and a
// Dispatcher delivers it at least once to each webhook that subscribes to
// it, retrying with capped exponential back-off, also across restarts.
// Every request is signed with HMAC-SHA256 over a timestamp and the body
// (Sign, Verify), so that a receiver can tell erpipe's requests from
// others' and refuse replays.
//
// The package knows no jobs, schedules or configuration files: package
// jobs and package schedule make the events, package workspace reads the
// webhooks from erpipe.yaml.
package events

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Type is what happened.
type Type string

// The event types.
const (
	JobEnded           Type = "job.ended"           // a dropped file's job ended Processed, ProcessedWithErrors or Duplicate
	JobFailed          Type = "job.failed"          // a dropped file's job ended Failed
	PeriodProduced     Type = "period.produced"     // a schedule's period was produced and delivered
	PeriodFailed       Type = "period.failed"       // an attempt to produce a schedule's period failed
	DestinationWaiting Type = "destination.waiting" // a job's destination is unavailable and the job waits for it
)

// Types are every event type.
var Types = []Type{JobEnded, JobFailed, PeriodProduced, PeriodFailed, DestinationWaiting}

// ParseType returns the type named s, or an error that lists them.
func ParseType(s string) (Type, error) {
	if slices.Contains(Types, Type(s)) {
		return Type(s), nil
	}
	names := make([]string, len(Types))
	for i, t := range Types {
		names[i] = string(t)
	}
	return "", fmt.Errorf("%q is not an event type; use one of %s", s, strings.Join(names, ", "))
}

// Event is one business event: its JSON form is the body of the webhook
// request.
type Event struct {
	ID       string    `json:"id"` // the same on every delivery of the event, to every webhook
	Type     Type      `json:"type"`
	Time     time.Time `json:"time"` // when it happened
	Pipeline string    `json:"pipeline,omitempty"`
	Schedule string    `json:"schedule,omitempty"`
	Job      *Job      `json:"job,omitempty"`
	Period   *Period   `json:"period,omitempty"`
	// WaitingFor says, for destination.waiting, which output waits for
	// which destination and why.
	WaitingFor []string `json:"waiting_for,omitempty"`

	// Webhooks are the names of the webhooks the event goes to (Route);
	// Add writes a delivery for each.
	Webhooks []string `json:"-"`
}

// Job is the job an event is about.
type Job struct {
	ID              string    `json:"id"`
	Status          string    `json:"status"`
	Input           string    `json:"input,omitempty"`
	InputSHA256     string    `json:"input_sha256,omitempty"`
	Template        string    `json:"template,omitempty"`
	TemplateVersion string    `json:"template_version,omitempty"`
	RowsRead        int       `json:"rows_read"`
	RowsWritten     int       `json:"rows_written"`
	RowsRejected    int       `json:"rows_rejected"`
	Outputs         []Output  `json:"outputs,omitempty"`
	Errors          []string  `json:"errors,omitempty"` // the first few; erpipe jobs show has them all
	RetryOf         string    `json:"retry_of,omitempty"`
	DuplicateOf     string    `json:"duplicate_of,omitempty"`
	Created         time.Time `json:"created,omitzero"`
	Started         time.Time `json:"started,omitzero"`
	Finished        time.Time `json:"finished,omitzero"`
}

// Output is one result of a job and where it was delivered.
type Output struct {
	Name        string `json:"name"`
	SHA256      string `json:"sha256"`
	Size        int64  `json:"size"`
	Destination string `json:"destination"`
	Location    string `json:"location"`
}

// Period is the scheduled period an event is about.
type Period struct {
	Name        string    `json:"name"`  // 2026-10
	Start       string    `json:"start"` // yyyy-MM-dd, included
	End         string    `json:"end"`   // yyyy-MM-dd, included
	Version     int       `json:"version"`
	Attempt     int       `json:"attempt"`
	Error       string    `json:"error,omitempty"`
	NextAttempt time.Time `json:"next_attempt,omitzero"` // period.failed: when it is tried again; absent when no attempts are left
}

// MaxErrors caps the errors an event carries.
const MaxErrors = 5

// NewID returns a new event id: evt_ and 26 hexadecimal digits, the first
// ten the time, so that ids sort roughly by time.
func NewID(now time.Time) string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("evt_%010x%s", now.UnixMilli()&0xffffffffff, hex.EncodeToString(b[:]))
}

// New returns an event of type t at now with a new id, routed to the
// webhooks of hooks that subscribe to it for pipeline or schedule.
func New(t Type, now time.Time, pipeline, schedule string, hooks []Webhook) *Event {
	return &Event{ID: NewID(now), Type: t, Time: now.UTC(), Pipeline: pipeline, Schedule: schedule,
		Webhooks: Route(hooks, t, pipeline, schedule)}
}
