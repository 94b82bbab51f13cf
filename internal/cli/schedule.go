package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/erpipe/erpipe/jobs"
	"github.com/erpipe/erpipe/schedule"
	"github.com/erpipe/erpipe/workspace"
)

func scheduleCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "schedule",
		Short: "Scheduled submissions: list them, or run one now",
		Long: `Schedules are declared in erpipe.yaml (schedules:). Each runs a template on a
cron timetable over the data of one reporting period, produces each period
exactly once, and records an audit trail (erpipe jobs show ID, and a
receipt.json beside the output in archive/<schedule>/<period>/<job id>/).
"erpipe run" makes up the runs missed while it was down, oldest first.`,
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(scheduleListCmd(g), scheduleRunCmd(g))
	return cmd
}

// openRunner opens the workspace, checks its schedules and prepares a
// runner on its journal, with the clock erpipe runs by.
func openRunner(ctx context.Context, g *globals, ws *workspace.Workspace) (*schedule.Runner, func(), error) {
	j, err := openJournal(ws, true)
	if err != nil {
		return nil, nil, err
	}
	r, err := newRunner(ctx, g, ws, j)
	if err != nil {
		j.Close()
		return nil, nil, err
	}
	return r, func() { j.Close() }, nil
}

// newRunner makes the schedule runner of ws on journal j.
func newRunner(ctx context.Context, g *globals, ws *workspace.Workspace, j *jobs.Journal) (*schedule.Runner, error) {
	list, err := schedule.Load(ws)
	if err != nil {
		return nil, usage(err)
	}
	clock, err := schedule.Clock()
	if err != nil {
		return nil, usage(err)
	}
	r, err := schedule.NewRunner(ctx, ws, j, g.logger(), list)
	if err != nil {
		return nil, failed(err)
	}
	r.Now = clock
	return r, nil
}

func scheduleListCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "Show every schedule with its last run and its next run",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			ws, err := openWorkspace(g)
			if err != nil {
				return err
			}
			r, closeFn, err := openRunner(c.Context(), g, ws)
			if err != nil {
				return err
			}
			defer closeFn()
			list, err := r.Overview(c.Context())
			if err != nil {
				return failed(err)
			}
			printSchedules(g.stdout, list)
			return nil
		},
	}
}

