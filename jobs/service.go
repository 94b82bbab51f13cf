package jobs

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/erpipe/erpipe/inbox"
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
	live    atomic.Pointer[setup]         // the configuration new jobs are claimed by (reload.go)
	watcher atomic.Pointer[inbox.Watcher] // the inboxes' watcher, while Run runs
	stop    <-chan struct{}               // closed when Run is told to stop
	waiting sync.WaitGroup                // jobs waiting for a destination
	dedupe  sync.Mutex                    // makes hash-check-record one step, so two copies dropped together are one job and one duplicate
	full    atomic.Bool                   // the journal's disk was full at the last write (space.go)

	submitted  chan *Job    // jobs of inputs sent over HTTP, for the workers (submit.go)
	submitting keyLocks     // make an Idempotency-Key's check-claim-record one step
	queued     atomic.Int64 // submitted jobs no worker has taken yet

	sources sources // pollers putting files into inboxes (sources.go)

	reloading sync.Mutex    // one Reload at a time
	reloadNow chan struct{} // RequestReload's, capacity 1
	lastSeen  string        // the configuration's fingerprint at watchConfig's last look
	status    statusKeeper  // what status.json says

	// Grace is how long in-flight jobs may go on after the daemon is told
	// to stop; past it they are cancelled and resumed at the next start.
	Grace time.Duration
	// RetryMin and RetryMax bound the back-off between deliveries to an
	// unavailable destination.
	RetryMin, RetryMax time.Duration
	// ProgressEvery is how often a running job records its progress in
	// the journal (default 1s), and ProgressLogEvery how often it logs
	// it (default 15s; progress.go).
	ProgressEvery, ProgressLogEvery time.Duration
	// Now is the clock (tests set it).
	Now func() time.Time
	// Background are tasks that run beside the inboxes while Run holds
	// the workspace (the schedules' runner); Run waits for them to end.
	Background []func(ctx context.Context) error
	// Reloaders check a changed configuration for the parts of the
	// daemon this package does not know (the schedules), before it is
	// taken (reload.go).
	Reloaders []Reloader
	// ReloadEvery is how often Run looks whether the configuration's
	// files changed (default 2s).
	ReloadEvery time.Duration
	// TempDir, when set, is the daemon's own folder for temporary files
	// (its workbooks' unpacked sheets, spools, schema copies): Run empties
	// it once it holds the workspace, so that what a crash left there is
	// gone, and points TMPDIR at it for the whole process.
	TempDir string
	// run runs a template; tests replace it to inject faults.
	run RunFunc
	// cluster, when set, makes the service a node of a cluster
	// (cluster.go); nil when erpipe runs alone.
	cluster *Cluster
}

// NewService prepares a service for ws, creating its folders.
func NewService(ws *workspace.Workspace, journal *Journal, log *slog.Logger) (*Service, error) {
	if err := ws.Create(); err != nil {
		return nil, err
	}
	s := &Service{ws: ws, journal: journal, log: log, reloadNow: make(chan struct{}, 1), submitted: make(chan *Job),
		Grace: 30 * time.Second, RetryMin: time.Second, RetryMax: time.Minute, Now: time.Now,
		ReloadEvery: 2 * time.Second, run: (*transform.Template).RunWith}
	st, err := newSetup(ws, ws.Fingerprint(), time.Now())
	if err != nil {
		return nil, err
	}
	s.live.Store(st)
	return s, nil
}

