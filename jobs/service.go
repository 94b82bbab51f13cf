package jobs

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/erpipe/erpipe/formats"
	"github.com/erpipe/erpipe/inbox"
	"github.com/erpipe/erpipe/outbox"
	"github.com/erpipe/erpipe/outbox/folder"
	"github.com/erpipe/erpipe/outbox/s3"
	"github.com/erpipe/erpipe/transform"
	"github.com/erpipe/erpipe/workspace"
)

// Service takes files from the workspace's inboxes and runs them through
// their pipelines. Run is the daemon; Recover and Take are its parts, for
// callers that drive it themselves.
type Service struct {
	ws      *workspace.Workspace
	journal *Journal
	log     *slog.Logger
	dests   map[string][]outbox.Destination
	stop    <-chan struct{} // closed when Run is told to stop
	waiting sync.WaitGroup  // jobs waiting for a destination
	dedupe  sync.Mutex      // makes hash-check-record one step, so two copies dropped together are one job and one duplicate

	// Grace is how long in-flight jobs may go on after the daemon is told
	// to stop; past it they are cancelled and resumed at the next start.
	Grace time.Duration
	// RetryMin and RetryMax bound the back-off between deliveries to an
	// unavailable destination.
	RetryMin, RetryMax time.Duration
	// Now is the clock (tests set it).
	Now func() time.Time
	// Background are tasks that run beside the inboxes while Run holds
	// the workspace (the schedules' runner); Run waits for them to end.
	Background []func(ctx context.Context) error
	// run runs a template; tests replace it to inject faults.
	run func(t *transform.Template, ctx context.Context, in, out string, opts transform.RunOptions) (*transform.Result, error)
}

// NewService prepares a service for ws, creating its folders.
func NewService(ws *workspace.Workspace, journal *Journal, log *slog.Logger) (*Service, error) {
	if err := ws.Create(); err != nil {
		return nil, err
	}
	s := &Service{ws: ws, journal: journal, log: log, dests: map[string][]outbox.Destination{},
		Grace: 30 * time.Second, RetryMin: time.Second, RetryMax: time.Minute, Now: time.Now,
		run: (*transform.Template).RunWith}
	for _, p := range ws.Pipelines {
		ds, err := destinations(ws, p)
		if err != nil {
			return nil, fmt.Errorf("pipeline %q: %w", p.Name, err)
		}
		s.dests[p.Name] = ds
	}
	return s, nil
}

func destinations(ws *workspace.Workspace, p *workspace.Pipeline) ([]outbox.Destination, error) {
	ctx := context.Background()
	if len(p.Destinations) == 0 {
		d, err := folder.New(ws.Outbox(p.Name), folder.PolicyRename)
		if err != nil {
			return nil, err
		}
		return []outbox.Destination{d}, nil
	}
	var out []outbox.Destination
	for i, dc := range p.Destinations {
		switch {
		case dc.Folder != nil:
			dir := dc.Folder.Path
			if dir == "" {
				dir = ws.Outbox(p.Name)
			} else if !filepath.IsAbs(dir) {
				dir = filepath.Join(ws.Root, dir)
			}
			policy := folder.Policy(dc.Folder.Overwrite)
			if policy == "" {
				policy = folder.PolicyRename
			}
			d, err := folder.New(dir, policy)
			if err != nil {
				return nil, err
			}
			out = append(out, d)
		case dc.S3 != nil:
			c := dc.S3
			cfg := s3.Config{Bucket: c.Bucket, Prefix: c.Prefix, Endpoint: c.Endpoint, Region: c.Region,
				PathStyle: c.Endpoint != "", Profile: c.Profile, CAFile: c.CAFile, StorageClass: c.StorageClass,
				SSE: c.SSE, SSEKMSKeyID: c.SSEKMSKeyID, KeyTemplate: c.KeyTemplate, ChecksumMode: c.ChecksumMode,
				SpoolDir: ws.Work()}
			if c.PathStyle != nil {
				cfg.PathStyle = *c.PathStyle
			}
			d, err := s3.New(ctx, cfg)
			if err != nil {
				return nil, fmt.Errorf("destination %d: %w", i+1, err)
			}
			out = append(out, d)
		default:
			return nil, fmt.Errorf("destination %d: say what kind it is (folder or s3)", i+1)
		}
	}
	return out, nil
}

