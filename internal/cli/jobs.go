package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/gocarina/gocsv"
	"github.com/spf13/cobra"

	"github.com/erpipe/erpipe/jobs"
	"github.com/erpipe/erpipe/workspace"
)

func jobsCmd(g *globals) *cobra.Command {
	var status, pipeline, since string
	var limit int
	var asJSON, asCSV bool
	cmd := &cobra.Command{
		Use:   "jobs",
		Short: "List the job journal",
		Long: `Jobs lists the jobs of the workspace, oldest first: one per input file.
Statuses: Enqueued, Processing, Processed, ProcessedWithErrors (some rows were
rejected), Failed (the input is in errors/), Duplicate (same content as an
earlier job; not processed again).

STARTED is when the job started, in local time (the time of day for today's
jobs). READ counts the rows read so far while a job is Processing. OUTPUTS
are the names the results landed under ("customers (2).zip" when the folder
kept an earlier result of that name). NOTE says what to look at first: how
far a running job is (rows, rows/s, how much of the input is read) or what
it waits for, a failed job's first error, how many rows were rejected and
where they are, warnings, and notes such as the job a retry retries. It is
cut to the terminal's width (COLUMNS, else 100 when not a terminal); erpipe
jobs show ID prints it all.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			f, err := jobs.ParseFilter(status, pipeline, since, limit, time.Now())
			if err != nil {
				return usage(fmt.Errorf("--%w", err))
			}
			ws, err := openFolder(g) // the jobs are shown also while the configuration is broken
			if err != nil {
				return err
			}
			j, err := openJournal(ws, false)
			if err != nil {
				return err
			}
			defer j.Close()
			warnConfigError(g.stderr, ws)
			list, err := j.List(c.Context(), f)
			if err != nil {
				return failed(err)
			}
			if asJSON {
				return writeJSON(g.stdout, list)
			}
			if asCSV {
				return writeJobsCSV(g.stdout, list, newJobsView(g.stdout, ws.Root))
			}
			printJobs(g.stdout, list, newJobsView(g.stdout, ws.Root))
			return nil
		},
	}
	cmd.Flags().StringVar(&status, "status", "", "only jobs with this status")
	cmd.Flags().StringVar(&pipeline, "pipeline", "", "only jobs of this pipeline")
	cmd.Flags().StringVar(&since, "since", "", "only jobs created since a date (2026-11-01), time (2026-11-01T08:00:00Z) or duration ago (24h)")
	cmd.Flags().IntVar(&limit, "limit", 0, "only the newest N jobs")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.Flags().BoolVar(&asCSV, "csv", false, "print CSV, one row per job, for a spreadsheet")
	cmd.AddCommand(jobsShowCmd(g))
	return cmd
}

func jobsShowCmd(g *globals) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "show ID",
		Short: "Show one job in full",
		Args:  cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			_, j, job, err := openJob(c, g, args[0])
			if err != nil {
				return err
			}
			defer j.Close()
			if asJSON {
				return writeJSON(g.stdout, job)
			}
			printJob(g.stdout, job)
			if u, err := j.UploadOfJob(c.Context(), job.ID); err == nil && u != nil {
				printUpload(g.stdout, u)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

// printUpload says how a job's input came over HTTP: which client sent
// it, under which Idempotency-Key, and the facade's message.
func printUpload(w io.Writer, u *jobs.UploadRecord) {
	who := "the API, open on loopback (no client)"
	if u.Client != "" {
		who = "client " + u.Client
	}
	fmt.Fprintf(w, "Sent over HTTP by %s at %s", who, u.Created.Local().Format(time.RFC3339))
	if u.Key != "" {
		fmt.Fprintf(w, ", Idempotency-Key %q", printable(u.Key))
	}
	fmt.Fprintln(w)
	if u.MessageID != "" {
		fmt.Fprintf(w, "  recurring-integrations message %s (activity %s", u.MessageID, u.Activity)
		for _, kv := range [][2]string{{"entity", u.Entity}, {"company", u.Company}, {"x-ms-dyn-externalidentifier", u.ExternalID}} {
			if kv[1] != "" {
				fmt.Fprintf(w, ", %s %s", kv[0], printable(kv[1]))
			}
		}
		fmt.Fprintln(w, ")")
	}
}

// printJob prints one job for people.
func printJob(w io.Writer, j *jobs.Job) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(k, v string) {
		if v != "" {
			fmt.Fprintf(tw, "%s:\t%s\n", k, printable(v))
		}
	}
	row("Job", j.ID)
	row("Pipeline", j.Pipeline)
	row("Status", string(j.Status))
	row("Input", j.Input)
	row("Input sha256", j.InputSHA256)
	row("Input size", fmt.Sprintf("%d bytes", j.InputSize))
	row("Template", strings.TrimSpace(j.Template+" "+j.TemplateVersion))
	row("Template sha256", j.TemplateHash)
	row("Rows", fmt.Sprintf("%d read, %d written, %d rejected, %d warnings", j.Read, j.Written, j.Rejected, j.Warnings))
	row("Duplicate of", j.DuplicateOf)
	row("Created", fmtTime(j.Created))
	row("Started", fmtTime(j.Started))
	row("Finished", fmtTime(j.Finished))
	if !j.Started.IsZero() && !j.Finished.IsZero() {
		row("Took", j.Finished.Sub(j.Started).Round(time.Millisecond).String())
	}
	if j.Status == jobs.Processing && j.Progress != nil {
		row("Progress", fmt.Sprintf("%s (at %s)", j.Progress.String(j.Started, j.InputSize), j.Progress.At.Local().Format("15:04:05")))
	}
	row("Node", j.Node) // the cluster node that ran it (docs/cluster.md)
	row("Retry of", j.RetryOf)
	if j.DeliveryRetries > 0 {
		row("Delivery retries", fmt.Sprintf("%d (a destination was unavailable)", j.DeliveryRetries))
	}
	row("Input now at", j.FinalPath)
	row("Report", j.Report)
	if j.RejectedFile != "" && j.Report != "" {
		row("Rejected rows", filepath.Join(filepath.Dir(j.Report), j.RejectedFile))
	}
	tw.Flush()
	if len(j.Outputs) > 0 {
		fmt.Fprintln(w, "Outputs:")
		for _, o := range j.Outputs {
			fmt.Fprintf(w, "  %s  %d bytes  sha256 %s\n    -> %s\n", printable(o.Name), o.Size, o.SHA256, printable(o.Location))
		}
	}
	if len(j.Pending) > 0 {
		fmt.Fprintln(w, "Waiting for:")
		for _, p := range j.Pending {
			fmt.Fprintf(w, "  %s\n", printable(p))
		}
	}
	if j.Submission != nil {
		printSubmission(w, j.Submission) // schedule.go
	}
	printLines(w, "Notes:", j.Notes)
	if len(j.WarningTexts) > 0 {
		title := "Warnings:"
		if j.Warnings > len(j.WarningTexts) {
			title = fmt.Sprintf("Warnings (the first %d of %d; the report lists them all):", len(j.WarningTexts), j.Warnings)
		}
		printLines(w, title, j.WarningTexts)
	}
	printLines(w, "What the receiver refused:", j.DeliveryProblems)
	printLines(w, "Errors:", j.Errors)
	printEvents(w, j.Events) // events.go
}

// printLines prints a titled list of messages, each indented, its lines
// too; nothing when there are none.
func printLines(w io.Writer, title string, list []string) {
	if len(list) == 0 {
		return
	}
	fmt.Fprintln(w, title)
	for _, e := range list {
		lines := strings.Split(e, "\n")
		for i, l := range lines {
			lines[i] = printable(l)
		}
		fmt.Fprintf(w, "  %s\n", strings.Join(lines, "\n  "))
	}
}

// printable returns s with the characters a terminal would act on instead
// of showing (control characters such as ESC, BEL and newlines, and the
// bidirectional overrides that reorder a line) written as escapes, so
// that a file name cannot rewrite what an operator sees.
func printable(s string) string {
	if strings.IndexFunc(s, unprintable) < 0 {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		switch {
		case !unprintable(r):
			b.WriteRune(r)
		case r < 0x100:
			fmt.Fprintf(&b, "\\x%02x", r)
		default:
			fmt.Fprintf(&b, "\\u%04x", r)
		}
	}
	return b.String()
}

func unprintable(r rune) bool {
	return r < 0x20 || r >= 0x7f && r < 0xa0 || r == 0x2028 || r == 0x2029 ||
		r >= 0x202a && r <= 0x202e || r >= 0x2066 && r <= 0x2069 || r == utf8.RuneError
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Local().Format("2006-01-02 15:04:05.000 MST")
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// openJob opens the workspace and its journal and finds job id in it. The
// caller closes the journal.
func openJob(c *cobra.Command, g *globals, id string) (*workspace.Workspace, *jobs.Journal, *jobs.Job, error) {
	ws, err := openWorkspace(g)
	if err != nil {
		return nil, nil, nil, err
	}
	j, err := openJournal(ws, false)
	if err != nil {
		return nil, nil, nil, err
	}
	job, err := j.Get(c.Context(), id)
	if err != nil {
		j.Close()
		if errors.Is(err, jobs.ErrNotFound) {
			return nil, nil, nil, usage(err)
		}
		return nil, nil, nil, failed(err)
	}
	return ws, j, job, nil
}

// jobRow is one job as a row of `erpipe jobs --csv`.
type jobRow struct {
	ID              string `csv:"id"`
	Pipeline        string `csv:"pipeline"`
	Input           string `csv:"input"`
	InputSHA256     string `csv:"input_sha256"`
	Template        string `csv:"template"`
	TemplateVersion string `csv:"template_version"`
	Status          string `csv:"status"`
	Read            int    `csv:"rows_read"`
	Written         int    `csv:"rows_written"`
	Rejected        int    `csv:"rows_rejected"`
	Warnings        int    `csv:"warnings"`
	Outputs         string `csv:"outputs"`
	Created         string `csv:"created"`
	Finished        string `csv:"finished"`
	Started         string `csv:"started"`
	Note            string `csv:"note"` // the NOTE column of the table, whole
}

// writeJobsCSV writes the jobs as CSV with a header row.
func writeJobsCSV(w io.Writer, list []*jobs.Job, v jobsView) error {
	rows := make([]jobRow, len(list))
	for i, j := range list {
		var outs []string
		for _, o := range j.Outputs {
			outs = append(outs, o.Location)
		}
		rows[i] = jobRow{ID: j.ID, Pipeline: j.Pipeline, Input: j.Input, InputSHA256: j.InputSHA256,
			Template: j.Template, TemplateVersion: j.TemplateVersion, Status: string(j.Status),
			Read: j.Read, Written: j.Written, Rejected: j.Rejected, Warnings: j.Warnings,
			Outputs: strings.Join(outs, " "), Created: rfc3339(j.Created), Finished: rfc3339(j.Finished),
			Started: rfc3339(j.Started), Note: v.note(j)}
	}
	return gocsv.Marshal(rows, w)
}

func rfc3339(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}
