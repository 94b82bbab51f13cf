package schedule

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/erpipe/erpipe/jobs"
	"github.com/erpipe/erpipe/workspace"
)

// Runner produces the schedules' periods: at start it makes up the runs
// missed while erpipe was down (oldest first), then it produces each period
// when its run comes, and tries failed periods again per their retry
// policy.
type Runner struct {
	ws        *workspace.Workspace
	journal   *jobs.Journal
	runs      *jobs.Runs
	log       *slog.Logger
	schedules []*Schedule
	owner     string
	reloaded  chan reload // Reload's, taken by Run between two ticks

	// Now is the clock. Tests give it another "now" (see Clock).
	Now func() time.Time
	// Poll is the longest the runner sleeps between checks (default 1m),
	// so that a clock jump (a machine waking up) is noticed.
	Poll time.Duration
	// OwnerAlive, when set (a node of a cluster), tells whether the owner
	// of a run still runs: then runs of owners that do not are settled at
	// every check, not only at the start, so that a period a dead node
	// was producing is taken over by another.
	OwnerAlive func(owner string) bool
}

// SetOwner names who claims runs (default pid@host); a node of a cluster
// gives its own name (jobs.Cluster.ScheduleOwner).
func (r *Runner) SetOwner(owner string) { r.owner = owner }

// NewRunner prepares a runner for the schedules of ws (see Load).
func NewRunner(ctx context.Context, ws *workspace.Workspace, journal *jobs.Journal, log *slog.Logger, schedules []*Schedule) (*Runner, error) {
	runs, err := journal.Runs(ctx)
	if err != nil {
		return nil, err
	}
	host, _ := os.Hostname()
	return &Runner{ws: ws, journal: journal, runs: runs, log: log, schedules: schedules,
		owner: fmt.Sprintf("%d@%s", os.Getpid(), host), Now: time.Now, Poll: time.Minute,
		reloaded: make(chan reload, 1)}, nil
}

// reload is a changed configuration for a running Runner.
type reload struct {
	ws        *workspace.Workspace
	schedules []*Schedule
}

// Reloader checks the schedules of a changed workspace configuration
// (Load) and returns how to give them to the running Runner: Run takes
// them between two ticks, so a run in progress ends by the schedule it
// started with. It is a jobs.Reloader.
func (r *Runner) Reloader(ws *workspace.Workspace) (take func(), err error) {
	list, err := Load(ws)
	if err != nil {
		return nil, err
	}
	return func() {
		select { // a reload not yet taken is replaced by this one
		case <-r.reloaded:
		default:
		}
		r.reloaded <- reload{ws, list}
	}, nil
}

// take makes a reloaded configuration the runner's.
func (r *Runner) take(c reload) {
	var names []string
	for _, s := range c.schedules {
		names = append(names, s.Name)
	}
	r.ws, r.schedules = c.ws, c.schedules
	r.log.Info("schedules reloaded", "schedules", strings.Join(names, ", "))
}

// Schedules returns the runner's schedules.
func (r *Runner) Schedules() []*Schedule { return r.schedules }

// Clock returns the clock erpipe runs by: the real one, unless the
// environment variable ERPIPE_NOW holds an RFC 3339 time, which is then
// "now" at the moment of the call and runs on from there. It is meant for
// tests, which must not wait for month ends; an unreadable value is an
// error.
func Clock() (func() time.Time, error) {
	v := os.Getenv("ERPIPE_NOW")
	if v == "" {
		return time.Now, nil
	}
	base, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return nil, fmt.Errorf("ERPIPE_NOW %q is not a time like 2026-11-03T00:00:00Z", v)
	}
	start := time.Now()
	return func() time.Time { return base.Add(time.Since(start)) }, nil
}

