package schedule

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/erpipe/erpipe/jobs"
	"github.com/erpipe/erpipe/outbox"
	"github.com/erpipe/erpipe/transform"
)

// Metadata keys a submission's outputs carry besides the job's (see
// outbox.Meta*).
const (
	MetaSchedule     = "schedule"
	MetaPeriod       = "period"
	MetaVersion      = "version"
	MetaCorrectionOf = "correction-of"
)

// Produce makes, delivers and archives the submission of period p, once:
// a period produced already is refused (an error wrapping
// jobs.ErrProduced) unless force, which makes a new version that corrects
// it, keeping the earlier one. The attempt is recorded as a job with its
// audit trail, whatever the outcome; the job is returned with the error
// of a failed attempt.
func (r *Runner) Produce(ctx context.Context, s *Schedule, p Period, force bool) (*jobs.Job, error) {
	return r.produceOnce(ctx, s, p, force, "", Request{})
}

// Request says who ran a period by hand and why; a correction's reason
// is kept in its job's audit trail and its receipt.
type Request struct {
	By     string // "user alice", "client ris-prod", "erpipe schedule run"
	Reason string
}

// ProduceFor is Produce for a run someone asked for, recording req.
func (r *Runner) ProduceFor(ctx context.Context, s *Schedule, p Period, force bool, req Request) (*jobs.Job, error) {
	return r.produceOnce(ctx, s, p, force, "", req)
}

// Retry produces period p again for erpipe retry of job of, an earlier
// attempt at it, as Produce without force: a period produced since is
// refused (an error wrapping jobs.ErrProduced), for a correction is made
// only when asked for by name (erpipe schedule run --force). The new job
// notes the job it retries.
func (r *Runner) Retry(ctx context.Context, s *Schedule, p Period, of string) (*jobs.Job, error) {
	return r.produceOnce(ctx, s, p, false, of, Request{})
}

