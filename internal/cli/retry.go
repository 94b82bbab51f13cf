package cli

import (
	"context"
	"fmt"
	"os"

	"github.com/erpipe/erpipe/outbox/folder"
	"github.com/spf13/cobra"
)

func retryCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "retry ID",
		Short: "Run a job's input again, as a new job",
		Long: `Retry puts a copy of an ended job's input (from errors/ or archive/) back into
its pipeline's inbox, and lets it through the duplicate check once, so that
the daemon processes it again as a new job, for example after the template
was corrected. If the inbox holds another file of that name, the copy is
named "name (2).ext". The earlier job and its files stay as they are.`,
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
			if ws.Pipeline(job.Pipeline) == nil {
				return usage(fmt.Errorf("job %s belongs to pipeline %q, which this workspace no longer has", job.ID, job.Pipeline))
			}
			if _, err := os.Stat(job.FinalPath); err != nil {
				return failed(fmt.Errorf("job %s's input is no longer at %s: %w", job.ID, job.FinalPath, err))
			}
			if err := j.Allow(c.Context(), job.Pipeline, job.InputSHA256, job.ID); err != nil {
				return failed(err)
			}
			dst, err := copyIntoInbox(c.Context(), job.FinalPath, ws.Inbox(job.Pipeline), job.Input)
			if err != nil {
				return failed(err)
			}
			fmt.Fprintf(g.stdout, "Job %s's input is back in %s; the daemon runs it as a new job (see erpipe jobs).\n", job.ID, dst)
			return nil
		},
	}
}

// copyIntoInbox copies src into the inbox dir as name, through the folder
// destination (a hidden temporary file, synced, then linked or renamed
// into place), so that the watcher never sees a partial copy; when name is
// taken by another file the copy is "name (2).ext", ...
func copyIntoInbox(ctx context.Context, src, dir, name string) (string, error) {
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
