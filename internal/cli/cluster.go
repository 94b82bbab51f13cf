package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/erpipe/erpipe/jobs"
	"github.com/erpipe/erpipe/workspace"
)

// runNode is erpipe run as a node of a cluster (docs/cluster.md).
func runNode(ctx context.Context, g *globals, ws *workspace.Workspace, nodeFlag string) error {
	if err := clusterUnsupported(ws); err != nil {
		return usage(err)
	}
	node := ws.Config.Cluster.NodeName(nodeFlag)
	ws.SetNode(node)
	c, err := jobs.OpenCluster(ctx, jobs.ClusterOptions{
		Database:    ws.Config.Cluster.Database,
		Node:        node,
		ConfigHash:  ws.ConfigHash(),
		RescueAfter: ws.Config.Rescue(),
		JobTimeout:  ws.Config.JobTimeout(),
		Workers:     ws.Config.WorkerCount(),
		Logger:      g.logger(),
	})
	if err != nil {
		return failed(err)
	}
	defer c.Close()
	svc, err := jobs.NewService(ws, c.Journal(), g.logger())
	if err != nil {
		return usage(err)
	}
	svc.TempDir = ws.Temp()
	svc.UseCluster(c)
	// Every node runs the schedules: the first to claim a period in the
	// database produces it; a period a dead node was producing is taken
	// over once its node's lock is gone (docs/cluster.md).
	runner, err := newRunner(context.WithoutCancel(ctx), g, ws, c.Journal())
	if err != nil {
		return err
	}
	runner.SetOwner(c.ScheduleOwner())
	runner.OwnerAlive = c.OwnerAlive
	runner.Poll = 2 * time.Second // how soon a dead node's period is taken over
	svc.Now = runner.Now
	svc.Background = append(svc.Background, runner.Run)
	svc.Reloaders = append(svc.Reloaders, runner.Reloader)
	stopHangup := onHangup(svc.RequestReload)
	defer stopHangup()
	if err := svc.Run(ctx); err != nil && !(ctx.Err() != nil && errors.Is(err, context.Canceled)) {
		return failed(err)
	}
	return nil
}

// clusterUnsupported names what a cluster node does not run yet: each
// would need its state moved into the shared database first (issue 23).
func clusterUnsupported(ws *workspace.Workspace) error {
	var parts []string
	if ws.Config.HTTP.Enabled() {
		parts = append(parts, "http:")
	}
	if len(ws.Config.Webhooks) > 0 {
		parts = append(parts, "webhooks:")
	}
	for _, p := range ws.Pipelines {
		if p.Source != nil {
			parts = append(parts, "a pipeline's source: ("+p.Name+")")
		}
	}
	if len(parts) == 0 {
		return nil
	}
	return fmt.Errorf("%s: a cluster node does not run %s yet (docs/cluster.md); run them on a node alone, without cluster:",
		workspace.ConfigFile, strings.Join(parts, ", "))
}

// clusterCmd is erpipe cluster: what concerns the nodes of a cluster.
func clusterCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "cluster",
		Short: "Work with a cluster of nodes sharing a PostgreSQL database (docs/cluster.md)",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "migrate",
		Short: "Copy the journal of a node alone into the cluster's database",
		Long: `Migrate copies the workspace's own journal (.erpipe/journal.db) into the
PostgreSQL database that cluster: database in erpipe.yaml names: every job
(content processed before is still a duplicate), the allowances of erpipe
retry, and the schedules' periods (none is produced again). It copies in one
transaction, and running it again copies nothing twice.

Stop erpipe run first, once its jobs have ended: a journal with a job that
has not ended is refused, and so is a workspace a daemon is running on.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			ctx := c.Context()
			ws, err := openWorkspace(g)
			if err != nil {
				return err
			}
			if !ws.Config.Cluster.Enabled() {
				return usage(fmt.Errorf("%s has no cluster: database; add it first (docs/cluster.md)", workspace.ConfigFile))
			}
			if _, err := os.Stat(ws.JournalPath()); err != nil {
				return usage(fmt.Errorf("%s has no journal to migrate (%s)", ws.Root, ws.JournalPath()))
			}
			unlock, err := ws.Lock() // no daemon of the node alone runs meanwhile
			if err != nil {
				return failed(err)
			}
			defer unlock()
			from, err := jobs.OpenJournal(ws.JournalPath())
			if err != nil {
				return failed(err)
			}
			defer from.Close()
			to, err := jobs.OpenPostgresJournal(ctx, ws.Config.Cluster.Database)
			if err != nil {
				return failed(err)
			}
			defer to.Close()
			m, err := jobs.MigrateJournal(ctx, from, to)
			if err != nil {
				return failed(err)
			}
			fmt.Fprintf(g.stdout, "copied %d jobs, %d periods of %d schedules and %d retry allowances into the cluster's journal\n",
				m.Jobs, m.Periods, m.Schedules, m.Allowances)
			return nil
		},
	})
	return cmd
}

// clusterStatus is erpipe status for a cluster: its nodes, from the
// database.
func clusterStatus(ctx context.Context, g *globals, cc workspace.ClusterConfig, asJSON bool) error {
	j, err := jobs.OpenPostgresJournal(ctx, cc.Database)
	if err != nil {
		return failed(err)
	}
	defer j.Close()
	nodes, err := jobs.Nodes(ctx, j)
	if err != nil {
		return failed(err)
	}
	if asJSON {
		enc := json.NewEncoder(g.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(struct {
			Nodes []jobs.NodeStatus `json:"nodes"`
		}{nodes})
	}
	if len(nodes) == 0 {
		fmt.Fprintln(g.stdout, "no node of this cluster has run yet")
		return nil
	}
	tw := tabwriter.NewWriter(g.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NODE\tSTATE\tPID\tCONFIG\tSTARTED\tLAST SEEN\t")
	for _, n := range nodes {
		state := "stopped"
		if n.Running {
			state = "running"
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\t\n", printable(n.Name), state, n.PID, n.Config,
			n.Started.Local().Format("2006-01-02 15:04:05"), n.Seen.Local().Format("2006-01-02 15:04:05"))
	}
	return tw.Flush()
}