// produceOnce is Produce, for erpipe retry of job retryOf when it is set.
func (r *Runner) produceOnce(ctx context.Context, s *Schedule, p Period, force bool, retryOf string, req Request) (*jobs.Job, error) {
	now := r.Now()
	id, err := r.journal.NewJobID(ctx, now)
	if err != nil {
		return nil, err
	}
	run, err := r.runs.Claim(ctx, s.Name, p.Name, p.StartDate(), force, r.owner, id, now)
	var ce *jobs.ClaimError
	if errors.As(err, &ce) && errors.Is(err, jobs.ErrRunning) && ce.Run != nil && !r.ownerAlive(ce.Run) {
		// Its owner died mid-run: settle that, then claim again.
		if err := r.settle(ctx, ce.Run); err != nil {
			return nil, err
		}
		run, err = r.runs.Claim(ctx, s.Name, p.Name, p.StartDate(), force, r.owner, id, now)
	}
	if errors.As(err, &ce) {
		switch {
		case errors.Is(err, jobs.ErrProduced):
			return nil, fmt.Errorf("schedule %s: period %s was already produced (version %d, job %s, %s); it is not produced again: give --force to make a correction that keeps it as the prior version: %w",
				s.Name, p.Name, ce.Run.Version, ce.Run.Job, ce.Run.Updated.Local().Format(time.RFC3339), jobs.ErrProduced)
		case ce.Run != nil:
			return nil, fmt.Errorf("schedule %s: period %s is being produced now (by %s, since %s): %w",
				s.Name, p.Name, ce.Run.Owner, ce.Run.Updated.Local().Format(time.RFC3339), jobs.ErrRunning)
		default:
			return nil, fmt.Errorf("schedule %s: period %s is being produced now: %w", s.Name, p.Name, jobs.ErrRunning)
		}
	}
	if err != nil {
		return nil, err
	}

	t := s.Template
	job := &jobs.Job{ID: id, Pipeline: s.Name, Input: p.Name, Status: jobs.Processing, Created: now, Started: now,
		Template: t.Name, TemplateVersion: t.Version, TemplateHash: t.Hash,
		Submission: &jobs.Submission{Schedule: s.Name, Period: p.Name, PeriodStart: p.StartDate(), PeriodEnd: p.EndDate(),
			Version: run.Version, CorrectionOf: run.CorrectionOf, Attempt: run.Attempts, RequestedBy: req.By, Reason: req.Reason}}
	if req.By != "" || req.Reason != "" {
		what := "run by hand"
		if run.CorrectionOf != "" {
			what = fmt.Sprintf("a correction (version %d of job %s)", run.Version, run.CorrectionOf)
		}
		if req.By != "" {
			what += ", asked for by " + req.By
		}
		if req.Reason != "" {
			what += ": " + req.Reason
		}
		job.Notes = append(job.Notes, what)
	}
	if retryOf != "" {
		job.RetryOf = retryOf
		job.Notes = append(job.Notes, "a retry of job "+retryOf+" (erpipe retry): period "+p.Name+" produced again")
	}
	r.log.Info("producing", "schedule", s.Name, "period", p.Name, "version", run.Version, "attempt", run.Attempts, "job", id)
	err = r.produce(ctx, s, p, job)
	job.Finished = r.Now()
	if err != nil {
		job.Status = jobs.Failed
		job.Errors = append(job.Errors, err.Error())
		run.Status, run.Error = jobs.RunFailed, err.Error()
		run.NextAttempt = time.Time{}
		if run.Attempts < s.Attempts && ctx.Err() == nil {
			run.NextAttempt = job.Finished.Add(s.Delay << (run.Attempts - 1))
		}
		if ctx.Err() != nil {
			run.NextAttempt = job.Finished // interrupted by a stop: again at the next start
		}
	} else {
		job.Status = jobs.Processed
		run.Status, run.Error, run.NextAttempt = jobs.RunProduced, "", time.Time{}
	}
	run.Job, run.Updated = job.ID, job.Finished
	// The job first: a crash between the two is settled by the job's status.
	jctx := context.WithoutCancel(ctx)
	if perr := r.journal.Put(jctx, job); perr != nil {
		return job, errors.Join(err, perr)
	}
	if ferr := r.runs.Finish(jctx, run, jobs.PeriodEvent(r.ws, run, job, job.Finished)); ferr != nil {
		return job, errors.Join(err, ferr)
	}
	if err != nil {
		what := "it is tried again at " + run.NextAttempt.Local().Format(time.RFC3339)
		if run.NextAttempt.IsZero() {
			what = fmt.Sprintf("no attempts are left (%d made); run erpipe schedule run %s --period %s once the cause is fixed", run.Attempts, s.Name, p.Name)
		}
		r.log.Error("submission failed; the period stays failed until it is produced", "schedule", s.Name, "period", p.Name, "job", job.ID, "err", err, "next", what)
		return job, fmt.Errorf("schedule %s, period %s (job %s): %w; %s", s.Name, p.Name, job.ID, err, what)
	}
	if job.Warnings > 0 {
		r.log.Warn("submission produced with warnings; check them", "schedule", s.Name, "period", p.Name, "version", run.Version, "job", job.ID,
			"records", job.Written, "warnings", job.Warnings, "first", firstLine(job.WarningTexts[0]))
		return job, nil
	}
	r.log.Info("submission produced", "schedule", s.Name, "period", p.Name, "version", run.Version, "job", job.ID, "records", job.Written)
	return job, nil
}

