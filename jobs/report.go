package jobs

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/erpipe/erpipe/formats"
	"github.com/erpipe/erpipe/transform"
	"github.com/erpipe/erpipe/transform/template"
)

// Report is the .error.json written beside an input that failed or had
// rejected rows: the job, and every problem found, for programs.
type Report struct {
	Job      *Job                   `json:"job"`
	Error    string                 `json:"error,omitempty"`
	Detail   *template.FieldError   `json:"detail,omitempty"`
	Position *formats.Pos           `json:"position,omitempty"`
	Rows     []*template.FieldError `json:"rejected_rows,omitempty"`
	Warnings []*template.FieldError `json:"warnings,omitempty"`
}

// writeReport writes <input>.error.txt (for people) and <input>.error.json
// (for programs) beside the input's final place, with permission perm.
func writeReport(job *Job, res *transform.Result, runErr error, inputPath string, perm os.FileMode) error {
	final := *job // the report is written just before the job takes its final status
	final.Status = job.FinalStatus
	rep := Report{Job: &final}
	if runErr != nil {
		rep.Error = runErr.Error()
		var fe *template.FieldError
		var pe *formats.ParseError
		switch {
		case errors.As(runErr, &fe):
			rep.Detail = fe
		case errors.As(runErr, &pe):
			rep.Position = &pe.Pos
		}
	}
	if res != nil {
		rep.Rows, rep.Warnings = res.Errors, res.Warnings
	}
	js, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	if err := writeFileSync(inputPath+".error.json", append(js, '\n'), perm); err != nil {
		return err
	}
	return writeFileSync(inputPath+".error.txt", []byte(reportText(job, res, runErr)), perm)
}

// reportText renders the report for the operator who dropped the file.
func reportText(job *Job, res *transform.Result, runErr error) string {
	var b strings.Builder
	inbox := filepath.ToSlash(filepath.Join("inbox", job.Pipeline)) + "/"
	switch {
	case runErr != nil || job.FinalStatus == Failed:
		fmt.Fprintf(&b, "erpipe could not process %s.\n\n", job.Input)
	case job.Rejected > 0:
		fmt.Fprintf(&b, "erpipe processed %s, but left out %d of its %d rows.\n", job.Input, job.Rejected, job.Read)
		fmt.Fprintf(&b, "The rest was delivered; the input is archived at %s.\n\n", job.FinalPath)
	default:
		fmt.Fprintf(&b, "erpipe processed %s, with %d warnings.\n\n", job.Input, job.Warnings)
	}
	fmt.Fprintf(&b, "Pipeline: %s   Template: %s %s   Job: %s\n\n", job.Pipeline, job.Template, job.TemplateVersion, job.ID)
	if runErr != nil {
		b.WriteString("What is wrong:\n")
		for _, line := range strings.Split(runErr.Error(), "\n") {
			b.WriteString("  " + line + "\n")
		}
		b.WriteString("\n")
	}
	if res != nil && len(res.Errors) > 0 {
		fmt.Fprintf(&b, "Rows left out (%d):\n", res.Rejected)
		for _, e := range res.Errors {
			b.WriteString("  " + e.Error() + "\n")
		}
		if res.Rejected > len(res.Errors) {
			fmt.Fprintf(&b, "  ... and %d more\n", res.Rejected-len(res.Errors))
		}
		b.WriteString("\n")
	}
	if res != nil && len(res.Warnings) > 0 {
		fmt.Fprintf(&b, "Warnings (%d; these rows were kept):\n", res.Warned)
		for _, e := range res.Warnings {
			b.WriteString("  " + e.Error() + "\n")
		}
		if res.Warned > len(res.Warnings) {
			fmt.Fprintf(&b, "  ... and %d more\n", res.Warned-len(res.Warnings))
		}
		b.WriteString("\n")
	}
	if job.FinalStatus == Failed {
		fmt.Fprintf(&b, "What to do: correct the file and drop it into %s again.\n", inbox)
	} else if job.Rejected > 0 {
		fmt.Fprintf(&b, "What to do: correct the rows above and drop a file with just those rows into %s.\n", inbox)
	}
	return b.String()
}

// WriteFileSync writes a file (0644) and flushes it to disk before
// returning.
func WriteFileSync(path string, data []byte) error { return writeFileSync(path, data, 0o644) }

// writeFileSync is WriteFileSync with permission perm, also for a file
// that exists.
func writeFileSync(path string, data []byte, perm os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, perm)
	if err != nil {
		return err
	}
	if err := f.Chmod(perm); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
