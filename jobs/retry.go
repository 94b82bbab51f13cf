package jobs

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/erpipe/erpipe/outbox/folder"
	"github.com/erpipe/erpipe/workspace"
)

// ErrNotEnded is returned by RetryInput for a job that has not ended.
var ErrNotEnded = errors.New("the job has not ended")

// RetryError is a retry that cannot be made as asked; its message says
// why and what to do.
type RetryError struct{ msg string }

func (e *RetryError) Error() string { return e.msg }

// RetryInput puts a copy of an ended job's input (from errors/ or
// archive/) back into its pipeline's inbox and lets it through the
// duplicate check once, so that the daemon processes it again as a new
// job; the earlier job notes the retry. It returns where the copy went.
// A job of a schedule is not retried here (schedule.Runner.Retry does).
func RetryInput(ctx context.Context, ws *workspace.Workspace, j *Journal, job *Job, by string) (string, error) {
	if !job.Status.Final() {
		return "", &RetryError{fmt.Sprintf("job %s is still %s; retry it once it has ended", job.ID, job.Status)}
	}
	if job.Submission != nil {
		return "", &RetryError{fmt.Sprintf("job %s is a run of schedule %s (period %s); run the period again instead", job.ID, job.Submission.Schedule, job.Submission.Period)}
	}
	if ws.Pipeline(job.Pipeline) == nil {
		return "", &RetryError{fmt.Sprintf("job %s belongs to pipeline %q, which this workspace no longer has", job.ID, job.Pipeline)}
	}
	if _, err := os.Stat(job.FinalPath); err != nil {
		return "", fmt.Errorf("job %s's input is no longer at %s: %w", job.ID, job.FinalPath, err)
	}
	if err := j.Allow(ctx, job.Pipeline, job.InputSHA256, job.ID); err != nil {
		return "", err
	}
	dst, err := CopyIntoInbox(ctx, job.FinalPath, ws.Inbox(job.Pipeline), job.Input)
	if err != nil {
		return "", err
	}
	where := dst
	if rel, err := filepath.Rel(ws.Root, dst); err == nil && filepath.IsLocal(rel) {
		where = filepath.ToSlash(rel)
	}
	job.Notes = append(job.Notes, fmt.Sprintf("retried (%s) at %s: its input went back into %s", by, time.Now().Format(time.RFC3339), where))
	if err := j.Put(context.WithoutCancel(ctx), job); err != nil {
		return dst, fmt.Errorf("the retry is made, but job %s's record could not say so: %w", job.ID, err)
	}
	return dst, nil
}

// CopyIntoInbox copies src into the inbox dir as name, through the folder
// destination (a hidden temporary file, synced, then linked or renamed
// into place), so that the watcher never sees a partial copy; when name is
// taken by another file the copy is "name (2).ext", ...
func CopyIntoInbox(ctx context.Context, src, dir, name string) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	in, err := os.Open(src)
	if err != nil {
		return "", err
	}
	defer in.Close()
	st, err := in.Stat()
	if err != nil {
		return "", err
	}
	inbox, err := folder.New(dir, folder.PolicyRename)
	if err != nil {
		return "", err
	}
	return inbox.Put(ctx, name, in, st.Size())
}