// produce does the work of one attempt, filling in job.
func (r *Runner) produce(ctx context.Context, s *Schedule, p Period, job *jobs.Job) error {
	sub := job.Submission
	work := filepath.Join(r.ws.State(), "submissions", job.ID)
	if err := os.MkdirAll(filepath.Join(work, "out"), 0o755); err != nil {
		return err
	}
	defer os.RemoveAll(work)

	// The inputs: copied (or joined) into the work folder while hashed, so
	// that the hashes are those of the bytes the template reads.
	var paths []string
	var from string
	var err error
	if s.D365 != nil {
		paths, from, err = r.exportInput(ctx, s, p, job, work)
	} else {
		paths, from, err = r.selectInputs(ctx, s, p)
	}
	if err != nil {
		return err
	}
	input := filepath.Join(work, s.Name+"-"+p.Name)
	switch {
	case len(paths) == 0 && s.OnEmpty == EmptyFail:
		return fmt.Errorf("no input data for period %s: %s; add the data, or set on_empty: submit on the schedule to produce an empty submission", p.Name, none(from))
	case len(paths) == 0:
		input += ".csv"
		if err := s.Template.EmptyInput(input); err != nil {
			return fmt.Errorf("no input data for period %s (%s), and on_empty is submit: %w", p.Name, none(from), err)
		}
	default:
		input += strings.ToLower(filepath.Ext(paths[0]))
		if sub.Inputs, err = r.gather(paths, input); err != nil {
			return err
		}
		if s.D365 != nil {
			sub.Inputs[0].Path = exportedName(s, job, paths[0])
		}
		if len(sub.Inputs) == 1 {
			job.InputSHA256, job.InputSize = sub.Inputs[0].SHA256, sub.Inputs[0].Size
		}
	}

	// The template, with the period and the schedule's parameters.
	values := maps.Clone(s.Parameters)
	if values == nil {
		values = map[string]string{}
	}
	declared := map[string]bool{}
	for _, prm := range s.Template.Parameters() {
		declared[prm.Name] = true
	}
	for k, v := range periodParams(p) {
		if declared[k] {
			values[k] = v
		}
	}
	t, err := s.Template.WithParameters(values)
	if err != nil {
		return err
	}
	sub.Parameters = map[string]string{}
	for _, prm := range t.Parameters() {
		sub.Parameters[prm.Name] = prm.Default
	}

	// The document's own date is the period's run time: the job's creation.
	res, err := jobs.RunGuarded(ctx, r.log, r.ws.Config.JobTimeout(), nil, t, input, filepath.Join(work, "out"), transform.RunOptions{Time: job.Created, ID: job.ID})
	if res != nil {
		job.Read, job.Written, job.Rejected, job.Warnings = res.Read, res.Written, res.Rejected, res.Warned
	}
	switch {
	case err != nil:
		sub.Validation = "failed: " + firstLine(err.Error())
		return fmt.Errorf("the submission could not be made: %w", err)
	case res.Rejected > 0:
		sub.Validation = fmt.Sprintf("failed: %d of the period's records broke the template's validations", res.Rejected)
		for _, e := range res.Errors {
			if len(job.Errors) >= jobs.MaxJobErrors {
				break
			}
			job.Errors = append(job.Errors, e.Error())
		}
		return fmt.Errorf("%d records were rejected (listed in the job); a submission must hold every record of the period: correct the data and run the period again", res.Rejected)
	case res.Written == 0 && s.OnEmpty == EmptyFail:
		sub.Validation = "failed: no records in the period"
		return fmt.Errorf("no records of period %s (%s to %s) in the %d input files (%s): %d records read, %d outside the period; add the data, or set on_empty: submit to produce an empty submission",
			p.Name, p.StartDate(), p.EndDate(), len(sub.Inputs), from, res.Read, res.Skipped)
	}
	for _, e := range res.Warnings[:min(len(res.Warnings), jobs.MaxJobErrors)] {
		job.WarningTexts = append(job.WarningTexts, e.Error())
	}
	if res.Read > 0 && res.Written == 0 {
		// on_empty: submit (fail failed above): made, but said.
		job.Warnings++
		job.WarningTexts = append([]string{fmt.Sprintf("the period has no records: %d records read from the %d input files (%s), none of them in period %s (%s to %s); "+
			"an empty submission was made (on_empty: submit). If the period did have records, the input is not the one of this period: correct it and produce the period again",
			res.Read, len(sub.Inputs), from, p.Name, p.StartDate(), p.EndDate())}, job.WarningTexts...)
	}
	sub.Validation = fmt.Sprintf("passed: %d records, %d warnings", res.Written, job.Warnings)
	if slices.Contains(t.InputFormats(), "xml") || strings.HasPrefix(strings.Join(t.Outputs(), ""), "XML") {
		sub.Validation += "; the document is valid against its schema"
	}

	// Deliver, then archive with the receipt.
	outs := slices.Clone(res.Outputs)
	for _, out := range outs {
		sum, size, err := jobs.HashFile(out)
		if err != nil {
			return err
		}
		meta := map[string]string{
			outbox.MetaSHA256: sum, outbox.MetaJob: job.ID, outbox.MetaInputSHA256: job.InputSHA256,
			outbox.MetaTemplate: job.Template + " " + job.TemplateVersion, outbox.MetaDate: job.Created.UTC().Format("2006-01-02"),
			MetaSchedule: s.Name, MetaPeriod: p.Name, MetaVersion: strconv.Itoa(sub.Version),
		}
		if sub.CorrectionOf != "" {
			meta[MetaCorrectionOf] = sub.CorrectionOf
		}
		for _, d := range s.Destinations {
			loc, err := jobs.PutFile(ctx, d, out, size, meta)
			if err != nil {
				if outbox.IsTransient(err) {
					return fmt.Errorf("deliver %s to %s: the destination is unavailable: %w", filepath.Base(out), d, err)
				}
				return fmt.Errorf("deliver %s to %s: %w", filepath.Base(out), d, err)
			}
			job.Outputs = append(job.Outputs, jobs.Output{Name: filepath.Base(out), SHA256: sum, Size: size, Destination: d.String(), Location: loc})
			sub.Acks = append(sub.Acks, jobs.Acknowledgement{Output: filepath.Base(out), Destination: d.String(), Location: loc, At: r.Now()})
			r.log.Info("delivered", "job", job.ID, "output", filepath.Base(out), "to", loc)
		}
	}
	dir := filepath.Join(r.ws.Root, "archive", s.Name, p.Name, job.ID)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var archived []string
	for _, out := range outs {
		dst := filepath.Join(dir, filepath.Base(out))
		if err := os.Rename(out, dst); err != nil {
			return fmt.Errorf("archive the submission: %w", err)
		}
		archived = append(archived, dst)
	}
	if len(archived) > 0 {
		job.FinalPath = archived[0]
	}
	sub.Receipt = filepath.Join(dir, "receipt.json")
	return writeReceipt(sub.Receipt, job, r.Now())
}

