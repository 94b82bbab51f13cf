// Package jobs is erpipe's orchestration: the job journal, and the service
// that takes files from the inboxes, runs their pipeline's template,
// delivers the results and files the input away, so that every file dropped
// ends archived or in errors exactly once, crash or not.
package jobs

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/erpipe/erpipe/events"
)

// Status is where a job is in its life. The names follow D365's recurring
// integrations.
type Status string

// Job statuses.
const (
	Enqueued            Status = "Enqueued"            // claimed, not started
	Processing          Status = "Processing"          // the template is running or results are being delivered
	Processed           Status = "Processed"           // every row made it to every destination
	ProcessedWithErrors Status = "ProcessedWithErrors" // delivered, but some rows were rejected
	Failed              Status = "Failed"              // nothing was delivered; the input is in errors/
	Duplicate           Status = "Duplicate"           // the same content was processed before; archived, not processed
)

// Statuses are every Status, in the order of a job's life.
var Statuses = []Status{Enqueued, Processing, Processed, ProcessedWithErrors, Failed, Duplicate}

// ParseStatus returns the status named s, in any letter case ("failed",
// "processedwitherrors"), or an error that lists them.
func ParseStatus(s string) (Status, error) {
	for _, st := range Statuses {
		if strings.EqualFold(string(st), strings.TrimSpace(s)) {
			return st, nil
		}
	}
	names := make([]string, len(Statuses))
	for i, st := range Statuses {
		names[i] = string(st)
	}
	return "", fmt.Errorf("%q is not a job status; use one of %s", s, strings.Join(names, ", "))
}

// Final reports whether the job has ended.
func (s Status) Final() bool {
	switch s {
	case Processed, ProcessedWithErrors, Failed, Duplicate:
		return true
	}
	return false
}

// Output is one result file and where it was delivered.
type Output struct {
	Name        string `json:"name"`
	SHA256      string `json:"sha256"`
	Size        int64  `json:"size"`
	Destination string `json:"destination"`
	Location    string `json:"location"`
}

// Job is one input file's trip through a pipeline.
type Job struct {
	ID              string   `json:"id"`
	Pipeline        string   `json:"pipeline"`
	Input           string   `json:"input"` // the file's name as dropped
	InputSHA256     string   `json:"input_sha256,omitempty"`
	InputSize       int64    `json:"input_size"`
	Template        string   `json:"template"`
	TemplateVersion string   `json:"template_version"`
	TemplateHash    string   `json:"template_hash,omitempty"`
	Status          Status   `json:"status"`
	Read            int      `json:"rows_read"`
	Written         int      `json:"rows_written"`
	Rejected        int      `json:"rows_rejected"`
	Warnings        int      `json:"warnings"`
	Outputs         []Output `json:"outputs,omitempty"`
	Pending         []string `json:"pending,omitempty"` // destinations still to acknowledge, with the last error
	// DeliveryRetries counts the deliveries tried again because a
	// destination was unavailable (keepDelivering).
	DeliveryRetries int      `json:"delivery_retries,omitempty"`
	Errors          []string `json:"errors,omitempty"` // the first errors, for people
	// DeliveryProblems are what a receiver that processes outputs (D365)
	// reported of the part it refused; the job then ends with errors.
	DeliveryProblems []string `json:"delivery_problems,omitempty"`
	WarningTexts     []string `json:"warning_texts,omitempty"` // the first warnings, for people (Warnings counts them all)
	Notes            []string `json:"notes,omitempty"`         // what is worth knowing and is not an error: which job this one retries
	RejectedFile     string   `json:"rejected_file,omitempty"` // the rejected rows, beside the report
	Report           string   `json:"report,omitempty"`        // the report (.error.txt), when there is one
	DuplicateOf      string   `json:"duplicate_of,omitempty"`
	RetryOf          string   `json:"retry_of,omitempty"`     // the job whose input this one processes again (erpipe retry)
	ClaimedPath      string   `json:"claimed_path,omitempty"` // where the input sits while the job runs
	FinalPath        string   `json:"final_path,omitempty"`   // where the input ends: archive/ or errors/
	FinalStatus      Status   `json:"-"`                      // the status the job takes once the input is at FinalPath
	Attempts         int      `json:"attempts,omitempty"`     // runs started and not handed back by a stop (see MaxAttempts)
	// Node is the cluster node that ran the job's latest attempt; ""
	// when erpipe runs alone (cluster.go).
	Node string `json:"node,omitempty"`
	// InboxPath and InboxVersion are, in a cluster, where the input was
	// found and which version of it (inode, size, time) was claimed: the
	// node that runs the job moves it from there into ClaimedPath.
	InboxPath    string `json:"inbox_path,omitempty"`
	InboxVersion string `json:"inbox_version,omitempty"`
	// Marker is the readiness marker of the input in the inbox, removed
	// with its move (cluster.go).
	Marker   string    `json:"marker,omitempty"`
	Created  time.Time `json:"created"`
	Started  time.Time `json:"started,omitzero"`
	Finished time.Time `json:"finished,omitzero"`
	Progress *Progress `json:"progress,omitempty"` // how far a running job has read its input (progress.go); nil once it has read it
	// Submission is the audit trail of a scheduled run (runs.go); nil for
	// jobs of dropped files.
	Submission *Submission `json:"submission,omitempty"`
	// Events are the deliveries of the job's business events to webhooks
	// (events.go), read from the journal's outbox; never kept in the
	// record.
	Events []*events.Delivery `json:"events,omitempty"`

	// setup is the configuration the job runs by (reload.go); nil until
	// it is bound.
	setup *setup
}

// NewID returns a job id that sorts by time and is short enough to type:
// 20261127-054401-a3f2c9. Ids are random within a second; callers make
// sure an id is not taken (Service.Take does).
func NewID(now time.Time) string {
	var b [3]byte
	_, _ = rand.Read(b[:])
	return now.UTC().Format("20060102-150405") + "-" + hex.EncodeToString(b[:])
}

// clone is a copy of j that shares nothing j's holder may read while the
// copy changes: its lists are copied.
func (j *Job) clone() *Job {
	c := *j
	c.Outputs = slices.Clone(j.Outputs)
	c.Pending = slices.Clone(j.Pending)
	c.Errors = slices.Clone(j.Errors)
	c.DeliveryProblems = slices.Clone(j.DeliveryProblems)
	c.WarningTexts = slices.Clone(j.WarningTexts)
	c.Notes = slices.Clone(j.Notes)
	c.Events = slices.Clone(j.Events)
	if j.Progress != nil {
		p := *j.Progress
		c.Progress = &p
	}
	return &c
}
