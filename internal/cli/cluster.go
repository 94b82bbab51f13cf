package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"

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
	if len(ws.Config.Schedules) > 0 {
		parts = append(parts, "schedules:")
	}
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