// Run recovers what a previous run left unfinished, then watches the
// inboxes and processes files with a bounded number of workers until ctx
// is done.
func (s *Service) Run(ctx context.Context) error {
	unlock, err := s.ws.Lock()
	if err != nil {
		return err
	}
	defer unlock()
	s.stop = ctx.Done()
	s.sweep(ctx)
	var background sync.WaitGroup
	bgCtx, cancelBackground := context.WithCancel(ctx)
	defer background.Wait()
	defer cancelBackground()
	for _, task := range s.Background {
		background.Go(func() {
			if err := task(bgCtx); err != nil {
				s.log.Error("a background task stopped", "err", err)
			}
		})
	}
	resumable, err := s.recoverable(ctx)
	if err != nil {
		return err
	}
	w, err := inbox.NewWatcher(inbox.Options{
		Settle:    s.ws.Config.SettleWindow(),
		Rescan:    s.ws.Config.RescanInterval(),
		MaxSettle: s.ws.Config.MaxSettleWindow(),
		Poll:      s.ws.Config.Poll,
		Logger:    s.log,
		OnStuck: func(st inbox.Stuck) {
			s.log.Error("a file in an inbox is not ready and is not taken", "file", st.File.Path,
				"since", st.Since.Format(time.RFC3339), "reason", st.Reason)
		},
	})
	if err != nil {
		return err
	}
	for _, p := range s.ws.Pipelines {
		if err := w.AddFolder(p.Name, s.ws.Inbox(p.Name), p.Inbox); err != nil {
			return fmt.Errorf("pipeline %q: %w", p.Name, err)
		}
	}
	// Jobs outlive ctx by Grace, so that a stop finishes what it can.
	jobCtx, cancelJobs := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelJobs()
	stop := context.AfterFunc(ctx, func() { time.AfterFunc(s.Grace, cancelJobs) })
	defer stop()

	// Jobs a previous run left unfinished go to the same workers as new
	// files, so that the inboxes are watched from the start and a resumed
	// job that waits for a destination holds up nothing else.
	resume := make(chan *Job)
	go func() {
		for _, job := range resumable {
			select {
			case resume <- job:
			case <-ctx.Done():
				return
			}
		}
	}()
	ready := make(chan inbox.File)
	var wg sync.WaitGroup
	for range s.ws.Config.WorkerCount() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case f, ok := <-ready:
					if !ok {
						return
					}
					if _, err := s.take(jobCtx, f); err != nil && !errors.Is(err, errGone) {
						s.log.Error("job failed to run", "pipeline", f.Key, "file", f.Name, "err", err)
					}
				case job := <-resume:
					if err := s.resume(jobCtx, job); err != nil {
						s.log.Error("could not resume job", "job", job.ID, "err", err)
					}
				}
			}
		}()
	}
	for _, n := range s.ws.Notes {
		s.log.Warn(n)
	}
	s.log.Info("watching inboxes", "workspace", s.ws.Root, "pipelines", len(s.ws.Pipelines), "resuming", len(resumable))
	err = w.Run(ctx, ready)
	close(ready)
	wg.Wait()
	s.waiting.Wait()
	if errors.Is(err, context.Canceled) {
		err = nil
	}
	return err
}

// errHandedBack means the service stopped while a job waited (for disk
// space); the job resumes at the next start.
var errHandedBack = errors.New("stopped while waiting; the job resumes at the next start")

// errGone means the file left the inbox before it could be claimed.
var errGone = errors.New("file is gone")

// Take claims the file at path for pipeline, then processes it.
func (s *Service) Take(ctx context.Context, pipeline, path string) (*Job, error) {
	return s.take(ctx, inbox.File{Key: pipeline, Path: path, Name: filepath.Base(path)})
}

