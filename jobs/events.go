package jobs

import (
	"context"
	"fmt"
	"time"

	"github.com/erpipe/erpipe/events"
	"github.com/erpipe/erpipe/workspace"
)

// Business events (package events) are written to the journal's outbox
// in the same transaction as the change of a job that causes them
// (Journal.Put): a job that ended has its job.ended or job.failed event
// recorded with its final status, once; a job whose destination is
// unavailable, destination.waiting with the first record of its wait;
// a scheduled period, period.produced or period.failed with its run's end
// (Runs.Finish). The daemon's events.Dispatcher delivers them.

// putEvents writes the record body of job and the deliveries of evs in
// one transaction.
func (j *Journal) putEvents(ctx context.Context, job *Job, body []byte, evs []*events.Event) error {
	err := j.inTx(ctx, func(tx execer) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO jobs(id, pipeline, input, input_sha256, status, final_status, created, body)
			VALUES(?,?,?,?,?,?,?,?)
			ON CONFLICT(id) DO UPDATE SET input_sha256=excluded.input_sha256, status=excluded.status,
				final_status=excluded.final_status, body=excluded.body`,
			job.ID, job.Pipeline, job.Input, job.InputSHA256, string(job.Status), string(job.FinalStatus),
			dbTime(job.Created), string(body))
		for _, ev := range evs {
			if err == nil {
				err = events.Add(ctx, tx, ev, job.ID)
			}
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("journal: record job %s: %w", job.ID, err)
	}
	return nil
}

type execer = events.Execer

// inTx runs f in a transaction of the journal's database, and wakes the
// events' dispatcher once it is committed.
func (j *Journal) inTx(ctx context.Context, f func(tx execer) error) error {
	tx, err := j.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := f(tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	j.events.Notify()
	return nil
}

// withEvents fills in the event deliveries of jobs.
func (j *Journal) withEvents(ctx context.Context, jobs []*Job) error {
	if len(jobs) == 0 {
		return nil
	}
	ids := make([]string, len(jobs))
	for i, job := range jobs {
		ids[i] = job.ID
	}
	byJob, err := j.events.ForJobs(ctx, ids)
	if err != nil {
		return err
	}
	for _, job := range jobs {
		job.Events = byJob[job.ID]
	}
	return nil
}

// endEvent is the event of job's end, job.ended or job.failed, routed
// to the webhooks of ws; nil when none takes it.
func endEvent(ws *workspace.Workspace, job *Job, now time.Time) *events.Event {
	t := events.JobEnded
	if job.Status == Failed {
		t = events.JobFailed
	}
	ev := events.New(t, now, job.Pipeline, "", ws.Webhooks())
	if len(ev.Webhooks) == 0 {
		return nil
	}
	ev.Job = jobInfo(job)
	return ev
}

// waitingEvent is the destination.waiting event of job, which waits for
// what job.Pending says; nil when no webhook takes it.
func waitingEvent(ws *workspace.Workspace, job *Job, now time.Time) *events.Event {
	ev := events.New(events.DestinationWaiting, now, job.Pipeline, "", ws.Webhooks())
	if len(ev.Webhooks) == 0 {
		return nil
	}
	ev.Job, ev.WaitingFor = jobInfo(job), job.Pending
	return ev
}

// PeriodEvent is the event of the end of a scheduled run, period.produced
// or period.failed, routed to the webhooks of ws; nil when none takes it.
// job is the run's attempt.
func PeriodEvent(ws *workspace.Workspace, run *Run, job *Job, now time.Time) *events.Event {
	t := events.PeriodProduced
	if run.Status == RunFailed {
		t = events.PeriodFailed
	}
	ev := events.New(t, now, "", run.Schedule, ws.Webhooks())
	if len(ev.Webhooks) == 0 {
		return nil
	}
	ev.Job = jobInfo(job)
	ev.Period = &events.Period{Name: run.Period, Version: run.Version, Attempt: run.Attempts, Error: run.Error, NextAttempt: run.NextAttempt}
	if s := job.Submission; s != nil {
		ev.Period.Start, ev.Period.End = s.PeriodStart, s.PeriodEnd
	}
	return ev
}

// jobInfo is what an event says of job.
func jobInfo(job *Job) *events.Job {
	j := &events.Job{ID: job.ID, Status: string(job.Status), Input: job.Input, InputSHA256: job.InputSHA256,
		Template: job.Template, TemplateVersion: job.TemplateVersion, RowsRead: job.Read, RowsWritten: job.Written,
		RowsRejected: job.Rejected, RetryOf: job.RetryOf, DuplicateOf: job.DuplicateOf,
		Created: job.Created, Started: job.Started, Finished: job.Finished}
	j.Errors = job.Errors[:min(len(job.Errors), events.MaxErrors)]
	for _, o := range job.Outputs {
		j.Outputs = append(j.Outputs, events.Output{Name: o.Name, SHA256: o.SHA256, Size: o.Size, Destination: o.Destination, Location: o.Location})
	}
	return j
}

// nonNil returns the events of evs that are not nil.
func nonNil(evs ...*events.Event) []*events.Event {
	var out []*events.Event
	for _, ev := range evs {
		if ev != nil {
			out = append(out, ev)
		}
	}
	return out
}

// Webhooks are the webhooks of the configuration the service serves now,
// for the events' dispatcher.
func (s *Service) Webhooks() []events.Webhook { return s.current().ws.Webhooks() }
