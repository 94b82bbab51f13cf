package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/erpipe/erpipe/jobs"
	"github.com/erpipe/erpipe/workspace"
)

func runCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "run",
		Short: "Watch the inboxes and process files until SIGINT or SIGTERM",
		Long: `Run is the daemon. It creates the workspace folders, serves every pipeline
(every built-in template, plus those in erpipe.yaml), takes each file dropped
into inbox/<pipeline>/ once it is complete, and delivers the results to
outbox/<pipeline>/. The input ends in archive/<pipeline>/<date>/ or, when it
fails, in errors/<pipeline>/ with a report. On SIGINT or SIGTERM it finishes
the jobs in flight (or hands them back to the next start) and exits.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			ctx, cancel := signalContext()
			defer cancel()
			ws, err := openWorkspace(g)
			if err != nil {
				return err
			}
			j, err := openJournal(ws, true)
			if err != nil {
				return err
			}
			defer j.Close()
			svc, err := jobs.NewService(ws, j, g.logger())
			if err != nil {
				return usage(err)
			}
			// The schedules run beside the inboxes (schedule.go). Setting
			// them up is not cut short by a signal: Run stops them.
			runner, err := newRunner(context.WithoutCancel(ctx), g, ws, j)
			if err != nil {
				return err
			}
			svc.Now = runner.Now
			svc.Background = append(svc.Background, runner.Run)
			if err := svc.Run(ctx); err != nil && !(ctx.Err() != nil && errors.Is(err, context.Canceled)) {
				return failed(err)
			}
			return nil // a signal during start-up is a clean stop too
		},
	}
}

// openWorkspace opens the workspace named by the global flags.
func openWorkspace(g *globals) (*workspace.Workspace, error) {
	ws, err := workspace.Open(g.workspace, g.config)
	if err != nil {
		return nil, usage(err)
	}
	return ws, nil
}

// openJournal opens the journal of ws, creating .erpipe/ when create is
// set. Without create, a workspace that never ran has no journal: that is
// a usage error.
func openJournal(ws *workspace.Workspace, create bool) (*jobs.Journal, error) {
	if create {
		if err := ws.MakeState(); err != nil {
			return nil, failed(err)
		}
	} else if _, err := os.Stat(ws.JournalPath()); err != nil {
		return nil, usage(fmt.Errorf("%s is not an erpipe workspace that has run (no %s); give --workspace",
			ws.Root, filepath.Join(".erpipe", "journal.db")))
	}
	j, err := jobs.OpenJournal(ws.JournalPath())
	if err != nil {
		return nil, failed(err)
	}
	return j, nil
}
