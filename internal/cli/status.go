package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/erpipe/erpipe/events"
	"github.com/erpipe/erpipe/jobs"
	"github.com/erpipe/erpipe/workspace"
)

func statusCmd(g *globals) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show what the daemon serves: its configuration, a change it refused, stray files",
		Long: `Status reads what erpipe run keeps of itself in .erpipe/status.json:
whether it runs, the configuration it serves (each pipeline's template and
version), a change of erpipe.yaml or templates/ it refused (it goes on
with the configuration it had), and the files in inbox/ that no pipeline
takes; then, from the journal, the events waiting for each webhook. For
jobs, see erpipe jobs.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			ws, err := openFolder(g)
			if err != nil {
				return err
			}
			if cc, err := workspace.ReadCluster(ws.Root, ws.ConfigPath); err == nil && cc.Enabled() {
				return clusterStatus(c.Context(), g, cc, asJSON) // cluster.go
			}
			st, err := jobs.ReadStatus(ws)
			if jobs.IsNoStatus(err) {
				fmt.Fprintf(g.stdout, "erpipe run has not run in %s\n", ws.Root)
				return nil
			}
			if err != nil {
				return failed(err)
			}
			if asJSON {
				hooks, err := webhookBacklogs(c.Context(), ws.JournalPath()) // events.go
				if err != nil {
					return failed(err)
				}
				return writeStatusJSON(g.stdout, st, hooks)
			}
			printStatus(g.stdout, ws, st)
			if err := printWebhooks(c.Context(), g.stdout, ws.JournalPath(), time.Now()); err != nil { // events.go
				return failed(err)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the status as JSON (with \"running\" and \"webhooks\")")
	return cmd
}

// writeStatusJSON writes st with "running" and each webhook's outbox
// ("webhooks": pending, oldest_pending, delivered, given_up, dropped).
func writeStatusJSON(w io.Writer, st *jobs.DaemonStatus, hooks []events.Backlog) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(struct {
		Running bool `json:"running"`
		*jobs.DaemonStatus
		Webhooks []webhookJSON `json:"webhooks"`
	}{st.Running, st, webhooksJSON(hooks)})
}

// printStatus writes st for people.
func printStatus(w io.Writer, ws *workspace.Workspace, st *jobs.DaemonStatus) {
	when := func(t time.Time) string { return t.Local().Format("2006-01-02 15:04:05") }
	if st.Running {
		fmt.Fprintf(w, "erpipe run (pid %d) serves %s since %s\n", st.PID, ws.Root, when(st.Started))
	} else {
		fmt.Fprintf(w, "erpipe run does not run in %s now; what it said last (pid %d, %s):\n", ws.Root, st.PID, when(st.Updated))
	}
	if cfg := st.Config; cfg != nil {
		fmt.Fprintf(w, "\nConfiguration taken %s: %d pipelines\n", when(cfg.Loaded), len(cfg.Pipelines))
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "  PIPELINE\tTEMPLATE\tVERSION")
		for _, p := range cfg.Pipelines {
			fmt.Fprintf(tw, "  %s\t%s\t%s\n", p.Name, p.Template, p.Version)
		}
		tw.Flush()
	}
	if ce := st.ConfigError; ce != nil {
		fmt.Fprintf(w, "\nA CHANGE OF THE CONFIGURATION WAS NOT TAKEN (%s); erpipe goes on with the configuration above:\n", when(ce.At))
		fmt.Fprintf(w, "  %s\n  Mend erpipe.yaml or the template (erpipe check says what is wrong); the daemon takes it once it is valid.\n", ce.Message)
	}
	if len(st.Strays) > 0 {
		fmt.Fprintf(w, "\nFiles and folders in inbox/ that no pipeline takes (move them into inbox/<pipeline>/):\n")
		for _, p := range st.Strays {
			if rel, err := filepath.Rel(ws.Root, p); err == nil {
				p = rel
			}
			fmt.Fprintf(w, "  %s\n", p)
		}
	}
}

// warnConfigError tells, on w, that the running daemon of ws refused a
// change of its configuration, if it did: commands that show jobs say it
// so that nobody waits for a change that was not taken.
func warnConfigError(w io.Writer, ws *workspace.Workspace) {
	st, err := jobs.ReadStatus(ws)
	if err != nil || !st.Running || st.ConfigError == nil {
		return
	}
	fmt.Fprintf(w, "warning: erpipe run refused a change of its configuration at %s and serves the one it had: %s (erpipe status, erpipe check)\n",
		st.ConfigError.At.Local().Format("15:04:05"), st.ConfigError.Message)
}