// Run recovers what a previous run left unfinished, then watches the
// inboxes and processes files with a bounded number of workers until ctx
// is done.
func (s *Service) Run(ctx context.Context) error {
	if s.cluster != nil {
		return s.runCluster(ctx)
	}
	unlock, err := s.ws.Lock()
	if err != nil {
		return err
	}
	defer unlock()
	if err := s.takeTempDir(); err != nil {
		return err
	}
	os.RemoveAll(s.UploadDir()) // uploads a stop cut short: their clients were never answered
	s.stop = ctx.Done()
	s.status.update(func(st *DaemonStatus) {
		*st = DaemonStatus{PID: os.Getpid(), Started: s.Now(), Config: configStatus(s.current())}
	})
	s.writeStatus()
	s.sweep(ctx)
	go s.watchStrays(ctx, cmp.Or(s.ws.Config.RescanInterval(), inbox.DefaultRescan))
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
		if ctx.Err() != nil {
			return nil // stopped while starting: a clean stop
		}
		return err
	}
	w, err := s.watchInboxes(s.ws.Config.Poll)
	if err != nil {
		return err
	}
	waitSources := s.startSources(bgCtx)
	defer func() { cancelBackground(); waitSources() }()
	go s.watchConfig(ctx, s.ReloadEvery)
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
					_, err := s.take(jobCtx, f)
					s.logRunError("job failed to run", err, "pipeline", f.Key, "file", f.Name)
				case job := <-resume:
					s.logRunError("could not resume job", s.resume(jobCtx, job), "job", job.ID)
				case job := <-s.submitted:
					s.queued.Add(-1)
					s.logRunError("job failed to run", s.process(jobCtx, job), "job", job.ID, "pipeline", job.Pipeline, "file", job.Input)
				}
			}
		}()
	}
	for _, n := range s.current().ws.Notes {
		s.log.Warn(n)
	}
	s.log.Info("watching inboxes", "workspace", s.ws.Root, "pipelines", len(s.current().ws.Pipelines), "resuming", len(resumable))
	err = w.Run(ctx, ready)
	close(ready)
	wg.Wait()
	s.waiting.Wait()
	if errors.Is(err, context.Canceled) {
		err = nil
	}
	return err
}

// takeTempDir empties TempDir, if set, and makes it the process's
// temporary folder.
func (s *Service) takeTempDir() error {
	if s.TempDir == "" {
		return nil
	}
	if err := os.RemoveAll(s.TempDir); err != nil {
		return fmt.Errorf("empty the temporary folder %s: %w", s.TempDir, err)
	}
	if err := os.MkdirAll(s.TempDir, 0o700); err != nil {
		return err
	}
	return os.Setenv("TMPDIR", s.TempDir)
}

