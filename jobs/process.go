package jobs

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"

	"github.com/erpipe/erpipe/formats"
	"github.com/erpipe/erpipe/internal/filename"
	"github.com/erpipe/erpipe/outbox"
	"github.com/erpipe/erpipe/transform"
	"github.com/erpipe/erpipe/transform/template"
)

// MaxAttempts is how many times a job is started before it is set aside:
// a job whose run ends the daemon (killed for its memory, a crash) is
// started again at the next start, and again; after MaxAttempts such
// runs its input is filed in errors/ as poison instead. A stop that hands
// the job back does not count.
const MaxAttempts = 3

// process runs job from its claimed input to its end. The attempt is
// counted in the record written before the run.
func (s *Service) process(ctx context.Context, job *Job) (err error) {
	if job.Attempts >= MaxAttempts {
		return s.setAside(ctx, job)
	}
	counted := false
	defer func() {
		if counted && (errors.Is(err, context.Canceled) || errors.Is(err, errHandedBack)) {
			s.handBack(ctx, job)
		}
	}()
	p := s.setupOf(job).ws.Pipeline(job.Pipeline)
	if p == nil { // resumed after its pipeline left the configuration
		return s.finish(ctx, job, Failed, nil, fmt.Errorf("the workspace no longer has the pipeline %q; drop the file into the inbox of another pipeline", job.Pipeline))
	}
	t := p.Template
	job.Template, job.TemplateVersion, job.TemplateHash = t.Name, t.Version, t.Hash
	job.Status, job.Started, job.Progress = Processing, s.Now(), nil // a resumed job starts its progress again
	before, _ := statInput(job.ClaimedPath)
	sum, size, err := hashFile(job.ClaimedPath)
	var nr *notRegular
	if errors.As(err, &nr) {
		s.log.Error("the claimed input is not a regular file; not read", "job", job.ID, "file", job.Input, "err", err)
		return s.finish(ctx, job, Failed, nil, err)
	}
	if err != nil {
		return err
	}
	job.InputSHA256, job.InputSize = sum, size
	s.dedupe.Lock()
	unlockContent, err := s.journal.lockContent(ctx, job.Pipeline, sum) // the other nodes' check (cluster mode)
	if err != nil {
		s.dedupe.Unlock()
		return err
	}
	var prev *Job
	if job.RetryOf == "" { // a retried job resumed after a crash took its allowance already
		var allowed bool
		if job.RetryOf, allowed, err = s.journal.TakeAllowance(ctx, job.Pipeline, sum); allowed {
			job.RetryOf = cmp.Or(job.RetryOf, "unknown")
			job.Notes = append(job.Notes, retryNote(job.RetryOf))
		}
	}
	if err == nil && job.RetryOf == "" && !p.AllowDuplicates {
		prev, err = s.journal.FindContent(ctx, job.Pipeline, sum, job.ID)
	}
	if err == nil {
		job.Attempts++
		counted = true
		err = s.record(ctx, job)
	}
	unlockContent()
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
		progress := s.trackProgress(ctx, job) // progress.go
		res, runErr = s.runTemplate(ctx, t, job.ClaimedPath, work, transform.RunOptions{
			Time: job.Created, // the same bytes when the job is resumed
			ID:   job.ID,      // message ids unique per job, the same when resumed
			OnReject: func(pos formats.Pos, errs []*template.FieldError) {
				msgs := make([]string, len(errs))
				for i, e := range errs {
					msgs[i] = e.Problem()
				}
				rejected[pos.Row] = strings.Join(msgs, "; ")
			},
			OnProgress: progress.onRows,
			InputRead:  &progress.bytes,
		})
		progress.stop()
		if !noSpace(runErr) {
			break
		}
		// A full disk is not the file's fault: wait for space.
		job.Pending = []string{"working folder " + s.ws.Work() + ": " + runErr.Error()}
		s.log.Error("no space for the job's work; it waits and retries", "job", job.ID, "retry_in", delay, "err", runErr)
		if err := s.record(ctx, job); err != nil {
			return err
		}
		if err := s.pause(ctx, delay); err != nil {
			return err
		}
	}
	job.Pending = nil
	if runErr != nil && ctx.Err() != nil {
		return fmt.Errorf("job %s interrupted; it resumes at the next start: %w", job.ID, runErr)
	}
	if res != nil {
		job.Read, job.Written, job.Rejected, job.Warnings = res.Read, res.Written, res.Rejected, res.Warned
	}
	if len(rejected) > 0 {
		job.RejectedFile = t.RejectedName(filename.Shorten(job.Input, filename.Max-len(longestSuffix)))
		if err := t.WriteRejected(ctx, job.ClaimedPath, filepath.Join(work, job.RejectedFile), rejected); err != nil {
			s.log.Error("could not write the rejected rows", "job", job.ID, "err", err)
			job.RejectedFile = ""
		}
	}
	if after, err := statInput(job.ClaimedPath); err == nil && after != before {
		// A writer that still had the file open wrote to it while it was
		// read: what was made is of a version that is gone.
		s.log.Warn("the input changed while it was processed; the results are thrown away and it is processed again once it stops changing",
			"job", job.ID, "file", job.Input)
		if err := s.waitSettled(ctx, job.ClaimedPath); err != nil {
			return s.finish(ctx, job, Failed, nil, err)
		}
		os.RemoveAll(work)
		keepWork = true // the work folder is the next round's
		job.Read, job.Written, job.Rejected, job.Warnings, job.RejectedFile = 0, 0, 0, 0, ""
		job.Attempts-- // the next round counts this attempt again
		counted = false
		return s.process(ctx, job)
	}
	switch {
	case runErr != nil:
		return s.finish(ctx, job, Failed, res, runErr)
	case res.Read == 0:
		return s.finish(ctx, job, Failed, res, fmt.Errorf("%s: %w", job.Input, errNoRows))
	case res.Written == 0:
		return s.finish(ctx, job, Failed, res, fmt.Errorf("%s: all %d rows were rejected; nothing was delivered", job.Input, res.Rejected))
	}

	err = s.deliver(ctx, job, res.Outputs)
	if err != nil && outbox.IsTransient(err) && s.cluster != nil {
		// A node of a cluster waits in its River job, which stays
		// running: were it to crash, another node takes the job over.
		s.keepDelivering(ctx, job, res, err)
		return nil
	}
	if err != nil && outbox.IsTransient(err) {
		// A destination is unavailable: wait for it in the background, so
		// that this worker goes on with other files.
		keepWork = true
		s.waiting.Add(1)
		derr := err // err is the named result, which return nil clears
		// The background works on its own copy: the caller may read the
		// job it was given while the deliveries go on.
		bg := job.clone()
		go func() {
			defer s.waiting.Done()
			defer os.RemoveAll(work)
			s.keepDelivering(ctx, bg, res, derr)
		}()
		return nil
	}
	if err != nil {
		return s.finish(ctx, job, Failed, res, err)
	}
	return s.finish(ctx, job, statusOf(job, res), res, nil)
}

