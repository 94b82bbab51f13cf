package cli

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/erpipe/erpipe/jobs"
	"github.com/erpipe/erpipe/schedule"
	"github.com/erpipe/erpipe/workspace"
)

func retryCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "retry ID",
		Short: "Run a job's input again, as a new job",
		Long: `Retry puts a copy of an ended job's input (from errors/ or archive/) back into
its pipeline's inbox, and lets it through the duplicate check once, so that
the daemon processes it again as a new job, for example after the template
was corrected. If the inbox holds another file of that name, the copy is
named "name (2).ext". The earlier job and its files stay as they are; each
job notes the other.

A job of a schedule is its period's run: retry produces that period again
now, as erpipe schedule run NAME --period P would, and prints the new job.
A period that was produced since is not submitted again by a retry; retry
says how to send a correction (erpipe schedule run NAME --period P --force).`,
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			ws, j, job, err := openJob(c, g, args[0])
			if err != nil {
				return err
			}
			defer j.Close()
			if !job.Status.Final() {
				return usage(fmt.Errorf("job %s is still %s; retry it once it has ended", job.ID, job.Status))
			}
			if job.Submission != nil {
				return retrySubmission(c, g, ws, j, job)
			}
			dst, err := jobs.RetryInput(c.Context(), ws, j, job, "erpipe retry")
			var re *jobs.RetryError
			switch {
			case errors.As(err, &re):
				return usage(err)
			case err != nil && dst == "":
				return failed(err)
			case err != nil:
				fmt.Fprintf(g.stderr, "erpipe: %v\n", err)
			}
			fmt.Fprintf(g.stdout, "Job %s's input is back in %s; the daemon runs it as a new job (see erpipe jobs).\n", job.ID, dst)
			return nil
		},
	}
}

// retrySubmission runs again the period of a schedule's job.
func retrySubmission(c *cobra.Command, g *globals, ws *workspace.Workspace, j *jobs.Journal, job *jobs.Job) error {
	sub := job.Submission
	r, err := newRunner(context.WithoutCancel(c.Context()), g, ws, j) // schedule.go
	if err != nil {
		return err
	}
	s, err := schedule.Find(r.Schedules(), sub.Schedule)
	if err != nil {
		return usage(fmt.Errorf("job %s is a run of schedule %s (period %s), which %s no longer has: %w", job.ID, sub.Schedule, sub.Period, workspace.ConfigFile, err))
	}
	p, err := s.Rule.Parse(sub.Period)
	if err != nil {
		return usage(fmt.Errorf("job %s is a run of period %s, which is not a period of schedule %s as it is now (%w); produce the period you mean with erpipe schedule run %s --period P",
			job.ID, sub.Period, s.Name, err, s.Name))
	}
	ctx, cancel := signalContext()
	defer cancel()
	again, err := r.Retry(ctx, s, p, job.ID)
	switch {
	case errors.Is(err, jobs.ErrProduced):
		since := ""
		if runs, lerr := r.Runs(ctx, s.Name); lerr == nil {
			for _, run := range runs {
				if run.Period == p.Name && run.Status == jobs.RunProduced {
					since = fmt.Sprintf(" (version %d, job %s, %s)", run.Version, run.Job, run.Updated.Local().Format(time.RFC3339))
				}
			}
		}
		return usage(fmt.Errorf("job %s is a run of period %s of schedule %s, which has been produced%s; a retry does not submit it again. "+
			"To send a correction, which keeps the produced one as its prior version, run: erpipe schedule run %s --period %s --force",
			job.ID, p.Name, s.Name, since, s.Name, p.Name))
	case errors.Is(err, jobs.ErrRunning):
		return failed(err)
	case err != nil && again == nil:
		return failed(err)
	}
	noteRetried(ctx, g, j, job, "retried (erpipe retry) as job "+again.ID)
	fmt.Fprintf(g.stdout, "Job %s's period %s of schedule %s was run again as job %s:\n\n", job.ID, p.Name, s.Name, again.ID)
	printJob(g.stdout, again)
	if err != nil {
		return failed(err)
	}
	return nil
}

// noteRetried adds note to the record of job, which erpipe retry ran
// again; the retry stands when the note can't be written.
func noteRetried(ctx context.Context, g *globals, j *jobs.Journal, job *jobs.Job, note string) {
	job.Notes = append(job.Notes, note)
	if err := j.Put(context.WithoutCancel(ctx), job); err != nil {
		fmt.Fprintf(g.stderr, "erpipe: the retry is made, but job %s's record could not say so: %v\n", job.ID, err)
	}
}