// Receipt is receipt.json, written beside a submission's output in the
// archive: the audit trail, for programs and auditors.
type Receipt struct {
	Schedule     string                 `json:"schedule"`
	Period       string                 `json:"period"`
	PeriodStart  string                 `json:"period_start"`
	PeriodEnd    string                 `json:"period_end"`
	Version      int                    `json:"version"`
	CorrectionOf string                 `json:"correction_of,omitempty"`
	RequestedBy  string                 `json:"requested_by,omitempty"`
	Reason       string                 `json:"reason,omitempty"`
	Job          string                 `json:"job"`
	Produced     time.Time              `json:"produced"`
	Template     ReceiptTemplate        `json:"template"`
	Parameters   map[string]string      `json:"parameters"`
	Inputs       []jobs.InputFile       `json:"inputs"`
	Outputs      []ReceiptOutput        `json:"outputs"`
	Validation   string                 `json:"validation"`
	Warnings     []string               `json:"warnings,omitempty"` // the first warnings; Validation counts them all
	Acks         []jobs.Acknowledgement `json:"acknowledgements"`
}

// ReceiptTemplate names the template that made a submission.
type ReceiptTemplate struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	SHA256  string `json:"sha256"`
}

// ReceiptOutput is one output file of a submission.
type ReceiptOutput struct {
	Name   string `json:"name"`
	SHA256 string `json:"sha256"`
	Size   int64  `json:"size"`
}