// take claims f, consumes its marker file if it has one, and processes it.
func (s *Service) take(ctx context.Context, f inbox.File) (*Job, error) {
	pipeline, path := f.Key, f.Path
	p := s.ws.Pipeline(pipeline)
	if p == nil {
		return nil, fmt.Errorf("no pipeline %q", pipeline)
	}
	now := s.Now()
	job := &Job{Pipeline: pipeline, Input: filepath.Base(path), Status: Enqueued, Created: now}
	// Claim first, record second: a claimed file with no record is found
	// by Recover, by its place, and gets its job then. The claimed file
	// keeps its name (in a folder named after the job), so that messages
	// and outputs name it as the operator did. Creating that folder is
	// what makes the job id unique; the journal is asked too, for ids of
	// jobs that ended.
	parent := filepath.Join(s.ws.Claimed(), pipeline)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return nil, err
	}
	var dir string
	for {
		job.ID = NewID(now)
		dir = filepath.Join(parent, job.ID)
		if _, err := s.journal.Get(ctx, job.ID); err == nil {
			continue
		}
		err := os.Mkdir(dir, 0o755)
		if err == nil {
			break
		}
		if !errors.Is(err, os.ErrExist) {
			return nil, err
		}
	}
	job.ClaimedPath = filepath.Join(dir, job.Input)
	if err := os.Rename(path, job.ClaimedPath); err != nil {
		os.Remove(dir)
		if errors.Is(err, os.ErrNotExist) {
			return nil, errGone
		}
		return nil, fmt.Errorf("claim %s: %w", path, err)
	}
	if f.Marker != "" {
		if err := os.Remove(f.Marker); err != nil && !errors.Is(err, os.ErrNotExist) {
			s.log.Warn("could not remove the marker file", "marker", f.Marker, "err", err)
		}
	}
	s.log.Info("claimed", "job", job.ID, "pipeline", pipeline, "file", job.Input)
	if err := s.journal.Put(ctx, job); err != nil {
		return nil, err
	}
	return job, s.process(ctx, job)
}

// Recover finishes what a crash left behind: jobs that had not ended are
// run again (or, when their input had already been filed away, closed), and
// claimed files that never got a record get one.
func (s *Service) Recover(ctx context.Context) error {
	s.sweep(ctx)
	jobs, err := s.recoverable(ctx)
	if err != nil {
		return err
	}
	for _, job := range jobs {
		if err := s.resume(ctx, job); err != nil {
			s.log.Error("could not resume job", "job", job.ID, "err", err)
		}
	}
	return nil
}

// sweep removes what interrupted work left behind: temporary files in the
// destinations and the work folder. Nothing may be running.
func (s *Service) sweep(ctx context.Context) {
	for _, ds := range s.dests {
		for _, d := range ds {
			if sw, ok := d.(outbox.Sweeper); ok {
				if err := sw.Sweep(ctx); err != nil {
					s.log.Warn("could not clean up after interrupted deliveries", "destination", d.String(), "err", err)
				}
			}
		}
	}
	if err := os.RemoveAll(s.ws.Work()); err != nil {
		s.log.Warn("could not empty the work folder", "err", err)
	}
	if err := os.MkdirAll(s.ws.Work(), 0o755); err != nil {
		s.log.Warn("could not make the work folder", "err", err)
	}
}