// Run produces due periods until ctx is done. Errors of single runs are
// logged and recorded in the journal; only a journal failure ends Run.
func (r *Runner) Run(ctx context.Context) error {
	if err := r.recoverInterrupted(ctx); err != nil {
		return err
	}
	if len(r.schedules) > 0 {
		r.log.Info("schedules started", "schedules", len(r.schedules))
	}
	for {
		select {
		case c := <-r.reloaded:
			r.take(c)
		default:
		}
		if r.OwnerAlive != nil {
			if err := r.recoverInterrupted(ctx); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return err
			}
		}
		if err := r.Tick(ctx); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		wait := r.Poll
		now := r.Now()
		for _, s := range r.schedules {
			wait = min(wait, s.Next(now).Sub(now))
		}
		next, ok, err := r.runs.NextAttempt(ctx)
		if err != nil {
			return err
		}
		if ok && next.After(now) { // one past is a schedule's that is no longer configured: Tick did the others
			wait = min(wait, next.Sub(now))
		}
		wait = max(wait, 50*time.Millisecond)
		select {
		case <-ctx.Done():
			return nil
		case c := <-r.reloaded:
			r.take(c)
		case <-time.After(wait):
		}
	}
}

// Tick records the periods that have come due and produces every pending
// one, schedule by schedule, oldest period first.
func (r *Runner) Tick(ctx context.Context) error {
	for _, s := range r.schedules {
		if err := r.plan(ctx, s, r.Now()); err != nil {
			return err
		}
		pending, err := r.runs.Pending(ctx, s.Name, r.Now())
		if err != nil {
			return err
		}
		for _, run := range pending {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			p, err := s.Rule.Parse(run.Period)
			if err != nil {
				r.log.Error("a recorded period does not fit the schedule's period rule; run it by hand", "schedule", s.Name, "period", run.Period, "err", err)
				continue
			}
			// A failed attempt (a job) is logged by Produce, once.
			// In a cluster another node may have produced it since it
			// was listed: that is no failure either.
			if job, err := r.Produce(ctx, s, p, false); err != nil && job == nil && !errors.Is(err, jobs.ErrRunning) &&
				!(r.OwnerAlive != nil && errors.Is(err, jobs.ErrProduced)) {
				r.log.Error("scheduled run failed", "schedule", s.Name, "period", p.Name, "err", err)
			}
		}
	}
	return nil
}

// maxFires bounds the run times walked through when making up missed runs.
const maxFires = 100000

// plan records as due every period whose run time came between the last
// check and now (or, the first time, from the schedule's from period on).
func (r *Runner) plan(ctx context.Context, s *Schedule, now time.Time) error {
	checked, ok, err := r.runs.Checked(ctx, s.Name)
	if err != nil {
		return err
	}
	since := now
	if ok {
		since = checked
	}
	if s.From != nil {
		first := time.Date(s.From.Start.Year(), s.From.Start.Month(), s.From.Start.Day(), 0, 0, 0, 0, s.Location).Add(-time.Nanosecond)
		if first.Before(since) {
			since = first
		}
	}
	var due []jobs.Run
	seen := map[string]bool{}
	n := 0
	for t := s.Next(since); !t.After(now); t = s.Next(t) {
		if n++; n > maxFires {
			r.log.Warn("too many missed runs to make up; the oldest are left out", "schedule", s.Name, "since", since)
			break
		}
		p := s.PeriodAt(t)
		if seen[p.Name] || (s.From != nil && p.Start.Before(s.From.Start)) {
			continue
		}
		seen[p.Name] = true
		due = append(due, jobs.Run{Period: p.Name, Start: p.StartDate(), Due: t})
	}
	// Said once, when a period becomes due: a period known already (one
	// that failed with no attempts left, say) is walked over again at
	// every tick when the schedule has a from period, and says nothing
	// more until its state changes, which Produce logs.
	added, err := r.runs.Plan(ctx, s.Name, due, now)
	if len(added) > 0 {
		r.log.Info("periods due", "schedule", s.Name, "periods", strings.Join(added, ", "))
	}
	return err
}

// recoverInterrupted settles the runs a stopped or crashed erpipe left
// Running: produced if their job ended Processed, else failed and tried
// again now.
func (r *Runner) recoverInterrupted(ctx context.Context) error {
	all, err := r.runs.List(ctx, "")
	if err != nil {
		return err
	}
	for _, run := range all {
		if run.Status != jobs.RunRunning || r.ownerAlive(run) {
			continue
		}
		if err := r.settle(ctx, run); err != nil {
			return err
		}
	}
	return nil
}