// logRunError logs how a job's run ended when it did not end the job: a
// job a stop handed back (it resumes at the next start) is not an error;
// a file gone before its claim is nothing to say.
func (s *Service) logRunError(msg string, err error, args ...any) {
	switch {
	case err == nil, errors.Is(err, errGone):
	case errors.Is(err, context.Canceled), errors.Is(err, errHandedBack):
		s.log.Info("job handed back by the stop; it resumes at the next start", append(args, "err", err)...)
	default:
		s.log.Error(msg, append(args, "err", err)...)
	}
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
// A file is claimed only when the journal can be written, and goes back
// to the inbox if its record cannot be written after all.
func (s *Service) take(ctx context.Context, f inbox.File) (*Job, error) {
	st := s.current()
	p := st.ws.Pipeline(f.Key)
	if p == nil {
		return nil, fmt.Errorf("no pipeline %q", f.Key)
	}
	job, fi, err := s.claimRecorded(ctx, f)
	if err != nil {
		return nil, err
	}
	job.setup = st // it runs to its end by the configuration it was claimed by
	if f.Marker != "" {
		if err := os.Remove(f.Marker); err != nil && !errors.Is(err, os.ErrNotExist) {
			s.log.Warn("could not remove the marker file", "marker", f.Marker, "err", err)
		}
	}
	s.log.Info("claimed", "job", job.ID, "pipeline", job.Pipeline, "file", job.Input)
	if !fi.Mode().IsRegular() {
		// Replaced by a link, a FIFO or a device after it was found
		// ready: filed away as it is, never read.
		nr := &notRegular{job.ClaimedPath, fi.Mode()}
		s.log.Error("a file in the inbox was replaced after it was found ready; not read", "job", job.ID, "file", job.Input, "err", nr)
		job.Template = p.Template.Name
		return job, s.finish(ctx, job, Failed, nil, fmt.Errorf("%s was replaced by %s after it was found ready; %w", job.Input, kindOfFile(fi.Mode()), nr))
	}
	return job, s.process(ctx, job)
}

// claimRecorded claims f and records its job. A claim whose record
// cannot be written goes back to the inbox: with a full disk, until the
// journal can be written again (claimable), then f is claimed anew.
func (s *Service) claimRecorded(ctx context.Context, f inbox.File) (*Job, fs.FileInfo, error) {
	for {
		if err := s.claimable(ctx); err != nil {
			return nil, nil, err
		}
		job, fi, err := s.claim(ctx, f)
		if err != nil {
			return nil, nil, err
		}
		err = s.journal.Put(ctx, job)
		switch {
		case err == nil:
			s.journalFull(false, nil)
			return job, fi, nil
		case !s.unclaim(job, f.Path):
			// The name was taken in the inbox meanwhile: the claim stays,
			// and its record waits for space (a crash meanwhile is
			// mended by Recover, which records claimed files).
			return job, fi, s.record(ctx, job)
		case !noSpace(err):
			return nil, nil, err
		}
		s.journalFull(true, err)
	}
}

// claim moves f into a folder of its own under .erpipe/claimed and returns
// its job (not yet recorded) and what was claimed (not following links).
// The claimed file keeps its name (in a folder named after the job), so
// that messages and outputs name it as the operator did. Creating that
// folder is what makes the job id unique; the journal is asked too, for
// ids of jobs that ended. A file written to again, or replaced by another
// file, since it was found ready goes back to the inbox (errGone), to be
// taken once it is ready again.
func (s *Service) claim(ctx context.Context, f inbox.File) (*Job, fs.FileInfo, error) {
	now := s.Now()
	job := &Job{Pipeline: f.Key, Input: filepath.Base(f.Path), Status: Enqueued, Created: now}
	parent := filepath.Join(s.ws.Claimed(), f.Key)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return nil, nil, err
	}
	var dir string
	for {
		id, err := s.journal.NewJobID(ctx, now)
		if err != nil {
			return nil, nil, err
		}
		job.ID, dir = id, filepath.Join(parent, id)
		err = os.Mkdir(dir, 0o755)
		if err == nil {
			break
		}
		if !errors.Is(err, os.ErrExist) {
			return nil, nil, err
		}
	}
	job.ClaimedPath = filepath.Join(dir, job.Input)
	if err := os.Rename(f.Path, job.ClaimedPath); err != nil {
		os.Remove(dir)
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil, errGone
		}
		return nil, nil, fmt.Errorf("claim %s: %w", f.Path, err)
	}
	fi, err := os.Lstat(job.ClaimedPath)
	if err != nil {
		return nil, nil, fmt.Errorf("claim %s: %w", f.Path, err)
	}
	if fi.Mode().IsRegular() && !f.Same(fi) && s.unclaim(job, f.Path) {
		s.log.Warn("the file changed after it was found ready; left in the inbox until it is ready again", "pipeline", f.Key, "file", f.Name)
		return nil, nil, errGone
	}
	return job, fi, nil
}

// unclaim moves the claimed input of job back to path in the inbox, when
// nothing has taken that name since, and reports whether it did.
func (s *Service) unclaim(job *Job, path string) bool {
	if _, err := os.Lstat(path); !errors.Is(err, os.ErrNotExist) {
		return false
	}
	if os.Rename(job.ClaimedPath, path) != nil {
		return false
	}
	os.Remove(filepath.Dir(job.ClaimedPath))
	return true
}

// watchInboxes starts the watcher of the inboxes of the configuration
// current now (a reload changes them from then on: followInboxes), with
// events from the file system, or by polling alone when poll is set.
func (s *Service) watchInboxes(poll bool) (*inbox.Watcher, error) {
	w, err := inbox.NewWatcher(inbox.Options{
		Settle:    s.ws.Config.SettleWindow(),
		Rescan:    s.ws.Config.RescanInterval(),
		MaxSettle: s.ws.Config.MaxSettleWindow(),
		Poll:      poll,
		Logger:    s.log,
		OnStuck: func(st inbox.Stuck) {
			s.log.Error("a file in an inbox is not ready and is not taken", "file", st.File.Path,
				"since", st.Since.Format(time.RFC3339), "reason", st.Reason)
		},
	})
	if err != nil {
		return nil, err
	}
	s.reloading.Lock()
	defer s.reloading.Unlock()
	for _, p := range s.current().ws.Pipelines {
		if err := w.AddFolder(p.Name, s.ws.Inbox(p.Name), p.Inbox); err != nil {
			return nil, fmt.Errorf("pipeline %q: %w", p.Name, err)
		}
	}
	s.watcher.Store(w)
	return w, nil
}
