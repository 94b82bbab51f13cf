package cli

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/erpipe/erpipe/d365/emulator"
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
ended, and prints the jobs and where the results are. The customers-v3
package is also imported into an emulated Dynamics 365 (the emulator of
erpipe d365 emulate, on a loopback port for the demo's length), to show a
file dropped into an inbox ending as a D365 execution.`,
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
			d365, err := demoD365(ws, g.logger())
			if err != nil {
				return failed(err)
			}
			defer d365.Close()
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
			for _, im := range d365.Imports() {
				fmt.Fprintf(g.stdout, "  D365:     customers-v3's package imported into an emulated D365 as execution %s (%s, %d entities); try erpipe d365 emulate\n",
					im.ExecutionID, im.Status, len(im.Entities))
			}
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

// demoD365 starts a D365 emulator on a loopback port and gives the
// customers-v3 pipeline a d365 destination importing into it, beside its
// outbox folder.
func demoD365(ws *workspace.Workspace, log *slog.Logger) (*emulator.Server, error) {
	ca := filepath.Join(ws.State(), "d365-emulator-ca.pem")
	s := emulator.New(emulator.Options{CAFile: ca, QueueTime: 100 * time.Millisecond, ExecuteTime: 300 * time.Millisecond, Logger: log})
	if err := s.Start(""); err != nil {
		return nil, err
	}
	secret := filepath.Join(ws.State(), "d365-emulator-secret")
	if err := os.WriteFile(secret, []byte(s.ClientSecret()), 0o600); err != nil {
		s.Close()
		return nil, err
	}
	p := ws.Pipeline("customers-v3")
	if p == nil {
		return s, nil // the demo's workspace has no such pipeline: nothing to import
	}
	p.Destinations = append(p.Destinations, workspace.DestinationConfig{Folder: &workspace.FolderConfig{}},
		workspace.DestinationConfig{D365: &workspace.D365Config{
			D365Connection: workspace.D365Connection{Environment: s.URL(), AuthorityHost: s.URL(), Tenant: s.Tenant(), ClientID: s.ClientID(),
				SecretFile: secret, CAFile: ca},
			DefinitionGroup: "erpipe-customers", LegalEntity: "USMF"}})
	return s, nil
}