// recoverable returns the jobs a previous run left unfinished, oldest
// first, giving a record to claimed files that never got one (the crash
// came between the claim and the first journal write).
func (s *Service) recoverable(ctx context.Context) ([]*Job, error) {
	jobs, err := s.journal.Unfinished(ctx)
	if err != nil {
		return nil, err
	}
	known := map[string]bool{}
	for _, job := range jobs {
		known[job.ClaimedPath] = true
	}
	// Claimed files sit in claimed/<pipeline>/<job id>/<name>.
	pipes, _ := os.ReadDir(s.ws.Claimed())
	for _, pd := range pipes {
		if !pd.IsDir() || s.ws.Pipeline(pd.Name()) == nil {
			continue
		}
		jobDirs, _ := os.ReadDir(filepath.Join(s.ws.Claimed(), pd.Name()))
		for _, jd := range jobDirs {
			dir := filepath.Join(s.ws.Claimed(), pd.Name(), jd.Name())
			files, _ := os.ReadDir(dir)
			if len(files) == 0 {
				os.Remove(dir) // the crash came between mkdir and rename
				continue
			}
			path := filepath.Join(dir, files[0].Name())
			if known[path] {
				continue
			}
			if _, err := s.journal.Get(ctx, jd.Name()); err == nil {
				continue // recorded and ended
			}
			job := &Job{ID: jd.Name(), Pipeline: pd.Name(), Input: files[0].Name(), Status: Enqueued, Created: s.Now(), ClaimedPath: path}
			s.log.Warn("found a claimed file with no job record; processing it", "job", job.ID, "file", job.Input)
			if err := s.journal.Put(ctx, job); err != nil {
				return nil, err
			}
			jobs = append(jobs, job)
		}
	}
	return jobs, nil
}

func (s *Service) resume(ctx context.Context, job *Job) error {
	_, claimedErr := os.Stat(job.ClaimedPath)
	if job.FinalStatus != "" {
		// The job had ended but its input was not filed away yet: finish
		// the move; never process it again.
		if claimedErr == nil {
			s.log.Info("filing away the input of a job interrupted at its end", "job", job.ID)
			return s.fileAway(ctx, job)
		}
		if _, err := os.Stat(job.FinalPath); err == nil {
			job.Status, job.Finished = job.FinalStatus, s.Now()
			os.Remove(filepath.Dir(job.ClaimedPath))
			s.log.Info("closed job interrupted after filing its input", "job", job.ID, "status", job.Status)
			return s.journal.Put(ctx, job)
		}
	}
	if claimedErr != nil {
		job.Status, job.Finished = Failed, s.Now()
		job.Errors = append(job.Errors, "the claimed input was not found after a restart: "+job.ClaimedPath)
		s.log.Error("claimed input missing after restart", "job", job.ID, "path", job.ClaimedPath)
		return s.journal.Put(ctx, job)
	}
	s.log.Info("resuming job interrupted by a stop or crash", "job", job.ID, "file", job.Input)
	return s.process(ctx, job)
}