// statusOf is the status of a delivered job: with errors when rows were
// left out, or a receiver (D365) refused part of an output.
func statusOf(job *Job, res *transform.Result) Status {
	if res.Rejected > 0 || len(job.DeliveryProblems) > 0 {
		return ProcessedWithErrors
	}
	return Processed
}

// runTemplate runs t with the job timeout (RunGuarded).
func (s *Service) runTemplate(ctx context.Context, t *transform.Template, in, out string, opts transform.RunOptions) (*transform.Result, error) {
	return RunGuarded(ctx, s.log, s.ws.Config.JobTimeout(), s.run, t, in, out, opts)
}

// RunFunc runs a template: (*transform.Template).RunWith, or a stand-in in
// tests.
type RunFunc func(t *transform.Template, ctx context.Context, in, out string, opts transform.RunOptions) (*transform.Result, error)

// RunGuarded runs t over in with run (nil: RunWith) within timeout, and
// turns a panic into an error: a poison file fails its own run and no
// other. A run that outlives the timeout is abandoned (its goroutine ends
// when its reads do) and fails, even if it does not heed its context.
// Jobs and scheduled submissions both run their templates through it.
func RunGuarded(ctx context.Context, log *slog.Logger, timeout time.Duration, run RunFunc, t *transform.Template, in, out string, opts transform.RunOptions) (*transform.Result, error) {
	if run == nil {
		run = (*transform.Template).RunWith
	}
	type result struct {
		res *transform.Result
		err error
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	done := make(chan result, 1)
	go func() {
		defer func() {
			if p := recover(); p != nil {
				log.Error("template run panicked", "template", t.Name, "input", in, "panic", p, "stack", string(debug.Stack()))
				done <- result{nil, fmt.Errorf("erpipe hit an internal error on this input (%v); please report it", p)}
			}
		}()
		res, err := run(t, ctx, in, out, opts)
		done <- result{res, err}
	}()
	select {
	case r := <-done:
		if r.err != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return nil, errTimeout(timeout)
		}
		return r.res, r.err
	case <-ctx.Done():
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return nil, errTimeout(timeout)
		}
		return nil, ctx.Err()
	}
}

