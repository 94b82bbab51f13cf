package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/erpipe/erpipe/jobs"
	"github.com/erpipe/erpipe/schematron"
	"github.com/erpipe/erpipe/templates"
	"github.com/erpipe/erpipe/workspace"
)

func demoCmd(g *globals) *cobra.Command {
	var dir string
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run every built-in template on its samples in a fresh workspace",
		Long: `Demo is the newcomer's first command. It creates a fresh workspace (in a
temporary folder unless --dir is given), drops the sample files of every
built-in template into their inboxes, runs the daemon until every job has
ended, and prints the jobs and where the results are.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if f := c.Flag("log-level"); f != nil && !f.Changed {
				g.logLevel = "warn" // keep the table readable
			}
			if dir == "" {
				d, err := os.MkdirTemp("", "erpipe-demo-")
				if err != nil {
					return failed(err)
				}
				dir = d
			}
			ws, err := initWorkspace(dir)
			if err != nil {
				return err
			}
			// Samples are copied in whole before the daemon starts, so a
			// short settle window is safe here.
			ws.Config.Settle = workspace.Duration(300 * time.Millisecond)
			ws.Config.Rescan = workspace.Duration(time.Second)
			dropped := 0
			_, noRules := schematron.Find()
			for _, name := range templates.Names() {
				if noRules != nil {
					// Said, not hidden: such a job would fail for want of
					// the processor, not for anything in its sample.
					if t, err := ws.LoadTemplate(name); err == nil && t.BusinessRules() {
						fmt.Fprintf(g.stdout, "%s: sample left out: its documents are checked by official rules that need Saxon-HE (%v)\n", name, noRules)
						continue
					}
				}
				for _, s := range templates.Samples(name) {
					if err := copyFromFS(templates.FS(), s, filepath.Join(ws.Inbox(name), filepath.Base(s))); err != nil {
						return failed(err)
					}
					dropped++
				}
			}
			j, err := openJournal(ws, true)
			if err != nil {
				return err
			}
			defer j.Close()
			svc, err := jobs.NewService(ws, j, g.logger())
			if err != nil {
				return failed(err)
			}
			ctx, cancel := context.WithTimeout(c.Context(), timeout)
			defer cancel()
			done := make(chan error, 1)
			go func() { done <- svc.Run(ctx) }()
			list, waitErr := waitForJobs(ctx, j, dropped)
			cancel()
			if err := <-done; err != nil {
				return failed(err)
			}
			if waitErr != nil {
				return failed(waitErr)
			}
			fmt.Fprintf(g.stdout, "\n%d files dropped into the inboxes of %d built-in templates; %d jobs:\n\n", dropped, len(templates.Names()), len(list))
			printJobs(g.stdout, list, newJobsView(g.stdout, ws.Root))
			fmt.Fprintf(g.stdout, "\nWorkspace: %s\n", ws.Root)
			fmt.Fprintf(g.stdout, "  results:  %s\n", filepath.Join(ws.Root, "outbox"))
			fmt.Fprintf(g.stdout, "  inputs:   %s\n", filepath.Join(ws.Root, "archive"))
			fmt.Fprintf(g.stdout, "  details:  erpipe jobs show ID --workspace %s\n", ws.Root)
			for _, job := range list {
				if job.Status == jobs.Failed {
					return failed(fmt.Errorf("job %s (%s) failed", job.ID, job.Input))
				}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "", "workspace folder for the demo (default: a new temporary folder)")
	cmd.Flags().DurationVar(&timeout, "timeout", 2*time.Minute, "give up after this long")
	return cmd
}

// waitForJobs waits until n jobs have ended and none is running.
func waitForJobs(ctx context.Context, j *jobs.Journal, n int) ([]*jobs.Job, error) {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		list, err := j.List(ctx, jobs.Filter{})
		if err != nil && ctx.Err() == nil {
			return nil, err
		}
		ended := 0
		for _, job := range list {
			if job.Status.Final() {
				ended++
			}
		}
		if ended >= n && ended == len(list) {
			return list, nil
		}
		select {
		case <-ctx.Done():
			return list, fmt.Errorf("only %d of %d jobs ended in time", ended, n)
		case <-tick.C:
		}
	}
}