// process runs job from its claimed input to its end.
func (s *Service) process(ctx context.Context, job *Job) error {
	p := s.ws.Pipeline(job.Pipeline)
	t := p.Template
	job.Template, job.TemplateVersion, job.TemplateHash = t.Name, t.Version, t.Hash
	job.Status, job.Started = Processing, s.Now()
	sum, size, err := hashFile(job.ClaimedPath)
	if err != nil {
		return err
	}
	job.InputSHA256, job.InputSize = sum, size
	s.dedupe.Lock()
	var prev *Job
	if !p.AllowDuplicates {
		prev, err = s.journal.FindContent(ctx, job.Pipeline, sum, job.ID)
		if err == nil && prev != nil {
			var allowed bool
			if allowed, err = s.journal.TakeAllowance(ctx, job.Pipeline, sum); allowed {
				job.Errors = append(job.Errors, fmt.Sprintf("processed again on request (erpipe retry); the same content was job %s", prev.ID))
				prev = nil
			}
		}
	}
	if err == nil {
		err = s.journal.Put(ctx, job)
	}
	s.dedupe.Unlock()
	if err != nil {
		return err
	}
	if prev != nil {
		job.DuplicateOf = prev.ID
		job.Errors = []string{fmt.Sprintf("the same content was already taken by job %s (%s, %s); not processed again", prev.ID, prev.Input, prev.Created.Format(time.RFC3339))}
		s.log.Warn("duplicate file; archived without processing", "job", job.ID, "file", job.Input, "duplicate_of", prev.ID)
		return s.finish(ctx, job, Duplicate, nil, nil)
	}

	work := filepath.Join(s.ws.Work(), job.ID)
	if err := os.RemoveAll(work); err != nil {
		return err
	}
	if err := os.MkdirAll(work, 0o755); err != nil {
		return err
	}
	keepWork := false
	defer func() {
		if !keepWork {
			os.RemoveAll(work)
		}
	}()

	var rejected map[int]string // row → what to fix, for the rejected-rows file
	var res *transform.Result
	var runErr error
	for delay := s.RetryMin; ; delay = min(2*delay, s.RetryMax) {
		rejected = map[int]string{}
		res, runErr = s.runTemplate(ctx, t, job.ClaimedPath, work, transform.RunOptions{
			Time: job.Created, // the same bytes when the job is resumed
			OnReject: func(pos formats.Pos, errs []*transform.FieldError) {
				msgs := make([]string, len(errs))
				for i, e := range errs {
					msgs[i] = e.Problem()
				}
				rejected[pos.Row] = strings.Join(msgs, "; ")
			},
		})
		if !noSpace(runErr) {
			break
		}
		// A full disk is not the file's fault: wait for space.
		job.Pending = []string{"working folder " + s.ws.Work() + ": " + runErr.Error()}
		s.log.Error("no space for the job's work; it waits and retries", "job", job.ID, "retry_in", delay, "err", runErr)
		if err := s.journal.Put(ctx, job); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-s.stop:
			return errHandedBack
		case <-time.After(jitter(delay)):
		}
	}
	job.Pending = nil
	if runErr != nil && ctx.Err() != nil {
		return fmt.Errorf("job %s interrupted; it resumes at the next start: %w", job.ID, runErr)
	}
	if res != nil {
		job.Read, job.Written, job.Rejected, job.Warnings = res.Read, res.Written, res.Rejected, len(res.Warnings)
	}
	if len(rejected) > 0 {
		job.RejectedFile = t.RejectedName(job.Input)
		if err := t.WriteRejected(ctx, job.ClaimedPath, filepath.Join(work, job.RejectedFile), rejected); err != nil {
			s.log.Error("could not write the rejected rows", "job", job.ID, "err", err)
			job.RejectedFile = ""
		}
	}
	switch {
	case runErr != nil:
		return s.finish(ctx, job, Failed, res, runErr)
	case res.Read == 0:
		return s.finish(ctx, job, Failed, res, errNoRows)
	case res.Written == 0:
		return s.finish(ctx, job, Failed, res, fmt.Errorf("all %d rows were rejected; nothing was delivered", res.Rejected))
	}

	err = s.deliver(ctx, job, res.Outputs)
	if err != nil && outbox.IsTransient(err) {
		// A destination is unavailable: wait for it in the background, so
		// that this worker goes on with other files.
		keepWork = true
		s.waiting.Add(1)
		go func() {
			defer s.waiting.Done()
			defer os.RemoveAll(work)
			s.keepDelivering(ctx, job, res, err)
		}()
		return nil
	}
	if err != nil {
		return s.finish(ctx, job, Failed, res, err)
	}
	return s.finish(ctx, job, statusOf(res), res, nil)
}

// statusOf is the status of a delivered job.
func statusOf(res *transform.Result) Status {
	if res.Rejected > 0 {
		return ProcessedWithErrors
	}
	return Processed
}

// runTemplate runs t with the job timeout, and turns a panic into an
// error: a poison file fails its own job and no other. A run that
// outlives the timeout is abandoned (its goroutine ends when its reads
// do) and the job fails.
func (s *Service) runTemplate(ctx context.Context, t *transform.Template, in, out string, opts transform.RunOptions) (*transform.Result, error) {
	type result struct {
		res *transform.Result
		err error
	}
	ctx, cancel := context.WithTimeout(ctx, s.ws.Config.JobTimeout())
	defer cancel()
	done := make(chan result, 1)
	go func() {
		defer func() {
			if p := recover(); p != nil {
				s.log.Error("template run panicked", "template", t.Name, "input", in, "panic", p, "stack", string(debug.Stack()))
				done <- result{nil, fmt.Errorf("erpipe hit an internal error on this file (%v); the file was set aside, please report it", p)}
			}
		}()
		res, err := s.run(t, ctx, in, out, opts)
		done <- result{res, err}
	}()
	select {
	case r := <-done:
		if r.err != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return nil, errTimeout(s.ws.Config.JobTimeout())
		}
		return r.res, r.err
	case <-ctx.Done():
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return nil, errTimeout(s.ws.Config.JobTimeout())
		}
		return nil, ctx.Err()
	}
}