func errTimeout(d time.Duration) error {
	return fmt.Errorf("the job took longer than the job timeout (%v) and was stopped; "+
		"if the file is simply large, raise job_timeout in erpipe.yaml", d)
}

var errNoRows = errors.New("the file has no data rows; put at least one row under the header")

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
	if err := s.makeFolder(dir); err != nil {
		return fmt.Errorf("file away %s: %w (the input stays claimed; the next start tries again)", job.Input, err)
	}
	// The filed input keeps its name, with the job id before it in the
	// archive (or, in errors/, when the name is taken), and the report
	// and rejected rows add a suffix: a long name has its stem cut to fit.
	room := filename.Max - len(longestSuffix) - len(job.ID) - 1
	input := filename.Shorten(job.Input, room)
	name := job.ID + "-" + input
	if status == Failed {
		name = freeName(dir, input, job.ID)
	}
	if input != job.Input {
		job.Errors = append(job.Errors, fmt.Sprintf("the name %s is too long for the file system with what erpipe adds to it; filed as %s", job.Input, name))
	}
	if runErr != nil {
		job.Errors = append(job.Errors, runErr.Error())
	}
	if res != nil {
		for _, e := range res.Errors {
			if len(job.Errors) >= MaxJobErrors {
				break
			}
			job.Errors = append(job.Errors, e.Error())
		}
		job.WarningTexts = nil
		for _, e := range res.Warnings[:min(len(res.Warnings), MaxJobErrors)] {
			job.WarningTexts = append(job.WarningTexts, e.Error())
		}
	}
	job.FinalPath, job.FinalStatus = filepath.Join(dir, name), status
	report := ""
	if status == Failed || (res != nil && (res.Rejected > 0 || len(res.Warnings) > 0)) {
		var err error
		if report, err = s.reportBase(job, status, res, input); err != nil {
			return err
		}
		job.Report = report + ".error.txt"
	}
	if err := s.record(ctx, job); err != nil {
		return err
	}
	if report != "" {
		if err := writeReport(job, res, runErr, report, s.resultPerm(job)); err != nil {
			return err
		}
	}
	if job.RejectedFile != "" {
		// customers.csv.rejected.csv beside customers.csv.error.txt
		dst := report + ".rejected" + filepath.Ext(job.RejectedFile)
		src := filepath.Join(s.ws.Work(), job.ID, job.RejectedFile)
		if err := os.Chmod(src, s.resultPerm(job)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("file the rejected rows: %w", err)
		}
		if err := os.Rename(src, dst); err != nil {
			return fmt.Errorf("file the rejected rows: %w", err)
		}
		job.RejectedFile = filepath.Base(dst)
	}
	return s.fileAway(ctx, job)
}