// settle closes a run whose owner is gone.
func (r *Runner) settle(ctx context.Context, run *jobs.Run) error {
	if run.Job != "" {
		if job, err := r.journal.Get(ctx, run.Job); err == nil && job.Status == jobs.Processed {
			run.Status, run.Error, run.NextAttempt, run.Updated = jobs.RunProduced, "", time.Time{}, r.Now()
			r.log.Info("a run interrupted after it ended is recorded as produced", "schedule", run.Schedule, "period", run.Period, "job", run.Job)
			return r.runs.Finish(ctx, run, jobs.PeriodEvent(r.ws, run, job, run.Updated))
		}
	}
	r.log.Warn("a run was interrupted (erpipe stopped or crashed); it runs again", "schedule", run.Schedule, "period", run.Period, "owner", run.Owner)
	return r.runs.Abandon(ctx, run, "interrupted: erpipe stopped or crashed while it ran ("+run.Owner+")", r.Now())
}

// ownerAlive reports whether the process that claimed run may still be
// running it.
func (r *Runner) ownerAlive(run *jobs.Run) bool {
	if run.Owner == r.owner {
		return true
	}
	if r.OwnerAlive != nil {
		return r.OwnerAlive(run.Owner)
	}
	pidText, host, _ := strings.Cut(run.Owner, "@")
	if _, me, _ := strings.Cut(r.owner, "@"); host != me {
		// Another machine: trust it for twice the job timeout.
		return time.Since(run.Updated) < 2*r.ws.Config.JobTimeout()
	}
	var pid int
	if _, err := fmt.Sscan(pidText, &pid); err != nil {
		return false
	}
	return processAlive(pid)
}

// Overview is what erpipe schedule list shows of one schedule.
type Overview struct {
	Schedule   *Schedule
	Last       *jobs.Run   // the most recently updated run, or nil
	Failed     []*jobs.Run // periods whose latest version failed, oldest first
	Running    []*jobs.Run
	NextRun    time.Time
	NextPeriod Period
	LastJob    *jobs.Job // the job of Last, for its warnings; nil when the journal has none
}

// Overview returns each schedule's last run, failed periods and next run.
func (r *Runner) Overview(ctx context.Context) ([]Overview, error) {
	all, err := r.runs.List(ctx, "")
	if err != nil {
		return nil, err
	}
	latest := map[string]*jobs.Run{} // schedule/period → latest version
	for _, run := range all {
		latest[run.Schedule+"\x00"+run.Period] = run // List orders versions ascending
	}
	now := r.Now()
	var out []Overview
	for _, s := range r.schedules {
		o := Overview{Schedule: s, NextRun: s.Next(now)}
		o.NextPeriod = s.PeriodAt(o.NextRun)
		for _, run := range all {
			if run.Schedule != s.Name || latest[run.Schedule+"\x00"+run.Period] != run {
				continue
			}
			if run.Status != jobs.RunDue && (o.Last == nil || run.Updated.After(o.Last.Updated)) {
				o.Last = run
			}
			switch run.Status {
			case jobs.RunFailed:
				o.Failed = append(o.Failed, run)
			case jobs.RunRunning:
				o.Running = append(o.Running, run)
			}
		}
		if o.Last != nil && o.Last.Job != "" {
			if job, err := r.journal.Get(ctx, o.Last.Job); err == nil {
				o.LastJob = job
			}
		}
		out = append(out, o)
	}
	return out, nil
}

// Runs returns every run of schedule ("" for all), oldest period first.
func (r *Runner) Runs(ctx context.Context, schedule string) ([]*jobs.Run, error) {
	list, err := r.runs.List(ctx, schedule)
	slices.SortStableFunc(list, func(a, b *jobs.Run) int { return strings.Compare(a.Start, b.Start) })
	return list, err
}