// noSpace reports whether err is a full disk or quota.
func noSpace(err error) bool {
	return errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT)
}

func errTimeout(d time.Duration) error {
	return fmt.Errorf("the job took longer than the job timeout (%v) and was stopped; "+
		"if the file is simply large, raise job_timeout in erpipe.yaml", d)
}

var errNoRows = errors.New("the file has no data rows; put at least one row under the header")

// keepDelivering retries the deliveries of a job whose destination was
// unavailable (down, throttling, full), with exponential back-off, for as
// long as the service runs: the job stays Processing, its input stays
// claimed, and Pending says what it waits for. A stop hands the job to the
// next start, which runs and delivers it again; destinations take a
// repeated put of the same content as done. Any other error fails the job.
func (s *Service) keepDelivering(ctx context.Context, job *Job, res *transform.Result, err error) {
	for delay := s.RetryMin; ; delay = min(2*delay, s.RetryMax) {
		s.log.Warn("destination unavailable; the job waits and retries", "job", job.ID, "retry_in", delay, "err", err)
		if perr := s.journal.Put(ctx, job); perr != nil {
			s.log.Error("could not record the job", "job", job.ID, "err", perr)
		}
		select {
		case <-ctx.Done():
			return
		case <-s.stop:
			s.log.Info("stopping: the job waiting for a destination resumes at the next start", "job", job.ID)
			return
		case <-time.After(jitter(delay)):
		}
		err = s.deliver(ctx, job, res.Outputs)
		switch {
		case err == nil:
			job.Pending = nil
			err = s.finish(ctx, job, statusOf(res), res, nil)
		case !outbox.IsTransient(err):
			err = s.finish(ctx, job, Failed, res, err)
		default:
			continue
		}
		if err != nil {
			s.log.Error("could not end the job", "job", job.ID, "err", err)
		}
		return
	}
}

// jitter spreads d over [d/2, d).
func jitter(d time.Duration) time.Duration {
	if d <= 1 {
		return d
	}
	return d/2 + time.Duration(rand.Int64N(int64(d/2)))
}

// deliver puts each output into each destination that does not have it
// yet, and sets job.Pending to those it could not reach.
func (s *Service) deliver(ctx context.Context, job *Job, outputs []string) error {
	var firstErr error
	job.Pending = nil
	for _, path := range outputs {
		name := filepath.Base(path)
		sum, size, err := hashFile(path)
		if err != nil {
			return err
		}
		for _, d := range s.dests[job.Pipeline] {
			if job.delivered(name, d.String()) {
				continue
			}
			loc, err := put(ctx, d, path, size, map[string]string{
				outbox.MetaSHA256: sum, outbox.MetaJob: job.ID, outbox.MetaInputSHA256: job.InputSHA256,
				outbox.MetaTemplate: job.Template + " " + job.TemplateVersion,
				outbox.MetaDate:     job.Created.UTC().Format("2006-01-02"),
			})
			if err != nil {
				err = fmt.Errorf("deliver %s to %s: %w", name, d, err)
				job.Pending = append(job.Pending, fmt.Sprintf("%s -> %s: %v", name, d, err))
				if firstErr == nil || !outbox.IsTransient(err) {
					firstErr = err
				}
				if !outbox.IsTransient(err) {
					return err
				}
				continue
			}
			job.Outputs = append(job.Outputs, Output{Name: name, SHA256: sum, Size: size, Destination: d.String(), Location: loc})
			if err := s.journal.Put(ctx, job); err != nil {
				return err
			}
			s.log.Info("delivered", "job", job.ID, "output", name, "to", loc)
		}
	}
	return firstErr
}

