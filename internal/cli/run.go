package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/erpipe/erpipe/jobs"
	"github.com/erpipe/erpipe/schedule"
	"github.com/erpipe/erpipe/workspace"
)

func runCmd(g *globals) *cobra.Command {
	var acceptNew bool
	var listen, node string
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Watch the inboxes and process files until SIGINT or SIGTERM",
		Long: `Run is the daemon. It creates the workspace folders, serves every pipeline
(every built-in template, plus those in erpipe.yaml), takes each file dropped
into inbox/<pipeline>/ once it is complete, and delivers the results to
outbox/<pipeline>/. The input ends in archive/<pipeline>/<date>/ or, when it
fails, in errors/<pipeline>/ with a report. On SIGINT or SIGTERM it finishes
the jobs in flight (or hands them back to the next start) and exits.

It follows its configuration: when erpipe.yaml or a file under templates/
changes (or on SIGHUP), it reads them again and, if all of it is valid
(as erpipe check would say), takes the change between jobs; a job runs to
its end by the configuration it was claimed by. An invalid change is
logged and shown by erpipe status and erpipe jobs, and the old
configuration goes on serving until it is mended. Workers and the
inboxes' timings are taken at the next start only.

The job journal (.erpipe/journal.db) is the workspace's memory of what it
processed and submitted. If it is missing or empty where the workspace has
processed files before, run refuses to start: restore it from a backup, or
give --accept-new-journal to start a new one, in which the inputs in
archive/ and the receipts of scheduled submissions are recorded so that
they are still recognised.

With --listen ADDR (or http: listen: in erpipe.yaml) it also serves HTTP
on ADDR (127.0.0.1 when only a port is given): /healthz, /readyz, erpipe's
API under /api/v1/ and the recurring-integrations facade under
/api/connector/ (docs/api.md), and the web console for operators at
/console/ (docs/console.md). HTTPS when http: has cert_file and key_file.

With cluster: in erpipe.yaml it runs as one node of several that share the
workspace folder and a PostgreSQL database, which holds the journal and the
job queue (docs/cluster.md); --node names the node.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			ctx, cancel := signalContext()
			defer cancel()
			ws, err := openWorkspace(g)
			if err != nil {
				return err
			}
			if ws.Config.Cluster.Enabled() {
				return runNode(ctx, g, ws, node)
			}
			if nfs, kind := workspace.NetworkFS(ws.State()); nfs {
				// SQLite's locks are not to be trusted there; a node alone
				// still runs, as before (docs/cluster.md).
				g.logger().Warn("the job journal is on a network file system, where SQLite's locking is unreliable: keep .erpipe on a local disk, "+
					"and never run erpipe on this workspace from two machines but as a cluster (cluster: in erpipe.yaml)", "state", ws.State(), "file_system", kind)
			}
			j, err := createJournal(ctx, g, ws, acceptNew)
			if err != nil {
				return err
			}
			defer j.Close()
			svc, err := jobs.NewService(ws, j, g.logger())
			if err != nil {
				return usage(err)
			}
			svc.TempDir = ws.Temp() // emptied at start: what a crash left there goes
			// The schedules run beside the inboxes (schedule.go). Setting
			// them up is not cut short by a signal: Run stops them.
			runner, err := newRunner(context.WithoutCancel(ctx), g, ws, j)
			if err != nil {
				return err
			}
			svc.Now = runner.Now
			svc.Background = append(svc.Background, runner.Run, dispatcher(g, svc, j).Run)
			svc.Reloaders = append(svc.Reloaders, runner.Reloader)
			srv, err := httpServer(g, ws, listen, svc, runner)
			if err != nil {
				return err
			}
			if srv != nil {
				svc.Background = append(svc.Background, srv.Serve)
			}
			stopHangup := onHangup(svc.RequestReload)
			defer stopHangup()
			if err := svc.Run(ctx); err != nil && !(ctx.Err() != nil && errors.Is(err, context.Canceled)) {
				return failed(err)
			}
			return nil // a signal during start-up is a clean stop too
		},
	}
	cmd.Flags().StringVar(&node, "node", "",
		"with cluster: in erpipe.yaml, this node's name (default: cluster: node, ERPIPE_NODE, or the host's name)")
	cmd.Flags().BoolVar(&acceptNew, "accept-new-journal", false,
		"start a new job journal where it is missing or empty, recording the archive's inputs and receipts in it")
	cmd.Flags().StringVar(&listen, "listen", "",
		"serve HTTP (health, API, recurring-integrations facade, web console) on host:port, such as 127.0.0.1:8780; overrides http: listen: in erpipe.yaml")
	return cmd
}

// openWorkspace opens the workspace named by the global flags.
func openWorkspace(g *globals) (*workspace.Workspace, error) {
	ws, err := workspace.Open(g.workspace, g.config)
	if err != nil {
		return nil, usage(err)
	}
	return ws, nil
}

// openFolder is the workspace named by the global flags as a folder,
// without reading its configuration: for commands that read only its
// state (its journal, its status), which must work while erpipe.yaml or a
// template is broken.
func openFolder(g *globals) (*workspace.Workspace, error) {
	ws, err := workspace.At(g.workspace)
	if err != nil {
		return nil, usage(err)
	}
	return ws, nil
}

// openJournal opens the journal of ws, creating it (and .erpipe/) when
// create is set; a missing or empty journal where the workspace has
// processed files before is refused (createJournal). Without create, a
// workspace that never ran has no journal: that is a usage error.
func openJournal(ws *workspace.Workspace, create bool) (*jobs.Journal, error) {
	if cc, err := workspace.ReadCluster(ws.Root, ws.ConfigPath); err == nil && cc.Enabled() {
		// A node of a cluster: the journal is the cluster's.
		j, err := jobs.OpenPostgresJournal(context.Background(), cc.Database)
		if err != nil {
			return nil, failed(err)
		}
		return j, nil
	}
	if create {
		j, _, err := jobs.OpenWorkspaceJournal(ws, false)
		if err != nil {
			return nil, failed(err)
		}
		return j, nil
	}
	if _, err := os.Stat(ws.JournalPath()); err != nil {
		return nil, usage(fmt.Errorf("%s is not an erpipe workspace that has run (no %s); give --workspace",
			ws.Root, filepath.Join(".erpipe", "journal.db")))
	}
	j, err := jobs.OpenJournal(ws.JournalPath())
	if err != nil {
		return nil, failed(err)
	}
	return j, nil
}

// createJournal opens the daemon's journal. With acceptNew, a journal
// started new where the workspace has a history gets that history from
// the archive: the inputs each pipeline took and the periods each
// schedule produced.
func createJournal(ctx context.Context, g *globals, ws *workspace.Workspace, acceptNew bool) (*jobs.Journal, error) {
	j, created, err := jobs.OpenWorkspaceJournal(ws, acceptNew)
	if err != nil {
		return nil, failed(err)
	}
	if !created || !acceptNew {
		return j, nil
	}
	inputs, err := jobs.RebuildFromArchive(ctx, ws, j)
	if err == nil {
		var periods int
		periods, err = schedule.RebuildRuns(ctx, ws, j)
		g.logger().Warn("a new job journal was started; the archive's history was recorded in it",
			"journal", ws.JournalPath(), "inputs", inputs, "periods", periods)
	}
	if err != nil {
		j.Close()
		return nil, failed(fmt.Errorf("record the archive in the new journal: %w", err))
	}
	return j, nil
}
