package cli

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/erpipe/erpipe/jobs"
	"github.com/erpipe/erpipe/schedule"
	"github.com/erpipe/erpipe/workspace"
)

func checkCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "check",
		Short: "Check a workspace's configuration and templates without starting it",
		Long: `Check reads erpipe.yaml and every template the workspace serves, its
schedules and its destinations, as erpipe run would at its start or when
it reloads them, and says what is wrong, all of it at once. It changes
nothing (folder destinations' folders are created) and needs no running
daemon. Exit 0: valid; 2: not valid, with the reasons on stderr.

Run it after editing erpipe.yaml or a template: a running daemon takes a
valid change by itself, and keeps its old configuration on an invalid one.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			ws, err := workspace.Open(g.workspace, g.config)
			if err != nil {
				return usage(err)
			}
			var errs []error
			list, err := schedule.Load(ws)
			if err != nil {
				errs = append(errs, err)
			}
			if err := jobs.CheckDestinations(ws); err != nil {
				errs = append(errs, err)
			}
			if err := errors.Join(errs...); err != nil {
				return usage(err)
			}
			for _, n := range ws.Notes {
				fmt.Fprintln(g.stderr, "note:", n)
			}
			fmt.Fprintf(g.stdout, "%s: valid: %d pipelines, %d schedules\n", ws.Root, len(ws.Pipelines), len(list))
			for _, p := range ws.Pipelines {
				fmt.Fprintf(g.stdout, "  pipeline %-28s template %s %s\n", p.Name, p.Template.Name, p.Template.Version)
			}
			for _, s := range list {
				fmt.Fprintf(g.stdout, "  schedule %-28s template %s %s, %s\n", s.Name, s.Template.Name, s.Template.Version, s.CronText)
			}
			return nil
		},
	}
}