// put stores the file at path in d, with metadata where d keeps it.
func put(ctx context.Context, d outbox.Destination, path string, size int64, meta map[string]string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	if mp, ok := d.(outbox.MetaPutter); ok {
		return mp.PutMeta(ctx, filepath.Base(path), f, size, meta)
	}
	return d.Put(ctx, filepath.Base(path), f, size)
}

// delivered reports whether the job has put output name into destination.
func (j *Job) delivered(name, destination string) bool {
	for _, o := range j.Outputs {
		if o.Name == name && o.Destination == destination {
			return true
		}
	}
	return false
}

// finish files the input away (archive, or errors with a report) and
// records the job's end. The record of where the input goes is written
// before the move, so a crash in between is closed by Recover.
func (s *Service) finish(ctx context.Context, job *Job, status Status, res *transform.Result, runErr error) error {
	now := s.Now()
	var dir string
	if status == Failed {
		dir = s.ws.Errors(job.Pipeline)
	} else {
		dir = s.ws.Archive(job.Pipeline, now)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	name := job.ID + "-" + job.Input
	if status == Failed {
		name = freeName(dir, job.Input, job.ID)
	}
	if runErr != nil {
		job.Errors = append(job.Errors, runErr.Error())
	}
	if res != nil {
		for _, e := range res.Errors {
			if len(job.Errors) >= maxJobErrors {
				break
			}
			job.Errors = append(job.Errors, e.Error())
		}
	}
	job.FinalPath, job.FinalStatus = filepath.Join(dir, name), status
	if err := s.journal.Put(ctx, job); err != nil {
		return err
	}
	if status == Failed || (res != nil && (res.Rejected > 0 || len(res.Warnings) > 0)) {
		if err := writeReport(job, res, runErr, job.FinalPath); err != nil {
			return err
		}
	}
	if job.RejectedFile != "" {
		// customers.csv.rejected.csv beside customers.csv.error.txt
		dst := job.FinalPath + strings.TrimPrefix(job.RejectedFile, job.Input)
		if err := os.Rename(filepath.Join(s.ws.Work(), job.ID, job.RejectedFile), dst); err != nil {
			return fmt.Errorf("file the rejected rows: %w", err)
		}
		job.RejectedFile = filepath.Base(dst)
	}
	return s.fileAway(ctx, job)
}

// fileAway moves the job's input to its final place and records the
// job's final status. A failing move (a full disk, a permission) is
// retried a few times and reported; the job then stays unfinished with its
// input claimed, and the next start tries again. It never processes the
// input again and never deletes it.
func (s *Service) fileAway(ctx context.Context, job *Job) error {
	var err error
	for attempt, delay := 0, s.RetryMin; attempt < 4; attempt, delay = attempt+1, 2*delay {
		if err = os.Rename(job.ClaimedPath, job.FinalPath); err == nil {
			break
		}
		s.log.Error("could not file the input away; retrying", "job", job.ID, "to", job.FinalPath, "err", err)
		select {
		case <-ctx.Done():
			return err
		case <-time.After(delay):
		}
	}
	if err != nil {
		return fmt.Errorf("file away %s: %w (the input stays claimed; the next start tries again)", job.ClaimedPath, err)
	}
	os.Remove(filepath.Dir(job.ClaimedPath))
	job.Status, job.Finished = job.FinalStatus, s.Now()
	if err := s.journal.Put(ctx, job); err != nil {
		return err
	}
	s.log.Info("job ended", "job", job.ID, "pipeline", job.Pipeline, "file", job.Input, "status", job.Status,
		"read", job.Read, "written", job.Written, "rejected", job.Rejected)
	return nil
}

// maxJobErrors caps the error lines kept in a job record; the full list is
// in the report beside the input.
const maxJobErrors = 20

// freeName returns name if it is free in dir, else name with the job id
// before its extension.
func freeName(dir, name, id string) string {
	if _, err := os.Lstat(filepath.Join(dir, name)); errors.Is(err, os.ErrNotExist) {
		return name
	}
	ext := filepath.Ext(name)
	return strings.TrimSuffix(name, ext) + "." + id + ext
}

func hashFile(path string) (string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", 0, fmt.Errorf("read %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}