// reportBase returns where the report of job goes (the path its
// .error.txt and .rejected.csv suffixes are added to): beside a failed
// input in errors/; for rows left out, in errors/ too, where operators
// look for what did not make it, under the input's name (the report names
// the archived input); beside the archived input for warnings alone.
func (s *Service) reportBase(job *Job, status Status, res *transform.Result, input string) (string, error) {
	if status == Failed || res == nil || res.Rejected == 0 {
		return job.FinalPath, nil
	}
	dir := s.ws.Errors(job.Pipeline)
	if err := s.makeFolder(dir); err != nil {
		return "", fmt.Errorf("file the report of %s: %w (the input stays claimed; the next start tries again)", job.Input, err)
	}
	base := input
	if _, err := os.Lstat(filepath.Join(dir, base+".error.txt")); !errors.Is(err, os.ErrNotExist) {
		ext := filepath.Ext(input)
		base = strings.TrimSuffix(input, ext) + "." + job.ID + ext // another report has the name
	}
	return filepath.Join(dir, base), nil
}

// makeFolder makes the workspace folder dir, refusing one that is (or lies
// below) a symbolic link: checked before it is made, so that nothing is
// created through a link, and after, for a link put in place meanwhile.
func (s *Service) makeFolder(dir string) error {
	if err := s.ws.CheckFolder(dir); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return s.ws.CheckFolder(dir)
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
	if err := s.record(ctx, job, nonNil(endEvent(s.setupOf(job).ws, job, job.Finished))...); err != nil {
		return err
	}
	s.log.Info("job ended", "job", job.ID, "pipeline", job.Pipeline, "file", job.Input, "status", job.Status,
		"read", job.Read, "written", job.Written, "rejected", job.Rejected)
	return nil
}

// setAside files a job that ended the daemon MaxAttempts times into
// errors/ as poison, without running it again.
func (s *Service) setAside(ctx context.Context, job *Job) error {
	s.log.Error("a job that never ended is set aside as poison", "job", job.ID, "file", job.Input, "attempts", job.Attempts)
	return s.finish(ctx, job, Failed, nil, fmt.Errorf("erpipe stopped %d times while processing %s (it was killed or crashed: the file may need more memory "+
		"than the machine has, or hit a fault in erpipe); it is set aside and not tried again. Check the log around those stops, "+
		"and drop the file again (erpipe retry %s) once the cause is fixed", job.Attempts, job.Input, job.ID))
}

// handBack records that a stop handed job back: its attempt does not
// count toward MaxAttempts.
func (s *Service) handBack(ctx context.Context, job *Job) {
	job.Attempts = max(job.Attempts-1, 0)
	if err := s.journal.Put(context.WithoutCancel(ctx), job); err != nil {
		s.log.Warn("could not record the job handed back", "job", job.ID, "err", err)
	}
}

// resultPerm is the permission of what a job makes from its input
// (outputs in folders, reports, rejected rows): 0644 at most, and no wider
// than the input's, so that a result is never more readable than the file
// it comes from.
func (s *Service) resultPerm(job *Job) os.FileMode {
	fi, err := os.Lstat(job.ClaimedPath)
	if err != nil {
		return 0o600
	}
	return fi.Mode().Perm()&0o644 | 0o600
}

// longestSuffix is the longest suffix a filed input's name is given, for
// its rejected rows or its report.
const longestSuffix = ".rejected.xlsx"

// MaxJobErrors caps the error lines kept in a job record; the full list is
// in the report beside the input.
const MaxJobErrors = 20

// freeName returns name if it is free in dir, else name with the job id
// before its extension.
func freeName(dir, name, id string) string {
	if _, err := os.Lstat(filepath.Join(dir, name)); errors.Is(err, os.ErrNotExist) {
		return name
	}
	ext := filepath.Ext(name)
	return strings.TrimSuffix(name, ext) + "." + id + ext
}

// hashFile returns the sha256 (hex) and size of the file at path, opened
// as openInput opens it: never through a link, never waiting on a FIFO.
func hashFile(path string) (string, int64, error) {
	f, err := openInput(path)
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