func writeReceipt(path string, job *jobs.Job, now time.Time) error {
	sub := job.Submission
	rc := Receipt{Schedule: sub.Schedule, Period: sub.Period, PeriodStart: sub.PeriodStart, PeriodEnd: sub.PeriodEnd,
		Version: sub.Version, CorrectionOf: sub.CorrectionOf, RequestedBy: sub.RequestedBy, Reason: sub.Reason, Job: job.ID, Produced: now.UTC(),
		Template:   ReceiptTemplate{Name: job.Template, Version: job.TemplateVersion, SHA256: job.TemplateHash},
		Parameters: sub.Parameters, Inputs: sub.Inputs, Validation: sub.Validation, Warnings: job.WarningTexts, Acks: sub.Acks}
	if rc.Inputs == nil {
		rc.Inputs = []jobs.InputFile{}
	}
	seen := map[string]bool{}
	for _, o := range job.Outputs {
		if !seen[o.Name] {
			seen[o.Name] = true
			rc.Outputs = append(rc.Outputs, ReceiptOutput{Name: o.Name, SHA256: o.SHA256, Size: o.Size})
		}
	}
	data, err := json.MarshalIndent(rc, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := jobs.WriteFileSync(tmp, append(data, '\n')); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// none says that nothing was found where from describes.
func none(from string) string {
	if strings.HasPrefix(from, "the files ") {
		return "there are none: no " + strings.TrimPrefix(from, "the ")
	}
	return "no file matches " + from
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// selectInputs returns the input files of period p, sorted, and a
// description of where they were looked for (the pattern, or the archive).
func (r *Runner) selectInputs(ctx context.Context, s *Schedule, p Period) ([]string, string, error) {
	if s.Files != "" {
		rel := r.rel(s.Files)
		matches, err := filepath.Glob(s.Files)
		if err != nil {
			return nil, "", fmt.Errorf("input files %s: %w", rel, err)
		}
		var out []string
		for _, m := range matches {
			if st, err := os.Stat(m); err == nil && st.Mode().IsRegular() {
				out = append(out, m)
			}
		}
		slices.Sort(out)
		return out, rel, nil
	}
	root := filepath.Join(r.ws.Root, "archive", s.Pipeline)
	days, err := os.ReadDir(root)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, "", err
	}
	// The archive also holds the inputs of Duplicate jobs and the inputs
	// of retried jobs (the same content again): the journal tells them
	// apart, so that each content is read once.
	archived, err := r.journal.List(ctx, jobs.Filter{Pipeline: s.Pipeline})
	if err != nil {
		return nil, "", err
	}
	jobOf := make(map[string]*jobs.Job, len(archived))
	for _, j := range archived {
		if j.FinalPath != "" {
			jobOf[j.FinalPath] = j
		}
	}
	var out []string
	for _, d := range days {
		day, err := time.Parse(dateLayout, d.Name())
		if err != nil || !d.IsDir() || !p.Contains(day) {
			continue
		}
		files, _ := os.ReadDir(filepath.Join(root, d.Name()))
		for _, f := range files {
			n := f.Name()
			if f.IsDir() || strings.HasSuffix(n, ".error.txt") || strings.HasSuffix(n, ".error.json") || strings.Contains(n, ".rejected.") {
				continue
			}
			out = append(out, filepath.Join(root, d.Name(), n))
		}
	}
	slices.Sort(out) // oldest day first, and job ids sort by time
	seen := map[string]bool{}
	out = slices.DeleteFunc(out, func(path string) bool {
		j := jobOf[path]
		if j == nil {
			return false // not a job's input: taken as it is
		}
		if j.Status == jobs.Duplicate || seen[j.InputSHA256] {
			return true
		}
		seen[j.InputSHA256] = true
		return false
	})
	return out, fmt.Sprintf("the files pipeline %s archived from %s to %s in %s", s.Pipeline, p.StartDate(), p.EndDate(), r.rel(root)), nil
}

// rel returns path relative to the workspace when it is inside it.
func (r *Runner) rel(path string) string {
	if rel, err := filepath.Rel(r.ws.Root, path); err == nil && !strings.HasPrefix(rel, "..") {
		return filepath.ToSlash(rel)
	}
	return path
}

// gather copies the input files into dst while hashing them: one file as
// it is, several CSV files as one, with the header of the first (every
// file must have the same header). dst takes the newest file's time, so
// that the same inputs make the same output bytes.
func (r *Runner) gather(paths []string, dst string) ([]jobs.InputFile, error) {
	ext := strings.ToLower(filepath.Ext(paths[0]))
	if len(paths) > 1 && ext != ".csv" && ext != ".txt" {
		return nil, fmt.Errorf("the input is %d %s files; several files can be joined only when they are CSV: give one file per period", len(paths), ext)
	}
	out, err := os.Create(dst)
	if err != nil {
		return nil, err
	}
	defer out.Close()
	w := &lineWriter{w: bufio.NewWriterSize(out, 1<<16)}
	var inputs []jobs.InputFile
	var header []byte
	var newest time.Time
	for i, path := range paths {
		if e := strings.ToLower(filepath.Ext(path)); e != ext {
			return nil, fmt.Errorf("input %s is a %s file and %s a %s file; the files of a period must be of one kind", r.rel(path), e, r.rel(paths[0]), ext)
		}
		in, err := r.copyInput(path, i == 0 || len(paths) == 1, w, &header)
		if err != nil {
			return nil, err
		}
		inputs = append(inputs, in)
		if in.Modified.After(newest) {
			newest = in.Modified
		}
	}
	if err := w.w.Flush(); err != nil {
		return nil, err
	}
	if err := out.Close(); err != nil {
		return nil, err
	}
	return inputs, os.Chtimes(dst, newest, newest)
}

// lineWriter remembers the last byte written.
type lineWriter struct {
	w    *bufio.Writer
	last byte
}

func (l *lineWriter) Write(p []byte) (int, error) {
	if len(p) > 0 {
		l.last = p[len(p)-1]
	}
	return l.w.Write(p)
}

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// copyInput appends the file at path to w, hashing all of its bytes. The
// first file is copied whole; the header line of the others is checked
// against *header and left out, and each starts on a line of its own.
func (r *Runner) copyInput(path string, first bool, w *lineWriter, header *[]byte) (jobs.InputFile, error) {
	f, err := os.Open(path)
	if err != nil {
		return jobs.InputFile{}, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return jobs.InputFile{}, err
	}
	h := sha256.New()
	br := bufio.NewReaderSize(io.TeeReader(f, h), 1<<16)
	if first {
		// The header of the first file is kept to compare the others with.
		line, err := br.Peek(min(br.Size(), int(st.Size())))
		if err != nil && err != io.EOF && !errors.Is(err, bufio.ErrBufferFull) {
			return jobs.InputFile{}, fmt.Errorf("read %s: %w", r.rel(path), err)
		}
		line, _, _ = bytes.Cut(line, []byte("\n"))
		*header = bytes.TrimRight(bytes.TrimPrefix(line, utf8BOM), "\r")
		*header = bytes.Clone(*header)
	} else {
		line, err := br.ReadBytes('\n')
		if err != nil && err != io.EOF {
			return jobs.InputFile{}, fmt.Errorf("read %s: %w", r.rel(path), err)
		}
		if norm := bytes.TrimRight(bytes.TrimPrefix(line, utf8BOM), "\r\n"); !bytes.Equal(norm, *header) {
			return jobs.InputFile{}, fmt.Errorf("input %s has another header row than the first file: %q, not %q; the files of a period are joined, so give them the same columns",
				r.rel(path), norm, *header)
		}
		if w.last != '\n' {
			if _, err := w.Write([]byte("\n")); err != nil {
				return jobs.InputFile{}, err
			}
		}
	}
	if _, err := io.Copy(w, br); err != nil {
		return jobs.InputFile{}, fmt.Errorf("read %s: %w", r.rel(path), err)
	}
	return jobs.InputFile{Path: r.rel(path), SHA256: hex.EncodeToString(h.Sum(nil)), Size: st.Size(), Modified: st.ModTime().UTC()}, nil
}
