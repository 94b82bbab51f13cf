package cli

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/erpipe/erpipe/jobs"
)

// jobsView is how erpipe jobs prints the list of jobs: for triage, one
// line a job, with when it started and a note that says what to look at
// (the first error, what it waits for, how far it is, the rows left out),
// cut to the width of the terminal.
type jobsView struct {
	now   time.Time // the time column is read against it, in its location
	width int       // the line's width: the note is cut to fit it
	root  string    // the workspace: reports are named relative to it
}

// newJobsView is the view for w: now, in local time, as wide as the
// terminal (terminalWidth).
func newJobsView(w io.Writer, root string) jobsView {
	return jobsView{now: time.Now(), width: terminalWidth(w), root: root}
}

// defaultWidth is the width of lines that go to no terminal and whose
// width COLUMNS does not give.
const defaultWidth = 100

// minNote is the least room the note gets, even when the columns before it
// fill the line.
const minNote = 24

// terminalWidth returns the width lines written to w should keep to: the
// COLUMNS environment variable's, else the terminal's, else defaultWidth.
func terminalWidth(w io.Writer) int {
	if n, err := strconv.Atoi(os.Getenv("COLUMNS")); err == nil && n > 0 {
		return n
	}
	if f, ok := w.(*os.File); ok && isTerminal(w) {
		if n := ttyWidth(f); n > 0 {
			return n
		}
	}
	return defaultWidth
}

// printJobs prints the job table.
func printJobs(w io.Writer, list []*jobs.Job, v jobsView) {
	var table bytes.Buffer
	tw := tabwriter.NewWriter(&table, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTARTED\tPIPELINE\tINPUT\tSTATUS\tREAD\tWRITTEN\tREJECTED\tOUTPUTS\t")
	notes := []string{"NOTE"}
	for _, j := range list {
		read := j.Read
		if j.Status == jobs.Processing && j.Progress != nil && read == 0 {
			read = j.Progress.Rows
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%d\t%d\t%s\t\n", j.ID, v.when(j), printable(j.Pipeline), printable(j.Input), j.Status,
			read, j.Written, j.Rejected, printable(outputsCell(landedNames(j))))
		notes = append(notes, printable(v.note(j)))
	}
	tw.Flush()
	for i, line := range strings.Split(strings.TrimSuffix(table.String(), "\n"), "\n") {
		room := max(v.width-utf8.RuneCountInString(line), minNote)
		fmt.Fprintln(w, strings.TrimRight(line+cut(notes[i], room), " "))
	}
	if len(list) == 0 {
		fmt.Fprintln(w, "(no jobs)")
	}
}

// when is the job's time, local and compact: the time of day for a job
// of today, the day and minute for one of this year, else the date. A job
// not started yet shows when it was claimed.
func (v jobsView) when(j *jobs.Job) string {
	t := j.Started
	if t.IsZero() {
		t = j.Created
	}
	if t.IsZero() {
		return "-"
	}
	t = t.In(v.now.Location())
	switch y, m, d := t.Date(); {
	case y == v.now.Year() && m == v.now.Month() && d == v.now.Day():
		return t.Format("15:04:05")
	case y == v.now.Year():
		return t.Format("Jan 02 15:04")
	default:
		return t.Format("2006-01-02")
	}
}

// note is what the operator looks at first in a job: what it waits for or
// how far it is while it runs, its first error when it failed, the rows it
// left out and where they are, its warnings; then what is worth knowing,
// such as the job it retries.
func (v jobsView) note(j *jobs.Job) string {
	var parts []string
	switch j.Status {
	case jobs.Processing:
		switch {
		case len(j.Pending) > 0:
			parts = append(parts, "waiting: "+firstLine(j.Pending[0]))
		case j.Progress != nil:
			parts = append(parts, j.Progress.String(j.Started, j.InputSize))
		}
	case jobs.Failed:
		if len(j.Errors) > 0 {
			parts = append(parts, firstLine(j.Errors[0]))
		}
	case jobs.Duplicate:
		parts = append(parts, "same content as job "+j.DuplicateOf)
	case jobs.ProcessedWithErrors:
		s := fmt.Sprintf("%d rows rejected", j.Rejected)
		if j.Rejected == 1 {
			s = "1 row rejected"
		}
		if where := v.rejectedAt(j); where != "" {
			s += ": " + where
		}
		parts = append(parts, s)
	case jobs.Processed:
		if len(j.Errors) > 0 {
			parts = append(parts, firstLine(j.Errors[0]))
		}
	}
	if j.Warnings > 0 && j.Status != jobs.Failed {
		s := fmt.Sprintf("%d warnings", j.Warnings)
		if j.Warnings == 1 {
			s = "1 warning"
		}
		if len(j.WarningTexts) > 0 {
			s += ": " + firstLine(j.WarningTexts[0])
		}
		parts = append(parts, s)
	}
	for _, n := range j.Notes {
		parts = append(parts, firstLine(n))
	}
	return strings.Join(parts, "; ")
}

// rejectedAt names the file of a job's rejected rows (or its report),
// relative to the workspace.
func (v jobsView) rejectedAt(j *jobs.Job) string {
	p := j.Report
	if p != "" && j.RejectedFile != "" {
		p = filepath.Join(filepath.Dir(p), j.RejectedFile)
	}
	if p == "" {
		return ""
	}
	if v.root != "" {
		if rel, err := filepath.Rel(v.root, p); err == nil && filepath.IsLocal(rel) {
			return filepath.ToSlash(rel)
		}
	}
	return p
}

// landedNames returns the names the job's outputs landed under, as the
// destinations report them ("customers (3).zip" when a folder kept an
// earlier result of the name), each once.
func landedNames(j *jobs.Job) []string {
	var out []string
	seen := map[string]bool{}
	for _, o := range j.Outputs {
		name := o.Name
		if o.Location != "" {
			name = path.Base(filepath.ToSlash(o.Location)) // a path, or s3://bucket/key
		}
		if !seen[name] {
			seen[name] = true
			out = append(out, name)
		}
	}
	return out
}

// maxOutputs is the width past which the OUTPUTS cell names only the
// first output and how many more there are (jobs show lists them all).
const maxOutputs = 40

// outputsCell is the OUTPUTS cell of names: all of them, or the first and
// how many more when they would take more than maxOutputs.
func outputsCell(names []string) string {
	s := strings.Join(names, ", ")
	if len(names) < 2 || utf8.RuneCountInString(s) <= maxOutputs {
		return s
	}
	return fmt.Sprintf("%s (+%d more)", names[0], len(names)-1)
}

// cut returns s cut to n runes, the last of them an ellipsis when s is
// longer.
func cut(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}