func printSchedules(w io.Writer, list []schedule.Overview) {
	if len(list) == 0 {
		fmt.Fprintln(w, "(no schedules; declare them under schedules: in erpipe.yaml)")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tTEMPLATE\tCRON\tPERIOD\tLAST RUN\tNEXT RUN")
	for _, o := range list {
		s := o.Schedule
		last := "never"
		if o.Last != nil {
			last = fmt.Sprintf("%s %s %s", o.Last.Period, o.Last.Status, o.Last.Updated.In(s.Location).Format("2006-01-02 15:04"))
			if n := lastWarnings(o); n == 1 {
				last += " (1 warning)"
			} else if n > 1 {
				last += fmt.Sprintf(" (%d warnings)", n)
			}
		}
		next := fmt.Sprintf("%s (%s)", o.NextRun.In(s.Location).Format("2006-01-02 15:04 MST"), o.NextPeriod.Name)
		fmt.Fprintf(tw, "%s\t%s %s\t%s %s\t%s\t%s\t%s\n", s.Name, s.Template.Name, s.Template.Version,
			s.CronText, s.Location, s.Rule, last, next)
	}
	tw.Flush()
	for _, o := range list {
		if lastWarnings(o) > 0 && len(o.LastJob.WarningTexts) > 0 {
			fmt.Fprintf(w, "WARNING %s %s (job %s; erpipe jobs show %s lists them): %s\n", o.Schedule.Name, o.Last.Period, o.Last.Job, o.Last.Job,
				printable(strings.ReplaceAll(o.LastJob.WarningTexts[0], "\n", " ")))
		}
		for _, run := range o.Running {
			fmt.Fprintf(w, "%s %s: being produced by %s since %s\n", o.Schedule.Name, run.Period, run.Owner, run.Updated.Local().Format(time.RFC3339))
		}
		for _, run := range o.Failed {
			retry := "no attempts left: run erpipe schedule run " + o.Schedule.Name + " --period " + run.Period + " once fixed"
			if !run.NextAttempt.IsZero() {
				retry = "tried again at " + run.NextAttempt.In(o.Schedule.Location).Format("2006-01-02 15:04 MST")
			}
			fmt.Fprintf(w, "FAILED %s %s (attempt %d, job %s; %s): %s\n", o.Schedule.Name, run.Period, run.Attempts, run.Job, retry,
				strings.ReplaceAll(run.Error, "\n", " "))
		}
	}
}

// lastWarnings returns the warnings of a schedule's last run when it
// produced its period (a period without transactions, say).
func lastWarnings(o schedule.Overview) int {
	if o.Last == nil || o.Last.Status != jobs.RunProduced || o.LastJob == nil {
		return 0
	}
	return o.LastJob.Warnings
}

func scheduleRunCmd(g *globals) *cobra.Command {
	var period, reason string
	var force bool
	cmd := &cobra.Command{
		Use:   "run NAME",
		Short: "Produce one period of a schedule now",
		Long: `Run produces one period of the schedule NAME now: the period given with
--period (2026-10, 2026-Q3, 2025, 2026-11-02, 2026-T5, as the schedule's period
rule names them), or the one a run now would cover. A period already produced
is refused (exit 2) unless --force: the new submission is then a correction,
version 2, 3..., and the earlier one is kept as the prior version. A period
that has not ended yet is refused too, unless --force.`,
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			ws, err := openWorkspace(g)
			if err != nil {
				return err
			}
			r, closeFn, err := openRunner(c.Context(), g, ws)
			if err != nil {
				return err
			}
			defer closeFn()
			s, err := schedule.Find(r.Schedules(), args[0])
			if err != nil {
				return usage(err)
			}
			now := r.Now()
			p := s.PeriodAt(now)
			if period != "" {
				if p, err = s.Rule.Parse(period); err != nil {
					return usage(fmt.Errorf("schedule %s: %w", s.Name, err))
				}
			}
			if err := s.CheckEnded(p, now); err != nil && !force {
				return usage(fmt.Errorf("%w (--force)", err))
			}
			ctx, cancel := signalContext()
			defer cancel()
			by := "erpipe schedule run"
			if u := os.Getenv("USER"); u != "" {
				by += " (" + u + ")"
			}
			job, err := r.ProduceFor(ctx, s, p, force, schedule.Request{By: by, Reason: reason})
			switch {
			case errors.Is(err, jobs.ErrProduced):
				return usage(err)
			case errors.Is(err, jobs.ErrRunning):
				return failed(err)
			case err != nil && job == nil:
				return failed(err)
			}
			printJob(g.stdout, job)
			if err != nil {
				return failed(err)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&period, "period", "", "the period to produce, e.g. 2026-10 (default: the one a run now covers)")
	cmd.Flags().BoolVar(&force, "force", false, "produce a period again as a correction (the earlier output is kept as the prior version)")
	cmd.Flags().StringVar(&reason, "reason", "", "why the period is run by hand (a correction's reason), kept in its audit trail and receipt")
	return cmd
}

// printSubmission prints a scheduled run's audit trail (erpipe jobs show).
func printSubmission(w io.Writer, s *jobs.Submission) {
	fmt.Fprintln(w, "Submission:")
	fmt.Fprintf(w, "  Schedule:    %s\n", s.Schedule)
	fmt.Fprintf(w, "  Period:      %s (%s to %s)\n", s.Period, s.PeriodStart, s.PeriodEnd)
	v := fmt.Sprintf("%d, attempt %d", s.Version, s.Attempt)
	if s.CorrectionOf != "" {
		v += ", a correction of job " + s.CorrectionOf
	}
	fmt.Fprintf(w, "  Version:     %s\n", v)
	if s.Validation != "" {
		fmt.Fprintf(w, "  Validation:  %s\n", s.Validation)
	}
	if len(s.Parameters) > 0 {
		fmt.Fprintln(w, "  Parameters:")
		names := make([]string, 0, len(s.Parameters))
		for k := range s.Parameters {
			names = append(names, k)
		}
		slices.Sort(names)
		for _, k := range names {
			fmt.Fprintf(w, "    %s = %s\n", k, s.Parameters[k])
		}
	}
	fmt.Fprintf(w, "  Inputs (%d):\n", len(s.Inputs))
	for _, in := range s.Inputs {
		fmt.Fprintf(w, "    %s  %d bytes  sha256 %s\n", in.Path, in.Size, in.SHA256)
	}
	if len(s.Acks) > 0 {
		fmt.Fprintln(w, "  Acknowledgements:")
		for _, a := range s.Acks {
			fmt.Fprintf(w, "    %s -> %s: %s at %s\n", a.Output, a.Destination, a.Location, a.At.Local().Format(time.RFC3339))
		}
	}
	if s.RequestedBy != "" || s.Reason != "" {
		fmt.Fprintf(w, "  Asked for:   %s\n", strings.TrimPrefix(strings.TrimSpace(s.RequestedBy+": "+s.Reason), ": "))
	}
	if s.Receipt != "" {
		fmt.Fprintf(w, "  Receipt:     %s\n", s.Receipt)
	}
}
